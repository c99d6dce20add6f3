/* nn: models, names, initialisers, parameter and lookup nodes (values,
 * gradients, touched rows, errors), gradient checks through them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dy_nn.h"
#include "harness.h"

/* ------------------------------------------------------------ model basics */

START_TEST(model_names_and_scopes) {
  dy_model *m = dy_model_new(1);
  ck_assert_ptr_nonnull(m);
  ck_assert_ptr_null(dy_model_error(m));
  dy_param *W = dy_model_add_param(m, "W", dy_d2(3, 4), dy_init_glorot());
  ck_assert_ptr_nonnull(W);
  ck_assert_int_eq(dy_model_push(m, "tagger"), DY_OK);
  ck_assert_int_eq(dy_model_push(m, "fwd"), DY_OK);
  dy_param *Wx = dy_model_add_param(m, "W_x", dy_d2(2, 2), dy_init_glorot());
  dy_model_pop(m);
  dy_lookup *E = dy_model_add_lookup(m, "E", 10, dy_d1(3), dy_init_glorot());
  dy_model_pop(m);
  dy_model_pop(m); /* extra pop is harmless */
  dy_param *b = dy_model_add_param(m, "b", dy_d1(3), dy_init_const(0.5));
  ck_assert_ptr_nonnull(Wx);
  ck_assert_ptr_nonnull(E);
  ck_assert_ptr_nonnull(b);
  ck_assert_str_eq(dy_param_name(Wx), "tagger/fwd/W_x");
  ck_assert_str_eq(dy_lookup_name(E), "tagger/E");
  ck_assert_str_eq(dy_param_name(b), "b");
  ck_assert_ptr_eq(dy_model_find_param(m, "tagger/fwd/W_x"), Wx);
  ck_assert_ptr_eq(dy_model_find_lookup(m, "tagger/E"), E);
  ck_assert_ptr_null(dy_model_find_param(m, "tagger/E")); /* a lookup, not a dense parameter */
  ck_assert_ptr_null(dy_model_find_lookup(m, "W"));
  ck_assert_ptr_null(dy_model_find_param(m, "nope"));
  ck_assert_uint_eq(dy_model_num_params(m), 3);
  ck_assert_uint_eq(dy_model_num_lookups(m), 1);
  ck_assert_ptr_eq(dy_model_param_at(m, 1), Wx);
  ck_assert_ptr_eq(dy_model_lookup_at(m, 0), E);
  ck_assert_ptr_null(dy_model_param_at(m, 3));
  ck_assert_uint_eq(dy_model_size(m), 12 + 4 + 30 + 3);
  ck_assert_uint_eq(dy_lookup_rows(E), 10);
  ck_assert_uint_eq(dy_lookup_dim(E).d[0], 3);
  ck_assert_ptr_null(dy_lookup_row(E, 10));
  ck_assert_ptr_null(dy_lookup_row_grad(E, 10));
  ck_assert_ptr_nonnull(dy_lookup_row(E, 9));
  for (int i = 0; i < 3; i++) ck_assert(dy_param_values(b)[i] == (dy_real)0.5);

  /* errors: duplicate name, bad dims, zero rows, empty name */
  ck_assert_ptr_null(dy_model_add_param(m, "W", dy_d1(2), dy_init_glorot()));
  ck_assert_ptr_nonnull(strstr(dy_model_error(m), "'W' already exists"));
  ck_assert_ptr_null(dy_model_add_lookup(m, "b", 3, dy_d1(2), dy_init_glorot()));
  ck_assert_ptr_null(dy_model_add_param(m, "z", dy_d2(0, 3), dy_init_glorot()));
  ck_assert_ptr_nonnull(strstr(dy_model_error(m), "invalid dim"));
  ck_assert_ptr_null(dy_model_add_param(m, "z", dy_batch(dy_d1(3), 2), dy_init_glorot()));
  ck_assert_ptr_null(dy_model_add_lookup(m, "z", 0, dy_d1(3), dy_init_glorot()));
  ck_assert_ptr_nonnull(strstr(dy_model_error(m), "zero rows"));
  ck_assert_ptr_null(dy_model_add_param(m, "", dy_d1(3), dy_init_glorot()));
  ck_assert_int_eq(dy_model_push(m, ""), DY_EARG);
  ck_assert_uint_eq(dy_model_size(m), 49);
  dy_model_free(m);
  dy_model_free(NULL);
}
END_TEST

/* Values survive the growth of the flat buffers; many names stay findable. */
START_TEST(model_growth) {
  dy_model *m = dy_model_new(7);
  dy_param *first = dy_model_add_param(m, "first", dy_d2(5, 5), dy_init_uniform(-1, 1));
  dy_real keep[25];
  memcpy(keep, dy_param_values(first), sizeof keep);
  char name[32];
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "p%d", i);
    ck_assert_ptr_nonnull(dy_model_add_param(m, name, dy_d2(7, 11), dy_init_glorot()));
  }
  ck_assert_ptr_nonnull(dy_model_add_lookup(m, "big", 1000, dy_d1(16), dy_init_normal(0, 1)));
  for (int i = 0; i < 25; i++) ck_assert(dy_param_values(first)[i] == keep[i]);
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "p%d", i);
    dy_param *p = dy_model_find_param(m, name);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(dy_param_name(p), name);
  }
  ck_assert_uint_eq(dy_model_size(m), 25 + 300 * 77 + 16000);
  dy_model_free(m);
}
END_TEST

