/* Shape ops: concat, concat_cols, pick, pick_batch, pick_range, select_rows,
 * reshape, pick_batch_elem, concat_to_batch. Forward values by hand, gradients
 * by finite differences over several shapes, batches and broadcasts, and the
 * errors (with what their messages must name). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* ------------------------------------------------------------ builders */
/* ctx of the n-ary builders: the argument count */
static dy_expr b_concat(const dy_expr *x, void *c) { return dy_concat(x, *(uint32_t *)c); }
static dy_expr b_concat_cols(const dy_expr *x, void *c) { return dy_concat_cols(x, *(uint32_t *)c); }
static dy_expr b_to_batch(const dy_expr *x, void *c) { return dy_concat_to_batch(x, *(uint32_t *)c); }

typedef struct {
  uint32_t idx, end, dim;
  const uint32_t *ids; /* pick_batch indices / select_rows rows */
  uint32_t n;
  dy_dim to;           /* reshape target */
} args;
static dy_expr b_pick(const dy_expr *x, void *c) { args *a = c; return dy_pick(x[0], a->idx, a->dim); }
static dy_expr b_pick_batch(const dy_expr *x, void *c) { args *a = c; return dy_pick_batch(x[0], a->ids, a->dim); }
static dy_expr b_pick_range(const dy_expr *x, void *c) { args *a = c; return dy_pick_range(x[0], a->idx, a->end, a->dim); }
static dy_expr b_select_rows(const dy_expr *x, void *c) { args *a = c; return dy_select_rows(x[0], a->ids, a->n); }
static dy_expr b_reshape(const dy_expr *x, void *c) { args *a = c; return dy_reshape(x[0], a->to); }
static dy_expr b_pick_batch_elem(const dy_expr *x, void *c) { args *a = c; return dy_pick_batch_elem(x[0], a->idx); }

/* 3 seeds of one case */
static void grad3(const char *what, t_build b, void *ctx, uint32_t nin, const dy_dim *dims, uint64_t base) {
  t_case c = t_case_of(nin, dims);
  for (uint64_t seed = 1; seed <= 3; seed++) t_gradcheck(what, b, ctx, &c, base + seed);
}

static dy_dim vb(uint32_t n, uint32_t bd) { return dy_batch(dy_d1(n), bd); }
static dy_dim mb(uint32_t r, uint32_t c, uint32_t bd) { return dy_batch(dy_d2(r, c), bd); }

/* ---------------------------------------------------------- gradients */

START_TEST(grad_concat) {
  dy_dim s[][3] = {
      {dy_d1(2), dy_d1(3), dy_d1(1)},
      {dy_d2(2, 3), dy_d2(1, 3), dy_d2(3, 3)},
      {dy_d3(1, 2, 2), dy_d3(2, 2, 2), dy_d3(1, 2, 2)},
      {vb(2, 3), vb(3, 3), vb(1, 3)},           /* batched */
      {vb(2, 3), dy_d1(3), vb(1, 3)},           /* broadcast middle */
      {dy_d2(1, 2), mb(2, 2, 2), dy_d2(2, 2)},  /* broadcast first and last */
  };
  uint32_t three = 3, two = 2;
  for (int i = 0; i < 6; i++) grad3("concat", b_concat, &three, 3, s[i], 10u * i);
  dy_dim s2[] = {vb(4, 2), dy_d1(2)};
  grad3("concat(2)", b_concat, &two, 2, s2, 100);
}
END_TEST

START_TEST(grad_concat_cols) {
  dy_dim s[][3] = {
      {dy_d2(3, 2), dy_d1(3), dy_d2(3, 1)},      /* a vector counts as (r,1) */
      {dy_d2(2, 1), dy_d2(2, 3), dy_d2(2, 2)},
      {dy_d3(2, 1, 2), dy_d3(2, 2, 2), dy_d3(2, 1, 2)},
      {mb(2, 2, 2), mb(2, 1, 2), mb(2, 3, 2)},   /* batched */
      {dy_d2(3, 2), mb(3, 1, 3), dy_d1(3)},      /* broadcast first and last */
  };
  uint32_t three = 3;
  for (int i = 0; i < 5; i++) grad3("concat_cols", b_concat_cols, &three, 3, s[i], 10u * i);
}
END_TEST

