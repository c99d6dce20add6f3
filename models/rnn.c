/* RNN builders: Elman RNN, LSTM and GRU, stacked, with variational dropout,
 * a fused and a reference unrolling, and a bidirectional wrapper. Equations
 * and the graph form of a step are in dy_models.h. */
#include <stdlib.h>
#include <string.h>

#include "dy_kernels.h"
#include "dy_models.h"

#define L DY_RNN_MAX_LAYERS

struct dy_rnn {
  dy_rnn_kind kind;
  uint32_t layers, in, hid;
  uint32_t lbase;                       /* label of layer 0 in names (birnn layers) */
  dy_param *wx[L], *wh[L], *b[L], *bh[L]; /* bh: GRU only */
  dy_real p_in, p_rec;
  int fused, precompute, defer;
  char name[112];                       /* display name: node names and errors */
};

/* What one dy_rnn_start puts into a graph, shared by every state of the
 * sequence: parameter nodes and dropout masks. Lives in the graph's data. */
struct dy_rnn_seq {
  dy_expr wx[L], wh[L], b[L], bh[L];
  dy_expr in_mask[L], rec_mask[L];
  uint32_t has_in, has_rec;  /* bit k: layer k has that mask */
};
typedef struct dy_rnn_seq rnn_seq;

/* ============================================================== helpers */

static dy_expr invalid(dy_graph *g) {
  dy_expr e = {g, DY_INVALID_ID, g ? g->gen : 0};
  return e;
}

static uint32_t gates_of(dy_rnn_kind k) { return k == DY_LSTM ? 4 : k == DY_GRU ? 3 : 1; }

static const char *kind_name(dy_rnn_kind k) {
  return k == DY_LSTM ? "LSTM" : k == DY_GRU ? "GRU" : "SRNN";
}

/* Appends the decimal digits of v at p; returns the end. */
static char *put_int(char *p, int64_t v) {
  char d[24];
  int n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  if (v < 0) *p++ = '-';
  do d[n++] = (char)('0' + u % 10);
  while ((u /= 10) != 0);
  while (n) *p++ = d[--n];
  return p;
}

/* Names node e "<rnn>/h_t" (layer label 0) or "<rnn>/l<k>/h_t". Formatted
 * by hand: this runs twice per step and snprintf would be a visible cost. */
static void name_node(dy_expr e, const dy_rnn *r, uint32_t l, const char *what, int32_t t) {
  char buf[sizeof r->name + 64], *p = buf;
  size_t n = strlen(r->name), w = strlen(what);
  memcpy(p, r->name, n);
  p += n;
  uint32_t lab = r->lbase + l;
  if (lab) {
    memcpy(p, "/l", 2);
    p = put_int(p + 2, lab);
  }
  *p++ = '/';
  if (w > 16) w = 16;
  memcpy(p, what, w);
  p += w;
  *p++ = '_';
  p = put_int(p, t);
  *p = 0;
  dy_expr_set_name(e, buf);
}

/* ============================================================== builder */

static dy_rnn *rnn_create(dy_model *m, const char *scope, const char *display, dy_rnn_kind kind,
                          uint32_t layers, uint32_t in, uint32_t hid, uint32_t lbase) {
  if (!m || !scope || !scope[0] || layers == 0 || layers > L || in == 0 || hid == 0 ||
      (kind != DY_SRNN && kind != DY_LSTM && kind != DY_GRU))
    return NULL;
  dy_rnn *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->kind = kind;
  r->layers = layers;
  r->in = in;
  r->hid = hid;
  r->lbase = lbase;
  r->fused = 1;
  r->precompute = 1;
  r->defer = 1;
  snprintf(r->name, sizeof r->name, "%s", display);
  if (dy_model_push(m, scope) != DY_OK) {
    free(r);
    return NULL;
  }
  uint32_t G = gates_of(kind) * hid;
  int ok = 1;
  for (uint32_t l = 0; l < layers && ok; l++) {
    char ln[16];
    snprintf(ln, sizeof ln, "l%u", (unsigned)(lbase + l));
    if (dy_model_push(m, ln) != DY_OK) {
      ok = 0;
      break;
    }
    uint32_t x = l ? hid : in;
    r->wx[l] = dy_model_add_param(m, "W_x", dy_d2(G, x), dy_init_glorot());
    r->wh[l] = dy_model_add_param(m, "W_h", dy_d2(G, hid), dy_init_glorot());
    r->b[l] = dy_model_add_param(m, "b", dy_d1(G), dy_init_const(0));
    if (kind == DY_GRU) r->bh[l] = dy_model_add_param(m, "b_h", dy_d1(G), dy_init_const(0));
    ok = r->wx[l] && r->wh[l] && r->b[l] && (kind != DY_GRU || r->bh[l]);
    if (ok && kind == DY_LSTM) {
      dy_real *b = dy_param_values(r->b[l]);
      for (uint32_t j = hid; j < 2 * hid; j++) b[j] = 1; /* forget gate */
    }
    dy_model_pop(m);
  }
  dy_model_pop(m);
  if (!ok) {
    free(r);
    return NULL;
  }
  return r;
}

