/* Trainers: one step lowers an objective, hand-computed Adam/RMSProp/AMSGrad
 * steps, clipping, weight decay, schedules, NaN handling, sparse semantics,
 * growth of the model after the first update, XOR with every trainer. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dy_nn.h"
#include "harness.h"

#if DY_USE_DOUBLE
#define TOL 1e-12
#else
#define TOL 2e-6
#endif

enum { K_SGD, K_MOM, K_ADAGRAD, K_RMSPROP, K_ADAM, K_AMSGRAD, NKINDS };
static const char *kname[NKINDS] = {"sgd", "momentum", "adagrad", "rmsprop", "adam", "amsgrad"};

static dy_trainer *make(dy_model *m, int k, dy_real lr) {
  dy_trainer *t = NULL;
  switch (k) {
    case K_SGD: t = dy_sgd_new(m, lr); break;
    case K_MOM: t = dy_momentum_sgd_new(m, lr, 0.9); break;
    case K_ADAGRAD: t = dy_adagrad_new(m, lr, 1e-8); break;
    case K_RMSPROP: t = dy_rmsprop_new(m, lr, 0.9, 1e-8); break;
    default: t = dy_adam_new(m, lr, 0.9, 0.999, 1e-8); break;
  }
  if (k == K_AMSGRAD) dy_trainer_set_amsgrad(t, 1);
  return t;
}

/* f(x) = sum w_i (x_i - c_i)^2 */
static const dy_real qw[4] = {1, 2, 0.5f, 3}, qc[4] = {0.5f, -1, 2, 0};
static double quad(dy_graph *g, dy_param *x, int backward) {
  dy_graph_renew(g);
  dy_expr d = dy_sub(dy_param_expr(g, x), dy_input(g, dy_d1(4), qc));
  dy_expr f = dy_sum_elems(dy_cmult(dy_cmult(d, d), dy_input(g, dy_d1(4), qw)));
  double v = dy_scalar(f);
  if (backward) ck_assert_int_eq(dy_backward(f), DY_OK);
  return v;
}

START_TEST(each_lowers_objective) {
  for (int k = 0; k < NKINDS; k++) {
    dy_model *m = dy_model_new(1);
    dy_param *x = dy_model_add_param(m, "x", dy_d1(4), dy_init_uniform(-1, 1));
    dy_trainer *t = make(m, k, k == K_SGD || k == K_ADAGRAD ? 0.05 : 0.01);
    dy_graph *g = dy_graph_new();
    double f0 = quad(g, x, 1);
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    double f1 = quad(g, x, 0);
    ck_assert_msg(f1 < f0, "%s: %g -> %g", kname[k], f0, f1);
    dy_graph_free(g);
    dy_trainer_free(t);
    dy_model_free(m);
  }
}
END_TEST

START_TEST(defaults_and_lr) {
  dy_model *m = dy_model_new(1);
  dy_param *x = dy_model_add_param(m, "x", dy_d1(1), dy_init_const(1));
  (void)x;
  dy_trainer *ts[5] = {dy_sgd_new(m, 0), dy_momentum_sgd_new(m, -1, -1), dy_adagrad_new(m, 0, -1),
                       dy_rmsprop_new(m, 0, -1, -1), dy_adam_new(m, 0, -1, -1, -1)};
  const double want[5] = {0.1, 0.01, 0.1, 0.001, 0.001};
  for (int i = 0; i < 5; i++) {
    ck_assert_ptr_nonnull(ts[i]);
    ck_close(dy_trainer_lr(ts[i]), want[i], 1e-7 * want[i]);
    dy_trainer_set_lr(ts[i], 0.5);
    ck_close(dy_trainer_lr(ts[i]), 0.5, 0);
    ck_assert_uint_eq(dy_trainer_steps(ts[i]), 0);
    dy_trainer_free(ts[i]);
  }
  dy_trainer_free(NULL);
  ck_assert_ptr_null(dy_sgd_new(NULL, 0.1));
  dy_model_free(m);
}
END_TEST

/* Runs 3 updates of f(x) = x^2 from x = 1 and x = -2 (two scalars). */
static void three_steps(int k, dy_real lr, double out[3][2]) {
  dy_model *m = dy_model_new(1);
  dy_param *x = dy_model_add_param(m, "x", dy_d1(2), dy_init_const(1));
  dy_param_values(x)[1] = -2;
  dy_trainer *t = make(m, k, lr);
  dy_trainer_set_clip(t, 0);
  dy_graph *g = dy_graph_new();
  for (int s = 0; s < 3; s++) {
    dy_graph_renew(g);
    dy_expr e = dy_param_expr(g, x);
    ck_assert_int_eq(dy_backward(dy_sum_elems(dy_cmult(e, e))), DY_OK);
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    out[s][0] = dy_param_values(x)[0];
    out[s][1] = dy_param_values(x)[1];
  }
  dy_graph_free(g);
  dy_trainer_free(t);
  dy_model_free(m);
}

/* Adam by hand for x = 1, f = x^2, lr 0.1: step 1 g = 2, m = 0.2, v = 0.004,
 * mhat = 2, vhat = 4 -> x = 1 - 0.1 * 2 / 2 = 0.9. Steps 2 and 3 by an
 * independent double-precision loop. */
START_TEST(adam_by_hand) {
  double got[3][2];
  three_steps(K_ADAM, 0.1, got);
  ck_close(got[0][0], 0.9, 1e-6);
  ck_close(got[0][1], -1.9, 1e-6);
  /* step 2 by hand: g = 1.8, m = .18 + .18 = .36, v = .003996 + .00324 = .007236,
   * mhat = .36/.19, vhat = .007236/.001999 */
  ck_close(got[1][0], 0.9 - 0.1 * (0.36 / 0.19) / (sqrt(0.007236 / 0.001999) + 1e-8), 1e-6);
  for (int j = 0; j < 2; j++) {
    double x = j ? -2 : 1, mm = 0, vv = 0;
    for (int s = 1; s <= 3; s++) {
      double g = 2 * x;
      mm = 0.9 * mm + 0.1 * g;
      vv = 0.999 * vv + 0.001 * g * g;
      x -= 0.1 * (mm / (1 - pow(0.9, s))) / (sqrt(vv / (1 - pow(0.999, s))) + 1e-8);
      ck_close(got[s - 1][j], x, TOL * 10);
    }
  }
}
END_TEST

/* RMSProp by hand, rho 0.9, lr 0.01: step 1 g = 2, r = 0.4,
 * x = 1 - 0.01 * 2 / sqrt(0.4). */
START_TEST(rmsprop_by_hand) {
  double got[3][2];
  three_steps(K_RMSPROP, 0.01, got);
  ck_close(got[0][0], 1 - 0.02 / sqrt(0.4), 1e-6);
  for (int j = 0; j < 2; j++) {
    double x = j ? -2 : 1, r = 0;
    for (int s = 0; s < 3; s++) {
      double g = 2 * x;
      r = 0.9 * r + 0.1 * g * g;
      x -= 0.01 * g / (sqrt(r) + 1e-8);
      ck_close(got[s][j], x, TOL * 10);
    }
  }
}
END_TEST

/* Momentum, Adagrad and AMSGrad against independent loops. AMSGrad is fed a
 * decreasing gradient (x -> 0 under f = x^2), so vmax != v from step 2 on. */
START_TEST(others_by_hand) {
  double got[3][2];
  three_steps(K_MOM, 0.1, got);
  for (int j = 0; j < 2; j++) {
    double x = j ? -2 : 1, v = 0;
    for (int s = 0; s < 3; s++) {
      v = 0.9 * v - 0.1 * 2 * x;
      x += v;
      ck_close(got[s][j], x, TOL * 10);
    }
  }
  three_steps(K_ADAGRAD, 0.3, got);
  for (int j = 0; j < 2; j++) {
    double x = j ? -2 : 1, G = 0;
    for (int s = 0; s < 3; s++) {
      double g = 2 * x;
      G += g * g;
      x -= 0.3 * g / (sqrt(G) + 1e-8);
      ck_close(got[s][j], x, TOL * 10);
    }
  }
  /* AMSGrad (beta2 0.5): gradients 10, 0.01, 0.01 (loss c_s x): v shrinks after step 1,
   * vmax keeps it; plain Adam differs. */
  const double cg[3] = {10, 0.01, 0.01};
  double res[2];
  for (int ams = 0; ams < 2; ams++) {
    dy_model *m = dy_model_new(1);
    dy_param *x = dy_model_add_param(m, "x", dy_d1(1), dy_init_const(1));
    dy_trainer *t = dy_adam_new(m, 0.1, 0.9, 0.5, 1e-8);
    dy_trainer_set_amsgrad(t, ams);
    dy_trainer_set_clip(t, 0);
    dy_graph *g = dy_graph_new();
    double xr = 1, mm = 0, vv = 0, vmax = 0;
    for (int s = 1; s <= 3; s++) {
      dy_graph_renew(g);
      ck_assert_int_eq(dy_backward(dy_mul_scalar(dy_param_expr(g, x), (dy_real)cg[s - 1])), DY_OK);
      ck_assert_int_eq(dy_trainer_update(t), DY_OK);
      mm = 0.9 * mm + 0.1 * cg[s - 1];
      vv = 0.5 * vv + 0.5 * cg[s - 1] * cg[s - 1];
      vmax = vmax > vv ? vmax : vv;
      xr -= 0.1 * (mm / (1 - pow(0.9, s))) / (sqrt((ams ? vmax : vv) / (1 - pow(0.5, s))) + 1e-8);
      ck_close(dy_param_values(x)[0], xr, TOL * 10);
    }
    res[ams] = xr;
    dy_graph_free(g);
    dy_trainer_free(t);
    dy_model_free(m);
  }
  ck_assert(fabs(res[0] - res[1]) > 1e-3); /* the switch matters */
}
END_TEST

/* Clipping by the global norm over two parameters and a lookup row. */
START_TEST(clipping_numeric) {
  for (int on = 0; on < 2; on++) {
    dy_model *m = dy_model_new(1);
    dy_param *a = dy_model_add_param(m, "a", dy_d1(2), dy_init_const(0));
    dy_param *b = dy_model_add_param(m, "b", dy_d1(1), dy_init_const(0));
    dy_lookup *E = dy_model_add_lookup(m, "E", 3, dy_d1(1), dy_init_const(0));
    dy_trainer *t = dy_sgd_new(m, 0.5);
    if (!on) dy_trainer_set_clip(t, 0);
    dy_graph *g = dy_graph_new();
    /* loss = 3 a0 + 4 a1 + 12 b + 84 E[2]: norm sqrt(9+16+144+7056) = 85 */
    dy_real ca[2] = {3, 4};
    dy_expr l = dy_add(dy_dot(dy_param_expr(g, a), dy_input(g, dy_d1(2), ca)),
                       dy_add(dy_mul_scalar(dy_param_expr(g, b), 12), dy_mul_scalar(dy_lookup_expr(g, E, 2), 84)));
    ck_assert_int_eq(dy_backward(l), DY_OK);
    ck_close(dy_model_grad_norm(m), 85, 1e-4);
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    ck_close(dy_trainer_last_grad_norm(t), 85, 1e-4);
    double s = on ? 5.0 / 85 : 1;
    ck_close(dy_param_values(a)[0], -0.5 * 3 * s, 1e-6);
    ck_close(dy_param_values(a)[1], -0.5 * 4 * s, 1e-6);
    ck_close(dy_param_values(b)[0], -0.5 * 12 * s, 1e-6);
    ck_close(dy_lookup_row(E, 2)[0], -0.5 * 84 * s, 1e-5);
    ck_assert(dy_lookup_row(E, 1)[0] == 0);
    /* below the threshold nothing is scaled */
    dy_graph_renew(g);
    ck_assert_int_eq(dy_backward(dy_mul_scalar(dy_param_expr(g, b), 2)), DY_OK);
    dy_real b0 = dy_param_values(b)[0];
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    ck_close(dy_param_values(b)[0], b0 - 1, 1e-6);
    dy_graph_free(g);
    dy_trainer_free(t);
    dy_model_free(m);
  }
}
END_TEST

/* Weight decay: ge = g + lambda p, for SGD and (through the moments) Adam. */
START_TEST(weight_decay_numeric) {
  dy_model *m = dy_model_new(1);
  dy_param *a = dy_model_add_param(m, "a", dy_d1(2), dy_init_const(2));
  dy_param *u = dy_model_add_param(m, "unused", dy_d1(1), dy_init_const(4));
  dy_lookup *E = dy_model_add_lookup(m, "E", 2, dy_d1(1), dy_init_const(1));
  dy_trainer *t = dy_sgd_new(m, 0.1);
  dy_trainer_set_weight_decay(t, 0.5);
  dy_graph *g = dy_graph_new();
  /* loss = 3 (a0 + a1) + E[0]: a -> 2 - 0.1 (3 + 1), unused -> 4 - 0.1 * 2,
   * E[0] -> 1 - 0.1 (1 + 0.5), E[1] untouched: unchanged (sparse). */
  dy_expr l = dy_add(dy_mul_scalar(dy_sum_elems(dy_param_expr(g, a)), 3), dy_lookup_expr(g, E, 0));
  ck_assert_int_eq(dy_backward(l), DY_OK);
  ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  ck_close(dy_param_values(a)[0], 1.6, 1e-6);
  ck_close(dy_param_values(u)[0], 3.8, 1e-6);
  ck_close(dy_lookup_row(E, 0)[0], 0.85, 1e-6);
  ck_assert(dy_lookup_row(E, 1)[0] == 1);
  /* dense lookup updates decay every row */
  dy_trainer_set_sparse(t, 0);
  dy_graph_renew(g);
  ck_assert_int_eq(dy_backward(dy_lookup_expr(g, E, 0)), DY_OK);
  ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  ck_close(dy_lookup_row(E, 1)[0], 1 - 0.1 * 0.5, 1e-6);
  dy_graph_free(g);
  dy_trainer_free(t);
  dy_model_free(m);
}
END_TEST

START_TEST(schedules) {
  dy_model *m = dy_model_new(1);
  dy_trainer *t = dy_sgd_new(m, 0.4);
  dy_trainer_set_schedule(t, DY_LR_INV, 0.5, 0);
  ck_close(dy_trainer_lr(t), 0.4, 1e-7);
  dy_trainer_set_epoch(t, 2);
  ck_close(dy_trainer_lr(t), 0.2, 1e-7);
  dy_trainer_set_epoch(t, 6);
  ck_close(dy_trainer_lr(t), 0.1, 1e-7);
  dy_trainer_set_lr(t, 0.8); /* base rate; the schedule still applies */
  ck_close(dy_trainer_lr(t), 0.2, 1e-7);
  dy_trainer_set_schedule(t, DY_LR_STEP, 0.5, 3);
  dy_trainer_set_epoch(t, 2);
  ck_close(dy_trainer_lr(t), 0.8, 1e-7);
  dy_trainer_set_epoch(t, 3);
  ck_close(dy_trainer_lr(t), 0.4, 1e-7);
  dy_trainer_set_epoch(t, 7);
  ck_close(dy_trainer_lr(t), 0.2, 1e-7);
  dy_trainer_set_schedule(t, DY_LR_CONST, 0, 0);
  ck_close(dy_trainer_lr(t), 0.8, 1e-7);
  /* the scheduled rate is the one used */
  dy_param *x = dy_model_add_param(m, "x", dy_d1(1), dy_init_const(0));
  dy_trainer_set_schedule(t, DY_LR_INV, 1, 0);
  dy_trainer_set_epoch(t, 3);
  dy_graph *g = dy_graph_new();
  ck_assert_int_eq(dy_backward(dy_param_expr(g, x)), DY_OK);
  ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  ck_close(dy_param_values(x)[0], -0.2, 1e-7);
  dy_graph_free(g);
  dy_trainer_free(t);
  dy_model_free(m);
}
END_TEST

/* A NaN or Inf gradient: nothing changes, gradients cleared, DY_ENAN naming
 * the parameter (and row), the next update works. */
START_TEST(nan_gradient) {
  for (int k = 0; k < NKINDS; k++) {
    dy_model *m = dy_model_new(1);
    dy_param *a = dy_model_add_param(m, "layer/a", dy_d1(3), dy_init_uniform(-1, 1));
    dy_lookup *E = dy_model_add_lookup(m, "emb", 5, dy_d1(3), dy_init_uniform(-1, 1));
    dy_trainer *t = make(m, k, 0.1);
    dy_graph *g = dy_graph_new();
    dy_real before[3], ebefore[15];
    /* one good update first, so that optimiser state exists */
    ck_assert_int_eq(dy_backward(dy_sum_elems(dy_add(dy_param_expr(g, a), dy_lookup_expr(g, E, 0)))), DY_OK);
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    for (int pass = 0; pass < 2; pass++) {
      memcpy(before, dy_param_values(a), sizeof before);
      memcpy(ebefore, dy_lookup_row(E, 0), sizeof ebefore);
      dy_graph_renew(g);
      dy_real bad[3] = {1, pass ? (dy_real)INFINITY : (dy_real)NAN, 1};
      dy_expr l = dy_add(dy_sum_elems(dy_param_expr(g, a)),
                         dy_dot(dy_lookup_expr(g, E, 3), dy_input(g, dy_d1(3), bad)));
      ck_assert_int_eq(dy_backward(dy_add(l, dy_sum_elems(dy_lookup_expr(g, E, 1)))), DY_OK);
      ck_assert_int_eq(dy_trainer_update(t), DY_ENAN);
      const char *e = dy_model_error(m);
      ck_assert_ptr_nonnull(e);
      ck_assert_msg(strstr(e, "'emb' row 3"), "%s: %s", kname[k], e);
      ck_assert_ptr_nonnull(strstr(e, pass ? "Inf" : "NaN"));
      ck_assert(memcmp(before, dy_param_values(a), sizeof before) == 0);
      ck_assert(memcmp(ebefore, dy_lookup_row(E, 0), sizeof ebefore) == 0);
      ck_assert(dy_model_grad_norm(m) == 0);
      ck_assert_uint_eq(dy_lookup_num_touched(E), 0);
      ck_assert(dy_lookup_row_grad(E, 3)[1] == 0);
      ck_assert_uint_eq(dy_trainer_steps(t), 1);
    }
    /* a dense parameter's NaN is named too */
    dy_param_grads(a)[2] = (dy_real)NAN;
    ck_assert_int_eq(dy_trainer_update(t), DY_ENAN);
    ck_assert_ptr_nonnull(strstr(dy_model_error(m), "'layer/a'"));
    ck_assert_ptr_nonnull(strstr(dy_model_error(m), "element 2"));
    ck_assert(dy_param_grads(a)[2] == 0);
    /* training continues */
    dy_graph_renew(g);
    ck_assert_int_eq(dy_backward(dy_sum_elems(dy_param_expr(g, a))), DY_OK);
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    ck_assert(memcmp(before, dy_param_values(a), sizeof before) != 0);
    ck_assert_uint_eq(dy_trainer_steps(t), 2);
    dy_graph_free(g);
    dy_trainer_free(t);
    dy_model_free(m);
  }
}
END_TEST

