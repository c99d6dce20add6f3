/* dync-bench longrange: S-RNN vs LSTM vs GRU on "recall the first symbol
 * after T steps" (see bench_longrange.h for the task and the net).
 *
 * Prints one row per (T, model): accuracy untrained/trained and the gradient
 * norm ||dL/dh_t|| at t = 1 and t = T, untrained and trained. Writes into
 * --out DIR (default dync-out): longrange_acc.csv (accuracy vs T),
 * longrange_grad_first.csv (||dL/dh_1|| vs T), longrange_grad_T<k>.csv
 * (||dL/dh_t|| vs t at each T) and longrange_loss_T<k>.csv (loss curves),
 * each rendered to a .png with gnuplot when it is installed.
 *
 * RESULT keys (one line per T and model, stable):
 *   model=srnn|lstm|gru T=<len> params=<scalars> updates=<n> batch=<b>
 *   acc=<trained test accuracy> acc_untrained=<...>
 *   grad_first=<||dL/dh_1|| untrained> grad_last=<||dL/dh_T|| untrained>
 *   grad_ratio=<grad_first/grad_last untrained>
 *   grad_first_trained=<...> grad_ratio_trained=<...> seconds=<training time> */
#include "bench_longrange.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dy_corpus.h"
#include "plot.h"

/* ============================================================ experiment */

lr_config lr_defaults(void) {
  lr_config c;
  memset(&c, 0, sizeof c);
  const uint32_t Ts[] = {5, 10, 20, 40, 80};
  c.nT = 5;
  for (int i = 0; i < c.nT; i++) c.T[i] = Ts[i];
  c.hidden = 32;
  c.emb = 16;
  c.nsym = 4;
  c.ndistract = 4;
  c.batch = 16;
  c.updates = 400;
  c.ntest = 400;
  c.ngrad = 32;
  c.lr = 0.003;
  c.clip = 5;
  c.sgd = 0;
  c.seed = 1;
  c.loss_every = 10;
  c.forget_bias = 3;
  c.update_bias = 3;
  return c;
}

const char *lr_kind_name(dy_rnn_kind k) {
  return k == DY_LSTM ? "lstm" : k == DY_GRU ? "gru" : "srnn";
}

int lr_parse_T(lr_config *c, const char *s) {
  int n = 0;
  const char *p = s;
  while (*p) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 2 || v > 100000 || n >= LR_MAX_T) return -1;
    c->T[n++] = (uint32_t)v;
    p = end;
    if (*p == ',') p++;
    else if (*p) return -1;
  }
  if (n == 0) return -1;
  c->nT = n;
  return 0;
}

typedef struct lr_net {
  dy_model *m;
  dy_lookup *E;  /* (emb) per symbol */
  dy_rnn *rnn;   /* emb -> hidden */
  dy_param *Wo;  /* (nsym, hidden) */
  dy_param *bo;  /* (nsym) */
} lr_net;

static void net_free(lr_net *net) {
  dy_rnn_free(net->rnn);
  dy_model_free(net->m);
}

static int net_new(lr_net *net, const lr_config *c, dy_rnn_kind kind, uint32_t nin, uint64_t seed,
                   char *err, size_t n) {
  memset(net, 0, sizeof *net);
  net->m = dy_model_new(seed);
  if (!net->m) {
    snprintf(err, n, "out of memory");
    return -1;
  }
  net->E = dy_model_add_lookup(net->m, "E", nin, dy_d1(c->emb), dy_init_glorot());
  net->rnn = dy_rnn_new(net->m, "rnn", kind, 1, c->emb, c->hidden);
  net->Wo = dy_model_add_param(net->m, "Wo", dy_d2(c->nsym, c->hidden), dy_init_glorot());
  net->bo = dy_model_add_param(net->m, "bo", dy_d1(c->nsym), dy_init_const(0));
  if (!net->E || !net->rnn || !net->Wo || !net->bo) {
    snprintf(err, n, "building the model: %s", dy_model_error(net->m));
    net_free(net);
    return -1;
  }
  return 0;
}

/* Builds the net over sequences first..first+B-1 of c (all of length T) in g:
 * returns the scores (nsym) x B; hs[t] (if non-NULL) gets h after step t+1. */
