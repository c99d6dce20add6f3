/* Softmax family: softmax, log_softmax, pick_neg_log_softmax, logsumexp.
 *
 * All work over dim 0: a tensor with per-batch dims {r, d1, d2, d3} is read as
 * a row-major matrix (r, c) with c = d1 d2 d3, and each of its c columns is
 * one distribution (a vector {r} is one column). Column j is x[i*c + j],
 * i < r, so the loops run over rows outside and over columns inside, with the
 * per-column max and sum in scratch vectors of c: the inner loops are
 * contiguous; a vector (c = 1) takes flat loops, and exp is always one flat
 * pass over the whole tensor, so it vectorises whatever the shape. Every exp is of x - max(column) <= 0, so nothing overflows;
 * it is vmath.h's dy_vexp, which vectorises (below -87 it gives ~1e-38, not 0). */
#include <string.h>

#include "ops_util.h"
#include "vmath.h"

/* Rows (size of dim 0) and columns (everything else) of a per-batch tensor. */
static inline size_t rows_of(dy_dim d) { return d.d[0]; }
static inline size_t cols_of(dy_dim d) { return dy_dim_per_batch(d) / d.d[0]; }

/* mx[j] = max_i x[i*c + j] */
static void col_max(const dy_real *restrict x, size_t r, size_t c, dy_real *restrict mx) {
  memcpy(mx, x, c * sizeof(dy_real));
  for (size_t i = 1; i < r; i++) {
    const dy_real *restrict xi = x + i * c;
    for (size_t j = 0; j < c; j++) mx[j] = xi[j] > mx[j] ? xi[j] : mx[j];
  }
}

/* y[i*c + j] = x[i*c + j] - v[j] (a vector, c = 1, is one flat loop) */
static void sub_cols(const dy_real *restrict x, const dy_real *restrict v, size_t r, size_t c,
                     dy_real *restrict y) {
  if (c == 1) {
    const dy_real v0 = v[0];
    for (size_t i = 0; i < r; i++) y[i] = x[i] - v0;
    return;
  }
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < c; j++) y[i * c + j] = x[i * c + j] - v[j];
}

/* s[j] = sum_i y[i*c + j] */
static void col_sum(const dy_real *restrict y, size_t r, size_t c, dy_real *restrict s) {
  if (c == 1) {
    dy_real t = 0;
    for (size_t i = 0; i < r; i++) t += y[i];
    s[0] = t;
    return;
  }
  memset(s, 0, c * sizeof(dy_real));
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < c; j++) s[j] += y[i * c + j];
}

/* y = exp(y) over m elements: one flat loop whatever the shape (it vectorises). */
static void exp_inplace(dy_real *restrict y, size_t m) {
  for (size_t k = 0; k < m; k++) y[k] = dy_vexp(y[k]);
}

/* lse[j] = log sum_i exp(x[i*c + j]), stably; s (c) and tmp (r*c) are scratch. */
static void col_logsumexp(const dy_real *restrict x, size_t r, size_t c, dy_real *restrict lse,
                          dy_real *restrict s, dy_real *restrict tmp) {
  col_max(x, r, c, lse);
  sub_cols(x, lse, r, c, tmp);
  exp_inplace(tmp, r * c);
  col_sum(tmp, r, c, s);
  for (size_t j = 0; j < c; j++) lse[j] += DY_LOG(s[j]);
}

/* =============================================================== softmax */
/* y[:,j] = exp(x[:,j] - max) / sum exp(x[:,j] - max) */

static void softmax_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t r = rows_of(n->dim), c = cols_of(n->dim), m = r * c;
  dy_real *mx = dy_scratch(g, 2 * c), *s = mx + c;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *restrict x = a->val + k * m;
    dy_real *restrict y = n->val + k * m;
    col_max(x, r, c, mx);
    sub_cols(x, mx, r, c, y);
    exp_inplace(y, m);
    col_sum(y, r, c, s);
    for (size_t j = 0; j < c; j++) s[j] = 1 / s[j];
    if (c == 1) {
      dy_scal(m, s[0], y);
      continue;
    }
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j < c; j++) y[i * c + j] *= s[j];
  }
}

