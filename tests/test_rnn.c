/* RNN builders: one step of each cell against plain-C values, gradient checks
 * through unrolled steps (cells, stacks, bidirectional), fused vs reference,
 * branching, dropout masks, errors, time tags. */
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

/* ------------------------------------------------------------- helpers */

/* Random values in [-0.6, 0.6) for every parameter of r (biases too). */
static void fill_rnn(dy_rnn *r, t_rng *rng) {
  const char *which[4] = {"W_x", "W_h", "b", "b_h"};
  for (uint32_t l = 0; l < dy_rnn_layers(r); l++)
    for (int w = 0; w < 4; w++) {
      dy_param *p = dy_rnn_param(r, l, which[w]);
      if (p) t_fill(rng, dy_param_values(p), dy_dim_size(dy_param_dim(p)), -0.6, 0.6, 0);
    }
}

static dy_real *rand_vec(t_rng *rng, size_t n) {
  dy_real *v = malloc(n * sizeof(dy_real));
  t_fill(rng, v, n, -1, 1, 0);
  return v;
}

static const char *kind_str(dy_rnn_kind k) { return k == DY_LSTM ? "lstm" : k == DY_GRU ? "gru" : "srnn"; }

static double sg(double x) { return 1 / (1 + exp(-x)); }

/* One step of layer 0 of r in plain C (double): x (X), hp, cp (H) -> h, c. */
static void plain_step(dy_rnn *r, uint32_t l, const double *x, const double *hp, const double *cp,
                       double *h, double *c) {
  dy_rnn_kind k = dy_rnn_get_kind(r);
  uint32_t H = dy_rnn_hidden_dim(r), X = l ? H : dy_rnn_input_dim(r);
  uint32_t G = (k == DY_LSTM ? 4 : k == DY_GRU ? 3 : 1) * H;
  const dy_real *Wx = dy_param_values(dy_rnn_param(r, l, "W_x"));
  const dy_real *Wh = dy_param_values(dy_rnn_param(r, l, "W_h"));
  const dy_real *b = dy_param_values(dy_rnn_param(r, l, "b"));
  const dy_real *bh = k == DY_GRU ? dy_param_values(dy_rnn_param(r, l, "b_h")) : NULL;
  double p[64], q[64];
  ck_assert(G <= 64);
  for (uint32_t i = 0; i < G; i++) {
    p[i] = b[i];
    q[i] = bh ? bh[i] : 0;
    for (uint32_t j = 0; j < X; j++) p[i] += Wx[i * X + j] * x[j];
    for (uint32_t j = 0; j < H; j++) q[i] += Wh[i * H + j] * hp[j];
  }
  for (uint32_t j = 0; j < H; j++) {
    if (k == DY_SRNN) {
      h[j] = tanh(p[j] + q[j]);
    } else if (k == DY_LSTM) {
      double ig = sg(p[j] + q[j]), fg = sg(p[H + j] + q[H + j]), og = sg(p[2 * H + j] + q[2 * H + j]);
      double z = tanh(p[3 * H + j] + q[3 * H + j]);
      c[j] = fg * cp[j] + ig * z;
      h[j] = og * tanh(c[j]);
    } else {
      double rg = sg(p[j] + q[j]), u = sg(p[H + j] + q[H + j]);
      double n = tanh(p[2 * H + j] + rg * q[2 * H + j]);
      h[j] = (1 - u) * n + u * hp[j];
    }
  }
}

static void ck_vec(const dy_real *got, const double *want, size_t n, double tol, const char *what) {
  ck_assert_ptr_nonnull(got);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(fabs((double)got[i] - want[i]) <= tol, "%s[%zu] = %.9g, expected %.9g", what, i,
                  (double)got[i], want[i]);
}

/* ------------------------------------------------------------- tests */

