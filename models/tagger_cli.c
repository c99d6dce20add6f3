/* dync-tagger: train an RNN part-of-speech tagger on CoNLL-U files, and tag
 * text with a trained one.
 *
 *   dync-tagger train --train FILE --dev FILE [options]
 *   dync-tagger tag --model PATH [--upos|--xpos] [--format auto|conllu|text] [FILE]
 *
 * A saved tagger is four files next to each other (dy_tagger_save): PATH (the
 * parameters, dy_model_save), PATH.opts, PATH.words, PATH.tags. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dy_corpus.h"
#include "dy_tagger.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: dync-tagger train --train FILE --dev FILE [options]\n"
          "       dync-tagger tag --model PATH [--upos|--xpos] [--format auto|conllu|text] [FILE]\n"
          "\n"
          "train options (defaults in brackets):\n"
          "  --rnn srnn|lstm|gru   recurrent cell [lstm]\n"
          "  --bi                  bidirectional RNN [off]\n"
          "  --char                character-level word vectors (char BiLSTM over UTF-8 bytes) [off]\n"
          "  --emb N --hidden N --mlp N --layers N   sizes [128 50 32 1]\n"
          "  --char-emb N --char-hidden N            char sizes [20 64]\n"
          "  --trainer sgd|momentum|adagrad|rmsprop|adam   [sgd]\n"
          "  --lr X                learning rate [sgd, momentum 0.1; adagrad 0.1; rmsprop, adam 0.001]\n"
          "  --clip X              gradient clipping by global norm, 0 = off [5]\n"
          "  --lr-decay D          learning rate in epoch e: lr / (1 + D (e - 1)) [0]\n"
          "  --epochs N [1]  --seed N [1]  --model PATH (save the best dev epoch) [none]\n"
          "  --upos | --xpos       tag column [upos]\n"
          "  --min-count K         words seen fewer than K times in training map to UNK [1]\n"
          "  --word-dropout P      replace training words by UNK with probability P [0]\n"
          "  --word-dropout-alpha A  a word seen c times becomes UNK with probability A/(A+c) [0]\n"
          "  --dropout P           variational dropout on the RNN's inputs and states [0]\n"
          "  --init glorot|torch   initialisation: DyNet's Glorot or PyTorch's defaults (N(0,1) embeddings) [glorot]\n"
          "  --quiet               no progress output\n"
          "recipe (UD EWT UPOS, dev 0.944-0.947 in epochs 6-10; models/dy_tagger.h):\n"
          "  --bi --char --epochs 10 --word-dropout-alpha 0.25 --dropout 0.2 --lr-decay 0.1\n");
}

static int die(const char *msg) {
  fprintf(stderr, "dync-tagger: %s\n", msg);
  return 1;
}

/* Parses an unsigned number argument. */
static int parse_u(const char *opt, const char *s, unsigned long max, unsigned long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long v = s ? strtoul(s, &end, 10) : 0;
  if (!s || !*s || *end || errno || v > max || s[0] == '-') {
    fprintf(stderr, "dync-tagger: %s wants a whole number up to %lu, got '%s'\n", opt, max, s ? s : "");
    return 0;
  }
  *out = v;
  return 1;
}

static int parse_d(const char *opt, const char *s, double *out) {
  char *end = NULL;
  errno = 0;
  double v = s ? strtod(s, &end) : 0;
  if (!s || !*s || *end || errno || !(v == v)) {
    fprintf(stderr, "dync-tagger: %s wants a number, got '%s'\n", opt, s ? s : "");
    return 0;
  }
  *out = v;
  return 1;
}

/* ================================================================ train */

typedef struct progress_ctx {
  int tty, quiet;
  unsigned epoch;
  double last;      /* seconds at the last line */
  size_t next_line; /* plain mode: sentence count of the next line */
} progress_ctx;

