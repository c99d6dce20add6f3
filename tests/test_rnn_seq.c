/* Whole-sequence recurrent ops (lstm_seq, gru_seq, srnn_seq) and the batch
 * transduce path: finite-difference gradients of each op over shapes, seeds,
 * directions, initial states and masks; values and gradients equal to the
 * per-step builders (stacked, bidirectional, with dropout); shape errors. */
#include <stdlib.h>
#include <string.h>

#include "dy_models.h"
#include "harness.h"

static const dy_rnn_kind KINDS[3] = {DY_SRNN, DY_LSTM, DY_GRU};
static const char *KNAME[3] = {"srnn", "lstm", "gru"};

#if DY_USE_DOUBLE
#define VTOL 1e-12
#else
#define VTOL 2e-6
#endif

/* ------------------------------------------------------ gradient checks */

typedef struct op_cfg {
  dy_rnn_kind kind;
  int rev, h0, c0, mask;
} op_cfg;

/* inputs: P, W_h, [b_h], [h0], [c0], [mask] in that order */
static dy_expr build_seq(const dy_expr *xs, void *ctx) {
  const op_cfg *c = ctx;
  uint32_t i = 2;
  const dy_expr *bh = NULL, *h0 = NULL, *c0 = NULL, *mask = NULL;
  if (c->kind == DY_GRU) bh = &xs[i++];
  if (c->h0) h0 = &xs[i++];
  if (c->c0) c0 = &xs[i++];
  if (c->mask) mask = &xs[i++];
  if (c->kind == DY_LSTM) return dy_lstm_seq(xs[0], xs[1], h0, c0, mask, c->rev);
  if (c->kind == DY_GRU) return dy_gru_seq(xs[0], xs[1], *bh, h0, mask, c->rev);
  return dy_srnn_seq(xs[0], xs[1], h0, mask, c->rev);
}

static t_case seq_case(const op_cfg *c, uint32_t H, uint32_t T, int const_p) {
  uint32_t G = (c->kind == DY_LSTM ? 4 : c->kind == DY_GRU ? 3 : 1) * H;
  dy_dim d[T_MAX_IN];
  uint32_t n = 0;
  d[n++] = dy_batch(dy_d1(G), T);
  d[n++] = dy_d2(G, H);
  if (c->kind == DY_GRU) d[n++] = dy_d1(G);
  if (c->h0) d[n++] = dy_d1(H);
  if (c->c0) d[n++] = dy_d1(H);
  if (c->mask) d[n++] = dy_d1(H);
  t_case tc = t_case_of(n, d);
  tc.constant[0] = const_p;
  return tc;
}

START_TEST(grad_seq_ops) {
  /* H, T; T >= 24 takes the transposed-W_h path */
  const uint32_t shapes[][2] = {{1, 1}, {3, 1}, {2, 2}, {3, 4}, {5, 3}, {2, 25}};
  uint64_t seed = 1;
  for (int k = 0; k < 3; k++)
    for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++)
      for (int v = 0; v < 8; v++) {
        op_cfg c = {KINDS[k], v & 1, (v >> 1) & 1, 0, (v >> 2) & 1};
        if (KINDS[k] == DY_LSTM) c.c0 = (v == 3 || v == 6 || v == 7); /* with and without h0 */
        uint32_t H = shapes[sh][0], T = shapes[sh][1];
        t_case tc = seq_case(&c, H, T, 0);
        tc.lo = -1.2;
        tc.hi = 1.2;
        char what[96];
        snprintf(what, sizeof what, "%s H %u T %u rev %d h0 %d c0 %d mask %d", KNAME[k], (unsigned)H,
                 (unsigned)T, c.rev, c.h0, c.c0, c.mask);
        t_gradcheck(what, build_seq, &c, &tc, seed++);
        /* P a constant: the sweep then runs in W_h's call */
        if (v == 5) {
          tc = seq_case(&c, H, T, 1);
          t_gradcheck(what, build_seq, &c, &tc, seed++);
        }
      }
}
END_TEST

/* ------------------------------------------ equal to the per-step path */

static void fill_params(dy_rnn *r, t_rng *rng) {
  const char *which[4] = {"W_x", "W_h", "b", "b_h"};
  for (uint32_t l = 0; l < dy_rnn_layers(r); l++)
    for (int w = 0; w < 4; w++) {
      dy_param *p = dy_rnn_param(r, l, which[w]);
      if (p) t_fill(rng, dy_param_values(p), dy_dim_size(dy_param_dim(p)), -0.6, 0.6, 0);
    }
}

