/* Language models: gradients, masking equals separate sentences, carried
 * state equals one long window, learning a pattern, sampling. */
#include <stdlib.h>
#include <string.h>

#include "dy_lm.h"
#include "harness.h"

static dy_lm *tiny(dy_model *m, dy_rnn_kind kind, uint32_t layers) {
  dy_lm_opts o = dy_lm_defaults();
  o.kind = kind;
  o.layers = layers;
  o.emb = 3;
  o.hidden = 4;
  dy_lm *lm = dy_lm_new(m, "lm", 6, &o);
  ck_assert_ptr_nonnull(lm);
  return lm;
}

START_TEST(gradients_through_the_minibatch_loss) {
  dy_rnn_kind kinds[] = {DY_SRNN, DY_LSTM, DY_GRU};
  for (int k = 0; k < 3; k++) {
    dy_model *m = dy_model_new(7 + (uint64_t)k);
    dy_lm *lm = tiny(m, kinds[k], 2);
    dy_graph *g = dy_graph_new();
    /* T = 3 steps of B = 2 streams, one padded position, a carried state */
    uint32_t in[6] = {0, 1, 2, 3, 4, 5}, out[6] = {1, 2, 3, 4, 5, 0};
    dy_real mask[6] = {1, 1, 1, 1, 1, 0};
    dy_real *st = malloc(dy_lm_state_size(lm, 2) * sizeof(dy_real));
    t_rng r = {5};
    t_fill(&r, st, dy_lm_state_size(lm, 2), -0.5, 0.5, 0);
    dy_expr L = dy_lm_loss(lm, g, in, out, mask, 3, 2, st, NULL);
    ck_assert_msg(dy_expr_valid(L), "%s", dy_graph_error(g));
    char rep[512];
    dy_status s = dy_check_grad(L, T_STEP, T_TOL, rep, sizeof rep);
    ck_assert_msg(s == DY_OK, "kind %d: %s", k, s == DY_EGRAD ? rep : dy_graph_error(g));
    free(st);
    dy_graph_free(g);
    dy_lm_free(lm);
    dy_model_free(m);
  }
}
END_TEST

/* The output-layer node: finite differences, with a skipped position (weight
 * 0) and a fractional weight, and all positions counted. */
typedef struct { const uint32_t *y; const dy_real *m; } outl_ctx;

static dy_expr build_outl(const dy_expr *xs, void *ctx) {
  const outl_ctx *c = ctx;
  return dy_lm_output_nll(xs[0], xs[1], xs[2], c->y, c->m);
}

START_TEST(output_nll_gradients) {
  enum { V = 7, H = 5, N = 4 };
  uint32_t y[N] = {3, 0, 6, 3};
  dy_real m[N] = {1, 0, 0.5, 1};
  dy_dim dims[3] = {dy_d1(V), dy_d2(V, H), dy_batch(dy_d1(H), N)};
  t_case c = t_case_of(3, dims);
  c.lo = -2;
  c.hi = 2;
  outl_ctx ctx = {y, m};
  t_gradcheck("lm_output_nll masked", build_outl, &ctx, &c, 21);
  ctx.m = NULL;
  t_gradcheck("lm_output_nll", build_outl, &ctx, &c, 22);
  /* a batch of one position */
  c.dims[2] = dy_d1(H);
  t_gradcheck("lm_output_nll N=1", build_outl, &ctx, &c, 23);
}
END_TEST

/* Same values and gradients as affine + pick_neg_log_softmax + mask, also
 * when the node's argument gradients already hold something (h used twice). */
