/* dync-bench bptt: backpropagation through time you can look at.
 *
 * Unrolls a tiny S-RNN and a tiny LSTM (reference path: every gate is its own
 * node) over one sequence of the long-range task (recall the first symbol,
 * inputs one-hot), runs forward and backward, and writes per model a DOT
 * graph with values and gradients (one cluster per time step, edges labelled
 * with the norm of the gradient flowing back along them), rendered to SVG and
 * PNG when Graphviz is installed. It also writes the 4-step S-RNN picture
 * the README shows (bptt_srnn_4steps.*).
 *
 * Time steps are numbered as in the graph: x_t is the t-th input (t = 0 ..
 * T-1), h_t (c_t) the state after reading it, h_init (c_init) the initial
 * state (zero, a variable so its gradient shows). Printed per step:
 *   ||dL/dh_t|| (and ||dL/dc_t|| for the LSTM) after backward from the loss;
 *   ||J_t|| = ||ds_t/ds_{t-1}||, the spectral norm (largest singular value) of
 *   the exact local Jacobian of the recurrent state (s = h for the S-RNN,
 *   s = [h; c] for the LSTM), built row by row by backward passes from each
 *   state element, its norm found by power iteration on J^T J;
 *   P_t = prod_{k>t} ||J_k||, so ||dL/ds_t|| <= ||dL/ds_{T-1}|| * P_t.
 * With --train N both models first train N updates on the task (Adam).
 *
 * RESULT keys (one line per model, stable): model=srnn|lstm steps=<T>
 *   hidden=<H> trained=<updates> acc=<test accuracy> loss=<loss of the shown
 *   sequence> grad_first=<||dL/dh_0||> grad_last=<||dL/dh_{T-1}||>
 *   grad_ratio=<first/last> jac_prod=<P_0> dot=<path> */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dy_corpus.h"
#include "dy_models.h"
#include "plot.h"

#define BPTT_MAX_STEPS 64
#define BPTT_MAX_H 16

typedef struct bptt_cfg {
  uint32_t steps, hidden, nsym, ndistract;
  long train;
  uint64_t seed;
  const char *out;
  double forget_bias; /* LSTM forget-gate bias at init (3); NaN: the builder's (1) */
} bptt_cfg;

typedef struct bptt_net {
  dy_model *m;
  dy_rnn *rnn;
  dy_param *Wo, *bo; /* (nsym, H), (nsym) */
  uint32_t X;        /* one-hot input size */
} bptt_net;

/* Per-step figures of one model. */
typedef struct bptt_fig {
  double gh[BPTT_MAX_STEPS], gc[BPTT_MAX_STEPS]; /* ||dL/dh_t||, ||dL/dc_t|| */
  double jac[BPTT_MAX_STEPS];                    /* ||ds_t/ds_{t-1}|| */
  double prod[BPTT_MAX_STEPS];                   /* prod_{k>t} ||J_k|| */
  double loss, acc;
} bptt_fig;

static int net_new(bptt_net *n, dy_rnn_kind kind, const bptt_cfg *c, uint32_t X, char *err,
                   size_t en) {
  memset(n, 0, sizeof *n);
  n->X = X;
  n->m = dy_model_new(c->seed);
  if (!n->m) {
    snprintf(err, en, "out of memory");
    return -1;
  }
  n->rnn = dy_rnn_new(n->m, kind == DY_LSTM ? "lstm" : "srnn", kind, 1, X, c->hidden);
  n->Wo = dy_model_add_param(n->m, "Wo", dy_d2(c->nsym, c->hidden), dy_init_glorot());
  n->bo = dy_model_add_param(n->m, "bo", dy_d1(c->nsym), dy_init_const(0));
  if (!n->rnn || !n->Wo || !n->bo) {
    snprintf(err, en, "model: %s", dy_model_error(n->m));
    dy_rnn_free(n->rnn);
    dy_model_free(n->m);
    return -1;
  }
  dy_rnn_set_fused(n->rnn, 0); /* every gate visible */
  if (kind == DY_LSTM && !isnan(c->forget_bias)) {
    dy_real *b = dy_param_values(dy_rnn_param(n->rnn, 0, "b")); /* rows H..2H: forget gate */
    for (uint32_t k = c->hidden; k < 2 * c->hidden; k++) b[k] = (dy_real)c->forget_bias;
  }
  return 0;
}

static void net_free(bptt_net *n) {
  dy_rnn_free(n->rnn);
  dy_model_free(n->m);
}

