/* dync-bench soak: does memory stay flat over a long training run?
 *
 * Trains the BiLSTM tagger (models/dy_tagger.h defaults: emb 128, hidden 50
 * per direction, MLP 32; SGD lr 0.1, one update per sentence, one graph
 * renewed per sentence) over --sents sentences (default 20,000) of built-in
 * synthetic data (dy_synth_tagging) or of a CoNLL-U file (--train FILE,
 * cycled in file order when it holds fewer sentences). Every --every
 * sentences (default 1,000) it prints the process's resident memory (the
 * second field of /proc/self/statm, in kB) and the graph's arena block count
 * and reserved bytes (dy_graph_get_stats).
 *
 * RESULT task=soak sents=<n> every=<k> data=synthetic|conllu
 *   rss_start_kb=<RSS at the first report, after warm-up> rss_end_kb=<at the last>
 *   growth_pct=<100 (end - start) / start> rss_max_kb=<largest report>
 *   blocks_start=<arena blocks at the first report> blocks_end=<at the last>
 *   blocks_max=<largest> words_per_sec=<training speed> loss_first=<mean word loss
 *   over the first window> loss_last=<over the last window>
 *   warmup=<sentences before the start report>
 * Warm-up (--warmup): buffers, the optimiser state and the arena reach their
 * working size there; growth is measured from the first report at or after
 * it. On synthetic data it is the first window (--every sentences: every
 * sentence is alike). On a corpus it is one pass over it: the arena grows
 * when the longest sentence so far arrives (EWT: by 1.2 MB near sentence
 * 7,000) and the rest of the first pass still adds a few hundred kB, so a
 * window proves little until every sentence has been seen once; with
 * --train and no --sents, the run is that pass plus 20,000 sentences. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "dy_corpus.h"
#include "dy_tagger.h"

/* Resident set size in kB from /proc/self/statm, or -1 when unavailable. */
static long soak_rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long size = 0, res = -1;
  if (fscanf(f, "%ld %ld", &size, &res) != 2) res = -1;
  fclose(f);
  if (res < 0) return -1;
  long page = sysconf(_SC_PAGESIZE);
  return res * (page > 0 ? page : 4096) / 1024;
}

static const char soak_help[] =
    "Trains the BiLSTM tagger sentence by sentence and samples memory.\n"
    "  --sents N     sentences to train on (default 20000, with --train one pass over the\n"
    "                file + 20000; --quick 2000)\n"
    "  --every K     report every K sentences (default 1000; --quick 200)\n"
    "  --warmup N    sentences before growth is measured (default: K on synthetic data,\n"
    "                one pass over the file with --train)\n"
    "  --train FILE  CoNLL-U training data, cycled in file order (default: synthetic)\n"
    "  --seed S      data and model seed (default 1)\n"
    "RESULT keys: sents every warmup data rss_start_kb rss_end_kb growth_pct rss_max_kb\n"
    "  blocks_start blocks_end blocks_max words_per_sec loss_first loss_last (start = the\n"
    "  first report at or after the warm-up).\n";

