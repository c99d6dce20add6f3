/* dync-bench rnn-vs-lstm: the main job. Trains S-RNN, LSTM, GRU and BiLSTM
 * taggers (models/dy_tagger.h: emb 128, hidden 50 per direction, tanh MLP
 * 32, SGD lr 0.1, per-sentence updates, shuffled) on the built-in synthetic tagging
 * language (or on CoNLL-U files with --train/--dev), runs the long-range
 * experiment (bench_longrange.h) for the unidirectional cells, and prints
 * one table: model, parameters, train words/s, tagging accuracy, long-range
 * accuracy per distance T, gradient-norm ratio first/last step.
 *
 * RESULT keys (one line per model, stable; the README and scripts read them):
 *   model=srnn|lstm|gru|bilstm   the tagger's recurrent part
 *   params=<n>                   scalars in the tagger's model
 *   words_per_sec=<x>            training words per second (wall clock)
 *   words_per_cpu_sec=<x>        the same per second of process CPU time (steadier
 *                                on a shared machine)
 *   acc=<x>                      dev tagging accuracy after training (0..1)
 *   lr_acc_T<k>=<x>              long-range test accuracy at distance k, one
 *                                key per T of the run (default T20 T40 T80);
 *                                "nan" for bilstm (its backward direction
 *                                reads the first symbol last: no long range)
 *   grad_ratio=<x>               ||dL/dh_1|| / ||dL/dh_T|| at the largest T,
 *                                untrained net (mean over test sequences);
 *                                "nan" for bilstm
 *   grad_ratio_trained=<x>       the same after training
 *   data=synthetic|conllu        where the tagging data came from
 * Files in --out DIR (default dync-out): rnn_vs_lstm_loss.csv (tagger loss
 * per word vs sentences), rnn_vs_lstm_lr_acc.csv (long-range accuracy vs T),
 * rnn_vs_lstm_grad_T<k>.csv (||dL/dh_t|| vs t at the largest T), each with a
 * gnuplot .png when gnuplot is installed. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "bench_longrange.h"
#include "dy_corpus.h"
#include "dy_tagger.h"
#include "plot.h"

#define RVL_MODELS 4

typedef struct rvl_model {
  const char *name;
  dy_rnn_kind kind;
  int bi;
  int on;
  size_t params;
  double wps, cpu_wps, acc, train_seconds;
  double *curve;  /* loss per word per window */
  size_t ncurve, capcurve;
  lr_run lr[LR_MAX_T];
  int has_lr;
} rvl_model;

/* Progress state for the tagger's callback. */
typedef struct rvl_prog {
  bench_ctx *ctx;
  rvl_model *m;
  int epoch, epochs;
  size_t window, next;  /* loss-curve window (sentences) and the next mark */
  double last_loss;     /* cumulative loss / words at the last mark */
  size_t last_words;
  size_t base_sents;    /* sentences of earlier epochs */
  double tlast, t0;
} rvl_prog;

static void rvl_progress(void *arg, size_t done, size_t total, const dy_tagger_stats *s) {
  rvl_prog *p = arg;
  if (done >= p->next || done == total) {
    size_t dw = s->words - p->last_words;
    if (dw > 0 && p->m->ncurve < p->m->capcurve)
      p->m->curve[p->m->ncurve++] = (s->loss - p->last_loss) / (double)dw;
    p->last_loss = s->loss;
    p->last_words = s->words;
    p->next = done + p->window;
  }
  double now = bench_now();
  if (now - p->tlast > 0.25) {
    double el = now - p->t0;
    double rate = el > 0 ? (double)s->words / el : 0;
    double left = done ? el * (double)(total - done) / (double)done : 0;
    left += el * (double)total / (double)(done ? done : 1) * (p->epochs - p->epoch - 1);
    bench_progress(p->ctx, "rnn-vs-lstm: tagger %s epoch %d/%d: %zu/%zu sentences, %.0f words/s, "
                   "ETA %.0f s",
                   p->m->name, p->epoch + 1, p->epochs, done, total, rate, left);
    p->tlast = now;
  }
}

