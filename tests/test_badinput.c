/* Bad input from outside: the rows of tests/BAD_INPUT.md that no other test
 * proves. Each case checks what dync does (status, nothing changed, nothing
 * crashed) and what the user sees (a message naming what and where). Rows
 * proven elsewhere (test_core, test_corpus, test_saveload, test_trainers,
 * test_ops_*) are referenced from the table, not repeated here. */
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dy_corpus.h"
#include "dy_models.h"
#include "dy_nn.h"
#include "dy_op.h"
#include "dy_tagger.h"
#include "harness.h"

/* ============================================================== helpers */

/* The graph holds an error of status st whose message contains every string
 * of needles (NULL-terminated); every later call does nothing (sticky). */
static void expect_graph_err(dy_graph *g, dy_status st, const char *what, const char *const *needles) {
  const char *m = dy_graph_error(g);
  ck_assert_msg(m != NULL, "%s: no error recorded", what);
  if (getenv("DY_BADINPUT_SHOW")) printf("%-24s %s\n", what, m); /* the messages quoted in BAD_INPUT.md */
  ck_assert_msg(dy_graph_status(g) == st, "%s: status %s, expected %s: %s", what,
                dy_status_str(dy_graph_status(g)), dy_status_str(st), m);
  for (; *needles; needles++)
    ck_assert_msg(strstr(m, *needles) != NULL, "%s: '%s' not in \"%s\"", what, *needles, m);
}

/* ===================================================== binary shape errors */

/* One binary (or n-ary) op with arguments of shapes that cannot fit. */
typedef struct bin_case {
  const char *op;                 /* the op's table name, expected in the message */
  uint32_t nargs;
  dy_dim dims[3];
  dy_expr (*build)(const dy_expr *xs);
  const char *need[3];            /* further strings expected in the message */
} bin_case;

static dy_expr b_add(const dy_expr *x) { return dy_add(x[0], x[1]); }
static dy_expr b_sub(const dy_expr *x) { return dy_sub(x[0], x[1]); }
static dy_expr b_cmult(const dy_expr *x) { return dy_cmult(x[0], x[1]); }
static dy_expr b_cdiv(const dy_expr *x) { return dy_cdiv(x[0], x[1]); }
static dy_expr b_sum(const dy_expr *x) { return dy_sum(x, 3); }
static dy_expr b_average(const dy_expr *x) { return dy_average(x, 3); }
static dy_expr b_matmul(const dy_expr *x) { return dy_matmul(x[0], x[1]); }
static dy_expr b_affine(const dy_expr *x) { return dy_affine(x[0], x[1], x[2]); }
static dy_expr b_dot(const dy_expr *x) { return dy_dot(x[0], x[1]); }
static dy_expr b_sqd(const dy_expr *x) { return dy_squared_distance(x[0], x[1]); }
static dy_expr b_l1(const dy_expr *x) { return dy_l1_distance(x[0], x[1]); }
static dy_expr b_huber(const dy_expr *x) { return dy_huber_distance(x[0], x[1], (dy_real)1.5); }
static dy_expr b_bll(const dy_expr *x) { return dy_binary_log_loss(x[0], x[1]); }
static dy_expr b_concat(const dy_expr *x) { return dy_concat(x, 2); }
static dy_expr b_concat_cols(const dy_expr *x) { return dy_concat_cols(x, 2); }
static dy_expr b_concat_to_batch(const dy_expr *x) { return dy_concat_to_batch(x, 2); }
static dy_expr b_lstm_c(const dy_expr *x) { return dy_lstm_c(x[0], x[1]); }
static dy_expr b_lstm_h(const dy_expr *x) { return dy_lstm_h(x[0], x[1]); }
static dy_expr b_gru_cell(const dy_expr *x) { return dy_gru_cell(x[0], x[1], x[2]); }

#define D1(a) {{a, 1, 1, 1}, 1, 1}
#define D2(a, b) {{a, b, 1, 1}, 2, 1}
#define D1B(a, n) {{a, 1, 1, 1}, 1, n}

/* Every op of more than one argument, with shapes that do not fit. */
static const bin_case bin_cases[] = {
    {"add", 2, {D1(3), D1(4)}, b_add, {"{3}", "{4}", NULL}},
    {"add", 2, {D1B(2, 3), D1B(2, 2)}, b_add, {"{2}x3", "{2}x2", "batch"}},
    {"sub", 2, {D1(3), D2(3, 2)}, b_sub, {"{3}", "{3,2}", NULL}},
    {"cmult", 2, {D2(2, 3), D2(3, 2)}, b_cmult, {"{2,3}", "{3,2}", NULL}},
    {"cdiv", 2, {D1(5), D1(4)}, b_cdiv, {"{5}", "{4}", NULL}},
    {"sum", 3, {D1(3), D1(3), D1(4)}, b_sum, {"{3}", "{4}", NULL}},
    {"average", 3, {D1(4), D1(3), D1(3)}, b_average, {"{4}", "{3}", NULL}},
    {"matmul", 2, {D2(2, 3), D1(4)}, b_matmul, {"{2,3}", "{4}", NULL}},
    {"matmul", 2, {D2(2, 3), D1B(3, 2)}, NULL, {NULL}}, /* valid: a batch of vectors (not an error) */
    {"affine", 3, {D1(3), D2(2, 3), D1(3)}, b_affine, {"{3}", "{2,3}", "bias"}},
    {"affine", 3, {D1(2), D2(2, 3), D1(4)}, b_affine, {"{2,3}", "{4}", NULL}},
    {"dot", 2, {D1(3), D1(4)}, b_dot, {"{3}", "{4}", NULL}},
    {"squared_distance", 2, {D1(3), D1(4)}, b_sqd, {"{3}", "{4}", NULL}},
    {"l1_distance", 2, {D1(3), D1(4)}, b_l1, {"{3}", "{4}", NULL}},
    {"huber_distance", 2, {D1(3), D1(4)}, b_huber, {"{3}", "{4}", NULL}},
    {"binary_log_loss", 2, {D1(3), D1(4)}, b_bll, {"{3}", "{4}", NULL}},
    {"concat", 2, {D2(2, 3), D2(2, 4)}, b_concat, {"{2,3}", "{2,4}", NULL}},
    {"concat_cols", 2, {D2(2, 1), D2(3, 1)}, b_concat_cols, {"{2,1}", "{3,1}", NULL}},
    {"concat_to_batch", 2, {D1(2), D1(3)}, b_concat_to_batch, {"{2}", "{3}", NULL}},
    {"lstm_c", 2, {D1(8), D1(3)}, b_lstm_c, {"{8}", "{3}", NULL}},
    {"lstm_h", 2, {D1(8), D1(3)}, b_lstm_h, {"{8}", "{3}", NULL}},
    {"gru_cell", 3, {D1(6), D1(9), D1(2)}, b_gru_cell, {"{6}", "{9}", NULL}},
};
#define NBIN (sizeof bin_cases / sizeof *bin_cases)

