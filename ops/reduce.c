/* Reductions and losses: sum_elems, sum_batches, mean_elems, squared_norm,
 * l2_norm (unary, per batch element -> {1}); squared_distance, l1_distance,
 * huber_distance, binary_log_loss (two arguments of equal dims, batch 1
 * broadcast, summed per batch element -> {1}); hinge, hinge_batch (a vector
 * and a gold index per batch element -> {1}). */
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


/* ============================================================ mean_elems */
/* y_b = (1/m) sum_i x_b[i] */

static void mean_elems_fwd(dy_graph *g, dy_node *n) {
  sum_elems_fwd(g, n);
  dy_scal(n->dim.bd, (dy_real)(1.0 / (double)dy_dim_per_batch(dy_arg(g, n, 0)->dim)), n->val);
}

/* dx_b[i] += dy_b / m */
static void mean_elems_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  size_t m = dy_dim_per_batch(a->dim);
  dy_real s = (dy_real)(1.0 / (double)m);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    dy_real *restrict dx = a->grad + k * m, d = n->grad[k] * s;
    for (size_t j = 0; j < m; j++) dx[j] += d;
  }
}

static const dy_op op_mean_elems = {"mean_elems", 1, 0, per_batch_scalar_dim, mean_elems_fwd, mean_elems_bwd};

dy_expr dy_mean_elems(dy_expr a) { return dy_apply(&op_mean_elems, &a, 1, NULL); }

/* ========================================================== squared_norm */
/* y_b = sum_i x_b[i]^2 */

static void squared_norm_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t m = dy_dim_per_batch(a->dim);
  for (uint32_t k = 0; k < n->dim.bd; k++) n->val[k] = dy_dotk(m, a->val + k * m, a->val + k * m);
}

/* dx_b += 2 dy_b x_b */
static void squared_norm_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  size_t m = dy_dim_per_batch(a->dim);
  for (uint32_t k = 0; k < n->dim.bd; k++) dy_axpy(m, 2 * n->grad[k], a->val + k * m, a->grad + k * m);
}

static const dy_op op_squared_norm = {"squared_norm", 1, 0, per_batch_scalar_dim, squared_norm_fwd,
                                      squared_norm_bwd};

dy_expr dy_squared_norm(dy_expr a) { return dy_apply(&op_squared_norm, &a, 1, NULL); }

/* =============================================================== l2_norm */
/* y_b = sqrt(sum_i x_b[i]^2) */

static void l2_norm_fwd(dy_graph *g, dy_node *n) {
  squared_norm_fwd(g, n);
  for (uint32_t k = 0; k < n->dim.bd; k++) n->val[k] = DY_SQRT(n->val[k]);
}

/* dx_b += dy_b x_b / y_b; at x_b = 0 the subgradient 0 is used. */
static void l2_norm_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  size_t m = dy_dim_per_batch(a->dim);
  for (uint32_t k = 0; k < n->dim.bd; k++)
    if (n->val[k] > 0) dy_axpy(m, n->grad[k] / n->val[k], a->val + k * m, a->grad + k * m);
}

static const dy_op op_l2_norm = {"l2_norm", 1, 0, per_batch_scalar_dim, l2_norm_fwd, l2_norm_bwd};

dy_expr dy_l2_norm(dy_expr a) { return dy_apply(&op_l2_norm, &a, 1, NULL); }

/* ======================================================== binary losses */
/* y_b = sum_i f(a_b[i], c_b[i]) for two arguments of equal dims; either may
 * have batch 1 (broadcast: its gradient is summed over the batch). */

static int loss2_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  if (!dy_dim_eq_nobatch(a->dim, b->dim))
    return dy_fail_shape(g, n, "the two arguments must have equal dims (elementwise loss)");
  uint32_t bd = dy_bcast_batch(a->dim.bd, b->dim.bd);
  if (!bd) return dy_fail_shape(g, n, "batch sizes differ; they must be equal or 1");
  n->dim = dy_batch(dy_d1(1), bd);
  return 0;
}

/* Defines NAME_fwd (y_b = sum_i F) and NAME_bwd (dx_b[i] += dy_b * DA for
 * argument 0, dy_b * DB for argument 1), F, DA and DB expressions in xa, xb
 * (the two arguments' elements) and the parameter p = aux[0].f. */
