/* Threads: many graphs and models alive at once is a promise of the engine.
 * Two models are trained in two threads at the same time, each with its own
 * graph, vocabularies, corpus and trainer; their parameters, losses and
 * graph statistics must be bitwise equal to training them one after the
 * other in the main thread. Run under ThreadSanitizer in CI (.ci/run), where
 * a data race between the threads (shared scratch, a lazily set global, an
 * unsynchronised kernel table) is reported even when the numbers agree. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dy_corpus.h"
#include "dy_nn.h"
#include "dy_tagger.h"
#include "harness.h"

/* One training job: what to train and what came out. */
typedef struct job {
  /* in */
  dy_rnn_kind rnn;
  int bidirectional;
  int adam;          /* Adam, else SGD */
  dy_real word_dropout;
  uint64_t seed;     /* data and model */
  size_t nsent;      /* training sentences */
  int epochs;
  /* out */
  dy_real *vals;     /* every parameter, in model order (malloc'ed) */
  size_t nvals;
  double loss;       /* summed training loss of the last epoch */
  double acc;        /* accuracy on held-out sentences */
  uint32_t blocks;   /* the graph's arena blocks at the end */
  char err[512];     /* empty when all went well */
} job;

static void *run_job(void *arg) {
  job *j = arg;
  j->err[0] = 0;
  char err[400];
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  dy_synth_opts so = dy_synth_defaults();
  so.seed = j->seed;
  so.nsent = j->nsent;
  so.min_len = 3;
  so.max_len = 12;
  so.nforms = 200;
  dy_corpus *train = dy_synth_tagging(&so, W, T, err, sizeof err), *dev = NULL;
  if (!train) {
    snprintf(j->err, sizeof j->err, "synth: %s", err);
    goto out0;
  }
  dy_vocab_freeze(W);
  dy_vocab_freeze(T);
  so.seed = j->seed + 100;
  so.nsent = 30;
  dev = dy_synth_tagging(&so, W, T, err, sizeof err);
  dy_model *m = dy_model_new(j->seed);
  dy_tagger_opts o = dy_tagger_defaults();
  o.rnn = j->rnn;
  o.bidirectional = j->bidirectional;
  o.emb = 16;
  o.hidden = 8;
  o.mlp = 8;
  o.word_dropout = j->word_dropout;
  dy_tagger *t = dy_tagger_new(m, &o, dy_vocab_size(W), dy_vocab_size(T));
  dy_trainer *tr = !t ? NULL : j->adam ? dy_adam_new(m, (dy_real)0.01, -1, -1, -1) : dy_sgd_new(m, (dy_real)0.1);
  dy_graph *g = dy_graph_new();
  dy_graph_set_seed(g, j->seed * 7 + 1); /* word dropout draws from the graph's RNG */
  if (!dev || !tr || !g) {
    snprintf(j->err, sizeof j->err, "setup: %s", dy_model_error(m) ? dy_model_error(m) : "out of memory");
    goto out1;
  }
  dy_tagger_stats st;
  for (int e = 0; e < j->epochs; e++) {
    dy_status s = dy_tagger_train_epoch(t, g, tr, train, NULL, &st, NULL, NULL);
    if (s != DY_OK) {
      snprintf(j->err, sizeof j->err, "epoch %d: %s", e,
               dy_graph_error(g) ? dy_graph_error(g) : dy_model_error(m));
      goto out1;
    }
    j->loss = st.loss;
  }
  if (dy_tagger_evaluate(t, g, dev, &st) != DY_OK) {
    snprintf(j->err, sizeof j->err, "evaluate: %s", dy_graph_error(g));
    goto out1;
  }
  j->acc = st.acc;
  dy_graph_stats gs;
  dy_graph_get_stats(g, &gs);
  j->blocks = gs.blocks;
  j->nvals = 0;
  for (uint32_t i = 0; i < dy_model_num_params(m); i++)
    j->nvals += dy_dim_size(dy_param_dim(dy_model_param_at(m, i)));
  for (uint32_t i = 0; i < dy_model_num_lookups(m); i++) {
    dy_lookup *l = dy_model_lookup_at(m, i);
    j->nvals += (size_t)dy_lookup_rows(l) * dy_dim_size(dy_lookup_dim(l));
  }
  j->vals = malloc(j->nvals * sizeof(dy_real));
  size_t k = 0;
  for (uint32_t i = 0; i < dy_model_num_params(m); i++) {
    dy_param *p = dy_model_param_at(m, i);
    size_t n = dy_dim_size(dy_param_dim(p));
    memcpy(j->vals + k, dy_param_values(p), n * sizeof(dy_real));
    k += n;
  }
  for (uint32_t i = 0; i < dy_model_num_lookups(m); i++) {
    dy_lookup *l = dy_model_lookup_at(m, i);
    size_t n = dy_dim_size(dy_lookup_dim(l));
    for (uint32_t r = 0; r < dy_lookup_rows(l); r++, k += n)
      memcpy(j->vals + k, dy_lookup_row(l, r), n * sizeof(dy_real));
  }
out1:
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_tagger_free(t);
  dy_model_free(m);
out0:
  dy_corpus_free(train);
  dy_corpus_free(dev);
  dy_vocab_free(W);
  dy_vocab_free(T);
  return NULL;
}

