/* dync ops: expression nodes, each with forward, backward and a shape check.
 *
 * Every function takes and returns dy_expr values of one graph; a bad argument
 * (shape mismatch, index out of range, stale expression) sets the graph's
 * sticky error and returns an invalid expression, which later calls pass on.
 *
 * Conventions:
 * - A vector of n is dim {n} (a column); a matrix {rows, cols}; row-major.
 * - Batches: every op works per batch element. Binary ops broadcast an
 *   argument of batch 1 against one of batch N (its gradient is summed over
 *   the batch); two different batch sizes > 1 are an error.
 * - "per batch element" reductions return {1} with the input's batch size.
 *
 * Files: arith.c (arithmetic), linalg.c (products), elementwise.c (maps),
 * softmax.c (softmax family), shape.c (concatenate, pick, reshape...),
 * reduce.c (reductions and losses), noise.c (dropout, noise, gradient control).
 * ops_table.c lists every family's descriptors (dy_op_families) for tools and tests.
 */
#ifndef DY_OPS_H
#define DY_OPS_H

#include "dy_core.h"
#include "dy_op.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================ arithmetic */
/* a + b, elementwise (same dims; batch broadcast). */
dy_expr dy_add(dy_expr a, dy_expr b);
/* a - b, elementwise. */
dy_expr dy_sub(dy_expr a, dy_expr b);
/* -a. */
dy_expr dy_neg(dy_expr a);
/* a * b, elementwise (Hadamard). */
dy_expr dy_cmult(dy_expr a, dy_expr b);
/* a / b, elementwise. */
dy_expr dy_cdiv(dy_expr a, dy_expr b);
/* a + s for a scalar s. */
dy_expr dy_add_scalar(dy_expr a, dy_real s);
/* a * s for a scalar s. */
dy_expr dy_mul_scalar(dy_expr a, dy_real s);
/* xs[0] + ... + xs[n-1] (same dims; batch broadcast), one node. */
dy_expr dy_sum(const dy_expr *xs, uint32_t n);
/* (xs[0] + ... + xs[n-1]) / n, one node. */
dy_expr dy_average(const dy_expr *xs, uint32_t n);

/* ======================================================== linear algebra */
/* a (r,k) times b (k,c) -> (r,c); a vector {k} counts as (k,1). Batch: either
 * side may have batch 1 (broadcast) or both the same batch. */
dy_expr dy_matmul(dy_expr a, dy_expr b);
/* b + W x as one node: W (r,k), x {k} or (k,c), b {r} or (r,c). */
dy_expr dy_affine(dy_expr b, dy_expr W, dy_expr x);
/* xs = {b, W1, x1, W2, x2, ...} (n odd, >= 3): b + W1 x1 + W2 x2 + ... */
dy_expr dy_affine_n(const dy_expr *xs, uint32_t n);
/* Transpose of a matrix (r,c) -> (c,r); a vector {n} becomes (1,n). */
dy_expr dy_transpose(dy_expr a);
/* Dot product of two vectors of the same size, per batch element -> {1}. */
dy_expr dy_dot(dy_expr a, dy_expr b);

/* =========================================================== elementwise */
dy_expr dy_tanh(dy_expr a);
/* 1 / (1 + exp(-a)) (DyNet's logistic). */
dy_expr dy_sigmoid(dy_expr a);
/* max(0, a). */
dy_expr dy_relu(dy_expr a);
/* a if a > 0 else alpha * (exp(a) - 1). */
dy_expr dy_elu(dy_expr a, dy_real alpha);
dy_expr dy_exp(dy_expr a);
/* Natural log (NaN/-Inf for a <= 0, as in C). */
dy_expr dy_log(dy_expr a);
dy_expr dy_square(dy_expr a);
dy_expr dy_sqrt(dy_expr a);
dy_expr dy_abs(dy_expr a);
/* a^p for a scalar p. */
dy_expr dy_pow(dy_expr a, dy_real p);
/* log(sigmoid(a)), computed stably. */
dy_expr dy_log_sigmoid(dy_expr a);
/* a / (1 + |a|). */
dy_expr dy_softsign(dy_expr a);

/* ====================================================== softmax family */
/* Softmax over dim 0 (each column of a matrix independently). */
dy_expr dy_softmax(dy_expr a);
/* log(softmax(a)), stable. */
dy_expr dy_log_softmax(dy_expr a);
/* -log(softmax(a)[idx]) for a vector a, every batch element picks idx -> {1}. */
dy_expr dy_pick_neg_log_softmax(dy_expr a, uint32_t idx);
/* The same with one index per batch element (idx has a's batch size entries;
 * copied). */
dy_expr dy_pick_neg_log_softmax_batch(dy_expr a, const uint32_t *idx);
/* log(sum(exp(a))) over dim 0 of a vector, per batch element -> {1}; of a
 * matrix (r,c), per column -> (1,c) (dim 0 becomes 1). */
dy_expr dy_logsumexp(dy_expr a);