START_TEST(construction) {
  dy_model *m = dy_model_new(3);
  ck_assert_ptr_null(dy_rnn_new(m, "a", DY_LSTM, 0, 3, 4));
  ck_assert_ptr_null(dy_rnn_new(m, "b", DY_LSTM, DY_RNN_MAX_LAYERS + 1, 3, 4));
  ck_assert_ptr_null(dy_rnn_new(m, "c", DY_LSTM, 1, 0, 4));
  ck_assert_ptr_null(dy_rnn_new(m, NULL, DY_LSTM, 1, 3, 4));
  dy_rnn *r = dy_rnn_new(m, "enc", DY_LSTM, 2, 3, 4);
  ck_assert_ptr_nonnull(r);
  dy_param *wx0 = dy_model_find_param(m, "enc/l0/W_x"), *wx1 = dy_model_find_param(m, "enc/l1/W_x");
  dy_param *wh0 = dy_model_find_param(m, "enc/l0/W_h"), *b0 = dy_model_find_param(m, "enc/l0/b");
  ck_assert_ptr_nonnull(wx0);
  ck_assert_ptr_nonnull(wh0);
  ck_assert_ptr_nonnull(b0);
  ck_assert_ptr_nonnull(wx1);
  ck_assert(dy_dim_eq(dy_param_dim(wx0), dy_d2(16, 3)));
  ck_assert(dy_dim_eq(dy_param_dim(wx1), dy_d2(16, 4)));
  ck_assert(dy_dim_eq(dy_param_dim(wh0), dy_d2(16, 4)));
  const dy_real *bv = dy_param_values(b0);
  for (int j = 0; j < 16; j++) ck_assert(bv[j] == (j >= 4 && j < 8 ? 1 : 0)); /* forget bias 1 */
  /* the same name twice: the model refuses the parameters */
  ck_assert_ptr_null(dy_rnn_new(m, "enc", DY_GRU, 1, 3, 4));
  dy_rnn *gru = dy_rnn_new(m, "g", DY_GRU, 1, 3, 4);
  ck_assert(dy_dim_eq(dy_param_dim(dy_model_find_param(m, "g/l0/W_h")), dy_d2(12, 4)));
  ck_assert_ptr_nonnull(dy_model_find_param(m, "g/l0/b_h"));
  ck_assert_int_eq(dy_rnn_set_dropout(r, 1, 0), DY_EARG);
  ck_assert_int_eq(dy_rnn_set_dropout(r, 0.2, -0.1), DY_EARG);
  ck_assert_int_eq(dy_rnn_set_dropout(r, 0.2, 0.3), DY_OK);
  dy_birnn *bi = dy_birnn_new(m, "bi", DY_LSTM, 2, 5, 3);
  ck_assert_ptr_nonnull(bi);
  ck_assert_uint_eq(dy_birnn_output_dim(bi), 6);
  ck_assert(dy_dim_eq(dy_param_dim(dy_model_find_param(m, "bi/bwd/l1/W_x")), dy_d2(12, 6)));
  ck_assert(dy_dim_eq(dy_param_dim(dy_model_find_param(m, "bi/fwd/l0/W_x")), dy_d2(12, 5)));
  dy_birnn_free(bi);
  dy_rnn_free(gru);
  dy_rnn_free(r);
  dy_model_free(m);
}
END_TEST

/* One step of each cell, from a zero state and from a given state, in both
 * paths, against plain C. */
START_TEST(one_step_values) {
  for (int k = 0; k < 3; k++)
    for (int fused = 0; fused < 2; fused++) {
      const uint32_t X = 3, H = 4;
      dy_model *m = dy_model_new(7);
      dy_rnn *r = dy_rnn_new(m, KNAME[k], KINDS[k], 1, X, H);
      dy_rnn_set_fused(r, fused);
      t_rng rng = {11 + (uint64_t)k};
      fill_rnn(r, &rng);
      dy_real *x = rand_vec(&rng, X), *h0 = rand_vec(&rng, H), *c0 = rand_vec(&rng, H);
      double xd[8], hd[8], cd[8], zero[8] = {0}, h[8], c[8];
      for (uint32_t i = 0; i < X; i++) xd[i] = x[i];
      for (uint32_t i = 0; i < H; i++) hd[i] = h0[i], cd[i] = c0[i];
      dy_graph *g = dy_graph_new();
      /* from zero */
      dy_rnn_state s = dy_rnn_add_input(dy_rnn_start(r, g), dy_input(g, dy_d1(X), x));
      plain_step(r, 0, xd, zero, zero, h, c);
      ck_vec(dy_forward(dy_rnn_output(s)), h, H, VTOL, "h from zero");
      if (KINDS[k] == DY_LSTM) ck_vec(dy_forward(dy_rnn_c(s, 0)), c, H, VTOL, "c from zero");
      /* from a given state */
      dy_expr he = dy_input(g, dy_d1(H), h0), ce = dy_input(g, dy_d1(H), c0);
      s = dy_rnn_add_input(dy_rnn_start_with(r, g, &he, &ce), dy_input(g, dy_d1(X), x));
      plain_step(r, 0, xd, hd, cd, h, c);
      ck_vec(dy_forward(dy_rnn_output(s)), h, H, VTOL, "h from h0");
      if (KINDS[k] == DY_LSTM) ck_vec(dy_forward(dy_rnn_c(s, 0)), c, H, VTOL, "c from c0");
      ck_assert_msg(dy_graph_error(g) == NULL, "%s", dy_graph_error(g));
      dy_graph_free(g);
      free(x);
      free(h0);
      free(c0);
      dy_rnn_free(r);
      dy_model_free(m);
    }
}
END_TEST

/* Two layers, four steps, transduce (with and without the precomputed
 * products) and add_input, against plain C. */