static dy_expr net_scores(lr_net *net, dy_graph *g, const dy_corpus *cp, size_t first, uint32_t B,
                          uint32_t T, uint32_t *rows, dy_expr *hs) {
  dy_rnn_state s = dy_rnn_start(net->rnn, g);
  for (uint32_t t = 0; t < T; t++) {
    for (uint32_t b = 0; b < B; b++) rows[b] = dy_corpus_words(cp, first + b)[t];
    s = dy_rnn_add_input(s, dy_lookup_batch(g, net->E, rows, B));
    if (hs) hs[t] = dy_rnn_output(s);
  }
  return dy_affine(dy_param_expr(g, net->bo), dy_param_expr(g, net->Wo), dy_rnn_output(s));
}

/* Test accuracy over all sequences of cp, in batches. -1 on a graph error. */
static double net_accuracy(lr_net *net, dy_graph *g, const dy_corpus *cp, uint32_t T,
                           uint32_t nsym, uint32_t *rows, char *err, size_t n) {
  size_t right = 0;
  const uint32_t chunk = 200;
  dy_graph_set_train(g, 0);
  for (size_t first = 0; first < cp->nsent; first += chunk) {
    uint32_t B = (uint32_t)(cp->nsent - first < chunk ? cp->nsent - first : chunk);
    dy_graph_renew(g);
    const dy_real *v = dy_forward(net_scores(net, g, cp, first, B, T, rows, NULL));
    if (!v) {
      snprintf(err, n, "evaluation: %s", dy_graph_error(g));
      dy_graph_set_train(g, 1);
      return -1;
    }
    for (uint32_t b = 0; b < B; b++) {
      uint32_t best = 0;
      for (uint32_t k = 1; k < nsym; k++)
        if (v[b * nsym + k] > v[b * nsym + best]) best = k;
      right += best == cp->label[first + b];
    }
  }
  dy_graph_set_train(g, 1);
  return (double)right / (double)cp->nsent;
}

/* gn[t] = mean over the first B sequences of cp of ||dL_i/dh_t|| (L_i the
 * sequence's loss). Leaves the model's gradients zero. 0 or -1. */
static int net_grad_norms(lr_net *net, dy_graph *g, const dy_corpus *cp, uint32_t B, uint32_t T,
                          uint32_t *rows, double *gn, char *err, size_t n) {
  dy_expr *hs = malloc(T * sizeof *hs);
  if (!hs) {
    snprintf(err, n, "out of memory");
    return -1;
  }
  dy_graph_renew(g);
  dy_expr sc = net_scores(net, g, cp, 0, B, T, rows, hs);
  dy_expr loss = dy_sum_batches(dy_pick_neg_log_softmax_batch(sc, cp->label));
  int rc = 0;
  if (dy_backward(loss) != DY_OK) {
    snprintf(err, n, "gradient norms: %s", dy_graph_error(g));
    rc = -1;
  }
  uint32_t H = dy_rnn_hidden_dim(net->rnn);
  for (uint32_t t = 0; t < T && rc == 0; t++) {
    const dy_real *d = dy_grad(hs[t]);
    dy_dim dd = dy_expr_dim(hs[t]);
    if (!d || dd.bd != B) {
      snprintf(err, n, "gradient norms: no gradient reached h_%u", (unsigned)t + 1);
      rc = -1;
      break;
    }
    double sum = 0;
    for (uint32_t b = 0; b < B; b++) {
      double s2 = 0;
      for (uint32_t k = 0; k < H; k++) s2 += (double)d[b * H + k] * d[b * H + k];
      sum += sqrt(s2);
    }
    gn[t] = sum / B;
  }
  dy_model_zero_grads(net->m);
  free(hs);
  return rc;
}

void lr_run_free(lr_run *r) {
  if (!r) return;
  free(r->gn0);
  free(r->gn);
  free(r->loss);
  memset(r, 0, sizeof *r);
}

