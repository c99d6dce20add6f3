/* Shape ops: concat (rows), concat_cols, pick, pick_batch, pick_range,
 * select_rows, reshape, pick_batch_elem, concat_to_batch.
 *
 * Row-major storage: element (i0,i1,i2,i3) of dim {d0,d1,d2,d3} sits at
 * ((i0*d1 + i1)*d2 + i2)*d3 + i3. Seen along dimension k, a tensor is
 * (outer, d[k], inner) with outer = d0*...*d[k-1] and inner = d[k+1]*...*d3:
 * a slice along k is `outer` runs of (len * inner) contiguous elements.
 * Along dim 0 (outer 1) a slice is one run; along dim 1 it is one run per row. */
#include <string.h>

#include "ops_util.h"

/* ============================================================ view helpers */

/* Product of d[0..k). */
static size_t outer_of(dy_dim d, uint32_t k) {
  size_t s = 1;
  for (uint32_t j = 0; j < k; j++) s *= d.d[j];
  return s;
}

/* Product of d[k+1..4). */
static size_t inner_of(dy_dim d, uint32_t k) {
  size_t s = 1;
  for (uint32_t j = k + 1; j < DY_MAX_DIMS; j++) s *= d.d[j];
  return s;
}

/* Copies (add == 0) or adds (add != 0) `outer` runs of `run` elements from
 * src (runs `sstride` apart) to dst (runs `dstride` apart). */
static void runs(const dy_real *src, size_t sstride, dy_real *dst, size_t dstride, size_t outer,
                 size_t run, int add) {
  for (size_t o = 0; o < outer; o++) {
    if (add) dy_vadd(run, src + o * sstride, dst + o * dstride);
    else memcpy(dst + o * dstride, src + o * sstride, run * sizeof(dy_real));
  }
}

/* ================================================================= concat */
/* Concatenation along dimension k = aux[0].u (0: concat, 1: concat_cols).
 * Args x_i: (outer, L_i, inner), all with the same outer and inner; output
 * (outer, sum L_i, inner). An argument of batch 1 is reused for every batch
 * element (its gradient is summed over the batch). */

static int concat_dim(dy_graph *g, dy_node *n) {
  uint32_t k = (uint32_t)n->aux[0].u;
  const dy_node *a0 = dy_arg(g, n, 0);
  dy_dim out = a0->dim;
  uint32_t bd = a0->dim.bd;
  uint64_t len = 0;
  for (uint32_t i = 0; i < n->nargs; i++) {
    const dy_node *a = dy_arg(g, n, i);
    for (uint32_t j = 0; j < DY_MAX_DIMS; j++)
      if (j != k && a->dim.d[j] != a0->dim.d[j])
        return dy_fail_shape(g, n,
                             "argument %u has size %u along dimension %u but argument 0 has %u; "
                             "concatenation along dimension %u needs every other dimension equal",
                             (unsigned)i, (unsigned)a->dim.d[j], (unsigned)j,
                             (unsigned)a0->dim.d[j], (unsigned)k);
    bd = dy_bcast_batch(bd, a->dim.bd);
    if (!bd)
      return dy_fail_shape(g, n, "batch size of argument %u differs; batches must be equal or 1",
                           (unsigned)i);
    if (a->dim.nd > out.nd) out.nd = a->dim.nd;
    len += a->dim.d[k];
  }
  if (len > UINT32_MAX)
    return dy_fail_shape(g, n, "concatenated size along dimension %u is too large", (unsigned)k);
  out.d[k] = (uint32_t)len;
  if (out.nd < k + 1) out.nd = k + 1;
  out.bd = bd;
  n->dim = out;
  return 0;
}

static void concat_fwd(dy_graph *g, dy_node *n) {
  uint32_t k = (uint32_t)n->aux[0].u;
  size_t m = dy_dim_per_batch(n->dim), outer = outer_of(n->dim, k), inner = inner_of(n->dim, k);
  size_t ltot = n->dim.d[k];
  size_t off = 0;
  for (uint32_t i = 0; i < n->nargs; i++) {
    const dy_node *a = dy_arg(g, n, i);
    size_t l = a->dim.d[k], sa = dy_bstride(a);
    for (uint32_t b = 0; b < n->dim.bd; b++)
      runs(a->val + b * sa, l * inner, n->val + b * m + off * inner, ltot * inner, outer, l * inner, 0);
    off += l;
  }
}