START_TEST(shape_mismatch_every_binary_op) {
  const bin_case *c = &bin_cases[_i];
  if (!c->build) return; /* a documented valid combination, kept as a reminder */
  dy_graph *g = dy_graph_new();
  dy_real v[64], gv[64];
  for (int i = 0; i < 64; i++) v[i] = (dy_real)(0.1 * (i % 7) + 0.05), gv[i] = 0;
  dy_expr xs[3];
  for (uint32_t i = 0; i < c->nargs; i++) xs[i] = dy_variable(g, c->dims[i], v, gv);
  dy_expr good = dy_sum_elems(xs[0]);
  ck_assert(dy_expr_valid(good));
  dy_expr bad = c->build(xs);
  ck_assert_msg(!dy_expr_valid(bad), "%s accepted bad shapes", c->op);
  char opname[64];
  snprintf(opname, sizeof opname, "%s", c->op);
  const char *needles[5] = {opname, c->need[0], c->need[1], c->need[2], NULL};
  expect_graph_err(g, DY_ESHAPE, c->op, needles);
  /* where: the node ids of the arguments (argument 0 is node 0) */
  ck_assert_msg(strstr(dy_graph_error(g), "node"), "%s: no node id in %s", c->op, dy_graph_error(g));
  /* sticky: nothing more is built, nothing runs, the first message stays */
  char first[1024];
  snprintf(first, sizeof first, "%s", dy_graph_error(g));
  uint32_t n = dy_graph_size(g);
  ck_assert(!dy_expr_valid(dy_add(xs[0], xs[0])));
  ck_assert_uint_eq(dy_graph_size(g), n);
  ck_assert_ptr_null(dy_forward(good));
  ck_assert_int_eq(dy_backward(good), DY_ESHAPE);
  ck_assert(isnan(dy_scalar(good)));
  ck_assert_str_eq(dy_graph_error(g), first);
  for (int i = 0; i < 64; i++) ck_assert(gv[i] == 0); /* nothing reached the variables */
  /* renew: the graph works again */
  dy_graph_renew(g);
  dy_expr x = dy_variable(g, dy_d1(3), v, gv);
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_cmult(x, x))), DY_OK);
  dy_graph_free(g);
}
END_TEST

/* Every op of the table with more than one argument is in bin_cases: a new
 * binary op fails here until its shape error is tested above. */
START_TEST(every_binary_op_listed) {
  size_t seen = 0;
  for (size_t f = 0; dy_op_families[f]; f++)
    for (size_t i = 0; dy_op_families[f][i]; i++) {
      const dy_op *op = dy_op_families[f][i];
      if (op->arity == 0 || op->arity == 1) continue;
      int found = 0;
      for (size_t k = 0; k < NBIN; k++) found |= strcmp(bin_cases[k].op, op->name) == 0;
      ck_assert_msg(found, "op '%s' (arity %d) has no shape-mismatch case in test_badinput", op->name,
                    op->arity);
      seen++;
    }
  ck_assert_uint_ge(seen, 15);
}
END_TEST

/* ============================================ the RNN ops of models/
 * The op tables of models/ (dy_ops_rnn_cells, dy_ops_rnn_seq) are not in
 * dy_op_families, so they get their own walk. Every op has at least one call
 * through its public function with an argument of the wrong shape; the
 * variadic ops (lstm_c, gru_cell and the sequence ops, whose optional
 * arguments are flagged in aux[0]) also have calls through dy_apply with an
 * argument count that the public functions cannot give (for the sequence
 * ops: the flags of a valid node with one argument fewer). Each gives a
 * status error naming the op, is sticky, leaves the variables' gradients at
 * 0, and after renew a valid node of the same op runs forward and backward. */

#define RNN_SLOT 32 /* reals per variable */

typedef struct rnn_case {
  const char *op;      /* the op's table name, expected in the message */
  int raw;             /* 1: built through dy_apply with a wrong argument count */
  uint32_t nargs;      /* variables given to build */
  dy_dim dims[5];
  dy_expr (*build)(const dy_expr *xs);
  dy_status st;
  const char *need[3]; /* further strings expected in the message */
} rnn_case;

/* The descriptor named name in dy_ops_rnn_cells or dy_ops_rnn_seq, or NULL. */
static const dy_op *rnn_op(const char *name) {
  const dy_op *const *tables[] = {dy_ops_rnn_cells, dy_ops_rnn_seq};
  for (size_t t = 0; t < 2; t++)
    for (size_t i = 0; tables[t][i]; i++)
      if (strcmp(tables[t][i]->name, name) == 0) return tables[t][i];
  return NULL;
}

/* dy_apply of op `name` on xs[0..n) with the flags (aux[0]) of node `like`,
 * or no aux when like is invalid. */
static dy_expr rnn_apply(const char *name, const dy_expr *xs, uint32_t n, dy_expr like) {
  const dy_op *op = rnn_op(name);
  ck_assert_ptr_nonnull(op);
  if (!dy_expr_valid(like)) return dy_apply(op, xs, n, NULL);
  dy_aux aux[DY_NAUX];
  memset(aux, 0, sizeof aux);
  aux[0] = dy_node_at(like.g, like.id)->aux[0];
  return dy_apply(op, xs, n, aux);
}

static dy_expr no_node(void) {
  dy_expr e = {NULL, DY_INVALID_ID, 0};
  return e;
}

static dy_expr r_gates(const dy_expr *x) { return dy_lstm_gates(x[0]); }
static dy_expr r_gates_2(const dy_expr *x) { return rnn_apply("lstm_gates", x, 2, no_node()); }
static dy_expr r_c0(const dy_expr *x) { return dy_lstm_c0(x[0]); }
static dy_expr r_c(const dy_expr *x) { return dy_lstm_c(x[0], x[1]); }
static dy_expr r_c_3(const dy_expr *x) { return rnn_apply("lstm_c", x, 3, no_node()); }
static dy_expr r_h(const dy_expr *x) { return dy_lstm_h(x[0], x[1]); }
static dy_expr r_h_1(const dy_expr *x) { return rnn_apply("lstm_h", x, 1, no_node()); }
static dy_expr r_gru0(const dy_expr *x) { return dy_gru_cell0(x[0], x[1]); }
static dy_expr r_gru(const dy_expr *x) { return dy_gru_cell(x[0], x[1], x[2]); }
static dy_expr r_gru_1(const dy_expr *x) { return rnn_apply("gru_cell", x, 1, no_node()); }
static dy_expr r_gru_4(const dy_expr *x) { return rnn_apply("gru_cell", x, 4, no_node()); }
static dy_expr r_lseq(const dy_expr *x) { return dy_lstm_seq(x[0], x[1], NULL, NULL, NULL, 0); }
static dy_expr r_lseq_h0(const dy_expr *x) { return dy_lstm_seq(x[0], x[1], &x[2], NULL, NULL, 1); }
static dy_expr r_lseq_c0(const dy_expr *x) { return dy_lstm_seq(x[0], x[1], NULL, &x[2], NULL, 0); }
static dy_expr r_lseq_mask(const dy_expr *x) { return dy_lstm_seq(x[0], x[1], &x[2], &x[3], &x[4], 0); }
static dy_expr r_lseq_flags(const dy_expr *x) { /* flags say h0, c0; one argument missing */
  return rnn_apply("lstm_seq", x, 3, dy_lstm_seq(x[0], x[1], &x[2], &x[3], NULL, 0));
}
static dy_expr r_gseq(const dy_expr *x) { return dy_gru_seq(x[0], x[1], x[2], NULL, NULL, 0); }
static dy_expr r_gseq_h0(const dy_expr *x) { return dy_gru_seq(x[0], x[1], x[2], &x[3], NULL, 1); }
static dy_expr r_gseq_mask(const dy_expr *x) { return dy_gru_seq(x[0], x[1], x[2], NULL, &x[3], 0); }
static dy_expr r_gseq_flags(const dy_expr *x) { /* flags say mask; b_h missing */
  return rnn_apply("gru_seq", x, 3, dy_gru_seq(x[0], x[1], x[2], NULL, &x[3], 0));
}
static dy_expr r_sseq(const dy_expr *x) { return dy_srnn_seq(x[0], x[1], NULL, NULL, 0); }
static dy_expr r_sseq_h0(const dy_expr *x) { return dy_srnn_seq(x[0], x[1], &x[2], NULL, 0); }
static dy_expr r_sseq_mask(const dy_expr *x) { return dy_srnn_seq(x[0], x[1], &x[2], &x[3], 1); }
static dy_expr r_sseq_flags(const dy_expr *x) { /* flags say h0, mask; mask missing */
  return rnn_apply("srnn_seq", x, 3, dy_srnn_seq(x[0], x[1], &x[2], &x[3], 0));
}
static dy_expr r_sseq_1(const dy_expr *x) { return rnn_apply("srnn_seq", x, 1, no_node()); }