/* ================================================================= shape */
/* Index errors (DY_EINDEX) name the op, node, index and size. A dimension
 * argument `dim` is 0..3; dimensions beyond a's nd have size 1. */
/* Concatenation along dim 0 (rows): {n1,...} + {n2,...} -> {n1+n2,...}; every
 * other dimension equal. Arguments of batch 1 are broadcast against batch B. */
dy_expr dy_concat(const dy_expr *xs, uint32_t n);
/* Concatenation along dim 1 (columns): (r,c1) + (r,c2) -> (r,c1+c2); vectors
 * {r} count as (r,1). Batch broadcast as dy_concat. */
dy_expr dy_concat_cols(const dy_expr *xs, uint32_t n);
/* Element idx along dimension `dim`; that dimension is dropped ({n} -> {1},
 * (r,c) dim 1 -> {r}). The same idx for every batch element. */
dy_expr dy_pick(dy_expr a, uint32_t idx, uint32_t dim);
/* The same with one index per batch element (idx has a's batch size entries;
 * copied). */
dy_expr dy_pick_batch(dy_expr a, const uint32_t *idx, uint32_t dim);
/* Elements [begin, end) along dimension `dim` (kept, with size end-begin);
 * needs begin < end <= size. */
dy_expr dy_pick_range(dy_expr a, uint32_t begin, uint32_t end, uint32_t dim);
/* Rows rows[0..n) of a (r,c) (or {r}, or any tensor along dim 0) -> (n,c) (or
 * {n}); rows copied, repeats allowed (their gradients add), n >= 1. */
dy_expr dy_select_rows(dy_expr a, const uint32_t *rows, uint32_t n);
/* Same values (no copy) with dim d: the same size per batch element when
 * d.bd == 1 (a's batch is kept), else the same total size (the batch may
 * change: {6}x2 -> {3}x4). */
dy_expr dy_reshape(dy_expr a, dy_dim d);
/* Batch element b of a, as batch 1 (no copy). */
dy_expr dy_pick_batch_elem(dy_expr a, uint32_t b);
/* Batch elements concatenated: xs of equal dims -> batch sum of their batches. */
dy_expr dy_concat_to_batch(const dy_expr *xs, uint32_t n);

/* ==================================================== reductions, losses */
/* Sum of all elements, per batch element -> {1}. */
dy_expr dy_sum_elems(dy_expr a);
/* Mean of all elements, per batch element -> {1}. */
dy_expr dy_mean_elems(dy_expr a);
/* Sum over the batch: dim d batch B -> dim d batch 1. */
dy_expr dy_sum_batches(dy_expr a);
/* sum a^2, per batch element. */
dy_expr dy_squared_norm(dy_expr a);
/* sqrt(sum a^2), per batch element. */
dy_expr dy_l2_norm(dy_expr a);
/* sum (a-b)^2, per batch element. */
dy_expr dy_squared_distance(dy_expr a, dy_expr b);
/* sum |a-b|, per batch element. */
dy_expr dy_l1_distance(dy_expr a, dy_expr b);
/* Huber loss of d = a-b with threshold c, summed, per batch element: d^2 where
 * |d| < c, else c (2|d| - c) (DyNet's definition). */
dy_expr dy_huber_distance(dy_expr a, dy_expr b, dy_real c);
/* -sum(y log a + (1-y) log(1-a)) for probabilities a and targets y, per batch
 * element; a term whose weight (y or 1-y) is 0 counts 0. */
dy_expr dy_binary_log_loss(dy_expr a, dy_expr y);
/* Multiclass hinge: sum_{j != idx} max(0, a_j - a_idx + margin), per batch element. */
dy_expr dy_hinge(dy_expr a, uint32_t idx, dy_real margin);
/* The same with one index per batch element (copied). */
dy_expr dy_hinge_batch(dy_expr a, const uint32_t *idx, dy_real margin);

/* ================================================================= noise */
/* Random ops draw a seed from the graph's RNG (dy_graph_rand) when the node is
 * built and regenerate their draws from it in forward and backward, so values
 * depend on the graph seed and build order only. The training mode
 * (dy_graph_train) is also read when the node is built. */
/* Inverted dropout: zero each element with probability p, scale the rest by
 * 1/(1-p); identity in test mode. p outside [0, 1) is a DY_EARG error. */
dy_expr dy_dropout(dy_expr a, dy_real p);
/* a + N(0, stddev^2) noise in training mode; identity in test mode
 * (stddev >= 0). */
dy_expr dy_gaussian_noise(dy_expr a, dy_real stddev);
/* a's value, but no gradient flows back through it. */
dy_expr dy_nobackprop(dy_expr a);
/* a's value; the gradient flowing back is multiplied by s (finite). */
dy_expr dy_scale_gradient(dy_expr a, dy_real s);

/* ================================================================= table */
/* Each family file defines its NULL-terminated list of descriptors,
 * e.g. dy_ops_arith[]; dy_op_families lists the lists (NULL-terminated). */
extern const dy_op *const *const dy_op_families[];
/* The descriptor of the op called name (core's leaves excluded), or NULL. */
const dy_op *dy_op_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif
