/* Arithmetic: add, sub, neg, cmult, cdiv, add/mul by scalar, n-ary sum, average.
 * Binary ops broadcast an argument of batch 1 over the other's batch; the
 * broadcast argument's gradient is summed over the batch (stride 0 below). */
#include <stdio.h>
#include <string.h>

#include "ops_util.h"

/* ============================================================ shape helpers */

/* Arguments of equal dims (dy_apply copies the dim itself when they are all
 * identical: DY_OP_DIM_SAME); here the batch sizes may differ (1 broadcasts)
 * and errors are named. */
int dy_dim_same_bcast(dy_graph *g, dy_node *n) {
  const dy_node *a0 = dy_arg(g, n, 0);
  uint32_t bd = a0->dim.bd;
  for (uint32_t i = 1; i < n->nargs; i++) {
    const dy_node *a = dy_arg(g, n, i);
    if (!dy_dim_eq_nobatch(a->dim, a0->dim))
      return dy_fail_shape(g, n, "argument %u has different dims from argument 0 (elementwise "
                              "ops need equal dims)", (unsigned)i);
    bd = dy_bcast_batch(bd, a->dim.bd);
    if (!bd)
      return dy_fail_shape(g, n, "batch sizes differ (argument %u); batches must be equal or 1",
                           (unsigned)i);
  }
  n->dim = a0->dim;
  n->dim.bd = bd;
  return 0;
}

int dy_dim_class_pick(dy_graph *g, dy_node *n) {
  dy_dim d = dy_arg(g, n, 0)->dim;
  if (!(d.nd == 1 || (d.nd == 2 && d.d[1] == 1)))
    return dy_fail_shape(g, n, "argument 0 must be a vector {n} or (n,1) per batch element");
  for (uint32_t k = 0; k < (n->aux[0].cp ? d.bd : 1u); k++) {
    uint32_t ix = dy_node_class(n, k);
    if (ix >= d.d[0]) {
      if (n->aux[0].cp)
        return dy_fail_node(g, n, DY_EINDEX, "index %u (of batch element %u) is out of range for size %u",
                            (unsigned)ix, (unsigned)k, (unsigned)d.d[0]);
      return dy_fail_node(g, n, DY_EINDEX, "index %u is out of range for size %u", (unsigned)ix,
                          (unsigned)d.d[0]);
    }
  }
  n->dim = dy_batch(dy_d1(1), d.bd);
  return 0;
}

int dy_dim_unary(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  n->dim = a->dim;
  n->size = a->size;
  return 0;
}

/* ==================================================================== add */
/* y_b = x0_b + x1_b */

/* The broadcast paths below are out of line: the equal-batch fast paths then
 * need no saved registers. */
static DY_NOINLINE void add_fwd_bcast(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  size_t m = dy_dim_per_batch(n->dim), sa = dy_bstride(a), sb = dy_bstride(b);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *x = a->val + k * sa, *z = b->val + k * sb;
    dy_real *y = n->val + k * m;
    for (size_t i = 0; i < m; i++) y[i] = x[i] + z[i];
  }
}

static void add_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  if (a->dim.bd == b->dim.bd) dy_ew_add(n->size, a->val, b->val, n->val); /* one flat loop */
  else add_fwd_bcast(g, n);
}

/* dx_i += s dy (summed over the batch when x_i is broadcast); a fresh dx_i
 * (DY_OP_BWD_ASSIGN) is written instead. */
static DY_NOINLINE void pass_grad_bcast(const dy_node *n, dy_node *a, dy_real s) {
  size_t m = dy_dim_per_batch(n->dim);
  if (dy_grad_fresh(a)) memset(a->grad, 0, m * sizeof(dy_real));
  for (uint32_t k = 0; k < n->dim.bd; k++) dy_axpy(m, s, n->grad + k * m, a->grad);
}

static void pass_grad(dy_graph *g, dy_node *n, uint32_t i, dy_real s) {
  dy_node *a = dy_arg(g, n, i);
  if (a->dim.bd != n->dim.bd) pass_grad_bcast(n, a, s);
  else if (dy_grad_fresh(a)) dy_ew_copy_scaled(n->size, s, n->grad, a->grad);
  else dy_ew_axpy(n->size, s, n->grad, a->grad);
}

static void add_bwd(dy_graph *g, dy_node *n, uint32_t i) { pass_grad(g, n, i, 1); }

static const dy_op op_add = {"add", 2, DY_OP_BWD_ASSIGN | DY_OP_DIM_SAME, dy_dim_same_bcast, add_fwd, add_bwd};