int lr_train(bench_ctx *ctx, const lr_config *c, dy_rnn_kind kind, uint32_t T, const char *label,
             lr_run *out, char *err, size_t n) {
  memset(out, 0, sizeof *out);
  out->kind = kind;
  out->T = T;
  dy_longrange_opts o = {c->seed * 1000003u + T, c->ntest, T, c->nsym, c->ndistract};
  uint32_t nin = dy_longrange_nsym(&o);
  uint32_t maxb = c->batch > c->ntest ? c->batch : c->ntest;
  if (maxb < c->ngrad) maxb = c->ngrad;
  lr_net net;
  dy_graph *g = dy_graph_new();
  uint32_t *rows = malloc(maxb * sizeof *rows);
  dy_corpus *test = dy_longrange(&o, err, n);
  out->gn0 = calloc(T, sizeof *out->gn0);
  out->gn = calloc(T, sizeof *out->gn);
  size_t maxloss = (size_t)(c->updates / (c->loss_every > 0 ? c->loss_every : 1)) + 1;
  out->loss = calloc(maxloss, sizeof *out->loss);
  int rc = -1;
  if (!g || !rows || !out->gn0 || !out->gn || !out->loss) {
    snprintf(err, n, "out of memory");
    goto done_nonet;
  }
  if (!test) goto done_nonet;
  /* the same initial weights for a kind at every T; the data differ per T */
  if (net_new(&net, c, kind, nin, c->seed + 17u * (uint64_t)kind, err, n)) goto done_nonet;
  out->params = dy_model_size(net.m);
  /* b rows H..2H are the LSTM's forget gate and the GRU's update gate u (in
   * h = (1-u) n + u h_prev: the fraction of the old state kept), dy_models.h */
  double keep = kind == DY_LSTM ? c->forget_bias : kind == DY_GRU ? c->update_bias : NAN;
  if (!isnan(keep)) {
    dy_real *b = dy_param_values(dy_rnn_param(net.rnn, 0, "b"));
    for (uint32_t k = c->hidden; k < 2 * c->hidden; k++) b[k] = (dy_real)keep;
  }
  dy_trainer *tr = c->sgd ? dy_sgd_new(net.m, (dy_real)c->lr)
                          : dy_adam_new(net.m, (dy_real)c->lr, 0.9f, 0.999f, 1e-8f);
  if (!tr) {
    snprintf(err, n, "trainer: %s", dy_model_error(net.m));
    goto done;
  }
  dy_trainer_set_clip(tr, (dy_real)c->clip);
  uint32_t ng = c->ngrad < c->ntest ? c->ngrad : c->ntest;
  if ((out->acc0 = net_accuracy(&net, g, test, T, c->nsym, rows, err, n)) < 0) goto done_tr;
  if (net_grad_norms(&net, g, test, ng, T, rows, out->gn0, err, n)) goto done_tr;
  double t0 = bench_now(), lsum = 0, tlast = 0;
  long lcount = 0;
  for (long u = 0; u < c->updates; u++) {
    /* a fresh minibatch; its seed depends on T and u only */
    dy_longrange_opts to = {c->seed * 7919u + (uint64_t)T * 100003u + (uint64_t)u + 1, c->batch,
                            T, c->nsym, c->ndistract};
    dy_corpus *tb = dy_longrange(&to, err, n);
    if (!tb) goto done_tr;
    dy_graph_renew(g);
    dy_expr sc = net_scores(&net, g, tb, 0, c->batch, T, rows, NULL);
    dy_expr loss = dy_mul_scalar(dy_sum_batches(dy_pick_neg_log_softmax_batch(sc, tb->label)),
                                 (dy_real)(1.0 / c->batch));
    dy_real lv = dy_scalar(loss);
    dy_status st = dy_backward(loss);
    dy_corpus_free(tb);
    if (st != DY_OK) {
      snprintf(err, n, "training %s T=%u: %s", lr_kind_name(kind), (unsigned)T, dy_graph_error(g));
      goto done_tr;
    }
    if (dy_trainer_update(tr) != DY_OK) {
      snprintf(err, n, "training %s T=%u: %s", lr_kind_name(kind), (unsigned)T,
               dy_model_error(net.m));
      goto done_tr;
    }
    lsum += lv;
    lcount++;
    if (lcount == c->loss_every || u + 1 == c->updates) {
      if (out->nloss < maxloss) out->loss[out->nloss++] = lsum / (double)lcount;
      lsum = 0;
      lcount = 0;
    }
    double now = bench_now();
    if (now - tlast > 0.25) {
      double el = now - t0, rate = (double)(u + 1) / el;
      bench_progress(ctx, "%s%s T=%u: update %ld/%ld, loss %.3f, %.0f upd/s, ETA %.0f s",
                     label ? label : "", lr_kind_name(kind), (unsigned)T, u + 1, c->updates,
                     out->nloss ? out->loss[out->nloss - 1] : (double)lv, rate,
                     (double)(c->updates - u - 1) / rate);
      tlast = now;
    }
    out->updates = u + 1;
  }
  out->seconds = bench_now() - t0;
  if ((out->acc = net_accuracy(&net, g, test, T, c->nsym, rows, err, n)) < 0) goto done_tr;
  if (net_grad_norms(&net, g, test, ng, T, rows, out->gn, err, n)) goto done_tr;
  rc = 0;
done_tr:
  dy_trainer_free(tr);
done:
  net_free(&net);
done_nonet:
  dy_corpus_free(test);
  free(rows);
  dy_graph_free(g);
  if (rc) lr_run_free(out);
  return rc;
}