/* Sparse semantics: each row runs its own optimiser over the updates in which
 * it was touched. Row 0 of E is touched at updates 1, 3, 4 with gradients
 * c1, c3, c4; a lone parameter updated three times in a row with c1, c3, c4
 * must end equal (for every trainer, Adam's bias correction included). Row 2
 * is never touched: unchanged. Dense mode moves it for momentum/Adam. */
START_TEST(sparse_semantics) {
  const dy_real cs[4][2] = {{0.5f, -1}, {2, 1}, {-0.3f, 0.7f}, {1.5f, 0.2f}};
  const int touch0[4] = {1, 0, 1, 1};
  for (int k = 0; k < NKINDS; k++) {
    dy_model *m = dy_model_new(2);
    dy_lookup *E = dy_model_add_lookup(m, "E", 3, dy_d1(2), dy_init_uniform(-1, 1));
    dy_model *ref = dy_model_new(2);
    dy_lookup *Er = dy_model_add_lookup(ref, "E", 3, dy_d1(2), dy_init_uniform(-1, 1));
    dy_param *lone = dy_model_add_param(ref, "lone", dy_d1(2), dy_init_const(0));
    memcpy(dy_param_values(lone), dy_lookup_row(Er, 0), 2 * sizeof(dy_real));
    dy_real row2[2];
    memcpy(row2, dy_lookup_row(E, 2), sizeof row2);
    dy_trainer *t = make(m, k, 0.1), *tr = make(ref, k, 0.1);
    dy_graph *g = dy_graph_new();
    for (int s = 0; s < 4; s++) {
      dy_graph_renew(g);
      /* row 1 is touched every time with a fixed gradient */
      dy_real one[2] = {1, 1};
      dy_expr l = dy_dot(dy_lookup_expr(g, E, 1), dy_input(g, dy_d1(2), one));
      if (touch0[s]) l = dy_add(l, dy_dot(dy_lookup_expr(g, E, 0), dy_input(g, dy_d1(2), cs[s])));
      ck_assert_int_eq(dy_backward(l), DY_OK);
      ck_assert_int_eq(dy_trainer_update(t), DY_OK);
      if (touch0[s]) {
        dy_graph_renew(g);
        ck_assert_int_eq(dy_backward(dy_dot(dy_param_expr(g, lone), dy_input(g, dy_d1(2), cs[s]))), DY_OK);
        ck_assert_int_eq(dy_trainer_update(tr), DY_OK);
      }
    }
    for (int j = 0; j < 2; j++) {
      ck_assert_msg(fabs(dy_lookup_row(E, 0)[j] - dy_param_values(lone)[j]) <= TOL, "%s: row 0 %g vs %g",
                    kname[k], (double)dy_lookup_row(E, 0)[j], (double)dy_param_values(lone)[j]);
      ck_assert(dy_lookup_row(E, 2)[j] == row2[j]);
    }
    /* dense: an untouched row moves under momentum and Adam (their state is
     * non-zero after rows were touched), stays under SGD/Adagrad */
    dy_trainer_set_sparse(t, 0);
    dy_graph_renew(g);
    dy_real r0[2];
    memcpy(r0, dy_lookup_row(E, 0), sizeof r0);
    ck_assert_int_eq(dy_backward(dy_sum_elems(dy_lookup_expr(g, E, 1))), DY_OK);
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    int moved = r0[0] != dy_lookup_row(E, 0)[0];
    ck_assert_msg(moved == (k == K_MOM || k >= K_ADAM), "%s: dense update moved an untouched row: %d",
                  kname[k], moved);
    ck_assert(dy_lookup_row(E, 2)[0] == row2[0]); /* zero state, zero gradient */
    dy_graph_free(g);
    dy_trainer_free(t);
    dy_trainer_free(tr);
    dy_model_free(m);
    dy_model_free(ref);
  }
}
END_TEST

/* Parameters added after the first update join the optimiser state. */
START_TEST(model_grows_after_update) {
  dy_model *m = dy_model_new(3);
  dy_param *a = dy_model_add_param(m, "a", dy_d1(3), dy_init_const(1));
  dy_trainer *t = dy_adam_new(m, 0.1, 0.9, 0.999, 1e-8);
  dy_graph *g = dy_graph_new();
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_param_expr(g, a))), DY_OK);
  ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  dy_param *b = dy_model_add_param(m, "b", dy_d1(2), dy_init_const(1));
  dy_lookup *E = dy_model_add_lookup(m, "E", 4, dy_d1(2), dy_init_const(1));
  dy_graph_renew(g);
  dy_expr l = dy_add(dy_sum_elems(dy_param_expr(g, b)), dy_sum_elems(dy_lookup_expr(g, E, 3)));
  ck_assert_int_eq(dy_backward(dy_add(l, dy_sum_elems(dy_param_expr(g, a)))), DY_OK);
  ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  /* first Adam step of b and E[3]: exactly lr */
  ck_close(dy_param_values(b)[0], 0.9, 1e-6);
  ck_close(dy_lookup_row(E, 3)[1], 0.9, 1e-6);
  ck_close(dy_lookup_row(E, 2)[1], 1, 0);
  ck_close(dy_param_values(a)[0], 0.8, 1e-6);
  dy_graph_free(g);
  dy_trainer_free(t);
  dy_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- XOR e2e */