/* dx_i += dy[slice of x_i] (summed over the batch when x_i is broadcast) */
static void concat_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  uint32_t k = (uint32_t)n->aux[0].u;
  size_t m = dy_dim_per_batch(n->dim), outer = outer_of(n->dim, k), inner = inner_of(n->dim, k);
  size_t ltot = n->dim.d[k], off = 0;
  for (uint32_t j = 0; j < i; j++) off += dy_arg(g, n, j)->dim.d[k];
  dy_node *a = dy_arg(g, n, i);
  size_t l = a->dim.d[k], sa = dy_bstride(a);
  for (uint32_t b = 0; b < n->dim.bd; b++)
    runs(n->grad + b * m + off * inner, ltot * inner, a->grad + b * sa, l * inner, outer, l * inner, 1);
}

static const dy_op op_concat = {"concat", -1, 0, concat_dim, concat_fwd, concat_bwd};
static const dy_op op_concat_cols = {"concat_cols", -1, 0, concat_dim, concat_fwd, concat_bwd};

dy_expr dy_concat(const dy_expr *xs, uint32_t n) {
  dy_aux aux[DY_NAUX] = {{.u = 0}, {0}, {0}};
  return dy_apply(&op_concat, xs, n, aux);
}

dy_expr dy_concat_cols(const dy_expr *xs, uint32_t n) {
  dy_aux aux[DY_NAUX] = {{.u = 1}, {0}, {0}};
  return dy_apply(&op_concat_cols, xs, n, aux);
}

/* ==================================================== pick, pick_range */
/* A slice [s_b, s_b + L) along dimension k of each batch element b:
 * aux[0]: s (pick, pick_range) or the copied index array (pick_batch, one
 * start per batch element); aux[1].u: L; aux[2].u: k.
 * x_b (outer, D, inner) -> y_b (outer, L, inner). pick drops dimension k from
 * the output dim (L = 1), pick_range keeps it. */

static const dy_op op_pick_batch;

static size_t slice_start(const dy_node *n, uint32_t b) {
  if (n->op == &op_pick_batch) return ((const uint32_t *)n->aux[0].cp)[b];
  return (size_t)n->aux[0].u;
}

/* The dim of a with dimension k removed ({n} -> {1}). */
static dy_dim drop_dim(dy_dim a, uint32_t k) {
  dy_dim r = a;
  if (k >= a.nd) return r;
  for (uint32_t j = k; j + 1 < DY_MAX_DIMS; j++) r.d[j] = a.d[j + 1];
  r.d[DY_MAX_DIMS - 1] = 1;
  r.nd = a.nd > 1 ? a.nd - 1 : 1;
  return r;
}

static int check_axis(dy_graph *g, dy_node *n, uint32_t k) {
  if (k >= DY_MAX_DIMS)
    return dy_fail_node(g, n, DY_EINDEX, "dimension %u is out of range (a tensor has dimensions 0..%d)",
                        (unsigned)k, DY_MAX_DIMS - 1);
  return 0;
}

static int pick_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  uint32_t k = (uint32_t)n->aux[2].u;
  if (check_axis(g, n, k)) return -1;
  uint64_t idx = n->aux[0].u;
  if (idx >= a->dim.d[k])
    return dy_fail_node(g, n, DY_EINDEX, "index %llu is out of range for dimension %u of size %u",
                        (unsigned long long)idx, (unsigned)k, (unsigned)a->dim.d[k]);
  n->dim = drop_dim(a->dim, k);
  return 0;
}

/* Checks and copies the caller's indices (one per batch element). */
static int pick_batch_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  uint32_t k = (uint32_t)n->aux[2].u, bd = a->dim.bd;
  if (check_axis(g, n, k)) return -1;
  const uint32_t *idx = n->aux[0].cp;
  if (!idx)
    return dy_fail_node(g, n, DY_EARG, "index array is NULL (need %u indices, one per batch element)",
                        (unsigned)bd);
  for (uint32_t b = 0; b < bd; b++)
    if (idx[b] >= a->dim.d[k])
      return dy_fail_node(g, n, DY_EINDEX,
                          "index %u (for batch element %u) is out of range for dimension %u of size %u",
                          (unsigned)idx[b], (unsigned)b, (unsigned)k, (unsigned)a->dim.d[k]);
  uint32_t *copy = dy_graph_data(g, bd * sizeof(uint32_t));
  if (!copy) return -1;
  memcpy(copy, idx, bd * sizeof(uint32_t));
  n->aux[0].cp = copy;
  n->dim = drop_dim(a->dim, k);
  return 0;
}