/* ------------------------------------------------------------ initialisers */

/* The initialiser RNG is the documented integer one: splitmix64 over a
 * counter starting at mix64(seed); uniform = top 53 bits / 2^53. */
START_TEST(init_deterministic) {
  dy_model *a = dy_model_new(42), *b = dy_model_new(42), *c = dy_model_new(43);
  dy_param *pa = dy_model_add_param(a, "u", dy_d1(64), dy_init_uniform(0, 1));
  dy_param *pb = dy_model_add_param(b, "u", dy_d1(64), dy_init_uniform(0, 1));
  dy_param *pc = dy_model_add_param(c, "u", dy_d1(64), dy_init_uniform(0, 1));
  uint64_t s = dy_mix64(42);
  int differ = 0;
  for (int i = 0; i < 64; i++) {
    double u = (double)(dy_mix64(s + (uint64_t)i) >> 11) * 0x1.0p-53;
    ck_assert(dy_param_values(pa)[i] == (dy_real)u);
    ck_assert(dy_param_values(pa)[i] == dy_param_values(pb)[i]);
    differ += dy_param_values(pa)[i] != dy_param_values(pc)[i];
  }
  ck_assert_int_gt(differ, 60);
  /* the next parameter continues the stream */
  dy_param *qa = dy_model_add_param(a, "n", dy_d2(4, 8), dy_init_normal(0, 1));
  dy_param *qb = dy_model_add_param(b, "n", dy_d2(4, 8), dy_init_normal(0, 1));
  ck_assert(memcmp(dy_param_values(qa), dy_param_values(qb), 32 * sizeof(dy_real)) == 0);
  dy_model_free(a);
  dy_model_free(b);
  dy_model_free(c);
}
END_TEST

START_TEST(init_distributions) {
  dy_model *m = dy_model_new(3);
  /* Glorot: matrix bound sqrt(6/(r+c)), vector sqrt(3/n), lookup row sqrt(3/d) */
  dy_param *W = dy_model_add_param(m, "W", dy_d2(40, 60), dy_init_glorot());
  dy_param *v = dy_model_add_param(m, "v", dy_d1(300), dy_init_glorot());
  dy_lookup *E = dy_model_add_lookup(m, "E", 50, dy_d1(12), dy_init_glorot());
  double bw = sqrt(6.0 / 100), bv = sqrt(3.0 / 300), be = sqrt(3.0 / 12);
  double mx = 0;
  for (int i = 0; i < 2400; i++) {
    double x = fabs(dy_param_values(W)[i]);
    ck_assert(x <= bw);
    if (x > mx) mx = x;
  }
  ck_assert(mx > 0.95 * bw); /* uses the full range */
  for (int i = 0; i < 300; i++) ck_assert(fabs(dy_param_values(v)[i]) <= bv);
  mx = 0;
  for (uint32_t r = 0; r < 50; r++)
    for (int j = 0; j < 12; j++) {
      double x = fabs(dy_lookup_row(E, r)[j]);
      ck_assert(x <= be);
      if (x > mx) mx = x;
    }
  ck_assert(mx > 0.9 * be);
  /* gain scales the bound */
  dy_init g2 = dy_init_glorot();
  g2.a = 2;
  dy_param *W2 = dy_model_add_param(m, "W2", dy_d2(40, 60), g2);
  mx = 0;
  for (int i = 0; i < 2400; i++) mx = fmax(mx, fabs(dy_param_values(W2)[i]));
  ck_assert(mx > 1.9 * bw && mx <= 2 * bw);
  /* uniform and normal moments */
  dy_param *u = dy_model_add_param(m, "u", dy_d1(20000), dy_init_uniform(2, 4));
  dy_param *n = dy_model_add_param(m, "n", dy_d1(20000), dy_init_normal(1, 3));
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < 20000; i++) {
    double x = dy_param_values(u)[i], y = dy_param_values(n)[i];
    ck_assert(x >= 2 && x < 4);
    su += x;
    sn += y;
    sn2 += y * y;
  }
  ck_close(su / 20000, 3, 0.02);
  double mean = sn / 20000, sd = sqrt(sn2 / 20000 - mean * mean);
  ck_close(mean, 1, 0.06);
  ck_close(sd, 3, 0.06);
  /* constant, identity */
  dy_param *c = dy_model_add_param(m, "c", dy_d2(3, 2), dy_init_const(-1.25));
  for (int i = 0; i < 6; i++) ck_assert(dy_param_values(c)[i] == (dy_real)-1.25);
  dy_param *I = dy_model_add_param(m, "I", dy_d2(4, 4), dy_init_identity());
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) ck_assert(dy_param_values(I)[i * 4 + j] == (i == j));
  dy_model_free(m);
}
END_TEST

/* Orthogonal: W W^T = gain^2 I for wide matrices, W^T W = gain^2 I for tall. */
static void check_orthogonal(dy_model *m, const char *name, uint32_t r, uint32_t c, double gain) {
  dy_param *p = dy_model_add_param(m, name, dy_d2(r, c), dy_init_orthogonal(gain));
  ck_assert_ptr_nonnull(p);
  const dy_real *W = dy_param_values(p);
  uint32_t k = r < c ? r : c;
  for (uint32_t a = 0; a < k; a++)
    for (uint32_t b = 0; b < k; b++) {
      double s = 0;
      if (r <= c)
        for (uint32_t j = 0; j < c; j++) s += (double)W[a * c + j] * W[b * c + j];
      else
        for (uint32_t i = 0; i < r; i++) s += (double)W[i * c + a] * W[i * c + b];
      ck_close(s, a == b ? gain * gain : 0, 1e-5 * gain * gain + T_EPS * 10);
    }
}

