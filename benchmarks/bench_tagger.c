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
 * (dy_grad_set, nn/dy_nn.h), take N sentences of about the same length (see
 * par_schedule); then one update, shared by the threads, sums their gradients
 * (synchronous, deterministic for a seed). With N = 1 it is the plain
 * per-sentence loop. --clip is per sentence: the sum of N sentences'
 * gradients is clipped at N x --clip (with --avg, at --clip), as if each
 * had been clipped alone. Dev accuracy after one epoch, seeds 1-6, SGD:
 * one thread clip 5: mean 0.8917; two threads summed clipped at 5: 0.8819
 * (-1.0 point), at 7.07: 0.8864 (3 seeds), at 10: 0.8919 (+0.02). With
 * --clip 10 (one thread 0.9030) two threads at 20 read 0.8976 (-0.5).
 * Without UD EWT (../shared/data or --train/--dev) it uses the built-in
 * generated tagging language (data=synthetic in the RESULT line).
 * RESULT task=tagger rnn= bi= trainer= chars= words_per_sec= words_per_cpu_sec=
 *        dev_acc= dev_unk_acc= timed_words= epochs= data= threads= */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ============================================ data-parallel training
 * N threads (thread 0 the caller), each with its own graph; threads 1..N-1
 * accumulate into their own gradient set, thread 0 into the model. Step s:
 * thread k trains on sentence sched[s N + k] (none past the end), then all
 * N call dy_trainer_update_sets_mt(), which waits for all, merges and
 * updates a share of the parameters in each thread (bitwise the result of
 * one thread merging and updating), and returns when the update is done.
 *
 * The schedule: the epoch's order cut into windows of 32 N sentences; in
 * each window the sentences are sorted by length (stably) and cut into
 * groups of N consecutive ones, and the groups are shuffled (seeded by the
 * window's position). The N sentences of a step thus have about the same
 * length, so no thread waits long for another (with two consecutive
 * sentences of UD EWT the longer takes 1.5x the mean: 2 threads would reach
 * at most ~1.5x), and the order stays random at the scale of windows. Every
 * sentence is trained once per epoch, N per update. Deterministic for a
 * seed: nothing depends on thread timing.
 *
 * Barriers: a thread spins (with a pause) for up to its barrier's budget,
 * then sleeps on a condition variable; the last to arrive wakes the
 * sleepers. A step takes 200-700 us, so with a core per thread nobody needs
 * to sleep, and a sleeper's wake-up costs tens of microseconds on a virtual
 * machine (two threads, same minutes: 49-51k words/s at 50 us of spinning,
 * 70-71k at 500 us, 75-77k at 5000 us). But when another process takes a
 * core, the thread waited for is not running at all, and a fixed 1000 us of
 * spinning only delays it: 7-17k words/s. So the budget adapts: it starts at
 * --spin-us (default 1000), doubles (up to --spin-us) whenever a wait ends
 * while spinning and drops to a quarter (down to SB_MIN_NS) whenever it runs
 * out; with a busy third process, 28-60k words/s against 7-17k fixed. */
#include <stdatomic.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_PAUSE() _mm_pause()
#else
#define CPU_PAUSE() ((void)0)
#endif
#define MAX_THREADS 16
#define SB_MIN_NS 20000u /* the budget's floor: 20 us covers most waits on a free core */

typedef struct {
  atomic_uint count, gen;
  atomic_uint cur_ns;      /* the spin budget now, ns */
  atomic_int sleepers;
  uint32_t n;
  unsigned spin_ns;        /* --spin-us, the budget's ceiling */
  pthread_mutex_t mu;
  pthread_cond_t cv;
} spin_barrier;

static void sb_init(spin_barrier *b, uint32_t n, double spin_us) {
  atomic_init(&b->count, 0);
  atomic_init(&b->gen, 0);
  atomic_init(&b->sleepers, 0);
  b->n = n;
  b->spin_ns = spin_us * 1e3 < 4e9 ? (unsigned)(spin_us * 1e3) : 4000000000u;
  atomic_init(&b->cur_ns, b->spin_ns);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
}

static void sb_destroy(spin_barrier *b) {
  pthread_mutex_destroy(&b->mu);
  pthread_cond_destroy(&b->cv);
}

static void sb_wait(void *ctx) {
  spin_barrier *b = ctx;
  unsigned g = atomic_load_explicit(&b->gen, memory_order_acquire);
  if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) + 1 == b->n) {
    atomic_store_explicit(&b->count, 0, memory_order_relaxed);
    /* seq_cst store then load: a sleeper either sees the new gen or is counted */
    atomic_store_explicit(&b->gen, g + 1, memory_order_seq_cst);
    if (atomic_load_explicit(&b->sleepers, memory_order_seq_cst) > 0) {
      pthread_mutex_lock(&b->mu);
      pthread_cond_broadcast(&b->cv);
      pthread_mutex_unlock(&b->mu);
    }
    return;
  }
  /* spin up to the barrier's current budget (see sb_init) */
  const unsigned max_ns = b->spin_ns, cur = atomic_load_explicit(&b->cur_ns, memory_order_relaxed);
  if (cur > 0) {
    double t0 = bench_now(), lim = cur * 1e-9;
    for (unsigned i = 1;; i++) {
      if (atomic_load_explicit(&b->gen, memory_order_acquire) != g) {
        atomic_store_explicit(&b->cur_ns, cur > max_ns / 2 ? max_ns : 2 * cur, memory_order_relaxed);
        return;
      }
      CPU_PAUSE();
      if ((i & 63) == 0 && bench_now() - t0 > lim) break;
    }
    atomic_store_explicit(&b->cur_ns, cur / 4 < SB_MIN_NS ? (max_ns < SB_MIN_NS ? max_ns : SB_MIN_NS) : cur / 4,
                          memory_order_relaxed);
  }
  pthread_mutex_lock(&b->mu);
  atomic_fetch_add_explicit(&b->sleepers, 1, memory_order_seq_cst);
  while (atomic_load_explicit(&b->gen, memory_order_seq_cst) == g) pthread_cond_wait(&b->cv, &b->mu);
  atomic_fetch_sub_explicit(&b->sleepers, 1, memory_order_relaxed);
  pthread_mutex_unlock(&b->mu);
}