START_TEST(output_nll_equals_the_composition) {
  enum { V = 9, H = 6, N = 5 };
  uint32_t y[N] = {8, 1, 0, 4, 4};
  dy_real m[N] = {1, 1, 0, 2, 1};
  dy_real bv[V], Wv[V * H], hv[N * H];
  t_rng r = {9};
  t_fill(&r, bv, V, -1, 1, 0);
  t_fill(&r, Wv, V * H, -1, 1, 0);
  t_fill(&r, hv, N * H, -1, 1, 0);
  dy_real val[2], gb[2][V], gW[2][V * H], gh[2][N * H];
  for (int way = 0; way < 2; way++) {
    dy_model *mod = dy_model_new(1);
    dy_param *pb = dy_model_add_param(mod, "b", dy_d1(V), dy_init_const(0));
    dy_param *pW = dy_model_add_param(mod, "W", dy_d2(V, H), dy_init_const(0));
    memcpy(dy_param_values(pb), bv, sizeof bv);
    memcpy(dy_param_values(pW), Wv, sizeof Wv);
    dy_graph *g = dy_graph_new();
    dy_expr b = dy_param_expr(g, pb), W = dy_param_expr(g, pW);
    dy_param *pu = dy_model_add_param(mod, "u", dy_d1(H), dy_init_const(0.25f));
    dy_expr hin = dy_input(g, dy_batch(dy_d1(H), N), hv);
    dy_expr h = dy_tanh(dy_add(hin, dy_param_expr(g, pu))); /* a variable below h: dy_grad(h) */
    dy_expr nll;
    if (way == 0) {
      nll = dy_lm_output_nll(b, W, h, y, m);
    } else {
      nll = dy_pick_neg_log_softmax_batch(dy_affine(b, W, h), y);
      nll = dy_cmult(nll, dy_input(g, dy_batch(dy_d1(1), N), m));
    }
    /* h also feeds a second term, so its gradient gets two contributions */
    dy_expr L = dy_add(dy_sum_batches(nll), dy_sum_batches(dy_sum_elems(dy_cmult(h, h))));
    val[way] = dy_scalar(L);
    ck_assert_msg(!isnan(val[way]), "%s", dy_graph_error(g));
    ck_assert_int_eq(dy_backward(L), DY_OK);
    memcpy(gb[way], dy_param_grads(pb), sizeof gb[way]);
    memcpy(gW[way], dy_param_grads(pW), sizeof gW[way]);
    ck_assert_ptr_nonnull(dy_grad(h));
    memcpy(gh[way], dy_grad(h), sizeof gh[way]);
    dy_graph_free(g);
    dy_model_free(mod);
  }
  ck_close(val[0], val[1], 1e-5 * (1 + fabs((double)val[1])));
  for (int i = 0; i < V; i++) ck_close(gb[0][i], gb[1][i], 1e-5);
  for (int i = 0; i < V * H; i++) ck_close(gW[0][i], gW[1][i], 1e-5);
  for (int i = 0; i < N * H; i++) ck_close(gh[0][i], gh[1][i], 1e-5);
}
END_TEST

/* Loss of one padded minibatch == sum of each sentence's loss on its own. */
START_TEST(masking_equals_separate_sentences) {
  dy_model *m = dy_model_new(3);
  dy_lm *lm = tiny(m, DY_LSTM, 1);
  dy_graph *g = dy_graph_new();
  uint32_t s0[] = {1, 2, 3, 4}, s1[] = {2}, s2[] = {5, 4, 3};
  const uint32_t *sents[3] = {s0, s1, s2};
  uint32_t len[3] = {4, 1, 3};
  size_t ntok = 0;
  dy_real batch = dy_scalar(dy_lm_sentences_loss(lm, g, sents, len, 3, 0, 0, &ntok));
  ck_assert_msg(!isnan(batch), "%s", dy_graph_error(g));
  ck_assert_uint_eq(ntok, 4 + 1 + 3 + 3);
  double sep = 0;
  for (int b = 0; b < 3; b++) {
    dy_graph_renew(g);
    sep += dy_scalar(dy_lm_sentences_loss(lm, g, &sents[b], &len[b], 1, 0, 0, NULL));
  }
  ck_close(batch, sep, 1e-4 * (1 + fabs(sep)));
  dy_graph_free(g);
  dy_lm_free(lm);
  dy_model_free(m);
}
END_TEST

/* Two windows with the state carried == one window of twice the length. */
START_TEST(carried_state_equals_one_window) {
  dy_model *m = dy_model_new(4);
  dy_lm *lm = tiny(m, DY_LSTM, 2);
  dy_graph *g = dy_graph_new();
  enum { T = 4, B = 2 };
  uint32_t in[2 * T * B], out[2 * T * B];
  for (int i = 0; i < 2 * T * B; i++) {
    in[i] = (uint32_t)(i * 7 % 6);
    out[i] = (uint32_t)(i * 5 % 6);
  }
  dy_real whole = dy_scalar(dy_lm_loss(lm, g, in, out, NULL, 2 * T, B, NULL, NULL));
  dy_graph_renew(g);
  dy_rnn_state fin;
  dy_real first = dy_scalar(dy_lm_loss(lm, g, in, out, NULL, T, B, NULL, &fin));
  dy_real *st = malloc(dy_lm_state_size(lm, B) * sizeof(dy_real));
  ck_assert_int_eq(dy_lm_state_get(lm, fin, B, st), DY_OK);
  dy_graph_renew(g);
  dy_real second = dy_scalar(dy_lm_loss(lm, g, in + T * B, out + T * B, NULL, T, B, st, NULL));
  ck_close(whole, first + second, 1e-4 * (1 + fabs((double)whole)));
  free(st);
  dy_graph_free(g);
  dy_lm_free(lm);
  dy_model_free(m);
}
END_TEST