static void on_progress(void *vctx, size_t done, size_t total, const dy_tagger_stats *st) {
  progress_ctx *p = vctx;
  if (p->quiet) return;
  double sps = st->seconds > 0 ? (double)st->sents / st->seconds : 0;
  double eta = sps > 0 ? (double)(total - done) / sps : 0;
  if (p->tty) {
    if (st->seconds - p->last < 0.25 && done != total) return;
    p->last = st->seconds;
    fprintf(stderr, "\repoch %u: %zu/%zu sentences, %.0f sent/s, %.0f words/s, loss/word %.4f, ETA %d:%02d   ",
            p->epoch, done, total, sps, st->words_per_sec, st->words ? st->loss / (double)st->words : 0,
            (int)(eta / 60), (int)eta % 60);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
  } else if (done >= p->next_line || done == total) {
    p->next_line = done + (total + 9) / 10;
    fprintf(stderr, "epoch %u: %zu/%zu sentences, %.0f sent/s, %.0f words/s, loss/word %.4f, ETA %ds\n", p->epoch,
            done, total, sps, st->words_per_sec, st->words ? st->loss / (double)st->words : 0, (int)eta);
  }
}

static dy_trainer *make_trainer(dy_model *m, const char *name, double lr) {
  if (!strcmp(name, "sgd")) return dy_sgd_new(m, (dy_real)(lr > 0 ? lr : 0.1));
  if (!strcmp(name, "momentum")) return dy_momentum_sgd_new(m, (dy_real)(lr > 0 ? lr : 0.1), (dy_real)0.9);
  if (!strcmp(name, "adagrad")) return dy_adagrad_new(m, (dy_real)(lr > 0 ? lr : 0.1), (dy_real)1e-8);
  if (!strcmp(name, "rmsprop")) return dy_rmsprop_new(m, (dy_real)(lr > 0 ? lr : 0.001), (dy_real)0.9, (dy_real)1e-8);
  if (!strcmp(name, "adam"))
    return dy_adam_new(m, (dy_real)(lr > 0 ? lr : 0.001), (dy_real)0.9, (dy_real)0.999, (dy_real)1e-8);
  return NULL;
}