static int soak_run(bench_ctx *ctx, int argc, char **argv) {
  long sents = -1, every = ctx->quick ? 200 : 1000, seed = 1, warmup = -1;
  const char *train_path = NULL;
  for (int i = 1; i < argc; i++) {
    int r;
    if ((r = bench_opt_long(argc, argv, &i, "--sents", 1, &sents)) != 0) {
      if (r < 0) return 2;
    } else if ((r = bench_opt_long(argc, argv, &i, "--every", 1, &every)) != 0) {
      if (r < 0) return 2;
    } else if ((r = bench_opt_long(argc, argv, &i, "--warmup", 0, &warmup)) != 0) {
      if (r < 0) return 2;
    } else if ((r = bench_opt_long(argc, argv, &i, "--seed", 0, &seed)) != 0) {
      if (r < 0) return 2;
    } else if (strcmp(argv[i], "--train") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "dync-bench soak: --train needs a file\n");
        return 2;
      }
      train_path = argv[++i];
    } else {
      return bench_bad_option(ctx, argv[i]);
    }
  }

  /* ---- data */
  char err[1024];
  int rc = 1;
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  dy_corpus *c = NULL;
  dy_model *m = NULL;
  dy_tagger *tg = NULL;
  dy_trainer *tr = NULL;
  dy_graph *g = NULL;
  const char **forms = NULL;
  if (!W || !T) goto out;
  if (train_path) {
    c = dy_conllu_read_path(train_path, W, T, NULL, err, sizeof err);
  } else {
    if (sents < 0) sents = ctx->quick ? 2000 : 20000;
    dy_synth_opts so = dy_synth_defaults();
    so.seed = (uint64_t)seed;
    so.nsent = (size_t)sents;
    c = dy_synth_tagging(&so, W, T, err, sizeof err);
  }
  if (!c) {
    fprintf(stderr, "dync-bench soak: %s\n", err);
    goto out;
  }
  if (c->nsent == 0) {
    fprintf(stderr, "dync-bench soak: %s: no sentences to train on (an empty corpus)\n",
            train_path ? train_path : "synthetic data");
    goto out;
  }
  if (dy_vocab_threshold(W, 1, c) != DY_OK) {
    fprintf(stderr, "dync-bench soak: out of memory\n");
    goto out;
  }
  dy_vocab_freeze(W);
  dy_vocab_freeze(T);
  if (warmup < 0) warmup = train_path ? (long)c->nsent : every;
  if (sents < 0) sents = ctx->quick ? 2000 : warmup + 20000;
  size_t maxlen = 0;
  for (size_t i = 0; i < c->nsent; i++)
    if (dy_corpus_len(c, i) > maxlen) maxlen = dy_corpus_len(c, i);
  forms = malloc((maxlen ? maxlen : 1) * sizeof *forms);

  /* ---- model */
  m = dy_model_new((uint64_t)seed);
  dy_tagger_opts o = dy_tagger_defaults();
  tg = m ? dy_tagger_new(m, &o, dy_vocab_size(W), dy_vocab_size(T)) : NULL;
  tr = tg ? dy_sgd_new(m, (dy_real)0.1) : NULL;
  g = dy_graph_new();
  if (!tr || !g || !forms) {
    fprintf(stderr, "dync-bench soak: %s\n", m && dy_model_error(m) ? dy_model_error(m) : "out of memory");
    goto out;
  }
  printf("# soak: BiLSTM tagger (emb %u, hidden %u per direction, MLP %u, %zu parameters), SGD lr 0.1,\n"
         "# %ld sentences of %s (%zu sentences, %zu words, %u word types, %u tags%s), report every %ld,\n"
         "# growth measured after a warm-up of %ld sentences%s\n",
         o.emb, o.hidden, o.mlp, dy_model_size(m), sents,
         train_path ? train_path : "synthetic data (dy_synth_tagging)", c->nsent, c->ntok,
         (unsigned)dy_vocab_size(W), (unsigned)dy_vocab_size(T),
         train_path && (size_t)sents > c->nsent ? ", cycled" : "", every, warmup,
         train_path && (size_t)warmup == c->nsent ? " (one pass over the corpus)" : "");

  /* ---- training */
  long rss_start = -1, rss_end = -1, rss_max = -1;
  uint32_t blk_start = 0, blk_end = 0, blk_max = 0;
  double loss_first = 0, loss_last = 0, win_loss = 0;
  size_t win_words = 0, words = 0;
  int first = 1;
  double t0 = bench_now();
  for (long k = 0; k < sents; k++) {
    size_t i = (size_t)k % c->nsent;
    dy_graph_renew(g);
    dy_tagger_sent s = dy_tagger_corpus_sent(c, i, forms);
    dy_expr loss = dy_tagger_loss(tg, g, &s);
    dy_real lv = dy_scalar(loss);
    dy_status st = dy_backward(loss);
    if (st == DY_OK) st = dy_trainer_update(tr);
    if (st != DY_OK) {
      const char *msg = dy_graph_error(g) ? dy_graph_error(g) : dy_model_error(m);
      fprintf(stderr, "dync-bench soak: sentence %zu: %s\n", i, msg ? msg : dy_status_str(st));
      goto out;
    }
    win_loss += lv;
    win_words += s.n;
    words += s.n;
    if ((k + 1) % every == 0 || k + 1 == sents) {
      dy_graph_stats gs;
      dy_graph_get_stats(g, &gs);
      long rss = soak_rss_kb();
      double wl = win_words ? win_loss / (double)win_words : 0;
      if (k + 1 <= every) loss_first = wl;
      if (first && k + 1 >= warmup) {
        rss_start = rss;
        blk_start = gs.blocks;
        first = 0;
      }
      rss_end = rss;
      blk_end = gs.blocks;
      loss_last = wl;
      if (!first && rss > rss_max) rss_max = rss;
      if (!first && gs.blocks > blk_max) blk_max = gs.blocks;
      double el = bench_now() - t0;
      bench_row_begin(ctx);
      bench_row_int(ctx, "sentences", k + 1);
      bench_row_int(ctx, "rss_kb", rss);
      bench_row_int(ctx, "arena_blocks", gs.blocks);
      bench_row_int(ctx, "arena_kb", (long long)(gs.bytes_reserved / 1024));
      bench_row_num(ctx, "loss/word", wl);
      bench_row_num(ctx, "words/s", el > 0 ? (double)words / el : 0);
      bench_row_end(ctx);
      fflush(stdout);
      win_loss = 0;
      win_words = 0;
    } else if (ctx->tty && (k + 1) % 100 == 0) {
      bench_progress(ctx, "soak: %ld/%ld sentences", k + 1, sents);
    }
  }
  bench_progress_done(ctx);
  double el = bench_now() - t0;
  double growth = rss_start > 0 ? 100.0 * (double)(rss_end - rss_start) / (double)rss_start : 0;
  printf("# resident memory %ld kB after the warm-up (first report at or after %ld sentences), %ld kB at the "
         "end (%+.2f%%); arena blocks %u -> %u\n",
         rss_start, warmup, rss_end, growth, blk_start, blk_end);
  bench_result(ctx,
               "sents=%ld every=%ld warmup=%ld data=%s rss_start_kb=%ld rss_end_kb=%ld growth_pct=%.3f "
               "rss_max_kb=%ld blocks_start=%u blocks_end=%u blocks_max=%u words_per_sec=%.0f "
               "loss_first=%.4f loss_last=%.4f",
               sents, every, warmup, train_path ? "conllu" : "synthetic", rss_start, rss_end, growth, rss_max,
               blk_start, blk_end, blk_max, el > 0 ? (double)words / el : 0, loss_first, loss_last);
  rc = 0;
out:
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_tagger_free(tg);
  dy_model_free(m);
  free(forms);
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
  return rc;
}

const bench_task bench_task_soak = {"soak", "memory over a long tagger training run (RSS, arena blocks)",
                                    soak_help, soak_run};