/* H = 2 throughout: LSTM gates {8}, GRU {6}; sequences of T = 3. */
static const rnn_case rnn_cases[] = {
    {"lstm_gates", 0, 1, {D1(5)}, r_gates, DY_ESHAPE, {"{5}", "4H", NULL}},
    {"lstm_gates", 0, 1, {D2(8, 2)}, r_gates, DY_ESHAPE, {"{8,2}", "4H", NULL}},
    {"lstm_gates", 1, 2, {D1(8), D1(8)}, r_gates_2, DY_EARG, {"expects 1", "got 2", NULL}},
    {"lstm_c", 0, 1, {D1(6)}, r_c0, DY_ESHAPE, {"{6}", "4H", NULL}},
    {"lstm_c", 0, 2, {D1(8), D2(2, 1)}, r_c, DY_ESHAPE, {"c_prev", "{2,1}", NULL}},
    {"lstm_c", 0, 2, {D1B(8, 3), D1B(2, 2)}, r_c, DY_ESHAPE, {"{8}x3", "{2}x2", "batch sizes differ"}},
    {"lstm_c", 1, 3, {D1(8), D1(2), D1(2)}, r_c_3, DY_EARG, {"optional c_prev", "got 3 arguments", NULL}},
    {"lstm_h", 0, 2, {D1(7), D1(2)}, r_h, DY_ESHAPE, {"{7}", "4H", NULL}},
    {"lstm_h", 0, 2, {D1B(8, 2), D1B(2, 3)}, r_h, DY_ESHAPE, {"{8}x2", "{2}x3", "batch sizes differ"}},
    {"lstm_h", 0, 2, {D1(8), D1(3)}, r_h, DY_ESHAPE, {"(c)", "{3}", NULL}},
    {"lstm_h", 1, 1, {D1(8)}, r_h_1, DY_EARG, {"expects 2", "got 1", NULL}},
    {"gru_cell", 0, 2, {D1(6), D1(9)}, r_gru0, DY_ESHAPE, {"(q)", "{9}", NULL}},
    {"gru_cell", 0, 3, {D1(6), D1(6), D1(3)}, r_gru, DY_ESHAPE, {"h_prev", "{3}", NULL}},
    {"gru_cell", 0, 3, {D1(5), D1(6), D1(2)}, r_gru, DY_ESHAPE, {"{5}", "3H", NULL}},
    {"gru_cell", 1, 1, {D1(6)}, r_gru_1, DY_EARG, {"got 1 arguments", NULL, NULL}},
    {"gru_cell", 1, 4, {D1(6), D1(6), D1(2), D1(2)}, r_gru_4, DY_EARG, {"got 4 arguments", NULL, NULL}},
    {"lstm_seq", 0, 2, {D1B(8, 3), D2(7, 2)}, r_lseq, DY_ESHAPE, {"W_h", "{7,2}", NULL}},
    {"lstm_seq", 0, 2, {D1B(6, 3), D2(8, 2)}, r_lseq, DY_ESHAPE, {"input products", "{6}x3", NULL}},
    {"lstm_seq", 0, 3, {D1B(8, 3), D2(8, 2), D1(3)}, r_lseq_h0, DY_ESHAPE, {"h0", "{3}", NULL}},
    {"lstm_seq", 0, 3, {D1B(8, 3), D2(8, 2), D1B(2, 3)}, r_lseq_c0, DY_ESHAPE, {"c0", "{2}x3", "batch 1"}},
    {"lstm_seq", 0, 5, {D1B(8, 3), D2(8, 2), D1(2), D1(2), D1(5)}, r_lseq_mask, DY_ESHAPE,
     {"mask", "{5}", NULL}},
    {"lstm_seq", 1, 4, {D1B(8, 3), D2(8, 2), D1(2), D1(2)}, r_lseq_flags, DY_EARG,
     {"expects 4 arguments for its flags", "got 3", NULL}},
    {"gru_seq", 0, 3, {D1B(4, 3), D2(6, 2), D1(6)}, r_gseq, DY_ESHAPE, {"input products", "{4}x3", NULL}},
    {"gru_seq", 0, 3, {D1B(6, 3), D2(6, 2), D1(5)}, r_gseq, DY_ESHAPE, {"b_h", "{5}", NULL}},
    {"gru_seq", 0, 3, {D1B(6, 3), D2(6, 3), D1(6)}, r_gseq, DY_ESHAPE, {"W_h", "{6,3}", NULL}},
    {"gru_seq", 0, 4, {D1B(6, 3), D2(6, 2), D1(6), D1(4)}, r_gseq_h0, DY_ESHAPE, {"h0", "{4}", NULL}},
    {"gru_seq", 0, 4, {D1B(6, 3), D2(6, 2), D1(6), D1B(2, 2)}, r_gseq_mask, DY_ESHAPE,
     {"mask", "{2}x2", "batch 1"}},
    {"gru_seq", 1, 4, {D1B(6, 3), D2(6, 2), D1(6), D1(2)}, r_gseq_flags, DY_EARG,
     {"expects 4 arguments for its flags", "got 3", NULL}},
    {"srnn_seq", 0, 2, {D1B(3, 3), D2(2, 2)}, r_sseq, DY_ESHAPE, {"input products", "{3}x3", NULL}},
    {"srnn_seq", 0, 2, {D1B(2, 3), D2(2, 3)}, r_sseq, DY_ESHAPE, {"W_h", "{2,3}", NULL}},
    {"srnn_seq", 0, 3, {D1B(2, 3), D2(2, 2), D1(4)}, r_sseq_h0, DY_ESHAPE, {"h0", "{4}", NULL}},
    {"srnn_seq", 0, 4, {D1B(2, 3), D2(2, 2), D1(2), D2(2, 1)}, r_sseq_mask, DY_ESHAPE,
     {"mask", "{2,1}", NULL}},
    {"srnn_seq", 1, 4, {D1B(2, 3), D2(2, 2), D1(2), D1(2)}, r_sseq_flags, DY_EARG,
     {"expects 4 arguments for its flags", "got 3", NULL}},
    {"srnn_seq", 1, 1, {D1B(2, 3)}, r_sseq_1, DY_EARG,
     {"expects 2 arguments for its flags", "got 1", NULL}},
};
#define NRNN (sizeof rnn_cases / sizeof *rnn_cases)

/* A valid node of op `name` with every optional argument, reduced to a
 * scalar, from variables xs (each of its own RNN_SLOT reals). */
typedef struct rnn_use {
  const char *op;
  uint32_t nargs;
  dy_dim dims[5];
  dy_expr (*build)(const dy_expr *xs);
} rnn_use;