#define DY_LOSS2(NAME, F, DA, DB)                                                     \
  static void NAME##_fwd(dy_graph *g, dy_node *n) {                                   \
    const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);                         \
    size_t m = dy_dim_per_batch(a->dim), sa = dy_bstride(a), sb = dy_bstride(b);      \
    const dy_real p = (dy_real)n->aux[0].f;                                           \
    (void)p;                                                                          \
    for (uint32_t k = 0; k < n->dim.bd; k++) {                                        \
      const dy_real *restrict va = a->val + k * sa, *restrict vb = b->val + k * sb;   \
      dy_real s = 0;                                                                  \
      for (size_t i = 0; i < m; i++) {                                                \
        const dy_real xa = va[i], xb = vb[i];                                         \
        s += (F);                                                                     \
      }                                                                               \
      n->val[k] = s;                                                                  \
    }                                                                                 \
  }                                                                                   \
  static void NAME##_bwd(dy_graph *g, dy_node *n, uint32_t ai) {                      \
    const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);                         \
    dy_node *t = dy_arg(g, n, ai);                                                    \
    size_t m = dy_dim_per_batch(a->dim), sa = dy_bstride(a), sb = dy_bstride(b),      \
           st = ai ? sb : sa;                                                         \
    const dy_real p = (dy_real)n->aux[0].f;                                           \
    (void)p;                                                                          \
    for (uint32_t k = 0; k < n->dim.bd; k++) {                                        \
      const dy_real *restrict va = a->val + k * sa, *restrict vb = b->val + k * sb;   \
      dy_real *restrict dx = t->grad + k * st, d = n->grad[k];                        \
      if (ai == 0)                                                                    \
        for (size_t i = 0; i < m; i++) {                                              \
          const dy_real xa = va[i], xb = vb[i];                                       \
          (void)xa;                                                                   \
          (void)xb;                                                                   \
          dx[i] += d * (DA);                                                          \
        }                                                                             \
      else                                                                            \
        for (size_t i = 0; i < m; i++) {                                              \
          const dy_real xa = va[i], xb = vb[i];                                       \
          (void)xa;                                                                   \
          (void)xb;                                                                   \
          dx[i] += d * (DB);                                                          \
        }                                                                             \
    }                                                                                 \
  }                                                                                   \
  static const dy_op op_##NAME = {#NAME, 2, 0, loss2_dim, NAME##_fwd, NAME##_bwd};

static dy_expr loss2(const dy_op *op, dy_expr a, dy_expr b, double p) {
  dy_expr x[2] = {a, b};
  dy_aux aux[DY_NAUX] = {{.f = p}, {0}, {0}};
  return dy_apply(op, x, 2, aux);
}

/* ------------------------------------------------------ squared_distance */
/* sum (a-b)^2 */
DY_LOSS2(squared_distance, (xa - xb) * (xa - xb), 2 * (xa - xb), 2 * (xb - xa))
dy_expr dy_squared_distance(dy_expr a, dy_expr b) { return loss2(&op_squared_distance, a, b, 0); }

/* ----------------------------------------------------------- l1_distance */
/* sum |a-b|; gradient sign(a-b), 0 where a = b. */
#define DY_SIGN(v) ((dy_real)((v) > 0) - (dy_real)((v) < 0))
DY_LOSS2(l1_distance, DY_FABS(xa - xb), DY_SIGN(xa - xb), DY_SIGN(xb - xa))
dy_expr dy_l1_distance(dy_expr a, dy_expr b) { return loss2(&op_l1_distance, a, b, 0); }

/* -------------------------------------------------------- huber_distance */
/* DyNet's Huber: with d = a-b and threshold c, d^2 where |d| < c, else
 * c (2|d| - c) (continuous, with continuous gradient 2d | 2c sign(d)). */
#define DY_HUBER(d) (DY_FABS(d) < p ? (d) * (d) : p * (2 * DY_FABS(d) - p))
#define DY_HUBER_D(d) (DY_FABS(d) < p ? 2 * (d) : 2 * p * DY_SIGN(d))
DY_LOSS2(huber_distance, DY_HUBER(xa - xb), DY_HUBER_D(xa - xb), DY_HUBER_D(xb - xa))
dy_expr dy_huber_distance(dy_expr a, dy_expr b, dy_real c) { return loss2(&op_huber_distance, a, b, c); }

