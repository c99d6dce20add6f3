/* Whole-sequence recurrent ops (the cuDNN / nn.LSTM form): one node runs one
 * layer and direction of an S-RNN, LSTM or GRU over all T positions of a
 * sequence (equations in dy_models.h), given the input products
 * P = W_x x_t + b for every t as one batch-T argument.
 *
 * Forward: per step one gemv with W_h and one fused loop of the gate
 * nonlinearities; the gates and cell states of every step stay in the node's
 * graph data (allocated when the node is built, no malloc). Backward is BPTT
 * over the stored steps: per step one gemv_t with W_h and one fused loop,
 * then dW_h as ONE matrix product over all steps. The BPTT sweep runs once,
 * in the backward call of the lowest-numbered argument that needs a gradient
 * (the engine calls arguments in increasing order); the other arguments'
 * calls read its results from the node's data.
 *
 * Arguments, in order (optional ones present as flagged in aux[0]):
 *   lstm_seq: P (4H) batch T, W_h (4H, H), [h0 (H)], [c0 (H)], [mask (H)]
 *   gru_seq:  P (3H) batch T, W_h (3H, H), b_h (3H), [h0 (H)], [mask (H)]
 *   srnn_seq: P (H) batch T,  W_h (H, H), [h0 (H)], [mask (H)]
 * Output h_t (H) batch T, in position order also when reversed (the step at
 * position t then reads the state of position t+1). mask multiplies
 * h_{t-1} where it enters W_h (recurrent dropout), as in the builders. */
#include <string.h>

#include "dy_kernels.h"
#include "dy_models.h"
#include "dy_op.h"
#include "vmath.h"

#define SEQ_REV 1u
#define SEQ_H0 2u
#define SEQ_C0 4u
#define SEQ_MASK 8u
#define SEQ_WT_MIN 2 /* positions from which W_h is transposed once per forward */
#define SEQ_WT_ALIGN 16 /* dy_reals: rows of W_h^T start on 64-byte boundaries */

/* Row stride of W_h^T (H, G): G rounded up to SEQ_WT_ALIGN. */
static size_t wt_ld(size_t G) { return (G + SEQ_WT_ALIGN - 1) / SEQ_WT_ALIGN * SEQ_WT_ALIGN; }

/* Per-node data: forward state and the BPTT results (sizes per kind). */
typedef struct seq_data {
  dy_real *st;  /* forward state per position: LSTM gates 4H, c H, tanh(c) H;
                   GRU r, u, n, q_n (4H); SRNN none */
  dy_real *dp;  /* dL/dP (G per position) */
  dy_real *dq;  /* GRU: dL/dq (3H per position) */
  dy_real *dh0; /* dL/dh0 (H) */
  dy_real *dc0; /* LSTM: dL/dc0 (H) */
  dy_real *wt;  /* W_h^T (H, G) with row stride wt_ld(G), 64-byte aligned, written by
                   forward; NULL for single positions */
} seq_data;

typedef enum { K_SRNN, K_LSTM, K_GRU } seq_kind;

static uint32_t ngates(seq_kind k) { return k == K_LSTM ? 4 : k == K_GRU ? 3 : 1; }
static const char *kname(seq_kind k) { return k == K_LSTM ? "lstm_seq" : k == K_GRU ? "gru_seq" : "srnn_seq"; }

/* Argument indices of the optional arguments (-1 when absent). */
typedef struct seq_args {
  int h0, c0, mask, bh;
  uint32_t n;
} seq_args;

static seq_args args_of(seq_kind k, uint64_t fl) {
  seq_args a = {-1, -1, -1, -1, 2};
  if (k == K_GRU) a.bh = (int)a.n++;
  if (fl & SEQ_H0) a.h0 = (int)a.n++;
  if (k == K_LSTM && (fl & SEQ_C0)) a.c0 = (int)a.n++;
  if (fl & SEQ_MASK) a.mask = (int)a.n++;
  return a;
}

/* ================================================================ shapes */