static dy_expr u_gates(const dy_expr *x) { return dy_lstm_gates(x[0]); }
static dy_expr u_c(const dy_expr *x) { return dy_lstm_c(dy_lstm_gates(x[0]), x[1]); }
static dy_expr u_h(const dy_expr *x) { return dy_lstm_h(dy_lstm_gates(x[0]), x[1]); }
static dy_expr u_gru(const dy_expr *x) { return dy_gru_cell(x[0], x[1], x[2]); }
static dy_expr u_lseq(const dy_expr *x) { return dy_lstm_seq(x[0], x[1], &x[2], &x[3], &x[4], 1); }
static dy_expr u_gseq(const dy_expr *x) { return dy_gru_seq(x[0], x[1], x[2], &x[3], &x[4], 0); }
static dy_expr u_sseq(const dy_expr *x) { return dy_srnn_seq(x[0], x[1], &x[2], &x[3], 0); }

static const rnn_use rnn_uses[] = {
    {"lstm_gates", 1, {D1B(8, 2)}, u_gates},
    {"lstm_c", 2, {D1B(8, 2), D1(2)}, u_c},
    {"lstm_h", 2, {D1(8), D1B(2, 3)}, u_h},
    {"gru_cell", 3, {D1(6), D1B(6, 2), D1(2)}, u_gru},
    {"lstm_seq", 5, {D1B(8, 3), D2(8, 2), D1(2), D1(2), D1(2)}, u_lseq},
    {"gru_seq", 5, {D1B(6, 3), D2(6, 2), D1(6), D1(2), D1(2)}, u_gseq},
    {"srnn_seq", 4, {D1B(2, 3), D2(2, 2), D1(2), D1(2)}, u_sseq},
};
#define NUSE (sizeof rnn_uses / sizeof *rnn_uses)

static void rnn_fill(dy_real *v, dy_real *gv) {
  for (int i = 0; i < 5 * RNN_SLOT; i++) v[i] = (dy_real)(0.1 * (i % 7) - 0.25), gv[i] = 0;
}

/* Builds rnn_uses' node of op in g (renewed), runs forward and backward:
 * a finite value, DY_OK, and a nonzero gradient in every variable. */
static void rnn_use_op(dy_graph *g, const char *op) {
  const rnn_use *u = NULL;
  for (size_t k = 0; k < NUSE; k++)
    if (strcmp(rnn_uses[k].op, op) == 0) u = &rnn_uses[k];
  ck_assert_msg(u != NULL, "op '%s' has no valid use in rnn_uses", op);
  dy_real v[5 * RNN_SLOT], gv[5 * RNN_SLOT];
  rnn_fill(v, gv);
  dy_expr xs[5];
  for (uint32_t i = 0; i < u->nargs; i++)
    xs[i] = dy_variable(g, u->dims[i], v + i * RNN_SLOT, gv + i * RNN_SLOT);
  dy_expr y = u->build(xs);
  ck_assert_msg(dy_expr_valid(y), "%s after renew: %s", op, dy_graph_error(g));
  ck_assert_ptr_eq(dy_node_at(g, y.id)->op, rnn_op(op));
  dy_expr L = dy_sum_elems(dy_cmult(y, y));
  ck_assert_msg(isfinite(dy_scalar(L)), "%s after renew: %s", op, dy_graph_error(g));
  ck_assert_int_eq(dy_backward(L), DY_OK);
  for (uint32_t i = 0; i < u->nargs; i++) {
    int nz = 0;
    for (int j = 0; j < RNN_SLOT; j++) nz |= gv[i * RNN_SLOT + j] != 0;
    ck_assert_msg(nz, "%s after renew: no gradient reached argument %u", op, (unsigned)i);
  }
}

START_TEST(shape_mismatch_every_rnn_op) {
  const rnn_case *c = &rnn_cases[_i];
  dy_graph *g = dy_graph_new();
  dy_real v[5 * RNN_SLOT], gv[5 * RNN_SLOT];
  rnn_fill(v, gv);
  dy_expr xs[5];
  for (uint32_t i = 0; i < c->nargs; i++) {
    ck_assert_uint_le(dy_dim_size(c->dims[i]), RNN_SLOT);
    xs[i] = dy_variable(g, c->dims[i], v + i * RNN_SLOT, gv + i * RNN_SLOT);
  }
  dy_expr good = dy_sum_elems(xs[0]);
  ck_assert(dy_expr_valid(good));
  dy_expr bad = c->build(xs);
  ck_assert_msg(!dy_expr_valid(bad), "%s (case %d) accepted bad arguments", c->op, _i);
  char what[64];
  snprintf(what, sizeof what, "%s (case %d)", c->op, _i);
  const char *needles[5] = {c->op, c->need[0], c->need[1], c->need[2], NULL};
  expect_graph_err(g, c->st, what, needles);
  /* where: a shape error names the node and its arguments */
  if (c->st == DY_ESHAPE)
    ck_assert_msg(strstr(dy_graph_error(g), "node"), "%s: no node id in %s", what, dy_graph_error(g));
  /* sticky: nothing more is built, nothing runs, the first message stays */
  char first[1024];
  snprintf(first, sizeof first, "%s", dy_graph_error(g));
  uint32_t n = dy_graph_size(g);
  ck_assert(!dy_expr_valid(dy_lstm_gates(xs[0])));
  ck_assert_uint_eq(dy_graph_size(g), n);
  ck_assert_ptr_null(dy_forward(good));
  ck_assert_int_eq(dy_backward(good), c->st);
  ck_assert_str_eq(dy_graph_error(g), first);
  for (int i = 0; i < 5 * RNN_SLOT; i++) ck_assert(gv[i] == 0); /* nothing reached the variables */
  /* renew: the same op works in the same graph */
  dy_graph_renew(g);
  ck_assert_int_eq(dy_graph_status(g), DY_OK);
  rnn_use_op(g, c->op);
  dy_graph_free(g);
}
END_TEST

/* Every op of dy_ops_rnn_cells and dy_ops_rnn_seq has a bad-shape case
 * through its public function, a wrong-count case when it is variadic, and a
 * valid use; every case names an op of those tables. A new RNN op fails here
 * until its cases are added above. */
START_TEST(every_rnn_op_listed) {
  const dy_op *const *tables[] = {dy_ops_rnn_cells, dy_ops_rnn_seq};
  size_t nops = 0, covered = 0;
  char missing[512] = "";
  for (size_t t = 0; t < 2; t++)
    for (size_t i = 0; tables[t][i]; i++) {
      const dy_op *op = tables[t][i];
      int api = 0, raw = 0, use = 0;
      for (size_t k = 0; k < NRNN; k++)
        if (strcmp(rnn_cases[k].op, op->name) == 0) {
          api += !rnn_cases[k].raw;
          raw += rnn_cases[k].raw;
        }
      for (size_t k = 0; k < NUSE; k++) use += strcmp(rnn_uses[k].op, op->name) == 0;
      nops++;
      if (api > 0 && (op->arity >= 0 || raw > 0) && use == 1) {
        covered++;
      } else {
        size_t m = strlen(missing);
        snprintf(missing + m, sizeof missing - m,
                 " %s (arity %d: %d bad-shape calls, %d wrong-count calls, %d valid uses)", op->name,
                 op->arity, api, raw, use);
      }
    }
  ck_assert_msg(covered == nops, "RNN ops without cases in test_badinput (need a bad-shape call through the "
                "op's function, a wrong-count call when variadic, one valid use):%s", missing);
  ck_assert_uint_ge(nops, 7);
  ck_assert_uint_eq(NUSE, nops); /* no valid use of an op that left the tables */
  for (size_t k = 0; k < NRNN; k++)
    ck_assert_msg(rnn_op(rnn_cases[k].op) != NULL, "case %zu names '%s', not an op of the RNN tables", k,
                  rnn_cases[k].op);
}
END_TEST