static int pick_range_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  uint32_t k = (uint32_t)n->aux[2].u;
  if (check_axis(g, n, k)) return -1;
  uint64_t begin = n->aux[0].u, end = n->aux[1].u, size = a->dim.d[k];
  if (begin >= end || end > size)
    return dy_fail_node(g, n, DY_EINDEX,
                        "range [%llu, %llu) is empty or out of range for dimension %u of size %u "
                        "(need begin < end <= %u)",
                        (unsigned long long)begin, (unsigned long long)end, (unsigned)k,
                        (unsigned)size, (unsigned)size);
  n->aux[1].u = end - begin; /* from here on: the slice length */
  n->dim = a->dim;
  n->dim.d[k] = (uint32_t)(end - begin);
  if (n->dim.nd < k + 1) n->dim.nd = k + 1;
  return 0;
}

static void slice_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  uint32_t k = (uint32_t)n->aux[2].u;
  size_t l = n->aux[1].u, d = a->dim.d[k];
  size_t outer = outer_of(a->dim, k), inner = inner_of(a->dim, k);
  size_t ma = dy_dim_per_batch(a->dim), m = dy_dim_per_batch(n->dim);
  for (uint32_t b = 0; b < n->dim.bd; b++)
    runs(a->val + b * ma + slice_start(n, b) * inner, d * inner, n->val + b * m, l * inner, outer,
         l * inner, 0);
}

/* dx_b[slice] += dy_b */
static void slice_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  uint32_t k = (uint32_t)n->aux[2].u;
  size_t l = n->aux[1].u, d = a->dim.d[k];
  size_t outer = outer_of(a->dim, k), inner = inner_of(a->dim, k);
  size_t ma = dy_dim_per_batch(a->dim), m = dy_dim_per_batch(n->dim);
  for (uint32_t b = 0; b < n->dim.bd; b++)
    runs(n->grad + b * m, l * inner, a->grad + b * ma + slice_start(n, b) * inner, d * inner, outer,
         l * inner, 1);
}

static const dy_op op_pick = {"pick", 1, 0, pick_dim, slice_fwd, slice_bwd};
static const dy_op op_pick_batch = {"pick_batch", 1, 0, pick_batch_dim, slice_fwd, slice_bwd};
static const dy_op op_pick_range = {"pick_range", 1, 0, pick_range_dim, slice_fwd, slice_bwd};

dy_expr dy_pick(dy_expr a, uint32_t idx, uint32_t dim) {
  dy_aux aux[DY_NAUX] = {{.u = idx}, {.u = 1}, {.u = dim}};
  return dy_apply(&op_pick, &a, 1, aux);
}

dy_expr dy_pick_batch(dy_expr a, const uint32_t *idx, uint32_t dim) {
  dy_aux aux[DY_NAUX] = {{.cp = idx}, {.u = 1}, {.u = dim}};
  return dy_apply(&op_pick_batch, &a, 1, aux);
}

dy_expr dy_pick_range(dy_expr a, uint32_t begin, uint32_t end, uint32_t dim) {
  dy_aux aux[DY_NAUX] = {{.u = begin}, {.u = end}, {.u = dim}}; /* aux[1]: end until checked */
  return dy_apply(&op_pick_range, &a, 1, aux);
}

/* ============================================================ select_rows */
/* x_b (r, inner) -> y_b (n, inner) with y_b[j] = x_b[rows[j]]; aux[0]: the
 * copied row indices, aux[1].u: n. Repeated rows add their gradients. */

