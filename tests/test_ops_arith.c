/* Arithmetic, linear algebra and basic reductions: forward values by hand,
 * gradients by finite differences over several shapes, batches, broadcasts. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ builders */
static dy_expr b_add(const dy_expr *x, void *c) { (void)c; return dy_add(x[0], x[1]); }
static dy_expr b_sub(const dy_expr *x, void *c) { (void)c; return dy_sub(x[0], x[1]); }
static dy_expr b_neg(const dy_expr *x, void *c) { (void)c; return dy_neg(x[0]); }
static dy_expr b_cmult(const dy_expr *x, void *c) { (void)c; return dy_cmult(x[0], x[1]); }
static dy_expr b_cdiv(const dy_expr *x, void *c) { (void)c; return dy_cdiv(x[0], x[1]); }
static dy_expr b_adds(const dy_expr *x, void *c) { (void)c; return dy_add_scalar(x[0], (dy_real)0.7); }
static dy_expr b_muls(const dy_expr *x, void *c) { (void)c; return dy_mul_scalar(x[0], (dy_real)-1.3); }
static dy_expr b_sum3(const dy_expr *x, void *c) { (void)c; return dy_sum(x, 3); }
static dy_expr b_avg3(const dy_expr *x, void *c) { (void)c; return dy_average(x, 3); }
static dy_expr b_matmul(const dy_expr *x, void *c) { (void)c; return dy_matmul(x[0], x[1]); }
static dy_expr b_affine(const dy_expr *x, void *c) { (void)c; return dy_affine(x[0], x[1], x[2]); }
static dy_expr b_affine2(const dy_expr *x, void *c) { (void)c; return dy_affine_n(x, 5); }
/* The same product twice: the later node's backward meets fresh (uninitialised)
 * argument gradients and writes them (DY_OP_BWD_ASSIGN), the earlier one adds. */
static dy_expr b_matmul_twice(const dy_expr *x, void *c) {
  (void)c;
  return dy_add(dy_matmul(x[0], x[1]), dy_matmul(x[0], x[1]));
}
static dy_expr b_affine_twice(const dy_expr *x, void *c) {
  (void)c;
  return dy_add(dy_affine(x[0], x[1], x[2]), dy_affine(x[0], x[1], x[2]));
}
static dy_expr b_transpose(const dy_expr *x, void *c) { (void)c; return dy_transpose(x[0]); }
static dy_expr b_dot(const dy_expr *x, void *c) { (void)c; return dy_dot(x[0], x[1]); }
static dy_expr b_sum_elems(const dy_expr *x, void *c) { (void)c; return dy_sum_elems(x[0]); }
static dy_expr b_sum_batches(const dy_expr *x, void *c) { (void)c; return dy_sum_batches(x[0]); }

/* Unary/binary elementwise shapes: vector, matrix, 3-d, batched, broadcast. */
static void grad_shapes(const char *what, t_build b, uint32_t nin, double lo, double hi) {
  dy_dim shapes[][2] = {
      {dy_d1(5), dy_d1(5)},
      {dy_d2(3, 4), dy_d2(3, 4)},
      {dy_d3(2, 3, 2), dy_d3(2, 3, 2)},
      {dy_batch(dy_d1(4), 3), dy_batch(dy_d1(4), 3)},
      {dy_batch(dy_d2(2, 3), 4), dy_d2(2, 3)},  /* broadcast second */
      {dy_d1(6), dy_batch(dy_d1(6), 2)},        /* broadcast first */
  };
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    if (nin == 1 && s == 5) continue;
    t_case c = t_case_of(nin, shapes[s]);
    c.lo = lo;
    c.hi = hi;
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck(what, b, NULL, &c, seed + 10 * s);
  }
}

START_TEST(grad_elementwise_binary) {
  grad_shapes("add", b_add, 2, -1, 1);
  grad_shapes("sub", b_sub, 2, -1, 1);
  grad_shapes("cmult", b_cmult, 2, -1, 1);
  grad_shapes("cdiv", b_cdiv, 2, 0.5, 2);
}
END_TEST

START_TEST(grad_elementwise_unary) {
  grad_shapes("neg", b_neg, 1, -1, 1);
  grad_shapes("add_scalar", b_adds, 1, -1, 1);
  grad_shapes("mul_scalar", b_muls, 1, -1, 1);
  grad_shapes("sum_elems", b_sum_elems, 1, -1, 1);
  grad_shapes("sum_batches", b_sum_batches, 1, -1, 1);
}
END_TEST