typedef struct par par;
typedef struct {
  par *p;
  uint32_t k;             /* thread index */
  dy_graph *g;
  dy_grad_set *set;       /* NULL for thread 0: it uses the model itself */
  size_t words, sents;    /* of the epoch */
  double *prof;           /* --profile: per step, thread CPU seconds of work and of the update */
  dy_status st;           /* first error of the epoch */
  char err[256];
  pthread_t th;
} worker;

struct par {
  dy_tagger *t;
  dy_trainer *tr;
  uint32_t n;
  int avg;                /* scale each loss by 1/n (an update averages) */
  int profile;            /* --profile */
  /* the epoch: */
  const dy_corpus *c;
  const size_t *sched;    /* c->nsent sentence indices */
  dy_status ust;          /* status of the last update */
  int quit;
  spin_barrier go, upd, done; /* epoch start; inside the updates; epoch end */
  dy_grad_set *sets[MAX_THREADS];
  worker w[MAX_THREADS];
};

static double thread_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void par_steps(worker *w) {
  par *p = w->p;
  w->words = w->sents = 0;
  w->st = DY_OK;
  size_t nsteps = (p->c->nsent + p->n - 1) / p->n;
  for (size_t s = 0; s < nsteps; s++) {
    size_t i = s * p->n + w->k;
    double c0 = w->prof ? thread_cpu() : 0, c1 = c0;
    if (i < p->c->nsent) {
      dy_graph_renew(w->g);
      dy_tagger_sent ts = dy_tagger_corpus_sent(p->c, p->sched[i], NULL);
      dy_expr L = dy_tagger_loss(p->t, w->g, &ts);
      if (p->avg) L = dy_scale_gradient(L, (dy_real)(1.0 / p->n));
      dy_status st = dy_backward(L);
      if (st != DY_OK && w->st == DY_OK) {
        w->st = st;
        snprintf(w->err, sizeof w->err, "%s", dy_graph_error(w->g) ? dy_graph_error(w->g) : "backward failed");
      }
      w->words += ts.n;
      w->sents++;
      if (w->prof) c1 = thread_cpu();
    }
    dy_status u = dy_trainer_update_sets_mt(p->tr, p->sets, p->n - 1, w->k, p->n, sb_wait, &p->upd);
    if (w->prof) {
      w->prof[2 * s] = c1 - c0;
      w->prof[2 * s + 1] = thread_cpu() - c1;
    }
    if (w->k == 0) p->ust = u;
    if (u != DY_OK && u != DY_ENAN) break; /* the same status in every thread */
  }
}

/* --profile: from the threads' CPU times per step (spinning counts, so use
 * --spin-us 0): the work summed over threads, the critical path (per step
 * the longest work plus the longest update share), the update per step. */