dy_rnn *dy_rnn_new(dy_model *m, const char *name, dy_rnn_kind kind, uint32_t layers,
                   uint32_t input_dim, uint32_t hidden_dim) {
  if (!name) return NULL;
  return rnn_create(m, name, name, kind, layers, input_dim, hidden_dim, 0);
}

void dy_rnn_free(dy_rnn *r) { free(r); }

dy_rnn_kind dy_rnn_get_kind(const dy_rnn *r) { return r->kind; }
uint32_t dy_rnn_layers(const dy_rnn *r) { return r->layers; }
uint32_t dy_rnn_input_dim(const dy_rnn *r) { return r->in; }
uint32_t dy_rnn_hidden_dim(const dy_rnn *r) { return r->hid; }

dy_param *dy_rnn_param(const dy_rnn *r, uint32_t layer, const char *which) {
  if (!r || !which || layer >= r->layers) return NULL;
  if (!strcmp(which, "W_x")) return r->wx[layer];
  if (!strcmp(which, "W_h")) return r->wh[layer];
  if (!strcmp(which, "b")) return r->b[layer];
  if (!strcmp(which, "b_h")) return r->bh[layer];
  return NULL;
}

dy_status dy_rnn_set_dropout(dy_rnn *r, dy_real input_rate, dy_real recurrent_rate) {
  if (!r || !(input_rate >= 0 && input_rate < 1) || !(recurrent_rate >= 0 && recurrent_rate < 1))
    return DY_EARG;
  r->p_in = input_rate;
  r->p_rec = recurrent_rate;
  return DY_OK;
}

void dy_rnn_set_fused(dy_rnn *r, int fused) { if (r) r->fused = fused != 0; }
void dy_rnn_set_precompute(dy_rnn *r, int on) { if (r) r->precompute = on != 0; }
void dy_rnn_set_defer_wh(dy_rnn *r, int on) { if (r) r->defer = on != 0; }

/* ================================================================ start */

/* A dropout mask of n values: 0 with probability p, else 1/(1-p), from the
 * graph's RNG; read by reference from graph data. */
static dy_expr draw_mask(dy_graph *g, uint32_t n, dy_real p) {
  dy_real *v = dy_graph_data(g, n * sizeof(dy_real));
  if (!v) return invalid(g);
  dy_real keep = (dy_real)(1 / (1 - (double)p));
  for (uint32_t i = 0; i < n; i++) {
    double u = (double)(dy_graph_rand(g) >> 11) * 0x1.0p-53;
    v[i] = u < (double)p ? 0 : keep;
  }
  return dy_input_ref(g, dy_d1(n), v);
}

/* Checks an initial state given by the caller: a vector {H}, any batch. */
static int check_init(dy_graph *g, const dy_rnn *r, dy_expr e, const char *what, uint32_t l) {
  dy_dim d = dy_expr_dim(e);
  if (e.g == g && dy_expr_valid(e) && d.nd == 1 && d.d[0] == r->hid) return 1;
  char db[64];
  if (e.g != g)
    dy_fail(g, DY_ESTALE, "rnn '%s': the initial %s of layer %u belongs to another graph",
            r->name, what, (unsigned)l);
  else
    dy_fail(g, DY_ESHAPE,
            "rnn '%s': the initial %s of layer %u has dim %s but must be a vector {%u} "
            "(hidden_dim)",
            r->name, what, (unsigned)l, dy_dim_str(d, db, sizeof db), (unsigned)r->hid);
  return 0;
}