START_TEST(grad_pick) {
  struct { dy_dim d; uint32_t idx, dim; } s[] = {
      {dy_d1(5), 3, 0},     {dy_d2(3, 4), 2, 1}, {dy_d2(3, 4), 1, 0},
      {dy_d3(2, 3, 2), 1, 2}, {mb(4, 3, 3), 2, 0}, {mb(4, 3, 2), 0, 1},
  };
  for (int i = 0; i < 6; i++) {
    args a = {.idx = s[i].idx, .dim = s[i].dim};
    grad3("pick", b_pick, &a, 1, &s[i].d, 10u * i);
  }
}
END_TEST

START_TEST(grad_pick_batch) {
  uint32_t i0[] = {0, 3, 1}, i1[] = {3, 0}, i2[] = {2}, i3[] = {1, 0};
  struct { dy_dim d; const uint32_t *ids; uint32_t dim; } s[] = {
      {vb(4, 3), i0, 0}, {mb(3, 4, 2), i1, 1}, {dy_d1(5), i2, 0}, {dy_batch(dy_d3(2, 3, 2), 2), i3, 2},
  };
  for (int i = 0; i < 4; i++) {
    args a = {.ids = s[i].ids, .dim = s[i].dim};
    grad3("pick_batch", b_pick_batch, &a, 1, &s[i].d, 10u * i);
  }
}
END_TEST

START_TEST(grad_pick_range) {
  struct { dy_dim d; uint32_t b, e, dim; } s[] = {
      {dy_d1(6), 1, 4, 0}, {dy_d2(3, 4), 1, 3, 1}, {mb(3, 4, 2), 0, 2, 0},
      {dy_d3(2, 3, 4), 1, 3, 2}, {vb(5, 3), 4, 5, 0},
  };
  for (int i = 0; i < 5; i++) {
    args a = {.idx = s[i].b, .end = s[i].e, .dim = s[i].dim};
    grad3("pick_range", b_pick_range, &a, 1, &s[i].d, 10u * i);
  }
}
END_TEST

START_TEST(grad_select_rows) {
  uint32_t r0[] = {4, 0, 0, 2}, r1[] = {3, 1}, r2[] = {0, 0, 3}, r3[] = {2, 1};
  struct { dy_dim d; const uint32_t *rows; uint32_t n; } s[] = {
      {dy_d1(5), r0, 4}, {dy_d2(4, 3), r1, 2}, {mb(4, 3, 2), r2, 3}, {dy_d3(3, 2, 2), r3, 2},
  };
  for (int i = 0; i < 4; i++) {
    args a = {.ids = s[i].rows, .n = s[i].n};
    grad3("select_rows", b_select_rows, &a, 1, &s[i].d, 10u * i);
  }
}
END_TEST

START_TEST(grad_reshape) {
  struct { dy_dim from, to; } s[] = {
      {dy_d1(6), dy_d2(2, 3)},
      {dy_d2(2, 3), dy_d2(3, 2)},
      {mb(2, 3, 2), dy_d1(6)},         /* target batch 1 keeps the batch */
      {mb(2, 3, 2), vb(3, 4)},         /* same total, new batch */
      {dy_d3(2, 2, 3), dy_d2(4, 3)},
  };
  for (int i = 0; i < 5; i++) {
    args a = {.to = s[i].to};
    grad3("reshape", b_reshape, &a, 1, &s[i].from, 10u * i);
  }
}
END_TEST

