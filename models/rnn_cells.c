/* Fused RNN cell ops: the LSTM gate activations, c_t and h_t, and the whole
 * GRU cell, each one node (equations in dy_models.h). Every op works per batch
 * element; an argument of batch 1 is broadcast (stride 0) and its gradient
 * summed over the batch. lstm_h reads tanh(c) back from its output; gru_cell
 * keeps its gates in graph data (allocated when the node is built). */
#include <string.h>

#include "dy_kernels.h"
#include "dy_models.h"
#include "dy_op.h"
#include "vmath.h"

/* ================================================================ helpers */

/* Elements per batch element of a, or 0 when a has batch 1 (broadcast). */
static inline size_t bstride(const dy_node *a) {
  return a->dim.bd == 1 ? 0 : dy_dim_per_batch(a->dim);
}

/* Activations: ops/vmath.h's branch-free exp/tanh (~1 ulp in float builds,
 * libm in double builds), so the loops below vectorise. */
static inline dy_real sigm(dy_real x) { return dy_vsigmoid(x); }
static inline dy_real fast_tanh(dy_real x) { return dy_vtanh(x); }

/* Checks that argument i is a vector (a column {n}) of n elements. */
static int want_vec(dy_graph *g, dy_node *n, uint32_t i, uint32_t len, const char *what) {
  const dy_node *a = dy_arg(g, n, i);
  if (a->dim.nd != 1 || a->dim.d[0] != len) {
    char db[64];
    return dy_fail_shape(g, n, "argument %u (%s) has dim %s but must be a vector {%u}",
                         (unsigned)i, what, dy_dim_str(a->dim, db, sizeof db), (unsigned)len);
  }
  return 0;
}

/* Output batch of all arguments (each equal to it or 1); 0 if they conflict. */
static uint32_t common_batch(dy_graph *g, const dy_node *n) {
  uint32_t bd = 1;
  for (uint32_t i = 0; i < n->nargs; i++) {
    uint32_t b = dy_arg(g, n, i)->dim.bd;
    if (b == 1 || b == bd) continue;
    if (bd != 1) return 0;
    bd = b;
  }
  return bd;
}

static int set_out(dy_graph *g, dy_node *n, uint32_t len) {
  uint32_t bd = common_batch(g, n);
  if (!bd) return dy_fail_shape(g, n, "batch sizes differ; they must be equal or 1");
  n->dim = dy_batch(dy_d1(len), bd);
  return 0;
}

/* ============================================================ lstm_gates */
/* y = [sigmoid(a[0:3H]); tanh(a[3H:4H])] */

static int gates_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  if (a->dim.nd != 1 || a->dim.d[0] % 4 != 0) {
    char db[64];
    return dy_fail_shape(g, n, "the gate pre-activations have dim %s; they must be a vector {4H}",
                         dy_dim_str(a->dim, db, sizeof db));
  }
  n->dim = a->dim;
  return 0;
}

/* The loops are vmath.h clones (AVX-512/AVX2/baseline, the same bits). */
DY_VM_CLONE_VOID(gates_fwd_loop, (const dy_real *restrict x, dy_real *restrict y, size_t m, uint32_t bd),
                 (x, y, m, bd)) {
  size_t h3 = m / 4 * 3;
  for (uint32_t k = 0; k < bd; k++, x += m, y += m) {
    for (size_t j = 0; j < h3; j++) y[j] = sigm(x[j]);
    for (size_t j = h3; j < m; j++) y[j] = fast_tanh(x[j]);
  }
}

static void gates_fwd(dy_graph *g, dy_node *n) {
  gates_fwd_loop(dy_arg(g, n, 0)->val, n->val, dy_dim_per_batch(n->dim), n->dim.bd);
}

/* da (+)= dy * s(1-s) on the sigmoid rows, dy * (1-t^2) on the tanh rows
 * (written when da is fresh: the argument has the node's dim, no broadcast) */
DY_VM_CLONE_VOID(gates_bwd_loop,
                 (const dy_real *restrict y, const dy_real *restrict dy, dy_real *restrict da, size_t m,
                  uint32_t bd, int fresh),
                 (y, dy, da, m, bd, fresh)) {
  size_t h3 = m / 4 * 3;
  for (uint32_t k = 0; k < bd; k++, y += m, dy += m, da += m) {
    if (fresh) {
      for (size_t j = 0; j < h3; j++) da[j] = dy[j] * y[j] * (1 - y[j]);
      for (size_t j = h3; j < m; j++) da[j] = dy[j] * (1 - y[j] * y[j]);
    } else {
      for (size_t j = 0; j < h3; j++) da[j] += dy[j] * y[j] * (1 - y[j]);
      for (size_t j = h3; j < m; j++) da[j] += dy[j] * (1 - y[j] * y[j]);
    }
  }
}

static void gates_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, i);
  gates_bwd_loop(n->val, n->grad, a->grad, dy_dim_per_batch(n->dim), n->dim.bd, dy_grad_fresh(a));
}

static const dy_op op_lstm_gates = {"lstm_gates", 1, DY_OP_BWD_ASSIGN, gates_dim, gates_fwd, gates_bwd};

dy_expr dy_lstm_gates(dy_expr a) { return dy_apply(&op_lstm_gates, &a, 1, NULL); }

/* ================================================================ lstm_c */
/* args {gates (4H), [c_prev (H)]}: c = f * c_prev + i * z (c_prev = 0 if absent) */

static int lstmc_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  if (n->nargs > 2) /* a wrong count is DY_EARG, as the core says it for fixed arities */
    return dy_fail_node(g, n, DY_EARG, "lstm_c takes gates and an optional c_prev, got %u arguments", (unsigned)n->nargs);
  if (a->dim.nd != 1 || a->dim.d[0] % 4 != 0) {
    char db[64];
    return dy_fail_shape(g, n, "the gates (argument 0) have dim %s; they must be a vector {4H}",
                         dy_dim_str(a->dim, db, sizeof db));
  }
  uint32_t h = a->dim.d[0] / 4;
  if (n->nargs == 2 && want_vec(g, n, 1, h, "c_prev")) return -1;
  return set_out(g, n, h);
}

static void lstmc_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *cp = n->nargs == 2 ? dy_arg(g, n, 1) : NULL;
  size_t h = dy_dim_per_batch(n->dim), sa = bstride(a), sc = cp ? bstride(cp) : 0;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *gi = a->val + k * sa, *gf = gi + h, *gz = gi + 3 * h;
    dy_real *c = n->val + k * h;
    if (cp) {
      const dy_real *c0 = cp->val + k * sc;
      for (size_t j = 0; j < h; j++) c[j] = gf[j] * c0[j] + gi[j] * gz[j];
    } else {
      for (size_t j = 0; j < h; j++) c[j] = gi[j] * gz[j];
    }
  }
}

/* d i += dc z, d f += dc c_prev, d z += dc i; d c_prev += dc f */
DY_VM_CLONE_VOID(lstmc_bwd_gates,
                 (const dy_real *restrict dc, const dy_real *restrict gi, const dy_real *restrict gz,
                  const dy_real *restrict c0, dy_real *restrict di, dy_real *restrict df,
                  dy_real *restrict dz, size_t h),
                 (dc, gi, gz, c0, di, df, dz, h)) {
  for (size_t j = 0; j < h; j++) {
    di[j] += dc[j] * gz[j];
    dz[j] += dc[j] * gi[j];
  }
  if (c0)
    for (size_t j = 0; j < h; j++) df[j] += dc[j] * c0[j];
}

DY_VM_CLONE_VOID(lstmc_bwd_prev, (const dy_real *restrict dc, const dy_real *restrict gf, dy_real *restrict dc0, size_t h),
                 (dc, gf, dc0, h)) {
  for (size_t j = 0; j < h; j++) dc0[j] += dc[j] * gf[j];
}

static void lstmc_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  const dy_node *a = dy_arg(g, n, 0), *cp = n->nargs == 2 ? dy_arg(g, n, 1) : NULL;
  size_t h = dy_dim_per_batch(n->dim), sa = bstride(a), sc = cp ? bstride(cp) : 0;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *gi = a->val + k * sa, *gf = gi + h, *gz = gi + 3 * h, *dc = n->grad + k * h;
    if (i == 0) {
      dy_real *di = a->grad + k * sa;
      lstmc_bwd_gates(dc, gi, gz, cp ? cp->val + k * sc : NULL, di, di + h, di + 3 * h, h);
    } else {
      lstmc_bwd_prev(dc, gf, cp->grad + k * sc, h);
    }
  }
}

static const dy_op op_lstm_c = {"lstm_c", -1, 0, lstmc_dim, lstmc_fwd, lstmc_bwd};

dy_expr dy_lstm_c(dy_expr gates, dy_expr c_prev) {
  dy_expr x[2] = {gates, c_prev};
  return dy_apply(&op_lstm_c, x, 2, NULL);
}

dy_expr dy_lstm_c0(dy_expr gates) { return dy_apply(&op_lstm_c, &gates, 1, NULL); }

/* ================================================================ lstm_h */
/* args {gates (4H), c (H)}: h = o * tanh(c) */

static int lstmh_dim(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0);
  if (a->dim.nd != 1 || a->dim.d[0] % 4 != 0) {
    char db[64];
    return dy_fail_shape(g, n, "the gates (argument 0) have dim %s; they must be a vector {4H}",
                         dy_dim_str(a->dim, db, sizeof db));
  }
  uint32_t h = a->dim.d[0] / 4;
  if (want_vec(g, n, 1, h, "c")) return -1;
  return set_out(g, n, h);
}

DY_VM_CLONE_VOID(lstmh_fwd_loop, (const dy_real *restrict go, const dy_real *restrict cv, dy_real *restrict y, size_t h),
                 (go, cv, y, h)) {
  for (size_t j = 0; j < h; j++) y[j] = go[j] * fast_tanh(cv[j]);
}

static void lstmh_fwd(dy_graph *g, dy_node *n) {
  const dy_node *a = dy_arg(g, n, 0), *c = dy_arg(g, n, 1);
  size_t h = dy_dim_per_batch(n->dim), sa = bstride(a), sc = bstride(c);
  for (uint32_t k = 0; k < n->dim.bd; k++)
    lstmh_fwd_loop(a->val + k * sa + 2 * h, c->val + k * sc, n->val + k * h, h);
}

/* d o += dh tanh(c); d c += dh o (1 - tanh(c)^2), with tanh(c) = h / o read
 * back from the output (o = sigmoid(.) > 0; recomputed when o underflows).
 * Branch-free (both computed, one selected) so that the loop vectorises. */
#if DY_USE_DOUBLE
#define LSTMH_SEL(c, a, b) ((c) ? (a) : (b))
#else
#define LSTMH_SEL(c, a, b) dy_vsel((c), (a), (b))
#endif
DY_VM_CLONE_VOID(lstmh_bwd_loop,
                 (const dy_real *restrict go, const dy_real *restrict cv, const dy_real *restrict dh,
                  const dy_real *restrict y, dy_real *restrict d, size_t h, int wrt_o),
                 (go, cv, dh, y, d, h, wrt_o)) {
  if (wrt_o)
    for (size_t j = 0; j < h; j++) {
      dy_real t = LSTMH_SEL(go[j] > (dy_real)1e-20, y[j] / go[j], fast_tanh(cv[j]));
      d[j] += dh[j] * t;
    }
  else
    for (size_t j = 0; j < h; j++) {
      dy_real t = LSTMH_SEL(go[j] > (dy_real)1e-20, y[j] / go[j], fast_tanh(cv[j]));
      d[j] += dh[j] * go[j] * (1 - t * t);
    }
}

static void lstmh_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *a = dy_arg(g, n, 0), *c = dy_arg(g, n, 1);
  size_t h = dy_dim_per_batch(n->dim), sa = bstride(a), sc = bstride(c);
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *go = a->val + k * sa + 2 * h, *cv = c->val + k * sc, *dh = n->grad + k * h;
    const dy_real *y = n->val + k * h;
    dy_real *d = i == 0 ? a->grad + k * sa + 2 * h : c->grad + k * sc;
    lstmh_bwd_loop(go, cv, dh, y, d, h, i == 0);
  }
}

static const dy_op op_lstm_h = {"lstm_h", 2, 0, lstmh_dim, lstmh_fwd, lstmh_bwd};

dy_expr dy_lstm_h(dy_expr gates, dy_expr c) {
  dy_expr x[2] = {gates, c};
  return dy_apply(&op_lstm_h, x, 2, NULL);
}

/* ============================================================== gru_cell */
/* args {p (3H), q (3H), [h_prev (H)]}:
 * r = s(p_r + q_r), u = s(p_u + q_u), n = tanh(p_n + r q_n), h = (1-u) n + u h_prev */

static int gru_dim(dy_graph *g, dy_node *n) {
  const dy_node *p = dy_arg(g, n, 0);
  if (n->nargs < 2 || n->nargs > 3)
    return dy_fail_node(g, n, DY_EARG, "gru_cell takes p, q and an optional h_prev, got %u arguments",
                         (unsigned)n->nargs);
  if (p->dim.nd != 1 || p->dim.d[0] % 3 != 0) {
    char db[64];
    return dy_fail_shape(g, n, "p (argument 0) has dim %s; it must be a vector {3H}",
                         dy_dim_str(p->dim, db, sizeof db));
  }
  uint32_t h = p->dim.d[0] / 3;
  if (want_vec(g, n, 1, 3 * h, "q")) return -1;
  if (n->nargs == 3 && want_vec(g, n, 2, h, "h_prev")) return -1;
  if (set_out(g, n, h)) return -1;
  /* forward keeps the gates r, u, n (3H per batch element) here for backward */
  n->aux[0].p = dy_graph_data(g, 3 * (size_t)h * n->dim.bd * sizeof(dy_real));
  return n->aux[0].p ? 0 : -1;
}