static int want_vec1(dy_graph *g, dy_node *n, int i, uint32_t len, const char *what) {
  const dy_node *a = dy_arg(g, n, (uint32_t)i);
  if (a->dim.nd != 1 || a->dim.d[0] != len || a->dim.bd != 1) {
    char db[64];
    return dy_fail_shape(g, n, "argument %d (%s) has dim %s but must be a vector {%u} of batch 1", i, what,
                         dy_dim_str(a->dim, db, sizeof db), (unsigned)len);
  }
  return 0;
}

static int seq_dim(dy_graph *g, dy_node *n, seq_kind k) {
  seq_args a = args_of(k, n->aux[0].u);
  uint32_t G = ngates(k);
  if (n->nargs != a.n)
    return dy_fail_node(g, n, DY_EARG, "%s expects %u arguments for its flags, got %u", kname(k), (unsigned)a.n,
                         (unsigned)n->nargs);
  const dy_node *W = dy_arg(g, n, 1), *P = dy_arg(g, n, 0);
  char db[64];
  if (W->dim.nd != 2 || W->dim.bd != 1 || W->dim.d[0] != G * W->dim.d[1])
    return dy_fail_shape(g, n, "W_h (argument 1) has dim %s but must be a matrix {%uH, H} of batch 1",
                         dy_dim_str(W->dim, db, sizeof db), (unsigned)G);
  uint32_t H = W->dim.d[1];
  if (P->dim.nd != 1 || P->dim.d[0] != G * H)
    return dy_fail_shape(g, n, "the input products P (argument 0) have dim %s but must be a vector {%u} (%uH, H = %u) "
                         "with the T positions as the batch",
                         dy_dim_str(P->dim, db, sizeof db), (unsigned)(G * H), (unsigned)G, (unsigned)H);
  if (a.bh >= 0 && want_vec1(g, n, a.bh, G * H, "b_h")) return -1;
  if (a.h0 >= 0 && want_vec1(g, n, a.h0, H, "h0")) return -1;
  if (a.c0 >= 0 && want_vec1(g, n, a.c0, H, "c0")) return -1;
  if (a.mask >= 0 && want_vec1(g, n, a.mask, H, "mask")) return -1;
  size_t T = P->dim.bd;
  n->dim = dy_batch(dy_d1(H), (uint32_t)T);
  size_t st = k == K_LSTM ? 6 * H * T : k == K_GRU ? 4 * H * T : 0;
  size_t dq = k == K_GRU ? 3 * H * T : 0;
  size_t nwt = T >= SEQ_WT_MIN ? (size_t)H * wt_ld((size_t)G * H) + SEQ_WT_ALIGN : 0;
  size_t total = st + G * H * T + dq + 2 * (size_t)H + nwt;
  seq_data *d = dy_graph_data(g, sizeof *d + total * sizeof(dy_real) + 64);
  if (!d) return -1;
  dy_real *p = (dy_real *)(((uintptr_t)(d + 1) + 63) & ~(uintptr_t)63);
  d->st = p;
  d->dp = p + st;
  d->dq = d->dp + G * H * T;
  d->dh0 = d->dq + dq;
  d->dc0 = d->dh0 + H;
  d->wt = nwt ? (dy_real *)(((uintptr_t)(d->dc0 + H) + 63) & ~(uintptr_t)63) : NULL;
  n->aux[1].p = d;
  return 0;
}

/* ======================================================= fused step loops */

static inline dy_real sigm(dy_real x) { return dy_vsigmoid(x); }

/* Runs body for j in [0, n) in chunks of 16 that the compiler vectorises
 * whole, the last chunk overlapping the one before when 16 does not divide n
 * (no scalar tail of exp/tanh: for H = 50 the tails were half the step's
 * cost). Only for bodies that write outputs from other inputs (recomputing an
 * element writes the same value). */
