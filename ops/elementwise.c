/* Elementwise maps: tanh, sigmoid, relu, elu, exp, log, square, sqrt, abs,
 * pow, log_sigmoid, softsign. y = f(x) over every element of every batch
 * element (batches need nothing special: the map is the same everywhere).
 *
 * Each op is one forward loop y[i] = f(x[i]) and one backward loop
 * dx[i] += dy[i] * f'(x[i]), where f' is written with the forward value y
 * when that is cheaper (tanh: 1 - y^2, sigmoid: y (1 - y), exp: y, sqrt:
 * 1 / (2y)). The loops are restrict-qualified and branch-free (selects only),
 * so the compiler can vectorise those whose f has no libm call (derivatives
 * of piecewise maps use step_pos() products, see there); these ops sit
 * on the RNN hot path, so tanh and sigmoid use vmath.h's vectorisable
 * versions (float build; ~1 ulp) instead of libm's tanhf/expf. A scalar parameter (elu's alpha, pow's exponent) is
 * read from aux[0].f once per call as `p`. */
#include "ops_util.h"
#include "vmath.h"

/* Defines NAME_fwd and NAME_bwd for the map y = FWD(x), dy/dx = DERIV(x, y),
 * where FWD and DERIV are expressions in xi, yi and the parameter p. */
#define DY_MAP(NAME, FWD, DERIV)                                                        \
  static void NAME##_fwd(dy_graph *g, dy_node *n) {                                     \
    const dy_real *restrict x = dy_arg(g, n, 0)->val;                                   \
    dy_real *restrict y = n->val;                                                       \
    const dy_real p = (dy_real)n->aux[0].f;                                             \
    (void)p;                                                                            \
    for (size_t i = 0, m = dy_dim_size(n->dim); i < m; i++) {                           \
      const dy_real xi = x[i];                                                          \
      y[i] = (FWD);                                                                     \
    }                                                                                   \
  }                                                                                     \
  static void NAME##_bwd(dy_graph *g, dy_node *n, uint32_t ai) {                        \
    dy_node *a = dy_arg(g, n, ai);                                                      \
    const dy_real *restrict x = a->val, *restrict y = n->val, *restrict dy = n->grad;   \
    dy_real *restrict dx = a->grad;                                                     \
    const dy_real p = (dy_real)n->aux[0].f;                                             \
    (void)p;                                                                            \
    for (size_t i = 0, m = dy_dim_size(n->dim); i < m; i++) {                           \
      const dy_real xi = x[i], yi = y[i];                                               \
      (void)xi;                                                                         \
      (void)yi;                                                                         \
      dx[i] += dy[i] * (DERIV);                                                         \
    }                                                                                   \
  }                                                                                     \
  static const dy_op op_##NAME = {#NAME, 1, DY_OP_DIM_SAME, dy_dim_unary, NAME##_fwd, NAME##_bwd};

/* 1 for v > 0, else 0 (also for NaN). Through an int: gcc 12 with its default
 * -ftrapping-math vectorises this form but not `v > 0 ? 1 : 0` in a product. */
static inline dy_real step_pos(dy_real v) {
  int c = v > 0;
  return (dy_real)c;
}

static dy_expr map1(const dy_op *op, dy_expr a, double p) {
  dy_aux aux[DY_NAUX] = {{.f = p}, {0}, {0}};
  return dy_apply(op, &a, 1, aux);
}

/* ================================================================== tanh */
DY_MAP(tanh, dy_vtanh(xi), 1 - yi * yi)
dy_expr dy_tanh(dy_expr a) { return map1(&op_tanh, a, 0); }

/* =============================================================== sigmoid */
/* 1 / (1 + e^-x) */
DY_MAP(sigmoid, dy_vsigmoid(xi), yi * (1 - yi))
dy_expr dy_sigmoid(dy_expr a) { return map1(&op_sigmoid, a, 0); }

/* ================================================================== relu */
/* Gradient 0 at x = 0 (as DyNet). */
DY_MAP(relu, xi > 0 ? xi : 0, step_pos(xi))
dy_expr dy_relu(dy_expr a) { return map1(&op_relu, a, 0); }

/* =================================================================== elu */
/* x > 0: x, else p (e^x - 1); derivative 1, else y + p. */
DY_MAP(elu, xi > 0 ? xi : p * DY_EXPM1(xi), step_pos(xi) + (1 - step_pos(xi)) * (yi + p))
dy_expr dy_elu(dy_expr a, dy_real alpha) { return map1(&op_elu, a, alpha); }

/* =================================================================== exp */
DY_MAP(exp, DY_EXP(xi), yi)
dy_expr dy_exp(dy_expr a) { return map1(&op_exp, a, 0); }

/* =================================================================== log */
DY_MAP(log, DY_LOG(xi), 1 / xi)
dy_expr dy_log(dy_expr a) { return map1(&op_log, a, 0); }

/* ================================================================ square */
DY_MAP(square, xi * xi, 2 * xi)
dy_expr dy_square(dy_expr a) { return map1(&op_square, a, 0); }

/* ================================================================== sqrt */
DY_MAP(sqrt, DY_SQRT(xi), (dy_real)0.5 / yi)
dy_expr dy_sqrt(dy_expr a) { return map1(&op_sqrt, a, 0); }

/* =================================================================== abs */
/* Gradient sign(x), 0 at x = 0. */
DY_MAP(abs, DY_FABS(xi), step_pos(xi) - step_pos(-xi))
dy_expr dy_abs(dy_expr a) { return map1(&op_abs, a, 0); }

/* =================================================================== pow */
/* x^p; derivative p x^(p-1) (not p y / x, which fails at x = 0). */
DY_MAP(pow, DY_POW(xi, p), p * DY_POW(xi, p - 1))
dy_expr dy_pow(dy_expr a, dy_real p) { return map1(&op_pow, a, p); }

/* =========================================================== log_sigmoid */
/* log(1 / (1 + e^-x)) = min(x, 0) - log1p(e^-|x|): no overflow, no log(0).
 * Derivative 1 - sigmoid(x) = sigmoid(-x): accurate (relative) for any x, and
 * vectorisable, unlike 1 - e^y. */
DY_MAP(log_sigmoid, (xi < 0 ? xi : 0) - DY_LOG1P(DY_EXP(-DY_FABS(xi))), dy_vsigmoid(-xi))
dy_expr dy_log_sigmoid(dy_expr a) { return map1(&op_log_sigmoid, a, 0); }

/* ============================================================== softsign */
/* x / (1 + |x|); derivative 1 / (1 + |x|)^2. */
DY_MAP(softsign, xi / (1 + DY_FABS(xi)), 1 / ((1 + DY_FABS(xi)) * (1 + DY_FABS(xi))))
dy_expr dy_softsign(dy_expr a) { return map1(&op_softsign, a, 0); }

const dy_op *const dy_ops_elementwise[] = {&op_tanh,   &op_sigmoid, &op_relu, &op_elu,
                                           &op_exp,    &op_log,     &op_square, &op_sqrt,
                                           &op_abs,    &op_pow,     &op_log_sigmoid,
                                           &op_softsign, NULL};