START_TEST(grad_sum_average) {
  dy_dim sh[][3] = {
      {dy_d1(4), dy_d1(4), dy_d1(4)},
      {dy_d2(2, 3), dy_d2(2, 3), dy_d2(2, 3)},
      {dy_batch(dy_d1(3), 2), dy_d1(3), dy_batch(dy_d1(3), 2)},
  };
  for (int s = 0; s < 3; s++) {
    t_case c = t_case_of(3, sh[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) {
      t_gradcheck("sum", b_sum3, NULL, &c, seed + s * 10);
      t_gradcheck("average", b_avg3, NULL, &c, seed + s * 10);
    }
  }
}
END_TEST

START_TEST(grad_matmul) {
  dy_dim sh[][2] = {
      {dy_d2(3, 4), dy_d1(4)},
      {dy_d2(3, 4), dy_d2(4, 2)},
      {dy_d2(5, 3), dy_batch(dy_d1(3), 4)},           /* one gemm path */
      {dy_batch(dy_d2(2, 3), 3), dy_d2(3, 2)},        /* batched A */
      {dy_batch(dy_d2(2, 3), 2), dy_batch(dy_d1(3), 2)},
      {dy_d2(1, 4), dy_d2(4, 1)},
  };
  for (int s = 0; s < 6; s++) {
    t_case c = t_case_of(2, sh[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("matmul", b_matmul, NULL, &c, seed + s * 10);
    t_gradcheck("matmul twice", b_matmul_twice, NULL, &c, 100 + s);
  }
}
END_TEST

START_TEST(grad_affine) {
  dy_dim sh[][3] = {
      {dy_d1(3), dy_d2(3, 4), dy_d1(4)},
      {dy_d2(3, 2), dy_d2(3, 4), dy_d2(4, 2)},
      {dy_d1(5), dy_d2(5, 3), dy_batch(dy_d1(3), 4)},
      {dy_batch(dy_d1(2), 3), dy_d2(2, 3), dy_d1(3)}, /* only the bias is batched */
  };
  for (int s = 0; s < 4; s++) {
    t_case c = t_case_of(3, sh[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("affine", b_affine, NULL, &c, seed + s * 10);
    t_gradcheck("affine twice", b_affine_twice, NULL, &c, 100 + s);
  }
  dy_dim sh2[][5] = {
      {dy_d1(3), dy_d2(3, 4), dy_d1(4), dy_d2(3, 2), dy_d1(2)},
      {dy_d1(3), dy_d2(3, 4), dy_batch(dy_d1(4), 3), dy_d2(3, 2), dy_batch(dy_d1(2), 3)},
      {dy_d1(3), dy_d2(3, 4), dy_batch(dy_d1(4), 2), dy_d2(3, 2), dy_d1(2)},
  };
  for (int s = 0; s < 3; s++) {
    t_case c = t_case_of(5, sh2[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("affine2", b_affine2, NULL, &c, seed + s * 10);
  }
}
END_TEST

START_TEST(grad_transpose_dot) {
  dy_dim st[] = {dy_d2(3, 4), dy_d1(5), dy_batch(dy_d2(2, 3), 3)};
  for (int s = 0; s < 3; s++) {
    t_case c = t_case_of(1, &st[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("transpose", b_transpose, NULL, &c, seed + s);
  }
  dy_dim sd[][2] = {{dy_d1(5), dy_d1(5)},
                    {dy_batch(dy_d1(4), 3), dy_d1(4)},
                    {dy_batch(dy_d1(3), 2), dy_batch(dy_d1(3), 2)}};
  for (int s = 0; s < 3; s++) {
    t_case c = t_case_of(2, sd[s]);
    for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck("dot", b_dot, NULL, &c, seed + s);
  }
}
END_TEST

/* ---------------------------------------------------------- forward values */

START_TEST(forward_values) {
  dy_graph *g = dy_graph_new();
  dy_real av[] = {1, 2, 3, 4, 5, 6}, bv[] = {6, 5, 4, 3, 2, 1};
  dy_expr a = dy_input(g, dy_d2(2, 3), av), b = dy_input(g, dy_d2(2, 3), bv);
  const dy_real *y = dy_forward(dy_add(a, b));
  for (int i = 0; i < 6; i++) ck_close(y[i], 7, 0);
  y = dy_forward(dy_sub(a, b));
  ck_close(y[0], -5, 0);
  ck_close(y[5], 5, 0);
  y = dy_forward(dy_cmult(a, b));
  ck_close(y[1], 10, 0);
  y = dy_forward(dy_cdiv(a, b));
  ck_close(y[2], 0.75, 1e-7);
  y = dy_forward(dy_neg(a));
  ck_close(y[3], -4, 0);
  y = dy_forward(dy_add_scalar(a, 0.5));
  ck_close(y[0], 1.5, 0);
  y = dy_forward(dy_mul_scalar(a, 2));
  ck_close(y[5], 12, 0);
  dy_expr xs[3] = {a, b, a};
  y = dy_forward(dy_sum(xs, 3));
  ck_close(y[0], 8, 0);
  y = dy_forward(dy_average(xs, 3));
  ck_close(y[0], 8.0 / 3, 1e-6);
  /* (2,3) x (3,2): [[1,2,3],[4,5,6]] x [[6,5],[4,3],[2,1]] = [[20,14],[56,41]] */
  y = dy_forward(dy_matmul(a, dy_input(g, dy_d2(3, 2), bv)));
  ck_close(y[0], 20, 0);
  ck_close(y[1], 14, 0);
  ck_close(y[2], 56, 0);
  ck_close(y[3], 41, 0);
  dy_real xv[] = {1, 0, -1}, bias[] = {0.5, -0.5};
  dy_expr af = dy_affine(dy_input(g, dy_d1(2), bias), a, dy_input(g, dy_d1(3), xv));
  y = dy_forward(af);
  ck_close(y[0], 0.5 + 1 - 3, 0);
  ck_close(y[1], -0.5 + 4 - 6, 0);
  ck_assert_uint_eq(dy_expr_dim(af).nd, 1);
  y = dy_forward(dy_transpose(a));
  dy_real tv[] = {1, 4, 2, 5, 3, 6};
  for (int i = 0; i < 6; i++) ck_close(y[i], tv[i], 0);
  ck_close(dy_scalar(dy_dot(dy_input(g, dy_d1(3), xv), dy_input(g, dy_d1(3), av))), 1 - 3, 0);
  ck_close(dy_scalar(dy_sum_elems(a)), 21, 0);
  /* batch: {3} x 2 summed over the batch */
  dy_expr bb = dy_input(g, dy_batch(dy_d1(3), 2), av);
  y = dy_forward(dy_sum_batches(bb));
  ck_close(y[0], 5, 0);
  ck_close(y[2], 9, 0);
  y = dy_forward(dy_sum_elems(bb));
  ck_close(y[0], 6, 0);
  ck_close(y[1], 15, 0);
  /* broadcast: {3} x 2 + {3} */
  y = dy_forward(dy_add(bb, dy_input(g, dy_d1(3), xv)));
  ck_close(y[0], 2, 0);
  ck_close(y[5], 5, 0);
  /* batched matrix-vector as one gemm: W(2,3) x {3}x2 */
  y = dy_forward(dy_matmul(a, bb));
  ck_close(y[0], 14, 0);
  ck_close(y[1], 32, 0);
  ck_close(y[2], 32, 0);
  ck_close(y[3], 77, 0);
  ck_assert_ptr_null(dy_graph_error(g));
  dy_graph_free(g);
}
END_TEST

/* -------------------------------------------------------- shape errors */

START_TEST(shape_errors_name_everything) {
  dy_graph *g = dy_graph_new();
  dy_real v[12] = {0};
  dy_expr a = dy_input(g, dy_d1(3), v), b = dy_input(g, dy_d1(4), v);
  dy_expr c = dy_add(a, b);
  ck_assert(!dy_expr_valid(c));
  const char *m = dy_graph_error(g);
  ck_assert_ptr_nonnull(m);
  ck_assert_msg(strstr(m, "add") && strstr(m, "node 0 {3}") && strstr(m, "node 1 {4}"), "%s", m);
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  dy_graph_renew(g);
  dy_expr W = dy_input(g, dy_d2(2, 3), v), x = dy_input(g, dy_d1(4), v);
  ck_assert(!dy_expr_valid(dy_matmul(W, x)));
  m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "matmul") && strstr(m, "{2,3}") && strstr(m, "{4}") && strstr(m, "columns"), "%s", m);
  dy_graph_renew(g);
  dy_expr bb = dy_input(g, dy_batch(dy_d1(2), 3), v), bc = dy_input(g, dy_batch(dy_d1(2), 2), v);
  ck_assert(!dy_expr_valid(dy_cmult(bb, bc)));
  ck_assert_msg(strstr(dy_graph_error(g), "batch"), "%s", dy_graph_error(g));
  dy_graph_renew(g);
  dy_expr bias = dy_input(g, dy_d1(3), v);
  W = dy_input(g, dy_d2(2, 3), v);
  x = dy_input(g, dy_d1(3), v);
  ck_assert(!dy_expr_valid(dy_affine(bias, W, x)));
  ck_assert_msg(strstr(dy_graph_error(g), "bias"), "%s", dy_graph_error(g));
  dy_graph_free(g);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ops_arith");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, forward_values);
  tcase_add_test(t, shape_errors_name_everything);
  tcase_add_test(t, grad_elementwise_binary);
  tcase_add_test(t, grad_elementwise_unary);
  tcase_add_test(t, grad_sum_average);
  tcase_add_test(t, grad_matmul);
  tcase_add_test(t, grad_affine);
  tcase_add_test(t, grad_transpose_dot);
  suite_add_tcase(s, t);
  return t_run(s);
}