/* ================================================================== task */

static const char lr_help[] =
    "options:\n"
    "  --T LIST        sequence lengths, comma-separated (default 5,10,20,40,80)\n"
    "  --updates N     updates per model and T, the same for all (default 400; --quick 40)\n"
    "  --batch B       sequences per update (default 16)\n"
    "  --hidden H      hidden size (default 32)\n"
    "  --lr X          learning rate (default 0.003 Adam, 0.5 with --trainer sgd)\n"
    "  --trainer adam|sgd   (default adam)\n"
    "  --clip X        gradient clipping threshold, 0 = off (default 5)\n"
    "  --nsym K        keys to recall, chance = 1/K (default 4)\n"
    "  --ndistract K   distractor symbols; 0 = plain task (all symbols keys) (default 4)\n"
    "  --forget-bias X LSTM forget-gate bias at init (default 3; the builder's own is 1)\n"
    "  --update-bias X GRU update-gate bias at init (default 3; the builder's own is 0)\n"
    "  --seed S        (default 1)\n"
    "  --models LIST   subset of srnn,lstm,gru (default all)\n"
    "  --out DIR       CSV and PNG files (default dync-out)\n"
    "RESULT keys: model T params updates batch acc acc_untrained grad_first grad_last\n"
    "  grad_ratio grad_first_trained grad_ratio_trained seconds (grad_* = ||dL/dh_t||,\n"
    "  first = t=1, last = t=T, mean over test sequences; ratio = first/last)\n";

/* Parses "srnn,lstm" into kinds; returns the count or -1. */
static int parse_models(const char *s, dy_rnn_kind *kinds) {
  int n = 0;
  char buf[64];
  snprintf(buf, sizeof buf, "%s", s);
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    if (n >= 3) return -1;
    if (strcmp(tok, "srnn") == 0) kinds[n++] = DY_SRNN;
    else if (strcmp(tok, "lstm") == 0) kinds[n++] = DY_LSTM;
    else if (strcmp(tok, "gru") == 0) kinds[n++] = DY_GRU;
    else return -1;
  }
  return n ? n : -1;
}

/* Writes and renders one plot, reporting where it went. */
static void emit_plot(const plot_table *t, const char *dir, const char *base, const plot_opts *o) {
  char csv[1024], png[1024], msg[1200];
  snprintf(csv, sizeof csv, "%s/%s.csv", dir, base);
  snprintf(png, sizeof png, "%s/%s.png", dir, base);
  plot_status st = plot_write(t, csv, png, o, msg, sizeof msg);
  if (st == PLOT_RENDERED) printf("# plot: %s (data %s)\n", png, csv);
  else printf("# plot: %s\n", msg);
}

