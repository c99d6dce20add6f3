/* Noise and gradient control: dropout, gaussian_noise, nobackprop,
 * scale_gradient.
 *
 * Random ops draw one 64-bit seed from the graph's RNG when the node is built
 * and keep it in aux[1]; element k's draw is dy_unif(seed, k) (a counter-based
 * stream), so forward and backward regenerate the same mask with no storage,
 * and the values do not depend on the order in which nodes are evaluated.
 * The training mode (dy_graph_train) is read when the node is built and kept
 * in aux[2]: in test mode the node passes its argument through unchanged. */
#include <math.h>
#include <string.h>

#include "ops_util.h"

/* Seed for a random node over a, or 0 when a is not usable (dy_apply then
 * reports the error and nothing is drawn). */
static uint64_t node_seed(dy_expr a) { return dy_expr_valid(a) ? dy_graph_rand(a.g) : 0; }
static int64_t node_train(dy_expr a) { return dy_expr_valid(a) ? dy_graph_train(a.g) : 0; }

/* ================================================================ dropout */
/* aux[0].f = p, aux[1].u = seed, aux[2].i = training.
 * Training: y_k = x_k * m_k, m_k = (dy_unif(seed, k) >= p) / (1 - p) over the
 * whole batch (k = 0 .. size-1). Test: y = x. */

static int dropout_dim(dy_graph *g, dy_node *n) {
  double p = n->aux[0].f;
  if (!(p >= 0 && p < 1))
    return dy_fail_node(g, n, DY_EARG, "dropout rate p = %g must lie in [0, 1)", p);
  n->dim = dy_arg(g, n, 0)->dim;
  return 0;
}

/* y (+)= x * mask; add selects += (backward) over = (forward). */
static void dropout_apply(const dy_node *n, const dy_real *x, dy_real *y, int add) {
  size_t s = dy_dim_size(n->dim);
  double p = n->aux[0].f;
  uint64_t seed = n->aux[1].u;
  dy_real scale = (dy_real)(1.0 / (1.0 - p));
  if (!n->aux[2].i) scale = 1, p = 0; /* test mode: identity */
  for (size_t k = 0; k < s; k++) {
    dy_real m = (p > 0 && dy_unif(seed, k) < p) ? 0 : scale;
    if (add) y[k] += x[k] * m;
    else y[k] = x[k] * m;
  }
}

static void dropout_fwd(dy_graph *g, dy_node *n) { dropout_apply(n, dy_arg(g, n, 0)->val, n->val, 0); }

/* dx_k += dy_k * m_k (the same mask, regenerated from the seed) */
static void dropout_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dropout_apply(n, n->grad, dy_arg(g, n, i)->grad, 1);
}

static const dy_op op_dropout = {"dropout", 1, DY_OP_RANDOM, dropout_dim, dropout_fwd, dropout_bwd};

dy_expr dy_dropout(dy_expr a, dy_real p) {
  dy_aux aux[DY_NAUX] = {{.f = p}, {.u = node_seed(a)}, {.i = node_train(a)}};
  return dy_apply(&op_dropout, &a, 1, aux);
}

/* ========================================================= gaussian_noise */
/* aux[0].f = stddev, aux[1].u = seed, aux[2].i = training.
 * Training: y_k = x_k + stddev * z_k with z_k ~ N(0,1) by Box-Muller from
 * draws 2k and 2k+1 of the seed. Test: y = x. The noise is additive, so
 * dx += dy either way. */

static int gaussian_noise_dim(dy_graph *g, dy_node *n) {
  double sd = n->aux[0].f;
  if (!(sd >= 0 && isfinite(sd)))
    return dy_fail_node(g, n, DY_EARG, "stddev = %g must be finite and >= 0", sd);
  n->dim = dy_arg(g, n, 0)->dim;
  return 0;
}

static void gaussian_noise_fwd(dy_graph *g, dy_node *n) {
  const dy_real *x = dy_arg(g, n, 0)->val;
  size_t s = dy_dim_size(n->dim);
  double sd = n->aux[0].f;
  uint64_t seed = n->aux[1].u;
  if (!n->aux[2].i || sd == 0) {
    memcpy(n->val, x, s * sizeof(dy_real));
    return;
  }
  const double two_pi = 6.283185307179586476925;
  for (size_t k = 0; k < s; k++) {
    double u1 = 1.0 - dy_unif(seed, 2 * (uint64_t)k); /* (0, 1]: log is finite */
    double u2 = dy_unif(seed, 2 * (uint64_t)k + 1);
    double z = sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
    n->val[k] = x[k] + (dy_real)(sd * z);
  }
}

/* dx += dy */
static void pass_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_vadd(dy_dim_size(n->dim), n->grad, dy_arg(g, n, i)->grad);
}

static const dy_op op_gaussian_noise = {"gaussian_noise", 1, DY_OP_RANDOM, gaussian_noise_dim,
                                        gaussian_noise_fwd, pass_bwd};

dy_expr dy_gaussian_noise(dy_expr a, dy_real stddev) {
  dy_aux aux[DY_NAUX] = {{.f = stddev}, {.u = node_seed(a)}, {.i = node_train(a)}};
  return dy_apply(&op_gaussian_noise, &a, 1, aux);
}

/* ============================================ nobackprop, scale_gradient */
/* Both pass the argument's value through (y's value IS x's value, no copy). */

static void alias_fwd(dy_graph *g, dy_node *n) { n->val = dy_arg(g, n, 0)->val; }

/* DY_OP_NOGRAD: the node never needs a gradient, so the backward sweep never
 * visits it and nothing below it is reached through it; no backward exists. */
static const dy_op op_nobackprop = {"nobackprop", 1, DY_OP_NOGRAD | DY_OP_SETS_VAL | DY_OP_DIM_SAME, dy_dim_unary,
                                    alias_fwd, NULL};

dy_expr dy_nobackprop(dy_expr a) { return dy_apply(&op_nobackprop, &a, 1, NULL); }

/* aux[0].f = s: dx += s * dy */
static int scale_gradient_dim(dy_graph *g, dy_node *n) {
  if (!isfinite(n->aux[0].f))
    return dy_fail_node(g, n, DY_EARG, "gradient scale s = %g must be finite", n->aux[0].f);
  n->dim = dy_arg(g, n, 0)->dim;
  return 0;
}

static void scale_gradient_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_axpy(dy_dim_size(n->dim), (dy_real)n->aux[0].f, n->grad, dy_arg(g, n, i)->grad);
}

static const dy_op op_scale_gradient = {"scale_gradient", 1, DY_OP_SETS_VAL, scale_gradient_dim,
                                        alias_fwd, scale_gradient_bwd};

dy_expr dy_scale_gradient(dy_expr a, dy_real s) {
  dy_aux aux[DY_NAUX] = {{.f = s}, {0}, {0}};
  return dy_apply(&op_scale_gradient, &a, 1, aux);
}

const dy_op *const dy_ops_noise[] = {&op_dropout, &op_nobackprop, &op_scale_gradient,
                                     &op_gaussian_noise, NULL};