/* An RNN fed an input of the wrong size: the cell's product names it. */
START_TEST(rnn_input_of_wrong_size) {
  dy_model *m = dy_model_new(1);
  dy_rnn *r = dy_rnn_new(m, "enc", DY_LSTM, 1, 4, 3);
  ck_assert_ptr_nonnull(r);
  dy_graph *g = dy_graph_new();
  dy_real v[5] = {1, 2, 3, 4, 5};
  dy_rnn_state s = dy_rnn_start(r, g);
  s = dy_rnn_add_input(s, dy_input(g, dy_d1(5), v));
  ck_assert(!dy_expr_valid(dy_rnn_output(s)));
  const char *need[] = {"{5}", NULL};
  expect_graph_err(g, DY_ESHAPE, "rnn input", need);
  dy_graph_free(g);
  dy_rnn_free(r);
  dy_model_free(m);
}
END_TEST

/* ===================================================== index out of range */

START_TEST(index_out_of_range) {
  dy_model *m = dy_model_new(1);
  dy_lookup *E = dy_model_add_lookup(m, "words", 5, dy_d1(3), dy_init_uniform(-1, 1));
  dy_graph *g = dy_graph_new();
  dy_real v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  /* lookup, constant lookup, batched lookup */
  ck_assert(!dy_expr_valid(dy_lookup_expr(g, E, 5)));
  const char *n1[] = {"'words'", "row 5", "5 rows", NULL};
  expect_graph_err(g, DY_EINDEX, "lookup", n1);
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_const_lookup(g, E, UINT32_MAX)));
  const char *n2[] = {"'words'", "4294967295", NULL};
  expect_graph_err(g, DY_EINDEX, "const lookup", n2);
  dy_graph_renew(g);
  uint32_t rows[3] = {0, 4, 7};
  ck_assert(!dy_expr_valid(dy_lookup_batch(g, E, rows, 3)));
  const char *n3[] = {"'words'", "rows[2] = 7", NULL};
  expect_graph_err(g, DY_EINDEX, "lookup_batch", n3);
  /* pick: index past the end, a dimension past nd, per-batch indices */
  dy_graph_renew(g);
  dy_expr a = dy_input(g, dy_d2(3, 4), v);
  ck_assert(!dy_expr_valid(dy_pick(a, 3, 0)));
  const char *n4[] = {"pick", "3", "{3,4}", NULL};
  expect_graph_err(g, DY_EINDEX, "pick", n4);
  dy_graph_renew(g);
  a = dy_input(g, dy_d2(3, 4), v);
  ck_assert(!dy_expr_valid(dy_pick(a, 4, 1)));
  const char *n5[] = {"pick", "4", NULL};
  expect_graph_err(g, DY_EINDEX, "pick cols", n5);
  dy_graph_renew(g);
  dy_expr ab = dy_input(g, dy_batch(dy_d1(3), 2), v);
  uint32_t pidx[2] = {1, 3};
  ck_assert(!dy_expr_valid(dy_pick_batch(ab, pidx, 0)));
  const char *n6[] = {"pick_batch", "3", NULL};
  expect_graph_err(g, DY_EINDEX, "pick_batch", n6);
  dy_graph_renew(g);
  a = dy_input(g, dy_d1(4), v);
  ck_assert(!dy_expr_valid(dy_pick_range(a, 2, 5, 0)));
  ck_assert_int_ne(dy_graph_status(g), DY_OK);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "pick_range"));
  /* pick_neg_log_softmax: one index, per-batch indices */
  dy_graph_renew(g);
  a = dy_input(g, dy_d1(4), v);
  ck_assert(!dy_expr_valid(dy_pick_neg_log_softmax(a, 4)));
  const char *n7[] = {"pick_neg_log_softmax", "4", NULL};
  expect_graph_err(g, DY_EINDEX, "pnls", n7);
  dy_graph_renew(g);
  ab = dy_input(g, dy_batch(dy_d1(3), 2), v);
  uint32_t tidx[2] = {2, 9};
  ck_assert(!dy_expr_valid(dy_pick_neg_log_softmax_batch(ab, tidx)));
  const char *n8[] = {"pick_neg_log_softmax", "9", NULL};
  expect_graph_err(g, DY_EINDEX, "pnls batch", n8);
  /* a batch element past the batch */
  dy_graph_renew(g);
  ab = dy_input(g, dy_batch(dy_d1(3), 2), v);
  ck_assert(!dy_expr_valid(dy_pick_batch_elem(ab, 2)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  /* nothing was touched in the model */
  ck_assert_uint_eq(dy_lookup_num_touched(E), 0);
  dy_graph_free(g);
  dy_model_free(m);
}
END_TEST

/* ====================================================== stale expressions */

/* Beyond test_core's stale_and_foreign_expressions: a stale expression given
 * to backward and dy_grad, and a parameter node from another graph. */
START_TEST(stale_in_backward_and_params) {
  dy_model *m = dy_model_new(1);
  dy_param *W = dy_model_add_param(m, "W", dy_d1(3), dy_init_uniform(-1, 1));
  dy_graph *g = dy_graph_new(), *h = dy_graph_new();
  dy_expr L = dy_sum_elems(dy_param_expr(g, W));
  ck_assert_int_eq(dy_backward(L), DY_OK);
  dy_model_zero_grads(m);
  dy_graph_renew(g);
  ck_assert_int_ne(dy_backward(L), DY_OK); /* L is from before the renew */
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "renewed"));
  ck_assert_ptr_null(dy_grad(L));
  ck_assert(dy_model_grad_norm(m) == 0);
  dy_graph_renew(g);
  dy_expr p = dy_param_expr(h, W); /* built in h, used in g */
  dy_expr q = dy_param_expr(g, W);
  ck_assert(!dy_expr_valid(dy_add(q, p)));
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "another graph"));
  ck_assert_ptr_null(dy_graph_error(h));
  dy_graph_free(g);
  dy_graph_free(h);
  dy_model_free(m);
}
END_TEST

/* ============================================================ NaN and Inf */

/* Check mode on real ops: log(0) = -Inf in forward is named at its node;
 * sqrt at 0 gives an infinite gradient, named in backward. */
START_TEST(nan_inf_named_in_check_mode) {
  dy_graph *g = dy_graph_new();
  dy_graph_set_check(g, DY_CHECK_NAN);
  dy_real v[3] = {1, 0, 2}, gv[3] = {0};
  dy_expr x = dy_variable(g, dy_d1(3), v, gv);
  dy_expr y = dy_expr_set_name(dy_log(x), "logx");
  dy_expr L = dy_sum_elems(dy_tanh(y));
  ck_assert_ptr_null(dy_forward(L));
  const char *n1[] = {"log", "logx", "node 1", "forward", NULL};
  expect_graph_err(g, DY_ENAN, "log(0)", n1);
  ck_assert_int_eq(dy_backward(L), DY_ENAN);
  ck_assert(gv[0] == 0 && gv[1] == 0 && gv[2] == 0);
  dy_graph_renew(g);
  x = dy_variable(g, dy_d1(3), v, gv);
  y = dy_expr_set_name(dy_sqrt(x), "root");
  L = dy_sum_elems(y);
  ck_assert(isfinite(dy_scalar(L)));
  ck_assert_int_eq(dy_backward(L), DY_ENAN);
  const char *n2[] = {"gradient", NULL};
  expect_graph_err(g, DY_ENAN, "sqrt'(0)", n2);
  ck_assert(gv[0] == 0 && gv[1] == 0 && gv[2] == 0); /* the Inf never reached the variable */
  dy_graph_free(g);
}
END_TEST

/* ========================================================= out of memory */

/* An allocator that refuses any request above a budget of live bytes. */
typedef struct budget {
  size_t live, limit;
  int refused;
} budget;

static void *budget_alloc(void *ctx, size_t n) {
  budget *b = ctx;
  if (n > b->limit - b->live) {
    b->refused++;
    return NULL;
  }
  size_t *p = malloc(n + sizeof(size_t) * 2);
  if (!p) return NULL;
  p[0] = n;
  b->live += n;
  return p + 2;
}

static void budget_free(void *ctx, void *q) {
  if (!q) return;
  size_t *p = (size_t *)q - 2;
  ((budget *)ctx)->live -= p[0];
  free(p);
}

/* Out of memory (a 4 MiB budget standing in for a full machine): a value too
 * big for the graph is DY_ENOMEM naming the node; a dim past 32 bits is
 * refused when built; a parameter or lookup too big for the model is refused
 * with its name and size and the model keeps working. */
START_TEST(out_of_memory) {
  budget bg = {0, (size_t)4 << 20, 0}, bm = {0, (size_t)4 << 20, 0};
  dy_allocator ag = {budget_alloc, budget_free, &bg}, am = {budget_alloc, budget_free, &bm};
  dy_graph *g = dy_graph_new_with(&ag);
  ck_assert_ptr_nonnull(g);
  dy_expr z = dy_zeros(g, dy_d2(2000, 1000)); /* 8 MB in float */
  ck_assert(dy_expr_valid(z));
  ck_assert_ptr_null(dy_forward(z));
  const char *n1[] = {"out of memory", "node 0", NULL};
  expect_graph_err(g, DY_ENOMEM, "graph out of memory", n1);
  ck_assert_int_gt(bg.refused, 0);
  dy_graph_renew(g);
  dy_real v[3] = {1, 2, 3}, gv[3] = {0};
  dy_expr x = dy_variable(g, dy_d1(3), v, gv);
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_cmult(x, x))), DY_OK);
  ck_assert(gv[2] == 6);
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_zeros(g, dy_d2(70000, 70000)))); /* 4.9e9 elements */
  const char *n2[] = {"{70000,70000}", "invalid", NULL};
  expect_graph_err(g, DY_ESHAPE, "dim past 32 bits", n2);
  dy_graph_free(g);
  ck_assert_uint_eq(bg.live, 0); /* everything given back */

  dy_model *m = dy_model_new_with(1, &am);
  dy_param *W = dy_model_add_param(m, "W", dy_d2(10, 10), dy_init_glorot());
  ck_assert_ptr_nonnull(W);
  dy_real w0 = dy_param_values(W)[0];
  ck_assert_ptr_null(dy_model_add_param(m, "big", dy_d2(2000, 1000), dy_init_glorot()));
  ck_assert_msg(dy_model_error(m) && strstr(dy_model_error(m), "out of memory") && strstr(dy_model_error(m), "'big'"),
                "%s", dy_model_error(m));
  ck_assert_ptr_null(dy_model_add_lookup(m, "E", 4000000000u, dy_d1(1000), dy_init_glorot()));
  ck_assert_msg(dy_model_error(m) && strstr(dy_model_error(m), "'E'"), "%s", dy_model_error(m));
  ck_assert_ptr_null(dy_model_find_param(m, "big"));
  ck_assert(dy_param_values(W)[0] == w0);
  ck_assert_uint_eq(dy_model_num_params(m), 1);
  ck_assert_ptr_nonnull(dy_model_add_param(m, "small", dy_d1(4), dy_init_glorot()));
  dy_model_free(m);
  ck_assert_uint_eq(bm.live, 0);
}
END_TEST

/* ================================================ taggers on bad corpora */

typedef struct tdata {
  dy_vocab *W, *T;
  dy_corpus *c;
} tdata;

static tdata synth(size_t nsent) {
  tdata d;
  char err[256];
  d.W = dy_vocab_new("<unk>");
  d.T = dy_vocab_new(NULL);
  dy_synth_opts o = dy_synth_defaults();
  o.nsent = nsent;
  o.nforms = 100;
  o.n_nv = o.n_an = 5;
  o.max_len = 10;
  d.c = dy_synth_tagging(&o, d.W, d.T, err, sizeof err);
  ck_assert_msg(d.c != NULL, "%s", err);
  return d;
}

static void tdata_free(tdata *d) {
  dy_corpus_free(d->c);
  dy_vocab_free(d->W);
  dy_vocab_free(d->T);
}

static dy_tagger *small_tagger(dy_model *m, uint32_t nwords, uint32_t ntags) {
  dy_tagger_opts o = dy_tagger_defaults();
  o.emb = 8;
  o.hidden = 4;
  o.mlp = 4;
  return dy_tagger_new(m, &o, nwords, ntags);
}

/* A vocabulary larger than the embedding table: the first word id past the
 * table is an index error naming the lookup and the row; the epoch stops
 * there with no update from that sentence. */
START_TEST(vocab_larger_than_embedding) {
  tdata d = synth(20);
  uint32_t nw = dy_vocab_size(d.W);
  ck_assert_uint_gt(nw, 20);
  dy_model *m = dy_model_new(1);
  dy_tagger *t = small_tagger(m, 10, dy_vocab_size(d.T)); /* room for 10 words only */
  ck_assert_ptr_nonnull(t);
  dy_trainer *tr = dy_sgd_new(m, (dy_real)0.1);
  dy_graph *g = dy_graph_new();
  size_t P = dy_model_size(m);
  /* find the first sentence with a word id >= 10, and its first such word */
  size_t bad_sent = SIZE_MAX;
  uint32_t bad_id = 0;
  for (size_t i = 0; i < d.c->nsent && bad_sent == SIZE_MAX; i++)
    for (size_t k = 0; k < dy_corpus_len(d.c, i); k++)
      if (dy_corpus_words(d.c, i)[k] >= 10) {
        bad_sent = i;
        bad_id = dy_corpus_words(d.c, i)[k];
        break;
      }
  ck_assert(bad_sent != SIZE_MAX);
  dy_tagger_stats st;
  dy_real *snap = malloc(P * sizeof(dy_real));
  /* one sentence alone: the graph error names the table and the row */
  dy_tagger_sent s = dy_tagger_corpus_sent(d.c, bad_sent, NULL);
  dy_expr L = dy_tagger_loss(t, g, &s);
  ck_assert(!dy_expr_valid(L));
  ck_assert_int_eq(dy_backward(L), DY_EINDEX);
  char want[64];
  snprintf(want, sizeof want, "id %u", (unsigned)bad_id);
  const char *need[] = {want, "out of range", "(10 words)", "word ", NULL};
  expect_graph_err(g, DY_EINDEX, "vocab > embedding", need);
  ck_assert(dy_model_grad_norm(m) == 0);
  /* a training epoch stops at that sentence with the same error */
  dy_graph_renew(g);
  ck_assert_int_eq(dy_tagger_train_epoch(t, g, tr, d.c, NULL, &st, NULL, NULL), DY_EINDEX);
  ck_assert_uint_eq(st.sents, bad_sent);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), want));
  ck_assert_uint_eq(dy_trainer_steps(tr), bad_sent);
  (void)snap;
  free(snap);
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_tagger_free(t);
  dy_model_free(m);
  tdata_free(&d);
}
END_TEST

/* An empty corpus (what the readers give for an empty file): an epoch and an
 * evaluation do nothing and report zeros, never NaN; a tagger with no tags
 * is refused. An empty sentence has loss 0 and no scores. */