/* One-hot inputs of sequences first..first+B-1 at step t, into buf (X*B). */
static void onehot(const dy_corpus *cp, size_t first, uint32_t B, uint32_t t, uint32_t X,
                   dy_real *buf) {
  memset(buf, 0, (size_t)X * B * sizeof *buf);
  for (uint32_t b = 0; b < B; b++) buf[b * X + dy_corpus_words(cp, first + b)[t]] = 1;
}

/* Scores (nsym) x B after reading sequences first..first+B-1. */
static dy_expr net_scores(bptt_net *n, dy_graph *g, const dy_corpus *cp, size_t first, uint32_t B,
                          uint32_t T, dy_real *buf) {
  dy_rnn_state s = dy_rnn_start(n->rnn, g);
  for (uint32_t t = 0; t < T; t++) {
    onehot(cp, first, B, t, n->X, buf);
    s = dy_rnn_add_input(s, dy_input(g, dy_batch(dy_d1(n->X), B), buf));
  }
  return dy_affine(dy_param_expr(g, n->bo), dy_param_expr(g, n->Wo), dy_rnn_output(s));
}

/* Trains `updates` minibatches of 16 fresh sequences with Adam. */
static int net_train(bench_ctx *ctx, bptt_net *n, const bptt_cfg *c, const char *label, char *err,
                     size_t en) {
  const uint32_t B = 16;
  dy_real *buf = malloc((size_t)n->X * B * sizeof *buf);
  dy_graph *g = dy_graph_new();
  dy_trainer *tr = dy_adam_new(n->m, 0.01f, 0.9f, 0.999f, 1e-8f);
  int rc = -1;
  if (!buf || !g || !tr) {
    snprintf(err, en, "out of memory");
    goto done;
  }
  double t0 = bench_now(), tlast = 0;
  for (long u = 0; u < c->train; u++) {
    dy_longrange_opts o = {c->seed * 31u + 1000u + (uint64_t)u, B, c->steps, c->nsym,
                           c->ndistract};
    dy_corpus *cp = dy_longrange(&o, err, en);
    if (!cp) goto done;
    dy_graph_renew(g);
    dy_expr sc = net_scores(n, g, cp, 0, B, c->steps, buf);
    dy_expr loss = dy_mul_scalar(dy_sum_batches(dy_pick_neg_log_softmax_batch(sc, cp->label)),
                                 (dy_real)(1.0 / B));
    dy_status st = dy_backward(loss);
    dy_corpus_free(cp);
    if (st != DY_OK || dy_trainer_update(tr) != DY_OK) {
      snprintf(err, en, "training: %s", st ? dy_graph_error(g) : dy_model_error(n->m));
      goto done;
    }
    double now = bench_now();
    if (now - tlast > 0.25) {
      double rate = (double)(u + 1) / (now - t0);
      bench_progress(ctx, "bptt: training %s: update %ld/%ld, %.0f upd/s, ETA %.0f s", label,
                     u + 1, c->train, rate, (double)(c->train - u - 1) / rate);
      tlast = now;
    }
  }
  rc = 0;
done:
  dy_trainer_free(tr);
  dy_graph_free(g);
  free(buf);
  return rc;
}

/* Test accuracy over 200 fresh sequences. */
static double net_accuracy(bptt_net *n, const bptt_cfg *c, char *err, size_t en) {
  const uint32_t B = 200;
  dy_longrange_opts o = {c->seed * 31u + 7u, B, c->steps, c->nsym, c->ndistract};
  dy_corpus *cp = dy_longrange(&o, err, en);
  dy_real *buf = malloc((size_t)n->X * B * sizeof *buf);
  dy_graph *g = dy_graph_new();
  double acc = -1;
  if (cp && buf && g) {
    dy_graph_set_train(g, 0);
    const dy_real *v = dy_forward(net_scores(n, g, cp, 0, B, c->steps, buf));
    if (v) {
      size_t right = 0;
      for (uint32_t b = 0; b < B; b++) {
        uint32_t best = 0;
        for (uint32_t k = 1; k < c->nsym; k++)
          if (v[b * c->nsym + k] > v[b * c->nsym + best]) best = k;
        right += best == cp->label[b];
      }
      acc = (double)right / B;
    } else {
      snprintf(err, en, "evaluation: %s", dy_graph_error(g));
    }
  }
  dy_graph_free(g);
  free(buf);
  dy_corpus_free(cp);
  return acc;
}

