/* Elementwise maps: forward values by hand, gradients by finite differences
 * over vectors, matrices, 3-d tensors and batches, and errors passing on. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ builders */
static dy_expr b_tanh(const dy_expr *x, void *c) { (void)c; return dy_tanh(x[0]); }
static dy_expr b_sigmoid(const dy_expr *x, void *c) { (void)c; return dy_sigmoid(x[0]); }
static dy_expr b_relu(const dy_expr *x, void *c) { (void)c; return dy_relu(x[0]); }
static dy_expr b_elu1(const dy_expr *x, void *c) { (void)c; return dy_elu(x[0], 1); }
static dy_expr b_elu15(const dy_expr *x, void *c) { (void)c; return dy_elu(x[0], (dy_real)1.5); }
static dy_expr b_exp(const dy_expr *x, void *c) { (void)c; return dy_exp(x[0]); }
static dy_expr b_log(const dy_expr *x, void *c) { (void)c; return dy_log(x[0]); }
static dy_expr b_square(const dy_expr *x, void *c) { (void)c; return dy_square(x[0]); }
static dy_expr b_sqrt(const dy_expr *x, void *c) { (void)c; return dy_sqrt(x[0]); }
static dy_expr b_abs(const dy_expr *x, void *c) { (void)c; return dy_abs(x[0]); }
static dy_expr b_pow(const dy_expr *x, void *c) { return dy_pow(x[0], *(const dy_real *)c); }
static dy_expr b_log_sigmoid(const dy_expr *x, void *c) { (void)c; return dy_log_sigmoid(x[0]); }
static dy_expr b_softsign(const dy_expr *x, void *c) { (void)c; return dy_softsign(x[0]); }
/* a chain as on an RNN step: gradients flow through several maps */
static dy_expr b_chain(const dy_expr *x, void *c) {
  (void)c;
  return dy_cmult(dy_sigmoid(x[0]), dy_tanh(dy_add(x[0], x[1])));
}

/* Unary shapes: vector, matrix, 3-d, batched vector, batched matrix; 3 seeds
 * each; inputs in [lo, hi) with |x| >= gap (away from kinks). */
static void grad_unary(const char *what, t_build b, void *ctx, double lo, double hi, double gap) {
  dy_dim shapes[] = {dy_d1(5), dy_d2(3, 4), dy_d3(2, 3, 2), dy_batch(dy_d1(4), 3),
                     dy_batch(dy_d2(2, 3), 2)};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    t_case c = t_case_of(1, &shapes[s]);
    c.lo = lo;
    c.hi = hi;
    c.gap = gap;
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck(what, b, ctx, &c, seed + 10 * s);
  }
}

START_TEST(grad_maps) {
  grad_unary("tanh", b_tanh, NULL, -2, 2, 0);
  grad_unary("sigmoid", b_sigmoid, NULL, -3, 3, 0);
  grad_unary("relu", b_relu, NULL, -1, 1, 0.1);
  grad_unary("elu(1)", b_elu1, NULL, -2, 2, 0.1);
  grad_unary("elu(1.5)", b_elu15, NULL, -2, 2, 0.1);
  grad_unary("exp", b_exp, NULL, -1, 1, 0);
  grad_unary("log", b_log, NULL, 0.5, 2, 0);
  grad_unary("square", b_square, NULL, -1.5, 1.5, 0);
  grad_unary("sqrt", b_sqrt, NULL, 0.5, 2, 0);
  grad_unary("abs", b_abs, NULL, -1, 1, 0.1);
  grad_unary("log_sigmoid", b_log_sigmoid, NULL, -4, 4, 0);
  grad_unary("softsign", b_softsign, NULL, -2, 2, 0.1);
}
END_TEST

START_TEST(grad_pow) {
  dy_real p[] = {(dy_real)2.5, (dy_real)-1.5, (dy_real)0.5};
  for (int i = 0; i < 3; i++) grad_unary("pow (x > 0)", b_pow, &p[i], 0.5, 2, 0);
  dy_real q[] = {3, 2};
  for (int i = 0; i < 2; i++) grad_unary("pow (integer p, x of both signs)", b_pow, &q[i], -1.5, 1.5, 0.1);
}
END_TEST

