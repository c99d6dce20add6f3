/* Linear algebra: matmul, affine transform (one node), transpose, dot.
 * A (r,k) times X (k,c); a vector {k} is (k,1). Batches: either factor may be
 * batch 1. When A has batch 1 and X is a batch of B vectors, the batch is one
 * matrix (B,k) in row-major order and the product is one gemm: Y(B,r) = X A^T. */
#include <string.h>

#include "ops_util.h"

/* ===================================================== product primitives */

static inline uint32_t rows_of(dy_dim d) { return d.d[0]; }
static inline uint32_t cols_of(dy_dim d) { return d.d[1]; }

/* Y (r,c) x B += A (r,k) X (k,c) per batch element; Y has batch B. */
static void mm_acc(const dy_node *A, const dy_node *X, dy_real *Y, uint32_t B) {
  size_t r = rows_of(A->dim), k = cols_of(A->dim), c = cols_of(X->dim);
  size_t sa = dy_bstride(A), sx = dy_bstride(X);
  if (c == 1 && sa == 0 && sx != 0 && B > 1) {
    dy_gemm(0, 1, B, r, k, 1, X->val, k, A->val, k, 1, Y, r);
    return;
  }
  for (uint32_t b = 0; b < B; b++) {
    const dy_real *a = A->val + b * sa, *x = X->val + b * sx;
    dy_real *y = Y + b * r * c;
    if (c == 1) dy_gemv(0, r, k, 1, a, k, x, 1, y);
    else dy_gemm(0, 0, r, c, k, 1, a, k, x, c, 1, y, c);
  }
}

/* dA (r,k) += dY (r,c) X^T per batch element (summed when A is broadcast).
 * A fresh dA (dy_grad_fresh: uninitialised) is written (beta 0), or
 * zero-filled first where the products only accumulate. */
static void mm_bwd_a(dy_node *A, const dy_node *X, const dy_real *dY, uint32_t B) {
  size_t r = rows_of(A->dim), k = cols_of(A->dim), c = cols_of(X->dim);
  size_t sa = dy_bstride(A), sx = dy_bstride(X);
  int fresh = dy_grad_fresh(A);
  if (c == 1 && sa == 0 && B > 1 && sx != 0) {
    /* dA += dY^T (r,B) X (B,k) */
    dy_gemm(1, 0, r, k, B, 1, dY, r, X->val, k, fresh ? 0 : 1, A->grad, k);
    return;
  }
  if (c != 1 && (sa != 0 || B == 1)) { /* each batch element's dA written by one gemm */
    for (uint32_t b = 0; b < B; b++)
      dy_gemm(0, 1, r, k, c, 1, dY + b * r * c, c, X->val + b * sx, c, fresh ? 0 : 1, A->grad + b * sa, k);
    return;
  }
  if (fresh) memset(A->grad, 0, dy_dim_size(A->dim) * sizeof(dy_real));
  for (uint32_t b = 0; b < B; b++) {
    const dy_real *x = X->val + b * sx, *dy = dY + b * r * c;
    dy_real *da = A->grad + b * sa;
    if (c == 1) dy_ger(r, k, 1, dy, x, da, k);
    else dy_gemm(0, 1, r, k, c, 1, dy, c, x, c, 1, da, k);
  }
}

/* dX (k,c) += A^T dY per batch element (summed when X is broadcast); a fresh
 * dX is written (beta 0) unless X is broadcast (zero-filled first). */
static void mm_bwd_x(const dy_node *A, dy_node *X, const dy_real *dY, uint32_t B) {
  size_t r = rows_of(A->dim), k = cols_of(A->dim), c = cols_of(X->dim);
  size_t sa = dy_bstride(A), sx = dy_bstride(X);
  int fresh = dy_grad_fresh(X);
  if (c == 1 && sa == 0 && sx != 0 && B > 1) {
    /* dX (B,k) += dY (B,r) A (r,k) */
    dy_gemm(0, 0, B, k, r, 1, dY, r, A->val, k, fresh ? 0 : 1, X->grad, k);
    return;
  }
  dy_real beta = 1;
  if (fresh) {
    if (sx != 0 || B == 1) beta = 0;
    else memset(X->grad, 0, dy_dim_size(X->dim) * sizeof(dy_real));
  }
  for (uint32_t b = 0; b < B; b++) {
    const dy_real *a = A->val + b * sa, *dy = dY + b * r * c;
    dy_real *dx = X->grad + b * sx;
    if (c == 1) dy_gemv(1, r, k, 1, a, k, dy, beta, dx);
    else dy_gemm(1, 0, k, c, r, 1, a, k, dy, c, beta, dx, c);
  }
}