START_TEST(init_orthogonal_and_errors) {
  dy_model *m = dy_model_new(5);
  check_orthogonal(m, "sq", 8, 8, 1);
  check_orthogonal(m, "wide", 3, 10, 1);
  check_orthogonal(m, "tall", 12, 5, 2);
  check_orthogonal(m, "row", 1, 6, 1);
  ck_assert_ptr_null(dy_model_add_param(m, "i", dy_d2(3, 4), dy_init_identity()));
  ck_assert_ptr_nonnull(strstr(dy_model_error(m), "'i': identity initialiser needs a square matrix"));
  ck_assert_ptr_null(dy_model_add_param(m, "o", dy_d1(3), dy_init_orthogonal(1)));
  ck_assert_ptr_nonnull(strstr(dy_model_error(m), "orthogonal"));
  ck_assert_ptr_null(dy_model_add_param(m, "u", dy_d1(3), dy_init_uniform(1, 0)));
  ck_assert_ptr_null(dy_model_add_param(m, "n", dy_d1(3), dy_init_normal(0, -1)));
  dy_init bad = {(dy_init_kind)99, 0, 0};
  ck_assert_ptr_null(dy_model_add_param(m, "k", dy_d1(3), bad));
  /* a failed initialiser leaves no trace: the name is free, the size unchanged */
  size_t sz = dy_model_size(m);
  ck_assert_ptr_null(dy_model_find_param(m, "i"));
  ck_assert_ptr_nonnull(dy_model_add_param(m, "i", dy_d2(3, 3), dy_init_identity()));
  ck_assert_uint_eq(dy_model_size(m), sz + 9);
  ck_assert_ptr_nonnull(dy_model_find_param(m, "sq"));
  ck_assert_ptr_nonnull(dy_model_find_param(m, "tall"));
  /* a lookup as a (rows, row size) matrix */
  dy_lookup *E = dy_model_add_lookup(m, "E", 4, dy_d1(9), dy_init_orthogonal(1));
  ck_assert_ptr_nonnull(E);
  for (uint32_t a = 0; a < 4; a++)
    for (uint32_t b = 0; b < 4; b++) {
      double s = 0;
      for (int j = 0; j < 9; j++) s += (double)dy_lookup_row(E, a)[j] * dy_lookup_row(E, b)[j];
      ck_close(s, a == b, 1e-5);
    }
  dy_model_free(m);
}
END_TEST

/* ------------------------------------------------------------- graph nodes */

START_TEST(param_nodes) {
  dy_model *m = dy_model_new(1);
  dy_param *W = dy_model_add_param(m, "W", dy_d2(2, 3), dy_init_uniform(-1, 1));
  dy_graph *g = dy_graph_new();
  dy_expr w = dy_param_expr(g, W);
  const dy_real *v = dy_forward(w);
  ck_assert_ptr_nonnull(v);
  for (int i = 0; i < 6; i++) ck_assert(v[i] == dy_param_values(W)[i]);
  /* loss = sum(W .* W): dL/dW = 2W, accumulated over two backwards */
  dy_expr loss = dy_sum_elems(dy_cmult(w, w));
  ck_assert_int_eq(dy_backward(loss), DY_OK);
  ck_assert_int_eq(dy_backward(loss), DY_OK);
  for (int i = 0; i < 6; i++) ck_close(dy_param_grads(W)[i], 4 * dy_param_values(W)[i], 1e-6);
  double n2 = 0;
  for (int i = 0; i < 6; i++) n2 += pow(4 * dy_param_values(W)[i], 2);
  ck_close(dy_model_grad_norm(m), sqrt(n2), 1e-5);
  dy_model_zero_grads(m);
  ck_assert(dy_model_grad_norm(m) == 0);
  /* a constant parameter node gets no gradient */
  dy_graph_renew(g);
  dy_expr c = dy_const_param_expr(g, W);
  dy_expr l2 = dy_sum_elems(dy_cmult(c, dy_param_expr(g, W)));
  ck_assert_int_eq(dy_backward(l2), DY_OK);
  for (int i = 0; i < 6; i++) ck_close(dy_param_grads(W)[i], dy_param_values(W)[i], 1e-6);
  /* NULL parameter: a graph error, not a crash */
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_param_expr(g, NULL)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  dy_graph_free(g);
  dy_model_free(m);
}
END_TEST

