/* Reductions and losses: sum_elems, sum_batches, ... (per batch element). */
#include <string.h>

#include "ops_util.h"

/* ============================================================= sum_elems */
/* y_b = sum_i x_b[i]  -> {1} per batch element */

static int per_batch_scalar_dim(dy_graph *g, dy_node *n) {
  n->dim = dy_batch(dy_d1(1), dy_arg(g, n, 0)->dim.bd);
  return 0;
}

static void sum_elems_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t m = dy_dim_per_batch(a->dim);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *x = a->val + k * m;
    dy_real s = 0;
    for (size_t i = 0; i < m; i++) s += x[i];
    n->val[k] = s;
  }
}

/* dx_b[i] += dy_b */
static void sum_elems_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  size_t m = dy_dim_per_batch(a->dim);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    dy_real *dx = a->grad + k * m, d = n->grad[k];
    for (size_t j = 0; j < m; j++) dx[j] += d;
  }
}

static const dy_op op_sum_elems = {"sum_elems", 1, 0, per_batch_scalar_dim, sum_elems_fwd, sum_elems_bwd};

dy_expr dy_sum_elems(dy_expr a) { return dy_apply(&op_sum_elems, &a, 1, NULL); }

/* =========================================================== sum_batches */
/* y = sum_b x_b  (batch B -> batch 1) */

static int sum_batches_dim(dy_graph *g, dy_node *n) {
  n->dim = dy_arg(g, n, 0)->dim;
  n->dim.bd = 1;
  return 0;
}

static void sum_batches_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t m = dy_dim_per_batch(a->dim);
  memcpy(n->val, a->val, m * sizeof(dy_real));
  for (uint32_t k = 1; k < a->dim.bd; k++) dy_vadd(m, a->val + k * m, n->val);
}

/* dx_b += dy for every b */
static void sum_batches_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  size_t m = dy_dim_per_batch(a->dim);
  for (uint32_t k = 0; k < a->dim.bd; k++) dy_vadd(m, n->grad, a->grad + k * m);
}

static const dy_op op_sum_batches = {"sum_batches", 1, 0, sum_batches_dim, sum_batches_fwd, sum_batches_bwd};

dy_expr dy_sum_batches(dy_expr a) { return dy_apply(&op_sum_batches, &a, 1, NULL); }

const dy_op *const dy_ops_reduce[] = {&op_sum_elems, &op_sum_batches, NULL};
