/* Language models: embedding -> RNN -> softmax over the vocabulary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dy_kernels.h"
#include "dy_lm.h"
#include "dy_op.h"
#include "vmath.h"

struct dy_lm {
  dy_lm_opts o;
  uint32_t vocab;
  dy_lookup *E;  /* vocab rows of {emb} */
  dy_rnn *rnn;   /* emb -> hidden */
  dy_param *O;   /* (V, H) */
  dy_param *bo;  /* (V) */
};

dy_lm_opts dy_lm_defaults(void) {
  dy_lm_opts o = {DY_LSTM, 1, 64, 128, 0};
  return o;
}

dy_lm *dy_lm_new(dy_model *m, const char *name, uint32_t vocab, const dy_lm_opts *o) {
  dy_lm_opts d = o ? *o : dy_lm_defaults();
  if (!m || !name || !*name || vocab == 0 || d.emb == 0 || d.hidden == 0 || d.layers == 0 ||
      d.dropout < 0 || d.dropout >= 1)
    return NULL;
  dy_lm *lm = calloc(1, sizeof *lm);
  if (!lm) return NULL;
  lm->o = d;
  lm->vocab = vocab;
  if (dy_model_push(m, name) != DY_OK) {
    free(lm);
    return NULL;
  }
  lm->E = dy_model_add_lookup(m, "E", vocab, dy_d1(d.emb), dy_init_glorot());
  lm->rnn = lm->E ? dy_rnn_new(m, "rnn", d.kind, d.layers, d.emb, d.hidden) : NULL;
  lm->O = lm->rnn ? dy_model_add_param(m, "O", dy_d2(vocab, d.hidden), dy_init_glorot()) : NULL;
  lm->bo = lm->O ? dy_model_add_param(m, "b_o", dy_d1(vocab), dy_init_const(0)) : NULL;
  dy_model_pop(m);
  if (!lm->bo) {
    dy_rnn_free(lm->rnn);
    free(lm);
    return NULL;
  }
  if (d.dropout > 0) dy_rnn_set_dropout(lm->rnn, d.dropout, d.dropout);
  return lm;
}

void dy_lm_free(dy_lm *lm) {
  if (!lm) return;
  dy_rnn_free(lm->rnn);
  free(lm);
}

uint32_t dy_lm_vocab(const dy_lm *lm) { return lm->vocab; }
const dy_lm_opts *dy_lm_options(const dy_lm *lm) { return &lm->o; }
dy_rnn *dy_lm_rnn(const dy_lm *lm) { return lm->rnn; }

static uint32_t nstates(const dy_lm *lm) { return lm->o.kind == DY_LSTM ? 2u : 1u; }

size_t dy_lm_state_size(const dy_lm *lm, uint32_t B) {
  return (size_t)lm->o.layers * nstates(lm) * lm->o.hidden * B;
}

/* The RNN's start state in g: zero, or from state_in laid out per layer as
 * h (H x B) then c (H x B, LSTM only). */
static dy_rnn_state start(dy_lm *lm, dy_graph *g, uint32_t B, const dy_real *state_in) {
  if (!state_in) return dy_rnn_start(lm->rnn, g);
  dy_expr h0[DY_RNN_MAX_LAYERS], c0[DY_RNN_MAX_LAYERS];
  size_t HB = (size_t)lm->o.hidden * B;
  dy_dim d = dy_batch(dy_d1(lm->o.hidden), B);
  for (uint32_t k = 0; k < lm->o.layers; k++) {
    const dy_real *p = state_in + (size_t)k * nstates(lm) * HB;
    h0[k] = dy_input(g, d, p);
    if (lm->o.kind == DY_LSTM) c0[k] = dy_input(g, d, p + HB);
  }
  return dy_rnn_start_with(lm->rnn, g, h0, lm->o.kind == DY_LSTM ? c0 : NULL);
}

