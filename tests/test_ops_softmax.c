/* Softmax family: forward values by hand (also at large values, where a
 * naive exp overflows), gradients by finite differences over vectors,
 * matrices (per column), 3-d tensors and batches, and index/shape errors. */
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ builders */
static dy_expr b_softmax(const dy_expr *x, void *c) { (void)c; return dy_softmax(x[0]); }
static dy_expr b_log_softmax(const dy_expr *x, void *c) { (void)c; return dy_log_softmax(x[0]); }
static dy_expr b_logsumexp(const dy_expr *x, void *c) { (void)c; return dy_logsumexp(x[0]); }
static dy_expr b_pnls(const dy_expr *x, void *c) { return dy_pick_neg_log_softmax(x[0], *(const uint32_t *)c); }
static dy_expr b_pnls_batch(const dy_expr *x, void *c) { return dy_pick_neg_log_softmax_batch(x[0], c); }

/* Per-column shapes: vector, (n,1), matrix, 3-d, batched vector, batched matrix. */
static void grad_columns(const char *what, t_build b) {
  dy_dim shapes[] = {dy_d1(5), dy_d2(4, 1), dy_d2(3, 4), dy_d3(2, 3, 2), dy_batch(dy_d1(4), 3),
                     dy_batch(dy_d2(3, 2), 2)};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    t_case c = t_case_of(1, &shapes[s]);
    c.lo = -2;
    c.hi = 2;
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck(what, b, NULL, &c, seed + 10 * s);
  }
}

START_TEST(grad_softmax_log_softmax_logsumexp) {
  grad_columns("softmax", b_softmax);
  grad_columns("log_softmax", b_log_softmax);
  grad_columns("logsumexp", b_logsumexp);
}
END_TEST

START_TEST(grad_pick_neg_log_softmax) {
  struct { dy_dim d; uint32_t idx; } one[] = {
      {dy_d1(5), 2}, {dy_d2(4, 1), 3}, {dy_batch(dy_d1(4), 3), 0}, {dy_d1(1), 0}};
  for (int s = 0; s < 4; s++) {
    t_case c = t_case_of(1, &one[s].d);
    c.lo = -2;
    c.hi = 2;
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("pick_neg_log_softmax", b_pnls, &one[s].idx, &c, seed + 10 * s);
  }
  uint32_t i3[] = {0, 3, 1}, i1[] = {2}, i2[] = {4, 4};
  struct { dy_dim d; uint32_t *idx; } bat[] = {
      {dy_batch(dy_d1(4), 3), i3}, {dy_d1(3), i1}, {dy_batch(dy_d2(5, 1), 2), i2}};
  for (int s = 0; s < 3; s++) {
    t_case c = t_case_of(1, &bat[s].d);
    c.lo = -2;
    c.hi = 2;
    for (uint64_t seed = 1; seed <= 3; seed++)
      t_gradcheck("pick_neg_log_softmax_batch", b_pnls_batch, bat[s].idx, &c, seed + 10 * s);
  }
}
END_TEST

/* pick_neg_log_softmax writes a fresh argument gradient (DY_OP_BWD_ASSIGN)
 * instead of adding to a zero-filled one: its contribution must come out
 * right whether it is the first, a later one, or both (the argument shared
 * with other ops in either order, and with a second pick), and over lengths
 * that run the vector loops and their tails (16 lanes). */
static dy_expr b_pnls_first(const dy_expr *x, void *c) { /* pnls contributes last (added) */
  const uint32_t *ix = c;
  dy_expr p = dy_pick_neg_log_softmax(x[0], ix[0]);
  return dy_add(p, dy_sum_elems(dy_cmult(x[0], x[0])));
}
static dy_expr b_pnls_last(const dy_expr *x, void *c) { /* pnls contributes first (assigned) */
  const uint32_t *ix = c;
  dy_expr q = dy_sum_elems(dy_cmult(x[0], x[0]));
  return dy_add(q, dy_pick_neg_log_softmax(x[0], ix[0]));
}
static dy_expr b_pnls_twice(const dy_expr *x, void *c) { /* assigned, then added */
  const uint32_t *ix = c;
  return dy_add(dy_pick_neg_log_softmax(x[0], ix[0]), dy_pick_neg_log_softmax(x[0], ix[1]));
}
static dy_expr b_pnls_batch_long(const dy_expr *x, void *c) {
  return dy_pick_neg_log_softmax_batch(x[0], c);
}