START_TEST(empty_corpus_and_sentence) {
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  char err[256];
  FILE *f = fmemopen((void *)"\n", 1, "rb");
  dy_corpus *c = dy_conllu_read_file(f, "empty.conllu", W, T, NULL, err, sizeof err);
  fclose(f);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 0);
  dy_model *m = dy_model_new(1);
  ck_assert_ptr_null(small_tagger(m, dy_vocab_size(W), dy_vocab_size(T))); /* 0 tags */
  dy_tagger *t = small_tagger(m, 4, 3);
  ck_assert_ptr_nonnull(t);
  dy_trainer *tr = dy_sgd_new(m, (dy_real)0.1);
  dy_graph *g = dy_graph_new();
  dy_tagger_stats st;
  ck_assert_int_eq(dy_tagger_train_epoch(t, g, tr, c, NULL, &st, NULL, NULL), DY_OK);
  ck_assert_uint_eq(st.sents, 0);
  ck_assert_uint_eq(st.words, 0);
  ck_assert(st.loss == 0 && !isnan(st.words_per_sec));
  ck_assert_uint_eq(dy_trainer_steps(tr), 0);
  ck_assert_int_eq(dy_tagger_evaluate(t, g, c, &st), DY_OK);
  ck_assert(st.acc == 0 && st.unk_acc == 0 && st.loss == 0);
  /* an empty sentence */
  dy_graph_renew(g);
  dy_tagger_sent s = {0, NULL, NULL, NULL};
  dy_expr L = dy_tagger_loss(t, g, &s);
  ck_assert(dy_expr_valid(L));
  ck_assert(dy_scalar(L) == 0);
  ck_assert(!dy_expr_valid(dy_tagger_scores(t, g, &s)));
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "empty sentence"));
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_tagger_free(t);
  dy_model_free(m);
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
}
END_TEST

/* A NaN that gets into a parameter (a corrupted embedding row) during
 * training: the epoch stops with DY_ENAN; without check mode the trainer
 * names the parameter and applies nothing; with check mode the graph names
 * the first node. */
START_TEST(nan_parameter_during_training) {
  tdata d = synth(10);
  dy_model *m = dy_model_new(1);
  dy_tagger *t = small_tagger(m, dy_vocab_size(d.W), dy_vocab_size(d.T));
  dy_trainer *tr = dy_sgd_new(m, (dy_real)0.1);
  dy_graph *g = dy_graph_new();
  uint32_t w = dy_corpus_words(d.c, 0)[0];
  dy_lookup *E = NULL;
  for (uint32_t i = 0; i < dy_model_num_lookups(m); i++)
    if (dy_lookup_rows(dy_model_lookup_at(m, i)) == dy_vocab_size(d.W)) E = dy_model_lookup_at(m, i);
  ck_assert_ptr_nonnull(E);
  dy_lookup_row(E, w)[0] = (dy_real)NAN;
  size_t P = dy_model_size(m);
  dy_param *p0 = dy_model_param_at(m, 0);
  size_t n0 = dy_dim_size(dy_param_dim(p0));
  dy_real *snap = malloc(n0 * sizeof(dy_real));
  memcpy(snap, dy_param_values(p0), n0 * sizeof(dy_real));
  dy_tagger_stats st;
  ck_assert_int_eq(dy_tagger_train_epoch(t, g, tr, d.c, NULL, &st, NULL, NULL), DY_ENAN);
  ck_assert_uint_eq(dy_trainer_steps(tr), 0);
  ck_assert_msg(dy_model_error(m) && strstr(dy_model_error(m), "NaN"), "%s", dy_model_error(m));
  ck_assert(memcmp(snap, dy_param_values(p0), n0 * sizeof(dy_real)) == 0);
  /* with check mode: the graph names the first node holding the NaN */
  dy_graph_renew(g);
  dy_graph_set_check(g, DY_CHECK_NAN);
  ck_assert_int_eq(dy_tagger_train_epoch(t, g, tr, d.c, NULL, &st, NULL, NULL), DY_ENAN);
  ck_assert_msg(dy_graph_error(g) && strstr(dy_graph_error(g), "node") && strstr(dy_graph_error(g), "forward"),
                "%s", dy_graph_error(g));
  ck_assert_uint_eq(dy_trainer_steps(tr), 0);
  (void)P;
  free(snap);
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_tagger_free(t);
  dy_model_free(m);
  tdata_free(&d);
}
END_TEST

/* ==================================================== saving that fails */

static char tmpdir[256];

static uint8_t *read_bytes(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc(*n ? *n : 1);
  ck_assert_uint_eq(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

static int files_in(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
  FILE *p = popen(cmd, "r");
  int n = -1;
  if (p) {
    if (fscanf(p, "%d", &n) != 1) n = -1;
    pclose(p);
  }
  return n;
}

/* A directory the saving process may not write. As an ordinary user: the
 * directory made read-only (0555). As root, where permissions do not stop
 * writes: a child process that drops to user and group 65534 (nobody) saves
 * into a root-owned 0755 directory. Either way: DY_EIO, a message naming the
 * path, the old file byte for byte intact, no temporary file left. */
START_TEST(save_into_unwritable_directory) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/dync_badinput_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  ck_assert_int_eq(chmod(tmpdir, 0755), 0);
  char path[512];
  snprintf(path, sizeof path, "%s/model.dy", tmpdir);
  dy_model *a = dy_model_new(1);
  dy_model_add_param(a, "W", dy_d2(4, 5), dy_init_glorot());
  ck_assert_int_eq(dy_model_save(a, NULL, path), DY_OK);
  ck_assert_int_eq(chmod(path, 0644), 0);
  size_t n0, n1;
  uint8_t *old = read_bytes(path, &n0);
  dy_model *b = dy_model_new(2); /* other values: a save would change the file */
  dy_model_add_param(b, "W", dy_d2(4, 5), dy_init_glorot());
  int as_root = geteuid() == 0;
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    int code = 0;
    if (as_root) {
      if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
    } else if (chmod(tmpdir, 0555) != 0) {
      _exit(4);
    }
    if (access(tmpdir, W_OK) == 0) _exit(5); /* still writable: the test would prove nothing */
    dy_status st = dy_model_save(b, NULL, path);
    const char *e = dy_model_error(b);
    if (st != DY_EIO) code = 10;
    else if (!e || !strstr(e, tmpdir)) code = 11;
    if (code) fprintf(stderr, "save: status %d, message %s\n", st, e ? e : "(none)");
    _exit(code);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  chmod(tmpdir, 0755);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child exit %d (3-5: setup, 10: status, 11: message)",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  uint8_t *now = read_bytes(path, &n1);
  ck_assert_uint_eq(n0, n1);
  ck_assert(memcmp(old, now, n0) == 0);
  ck_assert_int_eq(files_in(tmpdir), 1); /* no temporary file left behind */
  /* the file still loads, with a's values */
  dy_model *c = dy_model_new(3);
  dy_model_add_param(c, "W", dy_d2(4, 5), dy_init_glorot());
  ck_assert_int_eq(dy_model_load(c, NULL, path, NULL), DY_OK);
  ck_assert(memcmp(dy_param_values(dy_model_find_param(c, "W")), dy_param_values(dy_model_find_param(a, "W")),
                   20 * sizeof(dy_real)) == 0);
  /* a path that is a directory, an empty path */
  ck_assert_int_eq(dy_model_save(a, NULL, tmpdir), DY_EIO);
  ck_assert_ptr_nonnull(dy_model_error(a));
  char pat[300];
  snprintf(pat, sizeof pat, "%s.tmp.*", tmpdir); /* its temporary file sat next to the directory */
  glob_t gl;
  ck_assert_int_eq(glob(pat, 0, NULL, &gl), GLOB_NOMATCH);
  ck_assert_int_ne(dy_model_save(a, NULL, ""), DY_OK);
  ck_assert_int_eq(files_in(tmpdir), 1);
  free(old);
  free(now);
  unlink(path);
  rmdir(tmpdir);
  dy_model_free(a);
  dy_model_free(b);
  dy_model_free(c);
}
END_TEST

/* A model file of another model: a tagger saved with one size and loaded
 * into a tagger of another: an error naming the parameter and both dims; the
 * receiving model unchanged. */
START_TEST(load_file_of_another_model) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/dync_badinput_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  char path[512];
  snprintf(path, sizeof path, "%s/tagger.dy", tmpdir);
  dy_model *a = dy_model_new(1), *b = dy_model_new(2);
  dy_tagger *ta = small_tagger(a, 20, 5);
  ck_assert_ptr_nonnull(ta);
  dy_tagger_opts o = dy_tagger_defaults();
  o.emb = 8;
  o.hidden = 6; /* another hidden size */
  o.mlp = 4;
  dy_tagger *tb = dy_tagger_new(b, &o, 20, 5);
  ck_assert_int_eq(dy_model_save(a, NULL, path), DY_OK);
  size_t P = dy_model_size(b);
  dy_real *snap = malloc(P * sizeof(dy_real));
  for (uint32_t i = 0, k = 0; i < dy_model_num_params(b); i++) {
    dy_param *p = dy_model_param_at(b, i);
    memcpy(snap + k, dy_param_values(p), dy_dim_size(dy_param_dim(p)) * sizeof(dy_real));
    k += (uint32_t)dy_dim_size(dy_param_dim(p));
  }
  dy_status st = dy_model_load(b, NULL, path, NULL);
  ck_assert_int_eq(st, DY_EFORMAT);
  const char *e = dy_model_error(b);
  ck_assert_msg(e && strstr(e, "tagger/") && strstr(e, "offset") && strstr(e, "{"), "%s", e);
  for (uint32_t i = 0, k = 0; i < dy_model_num_params(b); i++) {
    dy_param *p = dy_model_param_at(b, i);
    ck_assert(memcmp(snap + k, dy_param_values(p), dy_dim_size(dy_param_dim(p)) * sizeof(dy_real)) == 0);
    k += (uint32_t)dy_dim_size(dy_param_dim(p));
  }
  free(snap);
  dy_tagger_free(ta);
  dy_tagger_free(tb);
  dy_model_free(a);
  dy_model_free(b);
  unlink(path);
  rmdir(tmpdir);
}
END_TEST