START_TEST(grad_chain_broadcast) {
  dy_dim sh[][2] = {{dy_d1(4), dy_d1(4)},
                    {dy_batch(dy_d1(3), 3), dy_d1(3)},
                    {dy_d2(2, 3), dy_batch(dy_d2(2, 3), 2)}};
  for (int s = 0; s < 3; s++) {
    t_case c = t_case_of(2, sh[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("sigmoid*tanh", b_chain, NULL, &c, seed + s * 10);
  }
}
END_TEST

/* ---------------------------------------------------------- forward values */

/* Forward of f over x (n values, dim {n}) must match want within tol. */
static void check_map(const char *what, dy_expr (*f)(dy_expr), const dy_real *x, const double *want,
                      int n, double tol) {
  dy_graph *g = dy_graph_new();
  dy_expr y = f(dy_input(g, dy_d1((uint32_t)n), x));
  const dy_real *v = dy_forward(y);
  ck_assert_msg(v != NULL, "%s: %s", what, dy_graph_error(g));
  ck_assert_int_eq((int)dy_dim_size(dy_expr_dim(y)), n);
  for (int i = 0; i < n; i++)
    ck_assert_msg(fabs((double)v[i] - want[i]) <= tol, "%s(%g) = %.9g, expected %.9g", what,
                  (double)x[i], (double)v[i], want[i]);
  dy_graph_free(g);
}

static dy_expr f_elu(dy_expr a) { return dy_elu(a, (dy_real)1.5); }
static dy_expr f_pow(dy_expr a) { return dy_pow(a, (dy_real)2.5); }
static dy_expr f_pow3(dy_expr a) { return dy_pow(a, 3); }

START_TEST(forward_values) {
  const dy_real x[] = {-2, (dy_real)-0.5, 0, (dy_real)0.5, 1, 3};
  const double tanh_w[] = {-0.964027580, -0.462117157, 0, 0.462117157, 0.761594156, 0.995054754};
  check_map("tanh", dy_tanh, x, tanh_w, 6, 1e-6);
  const double sig_w[] = {0.119202922, 0.377540669, 0.5, 0.622459331, 0.731058579, 0.952574127};
  check_map("sigmoid", dy_sigmoid, x, sig_w, 6, 1e-6);
  const double relu_w[] = {0, 0, 0, 0.5, 1, 3};
  check_map("relu", dy_relu, x, relu_w, 6, 0);
  /* 1.5 (e^x - 1) for x <= 0 */
  const double elu_w[] = {-1.296997075, -0.590204010, 0, 0.5, 1, 3};
  check_map("elu(1.5)", f_elu, x, elu_w, 6, 1e-6);
  const double exp_w[] = {0.135335283, 0.606530660, 1, 1.648721271, 2.718281828, 20.08553692};
  check_map("exp", dy_exp, x, exp_w, 6, 2e-5);
  const double sq_w[] = {4, 0.25, 0, 0.25, 1, 9};
  check_map("square", dy_square, x, sq_w, 6, 0);
  const double abs_w[] = {2, 0.5, 0, 0.5, 1, 3};
  check_map("abs", dy_abs, x, abs_w, 6, 0);
  const double ss_w[] = {-2.0 / 3, -1.0 / 3, 0, 1.0 / 3, 0.5, 0.75};
  check_map("softsign", dy_softsign, x, ss_w, 6, 1e-6);
  const double p3_w[] = {-8, -0.125, 0, 0.125, 1, 27};
  check_map("pow(3)", f_pow3, x, p3_w, 6, 1e-5);

  const dy_real xp[] = {(dy_real)0.5, 1, 2, 4};
  const double log_w[] = {-0.693147181, 0, 0.693147181, 1.386294361};
  check_map("log", dy_log, xp, log_w, 4, 1e-6);
  const double sqrt_w[] = {0.707106781, 1, 1.414213562, 2};
  check_map("sqrt", dy_sqrt, xp, sqrt_w, 4, 1e-6);
  const double pow_w[] = {0.176776695, 1, 5.656854249, 32};
  check_map("pow(2.5)", f_pow, xp, pow_w, 4, 1e-5);

  /* log_sigmoid stays finite and exact far out, where log(sigmoid(x)) is not */
  const dy_real xl[] = {-200, -2, 0, 1, 30, 200};
  const double ls_w[] = {-200, -2.126928011, -0.693147181, -0.313261688, -9.357622969e-14, 0};
  check_map("log_sigmoid", dy_log_sigmoid, xl, ls_w, 6, 1e-5);
  /* sigmoid and tanh saturate without NaN */
  const double sig_far[] = {0, 0.119202922, 0.5, 0.731058579, 1, 1};
  check_map("sigmoid (far)", dy_sigmoid, xl, sig_far, 6, 1e-6);
  const double tanh_far[] = {-1, -0.964027580, 0, 0.761594156, 1, 1};
  check_map("tanh (far)", dy_tanh, xl, tanh_far, 6, 1e-6);
}
END_TEST

/* tanh and sigmoid (vectorisable versions in the float build) against double
 * libm over [-100, 100]: within 4 ulp relative (absolute 1e-37 where the
 * sigmoid is below 1e-36); NaN propagates; +-Inf saturate. */
START_TEST(tanh_sigmoid_accuracy) {
#if DY_USE_DOUBLE
  const double ulp = DBL_EPSILON;
#else
  const double ulp = FLT_EPSILON;
#endif
  const uint32_t n = 200001;
  dy_real *x = malloc((n + 8) * sizeof(dy_real));
  for (uint32_t i = 0; i < n; i++) x[i] = (dy_real)(-100 + 1e-3 * i);
  const dy_real extra[] = {(dy_real)1e-30, (dy_real)1e-10, (dy_real)-3e-5, (dy_real)0.6249,
                           (dy_real)0.6251, (dy_real)-0.625, (dy_real)9.5, (dy_real)-87.5};
  memcpy(x + n, extra, sizeof extra);
  dy_graph *g = dy_graph_new();
  dy_expr in = dy_input(g, dy_d1(n + 8), x);
  const dy_real *t = dy_forward(dy_tanh(in)), *s = dy_forward(dy_sigmoid(in));
  ck_assert(t && s);
  for (uint32_t i = 0; i < n + 8; i++) {
    double xi = (double)x[i], rt = tanh(xi), rs = 1 / (1 + exp(-xi));
    double et = fabs((double)t[i] - rt) / (rt != 0 ? fabs(rt) : 1);
    ck_assert_msg(et <= 4 * ulp, "tanh(%.9g) = %.9g, exact %.9g (%.2f ulp)", xi, (double)t[i], rt, et / ulp);
    if (rs > 1e-36) {
      double es = fabs((double)s[i] - rs) / rs;
      ck_assert_msg(es <= 4 * ulp, "sigmoid(%.9g) = %.9g, exact %.9g (%.2f ulp)", xi, (double)s[i], rs, es / ulp);
    } else {
      ck_assert_msg(fabs((double)s[i] - rs) <= 1e-37, "sigmoid(%.9g) = %.9g", xi, (double)s[i]);
    }
  }
  dy_real sp[] = {NAN, INFINITY, -INFINITY};
  dy_expr e = dy_input(g, dy_d1(3), sp);
  t = dy_forward(dy_tanh(e));
  s = dy_forward(dy_sigmoid(e));
  ck_assert(isnan(t[0]) && isnan(s[0]));
  ck_assert(t[1] == 1 && t[2] == -1 && s[1] == 1);
  ck_assert(s[2] >= 0 && s[2] <= 1e-37);
  dy_graph_free(g);
  free(x);
}
END_TEST

/* Backward by hand on one vector: the derivative from the forward value. */
START_TEST(backward_values) {
  dy_graph *g = dy_graph_new();
  dy_real x[] = {-1, (dy_real)0.5, 2}, gx[3] = {0};
  dy_expr v = dy_variable(g, dy_d1(3), x, gx);
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_tanh(v))), DY_OK);
  for (int i = 0; i < 3; i++) {
    double t = tanh((double)x[i]);
    ck_close(gx[i], 1 - t * t, 1e-6);
    gx[i] = 0;
  }
  dy_graph_renew(g);
  v = dy_variable(g, dy_d1(3), x, gx);
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_relu(v))), DY_OK);
  ck_close(gx[0], 0, 0);
  ck_close(gx[1], 1, 0);
  ck_close(gx[2], 1, 0);
  memset(gx, 0, sizeof gx);
  dy_graph_renew(g);
  v = dy_variable(g, dy_d1(3), x, gx);
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_log_sigmoid(v))), DY_OK);
  for (int i = 0; i < 3; i++) ck_close(gx[i], 1 / (1 + exp((double)x[i])), 1e-6);
  dy_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ errors */