START_TEST(lookup_nodes_touch) {
  dy_model *m = dy_model_new(2);
  dy_lookup *E = dy_model_add_lookup(m, "emb", 6, dy_d1(3), dy_init_uniform(-1, 1));
  dy_graph *g = dy_graph_new();
  dy_real wv[3] = {1, 2, 3};
  dy_expr w = dy_input(g, dy_d1(3), wv);
  /* rows 4, 1, 4 (4 twice), row 2 as a constant */
  dy_expr xs[4] = {dy_lookup_expr(g, E, 4), dy_lookup_expr(g, E, 1), dy_lookup_expr(g, E, 4),
                   dy_const_lookup(g, E, 2)};
  const dy_real *v = dy_forward(xs[1]);
  for (int j = 0; j < 3; j++) ck_assert(v[j] == dy_lookup_row(E, 1)[j]);
  dy_expr loss = dy_dot(dy_sum(xs, 4), w);
  ck_assert_int_eq(dy_backward(loss), DY_OK);
  ck_assert_uint_eq(dy_lookup_num_touched(E), 2);
  ck_assert_uint_eq(dy_lookup_touched(E)[0], 4);
  ck_assert_uint_eq(dy_lookup_touched(E)[1], 1);
  for (int j = 0; j < 3; j++) {
    ck_close(dy_lookup_row_grad(E, 4)[j], 2 * wv[j], 0);
    ck_close(dy_lookup_row_grad(E, 1)[j], wv[j], 0);
    ck_assert(dy_lookup_row_grad(E, 2)[j] == 0);
    ck_assert(dy_lookup_row_grad(E, 0)[j] == 0);
  }
  ck_close(dy_model_grad_norm(m), sqrt(5.0 * 14), 1e-5);
  dy_model_zero_grads(m);
  ck_assert_uint_eq(dy_lookup_num_touched(E), 0);
  ck_assert(dy_lookup_row_grad(E, 4)[0] == 0);
  /* out of range: a DY_EINDEX graph error naming the lookup, row and rows */
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_lookup_expr(g, E, 6)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "'emb'"));
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "row 6"));
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "6 rows"));
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_const_lookup(g, E, 100)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  dy_graph_renew(g);
  uint32_t bad[3] = {0, 5, 9};
  ck_assert(!dy_expr_valid(dy_lookup_batch(g, E, bad, 3)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "'emb'"));
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "= 9"));
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "6 rows"));
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_lookup_batch(g, E, bad, 0)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_lookup_expr(g, NULL, 0)));
  dy_graph_free(g);
  dy_model_free(m);
}
END_TEST

/* loss = sum_k sum_j w_kj x_kj^2 over the batch of rows. */
static dy_expr batch_loss(dy_graph *g, dy_expr b, const dy_real *w) {
  dy_expr sq = dy_cmult(b, b);
  return dy_sum_batches(dy_sum_elems(dy_cmult(sq, dy_input(g, dy_expr_dim(b), w))));
}

/* lookup_batch: values; gradients equal to the rows looked up one by one and
 * to central finite differences over the table; rows recorded once. */
START_TEST(lookup_batch_matches_rows) {
  dy_model *m = dy_model_new(9);
  dy_lookup *E = dy_model_add_lookup(m, "E", 7, dy_d2(2, 2), dy_init_uniform(-1, 1));
  dy_graph *g = dy_graph_new();
  uint32_t rows[5] = {3, 0, 3, 6, 2};
  dy_real wv[20];
  t_rng r = {5};
  t_fill(&r, wv, 20, -1, 1, 0.1);
  dy_expr b = dy_lookup_batch(g, E, rows, 5);
  dy_dim bd = dy_expr_dim(b);
  ck_assert_uint_eq(bd.bd, 5);
  ck_assert_uint_eq(bd.nd, 2);
  ck_assert_uint_eq(bd.d[0], 2);
  ck_assert_uint_eq(bd.d[1], 2);
  const dy_real *v = dy_forward(b);
  for (int k = 0; k < 5; k++)
    for (int j = 0; j < 4; j++) ck_assert(v[k * 4 + j] == dy_lookup_row(E, rows[k])[j]);
  ck_assert_int_eq(dy_backward(batch_loss(g, b, wv)), DY_OK);
  ck_assert_uint_eq(dy_lookup_num_touched(E), 4);
  dy_real gb[28];
  memcpy(gb, dy_lookup_row_grad(E, 0), sizeof gb);
  /* the same with one lookup node per row */
  dy_model_zero_grads(m);
  dy_graph_renew(g);
  dy_expr parts[5];
  for (int k = 0; k < 5; k++) {
    dy_expr x = dy_lookup_expr(g, E, rows[k]);
    parts[k] = dy_sum_elems(dy_cmult(dy_cmult(x, x), dy_input(g, dy_d2(2, 2), wv + 4 * k)));
  }
  ck_assert_int_eq(dy_backward(dy_sum(parts, 5)), DY_OK);
  for (int i = 0; i < 28; i++) ck_close(gb[i], dy_lookup_row_grad(E, 0)[i], 1e-6);
  for (int j = 0; j < 4; j++) {
    ck_assert(gb[4 * 1 + j] == 0); /* row 1 untouched */
    ck_assert(gb[4 * 5 + j] == 0);
    ck_close(gb[4 * 3 + j], 2 * dy_lookup_row(E, 3)[j] * (wv[j] + wv[8 + j]), 1e-5);
  }
  /* finite differences over every table entry */
  dy_real *tab = dy_lookup_row(E, 0);
  for (int i = 0; i < 28; i++) {
    dy_real keep = tab[i];
    double f[2];
    for (int s = 0; s < 2; s++) {
      tab[i] = keep + (s ? -T_STEP : T_STEP);
      dy_graph_renew(g);
      f[s] = dy_scalar(batch_loss(g, dy_lookup_batch(g, E, rows, 5), wv));
    }
    tab[i] = keep;
    double num = (f[0] - f[1]) / (2 * (double)T_STEP);
    ck_assert_msg(fabs(num - gb[i]) <= T_TOL * fmax(1, fabs(num)), "entry %d: analytic %g numeric %g", i,
                  (double)gb[i], num);
  }
  dy_graph_free(g);
  dy_model_free(m);
}
END_TEST