/* dx[:,j] += y[:,j] * (dy[:,j] - <y[:,j], dy[:,j]>) */
static void softmax_bwd(dy_graph *g, dy_node *n, uint32_t ai) {
  dy_node *a = dy_arg(g, n, ai);
  size_t r = rows_of(n->dim), c = cols_of(n->dim), m = r * c;
  dy_real *d = dy_scratch(g, c);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *restrict y = n->val + k * m, *restrict dy = n->grad + k * m;
    dy_real *restrict dx = a->grad + k * m;
    if (c == 1) {
      const dy_real d0 = dy_dotk(r, y, dy);
      for (size_t i = 0; i < r; i++) dx[i] += y[i] * (dy[i] - d0);
      continue;
    }
    memset(d, 0, c * sizeof(dy_real));
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j < c; j++) d[j] += y[i * c + j] * dy[i * c + j];
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j < c; j++) dx[i * c + j] += y[i * c + j] * (dy[i * c + j] - d[j]);
  }
}

static const dy_op op_softmax = {"softmax", 1, DY_OP_DIM_SAME, dy_dim_unary, softmax_fwd, softmax_bwd};

dy_expr dy_softmax(dy_expr a) { return dy_apply(&op_softmax, &a, 1, NULL); }

/* =========================================================== log_softmax */
/* y[:,j] = x[:,j] - logsumexp(x[:,j]) */

static void log_softmax_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t r = rows_of(n->dim), c = cols_of(n->dim), m = r * c;
  dy_real *lse = dy_scratch(g, 2 * c), *s = lse + c;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *restrict x = a->val + k * m;
    dy_real *restrict y = n->val + k * m;
    col_logsumexp(x, r, c, lse, s, y); /* y is the scratch, then the result */
    sub_cols(x, lse, r, c, y);
  }
}

/* dx[:,j] += dy[:,j] - exp(y[:,j]) * sum(dy[:,j]) */
static void log_softmax_bwd(dy_graph *g, dy_node *n, uint32_t ai) {
  dy_node *a = dy_arg(g, n, ai);
  size_t r = rows_of(n->dim), c = cols_of(n->dim), m = r * c;
  dy_real *s = dy_scratch(g, c);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *restrict y = n->val + k * m, *restrict dy = n->grad + k * m;
    dy_real *restrict dx = a->grad + k * m;
    col_sum(dy, r, c, s);
    if (c == 1) {
      const dy_real s0 = s[0];
      for (size_t i = 0; i < r; i++) dx[i] += dy[i] - dy_vexp(y[i]) * s0;
      continue;
    }
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j < c; j++) dx[i * c + j] += dy[i * c + j] - dy_vexp(y[i * c + j]) * s[j];
  }
}

static const dy_op op_log_softmax = {"log_softmax", 1, DY_OP_DIM_SAME, dy_dim_unary, log_softmax_fwd,
                                     log_softmax_bwd};

dy_expr dy_log_softmax(dy_expr a) { return dy_apply(&op_log_softmax, &a, 1, NULL); }

/* ============================================================= logsumexp */
/* y[j] = log sum_i exp(x[i,j]): dim 0 shrinks to 1 ({n} -> {1}, (r,c) -> (1,c)). */

static int logsumexp_dim(dy_graph *g, dy_node *n) {
  n->dim = dy_arg(g, n, 0)->dim;
  n->dim.d[0] = 1;
  return 0;
}

static void logsumexp_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t r = rows_of(a->dim), c = cols_of(a->dim), m = r * c;
  dy_real *s = dy_scratch(g, c + m), *tmp = s + c;
  for (uint32_t k = 0; k < n->dim.bd; k++) col_logsumexp(a->val + k * m, r, c, n->val + k * c, s, tmp);
}

/* dx[i,j] += dy[j] * exp(x[i,j] - y[j]) (the softmax of column j) */
static void logsumexp_bwd(dy_graph *g, dy_node *n, uint32_t ai) {
  dy_node *a = dy_arg(g, n, ai);
  size_t r = rows_of(a->dim), c = cols_of(a->dim), m = r * c;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *restrict x = a->val + k * m, *restrict y = n->val + k * c,
                            *restrict dy = n->grad + k * c;
    dy_real *restrict dx = a->grad + k * m;
    if (c == 1) {
      const dy_real y0 = y[0], d0 = dy[0];
      for (size_t i = 0; i < r; i++) dx[i] += d0 * dy_vexp(x[i] - y0);
      continue;
    }
    for (size_t i = 0; i < r; i++)
      for (size_t j = 0; j < c; j++) dx[i * c + j] += dy[j] * dy_vexp(x[i * c + j] - y[j]);
  }
}

