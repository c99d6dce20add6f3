/* Reductions and losses: forward values by hand, gradients by finite
 * differences over several shapes with batches and batch-1 broadcasting, and
 * shape/index errors. Inputs of the ops with kinks (l1, huber, hinge) are
 * placed by a constant offset so no element lies near a kink. */
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ builders */
static dy_expr b_mean(const dy_expr *x, void *c) { (void)c; return dy_mean_elems(x[0]); }
static dy_expr b_sqnorm(const dy_expr *x, void *c) { (void)c; return dy_squared_norm(x[0]); }
static dy_expr b_l2(const dy_expr *x, void *c) { (void)c; return dy_l2_norm(x[0]); }
static dy_expr b_sqdist(const dy_expr *x, void *c) { (void)c; return dy_squared_distance(x[0], x[1]); }
static dy_expr b_bll(const dy_expr *x, void *c) { (void)c; return dy_binary_log_loss(x[0], x[1]); }

/* A constant of x's dims (batch 1, broadcast) with element i = pat[i % np]. */
static dy_expr offset(dy_expr x, const double *pat, size_t np) {
  dy_dim d = dy_expr_dim(x);
  d.bd = 1;
  dy_real v[64];
  size_t m = dy_dim_size(d);
  ck_assert(m <= 64);
  for (size_t i = 0; i < m; i++) v[i] = (dy_real)pat[i % np];
  return dy_input(x.g, d, v);
}

/* l1(a + off, b) with off = +-2.5 and a, b in [-1, 1]: |a + off - b| >= 0.5. */
static dy_expr b_l1(const dy_expr *x, void *c) {
  (void)c;
  static const double pat[] = {2.5, -2.5, -2.5, 2.5, 2.5};
  return dy_l1_distance(dy_add(x[0], offset(x[0], pat, 5)), x[1]);
}

/* huber_c=1.5(a + off, b) with a, b in [-0.25, 0.25]: |d| < 1 (quadratic part)
 * or |d| > 2.5 (linear part), never within 0.5 of the threshold. */
static dy_expr b_huber(const dy_expr *x, void *c) {
  (void)c;
  static const double pat[] = {0, 3, -3, 0.5, -0.5, -3.2};
  return dy_huber_distance(dy_add(x[0], offset(x[0], pat, 6)), x[1], (dy_real)1.5);
}

/* hinge(x + 3 j, idx, margin 1) with x in [-0.4, 0.4]: term j is
 * 3 (j - idx) + 1 +- 0.8: active for j > idx, inactive (< -1.2) for j < idx. */
typedef struct { uint32_t idx; const uint32_t *idxs; } hinge_ctx;
static dy_expr b_hinge(const dy_expr *x, void *c) {
  const hinge_ctx *h = c;
  static const double pat[] = {0, 3, 6, 9, 12, 15, 18, 21};
  dy_expr y = dy_add(x[0], offset(x[0], pat, 8));
  return h->idxs ? dy_hinge_batch(y, h->idxs, 1) : dy_hinge(y, h->idx, 1);
}

/* Unary shapes: vector, matrix, 3-d, batched vector, batched matrix. */
static void grad_unary(const char *what, t_build b, double gap) {
  dy_dim shapes[] = {dy_d1(5), dy_d2(3, 4), dy_d3(2, 3, 2), dy_batch(dy_d1(4), 3),
                     dy_batch(dy_d2(2, 3), 2)};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    t_case c = t_case_of(1, &shapes[s]);
    c.gap = gap;
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck(what, b, NULL, &c, seed + 10 * s);
  }
}

/* Binary shapes: equal, matrix, 3-d, batched, broadcast either side. */
static void grad_binary(const char *what, t_build b, double lo, double hi) {
  dy_dim shapes[][2] = {
      {dy_d1(5), dy_d1(5)},
      {dy_d2(3, 4), dy_d2(3, 4)},
      {dy_d3(2, 3, 2), dy_d3(2, 3, 2)},
      {dy_batch(dy_d1(4), 3), dy_batch(dy_d1(4), 3)},
      {dy_batch(dy_d2(2, 3), 4), dy_d2(2, 3)}, /* broadcast second */
      {dy_d1(6), dy_batch(dy_d1(6), 2)},       /* broadcast first */
  };
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    t_case c = t_case_of(2, shapes[s]);
    c.lo = lo;
    c.hi = hi;
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck(what, b, NULL, &c, seed + 10 * s);
  }
}

START_TEST(grad_unary_reductions) {
  grad_unary("mean_elems", b_mean, 0);
  grad_unary("squared_norm", b_sqnorm, 0);
  grad_unary("l2_norm", b_l2, 0.1);
}
END_TEST

START_TEST(grad_binary_losses) {
  grad_binary("squared_distance", b_sqdist, -1, 1);
  grad_binary("l1_distance", b_l1, -1, 1);
  grad_binary("huber_distance", b_huber, -0.25, 0.25);
  grad_binary("binary_log_loss", b_bll, 0.1, 0.9);
}
END_TEST

START_TEST(grad_hinge) {
  struct { dy_dim d; uint32_t idx; } one[] = {
      {dy_d1(5), 2}, {dy_d2(4, 1), 0}, {dy_batch(dy_d1(6), 3), 3}, {dy_d1(3), 2}};
  for (int s = 0; s < 4; s++) {
    t_case c = t_case_of(1, &one[s].d);
    c.lo = -0.4;
    c.hi = 0.4;
    hinge_ctx h = {one[s].idx, NULL};
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("hinge", b_hinge, &h, &c, seed + 10 * s);
  }
  uint32_t i3[] = {0, 2, 4}, i1[] = {1}, i2[] = {3, 0};
  struct { dy_dim d; const uint32_t *idx; } bat[] = {
      {dy_batch(dy_d1(5), 3), i3}, {dy_d1(4), i1}, {dy_batch(dy_d2(4, 1), 2), i2}};
  for (int s = 0; s < 3; s++) {
    t_case c = t_case_of(1, &bat[s].d);
    c.lo = -0.4;
    c.hi = 0.4;
    hinge_ctx h = {0, bat[s].idx};
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("hinge_batch", b_hinge, &h, &c, seed + 10 * s);
  }
}
END_TEST

/* ---------------------------------------------------------- forward values */

static void ck_vals(const char *what, dy_expr e, const double *want, uint32_t n, double tol) {
  const dy_real *v = dy_forward(e);
  ck_assert_msg(v != NULL, "%s: %s", what, dy_graph_error(e.g));
  dy_dim d = dy_expr_dim(e);
  ck_assert_msg(dy_dim_per_batch(d) == 1 && d.bd == n, "%s: result is not {1} x %u", what, (unsigned)n);
  for (uint32_t i = 0; i < n; i++)
    ck_assert_msg(fabs((double)v[i] - want[i]) <= tol, "%s[%u] = %.9g, expected %.9g", what,
                  (unsigned)i, (double)v[i], want[i]);
}

START_TEST(forward_values) {
  dy_graph *g = dy_graph_new();
  dy_real av[] = {1, 2, 3, 4, 5, 6}, bv[] = {6, 5, 4, 3, 2, 1};
  dy_expr a = dy_input(g, dy_d2(2, 3), av), b = dy_input(g, dy_d2(2, 3), bv);
  const double mean[] = {3.5};
  ck_vals("mean_elems", dy_mean_elems(a), mean, 1, 1e-6);
  const double sqn[] = {91};
  ck_vals("squared_norm", dy_squared_norm(a), sqn, 1, 1e-4);
  dy_real v34[] = {3, -4};
  const double l2[] = {5};
  ck_vals("l2_norm", dy_l2_norm(dy_input(g, dy_d1(2), v34)), l2, 1, 1e-6);
  /* a - b = (-5, -3, -1, 1, 3, 5) */
  const double sqd[] = {70};
  ck_vals("squared_distance", dy_squared_distance(a, b), sqd, 1, 1e-4);
  const double l1[] = {18};
  ck_vals("l1_distance", dy_l1_distance(a, b), l1, 1, 1e-5);
  /* c = 2.5: |d| = 5, 3 -> 2.5 (2|d| - 2.5) = 18.75, 8.75; |d| = 1 -> 1 */
  const double hub[] = {2 * (18.75 + 8.75 + 1)};
  ck_vals("huber_distance", dy_huber_distance(a, b, (dy_real)2.5), hub, 1, 1e-4);

  /* batches: {3} x 2 against a broadcast {3} */
  dy_expr bb = dy_input(g, dy_batch(dy_d1(3), 2), av), z = dy_input(g, dy_d1(3), bv + 3);
  const double meanb[] = {2, 5};
  ck_vals("mean_elems (batch)", dy_mean_elems(bb), meanb, 2, 1e-6);
  const double sqnb[] = {14, 77};
  ck_vals("squared_norm (batch)", dy_squared_norm(bb), sqnb, 2, 1e-4);
  const double l2b[] = {3.741657387, 8.774964387};
  ck_vals("l2_norm (batch)", dy_l2_norm(bb), l2b, 2, 1e-5);
  /* (1,2,3) - (3,2,1) and (4,5,6) - (3,2,1) */
  const double sqdb[] = {8, 1 + 9 + 25};
  ck_vals("squared_distance (broadcast)", dy_squared_distance(bb, z), sqdb, 2, 1e-4);
  ck_vals("squared_distance (broadcast first)", dy_squared_distance(z, bb), sqdb, 2, 1e-4);
  const double l1b[] = {4, 9};
  ck_vals("l1_distance (broadcast)", dy_l1_distance(bb, z), l1b, 2, 1e-5);

  /* binary log loss: -(log .9 + log .8), -log .5 */
  dy_real p[] = {(dy_real)0.9, (dy_real)0.2}, y[] = {1, 0};
  const double bll[] = {0.328504067};
  ck_vals("binary_log_loss", dy_binary_log_loss(dy_input(g, dy_d1(2), p), dy_input(g, dy_d1(2), y)), bll, 1, 1e-6);
  dy_real h[] = {(dy_real)0.5};
  const double bllh[] = {0.693147181};
  ck_vals("binary_log_loss (y=0.5)", dy_binary_log_loss(dy_input(g, dy_d1(1), h), dy_input(g, dy_d1(1), h)), bllh, 1, 1e-6);
  /* a perfect prediction at the domain's edge costs 0, not NaN */
  dy_real pe[] = {0, 1}, ye[] = {0, 1};
  const double zero[] = {0};
  ck_vals("binary_log_loss (edges)", dy_binary_log_loss(dy_input(g, dy_d1(2), pe), dy_input(g, dy_d1(2), ye)), zero, 1, 0);

  /* hinge, margin 1, x = (1, 3, 2.5, -1): gold 1 -> 0.5; gold 0 -> 3 + 2.5 */
  dy_real hx[] = {1, 3, (dy_real)2.5, -1, 1, 3, (dy_real)2.5, -1};
  dy_expr hv = dy_input(g, dy_d1(4), hx);
  const double h1[] = {0.5}, h0[] = {5.5}, h3[] = {3 + 5 + 4.5};
  ck_vals("hinge (gold 1)", dy_hinge(hv, 1, 1), h1, 1, 1e-6);
  ck_vals("hinge (gold 0)", dy_hinge(hv, 0, 1), h0, 1, 1e-6);
  ck_vals("hinge (gold 3)", dy_hinge(hv, 3, 1), h3, 1, 1e-6);
  const double hz[] = {0};
  ck_vals("hinge (margin 0, gold is max)", dy_hinge(hv, 1, 0), hz, 1, 0);
  dy_expr hb = dy_input(g, dy_batch(dy_d1(4), 2), hx);
  uint32_t gi[] = {1, 0};
  dy_expr hbe = dy_hinge_batch(hb, gi, 1);
  gi[0] = gi[1] = 3; /* copied */
  const double hbw[] = {0.5, 5.5};
  ck_vals("hinge_batch", hbe, hbw, 2, 1e-6);
  const double hbo[] = {0.5, 0.5};
  ck_vals("hinge (batch, one index)", dy_hinge(hb, 1, 1), hbo, 2, 1e-6);
  ck_assert_ptr_null(dy_graph_error(g));
  dy_graph_free(g);
}
END_TEST