START_TEST(stacked_values) {
  for (int k = 0; k < 3; k++) {
    const uint32_t X = 3, H = 4, T = 4;
    dy_model *m = dy_model_new(5);
    dy_rnn *r = dy_rnn_new(m, KNAME[k], KINDS[k], 2, X, H);
    t_rng rng = {21 + (uint64_t)k};
    fill_rnn(r, &rng);
    dy_real *xs = rand_vec(&rng, X * T);
    double want[4][8];
    double hp[2][8] = {{0}}, cp[2][8] = {{0}};
    for (uint32_t t = 0; t < T; t++) {
      double in[8], h[8], c[8];
      for (uint32_t i = 0; i < X; i++) in[i] = xs[t * X + i];
      for (uint32_t l = 0; l < 2; l++) {
        plain_step(r, l, in, hp[l], cp[l], h, c);
        memcpy(hp[l], h, sizeof h);
        memcpy(cp[l], c, sizeof c);
        memcpy(in, h, sizeof h);
      }
      memcpy(want[t], hp[1], sizeof hp[1]);
    }
    for (int mode = 0; mode < 4; mode++) {
      dy_rnn_set_fused(r, mode & 1);
      dy_rnn_set_precompute(r, mode >> 1 & 1);
      dy_graph *g = dy_graph_new();
      dy_expr x[4], y[4];
      for (uint32_t t = 0; t < T; t++) x[t] = dy_input(g, dy_d1(X), xs + t * X);
      ck_assert_int_eq(dy_rnn_transduce(r, g, x, T, y), DY_OK);
      for (uint32_t t = 0; t < T; t++) ck_vec(dy_forward(y[t]), want[t], H, 10 * VTOL, "transduce");
      dy_rnn_state s = dy_rnn_start(r, g);
      for (uint32_t t = 0; t < T; t++) {
        s = dy_rnn_add_input(s, x[t]);
        ck_vec(dy_forward(dy_rnn_output(s)), want[t], H, 10 * VTOL, "add_input");
      }
      ck_assert_int_eq(s.t, (int)T);
      dy_graph_free(g);
    }
    free(xs);
    dy_rnn_free(r);
    dy_model_free(m);
  }
}
END_TEST

/* Loss over every step's output with random weights, every parameter, the
 * inputs and the initial states as variables: dy_check_grad. */
static void gradcheck_rnn(dy_rnn_kind kind, uint32_t layers, int fused, int given_init,
                          uint64_t seed) {
  const uint32_t X = 3, H = 3, T = 3;
  dy_model *m = dy_model_new(seed);
  dy_rnn *r = dy_rnn_new(m, "r", kind, layers, X, H);
  dy_rnn_set_fused(r, fused);
  t_rng rng = {seed};
  fill_rnn(r, &rng);
  dy_real *xs = rand_vec(&rng, X * T), *xg = calloc(X * T, sizeof(dy_real));
  dy_real *h0 = rand_vec(&rng, H * layers), *c0 = rand_vec(&rng, H * layers);
  dy_real *hg = calloc(H * layers, sizeof(dy_real)), *cg = calloc(H * layers, sizeof(dy_real));
  dy_real *w = rand_vec(&rng, H * T * 2);
  dy_graph *g = dy_graph_new();
  dy_expr he[DY_RNN_MAX_LAYERS], ce[DY_RNN_MAX_LAYERS];
  for (uint32_t l = 0; l < layers; l++) {
    he[l] = dy_variable(g, dy_d1(H), h0 + l * H, hg + l * H);
    ce[l] = dy_variable(g, dy_d1(H), c0 + l * H, cg + l * H);
  }
  dy_rnn_state s = given_init ? dy_rnn_start_with(r, g, he, ce) : dy_rnn_start(r, g);
  dy_expr terms[8];
  uint32_t nt = 0;
  for (uint32_t t = 0; t < T; t++) {
    s = dy_rnn_add_input(s, dy_variable(g, dy_d1(X), xs + t * X, xg + t * X));
    terms[nt++] = dy_dot(dy_rnn_output(s), dy_input(g, dy_d1(H), w + t * H));
    if (kind == DY_LSTM)
      terms[nt++] = dy_dot(dy_rnn_c(s, 0), dy_input(g, dy_d1(H), w + (T + t) * H));
  }
  dy_expr loss = dy_sum(terms, nt);
  char report[512];
  dy_status st = dy_check_grad(loss, T_STEP, T_TOL, report, sizeof report);
  ck_assert_msg(st == DY_OK, "%s layers %u fused %d init %d: %s", kind_str(kind), layers, fused,
                given_init, st == DY_EGRAD ? report : dy_graph_error(g));
  dy_graph_free(g);
  free(xs);
  free(xg);
  free(h0);
  free(c0);
  free(hg);
  free(cg);
  free(w);
  dy_rnn_free(r);
  dy_model_free(m);
}

START_TEST(grad_cells) {
  for (int k = 0; k < 3; k++)
    for (uint32_t layers = 1; layers <= 2; layers++)
      for (int fused = 0; fused < 2; fused++)
        for (int init = 0; init < 2; init++)
          gradcheck_rnn(KINDS[k], layers, fused, init, 100 + (uint64_t)(k * 8 + layers * 4 + fused * 2 + init));
}
END_TEST

/* A 2-layer bidirectional stack over 3 positions, with and without dropout
 * (masks are constants of the sequence). */
