/* Test helpers: random values, the finite-difference op check, tolerances. */
#ifndef DY_TEST_HARNESS_H
#define DY_TEST_HARNESS_H

#include <check.h>
#include <math.h>

#include "dy_ops.h"

/* Step and tolerance of gradient checks in this build's precision. */
#if DY_USE_DOUBLE
#define T_STEP ((dy_real)1e-6)
#define T_TOL ((dy_real)1e-6)
#define T_EPS 1e-12
#else
#define T_STEP ((dy_real)5e-3)
#define T_TOL ((dy_real)1e-2)
#define T_EPS 1e-5
#endif

/* A small deterministic RNG for tests. */
typedef struct { uint64_t s; } t_rng;
uint64_t t_next(t_rng *r);
/* Uniform in [lo, hi). */
double t_unif(t_rng *r, double lo, double hi);
/* Fills n values uniform in [lo, hi), avoiding |x| < gap (for kinks at 0). */
void t_fill(t_rng *r, dy_real *x, size_t n, double lo, double hi, double gap);

/* Up to 6 inputs for an op under test. */
#define T_MAX_IN 6
typedef struct t_case {
  uint32_t nin;
  dy_dim dims[T_MAX_IN];
  double lo, hi, gap;       /* value range of inputs (default -1, 1, 0) */
  int constant[T_MAX_IN];   /* input i is a constant (no gradient) */
} t_case;

/* Builds the op under test from its inputs. */
typedef dy_expr (*t_build)(const dy_expr *xs, void *ctx);

/* Finite-difference check: random inputs as variables, loss = sum over batch
 * and elements of out * W with random weights W, then dy_check_grad. Fails
 * the current Check test with the report on a mismatch or graph error. */
void t_gradcheck(const char *what, t_build build, void *ctx, const t_case *c, uint64_t seed);

/* t_case with inputs of the given dims and default range. */
t_case t_case_of(uint32_t nin, const dy_dim *dims);

/* Asserts |a - b| <= tol (absolute). */
#define ck_close(a, b, tol)                                                              \
  ck_assert_msg(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, expected %.9g", #a, \
                (double)(a), (double)(b))

/* Runs a suite; returns the process exit code. */
int t_run(Suite *s);

#endif