static void par_profile(par *p, size_t nsteps) {
  double work = 0, crit = 0, upd = 0;
  for (size_t s = 0; s < nsteps; s++) {
    double mw = 0, mu = 0;
    for (uint32_t k = 0; k < p->n; k++) {
      const double *q = p->w[k].prof + 2 * s;
      work += q[0];
      upd += q[1];
      mw = q[0] > mw ? q[0] : mw;
      mu = q[1] > mu ? q[1] : mu;
    }
    crit += mw + mu;
  }
  printf("# profile (thread CPU): %zu steps; work %.1f us/step summed over threads; update %.1f us/step "
         "summed (%.1f per thread); critical path %.1f us/step, %.3f s in all\n",
         nsteps, 1e6 * work / (double)nsteps, 1e6 * upd / (double)nsteps, 1e6 * upd / (double)nsteps / p->n,
         1e6 * crit / (double)nsteps, crit);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  for (;;) {
    sb_wait(&w->p->go);
    if (w->p->quit) return NULL;
    par_steps(w);
    sb_wait(&w->p->done); /* what the thread wrote is visible to thread 0 */
  }
}

static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* The schedule above: sched[0..c->nsent) from order (NULL: file order). */
static void par_schedule(const dy_corpus *c, const size_t *order, uint32_t n, size_t *sched) {
  size_t W = (size_t)32 * n, grp[32];
  for (size_t i = 0; i < c->nsent; i++) sched[i] = order ? order[i] : i;
  for (size_t w0 = 0; w0 < c->nsent; w0 += W) {
    size_t m = c->nsent - w0 < W ? c->nsent - w0 : W, *x = sched + w0;
    for (size_t i = 1; i < m; i++) { /* insertion sort by length, stable */
      size_t v = x[i], j = i;
      for (; j > 0 && dy_corpus_len(c, x[j - 1]) > dy_corpus_len(c, v); j--) x[j] = x[j - 1];
      x[j] = v;
    }
    size_t ng = (m + n - 1) / n, tmp[32 * MAX_THREADS];
    if (m < W) continue; /* the last, partial window: keep it sorted */
    for (size_t g = 0; g < ng; g++) grp[g] = g;
    for (size_t g = ng; g > 1; g--) { /* Fisher-Yates, seeded by the position */
      size_t r = (size_t)(mix64(w0 * 31 + g) % g), t = grp[g - 1];
      grp[g - 1] = grp[r];
      grp[r] = t;
    }
    for (size_t g = 0; g < ng; g++) memcpy(tmp + g * n, x + grp[g] * n, n * sizeof *x);
    memcpy(x, tmp, m * sizeof *x);
  }
}

/* Trains on the sentences order[0..n) (or 0..c->nsent in file order when
 * order is NULL) with p->n threads, one update per step of p->n sentences. */
static dy_status par_epoch(par *p, const dy_corpus *c, const size_t *order, dy_tagger_stats *st) {
  memset(st, 0, sizeof *st);
  size_t *sched = malloc((c->nsent ? c->nsent : 1) * sizeof *sched);
  if (!sched) return DY_ENOMEM;
  par_schedule(c, order, p->n, sched);
  p->c = c;
  p->sched = sched;
  p->ust = DY_OK;
  size_t nsteps = (c->nsent + p->n - 1) / p->n;
  for (uint32_t k = 0; k < p->n && p->profile; k++) {
    p->w[k].prof = calloc(2 * nsteps + 1, sizeof(double));
    if (!p->w[k].prof) return DY_ENOMEM;
  }
  double w0 = bench_now();
  sb_wait(&p->go);
  par_steps(&p->w[0]);
  st->seconds = bench_now() - w0;
  sb_wait(&p->done);
  free(sched);
  if (p->profile) par_profile(p, nsteps);
  for (uint32_t k = 0; k < p->n; k++) {
    free(p->w[k].prof);
    p->w[k].prof = NULL;
  }
  dy_status rc = p->ust == DY_ENAN ? DY_OK : p->ust;
  for (uint32_t k = 0; k < p->n; k++) {
    st->words += p->w[k].words;
    st->sents += p->w[k].sents;
    if (p->w[k].st != DY_OK && rc == DY_OK) {
      fprintf(stderr, "tagger: thread %u: %s\n", (unsigned)k, p->w[k].err);
      rc = p->w[k].st;
    }
  }
  return rc;
}

