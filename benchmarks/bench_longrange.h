/* The long-range experiment (recall the first symbol after T steps), shared
 * by `dync-bench longrange` and `dync-bench rnn-vs-lstm`.
 *
 * Task (models/dy_corpus.h, dy_longrange with distractors): a sequence of T
 * symbols: a key in 0..nsym-1, T-2 distractors, a query marker; the label is
 * the key (chance 1/nsym). Net: embedding (emb) -> one-layer RNN (hidden) ->
 * affine to nsym scores after the last step -> softmax cross-entropy.
 * Training: minibatches of fresh sequences (the same stream for every model
 * at a given T), a fixed number of updates, Adam (or SGD) with clipping.
 * Measured: test accuracy before and after training, and ||dL/dh_t|| for
 * t = 1..T (h_t = dy_rnn_output after step t, dy_grad after backward of the
 * summed per-sequence losses, norm per sequence averaged over ngrad test
 * sequences) before and after training.
 *
 * Defaults, and why (measured with 400 updates of 16 sequences, hidden 32):
 * Adam lr 0.003: at 0.01 the LSTM stalls near 0.5 at T = 20 even after 1500
 * updates; plain SGD learns nothing at T = 20 in this budget; clipping (5)
 * makes no difference. LSTM forget-gate bias 3 at init (the builders' own
 * init is 1): with 1 the cell keeps sigmoid(1) ~ 0.73 of itself per step, so
 * at init ||dL/dh_1|| is 0.005 at T = 20 and 3e-4 at T = 40 and the LSTM
 * fails at T = 40 (chance); with 3 (sigmoid 0.95; Gers et al. 2000, Tallec &
 * Ollivier 2018 "chrono" init argue for large forget biases on long
 * dependencies) it is 0.23 / 0.42 and the LSTM learns every T up to 80.
 * The same for the GRU's update gate u (h = (1-u) n + u h_prev): with the
 * builders' bias 0 it keeps half its state per step, ||dL/dh_1|| at init is
 * 2e-4 at T = 20, 5e-8 at T = 40, 2e-15 at T = 80, and it fails from T = 40
 * on; with 3 it is 0.5 / 0.24 / 0.06 and it learns every T up to 80 in 300
 * updates. The S-RNN keeps the builders' init (Glorot: for a 32 x 32 W_h the
 * spectral radius is about 1, so it learns up to T = 40 and fails at 80). */
#ifndef DY_BENCH_LONGRANGE_H
#define DY_BENCH_LONGRANGE_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"
#include "dy_models.h"

#define LR_MAX_T 16

typedef struct lr_config {
  uint32_t T[LR_MAX_T]; /* sequence lengths */
  int nT;
  uint32_t hidden, emb;  /* 32, 16 */
  uint32_t nsym, ndistract; /* keys (chance 1/nsym) and distractor symbols */
  uint32_t batch;        /* sequences per update */
  long updates;          /* updates per model and T (the same budget for all) */
  uint32_t ntest;        /* test sequences for accuracy */
  uint32_t ngrad;        /* sequences averaged for gradient norms */
  double lr, clip;       /* learning rate; clipping threshold (<= 0 off) */
  int sgd;               /* 0: Adam, 1: plain SGD */
  uint64_t seed;
  long loss_every;       /* one loss-curve point per this many updates */
  double forget_bias;    /* LSTM forget-gate bias at init (3); NaN: the builder's (1) */
  double update_bias;    /* GRU update-gate bias at init (3); NaN: the builder's (0) */
} lr_config;

/* One model trained at one T. */
typedef struct lr_run {
  dy_rnn_kind kind;
  uint32_t T;
  size_t params;         /* scalars in the model */
  double acc0, acc;      /* test accuracy untrained / trained */
  double *gn0, *gn;      /* [T]: mean ||dL/dh_t|| for t = 1..T (index t-1), untrained / trained */
  double *loss;          /* [nloss]: mean training loss over each loss_every updates */
  size_t nloss;
  long updates;
  double seconds;        /* training time */
} lr_run;

/* The defaults of `dync-bench longrange` (T = 5,10,20,40,80). */
lr_config lr_defaults(void);
/* Trains a fresh model of `kind` at length T and measures it (progress on
 * ctx's terminal, label prefixes the progress line). 0, or -1 with a message
 * in err. out must be freed with lr_run_free. */
int lr_train(bench_ctx *ctx, const lr_config *c, dy_rnn_kind kind, uint32_t T, const char *label,
             lr_run *out, char *err, size_t n);
void lr_run_free(lr_run *r);
/* "srnn", "lstm", "gru". */
const char *lr_kind_name(dy_rnn_kind k);
/* Parses "5,10,20" into c->T (values >= 2, at most LR_MAX_T). 0 or -1. */
int lr_parse_T(lr_config *c, const char *s);

#endif