dy_status dy_lm_state_get(const dy_lm *lm, dy_rnn_state s, uint32_t B, dy_real *state_out) {
  size_t HB = (size_t)lm->o.hidden * B;
  for (uint32_t k = 0; k < lm->o.layers; k++) {
    dy_real *p = state_out + (size_t)k * nstates(lm) * HB;
    for (uint32_t w = 0; w < nstates(lm); w++) {
      dy_expr e = w == 0 ? dy_rnn_h(s, k) : dy_rnn_c(s, k);
      const dy_real *v = dy_forward(e);
      if (!v) return dy_graph_status(s.g);
      dy_dim d = dy_expr_dim(e);
      size_t n = dy_dim_per_batch(d);
      /* a zero start state is one batch-1 node: broadcast it */
      for (uint32_t b = 0; b < B; b++) memcpy(p + w * HB + b * n, v + (d.bd == 1 ? 0 : b * n), n * sizeof(dy_real));
    }
  }
  return DY_OK;
}

/* ======================================================= the output layer
 * One node for the loss of all N positions (see dy_lm_output_nll). The
 * forward keeps, per counted row r (position k = rows[r]), e_r = exp(z_k -
 * max z_k) with s_r = sum e_r subtracted at the target, in graph data
 * allocated when the node is built. Then the gradient of z_k,
 * d_k m_k (softmax(z_k) - onehot(y_k)) = (d_k m_k / s_r) e_r, is never formed:
 * the backward products take the per-row factor on their small side (h, dh,
 * the bias's gemv vector), and only the products themselves read e. */

typedef struct outl {
  const uint32_t *y; /* N targets */
  const dy_real *m;  /* N weights, or NULL: all 1 */
  uint32_t *rows;    /* the n positions with a nonzero weight, ascending */
  uint32_t n;
  dy_real *e;        /* (n, V) */
  dy_real *s;        /* (n) */
  dy_real *u;        /* (V): sum_r (m_k / s_r) e_r, the bias's gradient for d_k = 1 */
} outl;

static int outl_dim(dy_graph *g, dy_node *n) {
  const dy_node *b = dy_arg(g, n, 0), *W = dy_arg(g, n, 1), *h = dy_arg(g, n, 2);
  const outl *o = n->aux[0].cp;
  char db[64], dw[64], dh[64];
  if (!o) return dy_fail_shape(g, n, "lm_output_nll was built without its targets");
  if (b->dim.nd != 1 || W->dim.nd != 2 || h->dim.nd != 1 || b->dim.bd != 1 || W->dim.bd != 1 ||
      W->dim.d[0] != b->dim.d[0] || W->dim.d[1] != h->dim.d[0])
    return dy_fail_shape(g, n,
                         "lm_output_nll needs b {V}, W (V,H) (both batch 1) and h {H} (batch N); "
                         "got b %s, W %s, h %s",
                         dy_dim_str(b->dim, db, sizeof db), dy_dim_str(W->dim, dw, sizeof dw),
                         dy_dim_str(h->dim, dh, sizeof dh));
  for (uint32_t k = 0; k < h->dim.bd; k++)
    if (o->y[k] >= b->dim.d[0])
      return dy_fail_node(g, n, DY_EINDEX, "target %u of position %u is out of range (vocabulary %u)",
                          (unsigned)o->y[k], (unsigned)k, (unsigned)b->dim.d[0]);
  n->dim = dy_batch(dy_d1(1), h->dim.bd);
  return 0;
}

/* z = exp(z - max z), the sum s of those, and z[y] -= s; returns
 * logsumexp(z) - z[y]. One row of V (the logits, bias included). */
DY_VM_CLONE(dy_real, outl_row, (dy_real *restrict z, size_t V, uint32_t y, dy_real *restrict s_out),
            (z, V, y, s_out)) {
  dy_real mx = dy_vm_max(z, V), zy = z[y];
  dy_real acc[DY_VM_LANES] = {0};
  size_t i = 0;
  for (; i + DY_VM_LANES <= V; i += DY_VM_LANES)
    for (size_t l = 0; l < DY_VM_LANES; l++) acc[l] += (z[i + l] = dy_vexp(z[i + l] - mx));
  for (size_t l = 0; i + l < V; l++) acc[l] += (z[i + l] = dy_vexp(z[i + l] - mx));
  dy_real s = 0;
  for (size_t l = 0; l < DY_VM_LANES; l++) s += acc[l];
  z[y] -= s;
  *s_out = s;
  return mx + DY_LOG(s) - zy;
}