/* tanh, local to this test (the library's elementwise ops live elsewhere). */
static int tanh_dim(dy_graph *g, dy_node *n) { n->dim = dy_arg(g, n, 0)->dim; return 0; }
static void tanh_fwd(dy_graph *g, dy_node *n) {
  const dy_real *x = dy_arg(g, n, 0)->val;
  for (size_t i = 0, s = dy_dim_size(n->dim); i < s; i++) n->val[i] = DY_TANH(x[i]);
}
static void tanh_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_real *dx = dy_arg(g, n, i)->grad;
  for (size_t j = 0, s = dy_dim_size(n->dim); j < s; j++) dx[j] += n->grad[j] * (1 - n->val[j] * n->val[j]);
}
static const dy_op t_op_tanh = {"test_tanh", 1, 0, tanh_dim, tanh_fwd, tanh_bwd};
static dy_expr t_tanh(dy_expr a) { return dy_apply(&t_op_tanh, &a, 1, NULL); }

static dy_expr b_tanh(const dy_expr *x, void *c) { (void)c; return t_tanh(x[0]); }

START_TEST(tanh_op_gradient) {
  dy_dim d = dy_batch(dy_d2(2, 3), 2);
  t_case c = t_case_of(1, &d);
  for (uint64_t s = 1; s <= 3; s++) t_gradcheck("test_tanh", b_tanh, NULL, &c, s);
}
END_TEST

/* A 2-8-1 tanh MLP on XOR, squared error to targets -1/+1, per-example
 * updates; must classify all four points (sign) within the epoch budget. */