#define SEQ_CHUNKED(n, j, body)                                        \
  do {                                                                 \
    size_t n_ = (n);                                                   \
    if (n_ < 16) {                                                     \
      for (size_t j = 0; j < n_; j++) { body; }                        \
    } else {                                                           \
      for (size_t j0_ = 0; j0_ < n_; j0_ += 16) {                      \
        size_t b_ = j0_ + 16 <= n_ ? j0_ : n_ - 16;                    \
        for (size_t l_ = 0; l_ < 16; l_++) {                           \
          size_t j = b_ + l_;                                          \
          body;                                                        \
        }                                                              \
      }                                                                \
    }                                                                  \
  } while (0)

/* a (4H, pre-activations) -> gates gt (4H); c = f cp + i z; tc = tanh(c); h = o tc */
DY_VM_CLONE_VOID(lstm_fwd_step,
                 (const dy_real *restrict a, dy_real *restrict gt, const dy_real *restrict cp, dy_real *restrict c,
                  dy_real *restrict tc, dy_real *restrict h, size_t H),
                 (a, gt, cp, c, tc, h, H)) {
  const dy_real *az = a + 3 * H;
  dy_real *gi = gt, *gf = gt + H, *go = gt + 2 * H, *gz = gt + 3 * H;
  SEQ_CHUNKED(3 * H, j, gt[j] = sigm(a[j]));
  SEQ_CHUNKED(H, j, gz[j] = dy_vtanh(az[j]));
  if (cp) SEQ_CHUNKED(H, j, c[j] = gf[j] * cp[j] + gi[j] * gz[j]);
  else SEQ_CHUNKED(H, j, c[j] = gi[j] * gz[j]);
  SEQ_CHUNKED(H, j, tc[j] = dy_vtanh(c[j]));
  SEQ_CHUNKED(H, j, h[j] = go[j] * tc[j]);
}

/* One BPTT step: dh (H, total), dc (H, in: from the later step; out: to the
 * earlier one) -> da (4H, pre-activation gradient). */
DY_VM_CLONE_VOID(lstm_bwd_step,
                 (const dy_real *restrict gt, const dy_real *restrict cp, const dy_real *restrict tc,
                  const dy_real *restrict dh, dy_real *restrict dc, dy_real *restrict da, size_t H),
                 (gt, cp, tc, dh, dc, da, H)) {
  const dy_real *gi = gt, *gf = gt + H, *go = gt + 2 * H, *gz = gt + 3 * H;
  for (size_t j = 0; j < H; j++) {
    dy_real dct = dc[j] + dh[j] * go[j] * (1 - tc[j] * tc[j]);
    dy_real cpj = cp ? cp[j] : 0;
    da[j] = dct * gz[j] * gi[j] * (1 - gi[j]);
    da[H + j] = dct * cpj * gf[j] * (1 - gf[j]);
    da[2 * H + j] = dh[j] * tc[j] * go[j] * (1 - go[j]);
    da[3 * H + j] = dct * gi[j] * (1 - gz[j] * gz[j]);
    dc[j] = dct * gf[j];
  }
}

/* q (3H: W_h h + b_h), p (3H) -> s = r, u, n, q_n; h = (1-u) n + u hp */
DY_VM_CLONE_VOID(gru_fwd_step,
                 (const dy_real *restrict p, const dy_real *restrict q, const dy_real *restrict hp,
                  dy_real *restrict s, dy_real *restrict h, size_t H),
                 (p, q, hp, s, h, H)) {
  dy_real *r = s, *u = s + H, *nn = s + 2 * H, *qn = s + 3 * H;
  SEQ_CHUNKED(H, j, {
    r[j] = sigm(p[j] + q[j]);
    u[j] = sigm(p[H + j] + q[H + j]);
    qn[j] = q[2 * H + j];
    nn[j] = dy_vtanh(p[2 * H + j] + r[j] * qn[j]);
  });
  if (hp) SEQ_CHUNKED(H, j, h[j] = (1 - u[j]) * nn[j] + u[j] * hp[j]);
  else SEQ_CHUNKED(H, j, h[j] = (1 - u[j]) * nn[j]);
}