/* dy_check_grad through parameter and lookup nodes: an affine layer over
 * looked-up rows, squared, weighted. lookup_batch leaves the model alone
 * under the check (its own gradient is tested above). */
START_TEST(gradcheck_through_params) {
  dy_model *m = dy_model_new(11);
  dy_param *W = dy_model_add_param(m, "W", dy_d2(3, 4), dy_init_glorot());
  dy_param *bias = dy_model_add_param(m, "b", dy_d1(3), dy_init_uniform(-0.5, 0.5));
  dy_lookup *E = dy_model_add_lookup(m, "E", 5, dy_d1(4), dy_init_uniform(-1, 1));
  dy_graph *g = dy_graph_new();
  dy_real wv[3] = {0.3f, -0.7f, 1.1f};
  dy_expr w = dy_input(g, dy_d1(3), wv);
  dy_expr xs[3] = {dy_lookup_expr(g, E, 1), dy_lookup_expr(g, E, 3), dy_lookup_expr(g, E, 1)};
  dy_expr h = dy_affine(dy_param_expr(g, bias), dy_param_expr(g, W), dy_sum(xs, 3));
  uint32_t rows[2] = {0, 4};
  dy_expr hb = dy_affine(dy_param_expr(g, bias), dy_param_expr(g, W), dy_lookup_batch(g, E, rows, 2));
  dy_expr loss = dy_add(dy_dot(dy_cmult(h, h), w), dy_sum_batches(dy_dot(dy_cmult(hb, hb), w)));
  char rep[512];
  dy_status st = dy_check_grad(loss, T_STEP, T_TOL, rep, sizeof rep);
  ck_assert_msg(st == DY_OK, "%s", st == DY_EGRAD ? rep : dy_graph_error(g));
  /* the model's gradients were left alone by the check */
  ck_assert(dy_model_grad_norm(m) == 0);
  for (uint32_t r = 0; r < 5; r++)
    for (int j = 0; j < 4; j++) ck_assert(dy_lookup_row_grad(E, r)[j] == 0);
  dy_graph_free(g);
  dy_model_free(m);
}
END_TEST

/* -------------------------------------------------------------------- SGD */

START_TEST(sgd_step_exact) {
  dy_model *m = dy_model_new(1);
  dy_param *x = dy_model_add_param(m, "x", dy_d1(3), dy_init_uniform(-1, 1));
  dy_trainer *t = dy_sgd_new(m, 0);
  ck_assert(dy_trainer_lr(t) == (dy_real)0.1); /* DyNet's default */
  dy_trainer_set_lr(t, 0.25);
  dy_graph *g = dy_graph_new();
  dy_real x0[3];
  memcpy(x0, dy_param_values(x), sizeof x0);
  /* f = sum x^2, grad 2x (norm < 5: no clipping) */
  dy_expr e = dy_param_expr(g, x);
  double f0 = dy_scalar(dy_sum_elems(dy_cmult(e, e)));
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_cmult(e, e))), DY_OK);
  ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  for (int i = 0; i < 3; i++) ck_close(dy_param_values(x)[i], x0[i] - 0.25 * 2 * x0[i], 1e-6);
  ck_assert(dy_model_grad_norm(m) == 0);
  ck_assert_uint_eq(dy_trainer_steps(t), 1);
  dy_graph_renew(g);
  e = dy_param_expr(g, x);
  ck_assert(dy_scalar(dy_sum_elems(dy_cmult(e, e))) < f0);
  dy_graph_free(g);
  dy_trainer_free(t);
  dy_model_free(m);
}
END_TEST

/* Sparse and dense SGD give identical values, lookups and dense parameters. */
START_TEST(sgd_sparse_equals_dense) {
  dy_model *ms[2];
  for (int s = 0; s < 2; s++) {
    dy_model *m = ms[s] = dy_model_new(21);
    dy_lookup *E = dy_model_add_lookup(m, "E", 50, dy_d1(4), dy_init_uniform(-1, 1));
    dy_param *W = dy_model_add_param(m, "W", dy_d2(2, 4), dy_init_glorot());
    dy_trainer *t = dy_sgd_new(m, 0.3);
    dy_trainer_set_sparse(t, s);
    dy_graph *g = dy_graph_new();
    t_rng r = {77};
    for (int it = 0; it < 30; it++) {
      dy_graph_renew(g);
      uint32_t rows[3];
      for (int k = 0; k < 3; k++) rows[k] = (uint32_t)(t_next(&r) % 50);
      dy_expr xs[2] = {dy_lookup_expr(g, E, rows[0]), dy_lookup_expr(g, E, rows[1])};
      dy_expr h = dy_matmul(dy_param_expr(g, W), dy_sum(xs, 2));
      dy_expr hb = dy_matmul(dy_param_expr(g, W), dy_lookup_batch(g, E, rows + 2, 1));
      dy_expr loss = dy_add(dy_sum_elems(dy_cmult(h, h)), dy_sum_batches(dy_sum_elems(dy_cmult(hb, hb))));
      ck_assert_int_eq(dy_backward(loss), DY_OK);
      ck_assert_int_eq(dy_trainer_update(t), DY_OK);
    }
    dy_graph_free(g);
    dy_trainer_free(t);
  }
  ck_assert_uint_eq(dy_model_size(ms[0]), dy_model_size(ms[1]));
  for (uint32_t r = 0; r < 50; r++)
    for (int j = 0; j < 4; j++)
      ck_assert(dy_lookup_row(dy_model_lookup_at(ms[0], 0), r)[j] ==
                dy_lookup_row(dy_model_lookup_at(ms[1], 0), r)[j]);
  for (int j = 0; j < 8; j++)
    ck_assert(dy_param_values(dy_model_param_at(ms[0], 0))[j] == dy_param_values(dy_model_param_at(ms[1], 0))[j]);
  dy_model_free(ms[0]);
  dy_model_free(ms[1]);
}
END_TEST

