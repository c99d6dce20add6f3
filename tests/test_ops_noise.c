/* Noise and gradient control: dropout, gaussian_noise, nobackprop,
 * scale_gradient. Masks and noise are deterministic functions of the seed a
 * node draws when it is built, which is what the gradient checks rely on. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static dy_expr b_dropout(const dy_expr *x, void *c) { return dy_dropout(x[0], (dy_real)*(double *)c); }
static dy_expr b_noise(const dy_expr *x, void *c) { return dy_gaussian_noise(x[0], (dy_real)*(double *)c); }
static dy_expr b_scale1(const dy_expr *x, void *c) { (void)c; return dy_scale_gradient(x[0], 1); }
/* x0 * nobackprop(x1) with x1 a constant: the value passes through */
static dy_expr b_nobackprop(const dy_expr *x, void *c) { (void)c; return dy_cmult(x[0], dy_nobackprop(x[1])); }
/* dropout applied twice to the same argument: two different masks */
static dy_expr b_dropout2(const dy_expr *x, void *c) {
  (void)c;
  return dy_add(dy_dropout(x[0], (dy_real)0.5), dy_dropout(x[0], (dy_real)0.3));
}

static const dy_dim shapes[] = {
    {{7, 1, 1, 1}, 1, 1},   /* {7} */
    {{3, 4, 1, 1}, 2, 1},   /* (3,4) */
    {{2, 3, 2, 1}, 3, 1},   /* (2,3,2) */
    {{5, 1, 1, 1}, 1, 3},   /* {5}x3 */
    {{2, 3, 1, 1}, 2, 2},   /* (2,3)x2 */
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* ------------------------------------------------------------ gradients */

START_TEST(grad_dropout) {
  double ps[] = {0.5, 0.2, 0};
  for (size_t pi = 0; pi < 3; pi++)
    for (size_t s = 0; s < NSHAPES; s++) {
      t_case c = t_case_of(1, &shapes[s]);
      for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("dropout", b_dropout, &ps[pi], &c, seed + 10 * s);
    }
  for (size_t s = 0; s < NSHAPES; s++) {
    t_case c = t_case_of(1, &shapes[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("dropout twice", b_dropout2, NULL, &c, seed + 10 * s);
  }
}
END_TEST

START_TEST(grad_gaussian_noise) {
  double sd = 0.5;
  for (size_t s = 0; s < NSHAPES; s++) {
    t_case c = t_case_of(1, &shapes[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("gaussian_noise", b_noise, &sd, &c, seed + 10 * s);
  }
}
END_TEST

START_TEST(grad_nobackprop_passes_value) {
  for (size_t s = 0; s < NSHAPES; s++) {
    dy_dim d[2] = {shapes[s], shapes[s]};
    t_case c = t_case_of(2, d);
    c.constant[1] = 1;
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("x * nobackprop(c)", b_nobackprop, NULL, &c, seed + 10 * s);
    /* broadcast: a batch-1 value under nobackprop times a batch */
    if (shapes[s].bd > 1) {
      d[1].bd = 1;
      c = t_case_of(2, d);
      c.constant[1] = 1;
      for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("x * nobackprop(c) bcast", b_nobackprop, NULL, &c, seed + 10 * s);
    }
  }
  for (size_t s = 0; s < NSHAPES; s++) {
    t_case c = t_case_of(1, &shapes[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("scale_gradient(1)", b_scale1, NULL, &c, seed + 10 * s);
  }
}
END_TEST

/* Finite differences of L = sum(w * (x*x)) against the analytic gradient of
 * L' = sum(w * op(x*x)), where op passes the value and multiplies the
 * gradient by factor: scale_gradient(s) (factor s) and nobackprop (factor 0).
 * Shapes as above, 3 seeds each. */
static void grad_factor(const char *what, int nobackprop, double s) {
  for (size_t si = 0; si < NSHAPES; si++)
    for (uint64_t seed = 1; seed <= 3; seed++) {
      t_rng r = {seed * 131 + si};
      dy_dim d = shapes[si];
      size_t n = dy_dim_size(d);
      dy_real *x = malloc(n * sizeof *x), *gx = calloc(n, sizeof *gx), *w = malloc(n * sizeof *w);
      t_fill(&r, x, n, -1, 1, 0.1);
      t_fill(&r, w, n, -1, 1, 0.1);
      dy_graph *g = dy_graph_new();
      dy_expr xv = dy_variable(g, d, x, gx), sq = dy_cmult(xv, xv);
      dy_expr mid = nobackprop ? dy_nobackprop(sq) : dy_scale_gradient(sq, (dy_real)s);
      dy_expr loss = dy_sum_batches(dy_sum_elems(dy_cmult(mid, dy_input(g, d, w))));
      ck_assert_int_eq(dy_backward(loss), DY_OK);
      if (nobackprop) ck_assert_ptr_null(dy_grad(xv));
      for (size_t k = 0; k < n; k++) {
        dy_real keep = x[k];
        x[k] = keep + T_STEP;
        dy_graph_invalidate(g);
        double fp = dy_scalar(loss);
        x[k] = keep - T_STEP;
        dy_graph_invalidate(g);
        double fm = dy_scalar(loss);
        x[k] = keep;
        double num = (fp - fm) / (2.0 * (double)T_STEP), want = s * num;
        double diff = fabs(want - (double)gx[k]), m = fmax(fabs(want), fabs((double)gx[k]));
        ck_assert_msg(diff <= T_TOL || diff <= T_TOL * m, "%s: shape %zu seed %llu element %zu: "
                      "analytic %g, expected %g x numeric %g", what, si, (unsigned long long)seed,
                      k, (double)gx[k], s, num);
      }
      dy_graph_free(g);
      free(x);
      free(gx);
      free(w);
    }
}

START_TEST(grad_scale_gradient) {
  grad_factor("scale_gradient(-2.5)", 0, -2.5);
  grad_factor("scale_gradient(0.3)", 0, 0.3);
  grad_factor("nobackprop", 1, 0);
}
END_TEST

/* ---------------------------------------------------------------- dropout */

/* Values of dropout(x, p) for x = 1 + k, in a fresh graph seeded with seed. */
static void dropout_values(uint64_t seed, int train, double p, size_t n, dy_real *out) {
  dy_graph *g = dy_graph_new();
  dy_graph_set_seed(g, seed);
  dy_graph_set_train(g, train);
  dy_real *x = malloc(n * sizeof *x);
  for (size_t k = 0; k < n; k++) x[k] = (dy_real)(1 + k % 97);
  const dy_real *y = dy_forward(dy_dropout(dy_input(g, dy_d1((uint32_t)n), x), (dy_real)p));
  ck_assert_ptr_nonnull(y);
  memcpy(out, y, n * sizeof *out);
  free(x);
  dy_graph_free(g);
}

START_TEST(dropout_mask) {
  enum { N = 100000 };
  dy_real *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  double ps[] = {0.1, 0.3, 0.5, 0.9};
  for (int pi = 0; pi < 4; pi++) {
    double p = (double)(dy_real)ps[pi]; /* the rate the op sees */
    dropout_values(42, 1, p, N, a);
    /* rate close to p: the count of drops is Binomial(N, p), sd <= 158; allow 7 sd */
    size_t dropped = 0;
    dy_real scale = (dy_real)(1.0 / (1.0 - p));
    for (size_t k = 0; k < N; k++) {
      dy_real x = (dy_real)(1 + k % 97);
      if (a[k] == 0) dropped++;
      else ck_assert_msg(a[k] == x * scale, "p %g element %zu: %g, expected %g (exact scaling)", p, k,
                         (double)a[k], (double)(x * scale));
    }
    ck_assert_msg(fabs((double)dropped - p * N) < 1100, "p %g: dropped %zu of %d", p, dropped, (int)N);
    /* the same seed gives the same mask; another seed another */
    dropout_values(42, 1, p, N, b);
    ck_assert(memcmp(a, b, N * sizeof *a) == 0);
    dropout_values(43, 1, p, N, b);
    size_t differ = 0;
    for (size_t k = 0; k < N; k++) differ += (a[k] == 0) != (b[k] == 0);
    ck_assert_msg(differ > N * p * (1 - p), "p %g: seeds 42 and 43 differ in %zu places", p, differ);
    /* test mode is the identity */
    dropout_values(42, 0, p, N, b);
    for (size_t k = 0; k < N; k++) ck_assert(b[k] == (dy_real)(1 + k % 97));
  }
  /* p = 0 keeps everything unscaled */
  dropout_values(42, 1, 0, 1000, a);
  for (size_t k = 0; k < 1000; k++) ck_assert(a[k] == (dy_real)(1 + k % 97));
  free(a);
  free(b);
}
END_TEST

/* Masks do not depend on evaluation order or re-evaluation, and backward
 * uses the forward mask. */
START_TEST(dropout_order_and_backward) {
  enum { N = 64 };
  dy_real x[N], gx[N];
  for (int k = 0; k < N; k++) x[k] = (dy_real)(0.5 + k);
  /* graph 1: two dropouts; evaluate the second first */
  dy_graph *g = dy_graph_new();
  dy_graph_set_seed(g, 7);
  dy_expr xv = dy_input(g, dy_d1(N), x);
  dy_expr d1 = dy_dropout(xv, (dy_real)0.5), d2 = dy_dropout(xv, (dy_real)0.5);
  dy_real y2[N], y1[N];
  memcpy(y2, dy_forward(d2), sizeof y2);
  memcpy(y1, dy_forward(d1), sizeof y1);
  ck_assert(memcmp(y1, y2, sizeof y1) != 0); /* two nodes, two masks */
  dy_graph_invalidate(g);
  ck_assert(memcmp(dy_forward(d2), y2, sizeof y2) == 0);
  ck_assert(memcmp(dy_forward(d1), y1, sizeof y1) == 0);
  /* graph 2, same seed, other nodes built in between forward calls */
  dy_graph *h = dy_graph_new();
  dy_graph_set_seed(h, 7);
  dy_expr xh = dy_input(h, dy_d1(N), x);
  dy_expr e1 = dy_dropout(xh, (dy_real)0.5);
  ck_assert(memcmp(dy_forward(e1), y1, sizeof y1) == 0);
  dy_expr e2 = dy_dropout(xh, (dy_real)0.5);
  ck_assert(memcmp(dy_forward(e2), y2, sizeof y2) == 0);
  dy_graph_free(h);
  /* backward: dL/dx = mask * 2 for L = sum(dropout(x, 0.5)) */
  dy_graph_renew(g);
  memset(gx, 0, sizeof gx);
  xv = dy_variable(g, dy_d1(N), x, gx);
  dy_expr d = dy_dropout(xv, (dy_real)0.5);
  const dy_real *y = dy_forward(d);
  dy_real ycopy[N];
  memcpy(ycopy, y, sizeof ycopy);
  ck_assert_int_eq(dy_backward(dy_sum_elems(d)), DY_OK);
  int kept = 0;
  for (int k = 0; k < N; k++) {
    ck_assert(ycopy[k] == 0 || ycopy[k] == 2 * x[k]);
    ck_assert_msg(gx[k] == (ycopy[k] != 0 ? 2 : 0), "element %d: y %g grad %g", k, (double)ycopy[k],
                  (double)gx[k]);
    kept += ycopy[k] != 0;
  }
  ck_assert(kept > 0 && kept < N);
  /* test mode: the gradient passes unchanged */
  dy_graph_renew(g);
  dy_graph_set_train(g, 0);
  memset(gx, 0, sizeof gx);
  xv = dy_variable(g, dy_d1(N), x, gx);
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_dropout(xv, (dy_real)0.5))), DY_OK);
  for (int k = 0; k < N; k++) ck_assert(gx[k] == 1);
  dy_graph_free(g);
}
END_TEST

/* Batched input: the mask covers every element of every batch element (the
 * batch elements get different masks). */
START_TEST(dropout_batch) {
  enum { N = 200, B = 3 };
  dy_real x[N * B];
  for (int k = 0; k < N * B; k++) x[k] = 1;
  dy_graph *g = dy_graph_new();
  const dy_real *y = dy_forward(dy_dropout(dy_input(g, dy_batch(dy_d1(N), B), x), (dy_real)0.5));
  ck_assert_ptr_nonnull(y);
  int same01 = 1;
  for (int k = 0; k < N; k++) same01 &= y[k] == y[N + k];
  ck_assert(!same01);
  dy_graph_free(g);
}
END_TEST

/* --------------------------------------------------------- gaussian noise */

START_TEST(gaussian_noise_values) {
  enum { N = 100000 };
  dy_real *x = malloc(N * sizeof *x);
  for (size_t k = 0; k < N; k++) x[k] = (dy_real)(k % 5);
  dy_graph *g = dy_graph_new();
  dy_graph_set_seed(g, 5);
  dy_expr xv = dy_input(g, dy_d1(N), x);
  dy_expr e = dy_gaussian_noise(xv, (dy_real)0.5);
  const dy_real *y = dy_forward(e);
  ck_assert_ptr_nonnull(y);
  double s = 0, s2 = 0;
  for (size_t k = 0; k < N; k++) {
    double z = (double)y[k] - (double)x[k];
    s += z;
    s2 += z * z;
  }
  double mean = s / N, var = s2 / N - mean * mean;
  /* mean sd 0.5/sqrt(N) = 0.0016; variance 0.25 with sd ~0.0011 */
  ck_assert_msg(fabs(mean) < 0.01, "mean %g", mean);
  ck_assert_msg(fabs(var - 0.25) < 0.01, "variance %g", var);
  /* same seed, same noise */
  dy_graph *h = dy_graph_new();
  dy_graph_set_seed(h, 5);
  const dy_real *y2 = dy_forward(dy_gaussian_noise(dy_input(h, dy_d1(N), x), (dy_real)0.5));
  ck_assert(memcmp(y, y2, N * sizeof *y) == 0);
  /* test mode: identity */
  dy_graph_renew(h);
  dy_graph_set_train(h, 0);
  y2 = dy_forward(dy_gaussian_noise(dy_input(h, dy_d1(N), x), (dy_real)0.5));
  ck_assert(memcmp(x, y2, N * sizeof *y) == 0);
  dy_graph_free(h);
  dy_graph_free(g);
  free(x);
}
END_TEST

/* ----------------------------------------------- nobackprop, scale_gradient */

START_TEST(nobackprop_blocks) {
  dy_graph *g = dy_graph_new();
  dy_real xv[] = {1, -2, 3}, gx[3] = {0};
  dy_expr x = dy_variable(g, dy_d1(3), xv, gx);
  dy_expr nb = dy_nobackprop(x);
  /* the value passes */
  const dy_real *y = dy_forward(nb);
  for (int k = 0; k < 3; k++) ck_assert(y[k] == xv[k]);
  /* only through nobackprop: nothing reaches x */
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_cmult(nb, nb))), DY_OK);
  ck_assert_ptr_null(dy_grad(x));
  for (int k = 0; k < 3; k++) ck_assert(gx[k] == 0);
  /* L = sum(x * nobackprop(x)): dL/dx = nobackprop(x) = x, not 2x */
  dy_graph_renew(g);
  x = dy_variable(g, dy_d1(3), xv, gx);
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_cmult(x, dy_nobackprop(x)))), DY_OK);
  for (int k = 0; k < 3; k++) ck_assert(gx[k] == xv[k]);
  /* scale_gradient: value passes, gradient times s */
  dy_graph_renew(g);
  memset(gx, 0, sizeof gx);
  x = dy_variable(g, dy_d1(3), xv, gx);
  dy_expr sg = dy_scale_gradient(x, (dy_real)-0.5);
  y = dy_forward(sg);
  for (int k = 0; k < 3; k++) ck_assert(y[k] == xv[k]);
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_cmult(sg, sg))), DY_OK);
  for (int k = 0; k < 3; k++) ck_assert(gx[k] == (dy_real)(-0.5 * 2 * xv[k]));
  dy_graph_free(g);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(errors) {
  dy_graph *g = dy_graph_new();
  dy_real v[4] = {0};
  double bad[] = {1, -0.1, 1.5, NAN};
  for (int i = 0; i < 4; i++) {
    dy_expr x = dy_input(g, dy_d1(4), v);
    ck_assert(!dy_expr_valid(dy_dropout(x, (dy_real)bad[i])));
    ck_assert_int_eq(dy_graph_status(g), DY_EARG);
    const char *m = dy_graph_error(g);
    ck_assert_msg(strstr(m, "dropout") && strstr(m, "node 1") && strstr(m, "[0, 1)"), "%s", m);
    dy_graph_renew(g);
  }
  dy_expr x = dy_input(g, dy_d1(4), v);
  ck_assert(!dy_expr_valid(dy_gaussian_noise(x, (dy_real)-1)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  ck_assert_msg(strstr(dy_graph_error(g), "gaussian_noise") && strstr(dy_graph_error(g), "stddev"), "%s",
                dy_graph_error(g));
  dy_graph_renew(g);
  x = dy_input(g, dy_d1(4), v);
  ck_assert(!dy_expr_valid(dy_scale_gradient(x, (dy_real)INFINITY)));
  ck_assert_msg(strstr(dy_graph_error(g), "scale_gradient"), "%s", dy_graph_error(g));
  dy_graph_free(g);
}
END_TEST

START_TEST(table) {
  const char *names[] = {"dropout", "gaussian_noise", "nobackprop", "scale_gradient"};
  for (size_t i = 0; i < 4; i++) {
    const dy_op *op = dy_op_find(names[i]);
    ck_assert_msg(op != NULL, "%s not in dy_op_families", names[i]);
    ck_assert_str_eq(op->name, names[i]);
  }
  ck_assert(dy_op_find("nobackprop")->flags & DY_OP_NOGRAD);
  ck_assert(dy_op_find("dropout")->flags & DY_OP_RANDOM);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ops_noise");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, dropout_mask);
  tcase_add_test(t, dropout_order_and_backward);
  tcase_add_test(t, dropout_batch);
  tcase_add_test(t, gaussian_noise_values);
  tcase_add_test(t, nobackprop_blocks);
  tcase_add_test(t, errors);
  tcase_add_test(t, table);
  tcase_add_test(t, grad_dropout);
  tcase_add_test(t, grad_gaussian_noise);
  tcase_add_test(t, grad_nobackprop_passes_value);
  tcase_add_test(t, grad_scale_gradient);
  suite_add_tcase(s, t);
  return t_run(s);
}