/* One GRU BPTT step: dh (H, total) -> dp, dq (3H each), dhp = dh u (H) */
DY_VM_CLONE_VOID(gru_bwd_step,
                 (const dy_real *restrict s, const dy_real *restrict hp, const dy_real *restrict dh,
                  dy_real *restrict dp, dy_real *restrict dq, dy_real *restrict dhp, size_t H),
                 (s, hp, dh, dp, dq, dhp, H)) {
  const dy_real *r = s, *u = s + H, *nn = s + 2 * H, *qn = s + 3 * H;
  for (size_t j = 0; j < H; j++) {
    dy_real dn = dh[j] * (1 - u[j]) * (1 - nn[j] * nn[j]);
    dy_real du = dh[j] * ((hp ? hp[j] : 0) - nn[j]) * u[j] * (1 - u[j]);
    dy_real dr = dn * qn[j] * r[j] * (1 - r[j]);
    dp[j] = dq[j] = dr;
    dp[H + j] = dq[H + j] = du;
    dp[2 * H + j] = dn;
    dq[2 * H + j] = dn * r[j];
    dhp[j] = dh[j] * u[j];
  }
}

DY_VM_CLONE_VOID(srnn_fwd_step, (const dy_real *restrict a, dy_real *restrict h, size_t H), (a, h, H)) {
  SEQ_CHUNKED(H, j, h[j] = dy_vtanh(a[j]));
}

/* ================================================================ forward */

/* With W_h^T (H, G; rows padded to 64 bytes) each step's product streams
 * aligned G-wide rows with the output in registers (forward) or takes G-long
 * dot products (BPTT): for G = 200, H = 50 about 3x and 1.7x faster than the
 * same products on W_h's 50-wide rows. The copy (dy_transposek, 16x16 tiles)
 * costs about one such product, so every sequence of two or more positions
 * uses it. */

/* y (G) += W (G, H) x (H), from WT = W^T when there is one */
static inline void wh_times(const dy_real *W, const dy_real *WT, size_t G, size_t H, const dy_real *x, dy_real *y) {
  if (WT) dy_gemv(1, H, G, 1, WT, wt_ld(G), x, 1, y);
  else dy_gemv(0, G, H, 1, W, H, x, 1, y);
}

/* y (H) = W^T x (G) */
static inline void wht_times(const dy_real *W, const dy_real *WT, size_t G, size_t H, const dy_real *x, dy_real *y) {
  if (WT) dy_gemv(0, H, G, 1, WT, wt_ld(G), x, 0, y);
  else dy_gemv(1, G, H, 1, W, H, x, 0, y);
}

/* Position of step s (0 = first processed) and of the step before it. */
static inline size_t pos_of(size_t s, size_t T, int rev) { return rev ? T - 1 - s : s; }

/* hin = hp * mask (into buf) or hp itself */
static const dy_real *masked(const dy_real *hp, const dy_real *mask, dy_real *buf, size_t H) {
  if (!mask || !hp) return hp;
  for (size_t j = 0; j < H; j++) buf[j] = hp[j] * mask[j];
  return buf;
}