/* Backward by hand: hinge moves the gold score up and the active ones down. */
START_TEST(backward_values) {
  dy_graph *g = dy_graph_new();
  dy_real x[] = {1, 3, (dy_real)2.5, -1}, gx[4] = {0};
  dy_expr v = dy_variable(g, dy_d1(4), x, gx);
  ck_assert_int_eq(dy_backward(dy_hinge(v, 0, 1)), DY_OK);
  ck_close(gx[0], -2, 0);
  ck_close(gx[1], 1, 0);
  ck_close(gx[2], 1, 0);
  ck_close(gx[3], 0, 0);
  memset(gx, 0, sizeof gx);
  dy_graph_renew(g);
  v = dy_variable(g, dy_d1(4), x, gx);
  dy_real t[] = {0, 0, 0, 0};
  /* huber c=1.5 against 0: 2x inside (|x| < c), 2c sign(x) outside */
  ck_assert_int_eq(dy_backward(dy_huber_distance(v, dy_input(g, dy_d1(4), t), (dy_real)1.5)), DY_OK);
  ck_close(gx[0], 2, 1e-6);
  ck_close(gx[1], 3, 1e-6);
  ck_close(gx[2], 3, 1e-6);
  ck_close(gx[3], -2, 1e-6);
  dy_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ errors */

START_TEST(shape_errors) {
  dy_graph *g = dy_graph_new();
  dy_real v[24] = {0};
  const char *names[] = {"squared_distance", "l1_distance", "huber_distance", "binary_log_loss"};
  for (int k = 0; k < 4; k++) {
    dy_expr a = dy_input(g, dy_d1(3), v), b = dy_input(g, dy_d2(3, 2), v);
    dy_expr e = k == 0 ? dy_squared_distance(a, b)
              : k == 1 ? dy_l1_distance(a, b)
              : k == 2 ? dy_huber_distance(a, b, 1)
                       : dy_binary_log_loss(a, b);
    ck_assert(!dy_expr_valid(e));
    ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
    const char *m = dy_graph_error(g);
    ck_assert_msg(strstr(m, names[k]) && strstr(m, "node 2") && strstr(m, "node 0 {3}") &&
                      strstr(m, "node 1 {3,2}") && strstr(m, "equal dims"),
                  "%s", m);
    dy_graph_renew(g);
    /* batches 2 and 3 do not broadcast */
    a = dy_input(g, dy_batch(dy_d1(3), 2), v);
    b = dy_input(g, dy_batch(dy_d1(3), 3), v);
    e = k == 0 ? dy_squared_distance(a, b)
      : k == 1 ? dy_l1_distance(a, b)
      : k == 2 ? dy_huber_distance(a, b, 1)
               : dy_binary_log_loss(a, b);
    ck_assert(!dy_expr_valid(e));
    m = dy_graph_error(g);
    ck_assert_msg(strstr(m, names[k]) && strstr(m, "batch"), "%s", m);
    dy_graph_renew(g);
  }
  dy_graph_free(g);
}
END_TEST

START_TEST(index_errors) {
  dy_graph *g = dy_graph_new();
  dy_real v[24] = {0};
  dy_expr a = dy_input(g, dy_d1(4), v);
  ck_assert(!dy_expr_valid(dy_hinge(a, 4, 1)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  const char *m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "hinge") && strstr(m, "node 1") && strstr(m, "index 4") && strstr(m, "size 4"), "%s", m);
  dy_graph_renew(g);
  dy_expr b = dy_input(g, dy_batch(dy_d1(3), 2), v);
  uint32_t ix[] = {7, 0};
  ck_assert(!dy_expr_valid(dy_hinge_batch(b, ix, 1)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "hinge") && strstr(m, "node 1") && strstr(m, "index 7") &&
                    strstr(m, "batch element 0") && strstr(m, "size 3"),
                "%s", m);
  dy_graph_renew(g);
  b = dy_input(g, dy_d2(3, 2), v);
  ck_assert(!dy_expr_valid(dy_hinge(b, 0, 1)));
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  ck_assert_msg(strstr(dy_graph_error(g), "vector"), "%s", dy_graph_error(g));
  dy_graph_renew(g);
  b = dy_input(g, dy_d1(3), v);
  ck_assert(!dy_expr_valid(dy_hinge_batch(b, NULL, 1)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  dy_graph_free(g);
  const char *names[] = {"mean_elems", "squared_norm", "l2_norm", "squared_distance", "l1_distance",
                         "huber_distance", "binary_log_loss", "hinge", "sum_elems", "sum_batches"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    ck_assert_msg(dy_op_find(names[i]) != NULL, "%s not in the op table", names[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ops_reduce");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, forward_values);
  tcase_add_test(t, backward_values);
  tcase_add_test(t, shape_errors);
  tcase_add_test(t, index_errors);
  tcase_add_test(t, grad_unary_reductions);
  tcase_add_test(t, grad_binary_losses);
  tcase_add_test(t, grad_hinge);
  suite_add_tcase(s, t);
  return t_run(s);
}
