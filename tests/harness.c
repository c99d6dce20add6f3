#include "harness.h"

#include <stdlib.h>
#include <string.h>

uint64_t t_next(t_rng *r) { return dy_mix64(r->s++); }

double t_unif(t_rng *r, double lo, double hi) {
  return lo + (hi - lo) * ((double)(t_next(r) >> 11) * 0x1.0p-53);
}

void t_fill(t_rng *r, dy_real *x, size_t n, double lo, double hi, double gap) {
  for (size_t i = 0; i < n; i++) {
    double v;
    do v = t_unif(r, lo, hi);
    while (fabs(v) < gap);
    x[i] = (dy_real)v;
  }
}

t_case t_case_of(uint32_t nin, const dy_dim *dims) {
  t_case c;
  memset(&c, 0, sizeof c);
  c.nin = nin;
  for (uint32_t i = 0; i < nin; i++) c.dims[i] = dims[i];
  c.lo = -1;
  c.hi = 1;
  return c;
}

void t_gradcheck(const char *what, t_build build, void *ctx, const t_case *c, uint64_t seed) {
  t_rng r = {seed * 7919 + 17};
  dy_graph *g = dy_graph_new();
  ck_assert_ptr_nonnull(g);
  dy_real *vals[T_MAX_IN], *grads[T_MAX_IN];
  dy_expr xs[T_MAX_IN];
  for (uint32_t i = 0; i < c->nin; i++) {
    size_t n = dy_dim_size(c->dims[i]);
    vals[i] = malloc(n * sizeof(dy_real));
    grads[i] = calloc(n, sizeof(dy_real));
    t_fill(&r, vals[i], n, c->lo, c->hi, c->gap);
    xs[i] = dy_variable(g, c->dims[i], vals[i], c->constant[i] ? NULL : grads[i]);
  }
  dy_expr y = build(xs, ctx);
  ck_assert_msg(dy_expr_valid(y), "%s: build failed: %s", what, dy_graph_error(g));
  dy_dim yd = dy_expr_dim(y);
  size_t ny = dy_dim_size(yd);
  dy_real *w = malloc(ny * sizeof(dy_real));
  t_fill(&r, w, ny, -1, 1, 0.1);
  dy_expr loss = dy_sum_batches(dy_sum_elems(dy_cmult(y, dy_input(g, yd, w))));
  char report[512];
  dy_status st = dy_check_grad(loss, T_STEP, T_TOL, report, sizeof report);
  char db[64];
  ck_assert_msg(st == DY_OK, "%s (seed %llu, out %s): %s", what, (unsigned long long)seed,
                dy_dim_str(yd, db, sizeof db), st == DY_EGRAD ? report : dy_graph_error(g));
  /* the variables' own buffers were left alone by the check */
  for (uint32_t i = 0; i < c->nin; i++) {
    size_t n = dy_dim_size(c->dims[i]);
    for (size_t j = 0; j < n; j++) ck_assert(grads[i][j] == 0);
    free(vals[i]);
    free(grads[i]);
  }
  free(w);
  dy_graph_free(g);
}

int t_run(Suite *s) {
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