START_TEST(grad_pick_neg_log_softmax_fresh) {
  uint32_t lens[] = {1, 15, 16, 17, 37, 100};
  for (size_t s = 0; s < sizeof lens / sizeof lens[0]; s++) {
    uint32_t n = lens[s], ix[2] = {n / 2, n - 1};
    dy_dim d = dy_d1(n);
    t_case c = t_case_of(1, &d);
    c.lo = -3;
    c.hi = 3;
    t_gradcheck("pnls, then another op", b_pnls_first, ix, &c, 100 + s);
    t_gradcheck("another op, then pnls", b_pnls_last, ix, &c, 200 + s);
    t_gradcheck("pnls twice", b_pnls_twice, ix, &c, 300 + s);
    uint32_t bix[3] = {0, n - 1, n / 3};
    dy_dim db = dy_batch(dy_d1(n), 3);
    t_case cb = t_case_of(1, &db);
    cb.lo = -3;
    cb.hi = 3;
    t_gradcheck("pnls batch", b_pnls_batch_long, bix, &cb, 400 + s);
  }
}
END_TEST

/* ---------------------------------------------------------- forward values */

static void ck_vals(const char *what, const dy_real *v, const double *want, int n, double tol) {
  ck_assert_msg(v != NULL, "%s: no value", what);
  for (int i = 0; i < n; i++)
    ck_assert_msg(fabs((double)v[i] - want[i]) <= tol, "%s[%d] = %.9g, expected %.9g", what, i,
                  (double)v[i], want[i]);
}

START_TEST(forward_values) {
  dy_graph *g = dy_graph_new();
  dy_real x[] = {1, 2, 3};
  dy_expr a = dy_input(g, dy_d1(3), x);
  /* e^{x-3} / (1 + e^-1 + e^-2) */
  const double sm[] = {0.090030573, 0.244728471, 0.665240956};
  ck_vals("softmax", dy_forward(dy_softmax(a)), sm, 3, 1e-6);
  const double lsm[] = {-2.407605964, -1.407605964, -0.407605964};
  ck_vals("log_softmax", dy_forward(dy_log_softmax(a)), lsm, 3, 1e-6);
  const double lse[] = {3.407605964};
  dy_expr l = dy_logsumexp(a);
  ck_vals("logsumexp", dy_forward(l), lse, 1, 1e-6);
  ck_assert_uint_eq(dy_dim_size(dy_expr_dim(l)), 1);
  ck_close(dy_scalar(dy_pick_neg_log_softmax(a, 0)), 2.407605964, 1e-6);
  ck_close(dy_scalar(dy_pick_neg_log_softmax(a, 2)), 0.407605964, 1e-6);

  /* matrix (2,3) [[1,2,3],[4,5,6]]: every column is (c, c+3) */
  dy_real m[] = {1, 2, 3, 4, 5, 6};
  dy_expr am = dy_input(g, dy_d2(2, 3), m);
  const double smm[] = {0.047425873, 0.047425873, 0.047425873, 0.952574127, 0.952574127, 0.952574127};
  ck_vals("softmax (matrix)", dy_forward(dy_softmax(am)), smm, 6, 1e-6);
  const double lsmm[] = {-3.048587352, -3.048587352, -3.048587352, -0.048587352, -0.048587352, -0.048587352};
  ck_vals("log_softmax (matrix)", dy_forward(dy_log_softmax(am)), lsmm, 6, 1e-6);
  dy_expr lm = dy_logsumexp(am);
  dy_dim ld = dy_expr_dim(lm);
  ck_assert_uint_eq(ld.d[0], 1);
  ck_assert_uint_eq(ld.d[1], 3);
  const double lsem[] = {4.048587352, 5.048587352, 6.048587352};
  ck_vals("logsumexp (matrix)", dy_forward(lm), lsem, 3, 1e-5);

  /* large values: no overflow, no NaN */
  dy_real big[] = {1000, 1001, -1000};
  dy_expr ab = dy_input(g, dy_d1(3), big);
  const double smb[] = {0.268941421, 0.731058579, 0};
  ck_vals("softmax (large)", dy_forward(dy_softmax(ab)), smb, 3, 1e-6);
  const double lsmb[] = {-1.313261688, -0.313261688, -2001.313261688};
  ck_vals("log_softmax (large)", dy_forward(dy_log_softmax(ab)), lsmb, 3, 1e-3);
  ck_close(dy_scalar(dy_logsumexp(ab)), 1001.313261688, 1e-3);
  ck_close(dy_scalar(dy_pick_neg_log_softmax(ab, 2)), 2001.313261688, 1e-3);

  /* a masked entry (-Inf) gets probability ~0 and log-probability -Inf */
  dy_real mk[] = {0, -INFINITY, 0};
  dy_expr am2 = dy_input(g, dy_d1(3), mk);
  const double smk[] = {0.5, 0, 0.5};
  ck_vals("softmax (-Inf entry)", dy_forward(dy_softmax(am2)), smk, 3, 1e-7);
  const dy_real *lk = dy_forward(dy_log_softmax(am2));
  ck_assert(isinf(lk[1]) && lk[1] < 0);
  ck_close(lk[0], -0.693147181, 1e-6);

  /* batch of 2 vectors {3}: (1,2,3) and (3,2,1) */
  dy_real bx[] = {1, 2, 3, 3, 2, 1};
  dy_expr bb = dy_input(g, dy_batch(dy_d1(3), 2), bx);
  const double smbt[] = {0.090030573, 0.244728471, 0.665240956, 0.665240956, 0.244728471, 0.090030573};
  ck_vals("softmax (batch)", dy_forward(dy_softmax(bb)), smbt, 6, 1e-6);
  dy_expr p1 = dy_pick_neg_log_softmax(bb, 2);
  ck_assert_uint_eq(dy_expr_dim(p1).bd, 2);
  const double pw[] = {0.407605964, 2.407605964};
  ck_vals("pick_neg_log_softmax (batch, one index)", dy_forward(p1), pw, 2, 1e-6);
  uint32_t ix[] = {2, 0};
  dy_expr p2 = dy_pick_neg_log_softmax_batch(bb, ix);
  ix[0] = ix[1] = 1; /* the indices were copied */
  const double pw2[] = {0.407605964, 0.407605964};
  ck_vals("pick_neg_log_softmax_batch", dy_forward(p2), pw2, 2, 1e-6);
  const double lseb[] = {3.407605964, 3.407605964};
  ck_vals("logsumexp (batch)", dy_forward(dy_logsumexp(bb)), lseb, 2, 1e-6);
  ck_assert_ptr_null(dy_graph_error(g));
  dy_graph_free(g);
}
END_TEST