/* The rows of h that count, (n, H): h itself when all do, else gathered into scratch. */
static const dy_real *outl_h(dy_graph *g, const outl *o, const dy_node *h, size_t H) {
  if (o->n == h->dim.bd) return h->val;
  dy_real *hc = dy_scratch(g, (size_t)o->n * H + 1);
  for (uint32_t r = 0; r < o->n; r++)
    memcpy(hc + r * H, h->val + (size_t)o->rows[r] * H, H * sizeof(dy_real));
  return hc;
}

static void outl_fwd(dy_graph *g, dy_node *n) {
  const dy_node *b = dy_arg(g, n, 0), *W = dy_arg(g, n, 1), *h = dy_arg(g, n, 2);
  const outl *o = n->aux[0].cp;
  size_t V = b->dim.d[0], H = W->dim.d[1];
  memset(n->val, 0, n->dim.bd * sizeof(dy_real));
  if (!o->n) return;
  /* z = b + W h: the rows start as b and the product adds to them (a BLAS
   * product with beta 0 would clear them first: the same pass) */
  for (uint32_t r = 0; r < o->n; r++) memcpy(o->e + (size_t)r * V, b->val, V * sizeof(dy_real));
  dy_gemm(0, 1, o->n, V, H, 1, outl_h(g, o, h, H), H, W->val, H, 1, o->e, V);
  memset(o->u, 0, V * sizeof(dy_real));
  for (uint32_t r = 0; r < o->n; r++) {
    uint32_t k = o->rows[r];
    dy_real *e = o->e + (size_t)r * V, l = outl_row(e, V, o->y[k], &o->s[r]);
    n->val[k] = o->m ? o->m[k] * l : l;
    dy_axpy(V, (o->m ? o->m[k] : 1) / o->s[r], e, o->u); /* while e's row is in cache */
  }
}

/* c_r = d_k m_k / s_r: the factor of row r's gradient e_r. */
static dy_real *outl_factors(dy_graph *g, const dy_node *n, const outl *o) {
  dy_real *c = dy_scratch(g, o->n + 1u);
  for (uint32_t r = 0; r < o->n; r++) {
    uint32_t k = o->rows[r];
    c[r] = n->grad[k] * (o->m ? o->m[k] : 1) / o->s[r];
  }
  return c;
}

static void outl_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  dy_node *b = dy_arg(g, n, 0), *W = dy_arg(g, n, 1), *h = dy_arg(g, n, 2), *a = dy_arg(g, n, i);
  const outl *o = n->aux[0].cp;
  size_t V = b->dim.d[0], H = W->dim.d[1], N = h->dim.bd;
  int fresh = dy_grad_fresh(a);
  if (!o->n) {
    if (fresh) memset(a->grad, 0, dy_dim_size(a->dim) * sizeof(dy_real));
    return;
  }
  if (i == 0) { /* db (+)= e^T c: d u when every d_k is the same (a summed loss) */
    dy_real d = n->grad[o->rows[0]];
    uint32_t r = 1;
    while (r < o->n && n->grad[o->rows[r]] == d) r++;
    if (r == o->n) {
      if (fresh)
        for (size_t v = 0; v < V; v++) b->grad[v] = d * o->u[v];
      else
        dy_axpy(V, d, o->u, b->grad);
    } else {
      dy_gemv(1, o->n, V, 1, o->e, V, outl_factors(g, n, o), fresh ? 0 : 1, b->grad);
    }
    return;
  }
  const dy_real *c = outl_factors(g, n, o);
  if (i == 1) { /* dW (+)= e^T (c * h) */
    const dy_real *hc = outl_h(g, o, h, H);
    dy_real *hs = dy_scratch(g, (size_t)o->n * H);
    for (uint32_t r = 0; r < o->n; r++)
      for (size_t j = 0; j < H; j++) hs[r * H + j] = c[r] * hc[r * H + j];
    dy_gemm(1, 0, V, H, o->n, 1, o->e, V, hs, H, fresh ? 0 : 1, W->grad, H);
  } else { /* dh_k (+)= c_r (e W)_r; rows that do not count get nothing */
    dy_real *t = dy_scratch(g, (size_t)o->n * H);
    dy_gemm(0, 0, o->n, H, V, 1, o->e, V, W->val, H, 0, t, H);
    if (fresh && o->n != N) memset(h->grad, 0, N * H * sizeof(dy_real));
    for (uint32_t r = 0; r < o->n; r++) {
      dy_real *dh = h->grad + (size_t)o->rows[r] * H;
      const dy_real *tr = t + r * H;
      if (fresh)
        for (size_t j = 0; j < H; j++) dh[j] = c[r] * tr[j];
      else
        for (size_t j = 0; j < H; j++) dh[j] += c[r] * tr[j];
    }
  }
}