static int cmd_train(int argc, char **argv) {
  const char *train_path = NULL, *dev_path = NULL, *model_path = NULL, *trainer_name = "sgd";
  dy_tagger_opts o = dy_tagger_defaults();
  o.bidirectional = 0;
  unsigned long epochs = 1, seed = 1, min_count = 1, u = 0;
  double lr = 0, clip = 5, d = 0, lr_decay = 0;
  unsigned flags = DY_CONLLU_UPOS;
  int quiet = 0;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG() do { if (!v) { fprintf(stderr, "dync-tagger: %s needs a value\n", a); return 2; } i++; } while (0)
#define U_ARG(dst, max) do { NEED_ARG(); if (!parse_u(a, v, (max), &u)) return 2; dst = u; } while (0)
    if (!strcmp(a, "--train")) { NEED_ARG(); train_path = v; }
    else if (!strcmp(a, "--dev")) { NEED_ARG(); dev_path = v; }
    else if (!strcmp(a, "--model")) { NEED_ARG(); model_path = v; }
    else if (!strcmp(a, "--rnn")) {
      NEED_ARG();
      if (!strcmp(v, "lstm")) o.rnn = DY_LSTM;
      else if (!strcmp(v, "gru")) o.rnn = DY_GRU;
      else if (!strcmp(v, "srnn")) o.rnn = DY_SRNN;
      else { fprintf(stderr, "dync-tagger: --rnn wants srnn, lstm or gru, got '%s'\n", v); return 2; }
    }
    else if (!strcmp(a, "--bi")) o.bidirectional = 1;
    else if (!strcmp(a, "--char")) o.chars = 1;
    else if (!strcmp(a, "--emb")) U_ARG(o.emb, 1u << 16);
    else if (!strcmp(a, "--hidden")) U_ARG(o.hidden, 1u << 16);
    else if (!strcmp(a, "--mlp")) U_ARG(o.mlp, 1u << 16);
    else if (!strcmp(a, "--layers")) U_ARG(o.layers, DY_RNN_MAX_LAYERS);
    else if (!strcmp(a, "--char-emb")) U_ARG(o.char_emb, 1u << 16);
    else if (!strcmp(a, "--char-hidden")) U_ARG(o.char_hidden, 1u << 16);
    else if (!strcmp(a, "--epochs")) U_ARG(epochs, 100000);
    else if (!strcmp(a, "--seed")) U_ARG(seed, ~0ul);
    else if (!strcmp(a, "--min-count")) U_ARG(min_count, ~0ul);
    else if (!strcmp(a, "--trainer")) { NEED_ARG(); trainer_name = v; }
    else if (!strcmp(a, "--lr")) { NEED_ARG(); if (!parse_d(a, v, &lr) || lr <= 0) return die("--lr wants a positive number"), 2; }
    else if (!strcmp(a, "--clip")) { NEED_ARG(); if (!parse_d(a, v, &clip)) return 2; }
    else if (!strcmp(a, "--lr-decay")) {
      NEED_ARG();
      if (!parse_d(a, v, &lr_decay) || lr_decay < 0) return die("--lr-decay wants a number >= 0"), 2;
    }
    else if (!strcmp(a, "--word-dropout")) {
      NEED_ARG();
      if (!parse_d(a, v, &d) || d < 0 || d >= 1) return die("--word-dropout wants a probability in [0, 1)"), 2;
      o.word_dropout = (dy_real)d;
    }
    else if (!strcmp(a, "--dropout")) {
      NEED_ARG();
      if (!parse_d(a, v, &d) || d < 0 || d >= 1) return die("--dropout wants a probability in [0, 1)"), 2;
      o.dropout = (dy_real)d;
    }
    else if (!strcmp(a, "--word-dropout-alpha")) {
      NEED_ARG();
      if (!parse_d(a, v, &d) || d < 0 || d > 1e6) return die("--word-dropout-alpha wants a number in [0, 1e6]"), 2;
      o.word_dropout_alpha = (dy_real)d;
    }
    else if (!strcmp(a, "--init")) {
      NEED_ARG();
      if (!strcmp(v, "torch")) o.init = DY_TAGGER_INIT_TORCH;
      else if (!strcmp(v, "glorot")) o.init = DY_TAGGER_INIT_GLOROT;
      else return die("--init wants torch or glorot"), 2;
    }
    else if (!strcmp(a, "--upos")) flags = DY_CONLLU_UPOS;
    else if (!strcmp(a, "--xpos")) flags = DY_CONLLU_XPOS;
    else if (!strcmp(a, "--quiet")) quiet = 1;
    else { fprintf(stderr, "dync-tagger: unknown train option '%s'\n", a); usage(stderr); return 2; }
#undef U_ARG
#undef NEED_ARG
  }
  if (!train_path || !dev_path) {
    usage(stderr);
    return die("train needs --train FILE and --dev FILE"), 2;
  }
  if (!o.emb || !o.hidden || !o.mlp || !o.layers || !o.char_emb || !o.char_hidden)
    return die("sizes must be at least 1"), 2;

  char err[1024];
  int rc = 1;
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  dy_corpus *train = NULL, *dev = NULL;
  dy_model *m = NULL;
  dy_tagger *t = NULL;
  dy_trainer *tr = NULL;
  dy_graph *g = NULL;
  size_t *order = NULL;
  dy_conllu_opts copts = {flags, NULL, NULL};
  if (!W || !T) { die("out of memory"); goto out; }
  if (!(train = dy_conllu_read_path(train_path, W, T, &copts, err, sizeof err))) { die(err); goto out; }
  if (train->nsent == 0) {
    /* (a tagger of 0 tags cannot be built: say why instead) */
    snprintf(err, sizeof err, "%s: no sentences to train on (the file is empty or holds only comments and "
             "blank lines), so no words or tags either", train_path);
    die(err);
    goto out;
  }
  if (min_count > 1) {
    if (dy_vocab_threshold(W, min_count - 1, train) != DY_OK) { die("out of memory"); goto out; }
  } else {
    dy_vocab_freeze(W);
  }
  /* dev tags unseen in training get an id too (never predicted) */
  if (!(dev = dy_conllu_read_path(dev_path, W, T, &copts, err, sizeof err))) { die(err); goto out; }
  if (dev->nsent == 0) {
    /* every epoch would report dev acc 0 and --model would keep epoch 1 */
    snprintf(err, sizeof err, "%s: no sentences in the dev file (it is empty or holds only comments and blank "
             "lines): nothing to measure accuracy on or to pick the best epoch by", dev_path);
    die(err);
    goto out;
  }
  dy_vocab_freeze(T);
  size_t dev_unk = 0;
  for (size_t k = 0; k < dev->ntok; k++) dev_unk += dev->words[k] == DY_TAGGER_UNK;
  printf("train %s: %zu sentences, %zu words | dev %s: %zu sentences, %zu words (%.1f%% UNK) | %u words, %u tags\n",
         train_path, train->nsent, train->ntok, dev_path, dev->nsent, dev->ntok,
         dev->ntok ? 100.0 * (double)dev_unk / (double)dev->ntok : 0.0, dy_vocab_size(W), dy_vocab_size(T));
  if (!(m = dy_model_new(seed))) { die("out of memory"); goto out; }
  if (!(t = dy_tagger_new(m, &o, dy_vocab_size(W), dy_vocab_size(T)))) {
    snprintf(err, sizeof err, "cannot build the tagger: %s", dy_model_error(m) ? dy_model_error(m) : "bad options");
    die(err);
    goto out;
  }
  if (o.word_dropout_alpha > 0 && dy_tagger_set_word_counts(t, W) != DY_OK) { die("out of memory"); goto out; }
  if (!(tr = make_trainer(m, trainer_name, lr))) {
    fprintf(stderr, "dync-tagger: unknown --trainer '%s' (sgd, momentum, adagrad, rmsprop, adam)\n", trainer_name);
    rc = 2;
    goto out;
  }
  dy_trainer_set_clip(tr, (dy_real)clip);
  if (lr_decay > 0) dy_trainer_set_schedule(tr, DY_LR_INV, (dy_real)lr_decay, 1);
  printf("tagger: %s%s%s, emb %u, hidden %u x %u layer(s), mlp %u, %zu parameters | %s lr %g, clip %g, seed %lu\n",
         o.bidirectional ? "bi-" : "", o.rnn == DY_LSTM ? "LSTM" : o.rnn == DY_GRU ? "GRU" : "S-RNN",
         o.chars ? " + char BiLSTM" : "", (unsigned)o.emb, (unsigned)o.hidden, (unsigned)o.layers, (unsigned)o.mlp,
         dy_model_size(m), trainer_name, (double)dy_trainer_lr(tr), clip, seed);
  fflush(stdout);
  if (!(g = dy_graph_new()) || !(order = malloc((train->nsent ? train->nsent : 1) * sizeof *order))) {
    die("out of memory");
    goto out;
  }
  dy_graph_set_seed(g, seed);
  progress_ctx pc = {isatty(2), quiet, 0, 0, 0};
  double best = -1;
  unsigned long best_ep = 0;
  for (unsigned long ep = 1; ep <= epochs; ep++) {
    dy_tagger_shuffle(order, train->nsent, seed * 1000003u + ep);
    dy_trainer_set_epoch(tr, (uint32_t)(ep - 1));
    pc.epoch = (unsigned)ep;
    pc.last = 0;
    pc.next_line = 0;
    dy_tagger_stats ts, ds;
    dy_status st = dy_tagger_train_epoch(t, g, tr, train, order, &ts, on_progress, &pc);
    if (st != DY_OK) {
      snprintf(err, sizeof err, "training stopped in epoch %lu: %s", ep,
               dy_graph_error(g) ? dy_graph_error(g) : dy_model_error(m) ? dy_model_error(m) : dy_status_str(st));
      die(err);
      goto out;
    }
    st = dy_tagger_evaluate(t, g, dev, &ds);
    if (st != DY_OK) {
      snprintf(err, sizeof err, "evaluation failed: %s", dy_graph_error(g) ? dy_graph_error(g) : dy_status_str(st));
      die(err);
      goto out;
    }
    printf("epoch %lu: train loss/word %.4f (lr %g), %.1fs, %.0f words/s (%.0f per CPU second) | dev acc %.4f, "
           "unknown words %.4f (%zu), known words %.4f, loss/word %.4f\n",
           ep, ts.words ? ts.loss / (double)ts.words : 0, (double)dy_trainer_lr(tr), ts.seconds, ts.words_per_sec,
           ts.cpu_seconds > 0 ? (double)ts.words / ts.cpu_seconds : 0, ds.acc, ds.unk_acc, ds.unk_words,
           ds.words > ds.unk_words ? (double)(ds.correct - ds.unk_correct) / (double)(ds.words - ds.unk_words) : 0,
           ds.words ? ds.loss / (double)ds.words : 0);
    fflush(stdout);
    if (ds.acc > best) {
      best = ds.acc;
      best_ep = ep;
    }
    if (model_path && best_ep == ep) {
      if (dy_tagger_save(t, W, T, model_path, err, sizeof err) != DY_OK) { die(err); goto out; }
      printf("saved %s (+ .opts .words .tags)%s\n", model_path, flags == DY_CONLLU_XPOS ? "; tag with --xpos" : "");
    }
  }
  if (epochs > 1) printf("best dev acc %.4f in epoch %lu%s\n", best, best_ep, model_path ? " (the saved model)" : "");
  rc = 0;