static void same(const job *a, const job *b, const char *what) {
  ck_assert_msg(!a->err[0] && !b->err[0], "%s: %s | %s", what, a->err, b->err);
  ck_assert_uint_eq(a->nvals, b->nvals);
  ck_assert_msg(memcmp(a->vals, b->vals, a->nvals * sizeof(dy_real)) == 0,
                "%s: parameters differ from the run alone", what);
  ck_assert_msg(memcmp(&a->loss, &b->loss, sizeof a->loss) == 0, "%s: loss %.17g vs %.17g", what,
                a->loss, b->loss);
  ck_assert_msg(memcmp(&a->acc, &b->acc, sizeof a->acc) == 0, "%s: accuracy %.17g vs %.17g", what,
                a->acc, b->acc);
  ck_assert_uint_eq(a->blocks, b->blocks);
}

static job make_job(dy_rnn_kind k, int bi, int adam, dy_real wd, uint64_t seed) {
  job j;
  memset(&j, 0, sizeof j);
  j.rnn = k;
  j.bidirectional = bi;
  j.adam = adam;
  j.word_dropout = wd;
  j.seed = seed;
  j.nsent = 150;
  j.epochs = 2;
  return j;
}

/* Two different models (a BiLSTM with SGD; a GRU with Adam and word dropout)
 * trained at the same time equal the same models trained one by one. */
