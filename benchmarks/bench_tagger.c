/* dync-bench tagger: the shared per-sentence tagger task of
 * ../shared/DESIGN.md §3 with the protocol of ../shared/peers/torch_tagger.py,
 * so the two compare one to one:
 *   - vocabulary: every training form (count >= --min-count) gets a row; any
 *     other word maps to ONE untrained UNK row; UPOS tags;
 *   - timing: sentences in FILE ORDER; the first --warmup are trained untimed,
 *     then --train-sents are timed (forward + backward + update), words =
 *     their tokens; wall clock and process CPU time;
 *   - then, if --epochs > 0, a FRESH model (same seed) trains --epochs full
 *     epochs over the shuffled training set and dev accuracy is reported.
 * Without UD EWT (../shared/data or --train/--dev) it uses the built-in
 * generated tagging language (data=synthetic in the RESULT line).
 * RESULT task=tagger rnn= bi= trainer= chars= words_per_sec= words_per_cpu_sec=
 *        dev_acc= dev_unk_acc= timed_words= epochs= data= */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dy_tagger.h"

typedef struct {
  bench_ctx *ctx;
  const char *what;
} progress_ctx;

static void progress(void *c, size_t done, size_t total, const dy_tagger_stats *s) {
  progress_ctx *p = c;
  if ((done & 63) == 0 || done == total)
    bench_progress(p->ctx, "%s %zu/%zu sentences, %.0f words/s", p->what, done, total,
                   s->seconds > 0 ? (double)s->words / s->seconds : 0.0);
}

static dy_trainer *make_trainer(dy_model *m, const char *name, double lr) {
  if (!strcmp(name, "adam")) return dy_adam_new(m, (dy_real)(lr > 0 ? lr : 0.001), 0.9f, 0.999f, 1e-8f);
  if (!strcmp(name, "sgd")) return dy_sgd_new(m, (dy_real)(lr > 0 ? lr : 0.1));
  if (!strcmp(name, "momentum")) return dy_momentum_sgd_new(m, (dy_real)(lr > 0 ? lr : 0.01), 0.9f);
  if (!strcmp(name, "adagrad")) return dy_adagrad_new(m, (dy_real)(lr > 0 ? lr : 0.1), 1e-8f);
  if (!strcmp(name, "rmsprop")) return dy_rmsprop_new(m, (dy_real)(lr > 0 ? lr : 0.001), 0.9f, 1e-8f);
  return NULL;
}