static const dy_op op_logsumexp = {"logsumexp", 1, 0, logsumexp_dim, logsumexp_fwd, logsumexp_bwd};

dy_expr dy_logsumexp(dy_expr a) { return dy_apply(&op_logsumexp, &a, 1, NULL); }

/* ================================================== pick_neg_log_softmax */
/* y_b = logsumexp(x_b) - x_b[idx_b] for vectors x_b -> {1} per batch element.
 * aux[0].cp: the indices (a's batch size of them, in graph data), or NULL and
 * aux[1].u: the one index every batch element uses. */

/* log sum_i e^(x_i) over x[0..r): two passes (max, then the sum of the
 * exponentials, nothing stored) */
DY_VM_CLONE(dy_real, row_logsumexp, (const dy_real *restrict x, size_t r), (x, r)) {
  dy_real mx = dy_vm_max(x, r);
  return mx + DY_LOG(dy_vm_sum_exp(x, r, mx));
}

/* dx[i] (+)= d e^(x_i - lse) over r: assigned when assign, else added */
DY_VM_CLONE_VOID(row_scaled_exp,
                 (const dy_real *restrict x, size_t r, dy_real d, dy_real lse, dy_real *restrict dx, int assign),
                 (x, r, d, lse, dx, assign)) {
  if (assign)
    for (size_t i = 0; i < r; i++) dx[i] = d * dy_vexp(x[i] - lse);
  else
    for (size_t i = 0; i < r; i++) dx[i] += d * dy_vexp(x[i] - lse);
}

static void pnls_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t r = rows_of(a->dim);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *x = a->val + k * r;
    n->val[k] = row_logsumexp(x, r) - x[dy_node_class(n, k)];
  }
}

/* dx_b += dy_b * (softmax(x_b) - onehot(idx_b)), softmax = exp(x - lse) with
 * lse = y_b + x_b[idx_b] recovered from the forward value. One pass per
 * batch element; a fresh gradient (dy_grad_fresh) is written, not added to. */
static void pnls_bwd(dy_graph *g, dy_node *n, uint32_t ai) {
  dy_node *a = dy_arg(g, n, ai);
  size_t r = rows_of(a->dim);
  int assign = dy_grad_fresh(a);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *restrict x = a->val + k * r;
    dy_real *restrict dx = a->grad + k * r;
    uint32_t ix = dy_node_class(n, k);
    dy_real d = n->grad[k], lse = n->val[k] + x[ix];
    row_scaled_exp(x, r, d, lse, dx, assign);
    dx[ix] -= d;
  }
}

static const dy_op op_pnls = {"pick_neg_log_softmax", 1, DY_OP_BWD_ASSIGN, dy_dim_class_pick, pnls_fwd, pnls_bwd};

dy_expr dy_pick_neg_log_softmax(dy_expr a, uint32_t idx) {
  dy_aux aux[DY_NAUX] = {{.cp = NULL}, {.u = idx}, {0}};
  return dy_apply(&op_pnls, &a, 1, aux);
}

dy_expr dy_pick_neg_log_softmax_batch(dy_expr a, const uint32_t *idx) {
  uint32_t bd = dy_expr_dim(a).bd;
  /* a stale/invalid a, or an earlier error: dy_apply reports or passes it on */
  if (bd == 0 || dy_graph_status(a.g) != DY_OK) return dy_apply(&op_pnls, &a, 1, NULL);
  if (!idx) {
    dy_fail(a.g, DY_EARG, "pick_neg_log_softmax: the index array for argument node %u is NULL",
            (unsigned)a.id);
    return dy_apply(&op_pnls, &a, 1, NULL);
  }
  uint32_t *cp = dy_graph_data(a.g, bd * sizeof(uint32_t));
  if (!cp) return dy_apply(&op_pnls, &a, 1, NULL);
  memcpy(cp, idx, bd * sizeof(uint32_t));
  dy_aux aux[DY_NAUX] = {{.cp = cp}, {0}, {0}};
  return dy_apply(&op_pnls, &a, 1, aux);
}

const dy_op *const dy_ops_softmax[] = {&op_softmax, &op_log_softmax, &op_logsumexp, &op_pnls, NULL};
