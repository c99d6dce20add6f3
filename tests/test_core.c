/* Core engine contracts: leaves, lazy forward, backward, sticky errors,
 * stale expressions, check mode, gradient checker, zero mallocs, O(1) renew. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

START_TEST(dims) {
  char b[64];
  ck_assert_str_eq(dy_dim_str(dy_d2(3, 4), b, sizeof b), "{3,4}");
  ck_assert_str_eq(dy_dim_str(dy_batch(dy_d1(5), 8), b, sizeof b), "{5}x8");
  ck_assert_uint_eq(dy_dim_size(dy_batch(dy_d3(2, 3, 4), 2)), 48);
  ck_assert(dy_dim_eq(dy_d2(3, 1), dy_d1(3)));
  ck_assert(!dy_dim_eq(dy_d1(3), dy_batch(dy_d1(3), 2)));
  ck_assert(dy_dim_ok(dy_d1(1)));
  ck_assert(!dy_dim_ok(dy_d1(0)));
}
END_TEST

START_TEST(leaves) {
  dy_graph *g = dy_graph_new();
  dy_real v[] = {1, 2, 3};
  dy_expr in = dy_input(g, dy_d1(3), v);
  dy_expr ref = dy_input_ref(g, dy_d1(3), v);
  dy_expr z = dy_zeros(g, dy_d2(2, 2)), o = dy_ones(g, dy_d1(2)), c = dy_constant(g, dy_d1(2), 2.5);
  v[0] = 10; /* input copied at build; input_ref reads at forward */
  ck_close(dy_forward(in)[0], 1, 0);
  ck_close(dy_forward(ref)[0], 10, 0);
  ck_close(dy_forward(z)[3], 0, 0);
  ck_close(dy_forward(o)[1], 1, 0);
  ck_close(dy_forward(c)[0], 2.5, 0);
  ck_close(dy_scalar(dy_scalar_input(g, -4)), -4, 0);
  ck_assert_uint_eq(dy_graph_size(g), 6);
  dy_graph_free(g);
}
END_TEST

START_TEST(lazy_incremental_forward) {
  dy_graph *g = dy_graph_new();
  dy_real v[] = {1, 2};
  dy_expr a = dy_input_ref(g, dy_d1(2), v);
  dy_expr b = dy_add(a, a);
  dy_expr c = dy_cmult(b, b);
  ck_assert_uint_eq(g->nfwd, 0); /* nothing computed while building */
  ck_close(dy_forward(b)[1], 4, 0);
  ck_assert_uint_eq(g->nfwd, 2); /* c not computed yet */
  ck_assert_ptr_null(g->nodes[c.id].val);
  v[1] = 3; /* already computed: stays until invalidate */
  ck_close(dy_forward(c)[1], 16, 0);
  dy_graph_invalidate(g);
  ck_close(dy_forward(c)[1], 36, 0);
  dy_graph_free(g);
}
END_TEST

START_TEST(backward_accumulates_into_variables) {
  dy_graph *g = dy_graph_new();
  dy_real w[] = {1, 2, 3}, gw[3] = {0}, x[] = {4, 5, 6};
  dy_expr W = dy_variable(g, dy_d1(3), w, gw);
  dy_expr X = dy_input(g, dy_d1(3), x);
  dy_expr L = dy_sum_elems(dy_cmult(W, X));
  ck_close(dy_scalar(L), 32, 0);
  ck_assert_int_eq(dy_backward(L), DY_OK);
  ck_close(gw[0], 4, 0);
  ck_close(gw[2], 6, 0);
  ck_assert_ptr_null(dy_grad(X)); /* no variable below an input */
  ck_close(dy_grad(L)[0], 1, 0);
  /* a second backward adds again (accumulation, as DyNet) */
  ck_assert_int_eq(dy_backward(L), DY_OK);
  ck_close(gw[1], 10, 0);
  dy_graph_free(g);
}
END_TEST

START_TEST(backward_skips_dead_and_constant_paths) {
  dy_graph *g = dy_graph_new();
  dy_real w[] = {1, 2}, gw[2] = {0}, u[] = {3, 4}, gu[2] = {0};
  dy_expr W = dy_variable(g, dy_d1(2), w, gw);
  dy_expr U = dy_variable(g, dy_d1(2), u, gu);
  dy_expr side = dy_cmult(U, U); /* built before the loss, not used by it */
  dy_expr L = dy_sum_elems(dy_cmult(W, W));
  ck_assert_int_eq(dy_backward(L), DY_OK);
  ck_assert_ptr_null(dy_grad(side));
  ck_close(gu[0], 0, 0);
  ck_close(gw[1], 4, 0);
  /* a loss with no variable below: backward is a no-op that succeeds */
  dy_real x[] = {1};
  dy_expr c = dy_sum_elems(dy_input(g, dy_d1(1), x));
  ck_assert_int_eq(dy_backward(c), DY_OK);
  dy_graph_free(g);
}
END_TEST