dy_expr dy_add(dy_expr a, dy_expr b) {
  dy_expr x[2] = {a, b};
  return dy_apply(&op_add, x, 2, NULL);
}

/* ==================================================================== sub */

static DY_NOINLINE void sub_fwd_bcast(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  size_t m = dy_dim_per_batch(n->dim), sa = dy_bstride(a), sb = dy_bstride(b);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *x = a->val + k * sa, *z = b->val + k * sb;
    dy_real *y = n->val + k * m;
    for (size_t i = 0; i < m; i++) y[i] = x[i] - z[i];
  }
}

static void sub_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  if (a->dim.bd == b->dim.bd) dy_ew_sub(n->size, a->val, b->val, n->val);
  else sub_fwd_bcast(g, n);
}

static void sub_bwd(dy_graph *g, dy_node *n, uint32_t i) { pass_grad(g, n, i, i ? -1 : 1); }

static const dy_op op_sub = {"sub", 2, DY_OP_BWD_ASSIGN | DY_OP_DIM_SAME, dy_dim_same_bcast, sub_fwd, sub_bwd};

dy_expr dy_sub(dy_expr a, dy_expr b) {
  dy_expr x[2] = {a, b};
  return dy_apply(&op_sub, x, 2, NULL);
}

/* ============================================================ neg, scalars */
/* y = s * x + c, with s = aux[0].f, c = aux[1].f: neg (-1, 0), add_scalar
 * (1, c), mul_scalar (s, 0). */

static void lin_fwd(dy_graph *g, dy_node *n) {
  dy_ew_lin(n->size, (dy_real)n->aux[0].f, (dy_real)n->aux[1].f, dy_arg(g, n, 0)->val, n->val);
}

static void lin_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  if (dy_grad_fresh(a)) dy_ew_copy_scaled(n->size, (dy_real)n->aux[0].f, n->grad, a->grad);
  else dy_ew_axpy(n->size, (dy_real)n->aux[0].f, n->grad, a->grad);
}

static const dy_op op_neg = {"neg", 1, DY_OP_BWD_ASSIGN | DY_OP_DIM_SAME, dy_dim_unary, lin_fwd, lin_bwd};
static const dy_op op_add_scalar = {"add_scalar", 1, DY_OP_BWD_ASSIGN | DY_OP_DIM_SAME, dy_dim_unary, lin_fwd, lin_bwd};
static const dy_op op_mul_scalar = {"mul_scalar", 1, DY_OP_BWD_ASSIGN | DY_OP_DIM_SAME, dy_dim_unary, lin_fwd, lin_bwd};

static dy_expr lin(const dy_op *op, dy_expr a, double s, double c) {
  dy_aux aux[DY_NAUX] = {{.f = s}, {.f = c}, {0}};
  return dy_apply(op, &a, 1, aux);
}

dy_expr dy_neg(dy_expr a) { return lin(&op_neg, a, -1, 0); }
dy_expr dy_add_scalar(dy_expr a, dy_real s) { return lin(&op_add_scalar, a, 1, s); }
dy_expr dy_mul_scalar(dy_expr a, dy_real s) { return lin(&op_mul_scalar, a, s, 0); }

/* ================================================================== cmult */

static DY_NOINLINE void cmult_fwd_bcast(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  size_t m = dy_dim_per_batch(n->dim), sa = dy_bstride(a), sb = dy_bstride(b);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *x = a->val + k * sa, *z = b->val + k * sb;
    dy_real *y = n->val + k * m;
    for (size_t i = 0; i < m; i++) y[i] = x[i] * z[i];
  }
}

static void cmult_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  if (a->dim.bd == b->dim.bd) dy_ew_mul(n->size, a->val, b->val, n->val);
  else cmult_fwd_bcast(g, n);
}

static DY_NOINLINE void cmult_bwd_bcast(const dy_node *n, dy_node *a, const dy_node *o) {
  size_t m = dy_dim_per_batch(n->dim), sa = dy_bstride(a), so = dy_bstride(o);
  if (dy_grad_fresh(a)) memset(a->grad, 0, dy_dim_size(a->dim) * sizeof(dy_real));
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *dy = n->grad + k * m, *z = o->val + k * so;
    dy_real *dx = a->grad + k * sa;
    for (size_t j = 0; j < m; j++) dx[j] += dy[j] * z[j];
  }
}