static int par_start(par *p, dy_tagger *t, dy_trainer *tr, dy_model *m, uint32_t n, int avg, double spin_us,
                     int profile, uint64_t seed) {
  memset(p, 0, sizeof *p);
  p->profile = profile;
  p->t = t;
  p->tr = tr;
  p->n = n;
  p->avg = avg;
  sb_init(&p->go, n, spin_us);
  sb_init(&p->upd, n, spin_us);
  sb_init(&p->done, n, spin_us);
  for (uint32_t k = 0; k < n; k++) {
    p->w[k].p = p;
    p->w[k].k = k;
    p->w[k].g = dy_graph_new();
    p->w[k].set = k ? dy_grad_set_new(m) : NULL;
    if (!p->w[k].g || (k && !p->w[k].set)) return -1;
    dy_graph_set_grads(p->w[k].g, p->w[k].set);
    if (k) p->sets[k - 1] = p->w[k].set;
    dy_graph_set_seed(p->w[k].g, seed + k); /* thread k's word and RNN dropout draws */
  }
  for (uint32_t k = 1; k < n; k++)
    if (pthread_create(&p->w[k].th, NULL, worker_main, &p->w[k]) != 0) {
      fprintf(stderr, "tagger: cannot start thread %u\n", (unsigned)k);
      exit(1); /* the threads started wait for n at a barrier */
    }
  return 0;
}

/* Stops the threads (after par_start succeeded) and frees all. */
static void par_stop(par *p) {
  p->quit = 1;
  sb_wait(&p->go);
  for (uint32_t k = 1; k < p->n; k++) pthread_join(p->w[k].th, NULL);
  for (uint32_t k = 0; k < p->n; k++) {
    dy_graph_free(p->w[k].g);
    dy_grad_set_free(p->w[k].set);
  }
  sb_destroy(&p->go);
  sb_destroy(&p->upd);
  sb_destroy(&p->done);
}

static int run_tagger(bench_ctx *ctx, int argc, char **argv) {
  char tb[1024], db[1024], err[512];
  const char *train = NULL, *dev = NULL, *trainer = "sgd", *rnn = "lstm";
  long bi = 1, chars = 0, emb = 128, hidden = 50, mlp = 32, tsents = 2000, warmup = 50, epochs = 1;
  long seed = 1, min_count = 1, max_train = 0, threads = 1, avg = 0, profile = 0;
  double lr = 0, spin_us = 1000, clip = 5, lr_decay = 0, wdrop = -1, walpha = -1, rdrop = -1;
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
    else if (!strcmp(argv[i], "--avg")) avg = 1;
    else if (!strcmp(argv[i], "--profile")) profile = 1;
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
             (r = bench_opt_double(argc, argv, &i, "--spin-us", 0, &spin_us)) ||
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
      /* --clip is per sentence: a sum of N sentences' gradients is clipped at N x clip */
      dy_trainer_set_clip(tr, (dy_real)(avg ? clip : clip * (double)threads));
      if (lr_decay > 0) dy_trainer_set_schedule(tr, DY_LR_INV, (dy_real)lr_decay, 1);
    }
    dy_graph_set_seed(g, (uint64_t)seed); /* word and RNN dropout draws */
    static par pstate; /* large: not on the stack */
    par *pp = NULL;    /* --threads > 1 */
    if (tr && threads > 1) {
      pp = &pstate;
      if (par_start(pp, t, tr, m, (uint32_t)threads, (int)avg, spin_us, (int)profile, (uint64_t)seed) != 0) {
        fprintf(stderr, "tagger: out of memory for %ld threads\n", threads);
        return 1;
      }
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
      dy_status s = pp ? par_epoch(pp, &head, NULL, &st) : dy_tagger_train_epoch(t, g, tr, &head, NULL, &st, NULL, NULL);
      double c0 = bench_cpu_now(), w0 = bench_now();
      if (s == DY_OK)
        s = pp ? par_epoch(pp, &timed, NULL, &st) : dy_tagger_train_epoch(t, g, tr, &timed, NULL, &st, progress, &pc);
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
        if ((pp ? par_epoch(pp, tc, order, &st) : dy_tagger_train_epoch(t, g, tr, tc, order, &st, progress, &pc)) != DY_OK)
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
    if (pp) par_stop(pp);
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
    "  --init glorot|torch (the tagger's default: glorot) --clip X (5 per sentence; 0 = off)\n"
    "  --lr-decay D (0: lr / (1 + D (epoch - 1)))  --word-dropout P  --word-dropout-alpha A\n"
    "  --dropout P (RNN dropout)  (defaults: dy_tagger_defaults(), models/dy_tagger.h)\n"
    "  --threads N (1): data-parallel, N sentences per update (one per thread), their\n"
    "  gradients summed (--avg: averaged); steps group sentences of about equal length\n"
    "  --spin-us X (1000): a thread at a barrier spins up to X microseconds (less while\n"
    "  spins run out: another process has a core), then sleeps\n"
    "  --profile: with --threads > 1, per-step thread CPU times: work, update, critical path\n"
    "  RESULT keys: rnn bi trainer chars words_per_sec words_per_cpu_sec dev_acc dev_unk_acc\n"
    "               timed_words epochs data threads\n",
    run_tagger};