START_TEST(backward_from_earlier_root_forgets_later_gradients) {
  dy_graph *g = dy_graph_new();
  dy_real w[] = {1, 2}, gw[2] = {0};
  dy_expr W = dy_variable(g, dy_d1(2), w, gw);
  dy_expr L1 = dy_sum_elems(W);
  dy_expr L2 = dy_sum_elems(dy_cmult(W, W));
  ck_assert_int_eq(dy_backward(L2), DY_OK);
  ck_assert_ptr_nonnull(dy_grad(L2));
  ck_assert_int_eq(dy_backward(L1), DY_OK);
  ck_assert_ptr_null(dy_grad(L2)); /* not on the last backward's path */
  dy_graph_free(g);
}
END_TEST

/* Variables' gradients go straight into their buffers: dy_grad of such a
 * variable is the buffer (the sum over backwards), a variable used by many
 * nodes (ops that add and ops that write fresh gradients) gets the sum of
 * every use, and the modes that keep per-backward gradients still do. */
START_TEST(variable_gradients_go_to_their_buffers) {
  for (int mode = 0; mode < 3; mode++) {
    dy_graph *g = dy_graph_new();
    dy_graph_set_check(g, mode == 0 ? 0u : mode == 1 ? DY_KEEP_VAR_GRADS : DY_CHECK_NAN);
    dy_real w[] = {1, 2}, gw[2] = {10, 20}, m[] = {1, 2, 3, 4}, gm[4] = {0};
    dy_expr W = dy_variable(g, dy_d1(2), w, gw);
    dy_expr Mx = dy_variable(g, dy_d2(2, 2), m, gm);
    /* L = sum(W + W) + sum(W * W) + sum(2 W) + sum(M W) + sum(M W + W) */
    dy_expr parts[5] = {dy_sum_elems(dy_add(W, W)), dy_sum_elems(dy_cmult(W, W)),
                        dy_sum_elems(dy_mul_scalar(W, 2)), dy_sum_elems(dy_matmul(Mx, W)),
                        dy_sum_elems(dy_affine(W, Mx, W))};
    dy_expr L = dy_sum(parts, 5);
    ck_assert_int_eq(dy_backward(L), DY_OK);
    /* dL/dw_j = 2 + 2 w_j + 2 + 2 colsum_j(M) + 1; colsum = {4, 6} */
    const dy_real want[2] = {2 + 2 + 2 + 8 + 1, 2 + 4 + 2 + 12 + 1};
    ck_close(gw[0], 10 + want[0], 1e-5);
    ck_close(gw[1], 20 + want[1], 1e-5);
    ck_close(gm[0], 2 * w[0], 1e-5); /* dL/dM_ij = 2 w_j */
    ck_close(gm[3], 2 * w[1], 1e-5);
    const dy_real *gr = dy_grad(W);
    ck_assert_ptr_nonnull(gr);
    if (mode == 0) {
      ck_assert_ptr_eq(gr, gw); /* the buffer itself */
    } else {
      ck_assert_ptr_ne(gr, gw); /* this backward's own gradient */
      ck_close(gr[0], want[0], 1e-5);
      ck_close(gr[1], want[1], 1e-5);
    }
    /* a second backward adds the same again */
    ck_assert_int_eq(dy_backward(L), DY_OK);
    ck_close(gw[0], 10 + 2 * want[0], 1e-5);
    ck_close(gw[1], 20 + 2 * want[1], 1e-5);
    ck_close(gm[1], 4 * w[1], 1e-5);
    /* the root itself a variable: its gradient 1 goes into the buffer */
    dy_real s[] = {3}, gs[] = {0};
    dy_expr S = dy_variable(g, dy_d1(1), s, gs);
    ck_assert_int_eq(dy_backward(S), DY_OK);
    ck_close(gs[0], 1, 0);
    ck_close(gw[0], 10 + 2 * want[0], 1e-5); /* W not on this backward's path */
    dy_graph_free(g);
  }
}
END_TEST