#define MAXP 64
typedef struct run_out {
  double loss;
  dy_real y[8 * 16];
  dy_real *grads[MAXP];
  size_t ng[MAXP];
  dy_real xg[8 * 8];
} run_out;

/* One run over T inputs of X (per-step transduce when batch == 0, else the
 * batch path): outputs, loss = sum_t w_t . y_t, parameter and input grads. */
static void run_one(dy_model *m, dy_rnn *r, dy_birnn *b, const dy_real *xv, uint32_t X, uint32_t T,
                    const dy_real *w, int batch, int train, run_out *o) {
  uint32_t Y = b ? dy_birnn_output_dim(b) : dy_rnn_hidden_dim(r);
  dy_model_zero_grads(m);
  dy_graph *g = dy_graph_new();
  dy_graph_set_seed(g, 77);
  dy_graph_set_train(g, train);
  dy_real xg[8 * 8];
  memset(xg, 0, sizeof xg);
  dy_expr x[8], y[8], terms[8];
  for (uint32_t t = 0; t < T; t++) x[t] = dy_variable(g, dy_d1(X), (dy_real *)xv + t * X, xg + t * X);
  if (batch) {
    dy_expr Ys = b ? dy_birnn_transduce_batch(b, g, dy_concat_to_batch(x, T))
                   : dy_rnn_transduce_batch(r, g, dy_concat_to_batch(x, T));
    ck_assert_msg(dy_expr_valid(Ys), "%s", dy_graph_error(g));
    ck_assert(dy_dim_eq(dy_expr_dim(Ys), dy_batch(dy_d1(Y), T)));
    for (uint32_t t = 0; t < T; t++) y[t] = dy_pick_batch_elem(Ys, t);
  } else {
    ck_assert_int_eq(b ? dy_birnn_transduce(b, g, x, T, y) : dy_rnn_transduce(r, g, x, T, y), DY_OK);
  }
  for (uint32_t t = 0; t < T; t++) {
    const dy_real *v = dy_forward(y[t]);
    ck_assert_ptr_nonnull(v);
    memcpy(o->y + t * Y, v, Y * sizeof(dy_real));
    terms[t] = dy_dot(y[t], dy_input(g, dy_d1(Y), w + t * Y));
  }
  dy_expr loss = dy_sum(terms, T);
  o->loss = dy_scalar(loss);
  ck_assert_int_eq(dy_backward(loss), DY_OK);
  memcpy(o->xg, xg, sizeof xg);
  dy_graph_free(g);
  for (uint32_t i = 0; i < dy_model_num_params(m) && i < MAXP; i++) {
    dy_param *p = dy_model_param_at(m, i);
    o->ng[i] = dy_dim_size(dy_param_dim(p));
    o->grads[i] = malloc(o->ng[i] * sizeof(dy_real));
    memcpy(o->grads[i], dy_param_grads(p), o->ng[i] * sizeof(dy_real));
  }
}

/* (with T = 1 no state enters W_h: its gradient may be all zero) */
static void compare(dy_model *m, const run_out *a, const run_out *b, uint32_t n, int T1, const char *what) {
  ck_assert_msg(fabs(a->loss - b->loss) <= 20 * VTOL, "%s: loss %.9g vs %.9g", what, a->loss, b->loss);
  for (uint32_t i = 0; i < n; i++)
    ck_assert_msg(fabs((double)a->y[i] - b->y[i]) <= 10 * VTOL, "%s: y[%u] %.9g vs %.9g", what, i,
                  (double)a->y[i], (double)b->y[i]);
  for (uint32_t i = 0; i < 64; i++)
    ck_assert_msg(fabs((double)a->xg[i] - b->xg[i]) <= 50 * VTOL, "%s: dx[%u] %.9g vs %.9g", what, i,
                  (double)a->xg[i], (double)b->xg[i]);
  for (uint32_t i = 0; i < dy_model_num_params(m) && i < MAXP; i++) {
    double mx = 0;
    for (size_t j = 0; j < a->ng[i]; j++) {
      ck_assert_msg(fabs((double)a->grads[i][j] - b->grads[i][j]) <= 50 * VTOL, "%s: grad of %s[%zu] %.9g vs %.9g",
                    what, dy_param_name(dy_model_param_at(m, i)), j, (double)a->grads[i][j], (double)b->grads[i][j]);
      mx = fmax(mx, fabs((double)a->grads[i][j]));
    }
    ck_assert_msg(mx > 0 || T1, "%s: gradient of %s is all zero", what, dy_param_name(dy_model_param_at(m, i)));
  }
}