START_TEST(grad_pick_batch_elem) {
  struct { dy_dim d; uint32_t b; } s[] = {{vb(3, 4), 2}, {mb(2, 3, 2), 0}, {dy_d1(4), 0}, {vb(2, 3), 2}};
  for (int i = 0; i < 4; i++) {
    args a = {.idx = s[i].b};
    grad3("pick_batch_elem", b_pick_batch_elem, &a, 1, &s[i].d, 10u * i);
  }
}
END_TEST

START_TEST(grad_concat_to_batch) {
  dy_dim s[][3] = {
      {dy_d1(3), vb(3, 2), dy_d1(3)},
      {mb(2, 2, 2), mb(2, 2, 3), dy_d2(2, 2)},
      {dy_d1(4), dy_d1(4), dy_d1(4)},
  };
  uint32_t three = 3;
  for (int i = 0; i < 3; i++) grad3("concat_to_batch", b_to_batch, &three, 3, s[i], 10u * i);
}
END_TEST

/* Two slices of one argument (gradients accumulate into it). */
static dy_expr b_pick_twice(const dy_expr *x, void *c) {
  (void)c;
  dy_expr p[2] = {dy_pick_range(x[0], 0, 2, 1), dy_pick(x[0], 1, 1)};
  return dy_concat_cols(p, 2);
}

START_TEST(grad_composed) {
  dy_dim d = mb(3, 3, 2);
  grad3("pick_range+pick+concat", b_pick_twice, NULL, 1, &d, 0);
}
END_TEST

/* ---------------------------------------------------------- forward values */

static void expect(const dy_real *y, const double *want, size_t n) {
  ck_assert_ptr_nonnull(y);
  for (size_t i = 0; i < n; i++)
    ck_assert_msg(y[i] == (dy_real)want[i], "element %zu = %g, expected %g", i, (double)y[i], want[i]);
}

static void expect_dim(dy_expr e, dy_dim d) {
  char a[64], b[64];
  ck_assert_msg(dy_dim_eq(dy_expr_dim(e), d) && dy_expr_dim(e).nd == d.nd, "dim %s, expected %s",
                dy_dim_str(dy_expr_dim(e), a, sizeof a), dy_dim_str(d, b, sizeof b));
}

START_TEST(forward_concat) {
  dy_graph *g = dy_graph_new();
  /* A (2,3) = [[1,2,3],[4,5,6]], B (1,3) = [[7,8,9]] */
  dy_real av[] = {1, 2, 3, 4, 5, 6}, bv[] = {7, 8, 9}, cv[] = {10, 20};
  dy_expr A = dy_input(g, dy_d2(2, 3), av), B = dy_input(g, dy_d2(1, 3), bv);
  dy_expr ab[2] = {A, B};
  dy_expr y = dy_concat(ab, 2);
  expect_dim(y, dy_d2(3, 3));
  expect(dy_forward(y), (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9}, 9);
  /* vectors: {3} ++ {2} */
  dy_expr v[2] = {dy_input(g, dy_d1(3), bv), dy_input(g, dy_d1(2), cv)};
  y = dy_concat(v, 2);
  expect_dim(y, dy_d1(5));
  expect(dy_forward(y), (double[]){7, 8, 9, 10, 20}, 5);
  /* broadcast: {2}x2 ++ {1} -> {3}x2 */
  dy_expr bb[2] = {dy_input(g, vb(2, 2), av), dy_input(g, dy_d1(1), cv)};
  y = dy_concat(bb, 2);
  expect_dim(y, vb(3, 2));
  expect(dy_forward(y), (double[]){1, 2, 10, 3, 4, 10}, 6);
  /* concat_cols: A (2,3) ++ {2} ++ (2,1) -> (2,5), a strided copy */
  dy_expr cc[3] = {A, dy_input(g, dy_d1(2), cv), dy_input(g, dy_d2(2, 1), bv)};
  y = dy_concat_cols(cc, 3);
  expect_dim(y, dy_d2(2, 5));
  expect(dy_forward(y), (double[]){1, 2, 3, 10, 7, 4, 5, 6, 20, 8}, 10);
  /* concat_cols of vectors gives a matrix; batch broadcast */
  dy_expr cv2[2] = {dy_input(g, vb(2, 2), av), dy_input(g, dy_d1(2), cv)};
  y = dy_concat_cols(cv2, 2);
  expect_dim(y, mb(2, 2, 2));
  expect(dy_forward(y), (double[]){1, 10, 2, 20, 3, 10, 4, 20}, 8);
  /* the result has the most dimensions of its arguments: {2} ++ (3,1) -> (5,1) */
  dy_expr mixed[2] = {dy_input(g, dy_d1(2), cv), dy_input(g, dy_d2(3, 1), bv)};
  y = dy_concat(mixed, 2);
  expect_dim(y, dy_d2(5, 1));
  expect(dy_forward(y), (double[]){10, 20, 7, 8, 9}, 5);
  /* one argument is a copy */
  y = dy_concat(&A, 1);
  expect(dy_forward(y), (double[]){1, 2, 3, 4, 5, 6}, 6);
  /* concat_to_batch: {2} ++ {2}x2 -> {2}x3 */
  dy_expr tb[2] = {dy_input(g, dy_d1(2), cv), dy_input(g, vb(2, 2), av)};
  y = dy_concat_to_batch(tb, 2);
  expect_dim(y, vb(2, 3));
  expect(dy_forward(y), (double[]){10, 20, 1, 2, 3, 4}, 6);
  ck_assert_ptr_null(dy_graph_error(g));
  dy_graph_free(g);
}
END_TEST

