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

int main(void) {
  Suite *s = suite_create("threads");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, two_models_two_threads);
  tcase_add_test(t, same_model_two_threads);
  suite_add_tcase(s, t);
  return t_run(s);
}