START_TEST(backward_batched_loss_sums) {
  dy_graph *g = dy_graph_new();
  dy_real w[] = {2}, gw[1] = {0}, x[] = {1, 2, 3};
  dy_expr W = dy_variable(g, dy_d1(1), w, gw);
  dy_expr X = dy_input(g, dy_batch(dy_d1(1), 3), x);
  dy_expr L = dy_cmult(W, X); /* {1}x3: three losses */
  ck_assert_int_eq(dy_backward(L), DY_OK);
  ck_close(gw[0], 6, 0);
  dy_graph_free(g);
}
END_TEST

START_TEST(errors_are_sticky_and_named) {
  dy_graph *g = dy_graph_new();
  dy_real v[8] = {0}, gv[8] = {0};
  dy_expr a = dy_variable(g, dy_d1(4), v, gv);
  dy_expr bad = dy_add(a, dy_input(g, dy_d1(3), v));
  ck_assert(!dy_expr_valid(bad));
  const char *m1 = dy_graph_error(g);
  ck_assert_msg(strstr(m1, "add") && strstr(m1, "node 0 {4}") && strstr(m1, "node 1 {3}"), "%s", m1);
  /* later calls do nothing and keep the first message */
  uint32_t n = dy_graph_size(g);
  dy_expr more = dy_cmult(a, a);
  ck_assert(!dy_expr_valid(more));
  ck_assert_uint_eq(dy_graph_size(g), n);
  ck_assert_ptr_null(dy_forward(a));
  ck_assert_int_ne(dy_backward(a), DY_OK);
  ck_assert(isnan(dy_scalar(a)));
  ck_assert_str_eq(dy_graph_error(g), m1);
  /* renew: usable again */
  dy_graph_renew(g);
  ck_assert_ptr_null(dy_graph_error(g));
  dy_expr b = dy_variable(g, dy_d1(4), v, gv);
  ck_assert(dy_expr_valid(dy_add(b, b)));
  dy_graph_free(g);
}
END_TEST

START_TEST(stale_and_foreign_expressions) {
  dy_graph *g = dy_graph_new(), *h = dy_graph_new();
  dy_real v[4] = {1, 2, 3, 4};
  dy_expr a = dy_input(g, dy_d1(4), v);
  dy_graph_renew(g);
  dy_expr b = dy_input(g, dy_d1(4), v);
  ck_assert(!dy_expr_valid(a));
  ck_assert(!dy_expr_valid(dy_add(b, a)));
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  ck_assert_msg(strstr(dy_graph_error(g), "renewed"), "%s", dy_graph_error(g));
  dy_graph_renew(g);
  b = dy_input(g, dy_d1(4), v);
  dy_expr c = dy_input(h, dy_d1(4), v);
  ck_assert(!dy_expr_valid(dy_add(b, c)));
  ck_assert_msg(strstr(dy_graph_error(g), "another graph"), "%s", dy_graph_error(g));
  ck_assert_ptr_null(dy_graph_error(h)); /* the other graph is untouched */
  /* forward of a stale expression */
  dy_graph_renew(g);
  ck_assert_ptr_null(dy_forward(b));
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  /* a zero-initialised expression is invalid, not a crash */
  dy_expr zero;
  memset(&zero, 0, sizeof zero);
  ck_assert_ptr_null(dy_forward(zero));
  ck_assert(!dy_expr_valid(dy_add(zero, zero)));
  dy_graph_free(g);
  dy_graph_free(h);
}
END_TEST

START_TEST(backward_needs_scalar) {
  dy_graph *g = dy_graph_new();
  dy_real v[3] = {1, 2, 3}, gv[3] = {0};
  dy_expr a = dy_variable(g, dy_d1(3), v, gv);
  dy_expr e = dy_mul_scalar(a, 2);
  ck_assert_int_eq(dy_backward(e), DY_ENONSCALAR);
  const char *m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "mul_scalar") && strstr(m, "{3}") && strstr(m, "node 1"), "%s", m);
  dy_graph_free(g);
}
END_TEST