static void free_out(run_out *o, dy_model *m) {
  for (uint32_t i = 0; i < dy_model_num_params(m) && i < MAXP; i++) free(o->grads[i]);
}

/* uni (1 and 2 layers) and bi (2 layers), dropout off, on in training, and
 * in test mode, T = 1 and T = 5: both paths give the same numbers. */
START_TEST(batch_equals_per_step) {
  const uint32_t X = 4, H = 3;
  for (int k = 0; k < 3; k++)
    for (int arch = 0; arch < 3; arch++)
      for (int drop = 0; drop < 3; drop++)
        for (uint32_t T = 1; T <= 5; T += 4) {
          uint64_t seed = 500 + (uint64_t)(k * 100 + arch * 10 + drop * 2 + T);
          dy_model *m = dy_model_new(seed);
          dy_rnn *r = NULL;
          dy_birnn *b = NULL;
          t_rng rng = {seed};
          if (arch < 2) {
            r = dy_rnn_new(m, "r", KINDS[k], arch + 1, X, H);
            ck_assert_ptr_nonnull(r);
            fill_params(r, &rng);
            if (drop) dy_rnn_set_dropout(r, 0.3, 0.4);
          } else {
            b = dy_birnn_new(m, "bi", KINDS[k], 2, X, H);
            ck_assert_ptr_nonnull(b);
            for (uint32_t l = 0; l < 2; l++)
              for (int d = 0; d < 2; d++) fill_params(dy_birnn_dir(b, l, d), &rng);
            if (drop) dy_birnn_set_dropout(b, 0.3, 0.4);
          }
          uint32_t Y = b ? 2 * H : H;
          dy_real xv[8 * 4], w[8 * 6];
          t_fill(&rng, xv, X * T, -1, 1, 0);
          t_fill(&rng, w, Y * T, -1, 1, 0);
          run_out o[2];
          memset(o, 0, sizeof o);
          for (int batch = 0; batch < 2; batch++) run_one(m, r, b, xv, X, T, w, batch, drop != 2, &o[batch]);
          char what[96];
          snprintf(what, sizeof what, "%s arch %d drop %d T %u", KNAME[k], arch, drop, (unsigned)T);
          compare(m, &o[0], &o[1], Y * T, T == 1, what);
          free_out(&o[0], m);
          free_out(&o[1], m);
          dy_rnn_free(r);
          dy_birnn_free(b);
          dy_model_free(m);
        }
}
END_TEST

/* dy_check_grad through a 2-layer bidirectional batch stack with dropout. */
START_TEST(grad_birnn_batch) {
  for (int k = 0; k < 3; k++) {
    const uint32_t X = 3, H = 2, T = 4;
    uint64_t seed = 900 + (uint64_t)k;
    dy_model *m = dy_model_new(seed);
    dy_birnn *b = dy_birnn_new(m, "bi", KINDS[k], 2, X, H);
    dy_birnn_set_dropout(b, 0.25, 0.25);
    t_rng rng = {seed};
    for (uint32_t l = 0; l < 2; l++)
      for (int d = 0; d < 2; d++) fill_params(dy_birnn_dir(b, l, d), &rng);
    dy_real xs[3 * 4], xg[3 * 4] = {0}, w[4 * 4];
    t_fill(&rng, xs, X * T, -1, 1, 0);
    t_fill(&rng, w, 2 * H * T, -1, 1, 0);
    dy_graph *g = dy_graph_new();
    dy_graph_set_seed(g, seed);
    dy_expr Xe = dy_variable(g, dy_batch(dy_d1(X), T), xs, xg);
    dy_expr Y = dy_birnn_transduce_batch(b, g, Xe);
    ck_assert(dy_expr_valid(Y));
    dy_expr loss = dy_sum_batches(dy_dot(Y, dy_input(g, dy_batch(dy_d1(2 * H), T), w)));
    char report[512];
    dy_status st = dy_check_grad(loss, T_STEP, T_TOL, report, sizeof report);
    ck_assert_msg(st == DY_OK, "%s: %s", KNAME[k], st == DY_EGRAD ? report : dy_graph_error(g));
    dy_graph_free(g);
    dy_birnn_free(b);
    dy_model_free(m);
  }
}
END_TEST