dy_rnn_state dy_rnn_start_with(dy_rnn *r, dy_graph *g, const dy_expr *h0, const dy_expr *c0) {
  dy_rnn_state s;
  memset(&s, 0, sizeof s);
  s.rnn = r;
  s.g = g;
  for (uint32_t l = 0; l < L; l++) s.h[l] = s.c[l] = invalid(g);
  if (!g) return s;
  s.gen = g->gen;
  if (!r) {
    dy_fail(g, DY_EARG, "dy_rnn_start: the builder is NULL");
    return s;
  }
  if (g->status != DY_OK) return s;
  rnn_seq *q = dy_graph_data(g, sizeof *q);
  if (!q) return s;
  memset(q, 0, sizeof *q);
  int32_t tag = dy_graph_tag(g);
  dy_graph_set_tag(g, DY_NO_TAG);
  int train = dy_graph_train(g);
  for (uint32_t l = 0; l < r->layers; l++) {
    q->wx[l] = dy_param_expr(g, r->wx[l]);
    q->wh[l] = dy_param_expr(g, r->wh[l]);
    q->b[l] = dy_param_expr(g, r->b[l]);
    q->bh[l] = r->kind == DY_GRU ? dy_param_expr(g, r->bh[l]) : invalid(g);
    q->in_mask[l] = q->rec_mask[l] = invalid(g);
    if (train && r->p_in > 0) {
      q->in_mask[l] = draw_mask(g, l ? r->hid : r->in, r->p_in);
      name_node(q->in_mask[l], r, l, "in_mask", 0);
      q->has_in |= 1u << l;
    }
    if (train && r->p_rec > 0) {
      q->rec_mask[l] = draw_mask(g, r->hid, r->p_rec);
      name_node(q->rec_mask[l], r, l, "rec_mask", 0);
      q->has_rec |= 1u << l;
    }
  }
  dy_graph_set_tag(g, tag);
  for (uint32_t l = 0; l < r->layers; l++) {
    if (h0 && !check_init(g, r, h0[l], "h", l)) return s;
    if (c0 && r->kind == DY_LSTM && !check_init(g, r, c0[l], "c", l)) return s;
    if (h0) s.h[l] = h0[l];
    else s.hzero |= 1u << l;
    if (c0 && r->kind == DY_LSTM) s.c[l] = c0[l];
    else s.czero |= 1u << l;
  }
  if (g->status != DY_OK) return s;
  s.seq = q;
  return s;
}

dy_rnn_state dy_rnn_start(dy_rnn *r, dy_graph *g) { return dy_rnn_start_with(r, g, NULL, NULL); }

/* ================================================== deferred W_h gradient
 * In dy_rnn_transduce (fused, precomputed path) every step's recurrent
 * product a_t = p_t + W_h h_{t-1} is an "rnn_rec" node whose W_h argument is
 * one "rnn_wseq" node per layer (a view of W_h). rnn_rec's backward skips
 * W_h; rnn_wseq's backward, which runs after every step's (its id is lower),
 * adds dW_h = sum_t da_t h_{t-1}^T as ONE matrix product over the gathered
 * steps instead of one outer product per step. Values and the other
 * gradients are those of the affine op, whose descriptor rnn_rec borrows. */

typedef struct rec_list {
  uint32_t n, cap;
  uint32_t *ids; /* the rnn_rec nodes of this W_h */
} rec_list;

static int wseq_dim(dy_graph *g, dy_node *n) {
  n->dim = dy_arg(g, n, 0)->dim;
  return 0;
}

static void wseq_fwd(dy_graph *g, dy_node *n) { n->val = dy_arg(g, n, 0)->val; }

static void wseq_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *W = dy_arg(g, n, i);
  const rec_list *rl = n->aux[0].cp;
  size_t G = W->dim.d[0], H = W->dim.d[1], rows = 0;
  dy_vadd(G * H, n->grad, W->grad); /* any other use of the view (none today) */
  for (uint32_t k = 0; k < rl->n; k++) {
    const dy_node *s = dy_node_at(g, rl->ids[k]);
    if (rl->ids[k] <= g->last_root && s->grad && (s->flags & DY_NODE_LIVE)) rows += s->dim.bd;
  }
  if (!rows) return;
  dy_real *D = dy_scratch(g, rows * (G + H)), *X = D + rows * G; /* D (rows,G), X (rows,H) */
  size_t r = 0;
  for (uint32_t k = 0; k < rl->n; k++) {
    const dy_node *s = dy_node_at(g, rl->ids[k]);
    if (!(rl->ids[k] <= g->last_root && s->grad && (s->flags & DY_NODE_LIVE))) continue;
    const dy_node *h = dy_arg(g, s, 2);
    size_t sh = h->dim.bd == 1 ? 0 : H;
    for (uint32_t b = 0; b < s->dim.bd; b++, r++) {
      memcpy(D + r * G, s->grad + b * G, G * sizeof(dy_real));
      memcpy(X + r * H, h->val + b * sh, H * sizeof(dy_real));
    }
  }
  dy_gemm(1, 0, G, H, rows, 1, D, G, X, H, 1, W->grad, H); /* dW += D^T X */
}

static const dy_op op_rnn_wseq = {"rnn_wseq", 1, DY_OP_SETS_VAL, wseq_dim, wseq_fwd, wseq_bwd};