START_TEST(two_models_two_threads) {
  job alone[2] = {make_job(DY_LSTM, 1, 0, 0, 3), make_job(DY_GRU, 0, 1, (dy_real)0.2, 5)};
  job both[2] = {alone[0], alone[1]};
  for (int i = 0; i < 2; i++) run_job(&alone[i]);
  pthread_t th[2];
  for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, run_job, &both[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  same(&alone[0], &both[0], "BiLSTM/SGD");
  same(&alone[1], &both[1], "GRU/Adam/word dropout");
  /* the test can fail: the two models really differ from each other */
  ck_assert(alone[0].nvals != alone[1].nvals ||
            memcmp(alone[0].vals, alone[1].vals, alone[0].nvals * sizeof(dy_real)) != 0);
  ck_assert(alone[0].acc > 0); /* training did something */
  for (int i = 0; i < 2; i++) {
    free(alone[i].vals);
    free(both[i].vals);
  }
}
END_TEST

/* The same model in both threads at once: both equal the run alone (a race
 * on shared state between identical workloads would show here first). */
START_TEST(same_model_two_threads) {
  job alone = make_job(DY_LSTM, 1, 1, (dy_real)0.1, 11);
  job both[2] = {alone, alone};
  run_job(&alone);
  pthread_t th[2];
  for (int i = 0; i < 2; i++) ck_assert_int_eq(pthread_create(&th[i], NULL, run_job, &both[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  same(&alone, &both[0], "thread 1");
  same(&alone, &both[1], "thread 2");
  free(alone.vals);
  free(both[0].vals);
  free(both[1].vals);
}
END_TEST

/* ------------------------------------------------ data-parallel training
 * One model trained by two threads (each its graph; thread 1 into a gradient
 * set), the update shared through dy_trainer_update_sets_mt(): bitwise the
 * same as one thread filling the same graphs in turn and calling
 * dy_trainer_update_sets(). Under ThreadSanitizer this also checks that a
 * thread's next forward and backward, which start as soon as the update
 * returns, do not race with what thread 0 still does in the model. */
typedef struct dp {
  dy_tagger *t;
  dy_trainer *tr;
  const dy_corpus *c;
  dy_graph *g[2];
  dy_grad_set *set;       /* thread 1's */
  pthread_barrier_t b;
  dy_status st[2];
  double loss[2];
} dp;

static void dp_barrier(void *ctx) { pthread_barrier_wait(ctx); }

/* Sentence 2 s + k into g[k]; 0 when there is none. */
static dy_status dp_sent(dp *d, size_t s, uint32_t k) {
  size_t i = 2 * s + k;
  if (i >= d->c->nsent) return DY_OK;
  dy_graph_renew(d->g[k]);
  dy_tagger_sent ts = dy_tagger_corpus_sent(d->c, i, NULL);
  dy_expr L = dy_tagger_loss(d->t, d->g[k], &ts);
  d->loss[k] += dy_scalar(L);
  return dy_backward(L);
}

typedef struct { dp *d; uint32_t k; } dp_arg;

static void *dp_thread(void *a) {
  dp_arg *x = a;
  dp *d = x->d;
  for (size_t s = 0; 2 * s < d->c->nsent; s++) {
    dy_status st = dp_sent(d, s, x->k);
    dy_status u = dy_trainer_update_sets_mt(d->tr, &d->set, 1, x->k, 2, dp_barrier, &d->b);
    if (d->st[x->k] == DY_OK) d->st[x->k] = st != DY_OK ? st : u;
  }
  return NULL;
}

/* Trains one epoch over c; threaded or in turn; the parameters into vals. */
static void dp_train(const dy_corpus *c, uint32_t nw, uint32_t nt, int threaded, dy_real **vals, size_t *nvals,
                     double *loss) {
  dy_model *m = dy_model_new(21);
  dy_tagger_opts o = dy_tagger_defaults();
  o.emb = 12;
  o.hidden = 8;
  o.mlp = 8;
  dp d;
  memset(&d, 0, sizeof d);
  d.c = c;
  d.t = dy_tagger_new(m, &o, nw, nt);
  ck_assert_ptr_nonnull(d.t);
  d.tr = dy_adam_new(m, (dy_real)0.01, -1, -1, -1);
  dy_trainer_set_clip(d.tr, 1); /* active now and then */
  d.set = dy_grad_set_new(m);
  for (int k = 0; k < 2; k++) d.g[k] = dy_graph_new();
  dy_graph_set_grads(d.g[1], d.set);
  if (threaded) {
    pthread_barrier_init(&d.b, NULL, 2);
    pthread_t th;
    dp_arg a[2] = {{&d, 0}, {&d, 1}};
    ck_assert_int_eq(pthread_create(&th, NULL, dp_thread, &a[1]), 0);
    dp_thread(&a[0]);
    pthread_join(th, NULL);
    pthread_barrier_destroy(&d.b);
  } else {
    for (size_t s = 0; 2 * s < c->nsent; s++) {
      for (uint32_t k = 0; k < 2; k++) ck_assert_int_eq(dp_sent(&d, s, k), DY_OK);
      ck_assert_int_eq(dy_trainer_update_sets(d.tr, &d.set, 1), DY_OK);
    }
  }
  ck_assert_msg(d.st[0] == DY_OK && d.st[1] == DY_OK, "%s", dy_model_error(m));
  ck_assert_uint_eq(dy_trainer_steps(d.tr), (c->nsent + 1) / 2);
  *loss = d.loss[0] + d.loss[1];
  *nvals = dy_model_size(m);
  *vals = malloc(*nvals * sizeof(dy_real));
  size_t k = 0;
  for (uint32_t i = 0; i < dy_model_num_params(m); i++) {
    dy_param *p = dy_model_param_at(m, i);
    size_t n = dy_dim_size(dy_param_dim(p));
    memcpy(*vals + k, dy_param_values(p), n * sizeof(dy_real));
    k += n;
  }
  for (uint32_t i = 0; i < dy_model_num_lookups(m); i++) {
    dy_lookup *l = dy_model_lookup_at(m, i);
    size_t n = dy_dim_size(dy_lookup_dim(l));
    for (uint32_t r = 0; r < dy_lookup_rows(l); r++, k += n) memcpy(*vals + k, dy_lookup_row(l, r), n * sizeof(dy_real));
  }
  ck_assert_uint_eq(k, *nvals);
  for (int i = 0; i < 2; i++) dy_graph_free(d.g[i]);
  dy_grad_set_free(d.set);
  dy_trainer_free(d.tr);
  dy_tagger_free(d.t);
  dy_model_free(m);
}

START_TEST(data_parallel_two_threads) {
  char err[256];
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  dy_synth_opts so = dy_synth_defaults();
  so.seed = 9;
  so.nsent = 41; /* odd: the last step has one sentence */
  so.min_len = 3;
  so.max_len = 10;
  so.nforms = 200;
  dy_corpus *c = dy_synth_tagging(&so, W, T, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  dy_real *a, *b;
  size_t na, nb;
  double la, lb;
  dp_train(c, dy_vocab_size(W), dy_vocab_size(T), 0, &a, &na, &la);
  dp_train(c, dy_vocab_size(W), dy_vocab_size(T), 1, &b, &nb, &lb);
  ck_assert_uint_eq(na, nb);
  ck_assert_msg(memcmp(a, b, na * sizeof(dy_real)) == 0, "two threads differ from the same steps in one");
  ck_assert_msg(memcmp(&la, &lb, sizeof la) == 0, "loss %.17g vs %.17g", la, lb);
  ck_assert(la > 0);
  free(a);
  free(b);
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
}
END_TEST

int main(void) {
  Suite *s = suite_create("threads");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, two_models_two_threads);
  tcase_add_test(t, same_model_two_threads);
  tcase_add_test(t, data_parallel_two_threads);
  suite_add_tcase(s, t);
  return t_run(s);
}