static const dy_op op_outl = {"lm_output_nll", 3, DY_OP_BWD_ASSIGN, outl_dim, outl_fwd, outl_bwd};

dy_expr dy_lm_output_nll(dy_expr b, dy_expr W, dy_expr h, const uint32_t *y, const dy_real *m) {
  dy_expr args[3] = {b, W, h};
  dy_graph *g = h.g;
  dy_expr bad = {g, DY_INVALID_ID, 0};
  if (!g || dy_graph_status(g) != DY_OK) return dy_apply(&op_outl, args, 3, NULL);
  size_t N = dy_expr_dim(h).bd, V = dy_expr_dim(b).d[0];
  if (N == 0 || V == 0) return dy_apply(&op_outl, args, 3, NULL); /* reports the bad argument */
  if (!y) {
    dy_fail(g, DY_EARG, "lm_output_nll: the target array is NULL");
    return bad;
  }
  outl *o = dy_graph_data(g, sizeof *o);
  uint32_t *yc = dy_graph_data(g, N * sizeof(uint32_t)), *rows = dy_graph_data(g, N * sizeof(uint32_t));
  dy_real *mc = m ? dy_graph_data(g, N * sizeof(dy_real)) : NULL;
  if (!o || !yc || !rows || (m && !mc)) return bad;
  memcpy(yc, y, N * sizeof(uint32_t));
  uint32_t cnt = 0;
  for (uint32_t k = 0; k < N; k++)
    if (!m || m[k] != 0) rows[cnt++] = k;
  if (m) memcpy(mc, m, N * sizeof(dy_real));
  dy_real *e = dy_graph_data(g, ((size_t)cnt * V + cnt + V) * sizeof(dy_real));
  if (!e) return bad;
  *o = (outl){yc, mc, rows, cnt, e, e + (size_t)cnt * V, e + (size_t)cnt * V + cnt};
  dy_aux aux[DY_NAUX] = {{.cp = o}, {0}, {0}};
  return dy_apply(&op_outl, args, 3, aux);
}

dy_expr dy_lm_loss(dy_lm *lm, dy_graph *g, const uint32_t *in, const uint32_t *out,
                   const dy_real *mask, uint32_t T, uint32_t B, const dy_real *state_in,
                   dy_rnn_state *final) {
  dy_expr bad = {g, DY_INVALID_ID, 0};
  if (!g) return bad;
  if (T == 0 || B == 0) {
    dy_fail(g, DY_EARG, "lm_loss: empty minibatch (T=%u, B=%u)", (unsigned)T, (unsigned)B);
    return bad;
  }
  /* ids are checked here so the message names the position */
  for (size_t i = 0; i < (size_t)T * B; i++)
    if (in[i] >= lm->vocab || out[i] >= lm->vocab) {
      dy_fail(g, DY_EINDEX, "lm_loss: token id %u at step %zu, stream %zu is out of range (vocabulary %u)",
              (unsigned)(in[i] >= lm->vocab ? in[i] : out[i]), i / B, i % B, (unsigned)lm->vocab);
      return bad;
    }
  dy_expr *hs = dy_graph_data(g, (size_t)T * sizeof(dy_expr));
  if (!hs) return bad;
  dy_rnn_state s = start(lm, g, B, state_in);
  for (uint32_t t = 0; t < T; t++) {
    dy_expr x = dy_lookup_batch(g, lm->E, in + (size_t)t * B, B);
    s = dy_rnn_add_input(s, x);
    hs[t] = dy_rnn_output(s);
  }
  if (final) *final = s;
  dy_expr hall = T == 1 ? hs[0] : dy_concat_to_batch(hs, T);
  /* the output layer and loss once over all T*B positions: (V,H) x {H}x(T*B) */
  return dy_sum_batches(dy_lm_output_nll(dy_param_expr(g, lm->bo), dy_param_expr(g, lm->O), hall, out, mask));
}