/* The teaching unroll of sequence 0 of cp in g: named one-hot inputs in their
 * step's cluster, h_init/c_init variables (values 0, gradients into h0g/c0g),
 * states hs[t], cs[t]; returns the loss (a scalar) when with_loss, else the
 * scores. x must hold X*T values and stay alive until forward. */
static dy_expr unroll(bptt_net *n, dy_graph *g, const dy_corpus *cp, uint32_t T, dy_real *x,
                      dy_real *zero, dy_real *h0g, dy_real *c0g, dy_expr *hs, dy_expr *cs,
                      int with_loss) {
  int lstm = dy_rnn_get_kind(n->rnn) == DY_LSTM;
  const char *name = lstm ? "lstm" : "srnn";
  uint32_t H = dy_rnn_hidden_dim(n->rnn);
  char buf[64];
  snprintf(buf, sizeof buf, "%s/h_init", name);
  dy_expr h0 = dy_expr_set_name(dy_variable(g, dy_d1(H), zero, h0g), buf);
  dy_expr c0 = h0;
  if (lstm) {
    snprintf(buf, sizeof buf, "%s/c_init", name);
    c0 = dy_expr_set_name(dy_variable(g, dy_d1(H), zero, c0g), buf);
  }
  dy_rnn_state s = dy_rnn_start_with(n->rnn, g, &h0, lstm ? &c0 : NULL);
  for (uint32_t t = 0; t < T; t++) {
    onehot(cp, 0, 1, t, n->X, x + (size_t)t * n->X);
    dy_graph_set_tag(g, (int32_t)t);
    snprintf(buf, sizeof buf, "x_%u = '%u'", (unsigned)t, (unsigned)dy_corpus_words(cp, 0)[t]);
    dy_expr xt = dy_expr_set_name(dy_input_ref(g, dy_d1(n->X), x + (size_t)t * n->X), buf);
    dy_graph_set_tag(g, DY_NO_TAG);
    s = dy_rnn_add_input(s, xt);
    hs[t] = dy_rnn_output(s);
    cs[t] = lstm ? dy_rnn_c(s, 0) : hs[t];
  }
  hs[T] = h0; /* the initial state, after the steps */
  cs[T] = c0;
  dy_expr sc = dy_expr_set_name(
      dy_affine(dy_param_expr(g, n->bo), dy_param_expr(g, n->Wo), dy_rnn_output(s)), "scores");
  if (!with_loss) return sc;
  snprintf(buf, sizeof buf, "loss (recall '%u')", (unsigned)cp->label[0]);
  return dy_expr_set_name(dy_pick_neg_log_softmax(sc, cp->label[0]), buf);
}

static double vnorm(const dy_real *v, uint32_t n) {
  double s = 0;
  for (uint32_t i = 0; i < n; i++) s += (double)v[i] * v[i];
  return sqrt(s);
}

/* Largest singular value of J (m x k, row-major) by power iteration on J^T J. */
static double spectral_norm(const double *J, uint32_t m, uint32_t k) {
  double v[2 * BPTT_MAX_H], w[2 * BPTT_MAX_H], u[2 * BPTT_MAX_H];
  for (uint32_t j = 0; j < k; j++) v[j] = 1.0 + 0.1 * j;
  double sigma = 0;
  for (int it = 0; it < 1000; it++) {
    double nv = 0;
    for (uint32_t j = 0; j < k; j++) nv += v[j] * v[j];
    nv = sqrt(nv);
    if (nv == 0) return 0;
    for (uint32_t j = 0; j < k; j++) v[j] /= nv;
    for (uint32_t i = 0; i < m; i++) {
      u[i] = 0;
      for (uint32_t j = 0; j < k; j++) u[i] += J[i * k + j] * v[j];
    }
    for (uint32_t j = 0; j < k; j++) {
      w[j] = 0;
      for (uint32_t i = 0; i < m; i++) w[j] += J[i * k + j] * u[i];
    }
    double s = 0;
    for (uint32_t i = 0; i < m; i++) s += u[i] * u[i];
    s = sqrt(s);
    if (it > 10 && fabs(s - sigma) <= 1e-12 * (s > 1e-300 ? s : 1)) return s;
    sigma = s;
    memcpy(v, w, k * sizeof *v);
  }
  return sigma;
}