static int select_rows_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  uint32_t nr = (uint32_t)n->aux[1].u, r = a->dim.d[0];
  const uint32_t *rows = n->aux[0].cp;
  if (nr == 0) return dy_fail_node(g, n, DY_EARG, "no rows selected (n == 0)");
  if (!rows) return dy_fail_node(g, n, DY_EARG, "row index array is NULL (need %u indices)", (unsigned)nr);
  for (uint32_t j = 0; j < nr; j++)
    if (rows[j] >= r)
      return dy_fail_node(g, n, DY_EINDEX, "row index %u (entry %u) is out of range for %u rows",
                          (unsigned)rows[j], (unsigned)j, (unsigned)r);
  uint32_t *copy = dy_graph_data(g, nr * sizeof(uint32_t));
  if (!copy) return -1;
  memcpy(copy, rows, nr * sizeof(uint32_t));
  n->aux[0].cp = copy;
  n->dim = a->dim;
  n->dim.d[0] = nr;
  return 0;
}

static void select_rows_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  const uint32_t *rows = n->aux[0].cp;
  size_t nr = n->aux[1].u, inner = inner_of(a->dim, 0);
  size_t ma = dy_dim_per_batch(a->dim), m = dy_dim_per_batch(n->dim);
  for (uint32_t b = 0; b < n->dim.bd; b++)
    for (size_t j = 0; j < nr; j++)
      memcpy(n->val + b * m + j * inner, a->val + b * ma + rows[j] * inner, inner * sizeof(dy_real));
}

/* dx_b[rows[j]] += dy_b[j] */
static void select_rows_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  const uint32_t *rows = n->aux[0].cp;
  size_t nr = n->aux[1].u, inner = inner_of(a->dim, 0);
  size_t ma = dy_dim_per_batch(a->dim), m = dy_dim_per_batch(n->dim);
  for (uint32_t b = 0; b < n->dim.bd; b++)
    for (size_t j = 0; j < nr; j++)
      dy_vadd(inner, n->grad + b * m + j * inner, a->grad + b * ma + rows[j] * inner);
}

static const dy_op op_select_rows = {"select_rows", 1, 0, select_rows_dim, select_rows_fwd,
                                     select_rows_bwd};

dy_expr dy_select_rows(dy_expr a, const uint32_t *rows, uint32_t n) {
  dy_aux aux[DY_NAUX] = {{.cp = rows}, {.u = n}, {0}};
  return dy_apply(&op_select_rows, &a, 1, aux);
}

/* ================================================================ reshape */
/* The same memory seen with another dim: y's value IS x's value (no copy).
 * The target dim is packed into aux: aux[0] = d0 | d1 << 32,
 * aux[1] = d2 | d3 << 32, aux[2] = nd | bd << 32.
 * Allowed: equal size per batch element with target batch 1 (x's batch is
 * kept), or equal total size (the batch may change: {6}x2 -> {3}x4). */

static int reshape_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  dy_dim d;
  d.d[0] = (uint32_t)n->aux[0].u;
  d.d[1] = (uint32_t)(n->aux[0].u >> 32);
  d.d[2] = (uint32_t)n->aux[1].u;
  d.d[3] = (uint32_t)(n->aux[1].u >> 32);
  d.nd = (uint32_t)n->aux[2].u;
  d.bd = (uint32_t)(n->aux[2].u >> 32);
  char db[64];
  if (!dy_dim_ok(d))
    return dy_fail_node(g, n, DY_EARG,
                        "target dim %s is invalid (need 1-4 dims, each >= 1, 1s beyond nd, batch >= 1)",
                        dy_dim_str(d, db, sizeof db));
  if (d.bd == 1 && dy_dim_per_batch(d) == dy_dim_per_batch(a->dim)) {
    d.bd = a->dim.bd;
  } else if (dy_dim_size(d) != dy_dim_size(a->dim)) {
    return dy_fail_shape(g, n,
                         "cannot reshape to %s: %zu elements per batch element and %zu in all, "
                         "but the argument has %zu per batch element and %zu in all (need the "
                         "same size per batch element with target batch 1, or the same total)",
                         dy_dim_str(d, db, sizeof db), dy_dim_per_batch(d), dy_dim_size(d),
                         dy_dim_per_batch(a->dim), dy_dim_size(a->dim));
  }
  n->dim = d;
  return 0;
}

static void alias_fwd(dy_graph *g, dy_node *n) { n->val = dy_arg(g, n, 0)->val; }