out:
  free(order);
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_tagger_free(t);
  dy_model_free(m);
  dy_corpus_free(train);
  dy_corpus_free(dev);
  dy_vocab_free(W);
  dy_vocab_free(T);
  return rc;
}

/* ================================================================== tag */

typedef struct tag_ctx {
  dy_tagger *t;
  dy_graph *g;
  const dy_vocab *W, *T;
  int col;            /* 3 (UPOS) or 4 (XPOS), 0-based */
  const char *name;   /* input name for messages */
  /* the current sentence */
  char **lines;       /* CoNLL-U: every line (comments, ranges too) */
  int *is_word;       /* per line: 1 for a word line */
  size_t nlines, cap;
  const char **forms;
  uint32_t *words, *pred;
  size_t nw, capw;
} tag_ctx;

static int grow_words(tag_ctx *c, size_t need) {
  if (need <= c->capw) return 1;
  size_t cap = c->capw ? 2 * c->capw : 64;
  while (cap < need) cap *= 2;
  const char **f = realloc(c->forms, cap * sizeof *f);
  if (f) c->forms = f;
  uint32_t *w = realloc(c->words, cap * sizeof *w);
  if (w) c->words = w;
  uint32_t *p = realloc(c->pred, cap * sizeof *p);
  if (p) c->pred = p;
  if (!f || !w || !p) return 0;
  c->capw = cap;
  return 1;
}

