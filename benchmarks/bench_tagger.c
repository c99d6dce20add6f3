/* dync-bench tagger: the shared per-sentence tagger task of
 * ../shared/DESIGN.md §3 with the protocol of ../shared/peers/torch_tagger.py,
 * so the two compare one to one:
 *   - vocabulary: every training form (count >= --min-count) gets a row; any
 *     other word maps to ONE untrained UNK row; UPOS tags;
 *   - timing: sentences in FILE ORDER; the first --warmup are trained untimed,
 *     then --train-sents are timed (forward + backward + update), words =
 *     their tokens; wall clock and process CPU time;
 *   - then, if --epochs > 0, a FRESH model (same seed) trains --epochs full
 *     epochs over the shuffled training set and dev accuracy is reported;
 *   - initialisation: the tagger's default, DyNet's Glorot rule; the
 *     reference uses PyTorch's (N(0,1) embeddings): --init torch for that.
 *     One epoch, seeds 1-3: 0.889-0.895 glorot, 0.825-0.847 torch (the
 *     reference: 0.824-0.847); models/dy_tagger.h has the figures.
 * --threads N (data-parallel): N threads, each its own graph and gradient set
 * (dy_grad_set, nn/dy_nn.h), take N consecutive sentences; then one update
 * sums their gradients (synchronous, deterministic for a seed). With N = 1 it
 * is the plain per-sentence loop.
 * Without UD EWT (../shared/data or --train/--dev) it uses the built-in
 * generated tagging language (data=synthetic in the RESULT line).
 * RESULT task=tagger rnn= bi= trainer= chars= words_per_sec= words_per_cpu_sec=
 *        dev_acc= dev_unk_acc= timed_words= epochs= data= threads= */
#include <pthread.h>
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

/* ============================================ data-parallel training */
#define MAX_THREADS 16

typedef struct par par;
typedef struct {
  par *p;
  uint32_t k;             /* thread index */
  dy_graph *g;
  dy_grad_set *set;       /* NULL for thread 0: it uses the model itself */
  size_t sent;            /* sentence to process, or SIZE_MAX */
  size_t words;
  dy_status st;
} worker;

struct par {
  dy_tagger *t;
  const dy_corpus *c;
  uint32_t n;
  pthread_barrier_t start, done;
  int quit;
  worker w[MAX_THREADS];
};

static void work_one(worker *w) {
  w->st = DY_OK;
  w->words = 0;
  if (w->sent == SIZE_MAX) return;
  dy_graph_renew(w->g);
  dy_tagger_sent s = dy_tagger_corpus_sent(w->p->c, w->sent, NULL);
  dy_expr L = dy_tagger_loss(w->p->t, w->g, &s);
  w->st = dy_backward(L);
  w->words = s.n;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  for (;;) {
    pthread_barrier_wait(&w->p->start);
    if (w->p->quit) return NULL;
    work_one(w);
    pthread_barrier_wait(&w->p->done);
  }
}

/* Trains on the sentences order[0..n) (or 0..c->nsent in file order when
 * order is NULL) with p->n threads, one update per group of p->n sentences. */
static dy_status par_epoch(par *p, dy_trainer *tr, const dy_corpus *c, const size_t *order,
                           dy_tagger_stats *st) {
  memset(st, 0, sizeof *st);
  p->c = c;
  double w0 = bench_now();
  dy_grad_set *sets[MAX_THREADS];
  for (uint32_t k = 1; k < p->n; k++) sets[k - 1] = p->w[k].set;
  for (size_t i = 0; i < c->nsent; i += p->n) {
    for (uint32_t k = 0; k < p->n; k++)
      p->w[k].sent = i + k < c->nsent ? (order ? order[i + k] : i + k) : SIZE_MAX;
    pthread_barrier_wait(&p->start);
    work_one(&p->w[0]);
    pthread_barrier_wait(&p->done);
    for (uint32_t k = 0; k < p->n; k++) {
      if (p->w[k].st != DY_OK) {
        fprintf(stderr, "tagger: thread %u: %s\n", (unsigned)k, dy_graph_error(p->w[k].g));
        return p->w[k].st;
      }
      st->words += p->w[k].words;
      st->sents += p->w[k].sent != SIZE_MAX;
    }
    dy_status u = dy_trainer_update_sets(tr, sets, p->n - 1);
    if (u != DY_OK && u != DY_ENAN) return u;
  }
  st->seconds = bench_now() - w0;
  return DY_OK;
}