static int xor_run(int k, dy_real lr, uint64_t seed, int epochs) {
  static const dy_real X[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
  static const dy_real Y[4] = {-1, 1, 1, -1};
  dy_model *m = dy_model_new(seed);
  dy_param *W1 = dy_model_add_param(m, "W1", dy_d2(8, 2), dy_init_glorot());
  dy_param *b1 = dy_model_add_param(m, "b1", dy_d1(8), dy_init_uniform(-0.5, 0.5));
  dy_param *W2 = dy_model_add_param(m, "W2", dy_d2(1, 8), dy_init_glorot());
  dy_param *b2 = dy_model_add_param(m, "b2", dy_d1(1), dy_init_const(0));
  dy_trainer *t = make(m, k, lr);
  dy_graph *g = dy_graph_new();
  int done = 0;
  for (int ep = 0; ep < epochs && !done; ep++) {
    for (int i = 0; i < 4; i++) {
      dy_graph_renew(g);
      dy_expr h = t_tanh(dy_affine(dy_param_expr(g, b1), dy_param_expr(g, W1), dy_input(g, dy_d1(2), X[i])));
      dy_expr y = t_tanh(dy_affine(dy_param_expr(g, b2), dy_param_expr(g, W2), h));
      dy_expr d = dy_add_scalar(y, -Y[i]);
      ck_assert_int_eq(dy_backward(dy_sum_elems(dy_cmult(d, d))), DY_OK);
      ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    }
    int right = 0;
    for (int i = 0; i < 4; i++) {
      dy_graph_renew(g);
      dy_expr h = t_tanh(dy_affine(dy_const_param_expr(g, b1), dy_const_param_expr(g, W1),
                                   dy_input(g, dy_d1(2), X[i])));
      dy_real y = dy_scalar(t_tanh(dy_affine(dy_const_param_expr(g, b2), dy_const_param_expr(g, W2), h)));
      right += (y > 0) == (Y[i] > 0) && fabs(y - Y[i]) < 0.5;
    }
    done = right == 4;
  }
  dy_graph_free(g);
  dy_trainer_free(t);
  dy_model_free(m);
  return done;
}

START_TEST(xor_every_trainer) {
  const dy_real lr[NKINDS] = {0.1f, 0.05f, 0.1f, 0.01f, 0.02f, 0.02f};
  for (int k = 0; k < NKINDS; k++)
    for (uint64_t seed = 1; seed <= 3; seed++)
      ck_assert_msg(xor_run(k, lr[k], seed, 2000), "%s (seed %llu) did not learn XOR", kname[k],
                    (unsigned long long)seed);
}
END_TEST

/* ---------------------------------------------- data-parallel gradient sets
 * A toy tagger (lookup E, W, b) trained on pairs of "sentences": (A) one after
 * the other into the model, (B) each into its own gradient set in one thread,
 * (C) the two sets filled by two threads at once, twice. All four must give
 * bitwise the same parameters (the merge adds in a fixed order), with Adam and
 * clipping, dy_lookup_expr and dy_lookup_batch. */
enum { PV = 23, PE = 6, PT = 4, PLEN = 5, PSTEPS = 6 };

typedef struct { dy_model *m; dy_lookup *E; dy_param *W, *b; dy_trainer *t; } ptoy;

static void ptoy_make(ptoy *p) {
  p->m = dy_model_new(11);
  p->E = dy_model_add_lookup(p->m, "E", PV, dy_d1(PE), dy_init_glorot());
  p->W = dy_model_add_param(p->m, "W", dy_d2(PT, PE), dy_init_glorot());
  p->b = dy_model_add_param(p->m, "b", dy_d1(PT), dy_init_const(0.1));
  p->t = dy_adam_new(p->m, 0.05, -1, -1, -1);
  dy_trainer_set_clip(p->t, 0.5); /* small: clipping is active */
}

static void ptoy_free(ptoy *p) {
  dy_trainer_free(p->t);
  dy_model_free(p->m);
}

/* the words and tags of sentence k at step s */
static void psent(int s, int k, uint32_t *w, uint32_t *tg) {
  for (int i = 0; i < PLEN; i++) {
    w[i] = (uint32_t)((s * 7 + k * 5 + i * 3 + (s * k + i) % 4) % PV);
    tg[i] = (uint32_t)((w[i] + (uint32_t)k) % PT);
  }
}

/* forward and backward of sentence k of step s in g (renewed) */
static void ploss(ptoy *p, dy_graph *g, int s, int k) {
  uint32_t w[PLEN], tg[PLEN];
  psent(s, k, w, tg);
  dy_graph_renew(g);
  dy_expr W = dy_param_expr(g, p->W), b = dy_param_expr(g, p->b), terms[PLEN + 1];
  for (int i = 0; i < PLEN; i++)
    terms[i] = dy_pick_neg_log_softmax(dy_affine(b, W, dy_tanh(dy_lookup_expr(g, p->E, w[i]))), tg[i]);
  /* a batched lookup of the same words as well */
  terms[PLEN] = dy_sum_batches(dy_pick_neg_log_softmax_batch(dy_affine(b, W, dy_lookup_batch(g, p->E, w, PLEN)), tg));
  dy_expr L = dy_sum(terms, PLEN + 1);
  ck_assert_msg(dy_backward(L) == DY_OK, "%s", dy_graph_error(g));
}

typedef struct { ptoy *p; dy_graph *g; int s, k; } pjob;
static void *pjob_run(void *a) {
  pjob *j = a;
  ploss(j->p, j->g, j->s, j->k);
  return NULL;
}

/* values after PSTEPS steps: mode 0 sequential into the model, 1 sets in one
 * thread, 2 sets in two threads, 3 two threads, the first on the model */
static void prun(int mode, dy_real *out) {
  ptoy p;
  ptoy_make(&p);
  dy_graph *g[2] = {dy_graph_new(), dy_graph_new()};
  dy_grad_set *gs[2] = {dy_grad_set_new(p.m), dy_grad_set_new(p.m)};
  ck_assert(gs[0] && gs[1]);
  if (mode) {
    if (mode != 3) dy_graph_set_grads(g[0], gs[0]);
    dy_graph_set_grads(g[1], gs[1]);
  }
  for (int s = 0; s < PSTEPS; s++) {
    if (mode == 0) {
      ploss(&p, g[0], s, 0);
      ploss(&p, g[0], s, 1);
      ck_assert_int_eq(dy_trainer_update(p.t), DY_OK);
      continue;
    }
    if (mode == 1) {
      ploss(&p, g[0], s, 0);
      ploss(&p, g[1], s, 1);
    } else {
      pjob j[2] = {{&p, g[0], s, 0}, {&p, g[1], s, 1}};
      pthread_t th;
      ck_assert_int_eq(pthread_create(&th, NULL, pjob_run, &j[1]), 0);
      pjob_run(&j[0]);
      pthread_join(th, NULL);
    }
    /* the model's own gradients are untouched by graphs on sets */
    if (mode != 3) {
      for (uint32_t i = 0; i < PT * PE; i++) ck_assert(dy_param_grads(p.W)[i] == 0);
      ck_assert_int_eq(dy_lookup_num_touched(p.E), 0);
      ck_assert_int_eq(dy_trainer_update_sets(p.t, gs, 2), DY_OK);
    } else {
      ck_assert_int_eq(dy_trainer_update_sets(p.t, gs + 1, 1), DY_OK);
    }
  }
  size_t n = dy_model_size(p.m);
  memcpy(out, dy_lookup_row(p.E, 0), PV * PE * sizeof(dy_real));
  memcpy(out + PV * PE, dy_param_values(p.W), (n - PV * PE) * sizeof(dy_real));
  dy_grad_set_free(gs[0]);
  dy_grad_set_free(gs[1]);
  dy_graph_free(g[0]);
  dy_graph_free(g[1]);
  ptoy_free(&p);
}

START_TEST(grad_sets_deterministic) {
  enum { N = PV * PE + PT * PE + PT };
  dy_real a[N], b[N], c1[N], c2[N], d[N];
  prun(0, a);
  prun(1, b);
  prun(2, c1);
  prun(2, c2);
  prun(3, d);
  ck_assert_msg(memcmp(b, d, sizeof a) == 0, "the first thread on the model differs from sets");
  /* bitwise: the same sets in one or two threads, on every run */
  ck_assert_msg(memcmp(b, c1, sizeof a) == 0, "sets in two threads differ from sets in one thread");
  ck_assert_msg(memcmp(c1, c2, sizeof a) == 0, "two threaded runs differ");
  /* up to rounding (a set sums its own contributions first): sequential training */
  for (int i = 0; i < N; i++) ck_close(a[i], b[i], 1e-4);
  /* and training moved the parameters */
  ptoy p;
  ptoy_make(&p);
  ck_assert(memcmp(dy_param_values(p.W), a + PV * PE, PT * PE * sizeof(dy_real)) != 0);
  ptoy_free(&p);
}
END_TEST

START_TEST(grad_sets_errors) {
  ptoy p, q;
  ptoy_make(&p);
  ptoy_make(&q);
  dy_grad_set *s = dy_grad_set_new(p.m), *sq = dy_grad_set_new(q.m);
  ck_assert(s && sq);
  /* a set of another model */
  ck_assert_int_eq(dy_trainer_update_sets(p.t, &sq, 1), DY_EARG);
  ck_assert_ptr_nonnull(strstr(dy_model_error(p.m), "another model"));
  dy_graph *g = dy_graph_new();
  dy_graph_set_grads(g, sq);
  ck_assert(!dy_expr_valid(dy_param_expr(g, p.W)));
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "another model"));
  /* a set older than the model */
  dy_graph_renew(g);
  dy_graph_set_grads(g, s);
  ck_assert_ptr_nonnull(dy_model_add_param(p.m, "late", dy_d1(3), dy_init_const(0)));
  ck_assert(!dy_expr_valid(dy_param_expr(g, p.W)));
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "make a new one"));
  dy_graph_renew(g);
  uint32_t r = 1;
  ck_assert(!dy_expr_valid(dy_lookup_batch(g, p.E, &r, 1)));
  ck_assert_int_eq(dy_trainer_update_sets(p.t, &s, 1), DY_EARG);
  ck_assert_ptr_nonnull(strstr(dy_model_error(p.m), "older than the model"));
  /* detached: the model again */
  dy_graph_renew(g);
  dy_graph_set_grads(g, NULL);
  ck_assert(dy_expr_valid(dy_param_expr(g, p.W)));
  dy_graph_free(g);
  dy_grad_set_free(s);
  dy_grad_set_free(sq);
  ptoy_free(&p);
  ptoy_free(&q);
}
END_TEST