static int run_tagger(tag_ctx *c, size_t line) {
  dy_graph_renew(c->g);
  dy_tagger_sent s = {(uint32_t)c->nw, c->words, NULL, c->forms};
  if (dy_tagger_predict(c->t, c->g, &s, c->pred) != DY_OK) {
    fprintf(stderr, "dync-tagger: %s:%zu: %s\n", c->name, line, dy_graph_error(c->g));
    return 0;
  }
  return 1;
}

/* Tags and prints the CoNLL-U sentence held in c (ending before line). */
static int flush_conllu(tag_ctx *c, size_t line, FILE *out) {
  if (c->nlines == 0) return 1;
  c->nw = 0;
  for (size_t k = 0; k < c->nlines; k++) {
    if (!c->is_word[k]) continue;
    /* the form is column 2: after the first tab, up to the next */
    char *f = strchr(c->lines[k], '\t') + 1;
    if (!grow_words(c, c->nw + 1)) return die("out of memory"), 0;
    c->forms[c->nw] = f;
    c->words[c->nw] = dy_vocab_lookup(c->W, f, strcspn(f, "\t"));
    c->nw++;
  }
  /* forms must be NUL-terminated: cut column 2 temporarily */
  char **cut = malloc((c->nw ? c->nw : 1) * sizeof *cut);
  if (!cut) return die("out of memory"), 0;
  for (size_t k = 0; k < c->nw; k++) {
    cut[k] = (char *)c->forms[k] + strcspn(c->forms[k], "\t");
    *cut[k] = 0;
  }
  int ok = c->nw == 0 || run_tagger(c, line);
  for (size_t k = 0; k < c->nw; k++) *cut[k] = '\t';
  free(cut);
  if (!ok) return 0;
  size_t w = 0;
  for (size_t k = 0; k < c->nlines; k++) {
    char *l = c->lines[k];
    if (!c->is_word[k]) {
      fprintf(out, "%s\n", l);
      free(l);
      continue;
    }
    /* print columns, replacing column c->col with the predicted tag */
    int col = 0;
    for (char *p = l;; col++) {
      size_t len = strcspn(p, "\t");
      if (col) fputc('\t', out);
      if (col == c->col) fputs(dy_vocab_str(c->T, c->pred[w]), out);
      else fwrite(p, 1, len, out);
      if (!p[len]) break;
      p += len + 1;
    }
    fputc('\n', out);
    free(l);
    w++;
  }
  fputc('\n', out);
  c->nlines = 0;
  return 1;
}