static int par_start(par *p, dy_tagger *t, dy_model *m, uint32_t n, uint64_t seed) {
  memset(p, 0, sizeof *p);
  p->t = t;
  p->n = n;
  pthread_barrier_init(&p->start, NULL, n);
  pthread_barrier_init(&p->done, NULL, n);
  for (uint32_t k = 0; k < n; k++) {
    p->w[k].p = p;
    p->w[k].k = k;
    p->w[k].g = dy_graph_new();
    p->w[k].set = k ? dy_grad_set_new(m) : NULL;
    if (!p->w[k].g || (k && !p->w[k].set)) return -1;
    dy_graph_set_grads(p->w[k].g, p->w[k].set);
    dy_graph_set_seed(p->w[k].g, seed + k); /* thread k's word and RNN dropout draws */
  }
  return 0;
}

static void par_stop(par *p, pthread_t *th) {
  p->quit = 1;
  pthread_barrier_wait(&p->start);
  for (uint32_t k = 1; k < p->n; k++) pthread_join(th[k], NULL);
  for (uint32_t k = 0; k < p->n; k++) {
    dy_graph_free(p->w[k].g);
    dy_grad_set_free(p->w[k].set);
  }
  pthread_barrier_destroy(&p->start);
  pthread_barrier_destroy(&p->done);
}