static void seq_fwd(dy_graph *g, dy_node *n, seq_kind k) {
  seq_args a = args_of(k, n->aux[0].u);
  int rev = (n->aux[0].u & SEQ_REV) != 0;
  seq_data *d = n->aux[1].p;
  const dy_node *P = dy_arg(g, n, 0);
  const dy_real *W = dy_arg(g, n, 1)->val;
  const dy_real *h0 = a.h0 >= 0 ? dy_arg(g, n, (uint32_t)a.h0)->val : NULL;
  const dy_real *c0 = a.c0 >= 0 ? dy_arg(g, n, (uint32_t)a.c0)->val : NULL;
  const dy_real *mask = a.mask >= 0 ? dy_arg(g, n, (uint32_t)a.mask)->val : NULL;
  const dy_real *bh = a.bh >= 0 ? dy_arg(g, n, (uint32_t)a.bh)->val : NULL;
  size_t H = n->dim.d[0], T = n->dim.bd, G = ngates(k) * H;
  dy_real *buf = dy_scratch(g, 5 * H), *q = buf + H; /* q: G pre-activations */
  if (d->wt) dy_transposek(G, H, W, H, d->wt, wt_ld(G));
  const dy_real *hp = h0, *cp = c0;
  for (size_t s = 0; s < T; s++) {
    size_t p = pos_of(s, T, rev);
    dy_real *h = n->val + p * H;
    const dy_real *hin = masked(hp, mask, buf, H);
    if (k == K_LSTM) {
      dy_real *gt = d->st + p * 6 * H, *c = gt + 4 * H, *tc = c + H;
      memcpy(q, P->val + p * G, G * sizeof(dy_real));
      if (hin) wh_times(W, d->wt, G, H, hin, q);
      lstm_fwd_step(q, gt, cp, c, tc, h, H);
      cp = c;
    } else if (k == K_GRU) {
      memcpy(q, bh, G * sizeof(dy_real));
      if (hin) wh_times(W, d->wt, G, H, hin, q);
      gru_fwd_step(P->val + p * G, q, hp, d->st + p * 4 * H, h, H);
    } else {
      memcpy(q, P->val + p * G, G * sizeof(dy_real));
      if (hin) wh_times(W, d->wt, G, H, hin, q);
      srnn_fwd_step(q, h, H);
    }
    hp = h;
  }
}

/* =============================================================== backward */

/* The BPTT sweep: fills d->dp (and d->dq, d->dh0, d->dc0). */
static void seq_bptt(dy_graph *g, dy_node *n, seq_kind k) {
  seq_args a = args_of(k, n->aux[0].u);
  int rev = (n->aux[0].u & SEQ_REV) != 0;
  seq_data *d = n->aux[1].p;
  const dy_real *W = dy_arg(g, n, 1)->val;
  const dy_real *h0 = a.h0 >= 0 ? dy_arg(g, n, (uint32_t)a.h0)->val : NULL;
  const dy_real *c0 = a.c0 >= 0 ? dy_arg(g, n, (uint32_t)a.c0)->val : NULL;
  const dy_real *mask = a.mask >= 0 ? dy_arg(g, n, (uint32_t)a.mask)->val : NULL;
  size_t H = n->dim.d[0], T = n->dim.bd, G = ngates(k) * H;
  dy_real *dhn = dy_scratch(g, 4 * H), *dc = dhn + H, *dh = dc + H, *dhp = dh + H;
  memset(dhn, 0, 2 * H * sizeof(dy_real)); /* dhn, dc */
  for (size_t s = T; s-- > 0;) {
    size_t p = pos_of(s, T, rev), pp = rev ? p + 1 : p - 1; /* pp: previous step's position */
    const dy_real *hp = s ? n->val + pp * H : h0;
    for (size_t j = 0; j < H; j++) dh[j] = n->grad[p * H + j] + dhn[j];
    dy_real *dp = d->dp + p * G, *dr; /* dr: the gradient that goes through W_h */
    if (k == K_LSTM) {
      const dy_real *gt = d->st + p * 6 * H, *cp = s ? d->st + pp * 6 * H + 4 * H : c0;
      lstm_bwd_step(gt, cp, gt + 5 * H, dh, dc, dp, H);
      dr = dp;
    } else if (k == K_GRU) {
      dr = d->dq + p * G;
      gru_bwd_step(d->st + p * 4 * H, hp, dh, dp, dr, dhp, H);
    } else {
      const dy_real *h = n->val + p * H;
      for (size_t j = 0; j < H; j++) dp[j] = dh[j] * (1 - h[j] * h[j]);
      dr = dp;
    }
    if (!hp) break; /* the first step had no state before it */
    /* dhn = mask * W_h^T dr (+ dh u for the GRU, whose h reads h_{t-1} directly) */
    wht_times(W, d->wt, G, H, dr, dhn);
    if (mask)
      for (size_t j = 0; j < H; j++) dhn[j] *= mask[j];
    if (k == K_GRU)
      for (size_t j = 0; j < H; j++) dhn[j] += dhp[j];
  }
  if (h0) memcpy(d->dh0, dhn, H * sizeof(dy_real));
  if (c0) memcpy(d->dc0, dc, H * sizeof(dy_real));
}