/* Checks a CoNLL-U line; returns 1 for a word, 0 for a comment/range/empty
 * node, -1 (with a message) for a malformed line. */
static int conllu_kind(const tag_ctx *c, const char *l, size_t line) {
  if (l[0] == '#') return 0;
  int tabs = 0;
  for (const char *p = l; *p; p++) tabs += *p == '\t';
  size_t idlen = strcspn(l, "\t");
  if (tabs != 9) {
    fprintf(stderr, "dync-tagger: %s:%zu: a CoNLL-U word line needs 10 tab-separated columns, found %d\n", c->name,
            line, tabs + 1);
    return -1;
  }
  int digits = 0, dash = 0, dot = 0;
  for (size_t k = 0; k < idlen; k++) {
    if (l[k] >= '0' && l[k] <= '9') digits++;
    else if (l[k] == '-') dash++;
    else if (l[k] == '.') dot++;
    else digits = -1000;
  }
  if (digits <= 0 || dash + dot > 1) {
    fprintf(stderr, "dync-tagger: %s:%zu: bad token id '%.*s'\n", c->name, line, (int)idlen, l);
    return -1;
  }
  if (dash || dot) return 0;
  if (l[idlen + 1] == '\t') {
    fprintf(stderr, "dync-tagger: %s:%zu: empty word form\n", c->name, line);
    return -1;
  }
  return 1;
}

static int tag_stream(tag_ctx *c, FILE *in, FILE *out, int conllu) {
  char *buf = NULL;
  size_t cap = 0, line = 0;
  ssize_t len;
  int ok = 1;
  while (ok && (len = getline(&buf, &cap, in)) >= 0) {
    line++;
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
    if (conllu < 0 && buf[strspn(buf, " \t")]) conllu = buf[0] == '#' || strchr(buf, '\t') != NULL;
    if ((size_t)len != strlen(buf)) {
      fprintf(stderr, "dync-tagger: %s:%zu: NUL byte in the line\n", c->name, line);
      ok = 0;
      break;
    }
    if (conllu > 0) {
      if (len == 0) {
        ok = flush_conllu(c, line, out);
        continue;
      }
      int k = conllu_kind(c, buf, line);
      if (k < 0) { ok = 0; break; }
      if (c->nlines == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 64;
        char **nl = realloc(c->lines, nc * sizeof *nl);
        int *nk = nl ? realloc(c->is_word, nc * sizeof *nk) : NULL;
        if (nl) c->lines = nl;
        if (nk) c->is_word = nk;
        if (!nl || !nk) { ok = 0; die("out of memory"); break; }
        c->cap = nc;
      }
      c->lines[c->nlines] = strdup(buf);
      if (!c->lines[c->nlines]) { ok = 0; die("out of memory"); break; }
      c->is_word[c->nlines++] = k;
    } else if (conllu == 0) {
      c->nw = 0;
      for (char *p = strtok(buf, " \t\v\f"); p; p = strtok(NULL, " \t\v\f")) {
        if (!grow_words(c, c->nw + 1)) { ok = 0; die("out of memory"); break; }
        c->forms[c->nw] = p;
        c->words[c->nw++] = dy_vocab_id(c->W, p);
      }
      if (!ok || (c->nw && !run_tagger(c, line))) { ok = 0; break; }
      for (size_t k = 0; k < c->nw; k++)
        fprintf(out, "%s%s/%s", k ? " " : "", c->forms[k], dy_vocab_str(c->T, c->pred[k]));
      fputc('\n', out);
    }
  }
  if (ok && ferror(in)) {
    fprintf(stderr, "dync-tagger: %s:%zu: read error: %s\n", c->name, line, strerror(errno));
    ok = 0;
  }
  if (ok && conllu > 0) ok = flush_conllu(c, line + 1, out);
  for (size_t k = 0; k < c->nlines; k++) free(c->lines[k]);
  c->nlines = 0;
  free(buf);
  return ok;
}