START_TEST(grad_birnn) {
  for (int k = 0; k < 3; k++)
    for (int mode = 0; mode < 3; mode++) {
      const uint32_t X = 3, H = 2, T = 3;
      uint64_t seed = 300 + (uint64_t)(k * 4 + mode);
      dy_model *m = dy_model_new(seed);
      dy_birnn *b = dy_birnn_new(m, "bi", KINDS[k], 2, X, H);
      ck_assert_ptr_nonnull(b);
      dy_birnn_set_fused(b, mode != 1);
      if (mode == 2) dy_birnn_set_dropout(b, 0.3, 0.3);
      t_rng rng = {seed};
      for (uint32_t l = 0; l < 2; l++)
        for (int d = 0; d < 2; d++) fill_rnn(dy_birnn_dir(b, l, d), &rng);
      dy_real *xs = rand_vec(&rng, X * T), *xg = calloc(X * T, sizeof(dy_real));
      dy_real *w = rand_vec(&rng, 2 * H * T);
      dy_graph *g = dy_graph_new();
      dy_graph_set_seed(g, seed);
      dy_expr x[3], y[3], terms[3];
      for (uint32_t t = 0; t < T; t++) x[t] = dy_variable(g, dy_d1(X), xs + t * X, xg + t * X);
      ck_assert_int_eq(dy_birnn_transduce(b, g, x, T, y), DY_OK);
      for (uint32_t t = 0; t < T; t++) {
        ck_assert(dy_dim_eq(dy_expr_dim(y[t]), dy_d1(2 * H)));
        terms[t] = dy_dot(y[t], dy_input(g, dy_d1(2 * H), w + t * 2 * H));
      }
      char report[512];
      dy_status st = dy_check_grad(dy_sum(terms, T), T_STEP, T_TOL, report, sizeof report);
      ck_assert_msg(st == DY_OK, "birnn %s mode %d: %s", KNAME[k], mode,
                    st == DY_EGRAD ? report : dy_graph_error(g));
      dy_graph_free(g);
      free(xs);
      free(xg);
      free(w);
      dy_birnn_free(b);
      dy_model_free(m);
    }
}
END_TEST

/* Runs r over xs (T inputs of X) by transduce and returns the loss value;
 * parameter gradients accumulate into the model. Outputs into out (T*H). */
static double run_loss(dy_rnn *r, const dy_real *xs, uint32_t T, uint32_t B, const dy_real *w,
                       dy_real *out) {
  uint32_t X = dy_rnn_input_dim(r), H = dy_rnn_hidden_dim(r);
  dy_graph *g = dy_graph_new();
  dy_expr x[8], y[8], terms[8];
  for (uint32_t t = 0; t < T; t++) x[t] = dy_input(g, dy_batch(dy_d1(X), B), xs + t * X * B);
  ck_assert_int_eq(dy_rnn_transduce(r, g, x, T, y), DY_OK);
  for (uint32_t t = 0; t < T; t++) {
    const dy_real *v = dy_forward(y[t]);
    ck_assert_ptr_nonnull(v);
    memcpy(out + t * H * B, v, H * B * sizeof(dy_real));
    terms[t] = dy_dot(y[t], dy_input(g, dy_batch(dy_d1(H), B), w + t * H * B));
  }
  dy_expr loss = dy_sum_batches(dy_sum(terms, T));
  double v = dy_scalar(loss);
  ck_assert_int_eq(dy_backward(loss), DY_OK);
  dy_graph_free(g);
  return v;
}

/* Fused (with and without precomputed products) and reference paths give the
 * same outputs and parameter gradients; batch 2 too. */
START_TEST(fused_vs_reference) {
  for (int k = 0; k < 3; k++)
    for (uint32_t B = 1; B <= 2; B++) {
      const uint32_t X = 4, H = 5, T = 5;
      dy_model *m = dy_model_new(9);
      dy_rnn *r = dy_rnn_new(m, "r", KINDS[k], 2, X, H);
      t_rng rng = {400 + (uint64_t)k};
      fill_rnn(r, &rng);
      dy_real *xs = rand_vec(&rng, X * T * B), *w = rand_vec(&rng, H * T * B);
      dy_real out[4][5 * 5 * 2];
      dy_real *grads[4][2][4];
      double loss[4];
      const char *which[4] = {"W_x", "W_h", "b", "b_h"};
      /* 0 reference, 1 fused per step, 2 precomputed + deferred dW_h, 3 precomputed */
      for (int mode = 0; mode < 4; mode++) {
        dy_rnn_set_fused(r, mode != 0);
        dy_rnn_set_precompute(r, mode >= 2);
        dy_rnn_set_defer_wh(r, mode == 2);
        dy_model_zero_grads(m);
        loss[mode] = run_loss(r, xs, T, B, w, out[mode]);
        for (uint32_t l = 0; l < 2; l++)
          for (int p = 0; p < 4; p++) {
            dy_param *pp = dy_rnn_param(r, l, which[p]);
            grads[mode][l][p] = NULL;
            if (!pp) continue;
            size_t n = dy_dim_size(dy_param_dim(pp));
            grads[mode][l][p] = malloc(n * sizeof(dy_real));
            memcpy(grads[mode][l][p], dy_param_grads(pp), n * sizeof(dy_real));
          }
      }
      for (int mode = 1; mode < 4; mode++) {
        ck_assert_msg(fabs(loss[mode] - loss[0]) <= 20 * VTOL, "%s B %u mode %d loss %.9g vs %.9g",
                      KNAME[k], B, mode, loss[mode], loss[0]);
        for (uint32_t i = 0; i < T * H * B; i++)
          ck_assert_msg(fabs((double)out[mode][i] - out[0][i]) <= 10 * VTOL, "%s output %u", KNAME[k], i);
        for (uint32_t l = 0; l < 2; l++)
          for (int p = 0; p < 4; p++) {
            dy_param *pp = dy_rnn_param(r, l, which[p]);
            if (!pp) continue;
            double mx = 0;
            for (size_t i = 0, n = dy_dim_size(dy_param_dim(pp)); i < n; i++) {
              ck_assert_msg(fabs((double)grads[mode][l][p][i] - grads[0][l][p][i]) <= 50 * VTOL,
                            "%s B %u mode %d: grad of %s[%zu] %.9g vs %.9g", KNAME[k], B, mode,
                            dy_param_name(pp), i, (double)grads[mode][l][p][i],
                            (double)grads[0][l][p][i]);
              mx = fmax(mx, fabs((double)grads[0][l][p][i]));
            }
            ck_assert_msg(mx > 0, "gradient of %s is all zero", dy_param_name(pp));
          }
      }
      if (B == 2) {
        /* batch element 1 equals an unbatched run on its inputs */
        dy_real x1[4 * 5], w1[5 * 5], o1[5 * 5];
        for (uint32_t t = 0; t < T; t++) {
          memcpy(x1 + t * X, xs + (t * 2 + 1) * X, X * sizeof(dy_real));
          memcpy(w1 + t * H, w + (t * 2 + 1) * H, H * sizeof(dy_real));
        }
        run_loss(r, x1, T, 1, w1, o1);
        for (uint32_t t = 0; t < T; t++)
          for (uint32_t j = 0; j < H; j++)
            ck_assert(fabs((double)o1[t * H + j] - out[1][(t * 2 + 1) * H + j]) <= 10 * VTOL);
      }
      for (int mode = 0; mode < 4; mode++)
        for (uint32_t l = 0; l < 2; l++)
          for (int p = 0; p < 4; p++) free(grads[mode][l][p]);
      free(xs);
      free(w);
      dy_rnn_free(r);
      dy_model_free(m);
    }
}
END_TEST