/* ----------------------------------- the update shared by n threads
 * dy_trainer_update_sets_mt() by n = 1..4 threads equals
 * dy_trainer_update_sets() bitwise (values, norm, step count), for every
 * trainer, sparse and dense lookups, weight decay, a frozen parameter, and a
 * dense part large enough that blocks cross parameters. */
enum { MBIG = 301 };

typedef struct {
  dy_trainer *t;
  dy_grad_set *const *sets;
  uint32_t nsets, k, n;
  pthread_barrier_t *b;
  dy_status st;
} mtjob;

static void mt_barrier(void *ctx) { pthread_barrier_wait(ctx); }

static void *mt_run(void *a) {
  mtjob *j = a;
  j->st = dy_trainer_update_sets_mt(j->t, j->sets, j->nsets, j->k, j->n, mt_barrier, j->b);
  return NULL;
}

/* One update by n threads; every thread must return the same status. */
static dy_status mt_update(dy_trainer *t, dy_grad_set *const *sets, uint32_t nsets, uint32_t n) {
  pthread_barrier_t b;
  pthread_barrier_init(&b, NULL, n);
  mtjob j[4];
  pthread_t th[4];
  for (uint32_t k = 0; k < n; k++) j[k] = (mtjob){t, sets, nsets, k, n, &b, DY_OK};
  for (uint32_t k = 1; k < n; k++) ck_assert_int_eq(pthread_create(&th[k], NULL, mt_run, &j[k]), 0);
  mt_run(&j[0]);
  for (uint32_t k = 1; k < n; k++) pthread_join(th[k], NULL);
  pthread_barrier_destroy(&b);
  for (uint32_t k = 1; k < n; k++) ck_assert_int_eq(j[k].st, j[0].st);
  return j[0].st;
}

typedef struct { ptoy p; dy_param *big, *fz; } mtoy;

static void mtoy_make(mtoy *q, int kind, int sparse, int wd) {
  ptoy_make(&q->p);
  dy_trainer_free(q->p.t);
  q->big = dy_model_add_param(q->p.m, "big", dy_d1(MBIG), dy_init_uniform(-1, 1));
  q->fz = dy_model_add_param(q->p.m, "frozen", dy_d1(7), dy_init_uniform(-1, 1));
  dy_param_set_frozen(q->fz, 1);
  q->p.t = make(q->p.m, kind, kind == K_SGD || kind == K_ADAGRAD ? 0.05f : 0.01f);
  dy_trainer_set_clip(q->p.t, 40); /* active in some steps */
  dy_trainer_set_sparse(q->p.t, sparse);
  if (wd) dy_trainer_set_weight_decay(q->p.t, 0.01f);
}

/* sentence k of step s, plus a quadratic on big and a term on the frozen one */
static void mloss(mtoy *q, dy_graph *g, int s, int k) {
  ploss(&q->p, g, s, k);
  dy_real c[MBIG];
  for (int i = 0; i < MBIG; i++) c[i] = (dy_real)(((i * 7 + s * 3 + k) % 11) - 5) * 0.1f;
  dy_graph_renew(g);
  dy_expr d = dy_sub(dy_param_expr(g, q->big), dy_input(g, dy_d1(MBIG), c));
  dy_expr L = dy_add(dy_sum_elems(dy_cmult(d, d)), dy_sum_elems(dy_param_expr(g, q->fz)));
  ck_assert_int_eq(dy_backward(dy_scale_gradient(L, (dy_real)(s % 3 == 0 ? 1 : 0.05))), DY_OK);
}

/* Values and norms after PSTEPS steps with n threads (0: dy_trainer_update_sets). */
static void mt_train(int kind, int sparse, int wd, uint32_t n, dy_real *out, double *norms) {
  mtoy q;
  mtoy_make(&q, kind, sparse, wd);
  dy_graph *g[2] = {dy_graph_new(), dy_graph_new()};
  dy_grad_set *gs[2] = {dy_grad_set_new(q.p.m), dy_grad_set_new(q.p.m)};
  dy_graph_set_grads(g[1], gs[0]);
  for (int s = 0; s < PSTEPS; s++) {
    mloss(&q, g[0], s, 0); /* thread 0's graph: on the model */
    mloss(&q, g[1], s, 1);
    dy_graph_set_grads(g[1], gs[1]);
    mloss(&q, g[1], s, 2);
    dy_graph_set_grads(g[1], gs[0]);
    if (n == 0) ck_assert_int_eq(dy_trainer_update_sets(q.p.t, gs, 2), DY_OK);
    else ck_assert_int_eq(mt_update(q.p.t, gs, 2, n), DY_OK);
    norms[s] = dy_trainer_last_grad_norm(q.p.t);
    ck_assert_uint_eq(dy_trainer_steps(q.p.t), (uint64_t)s + 1);
    ck_assert(dy_model_grad_norm(q.p.m) == 0);
    ck_assert_uint_eq(dy_lookup_num_touched(q.p.E), 0);
  }
  size_t nv = dy_model_size(q.p.m);
  ck_assert_uint_eq(nv, PV * PE + PT * PE + PT + MBIG + 7);
  memcpy(out, dy_lookup_row(q.p.E, 0), PV * PE * sizeof(dy_real));
  memcpy(out + PV * PE, dy_param_values(q.p.W), PT * PE * sizeof(dy_real));
  memcpy(out + PV * PE + PT * PE, dy_param_values(q.p.b), PT * sizeof(dy_real));
  memcpy(out + PV * PE + PT * PE + PT, dy_param_values(q.big), MBIG * sizeof(dy_real));
  memcpy(out + PV * PE + PT * PE + PT + MBIG, dy_param_values(q.fz), 7 * sizeof(dy_real));
  for (int i = 0; i < 2; i++) {
    dy_graph_free(g[i]);
    dy_grad_set_free(gs[i]);
  }
  ptoy_free(&q.p);
}

