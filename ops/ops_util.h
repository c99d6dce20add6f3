/* Internal helpers shared by ops/ files: batch broadcasting and loops. */
#ifndef DY_OPS_UTIL_H
#define DY_OPS_UTIL_H

#include "dy_kernels.h"
#include "dy_ops.h"

/* Elements per batch element of node a, or 0 when a has batch 1 (so that
 * pointer + b * stride reads the one element for every b: broadcasting). */
static inline size_t dy_bstride(const dy_node *a) {
  return a->dim.bd == 1 ? 0 : dy_dim_per_batch(a->dim);
}

/* Flat elementwise loops over n values for the batch-1 / equal-batch fast
 * paths of the arithmetic ops: the output never aliases an input (fresh
 * values and gradients), so restrict lets them vectorise without checks. */
static inline void dy_ew_copy_scaled(size_t n, dy_real s, const dy_real *restrict x,
                                     dy_real *restrict y) {
  /* 1 * x is x exactly: one loop (a copy loop would become a memcpy call) */
  for (size_t i = 0; i < n; i++) y[i] = s * x[i];
}
/* y = s x + c over n values. */
static inline void dy_ew_lin(size_t n, dy_real s, dy_real c, const dy_real *restrict x,
                             dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] = s * x[i] + c;
}
/* y = x + z, y = x - z, y = x * z, y += x * z over n values. */
static inline void dy_ew_add(size_t n, const dy_real *restrict x, const dy_real *restrict z,
                             dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] + z[i];
}
static inline void dy_ew_sub(size_t n, const dy_real *restrict x, const dy_real *restrict z,
                             dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] - z[i];
}
static inline void dy_ew_mul(size_t n, const dy_real *restrict x, const dy_real *restrict z,
                             dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] = x[i] * z[i];
}
static inline void dy_ew_muladd(size_t n, const dy_real *restrict x, const dy_real *restrict z,
                                dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] += x[i] * z[i];
}

#if defined(__GNUC__)
#define DY_NOINLINE __attribute__((noinline))
#else
#define DY_NOINLINE
#endif
static inline void dy_ew_axpy(size_t n, dy_real s, const dy_real *restrict x, dy_real *restrict y) {
  if (n >= 32) dy_axpy(n, s, x, y); /* the SIMD kernel */
  else if (s == 1)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
  else
    for (size_t i = 0; i < n; i++) y[i] += s * x[i];
}

/* Output batch of arguments that must be equal or 1; 0 if they conflict. */
static inline uint32_t dy_bcast_batch(uint32_t a, uint32_t b) {
  if (a == b || b == 1) return a;
  if (a == 1) return b;
  return 0;
}

/* Checks that every argument of n has the dims of argument 0 (batch may be 1
 * or the common batch) and sets n->dim to it; error otherwise. */
int dy_dim_same_bcast(dy_graph *g, dy_node *n);

/* The class index of batch element k for ops that pick one element per
 * vector (pick_neg_log_softmax, hinge): aux[0].cp holds one index per batch
 * element (in graph data), or is NULL and aux[1].u is every element's index. */
static inline uint32_t dy_node_class(const dy_node *n, uint32_t k) {
  const uint32_t *ix = n->aux[0].cp;
  return ix ? ix[k] : (uint32_t)n->aux[1].u;
}

/* Shape of such an op: argument 0 a vector {n} or (n,1) per batch element,
 * every index (dy_node_class) < n; sets n->dim = {1} with its batch. */
int dy_dim_class_pick(dy_graph *g, dy_node *n);

/* Checks n has exactly one argument-like unary shape: n->dim = arg 0 dim. */
int dy_dim_unary(dy_graph *g, dy_node *n);

#endif