dy_expr dy_lm_sentences_loss(dy_lm *lm, dy_graph *g, const uint32_t *const *sents,
                             const uint32_t *len, uint32_t B, uint32_t bos, uint32_t eos,
                             size_t *ntok) {
  dy_expr bad = {g, DY_INVALID_ID, 0};
  if (!g) return bad;
  uint32_t maxlen = 0;
  size_t tok = 0;
  for (uint32_t b = 0; b < B; b++) {
    if (len[b] > maxlen) maxlen = len[b];
    tok += (size_t)len[b] + 1;
  }
  if (ntok) *ntok = tok;
  uint32_t T = maxlen + 1;
  size_t n = (size_t)T * B;
  uint32_t *in = dy_graph_data(g, n * sizeof(uint32_t));
  uint32_t *out = dy_graph_data(g, n * sizeof(uint32_t));
  dy_real *mask = dy_graph_data(g, n * sizeof(dy_real));
  if (!in || !out || !mask) return bad;
  int padded = 0;
  for (uint32_t t = 0; t < T; t++)
    for (uint32_t b = 0; b < B; b++) {
      size_t i = (size_t)t * B + b;
      in[i] = t == 0 ? bos : (t - 1 < len[b] ? sents[b][t - 1] : eos);
      out[i] = t < len[b] ? sents[b][t] : eos;
      mask[i] = t <= len[b] ? 1 : 0;
      padded |= t > len[b];
    }
  return dy_lm_loss(lm, g, in, out, padded ? mask : NULL, T, B, NULL, NULL);
}

dy_status dy_lm_sample(dy_lm *lm, dy_graph *g, const uint32_t *prime, uint32_t np, uint32_t n,
                       double temp, uint64_t seed, uint32_t *out) {
  if (!g) return DY_EARG;
  dy_graph_renew(g);
  if (np == 0 || !(temp > 0)) {
    dy_fail(g, DY_EARG, "lm_sample: needs at least one prime id and a temperature > 0 (got %u, %g)",
            (unsigned)np, temp);
    return DY_EARG;
  }
  int train = dy_graph_train(g);
  dy_graph_set_train(g, 0);
  dy_expr O = dy_const_param_expr(g, lm->O), bo = dy_const_param_expr(g, lm->bo);
  dy_rnn_state s = dy_rnn_start(lm->rnn, g);
  double *p = malloc(lm->vocab * sizeof(double));
  dy_status st = p ? DY_OK : DY_ENOMEM;
  uint32_t next = prime[0];
  for (uint32_t k = 0; st == DY_OK && k + 1 < np + n; k++) {
    uint32_t id = k < np ? prime[k] : next;
    if (id >= lm->vocab) {
      dy_fail(g, DY_EINDEX, "lm_sample: prime id %u at %u is out of range (vocabulary %u)",
              (unsigned)id, (unsigned)k, (unsigned)lm->vocab);
      st = DY_EINDEX;
      break;
    }
    s = dy_rnn_add_input(s, dy_const_lookup(g, lm->E, id));
    if (k + 1 < np) continue; /* still reading the prime */
    const dy_real *z = dy_forward(dy_affine(bo, O, dy_rnn_output(s)));
    if (!z) {
      st = dy_graph_status(g);
      break;
    }
    /* softmax(z / temp), then one draw */
    double mx = -INFINITY, sum = 0;
    for (uint32_t v = 0; v < lm->vocab; v++)
      if (z[v] / temp > mx) mx = z[v] / temp;
    for (uint32_t v = 0; v < lm->vocab; v++) sum += (p[v] = exp(z[v] / temp - mx));
    double u = dy_unif(seed, k) * sum, acc = 0;
    next = lm->vocab - 1;
    for (uint32_t v = 0; v < lm->vocab; v++) {
      acc += p[v];
      if (u < acc) {
        next = v;
        break;
      }
    }
    out[k + 1 - np] = next;
  }
  free(p);
  dy_graph_set_train(g, train);
  return st;
}