START_TEST(grad_sets_mt_equal) {
  enum { N = PV * PE + PT * PE + PT + MBIG + 7 };
  static dy_real ref[N], got[N], init[N];
  double nref[PSTEPS], ngot[PSTEPS];
  mtoy q;
  mtoy_make(&q, K_SGD, 1, 0);
  memcpy(init, dy_lookup_row(q.p.E, 0), PV * PE * sizeof(dy_real));
  memcpy(init + N - 7, dy_param_values(q.fz), 7 * sizeof(dy_real));
  ptoy_free(&q.p);
  for (int kind = 0; kind < NKINDS; kind++)
    for (int sparse = 0; sparse < 2; sparse++)
      for (int wd = 0; wd < 2; wd++) {
        if (wd && kind != K_SGD && kind != K_ADAM) continue;
        mt_train(kind, sparse, wd, 0, ref, nref);
        ck_assert(memcmp(ref, init, PV * PE * sizeof(dy_real)) != 0); /* trained */
        ck_assert(memcmp(ref + N - 7, init + N - 7, 7 * sizeof(dy_real)) == 0); /* frozen */
        int clipped = 0;
        for (int s = 0; s < PSTEPS; s++) clipped += nref[s] > 40;
        ck_assert_msg(clipped > 0 && clipped < PSTEPS, "%s: clipping in %d of %d steps", kname[kind], clipped,
                      PSTEPS);
        for (uint32_t n = 1; n <= 4; n++) {
          mt_train(kind, sparse, wd, n, got, ngot);
          ck_assert_msg(memcmp(ref, got, sizeof ref) == 0, "%s sparse %d wd %d: %u threads differ", kname[kind],
                        sparse, wd, (unsigned)n);
          ck_assert(memcmp(nref, ngot, sizeof nref) == 0);
        }
      }
}
END_TEST

/* A NaN in a set: every thread gets DY_ENAN, nothing changes, all cleared;
 * bad calls: DY_EARG. */
START_TEST(grad_sets_mt_errors) {
  mtoy q;
  mtoy_make(&q, K_ADAM, 1, 0);
  dy_graph *g = dy_graph_new();
  dy_grad_set *gs = dy_grad_set_new(q.p.m);
  dy_graph_set_grads(g, gs);
  mloss(&q, g, 0, 1);
  ck_assert_int_eq(mt_update(q.p.t, &gs, 1, 2), DY_OK);
  size_t nv = dy_model_size(q.p.m);
  dy_real *before = malloc(nv * sizeof(dy_real));
  memcpy(before, dy_lookup_row(q.p.E, 0), PV * PE * sizeof(dy_real));
  mloss(&q, g, 1, 1);
  dy_param_grads(q.big)[0] = 1; /* the model's own gradients take part too */
  memcpy(&before[PV * PE], dy_param_values(q.p.W), PT * PE * sizeof(dy_real));
  /* a NaN in the set's copy of W */
  dy_graph_renew(g);
  dy_real bad[PT * PE];
  for (int i = 0; i < PT * PE; i++) bad[i] = i == 5 ? (dy_real)NAN : 1;
  ck_assert_int_eq(dy_backward(dy_dot(dy_reshape(dy_param_expr(g, q.p.W), dy_d1(PT * PE)), dy_input(g, dy_d1(PT * PE), bad))),
                   DY_OK);
  ck_assert_int_eq(mt_update(q.p.t, &gs, 1, 3), DY_ENAN);
  ck_assert_ptr_nonnull(strstr(dy_model_error(q.p.m), "'W'"));
  ck_assert(memcmp(before, dy_lookup_row(q.p.E, 0), PV * PE * sizeof(dy_real)) == 0);
  ck_assert(memcmp(&before[PV * PE], dy_param_values(q.p.W), PT * PE * sizeof(dy_real)) == 0);
  ck_assert(dy_model_grad_norm(q.p.m) == 0);
  ck_assert_uint_eq(dy_trainer_steps(q.p.t), 1);
  /* the set was cleared too: an update from it changes nothing */
  ck_assert_int_eq(mt_update(q.p.t, &gs, 1, 2), DY_OK);
  ck_assert(dy_trainer_last_grad_norm(q.p.t) == 0);
  /* bad calls */
  ck_assert_int_eq(dy_trainer_update_sets_mt(NULL, &gs, 1, 0, 1, NULL, NULL), DY_EARG);
  ck_assert_int_eq(dy_trainer_update_sets_mt(q.p.t, &gs, 1, 0, 0, NULL, NULL), DY_EARG);
  ck_assert_int_eq(dy_trainer_update_sets_mt(q.p.t, &gs, 1, 0, 2, NULL, NULL), DY_EARG);
  ck_assert_ptr_nonnull(strstr(dy_model_error(q.p.m), "no barrier"));
  ck_assert_int_eq(dy_trainer_update_sets_mt(q.p.t, &gs, 1, 2, 2, mt_barrier, NULL), DY_EARG);
  ck_assert_int_eq(dy_trainer_update_sets_mt(q.p.t, NULL, 1, 0, 1, NULL, NULL), DY_EARG);
  ck_assert_ptr_nonnull(strstr(dy_model_error(q.p.m), "NULL"));
  ck_assert_uint_eq(dy_trainer_steps(q.p.t), 2);
  free(before);
  dy_graph_free(g);
  dy_grad_set_free(gs);
  ptoy_free(&q.p);
}
END_TEST

int main(void) {
  Suite *s = suite_create("trainers");
  TCase *tc = tcase_create("trainers");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, each_lowers_objective);
  tcase_add_test(tc, defaults_and_lr);
  tcase_add_test(tc, adam_by_hand);
  tcase_add_test(tc, rmsprop_by_hand);
  tcase_add_test(tc, others_by_hand);
  tcase_add_test(tc, clipping_numeric);
  tcase_add_test(tc, weight_decay_numeric);
  tcase_add_test(tc, schedules);
  tcase_add_test(tc, nan_gradient);
  tcase_add_test(tc, sparse_semantics);
  tcase_add_test(tc, model_grows_after_update);
  tcase_add_test(tc, tanh_op_gradient);
  tcase_add_test(tc, xor_every_trainer);
  tcase_add_test(tc, grad_sets_deterministic);
  tcase_add_test(tc, grad_sets_errors);
  tcase_add_test(tc, grad_sets_mt_equal);
  tcase_add_test(tc, grad_sets_mt_errors);
  suite_add_tcase(s, tc);
  return t_run(s);
}