/* ------------------------------------------------------- binary_log_loss */
/* -(y log a + (1-y) log(1-a)) for probabilities a = xa and targets y = xb.
 * A term whose weight (y or 1-y) is exactly 0 counts 0 (so a = y = 0 or 1 is
 * a loss of 0, not NaN); a confident wrong prediction is +Inf, as in C. */
#define DY_BLL(a, y) (-(((y) != 0 ? (y) * DY_LOG(a) : 0) + ((y) != 1 ? (1 - (y)) * DY_LOG1P(-(a)) : 0)))
#define DY_BLL_DA(a, y) (((y) != 1 ? (1 - (y)) / (1 - (a)) : 0) - ((y) != 0 ? (y) / (a) : 0))
DY_LOSS2(binary_log_loss, DY_BLL(xa, xb), DY_BLL_DA(xa, xb), DY_LOG1P(-xa) - DY_LOG(xa))
dy_expr dy_binary_log_loss(dy_expr a, dy_expr y) { return loss2(&op_binary_log_loss, a, y, 0); }

/* ================================================================= hinge */
/* y_b = sum_{j != i_b} max(0, x_b[j] - x_b[i_b] + margin) for vectors x_b.
 * aux[0].cp: indices (a's batch size of them, in graph data) or NULL and
 * aux[1].u the one index of every batch element; aux[2].f: margin. */

static void hinge_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  size_t r = a->dim.d[0];
  dy_real margin = (dy_real)n->aux[2].f;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *restrict x = a->val + k * r;
    uint32_t ix = dy_node_class(n, k);
    dy_real base = margin - x[ix], s = 0, tix = x[ix] + base;
    for (size_t j = 0; j < r; j++) {
      dy_real t = x[j] + base;
      s += t > 0 ? t : 0;
    }
    n->val[k] = s - (tix > 0 ? tix : 0); /* the loop counted j = i too */
  }
}

/* every active term j (j != i, t_j > 0): dx[j] += dy, dx[i] -= dy */
static void hinge_bwd(dy_graph *g, dy_node *n, uint32_t ai) {
  dy_node *a = dy_arg(g, n, ai);
  size_t r = a->dim.d[0];
  dy_real margin = (dy_real)n->aux[2].f;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *restrict x = a->val + k * r;
    dy_real *restrict dx = a->grad + k * r, d = n->grad[k], cnt = 0;
    uint32_t ix = dy_node_class(n, k);
    dy_real base = margin - x[ix];
    for (size_t j = 0; j < r; j++) {
      dy_real on = (dy_real)(x[j] + base > 0);
      dx[j] += d * on;
      cnt += on;
    }
    /* the loop also ran j = i (on when margin > 0): taking back its d * on_i
     * and subtracting d per truly active term is, together, d * cnt */
    dx[ix] -= d * cnt;
  }
}

static const dy_op op_hinge = {"hinge", 1, 0, dy_dim_class_pick, hinge_fwd, hinge_bwd};

dy_expr dy_hinge(dy_expr a, uint32_t idx, dy_real margin) {
  dy_aux aux[DY_NAUX] = {{.cp = NULL}, {.u = idx}, {.f = margin}};
  return dy_apply(&op_hinge, &a, 1, aux);
}

dy_expr dy_hinge_batch(dy_expr a, const uint32_t *idx, dy_real margin) {
  uint32_t bd = dy_expr_dim(a).bd;
  /* a stale/invalid a, or an earlier error: dy_apply reports or passes it on */
  if (bd == 0 || dy_graph_status(a.g) != DY_OK) return dy_apply(&op_hinge, &a, 1, NULL);
  if (!idx) {
    dy_fail(a.g, DY_EARG, "hinge: the index array for argument node %u is NULL", (unsigned)a.id);
    return dy_apply(&op_hinge, &a, 1, NULL);
  }
  uint32_t *cp = dy_graph_data(a.g, bd * sizeof(uint32_t));
  if (!cp) return dy_apply(&op_hinge, &a, 1, NULL);
  memcpy(cp, idx, bd * sizeof(uint32_t));
  dy_aux aux[DY_NAUX] = {{.cp = cp}, {0}, {.f = margin}};
  return dy_apply(&op_hinge, &a, 1, aux);
}

const dy_op *const dy_ops_reduce[] = {&op_sum_elems,   &op_sum_batches,     &op_mean_elems,
                                      &op_squared_norm, &op_l2_norm,        &op_squared_distance,
                                      &op_l1_distance, &op_huber_distance, &op_binary_log_loss,
                                      &op_hinge,       NULL};