/* A state branched from an old one equals a fresh unroll; the old state stays valid. */
START_TEST(branching) {
  for (int k = 0; k < 3; k++) {
    const uint32_t X = 3, H = 4;
    dy_model *m = dy_model_new(2);
    dy_rnn *r = dy_rnn_new(m, "r", KINDS[k], 2, X, H);
    t_rng rng = {500 + (uint64_t)k};
    fill_rnn(r, &rng);
    dy_real *xv = rand_vec(&rng, 4 * X);
    dy_graph *g = dy_graph_new();
    dy_expr x[4];
    for (int i = 0; i < 4; i++) x[i] = dy_input(g, dy_d1(X), xv + i * X);
    dy_rnn_state s1 = dy_rnn_add_input(dy_rnn_start(r, g), x[0]);
    dy_real h1[4];
    memcpy(h1, dy_forward(dy_rnn_output(s1)), sizeof h1);
    dy_rnn_state a = dy_rnn_add_input(dy_rnn_add_input(s1, x[1]), x[2]);
    dy_rnn_state b = dy_rnn_add_input(s1, x[3]);
    ck_assert_int_eq(a.t, 3);
    ck_assert_int_eq(b.t, 2);
    dy_real ha[4], hb[4];
    memcpy(ha, dy_forward(dy_rnn_output(a)), sizeof ha);
    memcpy(hb, dy_forward(dy_rnn_output(b)), sizeof hb);
    /* s1 unchanged */
    const dy_real *h1again = dy_forward(dy_rnn_output(s1));
    for (uint32_t j = 0; j < H; j++) ck_assert(h1again[j] == h1[j]);
    /* fresh unrolls in a new graph */
    dy_graph *g2 = dy_graph_new();
    dy_expr y[4];
    for (int i = 0; i < 4; i++) x[i] = dy_input(g2, dy_d1(X), xv + i * X);
    dy_rnn_state f = dy_rnn_start(r, g2);
    for (int i = 0; i < 3; i++) f = dy_rnn_add_input(f, x[i]);
    const dy_real *fa = dy_forward(dy_rnn_output(f));
    for (uint32_t j = 0; j < H; j++) ck_assert(fa[j] == ha[j]);
    dy_expr seq[2] = {x[0], x[3]};
    ck_assert_int_eq(dy_rnn_transduce(r, g2, seq, 2, y), DY_OK);
    const dy_real *fb = dy_forward(y[1]);
    for (uint32_t j = 0; j < H; j++) ck_assert(fabs((double)fb[j] - hb[j]) <= VTOL);
    ck_assert(fabs((double)fb[0] - ha[0]) > 1e-6);
    dy_graph_free(g2);
    dy_graph_free(g);
    free(xv);
    dy_rnn_free(r);
    dy_model_free(m);
  }
}
END_TEST

/* Sets an SRNN (X == H) to h_t = tanh(W_x x_t + W_h h_{t-1}) with the given
 * diagonal scales of W_x and W_h and no bias. */
static void set_diag(dy_rnn *r, dy_real ax, dy_real ah) {
  uint32_t H = dy_rnn_hidden_dim(r);
  dy_real *wx = dy_param_values(dy_rnn_param(r, 0, "W_x"));
  dy_real *wh = dy_param_values(dy_rnn_param(r, 0, "W_h"));
  memset(wx, 0, H * H * sizeof(dy_real));
  memset(wh, 0, H * H * sizeof(dy_real));
  memset(dy_param_values(dy_rnn_param(r, 0, "b")), 0, H * sizeof(dy_real));
  for (uint32_t j = 0; j < H; j++) wx[j * H + j] = ax, wh[j * H + j] = ah;
}