/* dst (+)= src (n) */
static void put(dy_real *dst, const dy_real *src, size_t n, int fresh) {
  if (fresh) memcpy(dst, src, n * sizeof(dy_real));
  else dy_vadd(n, src, dst);
}

/* The rows of the steps that read a previous state inside the sequence:
 * their positions are [r0, r0 + T-1) and the states they read are the
 * outputs at positions [r0 + 1 - 2*r0, ...): forward r0 = 1 reading 0..T-2,
 * reversed r0 = 0 reading 1..T-1. */
static void seq_bwd(dy_graph *g, dy_node *n, uint32_t i, seq_kind k) {
  seq_args a = args_of(k, n->aux[0].u);
  int rev = (n->aux[0].u & SEQ_REV) != 0;
  seq_data *d = n->aux[1].p;
  uint32_t first = 0;
  while (first < n->nargs && !(dy_arg(g, n, first)->flags & DY_NODE_NEEDS_GRAD)) first++;
  if (i <= first) seq_bptt(g, n, k);
  dy_node *A = dy_arg(g, n, i);
  int fresh = dy_grad_fresh(A);
  size_t H = n->dim.d[0], T = n->dim.bd, G = ngates(k) * H;
  const dy_real *mask = a.mask >= 0 ? dy_arg(g, n, (uint32_t)a.mask)->val : NULL;
  const dy_real *h0 = a.h0 >= 0 ? dy_arg(g, n, (uint32_t)a.h0)->val : NULL;
  const dy_real *dr = k == K_GRU ? d->dq : d->dp; /* gradient of W_h hin (+ b_h) per position */
  size_t p0 = pos_of(0, T, rev);                  /* the first step's position */
  size_t rr = rev ? 0 : 1, hr = rev ? 1 : 0;      /* rows of the in-sequence steps, their states */
  if (i == 0) {
    put(A->grad, d->dp, G * T, fresh);
  } else if (i == 1) { /* dW_h = sum_t dr_t hin_t^T */
    int beta = !fresh;
    if (T > 1) {
      const dy_real *Hin = n->val + hr * H;
      if (mask) {
        dy_real *m = dy_scratch(g, (T - 1) * H);
        for (size_t r = 0; r < T - 1; r++)
          for (size_t j = 0; j < H; j++) m[r * H + j] = Hin[r * H + j] * mask[j];
        Hin = m;
      }
      dy_gemm(1, 0, G, H, T - 1, 1, dr + rr * G, G, Hin, H, (dy_real)beta, A->grad, H);
      beta = 1;
    }
    if (!beta) memset(A->grad, 0, G * H * sizeof(dy_real));
    if (h0) {
      dy_real *m = dy_scratch(g, H);
      dy_ger(G, H, 1, dr + p0 * G, masked(h0, mask, m, H), A->grad, H);
    }
  } else if ((int)i == a.bh) {
    put(A->grad, dr, G, fresh);
    for (size_t p = 1; p < T; p++) dy_vadd(G, dr + p * G, A->grad);
  } else if ((int)i == a.h0) {
    put(A->grad, d->dh0, H, fresh);
  } else if ((int)i == a.c0) {
    put(A->grad, d->dc0, H, fresh);
  } else { /* the mask: dmask_j = sum_t hp_t[j] (W_h^T dr_t)[j] */
    const dy_real *W = dy_arg(g, n, 1)->val;
    size_t rows = T - 1 + (h0 != NULL);
    dy_real *S = dy_scratch(g, (rows + 1) * H);
    if (!fresh) memcpy(S + rows * H, A->grad, H * sizeof(dy_real));
    else memset(S + rows * H, 0, H * sizeof(dy_real));
    dy_real *acc = S + rows * H;
    if (T > 1) {
      dy_gemm(0, 0, T - 1, H, G, 1, dr + rr * G, G, W, H, 0, S, H);
      for (size_t r = 0; r < T - 1; r++)
        for (size_t j = 0; j < H; j++) acc[j] += S[r * H + j] * n->val[(hr + r) * H + j];
    }
    if (h0) {
      dy_gemv(1, G, H, 1, W, H, dr + p0 * G, 0, S);
      for (size_t j = 0; j < H; j++) acc[j] += S[j] * h0[j];
    }
    memcpy(A->grad, acc, H * sizeof(dy_real));
  }
}