/* Backward by hand: d/dx -log softmax(x)[i] = softmax(x) - onehot(i). */
START_TEST(backward_values) {
  dy_graph *g = dy_graph_new();
  dy_real x[] = {1, 2, 3}, gx[3] = {0};
  dy_expr v = dy_variable(g, dy_d1(3), x, gx);
  ck_assert_int_eq(dy_backward(dy_pick_neg_log_softmax(v, 1)), DY_OK);
  ck_close(gx[0], 0.090030573, 1e-6);
  ck_close(gx[1], 0.244728471 - 1, 1e-6);
  ck_close(gx[2], 0.665240956, 1e-6);
  dy_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ errors */

START_TEST(index_errors) {
  dy_graph *g = dy_graph_new();
  dy_real v[12] = {0};
  dy_expr a = dy_input(g, dy_d1(5), v);
  ck_assert(!dy_expr_valid(dy_pick_neg_log_softmax(a, 5)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  const char *m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "pick_neg_log_softmax") && strstr(m, "node 1") && strstr(m, "node 0 {5}") &&
                    strstr(m, "index 5") && strstr(m, "size 5"),
                "%s", m);
  /* sticky: later ops pass on, the message stays */
  ck_assert(!dy_expr_valid(dy_softmax(a)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);

  dy_graph_renew(g);
  dy_expr b = dy_input(g, dy_batch(dy_d1(4), 3), v);
  uint32_t ix[] = {0, 3, 9};
  ck_assert(!dy_expr_valid(dy_pick_neg_log_softmax_batch(b, ix)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "pick_neg_log_softmax") && strstr(m, "node 1") && strstr(m, "index 9") &&
                    strstr(m, "batch element 2") && strstr(m, "size 4"),
                "%s", m);

  dy_graph_renew(g);
  b = dy_input(g, dy_batch(dy_d1(4), 2), v);
  ck_assert(!dy_expr_valid(dy_pick_neg_log_softmax_batch(b, NULL)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  ck_assert_msg(strstr(dy_graph_error(g), "NULL"), "%s", dy_graph_error(g));

  /* not a vector */
  dy_graph_renew(g);
  dy_expr mtx = dy_input(g, dy_d2(3, 4), v);
  ck_assert(!dy_expr_valid(dy_pick_neg_log_softmax(mtx, 0)));
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "pick_neg_log_softmax") && strstr(m, "{3,4}") && strstr(m, "vector"), "%s", m);

  /* a stale argument is reported, not read */
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_pick_neg_log_softmax_batch(mtx, ix)));
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  dy_graph_free(g);

  const char *names[] = {"softmax", "log_softmax", "logsumexp", "pick_neg_log_softmax"};
  for (size_t i = 0; i < 4; i++) ck_assert_msg(dy_op_find(names[i]) != NULL, "%s not in the op table", names[i]);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ops_softmax");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, forward_values);
  tcase_add_test(t, backward_values);
  tcase_add_test(t, index_errors);
  tcase_add_test(t, grad_softmax_log_softmax_logsumexp);
  tcase_add_test(t, grad_pick_neg_log_softmax);
  tcase_add_test(t, grad_pick_neg_log_softmax_fresh);
  suite_add_tcase(s, t);
  return t_run(s);
}