START_TEST(forward_pick) {
  dy_graph *g = dy_graph_new();
  /* A (2,3) = [[1,2,3],[4,5,6]] */
  dy_real av[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  dy_expr A = dy_input(g, dy_d2(2, 3), av);
  dy_expr y = dy_pick(A, 1, 0); /* row 1 -> {3} */
  expect_dim(y, dy_d1(3));
  expect(dy_forward(y), (double[]){4, 5, 6}, 3);
  y = dy_pick(A, 2, 1); /* column 2 -> {2} */
  expect_dim(y, dy_d1(2));
  expect(dy_forward(y), (double[]){3, 6}, 2);
  dy_expr v = dy_input(g, dy_d1(4), av);
  y = dy_pick(v, 3, 0); /* {4} -> {1} */
  expect_dim(y, dy_d1(1));
  ck_assert(dy_scalar(y) == 4);
  /* a dimension beyond nd has size 1: {4} along dim 1, index 0 -> {4} */
  y = dy_pick(v, 0, 1);
  expect_dim(y, dy_d1(4));
  expect(dy_forward(y), (double[]){1, 2, 3, 4}, 4);
  /* 3-d (2,3,2): pick along dim 1 -> (2,2); element (i,1,k) = 1 + 6i + 2 + k */
  dy_expr T = dy_input(g, dy_d3(2, 3, 2), av);
  y = dy_pick(T, 1, 1);
  expect_dim(y, dy_d2(2, 2));
  expect(dy_forward(y), (double[]){3, 4, 9, 10}, 4);
  /* batched: {3}x2 = [1,2,3],[4,5,6]; one index for all */
  dy_expr B = dy_input(g, vb(3, 2), av);
  y = dy_pick(B, 2, 0);
  expect_dim(y, vb(1, 2));
  expect(dy_forward(y), (double[]){3, 6}, 2);
  /* pick_batch: per element indices, copied at build time */
  uint32_t idx[] = {2, 0};
  y = dy_pick_batch(B, idx, 0);
  idx[0] = 1;
  idx[1] = 1;
  expect_dim(y, vb(1, 2));
  expect(dy_forward(y), (double[]){3, 4}, 2);
  /* pick_batch along columns of (2,3)x2 */
  uint32_t ic[] = {0, 2};
  y = dy_pick_batch(dy_input(g, mb(2, 3, 2), av), ic, 1);
  expect_dim(y, vb(2, 2));
  expect(dy_forward(y), (double[]){1, 4, 9, 12}, 4);
  /* pick_range */
  y = dy_pick_range(v, 1, 3, 0);
  expect_dim(y, dy_d1(2));
  expect(dy_forward(y), (double[]){2, 3}, 2);
  y = dy_pick_range(A, 1, 3, 1); /* columns 1..2 -> (2,2) */
  expect_dim(y, dy_d2(2, 2));
  expect(dy_forward(y), (double[]){2, 3, 5, 6}, 4);
  y = dy_pick_range(dy_input(g, mb(2, 3, 2), av), 1, 2, 0); /* row 1 of each -> (1,3)x2 */
  expect_dim(y, mb(1, 3, 2));
  expect(dy_forward(y), (double[]){4, 5, 6, 10, 11, 12}, 6);
  ck_assert_ptr_null(dy_graph_error(g));
  dy_graph_free(g);
}
END_TEST

START_TEST(forward_rows_reshape_batch) {
  dy_graph *g = dy_graph_new();
  dy_real av[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  /* A (3,2) = [[1,2],[3,4],[5,6]] */
  dy_expr A = dy_input(g, dy_d2(3, 2), av);
  uint32_t rows[] = {2, 0, 2};
  dy_expr y = dy_select_rows(A, rows, 3);
  rows[0] = 1; /* copied at build time */
  expect_dim(y, dy_d2(3, 2));
  expect(dy_forward(y), (double[]){5, 6, 1, 2, 5, 6}, 6);
  uint32_t r1[] = {1};
  y = dy_select_rows(dy_input(g, dy_d1(4), av), r1, 1);
  expect_dim(y, dy_d1(1));
  ck_assert(dy_scalar(y) == 2);
  /* batched: (2,2)x3, row 1 of each */
  y = dy_select_rows(dy_input(g, mb(2, 2, 3), av), r1, 1);
  expect_dim(y, mb(1, 2, 3));
  expect(dy_forward(y), (double[]){3, 4, 7, 8, 11, 12}, 6);
  /* reshape keeps the row-major order */
  y = dy_reshape(A, dy_d2(2, 3));
  expect_dim(y, dy_d2(2, 3));
  expect(dy_forward(y), (double[]){1, 2, 3, 4, 5, 6}, 6);
  dy_expr B = dy_input(g, mb(2, 3, 2), av);
  y = dy_reshape(B, dy_d1(6)); /* batch kept */
  expect_dim(y, vb(6, 2));
  y = dy_reshape(B, vb(3, 4)); /* same total */
  expect_dim(y, vb(3, 4));
  expect(dy_forward(y), (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 12);
  y = dy_reshape(B, dy_d2(3, 4)); /* batch folded into the dims */
  expect_dim(y, dy_d2(3, 4));
  /* pick_batch_elem */
  y = dy_pick_batch_elem(B, 1);
  expect_dim(y, dy_d2(2, 3));
  expect(dy_forward(y), (double[]){7, 8, 9, 10, 11, 12}, 6);
  y = dy_pick_batch_elem(A, 0);
  expect(dy_forward(y), (double[]){1, 2, 3, 4, 5, 6}, 6);
  ck_assert_ptr_null(dy_graph_error(g));
  dy_graph_free(g);
}
END_TEST

/* Backward by hand: select_rows with a repeated row adds, pick_batch_elem
 * reaches only its element. */
START_TEST(backward_values) {
  dy_graph *g = dy_graph_new();
  dy_real xv[] = {1, 2, 3, 4, 5, 6}, gx[6] = {0};
  dy_expr x = dy_variable(g, dy_d2(3, 2), xv, gx);
  uint32_t rows[] = {2, 0, 2};
  dy_expr y = dy_sum_elems(dy_select_rows(x, rows, 3));
  ck_assert_int_eq(dy_backward(y), DY_OK);
  expect(gx, (double[]){1, 1, 0, 0, 2, 2}, 6);
  dy_graph_renew(g);
  memset(gx, 0, sizeof gx);
  x = dy_variable(g, vb(2, 3), xv, gx);
  dy_real wv[] = {3, 5};
  y = dy_dot(dy_pick_batch_elem(x, 1), dy_input(g, dy_d1(2), wv));
  ck_assert(dy_scalar(y) == 3 * 3 + 5 * 4);
  ck_assert_int_eq(dy_backward(y), DY_OK);
  expect(gx, (double[]){0, 0, 3, 5, 0, 0}, 6);
  dy_graph_free(g);
}
END_TEST

/* ---------------------------------------------------------------- errors */

/* The graph holds an error of status st whose message contains every string
 * of want (NULL-terminated); renews the graph. */
static void expect_error(dy_graph *g, dy_expr e, dy_status st, const char *const *want) {
  ck_assert(!dy_expr_valid(e));
  const char *m = dy_graph_error(g);
  ck_assert_ptr_nonnull(m);
  ck_assert_msg(dy_graph_status(g) == st, "status %d, expected %d: %s", (int)dy_graph_status(g), (int)st, m);
  for (size_t i = 0; want[i]; i++) ck_assert_msg(strstr(m, want[i]), "'%s' not in: %s", want[i], m);
  dy_graph_renew(g);
}
#define WANT(...) ((const char *const[]){__VA_ARGS__, NULL})

START_TEST(errors_index) {
  dy_graph *g = dy_graph_new();
  dy_real v[24] = {0};
  dy_expr A = dy_input(g, dy_d2(2, 3), v); /* node 0 */
  expect_error(g, dy_pick(A, 3, 1), DY_EINDEX, WANT("pick", "node 1", "node 0 {2,3}", "index 3", "size 3", "dimension 1"));
  A = dy_input(g, dy_d2(2, 3), v);
  expect_error(g, dy_pick(A, 0, 4), DY_EINDEX, WANT("pick", "dimension 4"));
  dy_expr B = dy_input(g, vb(4, 3), v);
  uint32_t idx[] = {1, 4, 0};
  expect_error(g, dy_pick_batch(B, idx, 0), DY_EINDEX,
               WANT("pick_batch", "node 1", "{4}x3", "index 4", "batch element 1", "size 4"));
  B = dy_input(g, vb(4, 3), v);
  expect_error(g, dy_pick_batch(B, NULL, 0), DY_EARG, WANT("pick_batch", "NULL"));
  A = dy_input(g, dy_d2(2, 3), v);
  expect_error(g, dy_pick_range(A, 1, 4, 1), DY_EINDEX, WANT("pick_range", "node 1", "[1, 4)", "size 3"));
  A = dy_input(g, dy_d2(2, 3), v);
  expect_error(g, dy_pick_range(A, 2, 2, 0), DY_EINDEX, WANT("pick_range", "[2, 2)", "empty"));
  A = dy_input(g, dy_d2(2, 3), v);
  expect_error(g, dy_pick_range(A, 2, 1, 0), DY_EINDEX, WANT("pick_range", "[2, 1)"));
  A = dy_input(g, dy_d2(2, 3), v);
  uint32_t rows[] = {0, 1, 2};
  expect_error(g, dy_select_rows(A, rows, 3), DY_EINDEX,
               WANT("select_rows", "node 1", "row index 2", "entry 2", "2 rows"));
  A = dy_input(g, dy_d2(2, 3), v);
  expect_error(g, dy_select_rows(A, rows, 0), DY_EARG, WANT("select_rows", "no rows"));
  B = dy_input(g, vb(4, 3), v);
  expect_error(g, dy_pick_batch_elem(B, 3), DY_EINDEX,
               WANT("pick_batch_elem", "node 1", "batch element 3", "batch size 3"));
  dy_graph_free(g);
}
END_TEST

START_TEST(errors_shape) {
  dy_graph *g = dy_graph_new();
  dy_real v[24] = {0};
  dy_expr A = dy_input(g, dy_d2(2, 3), v), B = dy_input(g, dy_d2(2, 4), v);
  dy_expr ab[2] = {A, B};
  expect_error(g, dy_concat(ab, 2), DY_ESHAPE,
               WANT("concat", "node 2", "node 0 {2,3}", "node 1 {2,4}", "argument 1", "dimension 1"));
  A = dy_input(g, dy_d2(2, 3), v);
  B = dy_input(g, dy_d2(3, 3), v);
  dy_expr ab2[2] = {A, B};
  expect_error(g, dy_concat_cols(ab2, 2), DY_ESHAPE,
               WANT("concat_cols", "node 0 {2,3}", "node 1 {3,3}", "dimension 0"));
  A = dy_input(g, vb(2, 2), v);
  B = dy_input(g, vb(2, 3), v);
  dy_expr ab3[2] = {A, B};
  expect_error(g, dy_concat(ab3, 2), DY_ESHAPE, WANT("concat", "batch"));
  A = dy_input(g, dy_d1(2), v);
  B = dy_input(g, dy_d1(3), v);
  dy_expr ab4[2] = {A, B};
  expect_error(g, dy_concat_to_batch(ab4, 2), DY_ESHAPE, WANT("concat_to_batch", "{2}", "{3}", "argument 1"));
  A = dy_input(g, mb(2, 3, 2), v);
  expect_error(g, dy_reshape(A, dy_d2(4, 2)), DY_ESHAPE,
               WANT("reshape", "node 1", "{2,3}x2", "{4,2}", "8 elements", "6 per batch element"));
  A = dy_input(g, mb(2, 3, 2), v);
  expect_error(g, dy_reshape(A, vb(6, 3)), DY_ESHAPE, WANT("reshape", "{6}x3", "18"));
  A = dy_input(g, dy_d1(6), v);
  dy_dim bad = {{6, 0, 1, 1}, 2, 1};
  expect_error(g, dy_reshape(A, bad), DY_EARG, WANT("reshape", "invalid"));
  /* an invalid argument passes the error on */
  A = dy_input(g, dy_d1(6), v);
  dy_expr p = dy_pick(A, 9, 0);
  ck_assert(!dy_expr_valid(dy_reshape(p, dy_d1(1))));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  dy_graph_free(g);
}
END_TEST

/* Every op of the family is listed and found by name. */
START_TEST(table) {
  const char *names[] = {"concat", "concat_cols", "pick", "pick_batch", "pick_range",
                         "select_rows", "reshape", "pick_batch_elem", "concat_to_batch"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const dy_op *op = dy_op_find(names[i]);
    ck_assert_msg(op != NULL, "%s not in dy_op_families", names[i]);
    ck_assert_str_eq(op->name, names[i]);
    ck_assert(op->backward != NULL);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("ops_shape");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, forward_concat);
  tcase_add_test(t, forward_pick);
  tcase_add_test(t, forward_rows_reshape_batch);
  tcase_add_test(t, backward_values);
  tcase_add_test(t, errors_index);
  tcase_add_test(t, errors_shape);
  tcase_add_test(t, table);
  tcase_add_test(t, grad_concat);
  tcase_add_test(t, grad_concat_cols);
  tcase_add_test(t, grad_pick);
  tcase_add_test(t, grad_pick_batch);
  tcase_add_test(t, grad_pick_range);
  tcase_add_test(t, grad_select_rows);
  tcase_add_test(t, grad_reshape);
  tcase_add_test(t, grad_pick_batch_elem);
  tcase_add_test(t, grad_concat_to_batch);
  tcase_add_test(t, grad_composed);
  suite_add_tcase(s, t);
  return t_run(s);
}