/* A deliberately wrong op: y = x^2 with backward 3x. The checker must catch it. */
static int sq_dim(dy_graph *g, dy_node *n) { n->dim = dy_arg(g, n, 0)->dim; return 0; }
static void sq_fwd(dy_graph *g, dy_node *n) {
  const dy_real *x = dy_arg(g, n, 0)->val;
  for (size_t i = 0; i < dy_dim_size(n->dim); i++) n->val[i] = x[i] * x[i];
}
static void sq_bad_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  for (size_t j = 0; j < dy_dim_size(n->dim); j++) a->grad[j] += 3 * a->val[j] * n->grad[j];
}
static void sq_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  for (size_t j = 0; j < dy_dim_size(n->dim); j++) a->grad[j] += 2 * a->val[j] * n->grad[j];
}
static const dy_op op_bad = {"bad_square", 1, 0, sq_dim, sq_fwd, sq_bad_bwd};
static const dy_op op_good = {"good_square", 1, 0, sq_dim, sq_fwd, sq_bwd};
static void copy_fwd(dy_graph *g, dy_node *n) {
  memcpy(n->val, dy_arg(g, n, 0)->val, dy_dim_size(n->dim) * sizeof(dy_real));
}
static void inf_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  for (size_t j = 0; j < dy_dim_size(n->dim); j++) a->grad[j] += (dy_real)INFINITY;
}
static const dy_op op_inf_grad = {"inf_grad", 1, 0, sq_dim, copy_fwd, inf_bwd};

START_TEST(check_mode_names_first_nan) {
  dy_graph *g = dy_graph_new();
  dy_graph_set_check(g, DY_CHECK_NAN);
  dy_real v[2] = {1, 0}, gv[2] = {0};
  dy_expr a = dy_variable(g, dy_d1(2), v, gv);
  dy_graph_set_tag(g, 3);
  dy_expr q = dy_expr_set_name(dy_cdiv(a, a), "ratio"); /* 0/0 = NaN */
  dy_expr L = dy_sum_elems(q);
  ck_assert_ptr_null(dy_forward(L));
  const char *m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "node 1") && strstr(m, "cdiv") && strstr(m, "ratio") && strstr(m, "t=3") &&
                    strstr(m, "forward"), "%s", m);
  ck_assert_int_eq(dy_graph_status(g), DY_ENAN);
  /* without check mode the NaN simply flows */
  dy_graph_renew(g);
  dy_graph_set_check(g, 0);
  a = dy_variable(g, dy_d1(2), v, gv);
  ck_assert(isnan(dy_scalar(dy_sum_elems(dy_cdiv(a, a)))));
  /* a NaN born in backward is named where it first appears */
  dy_graph_renew(g);
  dy_graph_set_check(g, DY_CHECK_NAN);
  dy_real z[2] = {0, 0}, gz[2] = {0};
  dy_expr x = dy_variable(g, dy_d1(2), z, gz);
  dy_expr h = dy_expr_set_name(dy_mul_scalar(x, 2), "h");
  dy_expr y = dy_apply(&op_inf_grad, &h, 1, NULL);
  dy_expr L2 = dy_sum_elems(y);
  ck_assert(!isnan(dy_scalar(L2)));
  ck_assert_int_eq(dy_backward(L2), DY_ENAN);
  m = dy_graph_error(g);
  ck_assert_msg(strstr(m, "'h'") && strstr(m, "gradient"), "%s", m);
  ck_assert(gz[0] == 0); /* nothing reached the variable's buffer */
  dy_graph_free(g);
}
END_TEST

START_TEST(check_grad_catches_wrong_backward) {
  dy_graph *g = dy_graph_new();
  dy_real v[3] = {0.5, -1, 2}, gv[3] = {0};
  dy_expr a = dy_variable(g, dy_d1(3), v, gv);
  char rep[256];
  ck_assert_int_eq(dy_check_grad(dy_sum_elems(dy_apply(&op_good, &a, 1, NULL)), T_STEP, T_TOL, rep, sizeof rep), DY_OK);
  ck_assert_int_eq(dy_check_grad(dy_sum_elems(dy_apply(&op_bad, &a, 1, NULL)), T_STEP, T_TOL, rep, sizeof rep), DY_EGRAD);
  ck_assert_msg(strstr(rep, "variable") && strstr(rep, "analytic"), "%s", rep);
  for (int i = 0; i < 3; i++) ck_assert(gv[i] == 0); /* caller buffers untouched */
  ck_close(v[0], 0.5, 0);                            /* values restored */
  dy_graph_free(g);
}
END_TEST

static void count_hook(void *ctx, uint64_t key) { ((uint64_t *)ctx)[key]++; }