/* Checks A (r,k) and X (k,c) are at most 2-d and fit; returns 0 or error. */
static int mm_check(dy_graph *g, dy_node *n, const dy_node *A, const dy_node *X, uint32_t ia,
                    uint32_t ix) {
  if (A->dim.nd > 2 || X->dim.nd > 2)
    return dy_fail_shape(g, n, "arguments %u and %u must be matrices or vectors (at most 2 dims)",
                         (unsigned)ia, (unsigned)ix);
  if (cols_of(A->dim) != rows_of(X->dim))
    return dy_fail_shape(g, n,
                         "argument %u has %u columns but argument %u has %u rows; a product "
                         "(r,k) x (k,c) needs them equal",
                         (unsigned)ia, (unsigned)cols_of(A->dim), (unsigned)ix,
                         (unsigned)rows_of(X->dim));
  return 0;
}

static dy_dim mm_out(const dy_node *A, const dy_node *X, uint32_t bd) {
  dy_dim d = cols_of(X->dim) == 1 && X->dim.nd == 1 ? dy_d1(rows_of(A->dim))
                                                     : dy_d2(rows_of(A->dim), cols_of(X->dim));
  d.bd = bd;
  return d;
}

/* ================================================================= matmul */

static int matmul_dim(dy_graph *g, dy_node *n) {
  const dy_node *A = dy_arg(g, n, 0), *X = dy_arg(g, n, 1);
  if (mm_check(g, n, A, X, 0, 1)) return -1;
  uint32_t bd = dy_bcast_batch(A->dim.bd, X->dim.bd);
  if (!bd) return dy_fail_shape(g, n, "batch sizes differ; they must be equal or 1");
  n->dim = mm_out(A, X, bd);
  return 0;
}

static void matmul_fwd(dy_graph *g, dy_node *n) {
  memset(n->val, 0, dy_dim_size(n->dim) * sizeof(dy_real));
  mm_acc(dy_arg(g, n, 0), dy_arg(g, n, 1), n->val, n->dim.bd);
}

static void matmul_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *A = dy_arg(g, n, 0), *X = dy_arg(g, n, 1);
  if (i == 0) mm_bwd_a(A, X, n->grad, n->dim.bd);
  else mm_bwd_x(A, X, n->grad, n->dim.bd);
}

static const dy_op op_matmul = {"matmul", 2, DY_OP_BWD_ASSIGN, matmul_dim, matmul_fwd, matmul_bwd};

dy_expr dy_matmul(dy_expr a, dy_expr b) {
  dy_expr x[2] = {a, b};
  return dy_apply(&op_matmul, x, 2, NULL);
}

/* ================================================================= affine */
/* y = b + sum_j W_j x_j; args {b, W1, x1, W2, x2, ...} */

static int affine_dim(dy_graph *g, dy_node *n) {
  if (n->nargs < 3 || n->nargs % 2 == 0)
    return dy_fail_shape(g, n, "affine takes b, W1, x1[, W2, x2 ...]: an odd count >= 3, got %u",
                         (unsigned)n->nargs);
  const dy_node *b = dy_arg(g, n, 0);
  uint32_t bd = b->dim.bd;
  dy_dim out = b->dim;
  for (uint32_t j = 1; j < n->nargs; j += 2) {
    const dy_node *W = dy_arg(g, n, j), *X = dy_arg(g, n, j + 1);
    if (mm_check(g, n, W, X, j, j + 1)) return -1;
    bd = dy_bcast_batch(bd, W->dim.bd);
    if (bd) bd = dy_bcast_batch(bd, X->dim.bd);
    if (!bd) return dy_fail_shape(g, n, "batch sizes differ; they must be equal or 1");
    dy_dim p = mm_out(W, X, 1);
    if (!dy_dim_eq_nobatch(p, b->dim)) {
      char pb[64];
      return dy_fail_shape(g, n, "W%u x%u has dim %s but the bias (argument 0) must have the same",
                           (unsigned)(j / 2 + 1), (unsigned)(j / 2 + 1),
                           dy_dim_str(p, pb, sizeof pb));
    }
  }
  out.bd = bd;
  n->dim = out;
  return 0;
}

static void affine_fwd(dy_graph *g, dy_node *n) {
  const dy_node *b = dy_arg(g, n, 0);
  size_t m = dy_dim_per_batch(n->dim), sb = dy_bstride(b);
  for (uint32_t k = 0; k < n->dim.bd; k++) memcpy(n->val + k * m, b->val + k * sb, m * sizeof(dy_real));
  for (uint32_t j = 1; j < n->nargs; j += 2)
    mm_acc(dy_arg(g, n, j), dy_arg(g, n, j + 1), n->val, n->dim.bd);
}