static const char rvl_help[] =
    "With no options: built-in synthetic tagging data and a small long-range run (~1-2 min).\n"
    "options:\n"
    "  --train FILE --dev FILE  CoNLL-U files (UPOS) instead of generated data, e.g.\n"
    "                  ../shared/data/ud/UD_English-EWT/en_ewt-ud-{train,dev}.conllu\n"
    "  --train-sents N use the first N training sentences (default: synthetic 3000, CoNLL-U all)\n"
    "  --dev-sents N   synthetic dev sentences (default 500)\n"
    "  --epochs E      tagger epochs (default 1; sentences shuffled per epoch with the seed)\n"
    "  --unk-threshold K  training words seen <= K times become <unk> (default 0: only\n"
    "                  unseen words, sharing one untrained <unk> row, as ../shared/peers)\n"
    "  --lr X          tagger SGD learning rate (default 0.1)\n"
    "  --T LIST        long-range distances (default 20,40,80)\n"
    "  --lr-updates N  long-range updates per model and T (default 300)\n"
    "  --models LIST   subset of srnn,lstm,gru,bilstm (default all)\n"
    "  --seed S        (default 1)\n"
    "  --out DIR       CSV and PNG files (default dync-out)\n"
    "  (--quick: 300 sentences, 1 epoch, T=20 with 100 updates: rough figures)\n"
    "RESULT keys: model params words_per_sec words_per_cpu_sec acc lr_acc_T<k>... grad_ratio\n"
    "  grad_ratio_trained data\n";

static int parse_model_list(const char *s, rvl_model *ms) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", s);
  for (int k = 0; k < RVL_MODELS; k++) ms[k].on = 0;
  int n = 0;
  for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
    int found = 0;
    for (int k = 0; k < RVL_MODELS; k++)
      if (strcmp(tok, ms[k].name) == 0) ms[k].on = found = 1;
    if (!found) return -1;
    n++;
  }
  return n ? 0 : -1;
}

/* Keeps the first n sentences of c (n < c->nsent). */
static void corpus_truncate(dy_corpus *c, size_t n) {
  if (n >= c->nsent) return;
  c->nsent = n;
  c->ntok = c->start[n];
}

/* Writes one plot and says where it went. */
static void rvl_plot(const plot_table *t, const char *dir, const char *base, const plot_opts *o) {
  char csv[1024], png[1024], msg[1200];
  snprintf(csv, sizeof csv, "%s/%s.csv", dir, base);
  snprintf(png, sizeof png, "%s/%s.png", dir, base);
  plot_status st = plot_write(t, csv, png, o, msg, sizeof msg);
  if (st == PLOT_RENDERED) printf("# plot: %s (data %s)\n", png, csv);
  else printf("# plot: %s\n", msg);
}