START_TEST(variable_hook_called) {
  dy_graph *g = dy_graph_new();
  dy_real v[2] = {1, 2}, gv[2] = {0};
  uint64_t seen[4] = {0};
  dy_expr a = dy_variable_hook(g, dy_d1(1), v, gv, count_hook, seen, 1);
  dy_expr b = dy_variable_hook(g, dy_d1(1), v + 1, gv + 1, count_hook, seen, 3);
  dy_expr unused = dy_variable_hook(g, dy_d1(1), v, gv, count_hook, seen, 2);
  (void)unused;
  ck_assert_int_eq(dy_backward(dy_cmult(a, b)), DY_OK);
  ck_assert_uint_eq(seen[1], 1);
  ck_assert_uint_eq(seen[3], 1);
  ck_assert_uint_eq(seen[2], 0);
  ck_close(gv[0], 2, 0);
  ck_close(gv[1], 1, 0);
  dy_graph_free(g);
}
END_TEST

/* A counting allocator: proves the steady state allocates nothing. */
typedef struct { uint64_t allocs, frees; } counter;
static void *c_alloc(void *ctx, size_t n) { ((counter *)ctx)->allocs++; return malloc(n); }
static void c_free(void *ctx, void *p) { if (p) ((counter *)ctx)->frees++; free(p); }

/* One "sentence": a chain of tanh-free affine/cmult steps of varying length. */
static dy_real one_sentence(dy_graph *g, dy_real *W, dy_real *gW, dy_real *b, dy_real *gb, int len) {
  dy_expr We = dy_variable(g, dy_d2(8, 8), W, gW), be = dy_variable(g, dy_d1(8), b, gb);
  dy_real x0[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  dy_expr h = dy_input(g, dy_d1(8), x0);
  for (int t = 0; t < len; t++) {
    dy_graph_set_tag(g, t);
    h = dy_mul_scalar(dy_affine(be, We, h), (dy_real)0.5);
  }
  dy_expr L = dy_sum_elems(dy_cmult(h, h));
  dy_real l = dy_scalar(L);
  ck_assert_int_eq(dy_backward(L), DY_OK);
  return l;
}

START_TEST(zero_mallocs_in_steady_state) {
  counter c = {0, 0};
  dy_allocator a = {c_alloc, c_free, &c};
  dy_graph *g = dy_graph_new_with(&a);
  dy_real W[64], gW[64] = {0}, b[8], gb[8] = {0};
  for (int i = 0; i < 64; i++) W[i] = (dy_real)((i % 7) - 3) * 0.05f;
  for (int i = 0; i < 8; i++) b[i] = 0.01f * i;
  /* warm-up with the longest example, then many of varying length */
  for (int it = 0; it < 5; it++) {
    dy_graph_renew(g);
    one_sentence(g, W, gW, b, gb, 400);
  }
  uint64_t before = c.allocs;
  dy_graph_stats st;
  dy_graph_get_stats(g, &st);
  ck_assert_uint_eq(st.mallocs, before);
  for (int it = 0; it < 300; it++) {
    dy_graph_renew(g);
    one_sentence(g, W, gW, b, gb, 1 + (it * 37) % 400);
  }
  ck_assert_msg(c.allocs == before, "%llu allocations in steady state",
                (unsigned long long)(c.allocs - before));
  dy_graph_free(g);
  ck_assert_uint_eq(c.allocs, c.frees); /* and nothing leaks */
}
END_TEST

START_TEST(arena_grows_then_consolidates) {
  counter c = {0, 0};
  dy_allocator a = {c_alloc, c_free, &c};
  dy_graph *g = dy_graph_new_with(&a);
  dy_real W[64] = {0}, gW[64] = {0}, b[8] = {0}, gb[8] = {0};
  one_sentence(g, W, gW, b, gb, 5000); /* needs several blocks */
  dy_graph_stats st;
  dy_graph_get_stats(g, &st);
  ck_assert_uint_gt(st.blocks, 3);
  dy_graph_renew(g); /* one block per arena afterwards */
  dy_graph_get_stats(g, &st);
  ck_assert_uint_le(st.blocks, 4);
  uint64_t before = c.allocs;
  one_sentence(g, W, gW, b, gb, 5000);
  ck_assert_uint_eq(c.allocs, before);
  dy_graph_free(g);
  ck_assert_uint_eq(c.allocs, c.frees);
}
END_TEST

START_TEST(renew_is_constant_time) {
  /* renew must not walk old nodes: poison every node, renew, and build anew */
  dy_graph *g = dy_graph_new();
  dy_real v[4] = {1, 2, 3, 4};
  dy_expr a = dy_input(g, dy_d1(4), v);
  for (int i = 0; i < 100000; i++) a = dy_add_scalar(a, 1);
  ck_close(dy_forward(a)[0], 100001, 0);
  memset(g->nodes, 0xff, (size_t)g->n * sizeof(dy_node));
  dy_graph_renew(g);
  dy_expr b = dy_input(g, dy_d1(4), v);
  ck_close(dy_forward(dy_add(b, b))[3], 8, 0);
  dy_graph_free(g);
}
END_TEST

static void *thread_train(void *arg) {
  dy_real *out = arg;
  dy_graph *g = dy_graph_new();
  dy_real W[64], gW[64] = {0}, b[8], gb[8] = {0};
  for (int i = 0; i < 64; i++) W[i] = (dy_real)((i % 5) - 2) * 0.1f;
  for (int i = 0; i < 8; i++) b[i] = 0.02f * i;
  dy_real l = 0;
  for (int it = 0; it < 200; it++) {
    dy_graph_renew(g);
    l += one_sentence(g, W, gW, b, gb, 10 + it % 20);
  }
  *out = l + gW[5];
  dy_graph_free(g);
  return NULL;
}

START_TEST(graphs_in_threads) {
  pthread_t t[2];
  dy_real r[2], single;
  for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, thread_train, &r[i]);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  thread_train(&single);
  ck_assert(r[0] == single && r[1] == single); /* bitwise the same as alone */
}
END_TEST