/* Runs one model: unroll, backward, dump, Jacobians. */
static int run_model(bench_ctx *ctx, bptt_net *n, const bptt_cfg *c, uint32_t T, const char *base,
                     bptt_fig *fig, char *dot_path, size_t dpn, char *err, size_t en) {
  int lstm = dy_rnn_get_kind(n->rnn) == DY_LSTM;
  uint32_t H = c->hidden, S = lstm ? 2 * H : H;
  dy_longrange_opts o = {c->seed * 31u + 3u, 1, T, c->nsym, c->ndistract};
  dy_corpus *cp = dy_longrange(&o, err, en);
  dy_real *x = calloc((size_t)n->X * T, sizeof *x);
  dy_real zero[BPTT_MAX_H] = {0}, h0g[BPTT_MAX_H] = {0}, c0g[BPTT_MAX_H] = {0};
  dy_expr hs[BPTT_MAX_STEPS + 1], cs[BPTT_MAX_STEPS + 1];
  double *J = malloc(sizeof(double) * S * S);
  dy_graph *g = dy_graph_new();
  int rc = -1;
  if (!cp || !x || !J || !g) {
    if (cp) snprintf(err, en, "out of memory");
    goto done;
  }
  /* 1. forward + backward from the loss; the dump */
  dy_expr loss = unroll(n, g, cp, T, x, zero, h0g, c0g, hs, cs, 1);
  if (dy_backward(loss) != DY_OK) {
    snprintf(err, en, "backward: %s", dy_graph_error(g));
    goto done;
  }
  fig->loss = dy_scalar(loss);
  for (uint32_t t = 0; t < T; t++) {
    const dy_real *dh = dy_grad(hs[t]), *dc = dy_grad(cs[t]);
    fig->gh[t] = dh ? vnorm(dh, H) : 0;
    fig->gc[t] = dc ? vnorm(dc, H) : 0;
  }
  snprintf(dot_path, dpn, "%s/%s.dot", c->out, base);
  FILE *f = fopen(dot_path, "w");
  int bad = !f || dy_graph_dump_dot(g, f, DY_DUMP_ALL) != DY_OK;
  if (f && fclose(f) != 0) bad = 1;
  if (bad) {
    snprintf(err, en, "cannot write %.400s", dot_path);
    goto done;
  }
  dy_model_zero_grads(n->m);
  /* 2. the local Jacobians ds_t/ds_{t-1}, row by row, in a fresh graph */
  dy_graph_renew(g);
  unroll(n, g, cp, T, x, zero, h0g, c0g, hs, cs, 0);
  for (uint32_t t = 0; t < T; t++) {
    dy_expr ph = t ? hs[t - 1] : hs[T], pc = t ? cs[t - 1] : cs[T];
    for (uint32_t r = 0; r < S; r++) {
      dy_expr e = r < H ? dy_pick(hs[t], r, 0) : dy_pick(cs[t], r - H, 0);
      if (dy_backward(e) != DY_OK) {
        snprintf(err, en, "Jacobian at step %u: %s", (unsigned)t, dy_graph_error(g));
        goto done;
      }
      const dy_real *dh = dy_grad(ph), *dc = lstm ? dy_grad(pc) : NULL;
      for (uint32_t k = 0; k < H; k++) J[r * S + k] = dh ? dh[k] : 0;
      for (uint32_t k = 0; lstm && k < H; k++) J[r * S + H + k] = dc ? dc[k] : 0;
    }
    fig->jac[t] = spectral_norm(J, S, S);
  }
  dy_model_zero_grads(n->m);
  fig->prod[T - 1] = 1;
  for (int t = (int)T - 2; t >= 0; t--) fig->prod[t] = fig->prod[t + 1] * fig->jac[t + 1];
  (void)ctx;
  rc = 0;
done:
  dy_graph_free(g);
  free(J);
  free(x);
  dy_corpus_free(cp);
  return rc;
}

static const char bptt_help[] =
    "options:\n"
    "  --steps T     sequence length (default 6, at most 64)\n"
    "  --hidden H    hidden size (default 3: every value printed in the graph; at most 16)\n"
    "  --train N     train N updates on the task first (default 0: untrained)\n"
    "  --seed S      (default 1)\n"
    "  --forget-bias X  LSTM forget-gate bias at init (default 3 as in longrange; the\n"
    "                builder's own is 1: compare the two)\n"
    "  --out DIR     DOT, SVG, PNG and CSV files (default dync-out)\n"
    "Files: bptt_srnn.dot, bptt_lstm.dot (+ .svg, .png with Graphviz), bptt_srnn_4steps.*,\n"
    "  bptt_grad.csv (+ .png with gnuplot).\n"
    "RESULT keys: model steps hidden trained acc loss grad_first grad_last grad_ratio jac_prod dot\n";