START_TEST(dropout_masks) {
  const uint32_t H = 24, T = 4;
  dy_model *m = dy_model_new(1);
  dy_rnn *r = dy_rnn_new(m, "d", DY_SRNN, 1, H, H);
  dy_real xv[24], ones[24];
  for (uint32_t j = 0; j < H; j++) xv[j] = (dy_real)(0.1 + 0.02 * j), ones[j] = 1;
  const dy_real p = 0.5;
  for (int pass = 0; pass < 2; pass++) { /* 0: input dropout, 1: recurrent dropout */
    if (pass == 0) {
      set_diag(r, 1, 0);
      dy_rnn_set_dropout(r, p, 0);
    } else {
      set_diag(r, 0, 1);
      dy_rnn_set_dropout(r, 0, p);
    }
    dy_graph *g = dy_graph_new();
    dy_graph_set_seed(g, 77);
    dy_expr x = dy_input(g, dy_d1(H), xv), h0 = dy_input(g, dy_d1(H), ones);
    int pattern[2][24];
    for (int seq = 0; seq < 2; seq++) {
      dy_rnn_state s = dy_rnn_start_with(r, g, &h0, NULL);
      int kept = 0;
      for (uint32_t t = 0; t < T; t++) {
        s = dy_rnn_add_input(s, x);
        const dy_real *h = dy_forward(dy_rnn_output(s));
        ck_assert_ptr_nonnull(h);
        for (uint32_t j = 0; j < H; j++) {
          int on = h[j] != 0;
          if (t == 0) {
            pattern[seq][j] = on;
            kept += on;
            /* kept units are scaled by 1/(1-p) */
            if (on && pass == 0) ck_assert(fabs((double)h[j] - tanh(xv[j] / (1 - p))) <= VTOL);
            if (on && pass == 1) ck_assert(fabs((double)h[j] - tanh(1 / (1 - p))) <= VTOL);
          } else {
            ck_assert_msg(on == pattern[seq][j], "pass %d: mask changed at step %u unit %u", pass,
                          t, j);
          }
        }
      }
      ck_assert(kept > 0 && kept < (int)H);
    }
    /* a new start draws a new mask */
    ck_assert(memcmp(pattern[0], pattern[1], sizeof pattern[0]) != 0);
    /* test mode: no dropout */
    dy_graph_set_train(g, 0);
    dy_rnn_state s = dy_rnn_start_with(r, g, &h0, NULL);
    for (uint32_t t = 0; t < 2; t++) s = dy_rnn_add_input(s, x);
    const dy_real *h = dy_forward(dy_rnn_output(s));
    for (uint32_t j = 0; j < H; j++) {
      double want = pass == 0 ? tanh(xv[j]) : tanh(tanh(1.0));
      ck_assert(fabs((double)h[j] - want) <= VTOL);
    }
    dy_graph_free(g);
  }
  /* rate 0 in training mode: no masks either */
  dy_rnn_set_dropout(r, 0, 0);
  set_diag(r, 1, 0);
  dy_graph *g = dy_graph_new();
  dy_expr x = dy_input(g, dy_d1(H), xv);
  uint32_t before = dy_graph_size(g);
  dy_rnn_state s = dy_rnn_add_input(dy_rnn_start(r, g), x);
  const dy_real *h = dy_forward(dy_rnn_output(s));
  for (uint32_t j = 0; j < H; j++) ck_assert(fabs((double)h[j] - tanh(xv[j])) <= VTOL);
  /* 3 parameter nodes, affine, tanh */
  ck_assert_uint_eq(dy_graph_size(g) - before, 5);
  dy_graph_free(g);
  dy_rnn_free(r);
  dy_model_free(m);
}
END_TEST

/* With dropout on, transduce with and without the precomputed products
 * applies the same masks (same graph seed) and gives the same values. */
START_TEST(dropout_transduce) {
  for (int k = 0; k < 3; k++) {
    const uint32_t X = 6, H = 5, T = 4;
    dy_model *m = dy_model_new(8);
    dy_rnn *r = dy_rnn_new(m, "r", KINDS[k], 2, X, H);
    dy_rnn_set_dropout(r, 0.4, 0.3);
    t_rng rng = {700 + (uint64_t)k};
    dy_real *xv = rand_vec(&rng, X * T);
    dy_real out[2][4 * 5];
    for (int pre = 0; pre < 2; pre++) {
      dy_rnn_set_precompute(r, pre);
      dy_graph *g = dy_graph_new();
      dy_graph_set_seed(g, 99);
      dy_expr x[4], y[4];
      for (uint32_t t = 0; t < T; t++) x[t] = dy_input(g, dy_d1(X), xv + t * X);
      ck_assert_int_eq(dy_rnn_transduce(r, g, x, T, y), DY_OK);
      for (uint32_t t = 0; t < T; t++) memcpy(out[pre] + t * H, dy_forward(y[t]), H * sizeof(dy_real));
      dy_graph_free(g);
    }
    for (uint32_t i = 0; i < T * H; i++) ck_assert(fabs((double)out[0][i] - out[1][i]) <= 10 * VTOL);
    free(xv);
    dy_rnn_free(r);
    dy_model_free(m);
  }
}
END_TEST

/* After a warm-up example, unrolling, forward and backward on a renewed
 * graph allocate nothing (the graph's arenas are reused). */
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
    dy_expr x[6], y[6], terms[6];
    for (int t = 0; t < 6; t++) x[t] = dy_input_ref(g, dy_d1(4), xv + 4 * t);
    ck_assert_int_eq(dy_birnn_transduce(b, g, x, 6, y), DY_OK);
    for (int t = 0; t < 6; t++) terms[t] = dy_sum_elems(y[t]);
    ck_assert_int_eq(dy_backward(dy_sum(terms, 6)), DY_OK);
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