/* ================================================ dync-tagger, empty files */

/* Runs cmd through the shell (stderr to stdout); its exit status, and its
 * output in out (NUL-terminated, truncated to n - 1 bytes). */
static int run_cmd(const char *cmd, char *out, size_t n) {
  char full[4096];
  snprintf(full, sizeof full, "%s 2>&1", cmd);
  FILE *p = popen(full, "r");
  ck_assert_ptr_nonnull(p);
  size_t k = fread(out, 1, n - 1, p);
  out[k] = 0;
  while (fgetc(p) != EOF) {
  }
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* An empty training file (or one of only comments) and an empty dev file:
 * exit 1 with a message naming the file and saying it has no sentences (was
 * "cannot build the tagger: bad options", and "dev acc 0.0000" each epoch). */
START_TEST(tagger_cli_empty_files) {
  const char *dir = getenv("DY_EXAMPLES");
  char prog[1024], tmp[] = "/tmp/dy_badinput_cli_XXXXXX", empty[300], comments[300], good[300], cmd[4096],
       out[8192];
  snprintf(prog, sizeof prog, "%s/dync-tagger", dir ? dir : ".");
  if (!dir || access(prog, X_OK) != 0) {
    printf("SKIP: %s not built\n", prog);
    return;
  }
  ck_assert_ptr_nonnull(mkdtemp(tmp));
  snprintf(empty, sizeof empty, "%s/empty.conllu", tmp);
  snprintf(comments, sizeof comments, "%s/comments.conllu", tmp);
  snprintf(good, sizeof good, "%s/good.conllu", tmp);
  FILE *f = fopen(empty, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  f = fopen(comments, "w");
  ck_assert_ptr_nonnull(f);
  fputs("# sent_id = 1\n\n\n# only a comment\n", f);
  fclose(f);
  f = fopen(good, "w");
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < 4; i++) fputs("1\tthe\t_\tDET\t_\t_\t2\tdet\t_\t_\n2\tdog\t_\tNOUN\t_\t_\t0\troot\t_\t_\n\n", f);
  fclose(f);
  const char *bad[2] = {empty, comments};
  for (int k = 0; k < 2; k++) {
    /* empty training file */
    snprintf(cmd, sizeof cmd, "%s train --train %s --dev %s --emb 4 --hidden 4 --mlp 4 --epochs 1", prog, bad[k],
             good);
    ck_assert_int_eq(run_cmd(cmd, out, sizeof out), 1);
    if (getenv("DY_BADINPUT_SHOW")) printf("%s", out);
    ck_assert_msg(strstr(out, bad[k]) && strstr(out, "no sentences to train on") && !strstr(out, "bad options"),
                  "%s", out);
    /* empty dev file: no epoch is run */
    snprintf(cmd, sizeof cmd, "%s train --train %s --dev %s --emb 4 --hidden 4 --mlp 4 --epochs 1", prog, good,
             bad[k]);
    ck_assert_int_eq(run_cmd(cmd, out, sizeof out), 1);
    if (getenv("DY_BADINPUT_SHOW")) printf("%s", out);
    ck_assert_msg(strstr(out, bad[k]) && strstr(out, "no sentences in the dev file") && !strstr(out, "dev acc"),
                  "%s", out);
  }
  /* the same files with content train */
  snprintf(cmd, sizeof cmd, "%s train --train %s --dev %s --emb 4 --hidden 4 --mlp 4 --epochs 1", prog, good, good);
  ck_assert_msg(run_cmd(cmd, out, sizeof out) == 0, "%s", out);
  ck_assert_ptr_nonnull(strstr(out, "dev acc"));
  unlink(empty);
  unlink(comments);
  unlink(good);
  rmdir(tmp);
}
END_TEST

int main(void) {
  Suite *s = suite_create("badinput");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_loop_test(t, shape_mismatch_every_binary_op, 0, (int)NBIN);
  tcase_add_test(t, every_binary_op_listed);
  tcase_add_loop_test(t, shape_mismatch_every_rnn_op, 0, (int)NRNN);
  tcase_add_test(t, every_rnn_op_listed);
  tcase_add_test(t, rnn_input_of_wrong_size);
  tcase_add_test(t, index_out_of_range);
  tcase_add_test(t, stale_in_backward_and_params);
  tcase_add_test(t, nan_inf_named_in_check_mode);
  tcase_add_test(t, out_of_memory);
  tcase_add_test(t, vocab_larger_than_embedding);
  tcase_add_test(t, empty_corpus_and_sentence);
  tcase_add_test(t, nan_parameter_during_training);
  tcase_add_test(t, save_into_unwritable_directory);
  tcase_add_test(t, load_file_of_another_model);
  tcase_add_test(t, tagger_cli_empty_files);
  suite_add_tcase(s, t);
  return t_run(s);
}