static int run_rvl(bench_ctx *ctx, int argc, char **argv) {
  rvl_model ms[RVL_MODELS] = {
      {.name = "srnn", .kind = DY_SRNN, .on = 1},
      {.name = "lstm", .kind = DY_LSTM, .on = 1},
      {.name = "gru", .kind = DY_GRU, .on = 1},
      {.name = "bilstm", .kind = DY_LSTM, .bi = 1, .on = 1},
  };
  const char *train_path = NULL, *dev_path = NULL, *out = "dync-out";
  long train_sents = -1, dev_sents = 500, epochs = 1, seed = 1, unk_k = 0, v;
  double tag_lr = 0.1, d;
  lr_config lc = lr_defaults();
  lr_parse_T(&lc, "20,40,80");
  lc.updates = 300;
  if (ctx->quick) {
    lr_parse_T(&lc, "20");
    lc.updates = 100;
    train_sents = 300;
    dev_sents = 200;
  }
  for (int i = 1; i < argc; i++) {
    int r;
    if (strcmp(argv[i], "--train") == 0 && i + 1 < argc) {
      train_path = argv[++i];
    } else if (strcmp(argv[i], "--dev") == 0 && i + 1 < argc) {
      dev_path = argv[++i];
    } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (strcmp(argv[i], "--T") == 0 && i + 1 < argc) {
      if (lr_parse_T(&lc, argv[++i])) {
        fprintf(stderr, "dync-bench rnn-vs-lstm: --T needs lengths >= 2 like 10,20,40\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--models") == 0 && i + 1 < argc) {
      if (parse_model_list(argv[++i], ms)) {
        fprintf(stderr, "dync-bench rnn-vs-lstm: --models takes srnn,lstm,gru,bilstm\n");
        return 2;
      }
    } else if ((r = bench_opt_long(argc, argv, &i, "--train-sents", 1, &v)) != 0) {
      if (r < 0) return 2;
      train_sents = v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--dev-sents", 1, &v)) != 0) {
      if (r < 0) return 2;
      dev_sents = v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--unk-threshold", 0, &v)) != 0) {
      if (r < 0) return 2;
      unk_k = v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--epochs", 1, &v)) != 0) {
      if (r < 0) return 2;
      epochs = v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--lr-updates", 0, &v)) != 0) {
      if (r < 0) return 2;
      lc.updates = v;
    } else if ((r = bench_opt_long(argc, argv, &i, "--seed", 0, &v)) != 0) {
      if (r < 0) return 2;
      seed = v;
    } else if ((r = bench_opt_double(argc, argv, &i, "--lr", 1e-9, &d)) != 0) {
      if (r < 0) return 2;
      tag_lr = d;
    } else {
      return bench_bad_option(ctx, argv[i]);
    }
  }
  if (!train_path != !dev_path) {
    fprintf(stderr, "dync-bench rnn-vs-lstm: --train and --dev go together\n");
    return 2;
  }
  lc.seed = (uint64_t)seed;

  /* ---- data */
  char err[1024];
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  dy_corpus *train = NULL, *dev = NULL;
  size_t *order = NULL;
  int rc = 1;
  if (!W || !T) goto out_data;
  if (train_path) {
    train = dy_conllu_read_path(train_path, W, T, NULL, err, sizeof err);
    if (!train) {
      fprintf(stderr, "dync-bench rnn-vs-lstm: %s\n", err);
      goto out_data;
    }
    if (train_sents > 0) corpus_truncate(train, (size_t)train_sents);
  } else {
    dy_synth_opts so = dy_synth_defaults();
    so.seed = (uint64_t)seed;
    so.nsent = train_sents > 0 ? (size_t)train_sents : 3000;
    train = dy_synth_tagging(&so, W, T, err, sizeof err);
    if (!train) {
      fprintf(stderr, "dync-bench rnn-vs-lstm: %s\n", err);
      goto out_data;
    }
  }
  /* words seen <= unk_k times in training become <unk> (0: only unseen words,
   * which share the <unk> row, untrained, as ../shared/peers does) */
  if (unk_k > 0 && dy_vocab_threshold(W, (uint64_t)unk_k, train) != DY_OK) {
    fprintf(stderr, "dync-bench rnn-vs-lstm: out of memory\n");
    goto out_data;
  }
  dy_vocab_freeze(T);
  if (dev_path) {
    dev = dy_conllu_read_path(dev_path, W, T, NULL, err, sizeof err);
  } else {
    dy_synth_opts so = dy_synth_defaults();
    so.seed = (uint64_t)seed + 1000;
    so.nsent = (size_t)dev_sents;
    dev = dy_synth_tagging(&so, W, T, err, sizeof err);
  }
  if (!dev) {
    fprintf(stderr, "dync-bench rnn-vs-lstm: %s\n", err);
    goto out_data;
  }
  if (plot_mkdir(out)) {
    fprintf(stderr, "dync-bench rnn-vs-lstm: cannot create directory %s\n", out);
    goto out_data;
  }
  printf("# tagging data: %s: train %zu sentences (%zu words), dev %zu sentences (%zu words), "
         "%u word types (<unk>: words seen <= %ld times), %u tags\n",
         train_path ? "CoNLL-U" : "synthetic (dy_synth_tagging)", train->nsent, train->ntok,
         dev->nsent, dev->ntok, (unsigned)dy_vocab_size(W), unk_k, (unsigned)dy_vocab_size(T));
  printf("# taggers: emb 128, hidden 50 per direction, MLP 32, SGD lr %g (clip 5), %ld "
         "epoch(s), per-sentence updates, shuffled\n",
         tag_lr, epochs);
  printf("# long range: T = ");
  for (int i = 0; i < lc.nT; i++) printf("%s%u", i ? "," : "", (unsigned)lc.T[i]);
  printf(", %ld updates of %u sequences per model and T, hidden %u, %s lr %g, LSTM forget "
         "bias %g, GRU update bias %g (see bench_longrange.h)\n",
         lc.updates, (unsigned)lc.batch, (unsigned)lc.hidden, lc.sgd ? "SGD" : "Adam", lc.lr,
         lc.forget_bias, lc.update_bias);

  /* ---- taggers */
  order = malloc(train->nsent * sizeof *order);
  dy_graph *g = dy_graph_new();
  if (!g || !order) {
    dy_graph_free(g);
    fprintf(stderr, "dync-bench rnn-vs-lstm: out of memory\n");
    goto out_data;
  }
  double t_start = bench_now();
  clock_t c_start = clock();
  for (int k = 0; k < RVL_MODELS; k++) {
    rvl_model *m = &ms[k];
    if (!m->on) continue;
    dy_model *model = dy_model_new((uint64_t)seed);
    dy_tagger_opts o = dy_tagger_defaults();
    o.rnn = m->kind;
    o.bidirectional = m->bi;
    dy_tagger *tg = model ? dy_tagger_new(model, &o, dy_vocab_size(W), dy_vocab_size(T)) : NULL;
    dy_trainer *tr = tg ? dy_sgd_new(model, (dy_real)tag_lr) : NULL;
    if (!tr) {
      fprintf(stderr, "dync-bench rnn-vs-lstm: tagger %s: %s\n", m->name,
              model ? dy_model_error(model) : "out of memory");
      dy_tagger_free(tg);
      dy_model_free(model);
      goto out_graph;
    }
    m->params = dy_model_size(model);
    size_t window = train->nsent / 40 ? train->nsent / 40 : 1;
    m->capcurve = (size_t)epochs * (train->nsent / window + 2);
    m->curve = calloc(m->capcurve, sizeof *m->curve);
    rvl_prog p = {ctx, m, 0, (int)epochs, window, window, 0, 0, 0, 0, bench_now()};
    dy_tagger_stats st;
    size_t words = 0;
    double secs = 0, cpu = 0;
    dy_status s = DY_OK;
    for (long e = 0; e < epochs && s == DY_OK; e++) {
      p.epoch = (int)e;
      p.next = window;
      p.last_loss = 0;
      p.last_words = 0;
      dy_tagger_shuffle(order, train->nsent, (uint64_t)seed * 1000003u + (uint64_t)e);
      s = dy_tagger_train_epoch(tg, g, tr, train, order, &st, m->curve ? rvl_progress : NULL,
                                &p);
      words += st.words;
      secs += st.seconds;
      cpu += st.cpu_seconds;
    }
    if (s == DY_OK) s = dy_tagger_evaluate(tg, g, dev, &st);
    bench_progress_done(ctx);
    if (s != DY_OK) {
      fprintf(stderr, "dync-bench rnn-vs-lstm: tagger %s: %s\n", m->name,
              dy_graph_error(g) ? dy_graph_error(g) : dy_model_error(model));
      dy_trainer_free(tr);
      dy_tagger_free(tg);
      dy_model_free(model);
      goto out_graph;
    }
    m->wps = secs > 0 ? (double)words / secs : 0;
    m->cpu_wps = cpu > 0 ? (double)words / cpu : 0;
    m->train_seconds = secs;
    m->acc = st.acc;
    printf("# tagger %-6s trained %zu words in %.1f s, %.1f s CPU (%.0f words/s, %.0f per CPU "
           "second), dev accuracy %.4f\n",
           m->name, words, secs, cpu, m->wps, m->cpu_wps, m->acc);
    fflush(stdout);
    dy_trainer_free(tr);
    dy_tagger_free(tg);
    dy_model_free(model);
  }

  /* ---- long range (unidirectional cells only) */
  for (int k = 0; k < RVL_MODELS; k++) {
    rvl_model *m = &ms[k];
    if (!m->on || m->bi) continue;
    for (int ti = 0; ti < lc.nT; ti++) {
      char label[64];
      snprintf(label, sizeof label, "rnn-vs-lstm: long range ");
      if (lr_train(ctx, &lc, m->kind, lc.T[ti], label, &m->lr[ti], err, sizeof err)) {
        fprintf(stderr, "dync-bench rnn-vs-lstm: long range: %s\n", err);
        goto out_graph;
      }
    }
    m->has_lr = 1;
    printf("# long range %-4s:", m->name);
    for (int ti = 0; ti < lc.nT; ti++)
      printf(" T=%u acc %.3f;", (unsigned)lc.T[ti], m->lr[ti].acc);
    double lsec = 0;
    for (int ti = 0; ti < lc.nT; ti++) lsec += m->lr[ti].seconds;
    printf(" %.1f s\n", lsec);
    fflush(stdout);
  }
  printf("# total time %.1f s (process CPU time %.1f s)\n", bench_now() - t_start,
         (double)(clock() - c_start) / CLOCKS_PER_SEC);

  /* ---- the table */
  int last = lc.nT - 1;
  for (int k = 0; k < RVL_MODELS; k++) {
    rvl_model *m = &ms[k];
    if (!m->on) continue;
    bench_row_begin(ctx);
    bench_row_str(ctx, "model", m->name);
    bench_row_int(ctx, "params", (long long)m->params);
    bench_row_num(ctx, "words/s", m->wps);
    bench_row_num(ctx, "words/cpu_s", m->cpu_wps);
    bench_row_num(ctx, "tag_acc", m->acc);
    for (int ti = 0; ti < lc.nT && ti < BENCH_MAX_COLS - 8; ti++) {
      char key[32];
      snprintf(key, sizeof key, "lr_acc_T%u", (unsigned)lc.T[ti]);
      if (m->has_lr) bench_row_num(ctx, key, m->lr[ti].acc);
      else bench_row_str(ctx, key, "n/a");
    }
    if (m->has_lr) {
      const lr_run *r = &m->lr[last];
      bench_row_num(ctx, "grad_ratio", r->gn0[0] / r->gn0[r->T - 1]);
      bench_row_num(ctx, "grad_ratio_tr", r->gn[0] / r->gn[r->T - 1]);
    } else {
      bench_row_str(ctx, "grad_ratio", "n/a");
      bench_row_str(ctx, "grad_ratio_tr", "n/a");
    }
    bench_row_end(ctx);
  }
  printf("# grad_ratio = ||dL/dh_1|| / ||dL/dh_T|| at T = %u (untrained; _tr: trained), mean "
         "over %u test sequences; BiLSTM has no long-range run (its backward direction reads "
         "the first symbol last)\n",
         (unsigned)lc.T[last], (unsigned)lc.ngrad);

  /* ---- plots (before the RESULT lines, which end the output) */
  {
    const char *names[RVL_MODELS + 1] = {"sentences"};
    int nm = 0;
    int idx[RVL_MODELS];
    for (int k = 0; k < RVL_MODELS; k++)
      if (ms[k].on) {
        idx[nm] = k;
        names[1 + nm++] = ms[k].name;
      }
    plot_table *lt = plot_table_new(1 + nm, names);
    size_t npts = 0;
    for (int j = 0; j < nm; j++)
      if (ms[idx[j]].ncurve > npts) npts = ms[idx[j]].ncurve;
    size_t window = train->nsent / 40 ? train->nsent / 40 : 1;
    for (size_t r = 0; lt && r < npts; r++) {
      double row[RVL_MODELS + 1];
      row[0] = (double)((r + 1) * window);
      for (int j = 0; j < nm; j++)
        row[1 + j] = r < ms[idx[j]].ncurve ? ms[idx[j]].curve[r] : NAN;
      plot_table_add(lt, row);
    }
    if (lt) {
      plot_opts o = {.title = "Tagger training loss (per word, over windows of sentences)",
                     .xlabel = "sentences trained", .ylabel = "cross-entropy per word (log)",
                     .logy = 1};
      rvl_plot(lt, out, "rnn_vs_lstm_loss", &o);
    }
    plot_table_free(lt);
    /* long range: accuracy vs T and gradient norms at the largest T */
    const char *ln[4] = {"T"}, *gnames[7] = {"t"};
    char gbuf[6][48];
    int nl = 0, lidx[3];
    for (int k = 0; k < RVL_MODELS; k++)
      if (ms[k].has_lr) {
        lidx[nl] = k;
        ln[1 + nl] = ms[k].name;
        snprintf(gbuf[2 * nl], 48, "%s untrained", ms[k].name);
        snprintf(gbuf[2 * nl + 1], 48, "%s trained", ms[k].name);
        gnames[1 + 2 * nl] = gbuf[2 * nl];
        gnames[2 + 2 * nl] = gbuf[2 * nl + 1];
        nl++;
      }
    if (nl > 0) {
      plot_table *at = plot_table_new(1 + nl, ln);
      for (int ti = 0; at && ti < lc.nT; ti++) {
        double row[4] = {lc.T[ti]};
        for (int j = 0; j < nl; j++) row[1 + j] = ms[lidx[j]].lr[ti].acc;
        plot_table_add(at, row);
      }
      if (at) {
        char title[160];
        snprintf(title, sizeof title, "Recall the first symbol after T steps (chance %.2f)",
                 1.0 / lc.nsym);
        plot_opts o = {.title = title, .xlabel = "T (sequence length)", .ylabel = "test accuracy",
                       .logx = 1, .points = 1, .ymin = 0, .ymax = 1.05,
                       .ref_title = "chance", .ref = 1.0 / lc.nsym};
        rvl_plot(at, out, "rnn_vs_lstm_lr_acc", &o);
      }
      plot_table_free(at);
      uint32_t TT = lc.T[last];
      plot_table *gt = plot_table_new(1 + 2 * nl, gnames);
      for (uint32_t t = 0; gt && t < TT; t++) {
        double row[7] = {t + 1};
        for (int j = 0; j < nl; j++) {
          row[1 + 2 * j] = ms[lidx[j]].lr[last].gn0[t];
          row[2 + 2 * j] = ms[lidx[j]].lr[last].gn[t];
        }
        plot_table_add(gt, row);
      }
      if (gt) {
        char title[160], base[64];
        snprintf(title, sizeof title, "||dL/dh_t|| along a sequence of T = %u", (unsigned)TT);
        snprintf(base, sizeof base, "rnn_vs_lstm_grad_T%u", (unsigned)TT);
        plot_opts o = {.title = title, .xlabel = "time step t", .ylabel = "||dL/dh_t|| (log)",
                       .logy = 1, .points = TT <= 40, .paired = 1};
        rvl_plot(gt, out, base, &o);
      }
      plot_table_free(gt);
    }
  }

  /* ---- RESULT lines */
  for (int k = 0; k < RVL_MODELS; k++) {
    rvl_model *m = &ms[k];
    if (!m->on) continue;
    char lr[512] = "";
    size_t off = 0;
    for (int ti = 0; ti < lc.nT; ti++)
      off += (size_t)snprintf(lr + off, sizeof lr - off, " lr_acc_T%u=%.4f", (unsigned)lc.T[ti],
                              m->has_lr ? m->lr[ti].acc : NAN);
    double gr = NAN, grt = NAN;
    if (m->has_lr) {
      const lr_run *r = &m->lr[last];
      gr = r->gn0[0] / r->gn0[r->T - 1];
      grt = r->gn[0] / r->gn[r->T - 1];
    }
    bench_result(ctx, "model=%s params=%zu words_per_sec=%.1f words_per_cpu_sec=%.1f acc=%.4f%s "
                 "grad_ratio=%.4g grad_ratio_trained=%.4g data=%s",
                 m->name, m->params, m->wps, m->cpu_wps, m->acc, lr, gr, grt,
                 train_path ? "conllu" : "synthetic");
  }
  rc = 0;
out_graph:
  dy_graph_free(g);
out_data:
  for (int k = 0; k < RVL_MODELS; k++) {
    free(ms[k].curve);
    for (int ti = 0; ti < LR_MAX_T; ti++) lr_run_free(&ms[k].lr[ti]);
  }
  free(order);
  dy_corpus_free(train);
  dy_corpus_free(dev);
  dy_vocab_free(W);
  dy_vocab_free(T);
  return rc;
}

const bench_task bench_task_rnn_vs_lstm = {
    "rnn-vs-lstm",
    "the main job: S-RNN/LSTM/GRU/BiLSTM taggers + long-range recall, one table",
    rvl_help, run_rvl};