static int run_tagger(bench_ctx *ctx, int argc, char **argv) {
  char tb[1024], db[1024], err[512];
  const char *train = NULL, *dev = NULL, *trainer = "sgd", *rnn = "lstm";
  long bi = 1, chars = 0, emb = 128, hidden = 50, mlp = 32, tsents = 2000, warmup = 50, epochs = 1;
  long seed = 1, min_count = 1, max_train = 0;
  double lr = 0;
  for (int i = 1; i < argc; i++) {
    int r;
    if (!strcmp(argv[i], "--train") && i + 1 < argc) train = argv[++i];
    else if (!strcmp(argv[i], "--dev") && i + 1 < argc) dev = argv[++i];
    else if (!strcmp(argv[i], "--trainer") && i + 1 < argc) trainer = argv[++i];
    else if (!strcmp(argv[i], "--rnn") && i + 1 < argc) rnn = argv[++i];
    else if (!strcmp(argv[i], "--bi")) bi = 1;
    else if (!strcmp(argv[i], "--uni")) bi = 0;
    else if (!strcmp(argv[i], "--chars")) chars = 1;
    else if ((r = bench_opt_long(argc, argv, &i, "--emb", 1, &emb)) ||
             (r = bench_opt_long(argc, argv, &i, "--hidden", 1, &hidden)) ||
             (r = bench_opt_long(argc, argv, &i, "--mlp", 1, &mlp)) ||
             (r = bench_opt_long(argc, argv, &i, "--train-sents", 0, &tsents)) ||
             (r = bench_opt_long(argc, argv, &i, "--warmup", 0, &warmup)) ||
             (r = bench_opt_long(argc, argv, &i, "--epochs", 0, &epochs)) ||
             (r = bench_opt_long(argc, argv, &i, "--seed", 0, &seed)) ||
             (r = bench_opt_long(argc, argv, &i, "--min-count", 1, &min_count)) ||
             (r = bench_opt_long(argc, argv, &i, "--max-train-sents", 0, &max_train)) ||
             (r = bench_opt_double(argc, argv, &i, "--lr", 0, &lr))) {
      if (r < 0) return 2;
    } else return bench_bad_option(ctx, argv[i]);
  }
  dy_rnn_kind kind = !strcmp(rnn, "srnn") ? DY_SRNN : !strcmp(rnn, "gru") ? DY_GRU : DY_LSTM;
  if (strcmp(rnn, "srnn") && strcmp(rnn, "gru") && strcmp(rnn, "lstm")) {
    fprintf(stderr, "tagger: --rnn takes srnn, lstm or gru (got %s)\n", rnn);
    return 2;
  }
  if (ctx->quick) {
    tsents = 40;
    warmup = 5;
    epochs = 0;
    if (!max_train) max_train = 200;
  }
  /* data */
  dy_vocab *words = dy_vocab_new("<unk>"), *tags = dy_vocab_new(NULL);
  dy_corpus *tc = NULL, *dc = NULL;
  const char *data = "ud-ewt";
  if (!train) train = bench_find_data("ud/UD_English-EWT/en_ewt-ud-train.conllu", tb, sizeof tb);
  if (!dev) dev = bench_find_data("ud/UD_English-EWT/en_ewt-ud-dev.conllu", db, sizeof db);
  if (train && dev) {
    tc = dy_conllu_read_path(train, words, tags, NULL, err, sizeof err);
    if (tc && min_count > 1) dy_vocab_threshold(words, (uint64_t)(min_count - 1), tc);
    dy_vocab_freeze(words);
    dy_vocab_freeze(tags);
    dc = tc ? dy_conllu_read_path(dev, words, tags, NULL, err, sizeof err) : NULL;
  } else {
    fprintf(stderr, "tagger: UD English EWT not found (looked in $DY_SHARED, ../shared/data; give "
                    "--train/--dev): using the built-in generated language\n");
    data = "synthetic";
    dy_synth_opts o = dy_synth_defaults();
    o.nsent = 4000;
    tc = dy_synth_tagging(&o, words, tags, err, sizeof err);
    dy_vocab_freeze(words);
    o.seed = 2;
    o.nsent = 500;
    dc = tc ? dy_synth_tagging(&o, words, tags, err, sizeof err) : NULL;
  }
  if (!tc || !dc) {
    fprintf(stderr, "tagger: %s\n", err);
    dy_corpus_free(tc);
    dy_vocab_free(words);
    dy_vocab_free(tags);
    return 1;
  }
  if (max_train > 0 && (size_t)max_train < tc->nsent) tc->nsent = (size_t)max_train;
  dy_tagger_opts o = dy_tagger_defaults();
  o.rnn = kind;
  o.bidirectional = (int)bi;
  o.emb = (uint32_t)emb;
  o.hidden = (uint32_t)hidden;
  o.mlp = (uint32_t)mlp;
  o.chars = (int)chars;
  int rc = 0;
  double wps = 0, wpcs = 0, acc = -1, unk_acc = -1;
  size_t timed_words = 0;
  /* phase 1: timing, file order */
  for (int phase = 0; phase < 2 && !rc; phase++) {
    if (phase == 1 && epochs == 0) break;
    dy_model *m = dy_model_new((uint64_t)seed);
    dy_tagger *t = dy_tagger_new(m, &o, dy_vocab_size(words), dy_vocab_size(tags));
    dy_trainer *tr = t ? make_trainer(m, trainer, lr) : NULL;
    dy_graph *g = dy_graph_new();
    if (!tr) {
      fprintf(stderr, "tagger: %s\n", t ? "--trainer takes sgd, momentum, adagrad, rmsprop or adam" : dy_model_error(m));
      rc = 2;
    } else if (phase == 0) {
      size_t n0 = (size_t)warmup < tc->nsent ? (size_t)warmup : tc->nsent;
      size_t n1 = n0 + (size_t)tsents < tc->nsent ? n0 + (size_t)tsents : tc->nsent;
      dy_corpus head = *tc, timed = *tc;
      head.nsent = n0;
      timed.start = tc->start + n0;
      timed.nsent = n1 - n0;
      dy_tagger_stats st;
      progress_ctx pc = {ctx, "timing"};
      dy_status s = dy_tagger_train_epoch(t, g, tr, &head, NULL, &st, NULL, NULL);
      double c0 = bench_cpu_now(), w0 = bench_now();
      if (s == DY_OK) s = dy_tagger_train_epoch(t, g, tr, &timed, NULL, &st, progress, &pc);
      double cpu = bench_cpu_now() - c0, wall = bench_now() - w0;
      bench_progress_done(ctx);
      if (s != DY_OK) {
        fprintf(stderr, "tagger: %s\n", dy_graph_error(g) ? dy_graph_error(g) : dy_model_error(m));
        rc = 1;
      }
      timed_words = st.words;
      wps = (double)st.words / wall;
      wpcs = (double)st.words / cpu;
    } else {
      size_t *order = malloc(tc->nsent * sizeof *order);
      dy_tagger_stats st;
      for (long e = 1; e <= epochs && !rc; e++) {
        dy_tagger_shuffle(order, tc->nsent, (uint64_t)seed * 1000 + (uint64_t)e);
        progress_ctx pc = {ctx, "epoch"};
        if (dy_tagger_train_epoch(t, g, tr, tc, order, &st, progress, &pc) != DY_OK) rc = 1;
        bench_progress_done(ctx);
        if (!rc && dy_tagger_evaluate(t, g, dc, &st) == DY_OK) {
          acc = st.acc;
          unk_acc = st.unk_acc;
          printf("# epoch %ld: dev accuracy %.4f (unknown words %.4f)\n", e, acc, unk_acc);
        }
      }
      free(order);
    }
    dy_graph_free(g);
    dy_trainer_free(tr);
    dy_tagger_free(t);
    dy_model_free(m);
  }
  if (!rc) {
    bench_row_begin(ctx);
    bench_row_str(ctx, "data", data);
    bench_row_str(ctx, "rnn", rnn);
    bench_row_int(ctx, "bi", bi);
    bench_row_str(ctx, "trainer", trainer);
    bench_row_num(ctx, "words/s", wps);
    bench_row_num(ctx, "words/cpu_s", wpcs);
    bench_row_num(ctx, "dev_acc", acc);
    bench_row_end(ctx);
    bench_result(ctx,
                 "rnn=%s bi=%ld trainer=%s chars=%ld words_per_sec=%.0f words_per_cpu_sec=%.0f dev_acc=%.4f "
                 "dev_unk_acc=%.4f timed_words=%zu epochs=%ld data=%s",
                 rnn, bi, trainer, chars, wps, wpcs, acc, unk_acc, timed_words, epochs, data);
  }
  dy_corpus_free(tc);
  dy_corpus_free(dc);
  dy_vocab_free(words);
  dy_vocab_free(tags);
  return rc;
}

const bench_task bench_task_tagger = {
    "tagger", "per-sentence RNN POS tagger on UD EWT (words/s, dev accuracy), the peers' protocol",
    "  --train FILE --dev FILE (default ../shared/data/ud/UD_English-EWT/en_ewt-ud-{train,dev}.conllu)\n"
    "  --rnn srnn|lstm|gru (lstm) --bi (default) | --uni  --chars  --emb N (128) --hidden N (50)\n"
    "  --mlp N (32) --trainer sgd|momentum|adagrad|rmsprop|adam (sgd) --lr X (trainer default)\n"
    "  --train-sents N (2000 timed) --warmup N (50) --epochs N (1; 0 = timing only) --seed N (1)\n"
    "  --min-count N (1) --max-train-sents N (0 = all)\n"
    "  RESULT keys: rnn bi trainer chars words_per_sec words_per_cpu_sec dev_acc dev_unk_acc\n"
    "               timed_words epochs data\n",
    run_tagger};