START_TEST(errors_pass_on_and_table) {
  dy_graph *g = dy_graph_new();
  dy_real v[4] = {0};
  dy_expr a = dy_input(g, dy_d1(3), v), b = dy_input(g, dy_d1(4), v);
  dy_expr bad = dy_add(a, b);
  ck_assert(!dy_expr_valid(bad));
  const char *first = dy_graph_error(g);
  ck_assert_ptr_nonnull(first);
  char keep[1024];
  snprintf(keep, sizeof keep, "%s", first);
  /* every map passes an invalid argument on and keeps the first message */
  dy_expr ys[] = {dy_tanh(bad), dy_sigmoid(bad), dy_relu(bad), dy_elu(bad, 1), dy_exp(bad),
                  dy_log(bad), dy_square(bad), dy_sqrt(bad), dy_abs(bad), dy_pow(bad, 2),
                  dy_log_sigmoid(bad), dy_softsign(bad), dy_tanh(a)};
  for (size_t i = 0; i < sizeof ys / sizeof ys[0]; i++) ck_assert(!dy_expr_valid(ys[i]));
  ck_assert_str_eq(dy_graph_error(g), keep);
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  /* a renewed graph: the old expression is stale, and that is said */
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_tanh(a)));
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  ck_assert_msg(strstr(dy_graph_error(g), "tanh"), "%s", dy_graph_error(g));
  dy_graph_free(g);
  /* every map is in the op table under its name */
  const char *names[] = {"tanh", "sigmoid", "relu", "elu", "exp", "log", "square", "sqrt",
                         "abs", "pow", "log_sigmoid", "softsign"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const dy_op *op = dy_op_find(names[i]);
    ck_assert_msg(op != NULL, "%s not in the op table", names[i]);
    ck_assert_str_eq(op->name, names[i]);
    ck_assert_int_eq(op->arity, 1);
    ck_assert(op->backward != NULL);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("ops_elementwise");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, forward_values);
  tcase_add_test(t, backward_values);
  tcase_add_test(t, tanh_sigmoid_accuracy);
  tcase_add_test(t, errors_pass_on_and_table);
  tcase_add_test(t, grad_maps);
  tcase_add_test(t, grad_pow);
  tcase_add_test(t, grad_chain_broadcast);
  suite_add_tcase(s, t);
  return t_run(s);
}