/* An LSTM LM learns the cycle 1 2 3 4 5 1 2 ... and samples it back. */
START_TEST(learns_a_cycle_and_samples_it) {
  dy_model *m = dy_model_new(11);
  dy_lm_opts o = dy_lm_defaults();
  o.emb = 8;
  o.hidden = 16;
  dy_lm *lm = dy_lm_new(m, "lm", 6, &o);
  dy_trainer *tr = dy_adam_new(m, 0.01f, 0.9f, 0.999f, 1e-8f);
  dy_graph *g = dy_graph_new();
  enum { T = 10, B = 4 };
  uint32_t in[T * B], out[T * B];
  double first = 0, last = 0;
  for (int step = 0; step < 150; step++) {
    for (int t = 0; t < T; t++)
      for (int b = 0; b < B; b++) {
        uint32_t v = (uint32_t)((t + b + step) % 5);
        in[t * B + b] = 1 + v;
        out[t * B + b] = 1 + (v + 1) % 5;
      }
    dy_graph_renew(g);
    dy_expr L = dy_lm_loss(lm, g, in, out, NULL, T, B, NULL, NULL);
    double l = dy_scalar(L) / (T * B);
    if (step == 0) first = l;
    last = l;
    ck_assert_int_eq(dy_backward(L), DY_OK);
    ck_assert_int_eq(dy_trainer_update(tr), DY_OK);
  }
  ck_assert_msg(last < 0.05 && last < first / 20, "loss per token %g -> %g", first, last);
  uint32_t prime[2] = {2, 3}, got[12], again[12];
  ck_assert_int_eq(dy_lm_sample(lm, g, prime, 2, 12, 0.5, 9, got), DY_OK);
  for (int k = 0; k < 12; k++) ck_assert_uint_eq(got[k], 1 + (uint32_t)(3 + k) % 5);
  /* same seed, same sample; a very high temperature wanders off the cycle */
  ck_assert_int_eq(dy_lm_sample(lm, g, prime, 2, 12, 0.5, 9, again), DY_OK);
  ck_assert_mem_eq(got, again, sizeof got);
  ck_assert_int_eq(dy_lm_sample(lm, g, prime, 2, 12, 50, 9, again), DY_OK);
  ck_assert(memcmp(got, again, sizeof got) != 0);
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_lm_free(lm);
  dy_model_free(m);
}
END_TEST

START_TEST(bad_ids_and_arguments) {
  dy_model *m = dy_model_new(1);
  dy_lm *lm = tiny(m, DY_GRU, 1);
  dy_graph *g = dy_graph_new();
  uint32_t in[2] = {1, 9}, out[2] = {1, 2};
  ck_assert(!dy_expr_valid(dy_lm_loss(lm, g, in, out, NULL, 2, 1, NULL, NULL)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  ck_assert_msg(strstr(dy_graph_error(g), "9") && strstr(dy_graph_error(g), "step 1"), "%s",
                dy_graph_error(g));
  uint32_t prime[1] = {7}, o[3];
  ck_assert_int_eq(dy_lm_sample(lm, g, prime, 1, 3, 1.0, 1, o), DY_EINDEX);
  prime[0] = 1;
  ck_assert_int_eq(dy_lm_sample(lm, g, prime, 1, 3, 0.0, 1, o), DY_EARG);
  ck_assert_ptr_null(dy_lm_new(m, "lm2", 0, NULL));
  /* the output node: a target out of range, then h of the wrong size */
  dy_real hv[8] = {0};
  uint32_t y[2] = {1, 6};
  dy_graph_renew(g);
  dy_real Wv[24] = {0};
  dy_expr b = dy_input(g, dy_d1(6), hv), W = dy_input(g, dy_d2(6, 4), Wv);
  ck_assert(!dy_expr_valid(dy_lm_output_nll(b, W, dy_input(g, dy_batch(dy_d1(4), 2), hv), y, NULL)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  ck_assert_msg(strstr(dy_graph_error(g), "target 6"), "%s", dy_graph_error(g));
  dy_graph_renew(g);
  y[1] = 2;
  b = dy_input(g, dy_d1(6), hv);
  W = dy_input(g, dy_d2(6, 4), Wv);
  ck_assert(!dy_expr_valid(dy_lm_output_nll(b, W, dy_input(g, dy_batch(dy_d1(3), 2), hv), y, NULL)));
  ck_assert_int_eq(dy_graph_status(g), DY_ESHAPE);
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_lm_output_nll(dy_input(g, dy_d1(6), hv), dy_input(g, dy_d2(6, 4), Wv),
                                            dy_input(g, dy_d1(4), hv), NULL, NULL)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  dy_graph_free(g);
  dy_lm_free(lm);
  dy_model_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("lm");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, gradients_through_the_minibatch_loss);
  tcase_add_test(t, output_nll_gradients);
  tcase_add_test(t, output_nll_equals_the_composition);
  tcase_add_test(t, masking_equals_separate_sentences);
  tcase_add_test(t, carried_state_equals_one_window);
  tcase_add_test(t, learns_a_cycle_and_samples_it);
  tcase_add_test(t, bad_ids_and_arguments);
  suite_add_tcase(s, t);
  return t_run(s);
}