/* ---------------------------------------------------------------- errors */

static void expect_shape(dy_graph *g, const char *a, const char *b, const char *c) {
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  const char *e = dy_graph_error(g);
  ck_assert_ptr_nonnull(e);
  ck_assert_msg(strstr(e, a) && strstr(e, b) && (!c || strstr(e, c)), "unexpected message: %s", e);
}

START_TEST(shape_errors) {
  dy_real v[256] = {0};
  struct {
    const char *op;
    dy_dim p, w;
    const char *need;
  } cases[] = {
      {"lstm_seq", dy_batch(dy_d1(12), 3), dy_d2(16, 4), "{16}"},  /* P too short */
      {"lstm_seq", dy_batch(dy_d1(16), 3), dy_d2(16, 3), "W_h"},   /* W_h not (4H, H) */
      {"gru_seq", dy_batch(dy_d1(9), 2), dy_d2(9, 4), "W_h"},
      {"gru_seq", dy_batch(dy_d1(8), 2), dy_d2(9, 3), "{9}"},
      {"srnn_seq", dy_batch(dy_d1(4), 2), dy_d2(4, 3), "W_h"},
      {"srnn_seq", dy_d2(3, 2), dy_d2(3, 3), "{3}"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dy_graph *g = dy_graph_new();
    dy_expr P = dy_input(g, cases[i].p, v), W = dy_input(g, cases[i].w, v);
    dy_expr y;
    if (!strcmp(cases[i].op, "lstm_seq")) y = dy_lstm_seq(P, W, NULL, NULL, NULL, 0);
    else if (!strcmp(cases[i].op, "gru_seq")) y = dy_gru_seq(P, W, dy_input(g, dy_d1(9), v), NULL, NULL, 0);
    else y = dy_srnn_seq(P, W, NULL, NULL, 1);
    ck_assert(!dy_expr_valid(y));
    expect_shape(g, cases[i].op, cases[i].need, "node");
    dy_graph_free(g);
  }
  /* optional arguments: h0, c0, mask must be vectors {H} of batch 1; b_h {3H} */
  dy_graph *g = dy_graph_new();
  dy_expr P = dy_input(g, dy_batch(dy_d1(8), 3), v), W = dy_input(g, dy_d2(8, 2), v);
  dy_expr h5 = dy_input(g, dy_d1(5), v), hb = dy_input(g, dy_batch(dy_d1(2), 3), v);
  ck_assert(!dy_expr_valid(dy_lstm_seq(P, W, &h5, NULL, NULL, 0)));
  expect_shape(g, "lstm_seq", "h0", "{5}");
  dy_graph_renew(g);
  P = dy_input(g, dy_batch(dy_d1(8), 3), v);
  W = dy_input(g, dy_d2(8, 2), v);
  hb = dy_input(g, dy_batch(dy_d1(2), 3), v);
  ck_assert(!dy_expr_valid(dy_lstm_seq(P, W, NULL, &hb, NULL, 0)));
  expect_shape(g, "lstm_seq", "c0", "batch 1");
  dy_graph_renew(g);
  P = dy_input(g, dy_batch(dy_d1(2), 3), v);
  W = dy_input(g, dy_d2(2, 2), v);
  h5 = dy_input(g, dy_d1(5), v);
  ck_assert(!dy_expr_valid(dy_srnn_seq(P, W, NULL, &h5, 0)));
  expect_shape(g, "srnn_seq", "mask", "{2}");
  dy_graph_renew(g);
  P = dy_input(g, dy_batch(dy_d1(6), 3), v);
  W = dy_input(g, dy_d2(6, 2), v);
  h5 = dy_input(g, dy_d1(5), v);
  ck_assert(!dy_expr_valid(dy_gru_seq(P, W, h5, NULL, NULL, 0)));
  expect_shape(g, "gru_seq", "b_h", "{6}");
  dy_graph_free(g);
  /* the batch transduce: an input of the wrong size names the builder */
  dy_model *m = dy_model_new(1);
  dy_rnn *r = dy_rnn_new(m, "enc", DY_GRU, 1, 3, 4);
  dy_birnn *b = dy_birnn_new(m, "bi", DY_LSTM, 1, 3, 4);
  g = dy_graph_new();
  ck_assert(!dy_expr_valid(dy_rnn_transduce_batch(r, g, dy_input(g, dy_batch(dy_d1(5), 2), v))));
  expect_shape(g, "enc", "input_dim 3", "{5}");
  expect_shape(g, "dy_rnn_transduce_batch", "positions as the batch", NULL);
  dy_graph_renew(g);
  /* an input of another graph */
  dy_graph *g2 = dy_graph_new();
  ck_assert(!dy_expr_valid(dy_rnn_transduce_batch(r, g, dy_input(g2, dy_batch(dy_d1(3), 2), v))));
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  const char *e = dy_graph_error(g);
  ck_assert_msg(strstr(e, "dy_rnn_transduce_batch") && strstr(e, "enc") && strstr(e, "another graph") &&
                    !strstr(e, "step"),
                "unexpected message: %s", e);
  ck_assert_int_eq(dy_graph_status(g2), DY_OK);
  dy_graph_free(g2);
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_birnn_transduce_batch(b, g, dy_input(g, dy_d2(3, 2), v))));
  expect_shape(g, "bi/fwd", "input_dim 3", "{3,2}");
  expect_shape(g, "dy_birnn_transduce_batch", "positions as the batch", NULL);
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_rnn_transduce_batch(NULL, g, dy_input(g, dy_d1(3), v))));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  dy_graph_free(g);
  dy_rnn_free(r);
  dy_birnn_free(b);
  dy_model_free(m);
  for (size_t i = 0; dy_ops_rnn_seq[i]; i++) ck_assert(dy_ops_rnn_seq[i]->arity == -1);
}
END_TEST