/* ============================================================ descriptors */

static int lstm_dim(dy_graph *g, dy_node *n) { return seq_dim(g, n, K_LSTM); }
static int gru_dim(dy_graph *g, dy_node *n) { return seq_dim(g, n, K_GRU); }
static int srnn_dim(dy_graph *g, dy_node *n) { return seq_dim(g, n, K_SRNN); }
static void lstm_fwd(dy_graph *g, dy_node *n) { seq_fwd(g, n, K_LSTM); }
static void gru_fwd(dy_graph *g, dy_node *n) { seq_fwd(g, n, K_GRU); }
static void srnn_fwd(dy_graph *g, dy_node *n) { seq_fwd(g, n, K_SRNN); }
static void lstm_bwd(dy_graph *g, dy_node *n, uint32_t i) { seq_bwd(g, n, i, K_LSTM); }
static void gru_bwd(dy_graph *g, dy_node *n, uint32_t i) { seq_bwd(g, n, i, K_GRU); }
static void srnn_bwd(dy_graph *g, dy_node *n, uint32_t i) { seq_bwd(g, n, i, K_SRNN); }

static const dy_op op_lstm_seq = {"lstm_seq", -1, DY_OP_BWD_ASSIGN, lstm_dim, lstm_fwd, lstm_bwd};
static const dy_op op_gru_seq = {"gru_seq", -1, DY_OP_BWD_ASSIGN, gru_dim, gru_fwd, gru_bwd};
static const dy_op op_srnn_seq = {"srnn_seq", -1, DY_OP_BWD_ASSIGN, srnn_dim, srnn_fwd, srnn_bwd};

const dy_op *const dy_ops_rnn_seq[] = {&op_lstm_seq, &op_gru_seq, &op_srnn_seq, NULL};

static dy_expr build(const dy_op *op, seq_kind k, dy_expr P, dy_expr W_h, const dy_expr *b_h,
                     const dy_expr *h0, const dy_expr *c0, const dy_expr *mask, int reverse) {
  dy_expr x[6];
  uint32_t m = 0;
  dy_aux aux[DY_NAUX];
  memset(aux, 0, sizeof aux);
  aux[0].u = reverse ? SEQ_REV : 0;
  x[m++] = P;
  x[m++] = W_h;
  if (k == K_GRU) x[m++] = *b_h;
  if (h0) x[m++] = *h0, aux[0].u |= SEQ_H0;
  if (c0) x[m++] = *c0, aux[0].u |= SEQ_C0;
  if (mask) x[m++] = *mask, aux[0].u |= SEQ_MASK;
  return dy_apply(op, x, m, aux);
}

dy_expr dy_lstm_seq(dy_expr P, dy_expr W_h, const dy_expr *h0, const dy_expr *c0, const dy_expr *mask,
                    int reverse) {
  return build(&op_lstm_seq, K_LSTM, P, W_h, NULL, h0, c0, mask, reverse);
}

dy_expr dy_gru_seq(dy_expr P, dy_expr W_h, dy_expr b_h, const dy_expr *h0, const dy_expr *mask, int reverse) {
  return build(&op_gru_seq, K_GRU, P, W_h, &b_h, h0, NULL, mask, reverse);
}

dy_expr dy_srnn_seq(dy_expr P, dy_expr W_h, const dy_expr *h0, const dy_expr *mask, int reverse) {
  return build(&op_srnn_seq, K_SRNN, P, W_h, NULL, h0, NULL, mask, reverse);
}