/* The gates of batch element k: r, u, n (each h) into s. */
DY_VM_CLONE_VOID(gru_gates, (const dy_real *restrict p, const dy_real *restrict q, size_t h, dy_real *restrict s),
                 (p, q, h, s)) {
  dy_real *r = s, *u = s + h, *nn = s + 2 * h;
  for (size_t j = 0; j < h; j++) {
    r[j] = sigm(p[j] + q[j]);
    u[j] = sigm(p[h + j] + q[h + j]);
    nn[j] = fast_tanh(p[2 * h + j] + r[j] * q[2 * h + j]);
  }
}

static void gru_fwd(dy_graph *g, dy_node *n) {
  const dy_node *p = dy_arg(g, n, 0), *q = dy_arg(g, n, 1);
  const dy_node *hp = n->nargs == 3 ? dy_arg(g, n, 2) : NULL;
  size_t h = dy_dim_per_batch(n->dim), sp = bstride(p), sq = bstride(q), sh = hp ? bstride(hp) : 0;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    dy_real *s = (dy_real *)n->aux[0].p + k * 3 * h;
    gru_gates(p->val + k * sp, q->val + k * sq, h, s);
    const dy_real *u = s + h, *nn = s + 2 * h;
    dy_real *y = n->val + k * h;
    if (hp) {
      const dy_real *h0 = hp->val + k * sh;
      for (size_t j = 0; j < h; j++) y[j] = (1 - u[j]) * nn[j] + u[j] * h0[j];
    } else {
      for (size_t j = 0; j < h; j++) y[j] = (1 - u[j]) * nn[j];
    }
  }
}

/* dn = dh (1-u), du = dh (h_prev - n), dh_prev += dh u;
 * dn~ = dn (1-n^2): dp_n += dn~, dq_n += dn~ r, dr = dn~ q_n;
 * dr~ = dr r (1-r): dp_r, dq_r += dr~;  du~ = du u (1-u): dp_u, dq_u += du~ */
static void gru_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *p = dy_arg(g, n, 0), *q = dy_arg(g, n, 1);
  dy_node *hp = n->nargs == 3 ? dy_arg(g, n, 2) : NULL;
  size_t h = dy_dim_per_batch(n->dim), sp = bstride(p), sq = bstride(q), sh = hp ? bstride(hp) : 0;
  for (uint32_t k = 0; k < n->dim.bd; k++) {
    const dy_real *qv = q->val + k * sq, *dh = n->grad + k * h;
    const dy_real *h0 = hp ? hp->val + k * sh : NULL;
    const dy_real *s = (const dy_real *)n->aux[0].p + k * 3 * h;
    const dy_real *r = s, *u = s + h, *nn = s + 2 * h;
    if (i == 2) {
      dy_real *dh0 = hp->grad + k * sh;
      for (size_t j = 0; j < h; j++) dh0[j] += dh[j] * u[j];
      continue;
    }
    dy_real *d = (i == 0 ? p->grad + k * sp : q->grad + k * sq);
    for (size_t j = 0; j < h; j++) {
      dy_real dn = dh[j] * (1 - u[j]) * (1 - nn[j] * nn[j]);
      dy_real du = dh[j] * ((h0 ? h0[j] : 0) - nn[j]) * u[j] * (1 - u[j]);
      dy_real dr = dn * qv[2 * h + j] * r[j] * (1 - r[j]);
      d[j] += dr;
      d[h + j] += du;
      d[2 * h + j] += i == 0 ? dn : dn * r[j];
    }
  }
}

static const dy_op op_gru_cell = {"gru_cell", -1, 0, gru_dim, gru_fwd, gru_bwd};

dy_expr dy_gru_cell(dy_expr p, dy_expr q, dy_expr h_prev) {
  dy_expr x[3] = {p, q, h_prev};
  return dy_apply(&op_gru_cell, x, 3, NULL);
}

dy_expr dy_gru_cell0(dy_expr p, dy_expr q) {
  dy_expr x[2] = {p, q};
  return dy_apply(&op_gru_cell, x, 2, NULL);
}

/* The family's descriptors (for tools; models/ ops are not in ops_table.c). */
const dy_op *const dy_ops_rnn_cells[] = {&op_lstm_gates, &op_lstm_c, &op_lstm_h, &op_gru_cell,
                                         NULL};