START_TEST(errors) {
  dy_model *m = dy_model_new(1);
  dy_rnn *r = dy_rnn_new(m, "enc", DY_LSTM, 1, 3, 4);
  dy_graph *g = dy_graph_new();
  dy_real v[5] = {1, 2, 3, 4, 5};
  dy_rnn_state s = dy_rnn_add_input(dy_rnn_start(r, g), dy_input(g, dy_d1(3), v));
  ck_assert(dy_expr_valid(dy_rnn_output(s)));
  dy_rnn_state bad = dy_rnn_add_input(s, dy_input(g, dy_d1(5), v));
  ck_assert(!dy_expr_valid(dy_rnn_output(bad)));
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  const char *e = dy_graph_error(g);
  ck_assert_ptr_nonnull(e);
  ck_assert_msg(strstr(e, "dy_rnn_add_input") && strstr(e, "enc") && strstr(e, "input_dim 3") &&
                    strstr(e, "{5}") && strstr(e, "step 1"),
                "unclear message: %s", e);
  ck_assert_ptr_null(dy_forward(dy_rnn_output(s)));
  /* a matrix input is refused too */
  dy_graph_renew(g);
  s = dy_rnn_add_input(dy_rnn_start(r, g), dy_input(g, dy_d2(3, 1), v));
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  /* a state from before renew is stale */
  dy_graph_renew(g);
  s = dy_rnn_start(r, g);
  dy_graph_renew(g);
  s = dy_rnn_add_input(s, dy_input(g, dy_d1(3), v));
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "renew"));
  /* a bad initial state */
  dy_graph_renew(g);
  dy_expr h0 = dy_input(g, dy_d1(5), v);
  s = dy_rnn_start_with(r, g, &h0, NULL);
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "initial h"));
  /* transduce reports the step */
  dy_graph_renew(g);
  dy_expr xs[3] = {dy_input(g, dy_d1(3), v), dy_input(g, dy_d1(3), v), dy_input(g, dy_d1(4), v)};
  dy_expr ys[3];
  ck_assert_int_eq(dy_rnn_transduce(r, g, xs, 3, ys), DY_ESHAPE);
  e = dy_graph_error(g);
  ck_assert_msg(strstr(e, "dy_rnn_transduce") && strstr(e, "step 2") && strstr(e, "{4}"), "unclear message: %s",
                e);
  /* the bidirectional transduce names itself and the direction */
  dy_birnn *bi = dy_birnn_new(m, "bi", DY_LSTM, 1, 3, 2);
  ck_assert_ptr_nonnull(bi);
  dy_graph_renew(g);
  dy_expr bx[3] = {dy_input(g, dy_d1(3), v), dy_input(g, dy_d1(4), v), dy_input(g, dy_d1(3), v)};
  ck_assert_int_eq(dy_birnn_transduce(bi, g, bx, 3, ys), DY_ESHAPE);
  e = dy_graph_error(g);
  ck_assert_msg(strstr(e, "dy_birnn_transduce") && strstr(e, "bi/fwd") && strstr(e, "step 1") &&
                    strstr(e, "{4}"),
                "unclear message: %s", e);
  dy_birnn_free(bi);
  /* an input of another graph, and one that is not set */
  dy_graph *g2 = dy_graph_new();
  dy_graph_renew(g);
  s = dy_rnn_add_input(dy_rnn_start(r, g), dy_input(g2, dy_d1(3), v));
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  e = dy_graph_error(g);
  ck_assert_msg(strstr(e, "dy_rnn_add_input") && strstr(e, "enc") && strstr(e, "step 0") &&
                    strstr(e, "another graph"),
                "unclear message: %s", e);
  ck_assert_int_eq(dy_graph_status(g2), DY_OK);
  dy_graph_free(g2);
  dy_graph_renew(g);
  dy_expr unset = {0};
  s = dy_rnn_add_input(dy_rnn_start(r, g), unset);
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "unset"));
  /* c of a GRU does not exist */
  dy_rnn *gru = dy_rnn_new(m, "gru", DY_GRU, 1, 3, 4);
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_rnn_c(dy_rnn_start(gru, g), 0)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  dy_graph_free(g);
  dy_rnn_free(gru);
  dy_rnn_free(r);
  dy_model_free(m);
}
END_TEST

/* Every step's nodes carry the step's tag; h_t and c_t are named; the
 * graph's tag is restored. The fused LSTM step costs 4 nodes. */