static int cmd_tag(int argc, char **argv) {
  const char *model_path = NULL, *in_path = NULL, *format = "auto";
  int col = 3;
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--model") && i + 1 < argc) model_path = argv[++i];
    else if (!strcmp(a, "--format") && i + 1 < argc) format = argv[++i];
    else if (!strcmp(a, "--upos")) col = 3;
    else if (!strcmp(a, "--xpos")) col = 4;
    else if (a[0] == '-' && a[1]) { fprintf(stderr, "dync-tagger: unknown tag option '%s'\n", a); usage(stderr); return 2; }
    else if (!in_path) in_path = a;
    else return die("tag reads one input file"), 2;
  }
  if (!model_path) return usage(stderr), die("tag needs --model PATH"), 2;
  if (strcmp(format, "auto") && strcmp(format, "conllu") && strcmp(format, "text"))
    return die("--format wants auto, conllu or text"), 2;
  char err[1024];
  dy_model *m = NULL;
  dy_vocab *W = NULL, *T = NULL;
  dy_tagger *t = dy_tagger_load(model_path, &m, &W, &T, err, sizeof err);
  if (!t) return die(err);
  FILE *in = stdin;
  if (in_path && strcmp(in_path, "-") && !(in = fopen(in_path, "r"))) {
    fprintf(stderr, "dync-tagger: %s: %s\n", in_path, strerror(errno));
    dy_tagger_free(t);
    dy_model_free(m);
    dy_vocab_free(W);
    dy_vocab_free(T);
    return 1;
  }
  /* auto (-1): CoNLL-U when the first non-blank line is a comment or holds a tab */
  int conllu = !strcmp(format, "conllu") ? 1 : !strcmp(format, "text") ? 0 : -1;
  tag_ctx c;
  memset(&c, 0, sizeof c);
  c.t = t;
  c.W = W;
  c.T = T;
  c.col = col;
  c.name = in_path && strcmp(in_path, "-") ? in_path : "<stdin>";
  c.g = dy_graph_new();
  int ok = c.g && tag_stream(&c, in, stdout, conllu);
  if (!c.g) die("out of memory");
  if (fflush(stdout) != 0) ok = die("write error on standard output") == 0;
  if (in != stdin) fclose(in);
  dy_graph_free(c.g);
  free(c.lines);
  free(c.is_word);
  free(c.forms);
  free(c.words);
  free(c.pred);
  dy_tagger_free(t);
  dy_model_free(m);
  dy_vocab_free(W);
  dy_vocab_free(T);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage(stderr), 2;
  if (!strcmp(argv[1], "train")) return cmd_train(argc, argv);
  if (!strcmp(argv[1], "tag")) return cmd_tag(argc, argv);
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) return usage(stdout), 0;
  fprintf(stderr, "dync-tagger: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