/* dx += dy (same memory layout) */
static void reshape_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_vadd(dy_dim_size(n->dim), n->grad, dy_arg(g, n, i)->grad);
}

static const dy_op op_reshape = {"reshape", 1, DY_OP_SETS_VAL, reshape_dim, alias_fwd, reshape_bwd};

dy_expr dy_reshape(dy_expr a, dy_dim d) {
  dy_aux aux[DY_NAUX] = {{.u = d.d[0] | (uint64_t)d.d[1] << 32},
                         {.u = d.d[2] | (uint64_t)d.d[3] << 32},
                         {.u = d.nd | (uint64_t)d.bd << 32}};
  return dy_apply(&op_reshape, &a, 1, aux);
}

/* ======================================================== pick_batch_elem */
/* y = x_b as batch 1 (aux[0].u = b); y's value points into x's (no copy). */

static int pick_batch_elem_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  if (n->aux[0].u >= a->dim.bd)
    return dy_fail_node(g, n, DY_EINDEX, "batch element %llu is out of range for batch size %u",
                        (unsigned long long)n->aux[0].u, (unsigned)a->dim.bd);
  n->dim = a->dim;
  n->dim.bd = 1;
  return 0;
}

static void pick_batch_elem_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  n->val = a->val + n->aux[0].u * dy_dim_per_batch(a->dim);
}

/* dx_b += dy */
static void pick_batch_elem_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  size_t m = dy_dim_per_batch(a->dim);
  dy_vadd(m, n->grad, a->grad + n->aux[0].u * m);
}

static const dy_op op_pick_batch_elem = {"pick_batch_elem", 1, DY_OP_SETS_VAL, pick_batch_elem_dim,
                                         pick_batch_elem_fwd, pick_batch_elem_bwd};

dy_expr dy_pick_batch_elem(dy_expr a, uint32_t b) {
  dy_aux aux[DY_NAUX] = {{.u = b}, {0}, {0}};
  return dy_apply(&op_pick_batch_elem, &a, 1, aux);
}

/* ======================================================== concat_to_batch */
/* xs of equal dims (any batches B_i) -> batch sum B_i, in argument order. */

static int concat_to_batch_dim(dy_graph *g, dy_node *n) {
  const dy_node *a0 = dy_arg(g, n, 0);
  uint64_t bd = 0;
  for (uint32_t i = 0; i < n->nargs; i++) {
    const dy_node *a = dy_arg(g, n, i);
    if (!dy_dim_eq_nobatch(a->dim, a0->dim))
      return dy_fail_shape(g, n, "argument %u has different dims from argument 0 (concat_to_batch "
                              "needs equal dims; only batch sizes may differ)", (unsigned)i);
    bd += a->dim.bd;
  }
  if (bd > UINT32_MAX) return dy_fail_shape(g, n, "total batch size is too large");
  n->dim = a0->dim;
  n->dim.bd = (uint32_t)bd;
  return 0;
}

static void concat_to_batch_fwd(dy_graph *g, dy_node *n) {
  size_t off = 0;
  for (uint32_t i = 0; i < n->nargs; i++) {
    const dy_node *a = dy_arg(g, n, i);
    size_t s = dy_dim_size(a->dim);
    memcpy(n->val + off, a->val, s * sizeof(dy_real));
    off += s;
  }
}

/* dx_i += dy[batch elements of x_i] */
static void concat_to_batch_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  size_t off = 0;
  for (uint32_t j = 0; j < i; j++) off += dy_dim_size(dy_arg(g, n, j)->dim);
  dy_node *a = dy_arg(g, n, i);
  dy_vadd(dy_dim_size(a->dim), n->grad + off, a->grad);
}

static const dy_op op_concat_to_batch = {"concat_to_batch", -1, 0, concat_to_batch_dim,
                                         concat_to_batch_fwd, concat_to_batch_bwd};

dy_expr dy_concat_to_batch(const dy_expr *xs, uint32_t n) {
  return dy_apply(&op_concat_to_batch, xs, n, NULL);
}

const dy_op *const dy_ops_shape[] = {&op_concat,      &op_concat_cols,     &op_pick,
                                     &op_pick_batch,  &op_pick_range,      &op_select_rows,
                                     &op_reshape,     &op_pick_batch_elem, &op_concat_to_batch,
                                     NULL};