START_TEST(names_tags_and_stats) {
  dy_graph *g = dy_graph_new();
  dy_real v[2] = {1, 2};
  dy_graph_set_tag(g, 7);
  dy_expr a = dy_expr_set_name(dy_input(g, dy_d1(2), v), "x_7");
  ck_assert_str_eq(g->nodes[a.id].name, "x_7");
  ck_assert_int_eq(g->nodes[a.id].tag, 7);
  ck_assert_int_eq(dy_graph_tag(g), 7);
  dy_graph_stats st;
  dy_graph_get_stats(g, &st);
  ck_assert_uint_eq(st.nodes, 1);
  ck_assert_uint_gt(st.bytes_reserved, 0);
  dy_graph_renew(g);
  ck_assert_int_eq(dy_graph_tag(g), DY_NO_TAG);
  /* the RNG is seeded and reproducible */
  dy_graph_set_seed(g, 42);
  uint64_t r1 = dy_graph_rand(g);
  dy_graph_set_seed(g, 42);
  ck_assert_uint_eq(dy_graph_rand(g), r1);
  dy_graph_free(g);
}
END_TEST

START_TEST(bad_leaves) {
  dy_graph *g = dy_graph_new();
  ck_assert(!dy_expr_valid(dy_input(g, dy_d1(0), NULL)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  dy_graph_renew(g);
  dy_real v[1] = {0};
  ck_assert(!dy_expr_valid(dy_input(g, dy_d1(0), v)));
  ck_assert_msg(strstr(dy_graph_error(g), "{0}"), "%s", dy_graph_error(g));
  ck_assert(!dy_expr_valid(dy_input(NULL, dy_d1(1), v)));
  dy_graph_free(g);
}
END_TEST

int main(void) {
  Suite *s = suite_create("core");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, dims);
  tcase_add_test(t, leaves);
  tcase_add_test(t, lazy_incremental_forward);
  tcase_add_test(t, backward_accumulates_into_variables);
  tcase_add_test(t, backward_skips_dead_and_constant_paths);
  tcase_add_test(t, backward_batched_loss_sums);
  tcase_add_test(t, variable_gradients_go_to_their_buffers);
  tcase_add_test(t, backward_from_earlier_root_forgets_later_gradients);
  tcase_add_test(t, errors_are_sticky_and_named);
  tcase_add_test(t, stale_and_foreign_expressions);
  tcase_add_test(t, backward_needs_scalar);
  tcase_add_test(t, check_mode_names_first_nan);
  tcase_add_test(t, check_grad_catches_wrong_backward);
  tcase_add_test(t, variable_hook_called);
  tcase_add_test(t, zero_mallocs_in_steady_state);
  tcase_add_test(t, arena_grows_then_consolidates);
  tcase_add_test(t, renew_is_constant_time);
  tcase_add_test(t, graphs_in_threads);
  tcase_add_test(t, names_tags_and_stats);
  tcase_add_test(t, bad_leaves);
  suite_add_tcase(s, t);
  return t_run(s);
}