/* aux[0]: the affine descriptor (dim, forward and backward of b + W h). */
static int rec_dim(dy_graph *g, dy_node *n) { return ((const dy_op *)n->aux[0].cp)->dim(g, n); }
static void rec_fwd(dy_graph *g, dy_node *n) { ((const dy_op *)n->aux[0].cp)->forward(g, n); }
static void rec_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  if (i != 1) ((const dy_op *)n->aux[0].cp)->backward(g, n, i);
}

static const dy_op op_rnn_rec = {"rnn_rec", 3, 0, rec_dim, rec_fwd, rec_bwd};

/* The W_h view of one layer for a sequence of up to cap steps, or an
 * invalid expression (error set). */
static dy_expr wseq_new(dy_graph *g, dy_expr W, uint32_t cap) {
  rec_list *rl = dy_graph_data(g, sizeof *rl + cap * sizeof(uint32_t));
  if (!rl) return invalid(g);
  rl->n = 0;
  rl->cap = cap;
  rl->ids = (uint32_t *)(rl + 1);
  dy_aux aux[DY_NAUX];
  memset(aux, 0, sizeof aux);
  aux[0].p = rl;
  return dy_apply(&op_rnn_wseq, &W, 1, aux);
}

/* b + W h for W a wseq view (aff: the affine descriptor); records the step. */
static dy_expr rec_affine(const dy_op *aff, dy_expr b, dy_expr wseq, dy_expr h) {
  if (!dy_expr_valid(wseq)) return invalid(wseq.g);
  dy_graph *g = wseq.g;
  rec_list *rl = g->nodes[wseq.id].aux[0].p;
  DY_ASSERT(rl->n < rl->cap);
  dy_aux aux[DY_NAUX];
  memset(aux, 0, sizeof aux);
  aux[0].cp = aff;
  dy_expr x[3] = {b, wseq, h};
  dy_expr e = dy_apply(&op_rnn_rec, x, 3, aux);
  if (dy_expr_valid(e)) rl->ids[rl->n++] = e.id;
  return e;
}

/* ================================================================= step */

/* Non-zero when s can be stepped; otherwise records why (unless the graph
 * already has an error). */
static int state_ok(const dy_rnn_state *s, const char *fn) {
  dy_graph *g = s->g;
  if (!g || g->status != DY_OK) return 0;
  if (!s->rnn) {
    dy_fail(g, DY_EARG, "%s: the state has no builder (not from dy_rnn_start)", fn);
    return 0;
  }
  if (s->gen != g->gen) {
    dy_fail(g, DY_ESTALE, "%s: rnn '%s': the state comes from before the last dy_graph_renew",
            fn, s->rnn->name);
    return 0;
  }
  if (!s->seq) {
    dy_fail(g, DY_EARG, "%s: rnn '%s': the state is not from dy_rnn_start", fn, s->rnn->name);
    return 0;
  }
  return 1;
}

/* The zero vector {H} standing for a zero start state (reference path). */
static dy_expr zeros_h(dy_graph *g, const dy_rnn *r) { return dy_zeros(g, dy_d1(r->hid)); }

/* Layer l's step. x is the layer input after its dropout mask, or, when
 * has_xp, the precomputed W_x x + b (b_x for the GRU). With aff non-NULL the
 * W_h products go through wseq (deferred W_h gradient). hprev/cprev are the
 * previous states (ignored when hz/cz say zero). Writes h (and c). */