static int run_bptt(bench_ctx *ctx, int argc, char **argv) {
  bptt_cfg c = {6, 3, 2, 2, 0, 1, "dync-out", 3};
  long v;
  double d;
  for (int i = 1; i < argc; i++) {
    int r;
    if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      c.out = argv[++i];
    } else if ((r = bench_opt_long(argc, argv, &i, "--steps", 2, &v)) != 0) {
      if (r < 0) return 2;
      if (v > BPTT_MAX_STEPS) {
        fprintf(stderr, "dync-bench bptt: --steps at most %d\n", BPTT_MAX_STEPS);
        return 2;
      }
      c.steps = (uint32_t)v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--hidden", 1, &v)) != 0) {
      if (r < 0) return 2;
      if (v > BPTT_MAX_H) {
        fprintf(stderr, "dync-bench bptt: --hidden at most %d\n", BPTT_MAX_H);
        return 2;
      }
      c.hidden = (uint32_t)v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--train", 0, &v)) != 0) {
      if (r < 0) return 2;
      c.train = v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--seed", 0, &v)) != 0) {
      if (r < 0) return 2;
      c.seed = (uint64_t)v;
    } else if ((r = bench_opt_double(argc, argv, &i, "--forget-bias", -100, &d)) != 0) {
      if (r < 0) return 2;
      c.forget_bias = d;
    } else {
      return bench_bad_option(ctx, argv[i]);
    }
  }
  if (ctx->quick && c.train > 20) c.train = 20;
  if (plot_mkdir(c.out)) {
    fprintf(stderr, "dync-bench bptt: cannot create directory %s\n", c.out);
    return 1;
  }
  dy_longrange_opts lo = {1, 1, c.steps, c.nsym, c.ndistract};
  uint32_t X = dy_longrange_nsym(&lo);
  printf("# task: recall the first of %u symbols (keys 0..%u, distractors %u..%u, query %u), "
         "one-hot inputs {%u}, hidden %u, %s\n",
         (unsigned)c.steps, (unsigned)c.nsym - 1, (unsigned)c.nsym,
         (unsigned)(c.nsym + c.ndistract - 1), (unsigned)(c.nsym + c.ndistract), (unsigned)X,
         (unsigned)c.hidden, c.train ? "trained first (Adam 0.01, batches of 16)" : "untrained");
  printf("# LSTM forget-gate bias at init %g (--forget-bias; the builder's own is 1)\n",
         isnan(c.forget_bias) ? 1.0 : c.forget_bias);
  printf("# t counts inputs from 0 as the graph's clusters do; h_t = state after x_t.\n"
         "# ||J_t|| = largest singular value of the exact Jacobian ds_t/ds_{t-1} (s = h for the "
         "S-RNN,\n#   [h; c] for the LSTM; rows by backward passes, norm by power iteration); "
         "P_t = prod_{k>t} ||J_k||.\n");
  char err[512];
  bptt_fig figs[2];
  char dots[2][1024];
  const dy_rnn_kind kinds[2] = {DY_SRNN, DY_LSTM};
  const char *names[2] = {"srnn", "lstm"};
  int rc = 0;
  memset(figs, 0, sizeof figs);
  for (int k = 0; k < 2 && !rc; k++) {
    bptt_net n;
    if (net_new(&n, kinds[k], &c, X, err, sizeof err)) {
      rc = 1;
      break;
    }
    char base[64];
    snprintf(base, sizeof base, "bptt_%s", names[k]);
    if (c.train && net_train(ctx, &n, &c, names[k], err, sizeof err)) rc = 1;
    if (!rc && (figs[k].acc = net_accuracy(&n, &c, err, sizeof err)) < 0) rc = 1;
    if (!rc && run_model(ctx, &n, &c, c.steps, base, &figs[k], dots[k], sizeof dots[k], err,
                         sizeof err))
      rc = 1;
    if (!rc && k == 0) {
      /* the README's picture: the same S-RNN over 4 steps */
      bptt_fig f4;
      char d4[1024];
      bptt_cfg c4 = c;
      c4.steps = 4;
      if (run_model(ctx, &n, &c4, 4, "bptt_srnn_4steps", &f4, d4, sizeof d4, err, sizeof err))
        rc = 1;
      char svg[1100], png[1100], msg[1200];
      snprintf(svg, sizeof svg, "%s/bptt_srnn_4steps.svg", c.out);
      snprintf(png, sizeof png, "%s/bptt_srnn_4steps.png", c.out);
      if (!rc) {
        bench_progress(ctx, "bptt: rendering %s with dot", d4);
        plot_status st = plot_dot_render(d4, svg, png, msg, sizeof msg);
        bench_progress_done(ctx);
        if (st == PLOT_RENDERED) printf("# picture: %s (4-step S-RNN for the README; %s, %s)\n", png, svg, d4);
        else printf("# picture: %s\n", msg);
      }
    }
    net_free(&n);
  }
  if (rc) {
    fprintf(stderr, "dync-bench bptt: %s\n", err);
    return rc;
  }
  for (int k = 0; k < 2; k++) {
    char svg[1100], png[1100], msg[1200];
    snprintf(svg, sizeof svg, "%s/bptt_%s.svg", c.out, names[k]);
    snprintf(png, sizeof png, "%s/bptt_%s.png", c.out, names[k]);
    bench_progress(ctx, "bptt: rendering %s with dot (the LSTM's graph takes a few seconds)",
                   dots[k]);
    plot_status st = plot_dot_render(dots[k], svg, png, msg, sizeof msg);
    bench_progress_done(ctx);
    if (st == PLOT_RENDERED) printf("# picture: %s (%s, %s)\n", png, svg, dots[k]);
    else printf("# picture: %s\n", msg);
  }
  for (int k = 0; k < 2; k++)
    printf("# %s: loss of the shown sequence %.4f, test accuracy %.3f (chance %.3f)\n", names[k],
           figs[k].loss, figs[k].acc, 1.0 / c.nsym);
  for (uint32_t t = 0; t < c.steps; t++) {
    bench_row_begin(ctx);
    bench_row_int(ctx, "t", t);
    bench_row_num(ctx, "srnn_dL/dh", figs[0].gh[t]);
    bench_row_num(ctx, "srnn_||J||", figs[0].jac[t]);
    bench_row_num(ctx, "srnn_P", figs[0].prod[t]);
    bench_row_num(ctx, "lstm_dL/dh", figs[1].gh[t]);
    bench_row_num(ctx, "lstm_dL/dc", figs[1].gc[t]);
    bench_row_num(ctx, "lstm_||J||", figs[1].jac[t]);
    bench_row_num(ctx, "lstm_P", figs[1].prod[t]);
    bench_row_end(ctx);
  }
  const char *cols[] = {"t", "srnn ||dL/dh_t||", "srnn P_t", "lstm ||dL/dh_t||", "lstm ||dL/dc_t||",
                        "lstm P_t"};
  plot_table *pt = plot_table_new(6, cols);
  for (uint32_t t = 0; pt && t < c.steps; t++) {
    double row[6] = {t, figs[0].gh[t], figs[0].prod[t], figs[1].gh[t], figs[1].gc[t],
                     figs[1].prod[t]};
    plot_table_add(pt, row);
  }
  if (pt) {
    char csv[1100], png[1100], msg[1200], title[200];
    snprintf(csv, sizeof csv, "%s/bptt_grad.csv", c.out);
    snprintf(png, sizeof png, "%s/bptt_grad.png", c.out);
    snprintf(title, sizeof title, "BPTT over %u steps (%s)", (unsigned)c.steps,
             c.train ? "trained" : "untrained");
    plot_opts po = {.title = title, .xlabel = "time step t", .ylabel = "norm (log)", .logy = 1,
                    .points = 1};
    plot_status st = plot_write(pt, csv, png, &po, msg, sizeof msg);
    if (st == PLOT_RENDERED) printf("# plot: %s (data %s)\n", png, csv);
    else printf("# plot: %s\n", msg);
    plot_table_free(pt);
  }
  for (int k = 0; k < 2; k++) {
    double first = figs[k].gh[0], last = figs[k].gh[c.steps - 1];
    bench_result(ctx,
                 "model=%s steps=%u hidden=%u trained=%ld acc=%.4f loss=%.4f grad_first=%.4g "
                 "grad_last=%.4g grad_ratio=%.4g jac_prod=%.4g dot=%s",
                 names[k], (unsigned)c.steps, (unsigned)c.hidden, c.train, figs[k].acc,
                 figs[k].loss, first, last, last > 0 ? first / last : 0.0, figs[k].prod[0],
                 dots[k]);
  }
  return 0;
}

const bench_task bench_task_bptt = {
    "bptt", "teaching BPTT: S-RNN and LSTM unrolled, DOT graphs with gradients, Jacobian norms",
    bptt_help, run_bptt};