/* dx_i += dy * x_other (a fresh dx_i is written) */
static void cmult_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  const dy_node *o = dy_arg(g, n, 1 - i);
  if ((a->dim.bd != n->dim.bd) | (o->dim.bd != n->dim.bd)) cmult_bwd_bcast(n, a, o);
  else if (dy_grad_fresh(a)) dy_ew_mul(n->size, n->grad, o->val, a->grad);
  else dy_ew_muladd(n->size, n->grad, o->val, a->grad);
}

static const dy_op op_cmult = {"cmult", 2, DY_OP_BWD_ASSIGN | DY_OP_DIM_SAME, dy_dim_same_bcast, cmult_fwd, cmult_bwd};

dy_expr dy_cmult(dy_expr a, dy_expr b) {
  dy_expr x[2] = {a, b};
  return dy_apply(&op_cmult, x, 2, NULL);
}

/* =================================================================== cdiv */

static void cdiv_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *b = dy_arg(g, n, 1);
  if (a->dim.bd == b->dim.bd) {
    const dy_real *restrict x = a->val, *restrict z = b->val;
    dy_real *restrict y = n->val;
    for (size_t i = 0, s = n->size; i < s; i++) y[i] = x[i] / z[i];
    return;
  }
  size_t m = dy_dim_per_batch(n->dim), sa = dy_bstride(a), sb = dy_bstride(b);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *x = a->val + k * sa, *z = b->val + k * sb;
    dy_real *y = n->val + k * m;
    for (size_t i = 0; i < m; i++) y[i] = x[i] / z[i];
  }
}

/* da += dy / b;  db += -dy * y / b */
static void cdiv_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  const dy_node *b = dy_arg(g, n, 1);
  size_t m = dy_dim_per_batch(n->dim), sa = dy_bstride(a), sb = dy_bstride(b);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *dy = n->grad + k * m, *z = b->val + k * sb, *y = n->val + k * m;
    dy_real *dx = a->grad + k * sa;
    if (i == 0)
      for (size_t j = 0; j < m; j++) dx[j] += dy[j] / z[j];
    else
      for (size_t j = 0; j < m; j++) dx[j] -= dy[j] * y[j] / z[j];
  }
}

static const dy_op op_cdiv = {"cdiv", 2, DY_OP_DIM_SAME, dy_dim_same_bcast, cdiv_fwd, cdiv_bwd};

dy_expr dy_cdiv(dy_expr a, dy_expr b) {
  dy_expr x[2] = {a, b};
  return dy_apply(&op_cdiv, x, 2, NULL);
}

/* ============================================================ sum, average */
/* y = s * sum_i x_i with s = aux[0].f (1 for sum, 1/n for average) */

static void sum_fwd(dy_graph *g, dy_node *n) {
  size_t m = dy_dim_per_batch(n->dim);
  dy_real s = (dy_real)n->aux[0].f;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    dy_real *y = n->val + k * m;
    const dy_node *a0 = dy_arg(g, n, 0);
    const dy_real *x0 = a0->val + k * dy_bstride(a0);
    for (size_t j = 0; j < m; j++) y[j] = x0[j];
    for (uint32_t i = 1; i < n->nargs; i++) {
      const dy_node *a = dy_arg(g, n, i);
      dy_vadd(m, a->val + k * dy_bstride(a), y);
    }
    if (s != 1) dy_scal(m, s, y);
  }
}

static void sum_bwd(dy_graph *g, dy_node *n, uint32_t i) { pass_grad(g, n, i, (dy_real)n->aux[0].f); }

static const dy_op op_sum = {"sum", -1, DY_OP_BWD_ASSIGN | DY_OP_DIM_SAME, dy_dim_same_bcast, sum_fwd, sum_bwd};
static const dy_op op_average = {"average", -1, DY_OP_BWD_ASSIGN | DY_OP_DIM_SAME, dy_dim_same_bcast, sum_fwd, sum_bwd};

dy_expr dy_sum(const dy_expr *xs, uint32_t n) {
  dy_aux aux[DY_NAUX] = {{.f = 1}, {0}, {0}};
  return dy_apply(&op_sum, xs, n, aux);
}

dy_expr dy_average(const dy_expr *xs, uint32_t n) {
  dy_aux aux[DY_NAUX] = {{.f = n ? 1.0 / n : 1.0}, {0}, {0}};
  return dy_apply(&op_average, xs, n, aux);
}

const dy_op *const dy_ops_arith[] = {&op_add,   &op_sub,  &op_neg, &op_add_scalar, &op_mul_scalar,
                                     &op_cmult, &op_cdiv, &op_sum, &op_average,    NULL};