static void layer_step(const dy_rnn *r, const rnn_seq *q, dy_graph *g, uint32_t l, dy_expr x,
                       int has_xp, const dy_op *aff, dy_expr wseq, dy_expr hprev, dy_expr cprev,
                       int hz, int cz, int32_t t, dy_expr *h_out, dy_expr *c_out) {
  uint32_t H = r->hid;
  dy_expr hin = hprev;
  if (!r->fused) {
    if (hz) hprev = hin = zeros_h(g, r);
    if (cz && r->kind == DY_LSTM) cprev = zeros_h(g, r);
    hz = cz = 0;
  }
  if (!hz && (q->has_rec >> l & 1)) hin = dy_cmult(hprev, q->rec_mask[l]);
  dy_expr h, c = invalid(g);
  if (r->kind == DY_GRU) {
    dy_expr p = has_xp ? x : dy_affine(q->b[l], q->wx[l], x);
    dy_expr qh = hz    ? q->bh[l]
                 : aff ? rec_affine(aff, q->bh[l], wseq, hin)
                       : dy_affine(q->bh[l], q->wh[l], hin);
    if (r->fused) {
      h = hz ? dy_gru_cell0(p, qh) : dy_gru_cell(p, qh, hprev);
    } else {
      dy_expr rg = dy_sigmoid(dy_add(dy_pick_range(p, 0, H, 0), dy_pick_range(qh, 0, H, 0)));
      dy_expr u = dy_sigmoid(dy_add(dy_pick_range(p, H, 2 * H, 0), dy_pick_range(qh, H, 2 * H, 0)));
      dy_expr n = dy_tanh(dy_add(dy_pick_range(p, 2 * H, 3 * H, 0),
                                 dy_cmult(rg, dy_pick_range(qh, 2 * H, 3 * H, 0))));
      dy_expr one_minus_u = dy_add_scalar(dy_neg(u), 1);
      h = dy_add(dy_cmult(one_minus_u, n), dy_cmult(u, hprev));
    }
  } else {
    dy_expr a;
    if (hz) {
      a = has_xp ? x : dy_affine(q->b[l], q->wx[l], x);
    } else if (has_xp) {
      a = aff ? rec_affine(aff, x, wseq, hin) : dy_affine(x, q->wh[l], hin);
    } else {
      dy_expr args[5] = {q->b[l], q->wx[l], x, q->wh[l], hin};
      a = dy_affine_n(args, 5);
    }
    if (r->kind == DY_SRNN) {
      h = dy_tanh(a);
    } else if (r->fused) {
      dy_expr gt = dy_lstm_gates(a);
      c = cz ? dy_lstm_c0(gt) : dy_lstm_c(gt, cprev);
      h = dy_lstm_h(gt, c);
    } else {
      dy_expr i = dy_sigmoid(dy_pick_range(a, 0, H, 0));
      dy_expr f = dy_sigmoid(dy_pick_range(a, H, 2 * H, 0));
      dy_expr o = dy_sigmoid(dy_pick_range(a, 2 * H, 3 * H, 0));
      dy_expr z = dy_tanh(dy_pick_range(a, 3 * H, 4 * H, 0));
      c = dy_add(dy_cmult(f, cprev), dy_cmult(i, z));
      h = dy_cmult(o, dy_tanh(c));
    }
    if (r->kind == DY_LSTM) name_node(c, r, l, "c", t);
  }
  name_node(h, r, l, "h", t);
  *h_out = h;
  *c_out = c;
}

/* Checks that x fits layer 0 of r: a live expression of g, a vector {X}
 * (X = input_dim). fn names the caller in the message; t >= 0 is the step
 * being added (x of any batch), t < 0 a whole sequence (x's batch holds the
 * positions). Returns 0 after recording the error in g. */
static int check_input(const dy_rnn *r, dy_graph *g, dy_expr x, const char *fn, int32_t t) {
  if (x.g == g && dy_expr_valid(x)) { /* the hot path (every step): no formatting */
    dy_dim d = dy_expr_dim(x);
    if (d.nd == 1 && d.d[0] == r->in) return 1;
  }
  char at[32] = "";
  if (t >= 0) snprintf(at, sizeof at, "step %d: ", (int)t);
  if (x.g != g) {
    dy_fail(g, DY_ESTALE, "%s: rnn '%s': %sthe input belongs to another graph%s", fn, r->name, at,
            x.g ? "" : " (or is unset)");
    return 0;
  }
  if (!dy_expr_valid(x)) {
    dy_fail(g, DY_ESTALE, "%s: rnn '%s': %sthe input is not a live expression", fn, r->name, at);
    return 0;
  }
  dy_dim d = dy_expr_dim(x);
  if (d.nd != 1 || d.d[0] != r->in) {
    char db[64];
    dy_fail(g, DY_ESHAPE,
            "%s: rnn '%s' (%s, input_dim %u): %sthe input has dim %s but must be a vector {%u} %s", fn,
            r->name, kind_name(r->kind), (unsigned)r->in, at, dy_dim_str(d, db, sizeof db), (unsigned)r->in,
            t >= 0 ? "(any batch)" : "with the positions as the batch");
    return 0;
  }
  return 1;
}