static int run_tagger(bench_ctx *ctx, int argc, char **argv) {
  char tb[1024], db[1024], err[512];
  const char *train = NULL, *dev = NULL, *trainer = "sgd", *rnn = "lstm";
  long bi = 1, chars = 0, emb = 128, hidden = 50, mlp = 32, tsents = 2000, warmup = 50, epochs = 1;
  long seed = 1, min_count = 1, max_train = 0, threads = 1;
  double lr = 0, clip = 5, lr_decay = 0, wdrop = -1, walpha = -1, rdrop = -1;
  const char *init = NULL;
  for (int i = 1; i < argc; i++) {
    int r;
    if (!strcmp(argv[i], "--train") && i + 1 < argc) train = argv[++i];
    else if (!strcmp(argv[i], "--dev") && i + 1 < argc) dev = argv[++i];
    else if (!strcmp(argv[i], "--trainer") && i + 1 < argc) trainer = argv[++i];
    else if (!strcmp(argv[i], "--rnn") && i + 1 < argc) rnn = argv[++i];
    else if (!strcmp(argv[i], "--bi")) bi = 1;
    else if (!strcmp(argv[i], "--uni")) bi = 0;
    else if (!strcmp(argv[i], "--chars")) chars = 1;
    else if (!strcmp(argv[i], "--init") && i + 1 < argc) init = argv[++i];
    else if ((r = bench_opt_long(argc, argv, &i, "--emb", 1, &emb)) ||
             (r = bench_opt_long(argc, argv, &i, "--hidden", 1, &hidden)) ||
             (r = bench_opt_long(argc, argv, &i, "--mlp", 1, &mlp)) ||
             (r = bench_opt_long(argc, argv, &i, "--train-sents", 0, &tsents)) ||
             (r = bench_opt_long(argc, argv, &i, "--warmup", 0, &warmup)) ||
             (r = bench_opt_long(argc, argv, &i, "--epochs", 0, &epochs)) ||
             (r = bench_opt_long(argc, argv, &i, "--seed", 0, &seed)) ||
             (r = bench_opt_long(argc, argv, &i, "--min-count", 1, &min_count)) ||
             (r = bench_opt_long(argc, argv, &i, "--max-train-sents", 0, &max_train)) ||
             (r = bench_opt_long(argc, argv, &i, "--threads", 1, &threads)) ||
             (r = bench_opt_double(argc, argv, &i, "--lr", 0, &lr)) ||
             (r = bench_opt_double(argc, argv, &i, "--clip", 0, &clip)) ||
             (r = bench_opt_double(argc, argv, &i, "--lr-decay", 0, &lr_decay)) ||
             (r = bench_opt_double(argc, argv, &i, "--word-dropout", 0, &wdrop)) ||
             (r = bench_opt_double(argc, argv, &i, "--word-dropout-alpha", 0, &walpha)) ||
             (r = bench_opt_double(argc, argv, &i, "--dropout", 0, &rdrop))) {
      if (r < 0) return 2;
    } else return bench_bad_option(ctx, argv[i]);
  }
  if (threads > MAX_THREADS) {
    fprintf(stderr, "tagger: --threads at most %d\n", MAX_THREADS);
    return 2;
  }
  if (init && strcmp(init, "glorot") && strcmp(init, "torch")) {
    fprintf(stderr, "tagger: --init takes glorot or torch (got %s)\n", init);
    return 2;
  }
  if (wdrop >= 1 || rdrop >= 1) {
    fprintf(stderr, "tagger: --word-dropout and --dropout take a probability in [0, 1)\n");
    return 2;
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
  if (init) o.init = !strcmp(init, "torch") ? DY_TAGGER_INIT_TORCH : DY_TAGGER_INIT_GLOROT;
  if (wdrop >= 0) o.word_dropout = (dy_real)wdrop;
  if (walpha >= 0) o.word_dropout_alpha = (dy_real)walpha;
  if (rdrop >= 0) o.dropout = (dy_real)rdrop;
  int rc = 0;
  double wps = 0, wpcs = 0, acc = -1, unk_acc = -1;
  size_t timed_words = 0;
  /* phase 1: timing, file order */
  for (int phase = 0; phase < 2 && !rc; phase++) {
    if (phase == 1 && epochs == 0) break;
    dy_model *m = dy_model_new((uint64_t)seed);
    dy_tagger *t = dy_tagger_new(m, &o, dy_vocab_size(words), dy_vocab_size(tags));
    /* frequency-aware word dropout needs the training counts */
    int counts_ok = !t || o.word_dropout_alpha <= 0 || dy_tagger_set_word_counts(t, words) == DY_OK;
    dy_trainer *tr = t && counts_ok ? make_trainer(m, trainer, lr) : NULL;
    dy_graph *g = dy_graph_new();
    if (tr) {
      dy_trainer_set_clip(tr, (dy_real)clip);
      if (lr_decay > 0) dy_trainer_set_schedule(tr, DY_LR_INV, (dy_real)lr_decay, 1);
    }
    dy_graph_set_seed(g, (uint64_t)seed); /* word and RNN dropout draws */
    par pstate, *pp = NULL; /* --threads > 1 */
    pthread_t th[MAX_THREADS];
    if (tr && threads > 1) {
      pp = &pstate;
      if (par_start(pp, t, m, (uint32_t)threads, (uint64_t)seed) != 0) {
        fprintf(stderr, "tagger: out of memory for %ld threads\n", threads);
        return 1;
      }
      for (long k = 1; k < threads; k++) pthread_create(&th[k], NULL, worker_main, &pp->w[k]);
    }
    if (!tr) {
      fprintf(stderr, "tagger: %s\n", !t ? dy_model_error(m) : !counts_ok ? "out of memory"
                                       : "--trainer takes sgd, momentum, adagrad, rmsprop or adam");
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
      dy_status s = pp ? par_epoch(pp, tr, &head, NULL, &st) : dy_tagger_train_epoch(t, g, tr, &head, NULL, &st, NULL, NULL);
      double c0 = bench_cpu_now(), w0 = bench_now();
      if (s == DY_OK)
        s = pp ? par_epoch(pp, tr, &timed, NULL, &st) : dy_tagger_train_epoch(t, g, tr, &timed, NULL, &st, progress, &pc);
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
        dy_trainer_set_epoch(tr, (uint32_t)(e - 1));
        progress_ctx pc = {ctx, "epoch"};
        if ((pp ? par_epoch(pp, tr, tc, order, &st) : dy_tagger_train_epoch(t, g, tr, tc, order, &st, progress, &pc)) != DY_OK)
          rc = 1;
        bench_progress_done(ctx);
        if (!rc && dy_tagger_evaluate(t, g, dc, &st) == DY_OK) {
          acc = st.acc;
          unk_acc = st.unk_acc;
          printf("# epoch %ld: dev accuracy %.4f (unknown words %.4f)\n", e, acc, unk_acc);
        }
      }
      free(order);
    }
    if (pp) par_stop(pp, th);
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
    bench_row_int(ctx, "threads", threads);
    bench_row_num(ctx, "words/s", wps);
    bench_row_num(ctx, "words/cpu_s", wpcs);
    bench_row_num(ctx, "dev_acc", acc);
    bench_row_end(ctx);
    bench_result(ctx,
                 "rnn=%s bi=%ld trainer=%s chars=%ld words_per_sec=%.0f words_per_cpu_sec=%.0f dev_acc=%.4f "
                 "dev_unk_acc=%.4f timed_words=%zu epochs=%ld data=%s threads=%ld",
                 rnn, bi, trainer, chars, wps, wpcs, acc, unk_acc, timed_words, epochs, data, threads);
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
    "  --init glorot|torch (the tagger's default: glorot) --clip X (5; 0 = off)\n"
    "  --lr-decay D (0: lr / (1 + D (epoch - 1)))  --word-dropout P  --word-dropout-alpha A\n"
    "  --dropout P (RNN dropout)  (defaults: dy_tagger_defaults(), models/dy_tagger.h)\n"
    "  --threads N (1): data-parallel, N sentences per update (one per thread)\n"
    "  RESULT keys: rnn bi trainer chars words_per_sec words_per_cpu_sec dev_acc dev_unk_acc\n"
    "               timed_words epochs data threads\n",
    run_tagger};