/* Frozen parameters and lookups get no update; their gradients are cleared. */
START_TEST(frozen_no_update) {
  dy_model *m = dy_model_new(4);
  dy_param *a = dy_model_add_param(m, "a", dy_d1(2), dy_init_const(1));
  dy_param *b = dy_model_add_param(m, "b", dy_d1(2), dy_init_const(1));
  dy_lookup *E = dy_model_add_lookup(m, "E", 3, dy_d1(2), dy_init_const(1));
  dy_param_set_frozen(b, 1);
  dy_lookup_set_frozen(E, 1);
  ck_assert_int_eq(dy_param_frozen(b), 1);
  ck_assert_int_eq(dy_param_frozen(a), 0);
  ck_assert_int_eq(dy_lookup_frozen(E), 1);
  dy_trainer *t = dy_sgd_new(m, 0.5);
  dy_graph *g = dy_graph_new();
  dy_expr xs[3] = {dy_param_expr(g, a), dy_param_expr(g, b), dy_lookup_expr(g, E, 1)};
  ck_assert_int_eq(dy_backward(dy_sum_elems(dy_sum(xs, 3))), DY_OK);
  ck_assert(dy_param_grads(b)[0] == 1); /* computed */
  ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  ck_close(dy_param_values(a)[0], 0.5, 0);
  ck_assert(dy_param_values(b)[0] == 1);
  ck_assert(dy_lookup_row(E, 1)[0] == 1);
  ck_assert(dy_param_grads(b)[0] == 0);
  ck_assert(dy_lookup_row_grad(E, 1)[0] == 0);
  ck_assert_uint_eq(dy_lookup_num_touched(E), 0);
  ck_close(dy_trainer_last_grad_norm(t), sqrt(2.0), 1e-6); /* only a counts */
  dy_graph_free(g);
  dy_trainer_free(t);
  dy_model_free(m);
}
END_TEST

/* ------------------------------------------------- steady state: no malloc */

typedef struct { long n; } counter;
static void *c_alloc(void *ctx, size_t n) { ((counter *)ctx)->n++; return malloc(n); }
static void c_free(void *ctx, void *p) { (void)ctx; free(p); }

static void train_loop(dy_trainer *t, dy_graph *g, dy_param *W, dy_param *bias, dy_lookup *E, int iters,
                       t_rng *r) {
  for (int it = 0; it < iters; it++) {
    dy_graph_renew(g);
    uint32_t rows[4];
    for (int k = 0; k < 4; k++) rows[k] = (uint32_t)(t_next(r) % 100);
    dy_expr xs[3] = {dy_lookup_expr(g, E, rows[0]), dy_lookup_expr(g, E, rows[1]),
                     dy_lookup_expr(g, E, rows[2])};
    dy_expr h = dy_affine(dy_param_expr(g, bias), dy_param_expr(g, W), dy_sum(xs, 3));
    dy_expr hb = dy_affine(dy_param_expr(g, bias), dy_param_expr(g, W), dy_lookup_batch(g, E, rows, 4));
    dy_expr loss = dy_add(dy_sum_elems(dy_cmult(h, h)), dy_sum_batches(dy_sum_elems(dy_cmult(hb, hb))));
    ck_assert_int_eq(dy_backward(loss), DY_OK);
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  }
}

START_TEST(no_malloc_steady_state) {
  for (int kind = 0; kind < 5; kind++) {
    counter c = {0};
    dy_allocator a = {c_alloc, c_free, &c};
    dy_model *m = dy_model_new_with(3, &a);
    dy_param *W = dy_model_add_param(m, "W", dy_d2(8, 6), dy_init_glorot());
    dy_param *bias = dy_model_add_param(m, "b", dy_d1(8), dy_init_const(0));
    dy_lookup *E = dy_model_add_lookup(m, "E", 100, dy_d1(6), dy_init_glorot());
    dy_trainer *t = kind == 0 ? dy_sgd_new(m, 0.01)
                    : kind == 1 ? dy_momentum_sgd_new(m, 0.01, 0.9)
                    : kind == 2 ? dy_adagrad_new(m, 0.01, 1e-8)
                    : kind == 3 ? dy_rmsprop_new(m, 0.01, 0.9, 1e-8)
                                : dy_adam_new(m, 0.01, 0.9, 0.999, 1e-8);
    if (kind == 4) dy_trainer_set_amsgrad(t, 1);
    dy_graph *g = dy_graph_new_with(&a);
    t_rng r = {1};
    train_loop(t, g, W, bias, E, 5, &r);
    long before = c.n;
    train_loop(t, g, W, bias, E, 50, &r);
    ck_assert_msg(c.n == before, "trainer %d: %ld allocations in 50 steady steps", kind, c.n - before);
    ck_assert_uint_eq(dy_trainer_steps(t), 55);
    dy_graph_free(g);
    dy_trainer_free(t);
    dy_model_free(m);
  }
}
END_TEST

