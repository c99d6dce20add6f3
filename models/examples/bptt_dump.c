/* bptt_dump: backpropagation through time in one small program to copy.
 *
 * Unrolls a tiny Elman RNN (S-RNN) over a short one-hot sequence, computes
 * the loss of predicting the FIRST symbol after the last step, runs backward,
 * prints ||dL/dh_t|| for every step (watch it shrink going back in time) and
 * writes the graph with values and gradients as Graphviz DOT: one cluster per
 * time step, every edge labelled with the norm of the gradient flowing back.
 *
 *   ./bptt_dump [steps (default 4)] [out.dot (default bptt.dot)] [lstm]
 *   dot -Tsvg bptt.dot -o bptt.svg        (apt-get install graphviz)
 *
 * dync-bench bptt does the same for an S-RNN and an LSTM with Jacobian norms
 * and training; this is the minimal version. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dync.h"

#define X 3 /* symbols, one-hot */
#define H 3 /* hidden units: small enough to print every value */

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 4;
  const char *path = argc > 2 ? argv[2] : "bptt.dot";
  int lstm = argc > 3 && strcmp(argv[3], "lstm") == 0;
  if (steps < 1 || steps > 32) {
    fprintf(stderr, "usage: bptt_dump [steps 1..32] [out.dot] [lstm]\n");
    return 2;
  }
  dy_model *m = dy_model_new(42);
  if (!m) return 1;
  dy_rnn *rnn = dy_rnn_new(m, lstm ? "lstm" : "srnn", lstm ? DY_LSTM : DY_SRNN, 1, X, H);
  dy_param *Wo = dy_model_add_param(m, "Wo", dy_d2(X, H), dy_init_glorot());
  dy_param *bo = dy_model_add_param(m, "bo", dy_d1(X), dy_init_const(0));
  dy_graph *g = dy_graph_new();
  if (!rnn || !Wo || !bo || !g) {
    fprintf(stderr, "bptt_dump: %s\n", dy_model_error(m) ? dy_model_error(m) : "out of memory");
    return 1;
  }
  dy_rnn_set_fused(rnn, 0); /* primitive ops: every gate is its own node */

  /* the sequence: symbol (t * 2) % X at step t; the target is the first one */
  dy_real onehot[32][X];
  dy_expr h[32];
  dy_rnn_state s = dy_rnn_start(rnn, g);
  for (int t = 0; t < steps; t++) {
    memset(onehot[t], 0, sizeof onehot[t]);
    onehot[t][(t * 2) % X] = 1;
    dy_graph_set_tag(g, t); /* the input joins step t's cluster in the dump */
    char name[32];
    snprintf(name, sizeof name, "x_%d = '%d'", t, (t * 2) % X);
    dy_expr x = dy_expr_set_name(dy_input(g, dy_d1(X), onehot[t]), name);
    dy_graph_set_tag(g, DY_NO_TAG);
    s = dy_rnn_add_input(s, x); /* the builder tags its own nodes with t */
    h[t] = dy_rnn_output(s);
  }
  dy_expr scores = dy_affine(dy_param_expr(g, bo), dy_param_expr(g, Wo), h[steps - 1]);
  dy_expr loss = dy_expr_set_name(dy_pick_neg_log_softmax(scores, 0), "loss");

  if (dy_backward(loss) != DY_OK) {
    fprintf(stderr, "bptt_dump: %s\n", dy_graph_error(g));
    return 1;
  }
  printf("loss %.4f\n", (double)dy_scalar(loss));
  for (int t = steps - 1; t >= 0; t--) {
    const dy_real *d = dy_grad(h[t]); /* dL/dh_t, filled by backward */
    double n2 = 0;
    for (int i = 0; d && i < H; i++) n2 += (double)d[i] * d[i];
    printf("||dL/dh_%d|| = %.3e\n", t, sqrt(n2));
  }
  FILE *f = fopen(path, "w");
  int bad = !f || dy_graph_dump_dot(g, f, DY_DUMP_ALL) != DY_OK;
  if (f && fclose(f) != 0) bad = 1;
  if (bad) {
    fprintf(stderr, "bptt_dump: cannot write %s\n", path);
    return 1;
  }
  printf("wrote %s (render: dot -Tsvg %s -o bptt.svg)\n", path, path);
  dy_graph_free(g);
  dy_rnn_free(rnn);
  dy_model_free(m);
  return 0;
}