/* After a warm-up example the batch path allocates nothing. */
START_TEST(no_malloc_steady_state) {
  dy_model *m = dy_model_new(1);
  dy_birnn *b = dy_birnn_new(m, "bi", DY_LSTM, 2, 4, 3);
  dy_birnn_set_dropout(b, 0.2, 0.2);
  dy_real xv[4 * 6];
  for (int i = 0; i < 24; i++) xv[i] = (dy_real)(0.1 * (i % 7) - 0.3);
  dy_graph *g = dy_graph_new();
  uint64_t after_warmup = 0;
  for (int it = 0; it < 4; it++) {
    dy_graph_renew(g);
    dy_expr Y = dy_birnn_transduce_batch(b, g, dy_input_ref(g, dy_batch(dy_d1(4), 6), xv));
    ck_assert_int_eq(dy_backward(dy_sum_batches(dy_sum_elems(Y))), DY_OK);
    dy_graph_stats st;
    dy_graph_get_stats(g, &st);
    if (it == 1) after_warmup = st.mallocs;
    if (it > 1) ck_assert_uint_eq(st.mallocs, after_warmup);
  }
  dy_graph_free(g);
  dy_birnn_free(b);
  dy_model_free(m);
}
END_TEST

/* The dumps call each edge's backward on its own (after the sweep): the
 * seq nodes answer from their BPTT results, and name themselves. */
START_TEST(dump_after_backward) {
  dy_model *m = dy_model_new(3);
  dy_birnn *b = dy_birnn_new(m, "bi", DY_GRU, 1, 3, 2);
  dy_real xv[3 * 5];
  for (int i = 0; i < 15; i++) xv[i] = (dy_real)(0.1 * (i % 5) - 0.2);
  dy_graph *g = dy_graph_new();
  dy_expr Y = dy_birnn_transduce_batch(b, g, dy_input_ref(g, dy_batch(dy_d1(3), 5), xv));
  ck_assert_int_eq(dy_backward(dy_sum_batches(dy_sum_elems(Y))), DY_OK);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(dy_graph_dump_dot(g, f, DY_DUMP_ALL), DY_OK);
  fclose(f);
  ck_assert_msg(strstr(buf, "gru_seq") && strstr(buf, "bi/bwd/H"), "dump lacks the seq nodes");
  free(buf);
  dy_graph_free(g);
  dy_birnn_free(b);
  dy_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rnn_seq");
  TCase *t = tcase_create("rnn_seq");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, grad_seq_ops);
  tcase_add_test(t, batch_equals_per_step);
  tcase_add_test(t, grad_birnn_batch);
  tcase_add_test(t, shape_errors);
  tcase_add_test(t, no_malloc_steady_state);
  tcase_add_test(t, dump_after_backward);
  suite_add_tcase(s, t);
  return t_run(s);
}