/* ------------------------------------------- stale parameter nodes (issue 7)
 * A node built on the model's storage, then a parameter added (the storage
 * moves), then forward or backward: DY_ESTALE naming the parameter, never a
 * read or write of freed memory (ASan), no gradient from that backward. */

static void expect_stale(dy_graph *g, const char *name, const char *when) {
  ck_assert_int_eq(dy_graph_status(g), DY_ESTALE);
  const char *e = dy_graph_error(g);
  ck_assert_ptr_nonnull(e);
  ck_assert_msg(strstr(e, name) && strstr(e, when) && strstr(e, "renew") && strstr(e, "added"), "message: %s", e);
}

/* Adds parameters until the model's storage has moved (its first buffer holds 1024 scalars). */
static void grow_storage(dy_model *m, const char *name) {
  ck_assert_ptr_nonnull(dy_model_add_param(m, name, dy_d2(64, 64), dy_init_const(1)));
}

START_TEST(stale_param_nodes) {
  for (int kind = 0; kind < 4; kind++) { /* param, lookup row, const param, const lookup row */
    dy_model *m = dy_model_new(1);
    dy_param *W = dy_model_add_param(m, "enc/W", dy_d1(3), dy_init_uniform(-1, 1));
    dy_lookup *E = dy_model_add_lookup(m, "enc/E", 4, dy_d1(3), dy_init_uniform(-1, 1));
    dy_param *b = dy_model_add_param(m, "b", dy_d1(3), dy_init_uniform(-1, 1));
    const char *name = kind % 2 ? "enc/E" : "enc/W";
    dy_graph *g = dy_graph_new();
    dy_expr x = kind == 0 ? dy_param_expr(g, W)
                : kind == 1 ? dy_lookup_expr(g, E, 2)
                : kind == 2 ? dy_const_param_expr(g, W)
                            : dy_const_lookup(g, E, 2);
    dy_expr L = dy_sum_elems(dy_cmult(x, dy_param_expr(g, b)));
    grow_storage(m, "late");
    const dy_real *v = dy_forward(L);
    expect_stale(g, name, "forward");
    ck_assert(v == NULL || isnan(v[0]));
    ck_assert_int_eq(dy_backward(L), DY_ESTALE);
    ck_assert(dy_model_grad_norm(m) == 0); /* not even b's gradient */
    ck_assert_uint_eq(dy_lookup_num_touched(E), 0);
    /* renewed and built again: works, on the new storage */
    dy_graph_renew(g);
    x = kind == 0 ? dy_param_expr(g, W) : kind == 1 ? dy_lookup_expr(g, E, 2)
        : kind == 2 ? dy_const_param_expr(g, W) : dy_const_lookup(g, E, 2);
    L = dy_sum_elems(dy_cmult(x, dy_param_expr(g, b)));
    ck_assert(isfinite(dy_scalar(L)));
    ck_assert_int_eq(dy_backward(L), DY_OK);
    ck_assert_ptr_null(dy_graph_error(g));
    const dy_real *xv = kind % 2 ? dy_lookup_row(E, 2) : dy_param_values(W);
    for (int i = 0; i < 3; i++) ck_assert(dy_param_grads(b)[i] == xv[i]);
    if (kind == 1) ck_assert_uint_eq(dy_lookup_num_touched(E), 1);
    dy_graph_free(g);
    dy_model_free(m);
  }
}
END_TEST

/* Backward with no forward before it: the forward it runs meets the stale node,
 * and backward returns that status (not DY_OK) and adds no gradient. */
START_TEST(stale_param_nodes_backward_first) {
  dy_model *m = dy_model_new(1);
  dy_param *W = dy_model_add_param(m, "enc/W", dy_d1(3), dy_init_uniform(-1, 1));
  dy_param *b = dy_model_add_param(m, "b", dy_d1(3), dy_init_uniform(-1, 1));
  dy_graph *g = dy_graph_new();
  dy_expr w = dy_param_expr(g, W); /* node 0: the first stale node forward meets */
  dy_expr L = dy_sum_elems(dy_cmult(w, dy_param_expr(g, b)));
  grow_storage(m, "late");
  ck_assert_int_eq(dy_backward(L), DY_ESTALE);
  expect_stale(g, "'enc/W'", "forward");
  ck_assert(dy_model_grad_norm(m) == 0);
  dy_graph_free(g);
  dy_model_free(m);
}
END_TEST

/* Forward on the old storage, parameters added, then backward alone: the
 * node's hook names it; its gradient went to the kept old buffer (no write to
 * freed memory) and is not in the model's. A second storage move while nodes
 * live keeps both old buffers; all freed with the model (LeakSanitizer). */