/* One step of every layer on input x, tagged t; fn names the caller in errors. */
static dy_rnn_state step(dy_rnn_state s, dy_expr x, int32_t t, const char *fn) {
  dy_rnn_state ns = s;
  ns.t = s.t + 1;
  ns.hzero = ns.czero = 0;
  for (uint32_t l = 0; l < L; l++) ns.h[l] = ns.c[l] = invalid(s.g);
  if (!state_ok(&s, fn)) return ns;
  const dy_rnn *r = s.rnn;
  dy_graph *g = s.g;
  if (!check_input(r, g, x, fn, t)) return ns;
  int32_t old = dy_graph_tag(g);
  dy_graph_set_tag(g, t);
  dy_expr in = x;
  for (uint32_t l = 0; l < r->layers; l++) {
    if (s.seq->has_in >> l & 1) in = dy_cmult(in, s.seq->in_mask[l]);
    layer_step(r, s.seq, g, l, in, 0, NULL, invalid(g), s.h[l], s.c[l], s.hzero >> l & 1,
               s.czero >> l & 1, t, &ns.h[l], &ns.c[l]);
    in = ns.h[l];
  }
  dy_graph_set_tag(g, old);
  return ns;
}

dy_rnn_state dy_rnn_add_input(dy_rnn_state s, dy_expr x) { return step(s, x, s.t, "dy_rnn_add_input"); }

dy_expr dy_rnn_h(dy_rnn_state s, uint32_t layer) {
  if (!s.g) return invalid(NULL);
  if (!s.rnn || layer >= s.rnn->layers) {
    if (s.g->status == DY_OK)
      dy_fail(s.g, DY_EINDEX, "dy_rnn_h: layer %u out of range (the rnn has %u)",
              (unsigned)layer, s.rnn ? (unsigned)s.rnn->layers : 0u);
    return invalid(s.g);
  }
  if (s.hzero >> layer & 1) {
    if (!state_ok(&s, "dy_rnn_h")) return invalid(s.g);
    return zeros_h(s.g, s.rnn);
  }
  return s.h[layer];
}

dy_expr dy_rnn_c(dy_rnn_state s, uint32_t layer) {
  if (!s.g) return invalid(NULL);
  if (!s.rnn || layer >= s.rnn->layers || s.rnn->kind != DY_LSTM) {
    if (s.g->status == DY_OK)
      dy_fail(s.g, DY_EARG, "dy_rnn_c: layer %u: only an LSTM has c, and only for its %u layers",
              (unsigned)layer, s.rnn ? (unsigned)s.rnn->layers : 0u);
    return invalid(s.g);
  }
  if (s.czero >> layer & 1) {
    if (!state_ok(&s, "dy_rnn_c")) return invalid(s.g);
    return zeros_h(s.g, s.rnn);
  }
  return s.c[layer];
}

dy_expr dy_rnn_output(dy_rnn_state s) {
  return dy_rnn_h(s, s.rnn ? s.rnn->layers - 1 : 0);
}

/* ============================================================ transduce */

/* Runs r from a zero state: step t reads xs[p] and writes ys[p], tagged p,
 * where p = t, or n-1-t when rev. fn names the caller in errors. */
static dy_status run(dy_rnn *r, dy_graph *g, const dy_expr *xs, uint32_t n, dy_expr *ys, int rev,
                     const char *fn) {
  if (!g) return DY_EARG;
  if (g->status != DY_OK) return g->status;
  if (!r || (n && (!xs || !ys))) {
    dy_fail(g, DY_EARG, "%s: NULL builder or sequence", fn);
    return g->status;
  }
  dy_rnn_state s = dy_rnn_start(r, g);
  if (g->status != DY_OK) return g->status;
  int pre = r->fused && r->precompute && n >= 2;
  for (uint32_t i = 0; i < n && pre; i++) {
    dy_dim d = dy_expr_dim(xs[i]);
    if (xs[i].g != g || !dy_expr_valid(xs[i]) || d.bd != 1 || d.nd != 1 || d.d[0] != r->in) pre = 0;
  }
  if (!pre) {
    for (uint32_t t = 0; t < n; t++) {
      uint32_t p = rev ? n - 1 - t : t;
      s = step(s, xs[p], (int32_t)p, fn);
      ys[p] = dy_rnn_output(s);
    }
    return g->status;
  }
  /* Layer by layer: the inputs' products as one gemm over a batch of n. */
  dy_expr *cur = dy_graph_data(g, 2 * (size_t)n * sizeof(dy_expr));
  if (!cur) return g->status;
  dy_expr *nxt = cur + n;
  memcpy(cur, xs, n * sizeof(dy_expr));
  int32_t old = dy_graph_tag(g);
  const rnn_seq *q = s.seq;
  const dy_op *aff = r->defer ? dy_op_find("affine") : NULL;
  for (uint32_t l = 0; l < r->layers; l++) {
    if (q->has_in >> l & 1)
      for (uint32_t p = 0; p < n; p++) {
        dy_graph_set_tag(g, (int32_t)p);
        cur[p] = dy_cmult(cur[p], q->in_mask[l]);
      }
    dy_graph_set_tag(g, DY_NO_TAG);
    dy_expr X = dy_concat_to_batch(cur, n);
    dy_expr P = dy_affine(q->b[l], q->wx[l], X);
    name_node(P, r, l, "W_x_X", 0);
    dy_expr wseq = aff ? wseq_new(g, q->wh[l], n) : invalid(g);
    dy_expr h = s.h[l], c = s.c[l];
    int hz = s.hzero >> l & 1, cz = s.czero >> l & 1;
    for (uint32_t t = 0; t < n; t++) {
      uint32_t p = rev ? n - 1 - t : t;
      dy_graph_set_tag(g, (int32_t)p);
      dy_expr xp = dy_pick_batch_elem(P, p);
      layer_step(r, q, g, l, xp, 1, aff, wseq, h, c, hz, cz, (int32_t)p, &h, &c);
      hz = cz = 0;
      nxt[p] = h;
    }
    dy_expr *tmp = cur;
    cur = nxt;
    nxt = tmp;
  }
  dy_graph_set_tag(g, old);
  memcpy(ys, cur, n * sizeof(dy_expr));
  return g->status;
}

dy_status dy_rnn_transduce(dy_rnn *r, dy_graph *g, const dy_expr *xs, uint32_t n, dy_expr *ys) {
  return run(r, g, xs, n, ys, 0, "dy_rnn_transduce");
}

/* ====================================================== whole sequence */

/* Names node e "<rnn>[/l<k>]/<what>" (no time suffix). */
static void name_seq(dy_expr e, const dy_rnn *r, uint32_t l, const char *what) {
  char buf[sizeof r->name + 64];
  uint32_t lab = r->lbase + l;
  if (lab) snprintf(buf, sizeof buf, "%s/l%u/%s", r->name, (unsigned)lab, what);
  else snprintf(buf, sizeof buf, "%s/%s", r->name, what);
  dy_expr_set_name(e, buf);
}

/* r from a zero state over X (X) batch T (reversed when rev): one input
 * product and one whole-sequence node per layer. */
static dy_expr run_seq(dy_rnn *r, dy_graph *g, dy_expr X, int rev, const char *fn) {
  if (!g) return invalid(NULL);
  if (g->status != DY_OK) return invalid(g);
  if (!r) {
    dy_fail(g, DY_EARG, "%s: the builder is NULL", fn);
    return invalid(g);
  }
  if (!check_input(r, g, X, fn, -1)) return invalid(g);
  dy_rnn_state s = dy_rnn_start(r, g);
  if (g->status != DY_OK) return invalid(g);
  const rnn_seq *q = s.seq;
  int32_t old = dy_graph_tag(g);
  dy_graph_set_tag(g, DY_NO_TAG);
  for (uint32_t l = 0; l < r->layers; l++) {
    if (q->has_in >> l & 1) X = dy_cmult(X, q->in_mask[l]);
    dy_expr P = dy_affine(q->b[l], q->wx[l], X);
    name_seq(P, r, l, "W_x_X");
    const dy_expr *mask = (q->has_rec >> l & 1) ? &q->rec_mask[l] : NULL;
    if (r->kind == DY_LSTM) X = dy_lstm_seq(P, q->wh[l], NULL, NULL, mask, rev);
    else if (r->kind == DY_GRU) X = dy_gru_seq(P, q->wh[l], q->bh[l], NULL, mask, rev);
    else X = dy_srnn_seq(P, q->wh[l], NULL, mask, rev);
    name_seq(X, r, l, "H");
  }
  dy_graph_set_tag(g, old);
  return g->status == DY_OK ? X : invalid(g);
}

dy_expr dy_rnn_transduce_batch(dy_rnn *r, dy_graph *g, dy_expr X) {
  return run_seq(r, g, X, 0, "dy_rnn_transduce_batch");
}

/* ======================================================== bidirectional */

struct dy_birnn {
  uint32_t layers, in, hid;
  dy_rnn *dir[L][2];
  char name[96];
};

dy_birnn *dy_birnn_new(dy_model *m, const char *name, dy_rnn_kind kind, uint32_t layers,
                       uint32_t input_dim, uint32_t hidden_dim) {
  if (!m || !name || !name[0] || layers == 0 || layers > L || input_dim == 0 || hidden_dim == 0)
    return NULL;
  dy_birnn *b = calloc(1, sizeof *b);
  if (!b) return NULL;
  b->layers = layers;
  b->in = input_dim;
  b->hid = hidden_dim;
  snprintf(b->name, sizeof b->name, "%s", name);
  if (dy_model_push(m, name) != DY_OK) {
    free(b);
    return NULL;
  }
  int ok = 1;
  for (uint32_t l = 0; l < layers && ok; l++)
    for (int d = 0; d < 2 && ok; d++) {
      char disp[112];
      snprintf(disp, sizeof disp, "%s/%s", name, d ? "bwd" : "fwd");
      b->dir[l][d] = rnn_create(m, d ? "bwd" : "fwd", disp, kind, 1, l ? 2 * hidden_dim : input_dim,
                                hidden_dim, l);
      ok = b->dir[l][d] != NULL;
    }
  dy_model_pop(m);
  if (!ok) {
    dy_birnn_free(b);
    return NULL;
  }
  return b;
}

void dy_birnn_free(dy_birnn *b) {
  if (!b) return;
  for (uint32_t l = 0; l < L; l++) {
    dy_rnn_free(b->dir[l][0]);
    dy_rnn_free(b->dir[l][1]);
  }
  free(b);
}

dy_rnn *dy_birnn_dir(const dy_birnn *b, uint32_t layer, int dir) {
  if (!b || layer >= b->layers || dir < 0 || dir > 1) return NULL;
  return b->dir[layer][dir];
}

uint32_t dy_birnn_output_dim(const dy_birnn *b) { return 2 * b->hid; }

dy_status dy_birnn_set_dropout(dy_birnn *b, dy_real input_rate, dy_real recurrent_rate) {
  if (!b) return DY_EARG;
  for (uint32_t l = 0; l < b->layers; l++)
    for (int d = 0; d < 2; d++) {
      dy_status st = dy_rnn_set_dropout(b->dir[l][d], input_rate, recurrent_rate);
      if (st != DY_OK) return st;
    }
  return DY_OK;
}

void dy_birnn_set_fused(dy_birnn *b, int fused) {
  for (uint32_t l = 0; b && l < b->layers; l++)
    for (int d = 0; d < 2; d++) dy_rnn_set_fused(b->dir[l][d], fused);
}

void dy_birnn_set_precompute(dy_birnn *b, int on) {
  for (uint32_t l = 0; b && l < b->layers; l++)
    for (int d = 0; d < 2; d++) dy_rnn_set_precompute(b->dir[l][d], on);
}

dy_status dy_birnn_transduce(dy_birnn *b, dy_graph *g, const dy_expr *xs, uint32_t n, dy_expr *ys) {
  if (!g) return DY_EARG;
  if (g->status != DY_OK) return g->status;
  if (!b || (n && (!xs || !ys))) {
    dy_fail(g, DY_EARG, "dy_birnn_transduce: NULL builder or sequence");
    return g->status;
  }
  if (n == 0) return DY_OK;
  dy_expr *cur = dy_graph_data(g, 3 * (size_t)n * sizeof(dy_expr));
  if (!cur) return g->status;
  dy_expr *f = cur + n, *bw = cur + 2 * n;
  memcpy(cur, xs, n * sizeof(dy_expr));
  int32_t old = dy_graph_tag(g);
  for (uint32_t l = 0; l < b->layers; l++) {
    if (run(b->dir[l][0], g, cur, n, f, 0, "dy_birnn_transduce") != DY_OK) break;
    if (run(b->dir[l][1], g, cur, n, bw, 1, "dy_birnn_transduce") != DY_OK) break;
    for (uint32_t p = 0; p < n; p++) {
      dy_graph_set_tag(g, (int32_t)p);
      dy_expr pair[2] = {f[p], bw[p]};
      cur[p] = dy_concat(pair, 2);
    }
    dy_graph_set_tag(g, old);
  }
  dy_graph_set_tag(g, old);
  if (g->status != DY_OK) return g->status;
  memcpy(ys, cur, n * sizeof(dy_expr));
  return DY_OK;
}

dy_expr dy_birnn_transduce_batch(dy_birnn *b, dy_graph *g, dy_expr X) {
  if (!g) return invalid(NULL);
  if (g->status != DY_OK) return invalid(g);
  if (!b) {
    dy_fail(g, DY_EARG, "dy_birnn_transduce_batch: the builder is NULL");
    return invalid(g);
  }
  int32_t old = dy_graph_tag(g);
  for (uint32_t l = 0; l < b->layers && g->status == DY_OK; l++) {
    dy_expr pair[2];
    pair[0] = run_seq(b->dir[l][0], g, X, 0, "dy_birnn_transduce_batch");
    pair[1] = run_seq(b->dir[l][1], g, X, 1, "dy_birnn_transduce_batch");
    dy_graph_set_tag(g, DY_NO_TAG);
    X = dy_concat(pair, 2);
    dy_graph_set_tag(g, old);
  }
  return g->status == DY_OK ? X : invalid(g);
}