static void affine_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  if (i == 0) {
    dy_node *b = dy_arg(g, n, 0);
    size_t m = dy_dim_per_batch(n->dim), sb = dy_bstride(b);
    uint32_t k = 0;
    if (dy_grad_fresh(b)) /* the first contribution to each element is a copy */
      for (; k < (sb ? n->dim.bd : 1u); k++) memcpy(b->grad + k * sb, n->grad + k * m, m * sizeof(dy_real));
    for (; k < n->dim.bd; k++) dy_vadd(m, n->grad + k * m, b->grad + k * sb);
  } else if (i % 2 == 1) {
    mm_bwd_a(dy_arg(g, n, i), dy_arg(g, n, i + 1), n->grad, n->dim.bd);
  } else {
    mm_bwd_x(dy_arg(g, n, i - 1), dy_arg(g, n, i), n->grad, n->dim.bd);
  }
}

static const dy_op op_affine = {"affine", -1, DY_OP_BWD_ASSIGN, affine_dim, affine_fwd, affine_bwd};

dy_expr dy_affine_n(const dy_expr *xs, uint32_t n) { return dy_apply(&op_affine, xs, n, NULL); }

dy_expr dy_affine(dy_expr b, dy_expr W, dy_expr x) {
  dy_expr xs[3] = {b, W, x};
  return dy_apply(&op_affine, xs, 3, NULL);
}

/* ============================================================== transpose */

static int transpose_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  if (a->dim.nd > 2) return dy_fail_shape(g, n, "transpose needs a matrix or vector (at most 2 dims)");
  n->dim = dy_d2(cols_of(a->dim), rows_of(a->dim));
  n->dim.bd = a->dim.bd;
  return 0;
}

/* y (c,r) = x (r,c)^T (the tiled kernel); with add, y += x^T */
static void transpose_into(const dy_real *x, dy_real *y, size_t r, size_t c, int add) {
  if (!add) {
    dy_transposek(r, c, x, c, y, r);
    return;
  }
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < c; j++) {
      if (add) y[j * r + i] += x[i * c + j];
      else y[j * r + i] = x[i * c + j];
    }
}

static void transpose_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t r = rows_of(a->dim), c = cols_of(a->dim), m = r * c;
  for (uint32_t k = 0; k < n->dim.bd; k++) transpose_into(a->val + k * m, n->val + k * m, r, c, 0);
}

static void transpose_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  size_t r = rows_of(a->dim), c = cols_of(a->dim), m = r * c;
  for (uint32_t k = 0; k < n->dim.bd; k++) transpose_into(n->grad + k * m, a->grad + k * m, c, r, 1);
}

static const dy_op op_transpose = {"transpose", 1, 0, transpose_dim, transpose_fwd, transpose_bwd};

dy_expr dy_transpose(dy_expr a) { return dy_apply(&op_transpose, &a, 1, NULL); }

/* ==================================================================== dot */

static int dot_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  if (dy_dim_per_batch(a->dim) != dy_dim_per_batch(b->dim) || a->dim.nd > 2 || b->dim.nd > 2 ||
      (a->dim.d[1] != 1 && a->dim.d[0] != 1) || (b->dim.d[1] != 1 && b->dim.d[0] != 1))
    return dy_fail_shape(g, n, "dot needs two vectors of the same size");
  uint32_t bd = dy_bcast_batch(a->dim.bd, b->dim.bd);
  if (!bd) return dy_fail_shape(g, n, "batch sizes differ; they must be equal or 1");
  n->dim = dy_batch(dy_d1(1), bd);
  return 0;
}

static void dot_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  size_t m = dy_dim_per_batch(a->dim), sa = dy_bstride(a), sb = dy_bstride(b);
  for (uint32_t k = 0; k < n->dim.bd; k++) n->val[k] = dy_dotk(m, a->val + k * sa, b->val + k * sb);
}

/* da += dy * b */
static void dot_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  const dy_node *o = dy_arg(g, n, 1 - i);
  size_t m = dy_dim_per_batch(a->dim), sa = dy_bstride(a), so = dy_bstride(o);
  for (uint32_t k = 0; k < n->dim.bd; k++) dy_axpy(m, n->grad[k], o->val + k * so, a->grad + k * sa);
}

static const dy_op op_dot = {"dot", 2, 0, dot_dim, dot_fwd, dot_bwd};

dy_expr dy_dot(dy_expr a, dy_expr b) {
  dy_expr x[2] = {a, b};
  return dy_apply(&op_dot, x, 2, NULL);
}

const dy_op *const dy_ops_linalg[] = {&op_matmul, &op_affine, &op_transpose, &op_dot, NULL};