static int run_longrange(bench_ctx *ctx, int argc, char **argv) {
  lr_config c = lr_defaults();
  dy_rnn_kind kinds[3] = {DY_SRNN, DY_LSTM, DY_GRU};
  int nk = 3, lr_set = 0;
  const char *out = "dync-out";
  long v;
  double d;
  if (ctx->quick) c.updates = 40;
  for (int i = 1; i < argc; i++) {
    int r;
    if (strcmp(argv[i], "--T") == 0 && i + 1 < argc) {
      if (lr_parse_T(&c, argv[++i])) {
        fprintf(stderr, "dync-bench longrange: --T needs lengths >= 2 like 5,10,20\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
      if ((nk = parse_models(argv[++i], kinds)) < 0) {
        fprintf(stderr, "dync-bench longrange: --models takes srnn,lstm,gru\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--trainer") == 0 && i + 1 < argc) {
      i++;
      if (strcmp(argv[i], "sgd") == 0) c.sgd = 1;
      else if (strcmp(argv[i], "adam") == 0) c.sgd = 0;
      else {
        fprintf(stderr, "dync-bench longrange: --trainer takes adam or sgd\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if ((r = bench_opt_long(argc, argv, &i, "--updates", 0, &v)) != 0) {
      if (r < 0) return 2;
      c.updates = v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--batch", 1, &v)) != 0) {
      if (r < 0) return 2;
      c.batch = (uint32_t)v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--hidden", 1, &v)) != 0) {
      if (r < 0) return 2;
      c.hidden = (uint32_t)v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--nsym", 2, &v)) != 0) {
      if (r < 0) return 2;
      c.nsym = (uint32_t)v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--ndistract", 0, &v)) != 0) {
      if (r < 0) return 2;
      c.ndistract = (uint32_t)v;
    } else if ((r = bench_opt_double(argc, argv, &i, "--forget-bias", -100, &d)) != 0) {
      if (r < 0) return 2;
      c.forget_bias = d;
    } else if ((r = bench_opt_double(argc, argv, &i, "--update-bias", -100, &d)) != 0) {
      if (r < 0) return 2;
      c.update_bias = d;
    } else if ((r = bench_opt_long(argc, argv, &i, "--seed", 0, &v)) != 0) {
      if (r < 0) return 2;
      c.seed = (uint64_t)v;
    } else if ((r = bench_opt_double(argc, argv, &i, "--lr", 0, &d)) != 0) {
      if (r < 0) return 2;
      c.lr = d;
      lr_set = 1;
    } else if ((r = bench_opt_double(argc, argv, &i, "--clip", 0, &d)) != 0) {
      if (r < 0) return 2;
      c.clip = d;
    } else {
      return bench_bad_option(ctx, argv[i]);
    }
  }
  if (c.sgd && !lr_set) c.lr = 0.5;
  if (plot_mkdir(out)) {
    fprintf(stderr, "dync-bench longrange: cannot create directory %s\n", out);
    return 1;
  }
  printf("# task: recall the first of T symbols (%u keys, chance %.3f; %u distractors); "
         "emb %u, hidden %u\n",
         (unsigned)c.nsym, 1.0 / c.nsym, (unsigned)c.ndistract, (unsigned)c.emb,
         (unsigned)c.hidden);
  printf("# training: %ld updates of %u sequences per model and T, %s lr %g, clip %g; at init "
         "LSTM forget bias %g, GRU update bias %g; test %u sequences; gradient norms over %u\n",
         c.updates, (unsigned)c.batch, c.sgd ? "SGD" : "Adam", c.lr, c.clip,
         isnan(c.forget_bias) ? 1.0 : c.forget_bias, isnan(c.update_bias) ? 0.0 : c.update_bias,
         (unsigned)c.ntest, (unsigned)c.ngrad);

  lr_run *runs = calloc((size_t)c.nT * 3, sizeof *runs);
  if (!runs) return 1;
  int rc = 0;
  char err[512];
  for (int ti = 0; ti < c.nT && !rc; ti++) {
    for (int k = 0; k < nk; k++) {
      lr_run *r = &runs[ti * 3 + k];
      if (lr_train(ctx, &c, kinds[k], c.T[ti], NULL, r, err, sizeof err)) {
        fprintf(stderr, "dync-bench longrange: %s\n", err);
        rc = 1;
        break;
      }
      uint32_t T = r->T;
      bench_row_begin(ctx);
      bench_row_int(ctx, "T", T);
      bench_row_str(ctx, "model", lr_kind_name(r->kind));
      bench_row_int(ctx, "params", (long long)r->params);
      bench_row_num(ctx, "acc_untrained", r->acc0);
      bench_row_num(ctx, "acc", r->acc);
      bench_row_num(ctx, "grad_h1_init", r->gn0[0]);
      bench_row_num(ctx, "grad_hT_init", r->gn0[T - 1]);
      bench_row_num(ctx, "ratio_init", r->gn0[0] / r->gn0[T - 1]);
      bench_row_num(ctx, "grad_h1_trained", r->gn[0]);
      bench_row_num(ctx, "ratio_trained", r->gn[0] / r->gn[T - 1]);
      bench_row_num(ctx, "seconds", r->seconds);
      bench_row_end(ctx);
    }
  }
  if (!rc) {
    /* gradient norm along the sequence at each T, compactly */
    printf("\n# ||dL/dh_t|| along the sequence (mean over %u test sequences), untrained -> "
           "trained\n",
           (unsigned)c.ngrad);
    for (int ti = 0; ti < c.nT; ti++) {
      uint32_t T = c.T[ti];
      /* t = 1, T/4, T/2, 3T/4, T without repeats */
      const uint32_t cand[5] = {1, T / 4, T / 2, 3 * T / 4, T};
      uint32_t ts[5];
      int nts = 0;
      for (int j = 0; j < 5; j++)
        if (cand[j] >= 1 && (nts == 0 || cand[j] > ts[nts - 1])) ts[nts++] = cand[j];
      printf("# T=%-3u", (unsigned)T);
      for (int j = 0; j < nts; j++) printf("  t=%-3u          ", (unsigned)ts[j]);
      printf("\n");
      for (int k = 0; k < nk; k++) {
        lr_run *r = &runs[ti * 3 + k];
        printf("#  %-5s", lr_kind_name(r->kind));
        for (int j = 0; j < nts; j++) printf("  %.1e->%.1e", r->gn0[ts[j] - 1], r->gn[ts[j] - 1]);
        printf("\n");
      }
    }
  }
  if (!rc) {
    /* plots: accuracy vs T, first-step gradient vs T, gradient vs t, loss curves */
    const char *names[8];
    char nbuf[8][48];
    names[0] = "T";
    for (int k = 0; k < nk; k++) names[1 + k] = lr_kind_name(kinds[k]);
    plot_table *acc = plot_table_new(1 + nk, names);
    for (int k = 0; k < nk; k++) {
      snprintf(nbuf[2 * k], 48, "%s untrained", lr_kind_name(kinds[k]));
      snprintf(nbuf[2 * k + 1], 48, "%s trained", lr_kind_name(kinds[k]));
      names[1 + 2 * k] = nbuf[2 * k];
      names[2 + 2 * k] = nbuf[2 * k + 1];
    }
    plot_table *first = plot_table_new(1 + 2 * nk, names);
    for (int ti = 0; acc && first && ti < c.nT; ti++) {
      double row[8], row2[8];
      row[0] = row2[0] = c.T[ti];
      for (int k = 0; k < nk; k++) {
        row[1 + k] = runs[ti * 3 + k].acc;
        row2[1 + 2 * k] = runs[ti * 3 + k].gn0[0];
        row2[2 + 2 * k] = runs[ti * 3 + k].gn[0];
      }
      plot_table_add(acc, row);
      plot_table_add(first, row2);
    }
    char title[256];
    if (acc) {
      snprintf(title, sizeof title, "Recall the first symbol after T steps (chance %.2f, %ld updates)",
               1.0 / c.nsym, c.updates);
      plot_opts o = {.title = title, .xlabel = "T (sequence length)", .ylabel = "test accuracy",
                     .logx = 1, .points = 1, .ymin = 0, .ymax = 1.05,
                     .ref_title = "chance", .ref = 1.0 / c.nsym};
      emit_plot(acc, out, "longrange_acc", &o);
    }
    if (first) {
      plot_opts o = {.title = "Gradient reaching the first step, ||dL/dh_1||",
                     .xlabel = "T (sequence length)", .ylabel = "||dL/dh_1|| (log)", .logx = 1,
                     .logy = 1, .points = 1, .paired = 1};
      emit_plot(first, out, "longrange_grad_first", &o);
    }
    plot_table_free(acc);
    plot_table_free(first);
    for (int ti = 0; ti < c.nT; ti++) {
      uint32_t T = c.T[ti];
      names[0] = "t";
      plot_table *gt = plot_table_new(1 + 2 * nk, names);
      for (uint32_t t = 0; gt && t < T; t++) {
        double row[8];
        row[0] = t + 1;
        for (int k = 0; k < nk; k++) {
          row[1 + 2 * k] = runs[ti * 3 + k].gn0[t];
          row[2 + 2 * k] = runs[ti * 3 + k].gn[t];
        }
        plot_table_add(gt, row);
      }
      char base[64];
      if (gt) {
        snprintf(title, sizeof title, "||dL/dh_t|| along a sequence of T = %u", (unsigned)T);
        plot_opts o = {.title = title, .xlabel = "time step t", .ylabel = "||dL/dh_t|| (log)",
                       .logy = 1, .points = T <= 40, .paired = 1};
        snprintf(base, sizeof base, "longrange_grad_T%u", (unsigned)T);
        emit_plot(gt, out, base, &o);
      }
      plot_table_free(gt);
      names[0] = "update";
      for (int k = 0; k < nk; k++) names[1 + k] = lr_kind_name(kinds[k]);
      plot_table *lt = plot_table_new(1 + nk, names);
      size_t nl = runs[ti * 3].nloss;
      for (size_t j = 0; lt && j < nl; j++) {
        double row[4];
        row[0] = (double)((j + 1) * (size_t)c.loss_every);
        if (row[0] > (double)c.updates) row[0] = (double)c.updates;
        for (int k = 0; k < nk; k++)
          row[1 + k] = j < runs[ti * 3 + k].nloss ? runs[ti * 3 + k].loss[j] : NAN;
        plot_table_add(lt, row);
      }
      if (lt) {
        snprintf(title, sizeof title, "Training loss, T = %u (mean over %ld updates)", (unsigned)T,
                 c.loss_every);
        plot_opts o = {.title = title, .xlabel = "update", .ylabel = "cross-entropy"};
        snprintf(base, sizeof base, "longrange_loss_T%u", (unsigned)T);
        emit_plot(lt, out, base, &o);
      }
      plot_table_free(lt);
      for (int k = 0; k < 8; k++) names[k] = NULL;
      for (int k = 0; k < nk; k++) {
        names[1 + 2 * k] = nbuf[2 * k];
        names[2 + 2 * k] = nbuf[2 * k + 1];
      }
    }
  }
  if (!rc) {
    /* RESULT lines end the output */
    for (int ti = 0; ti < c.nT; ti++)
      for (int k = 0; k < nk; k++) {
        lr_run *r = &runs[ti * 3 + k];
        uint32_t T = r->T;
        bench_result(ctx,
                     "model=%s T=%u params=%zu updates=%ld batch=%u acc=%.4f acc_untrained=%.4f "
                     "grad_first=%.4g grad_last=%.4g grad_ratio=%.4g grad_first_trained=%.4g "
                     "grad_ratio_trained=%.4g seconds=%.2f",
                     lr_kind_name(r->kind), (unsigned)T, r->params, r->updates,
                     (unsigned)c.batch, r->acc, r->acc0, r->gn0[0], r->gn0[T - 1],
                     r->gn0[0] / r->gn0[T - 1], r->gn[0], r->gn[0] / r->gn[T - 1], r->seconds);
      }
  }
  for (int i = 0; i < c.nT * 3; i++) lr_run_free(&runs[i]);
  free(runs);
  return rc;
}

const bench_task bench_task_longrange = {
    "longrange", "S-RNN vs LSTM vs GRU: recall the first symbol after T steps; gradient norms",
    lr_help, run_longrange};