START_TEST(stale_param_nodes_in_backward) {
  for (int lookup = 0; lookup < 2; lookup++) {
    dy_model *m = dy_model_new(1);
    dy_param *W = dy_model_add_param(m, "W", dy_d1(3), dy_init_uniform(-1, 1));
    dy_lookup *E = dy_model_add_lookup(m, "E", 4, dy_d1(3), dy_init_uniform(-1, 1));
    dy_graph *g = dy_graph_new();
    dy_expr L = dy_sum_elems(lookup ? dy_lookup_expr(g, E, 1) : dy_param_expr(g, W));
    ck_assert(isfinite(dy_scalar(L)));
    grow_storage(m, "late");
    dy_backward(L);
    expect_stale(g, lookup ? "'E'" : "'W'", "backward");
    ck_assert(dy_model_grad_norm(m) == 0);
    ck_assert_uint_eq(dy_lookup_num_touched(E), 0);
    /* a node built after the first move, then a second move */
    dy_graph_renew(g);
    L = dy_sum_elems(dy_param_expr(g, W));
    grow_storage(m, "later");
    dy_forward(L);
    expect_stale(g, "'W'", "forward");
    dy_graph_free(g);
    dy_model_free(m);
  }
}
END_TEST

/* The gap session 2 left: forward on the old storage, parameters added, a new
 * node built on the new storage, then backward over both. Backward refuses
 * up front (the stale node's check), so the new node's parameter gets no
 * gradient either; renewed, the same graph trains again. */
START_TEST(stale_param_nodes_refused_before_any_gradient) {
  dy_model *m = dy_model_new(1);
  dy_param *W = dy_model_add_param(m, "W", dy_d1(3), dy_init_uniform(-1, 1));
  dy_param *c = dy_model_add_param(m, "c", dy_d1(3), dy_init_uniform(-1, 1));
  dy_graph *g = dy_graph_new();
  dy_expr x = dy_param_expr(g, W);
  ck_assert(isfinite(dy_scalar(dy_sum_elems(x))));
  grow_storage(m, "late");
  dy_expr y = dy_param_expr(g, c); /* built on the new storage: not stale */
  dy_expr L = dy_sum_elems(dy_add(dy_cmult(y, y), x));
  ck_assert_int_eq(dy_backward(L), DY_ESTALE);
  expect_stale(g, "'W'", "backward");
  for (int i = 0; i < 3; i++) ck_assert(dy_param_grads(c)[i] == 0);
  ck_assert(dy_model_grad_norm(m) == 0);
  /* a stale node built after the root is not part of its backward */
  dy_graph_renew(g);
  dy_real v[3] = {1, 2, 3}, dv[3] = {0, 0, 0};
  dy_expr L2 = dy_sum_elems(dy_variable(g, dy_d1(3), v, dv));
  dy_expr late = dy_param_expr(g, c);
  ck_assert(dy_expr_valid(late));
  grow_storage(m, "later"); /* late is stale now */
  ck_assert(isfinite(dy_scalar(L2)));
  ck_assert_int_eq(dy_backward(L2), DY_OK);
  for (int i = 0; i < 3; i++) ck_assert(dv[i] == 1);
  ck_assert_int_eq(dy_backward(dy_sum_elems(late)), DY_ESTALE);
  dy_graph_free(g);
  dy_model_free(m);
}
END_TEST

/* Loading into a model does not move its storage: nodes built before the
 * load stay valid and a forward after it reads the loaded values; parameters
 * added before any node is built never make anything stale. */
START_TEST(load_while_nodes_alive) {
  char path[] = "/tmp/dync_test_nn_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  dy_model *m = dy_model_new(1);
  dy_param *W = dy_model_add_param(m, "W", dy_d1(3), dy_init_const(2));
  ck_assert_int_eq(dy_model_save(m, NULL, path), DY_OK);
  dy_param_values(W)[0] = 5;
  dy_graph *g = dy_graph_new();
  dy_expr L = dy_sum_elems(dy_param_expr(g, W));
  ck_assert_int_eq(dy_model_load(m, NULL, path, NULL), DY_OK);
  ck_assert(dy_scalar(L) == 6);
  ck_assert_int_eq(dy_backward(L), DY_OK);
  ck_assert(dy_param_grads(W)[0] == 1);
  ck_assert_ptr_null(dy_graph_error(g));
  dy_graph_free(g);
  dy_model_free(m);
  remove(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("nn");
  TCase *tc = tcase_create("nn");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, model_names_and_scopes);
  tcase_add_test(tc, model_growth);
  tcase_add_test(tc, init_deterministic);
  tcase_add_test(tc, init_distributions);
  tcase_add_test(tc, init_orthogonal_and_errors);
  tcase_add_test(tc, param_nodes);
  tcase_add_test(tc, lookup_nodes_touch);
  tcase_add_test(tc, lookup_batch_matches_rows);
  tcase_add_test(tc, gradcheck_through_params);
  tcase_add_test(tc, sgd_step_exact);
  tcase_add_test(tc, sgd_sparse_equals_dense);
  tcase_add_test(tc, frozen_no_update);
  tcase_add_test(tc, no_malloc_steady_state);
  tcase_add_test(tc, stale_param_nodes);
  tcase_add_test(tc, stale_param_nodes_in_backward);
  tcase_add_test(tc, stale_param_nodes_backward_first);
  tcase_add_test(tc, stale_param_nodes_refused_before_any_gradient);
  tcase_add_test(tc, load_while_nodes_alive);
  suite_add_tcase(s, tc);
  return t_run(s);
}