START_TEST(time_tags) {
  dy_model *m = dy_model_new(1);
  dy_rnn *r = dy_rnn_new(m, "lstm", DY_LSTM, 1, 3, 4);
  dy_real v[3] = {1, 2, 3};
  for (int pre = 0; pre < 2; pre++) {
    dy_rnn_set_precompute(r, pre);
    dy_graph *g = dy_graph_new();
    dy_graph_set_tag(g, 42);
    dy_expr xs[3], ys[3];
    for (int i = 0; i < 3; i++) xs[i] = dy_input(g, dy_d1(3), v);
    uint32_t first = dy_graph_size(g);
    ck_assert_int_eq(dy_rnn_transduce(r, g, xs, 3, ys), DY_OK);
    ck_assert_int_eq(dy_graph_tag(g), 42);
    uint32_t per_tag[3] = {0, 0, 0};
    int named_h = 0, named_c = 0, rec = 0, wseq = 0;
    for (uint32_t i = first; i < dy_graph_size(g); i++) {
      const dy_node *n = dy_node_at(g, i);
      if (n->tag >= 0 && n->tag < 3) per_tag[n->tag]++;
      rec += !strcmp(n->op->name, "rnn_rec");
      wseq += !strcmp(n->op->name, "rnn_wseq");
      if (n->name && n->tag != DY_NO_TAG) {
        int t;
        char what;
        ck_assert_msg(sscanf(n->name, "lstm/%c_%d", &what, &t) == 2, "name %s", n->name);
        ck_assert_int_eq(t, n->tag);
        named_h += what == 'h';
        named_c += what == 'c';
      }
    }
    ck_assert_int_eq(rec, pre ? 2 : 0); /* steps 1 and 2 (step 0 starts from zero) */
    ck_assert_int_eq(wseq, pre ? 1 : 0);
    ck_assert_int_eq(named_h, 3);
    ck_assert_int_eq(named_c, 3);
    ck_assert_str_eq(dy_node_at(g, ys[2].id)->name, "lstm/h_2");
    ck_assert_int_eq(dy_node_at(g, ys[2].id)->tag, 2);
    /* per step: (pick_batch_elem +) affine + gates + c + h; step 0 has no W_h product
     * when its products are precomputed */
    ck_assert_uint_eq(per_tag[1], pre ? 5 : 4);
    ck_assert_uint_eq(per_tag[0], pre ? 4 : 4);
    dy_graph_free(g);
  }
  dy_rnn_free(r);
  dy_model_free(m);
}
END_TEST

/* The bidirectional outputs are [forward; backward] of the two directions. */
START_TEST(birnn_values) {
  const uint32_t X = 3, H = 4, T = 4;
  dy_model *m = dy_model_new(4);
  dy_birnn *b = dy_birnn_new(m, "bi", DY_GRU, 2, X, H);
  t_rng rng = {600};
  for (uint32_t l = 0; l < 2; l++)
    for (int d = 0; d < 2; d++) fill_rnn(dy_birnn_dir(b, l, d), &rng);
  dy_real *xv = rand_vec(&rng, X * T);
  dy_graph *g = dy_graph_new();
  dy_expr x[4], y[4], cur[4], f[4], bw[4];
  for (uint32_t t = 0; t < T; t++) cur[t] = x[t] = dy_input(g, dy_d1(X), xv + t * X);
  ck_assert_int_eq(dy_birnn_transduce(b, g, x, T, y), DY_OK);
  for (uint32_t l = 0; l < 2; l++) {
    dy_rnn_state sf = dy_rnn_start(dy_birnn_dir(b, l, 0), g);
    dy_rnn_state sb = dy_rnn_start(dy_birnn_dir(b, l, 1), g);
    for (uint32_t t = 0; t < T; t++) {
      sf = dy_rnn_add_input(sf, cur[t]);
      f[t] = dy_rnn_output(sf);
      sb = dy_rnn_add_input(sb, cur[T - 1 - t]);
      bw[T - 1 - t] = dy_rnn_output(sb);
    }
    for (uint32_t t = 0; t < T; t++) {
      dy_expr pair[2] = {f[t], bw[t]};
      cur[t] = dy_concat(pair, 2);
    }
  }
  /* names and tags of the stacked directions */
  int found = 0;
  for (uint32_t i = 0; i < dy_graph_size(g); i++) {
    const dy_node *n = dy_node_at(g, i);
    if (n->name && !strcmp(n->name, "bi/bwd/l1/h_0")) {
      found++;
      ck_assert_int_eq(n->tag, 0);
    }
    if (n->name && !strcmp(n->name, "bi/fwd/h_3")) {
      found++;
      ck_assert_int_eq(n->tag, 3);
    }
  }
  ck_assert_int_eq(found, 4); /* by the birnn and by the manual unroll above */
  for (uint32_t t = 0; t < T; t++) {
    const dy_real *a = dy_forward(y[t]), *e = dy_forward(cur[t]);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(e);
    for (uint32_t j = 0; j < 2 * H; j++) ck_assert(fabs((double)a[j] - e[j]) <= 10 * VTOL);
  }
  dy_graph_free(g);
  free(xv);
  dy_birnn_free(b);
  dy_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("rnn");
  TCase *tc = tcase_create("rnn");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, construction);
  tcase_add_test(tc, one_step_values);
  tcase_add_test(tc, stacked_values);
  tcase_add_test(tc, grad_cells);
  tcase_add_test(tc, grad_birnn);
  tcase_add_test(tc, fused_vs_reference);
  tcase_add_test(tc, branching);
  tcase_add_test(tc, dropout_masks);
  tcase_add_test(tc, dropout_transduce);
  tcase_add_test(tc, no_malloc_steady_state);
  tcase_add_test(tc, errors);
  tcase_add_test(tc, time_tags);
  tcase_add_test(tc, birnn_values);
  suite_add_tcase(s, tc);
  return t_run(s);
}
