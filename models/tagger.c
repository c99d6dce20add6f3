/* The RNN taggers of dy_tagger.h: model, loss, prediction, training and
 * evaluation loops, save/load. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dy_op.h"
#include "dy_tagger.h"

struct dy_tagger {
  dy_tagger_opts o;
  char name[64];
  dy_model *m;
  uint32_t nwords, ntags;
  dy_lookup *E;       /* (nwords) x {emb} */
  dy_lookup *C;       /* 256 bytes x {char_emb}, chars only */
  dy_rnn *cf, *cb;    /* char BiLSTM directions (owned by cbi) */
  dy_birnn *cbi;
  dy_rnn *uni;        /* unidirectional RNN, or */
  dy_birnn *bi;       /* bidirectional */
  dy_param *H, *bh;   /* H: (mlp, out), bh: {mlp} */
  dy_param *O, *bo;   /* O: (ntags, mlp), bo: {ntags} */
  int char_batch;     /* 1: words of equal byte length share one char-LSTM batch */
  uint64_t *wthr;     /* per word: UNK when a 64-bit draw is below it (alpha dropout) */
};

dy_tagger_opts dy_tagger_defaults(void) {
  dy_tagger_opts o;
  memset(&o, 0, sizeof o);
  o.rnn = DY_LSTM;
  o.bidirectional = 1;
  o.layers = 1;
  o.emb = 128;
  o.hidden = 50;
  o.mlp = 32;
  o.chars = 0;
  o.char_emb = 20;
  o.char_hidden = 64;
  o.word_dropout = 0;
  o.init = DY_TAGGER_INIT_GLOROT;
  o.name = "tagger";
  return o;
}

/* ======================================================= initialisation */

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [-k, k) from 53 random bits. */
static dy_real unif(uint64_t *s, double k) {
  return (dy_real)((2.0 * (double)(splitmix(s) >> 11) / 9007199254740992.0 - 1.0) * k);
}

/* Re-draws every parameter of one RNN builder U(-1/sqrt(H), 1/sqrt(H)), as
 * torch.nn.RNN/LSTM/GRU; single-bias cells get b_ih + b_hh. */
static void torch_init_rnn(dy_rnn *r, uint64_t *s) {
  double k = 1.0 / sqrt((double)dy_rnn_hidden_dim(r));
  int two = dy_rnn_get_kind(r) != DY_GRU;
  for (uint32_t l = 0; l < dy_rnn_layers(r); l++) {
    static const char *const which[] = {"W_x", "W_h", "b", "b_h"};
    for (int w = 0; w < 4; w++) {
      dy_param *p = dy_rnn_param(r, l, which[w]);
      if (!p) continue;
      dy_real *v = dy_param_values(p);
      size_t n = dy_dim_size(dy_param_dim(p));
      for (size_t i = 0; i < n; i++) v[i] = unif(s, k) + (w == 2 && two ? unif(s, k) : 0);
    }
  }
}

/* A seed that follows the model's own RNG: a hash of values it drew. */
static uint64_t seed_from(dy_param *p) {
  uint64_t h = 0x243f6a8885a308d3ull;
  const dy_real *v = dy_param_values(p);
  size_t n = dy_dim_size(dy_param_dim(p));
  for (size_t i = 0; i < n; i++) {
    uint64_t bits = 0;
    memcpy(&bits, &v[i], sizeof v[i]);
    h = (h ^ bits) * 0x100000001b3ull;
  }
  return h;
}

static int opts_ok(const dy_tagger_opts *o) {
  if (o->rnn != DY_SRNN && o->rnn != DY_LSTM && o->rnn != DY_GRU) return 0;
  if (o->layers == 0 || o->layers > DY_RNN_MAX_LAYERS) return 0;
  if (!o->emb || !o->hidden || !o->mlp) return 0;
  if (o->chars && (!o->char_emb || !o->char_hidden)) return 0;
  if (!(o->word_dropout >= 0 && o->word_dropout < 1)) return 0;
  if (!(o->word_dropout_alpha >= 0 && o->word_dropout_alpha < 1e30)) return 0;
  if (!(o->dropout >= 0 && o->dropout < 1)) return 0;
  if (o->init != DY_TAGGER_INIT_TORCH && o->init != DY_TAGGER_INIT_GLOROT) return 0;
  return 1;
}

dy_tagger *dy_tagger_new(dy_model *m, const dy_tagger_opts *o, uint32_t nwords, uint32_t ntags) {
  if (!m || !o || !nwords || !ntags || !opts_ok(o)) return NULL;
  dy_tagger *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->o = *o;
  snprintf(t->name, sizeof t->name, "%s", o->name && o->name[0] ? o->name : "tagger");
  t->o.name = t->name;
  t->m = m;
  t->nwords = nwords;
  t->ntags = ntags;
  t->char_batch = 1;
  int torch = o->init == DY_TAGGER_INIT_TORCH;
  if (dy_model_push(m, t->name) != DY_OK) {
    free(t);
    return NULL;
  }
  dy_init emb_init = torch ? dy_init_normal(0, 1) : dy_init_glorot();
  int ok = (t->E = dy_model_add_lookup(m, "E", nwords, dy_d1(o->emb), emb_init)) != NULL;
  uint32_t in = o->emb;
  if (ok && o->chars) {
    ok = (t->C = dy_model_add_lookup(m, "C", 256, dy_d1(o->char_emb), emb_init)) != NULL &&
         (t->cbi = dy_birnn_new(m, "chars", DY_LSTM, 1, o->char_emb, o->char_hidden)) != NULL;
    if (ok) {
      t->cf = dy_birnn_dir(t->cbi, 0, 0);
      t->cb = dy_birnn_dir(t->cbi, 0, 1);
      in += 2 * o->char_hidden;
    }
  }
  uint32_t out = 0;
  if (ok) {
    if (o->bidirectional) {
      ok = (t->bi = dy_birnn_new(m, "rnn", o->rnn, o->layers, in, o->hidden)) != NULL;
      out = 2 * o->hidden;
    } else {
      ok = (t->uni = dy_rnn_new(m, "rnn", o->rnn, o->layers, in, o->hidden)) != NULL;
      out = o->hidden;
    }
  }
  if (ok && o->dropout > 0)
    ok = (t->bi ? dy_birnn_set_dropout(t->bi, o->dropout, o->dropout)
                : dy_rnn_set_dropout(t->uni, o->dropout, o->dropout)) == DY_OK;
  if (ok) {
    double k1 = 1.0 / sqrt((double)out), k2 = 1.0 / sqrt((double)o->mlp);
    dy_init wH = torch ? dy_init_uniform(-k1, k1) : dy_init_glorot();
    dy_init wO = torch ? dy_init_uniform(-k2, k2) : dy_init_glorot();
    dy_init bH = torch ? dy_init_uniform(-k1, k1) : dy_init_const(0);
    dy_init bO = torch ? dy_init_uniform(-k2, k2) : dy_init_const(0);
    ok = (t->H = dy_model_add_param(m, "H", dy_d2(o->mlp, out), wH)) != NULL &&
         (t->bh = dy_model_add_param(m, "bh", dy_d1(o->mlp), bH)) != NULL &&
         (t->O = dy_model_add_param(m, "O", dy_d2(ntags, o->mlp), wO)) != NULL &&
         (t->bo = dy_model_add_param(m, "bo", dy_d1(ntags), bO)) != NULL;
  }
  dy_model_pop(m);
  if (!ok) {
    dy_tagger_free(t);
    return NULL;
  }
  if (torch) {
    uint64_t s = seed_from(t->H);
    if (t->uni) torch_init_rnn(t->uni, &s);
    for (uint32_t l = 0; t->bi && l < o->layers; l++)
      for (int d = 0; d < 2; d++) torch_init_rnn(dy_birnn_dir(t->bi, l, d), &s);
    if (t->cbi) {
      torch_init_rnn(t->cf, &s);
      torch_init_rnn(t->cb, &s);
    }
  }
  return t;
}

void dy_tagger_free(dy_tagger *t) {
  if (!t) return;
  dy_birnn_free(t->cbi);
  dy_birnn_free(t->bi);
  dy_rnn_free(t->uni);
  free(t->wthr);
  free(t);
}

/* A 64-bit threshold for probability p in [0, 1]. */
static uint64_t prob_thr(double p) {
  if (!(p > 0)) return 0;
  if (p >= 1) return UINT64_MAX;
  return (uint64_t)(p * 18446744073709551616.0);
}

dy_status dy_tagger_set_word_counts(dy_tagger *t, const dy_vocab *words) {
  if (!t || !words || dy_vocab_size(words) != t->nwords) return DY_EARG;
  if (!t->wthr && !(t->wthr = malloc((size_t)t->nwords * sizeof *t->wthr))) return DY_ENOMEM;
  double a = t->o.word_dropout_alpha;
  for (uint32_t w = 0; w < t->nwords; w++) {
    double c = (double)dy_vocab_count(words, w);
    t->wthr[w] = w == DY_TAGGER_UNK ? 0 : prob_thr(a > 0 ? a / (a + c) : 0);
  }
  return DY_OK;
}

void dy_tagger_set_char_batch(dy_tagger *t, int on) {
  if (t) t->char_batch = on != 0;
}

const dy_tagger_opts *dy_tagger_get_opts(const dy_tagger *t) { return t ? &t->o : NULL; }
dy_model *dy_tagger_model(const dy_tagger *t) { return t ? t->m : NULL; }
uint32_t dy_tagger_num_words(const dy_tagger *t) { return t ? t->nwords : 0; }
uint32_t dy_tagger_num_tags(const dy_tagger *t) { return t ? t->ntags : 0; }

dy_tagger_sent dy_tagger_corpus_sent(const dy_corpus *c, size_t i, const char **forms) {
  dy_tagger_sent s = {0, NULL, NULL, NULL};
  if (!c || i >= c->nsent) return s;
  s.n = (uint32_t)dy_corpus_len(c, i);
  s.words = dy_corpus_words(c, i);
  s.tags = dy_corpus_tags(c, i);
  if (forms && c->text) {
    for (uint32_t j = 0; j < s.n; j++) forms[j] = dy_corpus_form(c, i, j);
    s.forms = forms;
  }
  return s;
}

/* ================================================================ graph */

static dy_expr bad(dy_graph *g) {
  dy_expr e = {g, DY_INVALID_ID, 0};
  return e;
}

#define MAX_CHARS 4096 /* bytes of a form read by the char BiLSTM (longer forms are cut) */

static uint32_t form_len(const char *f) {
  size_t n = strlen(f);
  return n == 0 ? 1 : n > MAX_CHARS ? MAX_CHARS : (uint32_t)n;
}

/* Byte k of form f (an empty form reads one zero byte). */
static unsigned byte_at(const char *f, uint32_t k) { return f[0] ? (unsigned char)f[k] : 0u; }

/* cv[i] = [cf_i; cb_i] {2 char_hidden} for the words idx[0..B) of equal byte
 * length L: the final states of the char BiLSTM, forward over the bytes and
 * backward over them reversed. The B words run as one batch (B = 1 is the
 * word-by-word path). buf: room for 2 L + B expressions. */
static void char_group(dy_tagger *t, dy_graph *g, const char *const *forms, const uint32_t *idx, uint32_t B,
                       uint32_t L, dy_expr *buf, dy_expr *cv) {
  dy_expr *xs = buf, *ys = buf + L, *col = buf + 2 * L;
  dy_expr last[2];
  for (int dir = 0; dir < 2; dir++) {
    for (uint32_t k = 0; k < L; k++) {
      uint32_t pos = dir ? L - 1 - k : k;
      for (uint32_t j = 0; j < B; j++) col[j] = dy_lookup_expr(g, t->C, byte_at(forms[idx[j]], pos));
      xs[k] = B == 1 ? col[0] : dy_concat_to_batch(col, B);
    }
    dy_rnn_transduce(dir ? t->cb : t->cf, g, xs, L, ys);
    last[dir] = ys[L - 1];
  }
  dy_expr both = dy_concat(last, 2); /* {2 char_hidden} x B */
  for (uint32_t j = 0; j < B; j++) cv[idx[j]] = B == 1 ? both : dy_pick_batch_elem(both, j);
}

/* Char vectors of the n words of s into cv[0..n). */
static void char_vectors(dy_tagger *t, dy_graph *g, const dy_tagger_sent *s, dy_expr *cv) {
  uint32_t n = s->n;
  static const char empty[1] = {0};
  const char *const *forms = s->forms;
  uint32_t *idx = dy_graph_data(g, 2 * (size_t)n * sizeof *idx);
  const char **fs = dy_graph_data(g, (size_t)n * sizeof *fs);
  if (!idx || !fs) return;
  uint32_t *len = idx + n, maxlen = 1;
  for (uint32_t i = 0; i < n; i++) {
    fs[i] = forms[i] ? forms[i] : empty;
    len[i] = form_len(fs[i]);
    idx[i] = i;
    if (len[i] > maxlen) maxlen = len[i];
  }
  dy_expr *buf = dy_graph_data(g, (2 * (size_t)maxlen + n) * sizeof *buf);
  if (!buf) return;
  if (!t->char_batch) {
    for (uint32_t i = 0; i < n; i++) char_group(t, g, fs, &idx[i], 1, len[i], buf, cv);
    return;
  }
  /* words sorted by length (insertion sort: stable, sentences are short) */
  for (uint32_t i = 1; i < n; i++) {
    uint32_t v = idx[i], j = i;
    for (; j > 0 && len[idx[j - 1]] > len[v]; j--) idx[j] = idx[j - 1];
    idx[j] = v;
  }
  for (uint32_t a = 0, b; a < n; a = b) {
    for (b = a + 1; b < n && len[idx[b]] == len[idx[a]]; b++) {
    }
    char_group(t, g, fs, idx + a, b - a, len[idx[a]], buf, cv);
  }
}

/* The MLP's input per word: y_1..y_n (out) as one batch {out} x n. */
static dy_expr encode(dy_tagger *t, dy_graph *g, const dy_tagger_sent *s) {
  if (!g || dy_graph_status(g) != DY_OK) return bad(g);
  if (!t || !s || (s->n && !s->words)) {
    dy_fail(g, DY_EARG, "dy_tagger: %s", !t ? "tagger is NULL" : !s ? "sentence is NULL" : "words is NULL");
    return bad(g);
  }
  if (s->n == 0) {
    dy_fail(g, DY_EARG, "dy_tagger_scores: empty sentence (no words to score)");
    return bad(g);
  }
  if (t->o.chars && !s->forms) {
    dy_fail(g, DY_EARG, "dy_tagger '%s': the char-level tagger needs the words' forms (sentence.forms is NULL)",
            t->name);
    return bad(g);
  }
  uint32_t n = s->n;
  for (uint32_t i = 0; i < n; i++)
    if (s->words[i] >= t->nwords) {
      dy_fail(g, DY_EINDEX, "dy_tagger '%s': word %u of the sentence has id %u, out of range (%u words)", t->name,
              (unsigned)i, (unsigned)s->words[i], (unsigned)t->nwords);
      return bad(g);
    }
  dy_expr *xs = dy_graph_data(g, (size_t)n * sizeof(dy_expr));
  if (!xs) return bad(g);
  int train = dy_graph_train(g);
  double p = t->o.word_dropout;
  uint64_t thr = prob_thr(p);
  int alpha = train && t->o.word_dropout_alpha > 0;
  if (alpha && !t->wthr) {
    dy_fail(g, DY_EARG, "dy_tagger '%s': word_dropout_alpha needs the word counts (dy_tagger_set_word_counts)",
            t->name);
    return bad(g);
  }
  dy_expr *cv = NULL;
  if (t->o.chars) {
    cv = dy_graph_data(g, (size_t)n * sizeof(dy_expr));
    if (!cv) return bad(g);
    char_vectors(t, g, s, cv);
    if (dy_graph_status(g) != DY_OK) return bad(g);
  }
  for (uint32_t i = 0; i < n; i++) {
    uint32_t w = s->words[i];
    if (train && p > 0 && dy_graph_rand(g) < thr) w = DY_TAGGER_UNK;
    if (alpha && t->wthr[w] && dy_graph_rand(g) < t->wthr[w]) w = DY_TAGGER_UNK;
    dy_expr e = dy_lookup_expr(g, t->E, w);
    if (t->o.chars) {
      dy_expr parts[2] = {e, cv[i]};
      e = dy_concat(parts, 2);
    }
    xs[i] = e;
  }
  /* the whole sentence as one batch: one recurrent node per layer and direction */
  dy_expr X = dy_concat_to_batch(xs, n);
  dy_expr Y = t->bi ? dy_birnn_transduce_batch(t->bi, g, X) : dy_rnn_transduce_batch(t->uni, g, X);
  if (dy_graph_status(g) != DY_OK) return bad(g);
  return Y;
}

dy_expr dy_tagger_scores(dy_tagger *t, dy_graph *g, const dy_tagger_sent *s) {
  dy_expr Y = encode(t, g, s);
  if (!dy_expr_valid(Y)) return Y;
  dy_expr h = dy_tanh(dy_affine(dy_param_expr(g, t->bh), dy_param_expr(g, t->H), Y));
  return dy_affine(dy_param_expr(g, t->bo), dy_param_expr(g, t->O), h);
}

dy_expr dy_tagger_loss(dy_tagger *t, dy_graph *g, const dy_tagger_sent *s) {
  if (!g || dy_graph_status(g) != DY_OK) return bad(g);
  if (t && s && s->n == 0) return dy_zeros(g, dy_d1(1));
  if (t && s && !s->tags) {
    dy_fail(g, DY_EARG, "dy_tagger_loss: the sentence has no gold tags");
    return bad(g);
  }
  for (uint32_t i = 0; t && s && i < s->n; i++)
    if (s->tags[i] >= t->ntags) {
      dy_fail(g, DY_EINDEX, "dy_tagger '%s': word %u of the sentence has tag id %u, out of range (%u tags)",
              t->name, (unsigned)i, (unsigned)s->tags[i], (unsigned)t->ntags);
      return bad(g);
    }
  dy_expr S = dy_tagger_scores(t, g, s);
  if (!dy_expr_valid(S)) return S;
  return dy_sum_batches(dy_pick_neg_log_softmax_batch(S, s->tags));
}

static void argmax_rows(const dy_real *v, uint32_t n, uint32_t T, uint32_t *out) {
  for (uint32_t i = 0; i < n; i++) {
    const dy_real *r = v + (size_t)i * T;
    uint32_t best = 0;
    for (uint32_t k = 1; k < T; k++)
      if (r[k] > r[best]) best = k;
    out[i] = best;
  }
}

dy_status dy_tagger_predict(dy_tagger *t, dy_graph *g, const dy_tagger_sent *s, uint32_t *out) {
  if (!g) return DY_EARG;
  if (dy_graph_status(g) != DY_OK) return dy_graph_status(g);
  if (t && s && s->n == 0) return DY_OK;
  if (!out) {
    dy_fail(g, DY_EARG, "dy_tagger_predict: out is NULL");
    return DY_EARG;
  }
  int train = dy_graph_train(g);
  dy_graph_set_train(g, 0);
  dy_expr S = dy_tagger_scores(t, g, s);
  const dy_real *v = dy_expr_valid(S) ? dy_forward(S) : NULL;
  dy_graph_set_train(g, train);
  if (!v) return dy_graph_status(g) != DY_OK ? dy_graph_status(g) : DY_EARG;
  argmax_rows(v, s->n, t->ntags, out);
  return DY_OK;
}

/* ======================================================= train, evaluate */

static double now_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dy_tagger_shuffle(size_t *order, size_t n, uint64_t seed) {
  if (!order) return;
  uint64_t s = seed;
  for (size_t i = 0; i < n; i++) order[i] = i;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(splitmix(&s) % i);
    size_t tmp = order[i - 1];
    order[i - 1] = order[j];
    order[j] = tmp;
  }
}

static double cpu_sec(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void finish(dy_tagger_stats *st, double t0, double c0) {
  st->seconds = now_sec() - t0;
  st->cpu_seconds = cpu_sec() - c0;
  st->words_per_sec = st->seconds > 0 ? (double)st->words / st->seconds : 0;
  st->acc = st->words ? (double)st->correct / (double)st->words : 0;
  st->unk_acc = st->unk_words ? (double)st->unk_correct / (double)st->unk_words : 0;
}

/* The longest sentence of c (for the forms buffer). */
static size_t max_len(const dy_corpus *c) {
  size_t m = 1;
  for (size_t i = 0; i < c->nsent; i++)
    if (dy_corpus_len(c, i) > m) m = dy_corpus_len(c, i);
  return m;
}

dy_status dy_tagger_train_epoch(dy_tagger *t, dy_graph *g, dy_trainer *tr, const dy_corpus *c,
                                const size_t *order, dy_tagger_stats *st,
                                dy_tagger_progress progress, void *ctx) {
  dy_tagger_stats local;
  if (!st) st = &local;
  memset(st, 0, sizeof *st);
  if (!t || !g || !tr || !c || !c->tags) return DY_EARG;
  const char **forms = malloc(max_len(c) * sizeof *forms);
  if (!forms) return DY_ENOMEM;
  dy_graph_set_train(g, 1);
  double t0 = now_sec(), c0 = cpu_sec();
  dy_status rc = DY_OK;
  for (size_t k = 0; k < c->nsent; k++) {
    size_t i = order ? order[k] : k;
    if (i >= c->nsent) {
      rc = DY_EINDEX;
      break;
    }
    dy_graph_renew(g);
    dy_tagger_sent s = dy_tagger_corpus_sent(c, i, forms);
    dy_expr loss = dy_tagger_loss(t, g, &s);
    dy_real lv = dy_scalar(loss);
    if ((rc = dy_backward(loss)) != DY_OK) break;
    if ((rc = dy_trainer_update(tr)) != DY_OK) break;
    st->loss += lv;
    st->sents++;
    st->words += s.n;
    for (uint32_t j = 0; j < s.n; j++) st->unk_words += s.words[j] == DY_TAGGER_UNK;
    if (progress) {
      finish(st, t0, c0);
      progress(ctx, k + 1, c->nsent, st);
    }
  }
  finish(st, t0, c0);
  free(forms);
  return rc;
}

dy_status dy_tagger_evaluate(dy_tagger *t, dy_graph *g, const dy_corpus *c, dy_tagger_stats *st) {
  dy_tagger_stats local;
  if (!st) st = &local;
  memset(st, 0, sizeof *st);
  if (!t || !g || !c || !c->tags) return DY_EARG;
  size_t ml = max_len(c);
  const char **forms = malloc(ml * sizeof *forms);
  uint32_t *pred = malloc(ml * sizeof *pred);
  if (!forms || !pred) {
    free(forms);
    free(pred);
    return DY_ENOMEM;
  }
  dy_graph_set_train(g, 0);
  double t0 = now_sec(), c0 = cpu_sec();
  dy_status rc = DY_OK;
  for (size_t i = 0; i < c->nsent; i++) {
    dy_graph_renew(g);
    dy_tagger_sent s = dy_tagger_corpus_sent(c, i, forms);
    if (s.n == 0) continue;
    dy_expr S = dy_tagger_scores(t, g, &s);
    dy_expr L = dy_sum_batches(dy_pick_neg_log_softmax_batch(S, s.tags));
    const dy_real *v = dy_forward(S);
    if (!v) {
      rc = dy_graph_status(g);
      break;
    }
    argmax_rows(v, s.n, t->ntags, pred);
    st->loss += dy_scalar(L);
    st->sents++;
    st->words += s.n;
    for (uint32_t j = 0; j < s.n; j++) {
      int ok = pred[j] == s.tags[j], unk = s.words[j] == DY_TAGGER_UNK;
      st->correct += ok;
      st->unk_words += unk;
      st->unk_correct += ok && unk;
    }
  }
  finish(st, t0, c0);
  free(forms);
  free(pred);
  return rc;
}

/* ============================================================ save, load */

static const char *kind_name(dy_rnn_kind k) { return k == DY_SRNN ? "srnn" : k == DY_GRU ? "gru" : "lstm"; }

static void set_err(char *err, size_t n, const char *fmt, const char *a, const char *b) {
  if (err && n) snprintf(err, n, fmt, a, b);
}

static char *path_with(const char *path, const char *ext) {
  size_t a = strlen(path), b = strlen(ext);
  char *p = malloc(a + b + 1);
  if (p) {
    memcpy(p, path, a);
    memcpy(p + a, ext, b + 1);
  }
  return p;
}

dy_status dy_tagger_save(const dy_tagger *t, const dy_vocab *words, const dy_vocab *tags,
                         const char *path, char *err, size_t n) {
  if (!t || !words || !tags || !path) {
    set_err(err, n, "dy_tagger_save: %s%s", "NULL argument", "");
    return DY_EARG;
  }
  if (dy_vocab_size(words) != t->nwords || dy_vocab_size(tags) != t->ntags) {
    set_err(err, n, "dy_tagger_save: %s%s", "the vocabularies' sizes differ from the tagger's", "");
    return DY_EARG;
  }
  char *po = path_with(path, ".opts"), *pw = path_with(path, ".words"), *pt = path_with(path, ".tags");
  dy_status rc = DY_ENOMEM;
  if (!po || !pw || !pt) goto out;
  rc = dy_model_save(t->m, NULL, path);
  if (rc != DY_OK) {
    set_err(err, n, "%s: %s", path, dy_model_error(t->m) ? dy_model_error(t->m) : dy_status_str(rc));
    goto out;
  }
  rc = dy_vocab_save(words, pw, err, n);
  if (rc == DY_OK) rc = dy_vocab_save(tags, pt, err, n);
  if (rc != DY_OK) goto out;
  FILE *f = fopen(po, "w");
  if (!f) {
    set_err(err, n, "%s: %s", po, strerror(errno));
    rc = DY_EIO;
    goto out;
  }
  const dy_tagger_opts *o = &t->o;
  fprintf(f, "dync-tagger 1\nname %s\nrnn %s\nbidirectional %d\nlayers %u\nemb %u\nhidden %u\nmlp %u\n"
             "chars %d\nchar_emb %u\nchar_hidden %u\nword_dropout %.17g\nword_dropout_alpha %.17g\ndropout %.17g\ninit %s\n"
             "words %u\ntags %u\n",
          t->name, kind_name(o->rnn), o->bidirectional ? 1 : 0, (unsigned)o->layers, (unsigned)o->emb,
          (unsigned)o->hidden, (unsigned)o->mlp, o->chars ? 1 : 0, (unsigned)o->char_emb,
          (unsigned)o->char_hidden, (double)o->word_dropout, (double)o->word_dropout_alpha, (double)o->dropout, o->init == DY_TAGGER_INIT_TORCH ? "torch" : "glorot",
          (unsigned)t->nwords, (unsigned)t->ntags);
  if (fclose(f) != 0) {
    set_err(err, n, "%s: %s", po, strerror(errno));
    rc = DY_EIO;
  }
out:
  if (rc == DY_ENOMEM) set_err(err, n, "dy_tagger_save: %s%s", "out of memory", "");
  free(po);
  free(pw);
  free(pt);
  return rc;
}

/* Reads the options file; returns 0 and an error on a malformed one. */
static int read_opts(const char *po, dy_tagger_opts *o, char *name, size_t nname, uint32_t *nw, uint32_t *nt,
                     char *err, size_t n) {
  FILE *f = fopen(po, "r");
  if (!f) {
    set_err(err, n, "%s: %s", po, strerror(errno));
    return 0;
  }
  char line[256];
  unsigned lineno = 0, seen = 0;
  int ok = 1;
  while (ok && fgets(line, sizeof line, f)) {
    lineno++;
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
    if (lineno == 1) {
      ok = strcmp(line, "dync-tagger 1") == 0;
      if (!ok && err && n) snprintf(err, n, "%s:1: not a dync tagger options file (want 'dync-tagger 1')", po);
      continue;
    }
    char key[32], val[160];
    if (sscanf(line, "%31s %159s", key, val) != 2) {
      if (err && n) snprintf(err, n, "%s:%u: expected 'key value'", po, lineno);
      ok = 0;
      break;
    }
    char *end = NULL;
    unsigned long u = strtoul(val, &end, 10);
    int num = end && *end == 0 && u <= UINT32_MAX;
    int word = !strcmp(key, "name") || !strcmp(key, "rnn") || !strcmp(key, "init");
    if (word) num = 1;
    if (!strcmp(key, "name")) {
      size_t vl = strlen(val);
      if (vl >= nname) vl = nname - 1;
      memcpy(name, val, vl);
      name[vl] = 0;
    } else if (!strcmp(key, "rnn")) {
      if (!strcmp(val, "lstm")) o->rnn = DY_LSTM;
      else if (!strcmp(val, "gru")) o->rnn = DY_GRU;
      else if (!strcmp(val, "srnn")) o->rnn = DY_SRNN;
      else num = 0;
    } else if (!strcmp(key, "init")) {
      if (!strcmp(val, "torch")) o->init = DY_TAGGER_INIT_TORCH;
      else if (!strcmp(val, "glorot")) o->init = DY_TAGGER_INIT_GLOROT;
      else num = 0;
    } else if (!strcmp(key, "dropout")) {
      o->dropout = (dy_real)strtod(val, &end);
      num = end && *end == 0;
    } else if (!strcmp(key, "word_dropout") || !strcmp(key, "word_dropout_alpha")) {
      dy_real v = (dy_real)strtod(val, &end);
      num = end && *end == 0;
      if (key[12]) o->word_dropout_alpha = v;
      else o->word_dropout = v;
    } else if (num) {
      if (!strcmp(key, "bidirectional")) o->bidirectional = (int)u;
      else if (!strcmp(key, "layers")) o->layers = (uint32_t)u;
      else if (!strcmp(key, "emb")) o->emb = (uint32_t)u;
      else if (!strcmp(key, "hidden")) o->hidden = (uint32_t)u;
      else if (!strcmp(key, "mlp")) o->mlp = (uint32_t)u;
      else if (!strcmp(key, "chars")) o->chars = (int)u;
      else if (!strcmp(key, "char_emb")) o->char_emb = (uint32_t)u;
      else if (!strcmp(key, "char_hidden")) o->char_hidden = (uint32_t)u;
      else if (!strcmp(key, "words")) *nw = (uint32_t)u, seen |= 1;
      else if (!strcmp(key, "tags")) *nt = (uint32_t)u, seen |= 2;
      else num = 0;
    }
    if (!num) {
      if (err && n) snprintf(err, n, "%s:%u: bad option '%s %s'", po, lineno, key, val);
      ok = 0;
    }
  }
  if (ok && lineno == 0) {
    if (err && n) snprintf(err, n, "%s: empty file", po);
    ok = 0;
  }
  if (ok && seen != 3) {
    if (err && n) snprintf(err, n, "%s: missing 'words' or 'tags' line", po);
    ok = 0;
  }
  if (ok && !opts_ok(o)) {
    if (err && n) snprintf(err, n, "%s: an option is out of range", po);
    ok = 0;
  }
  fclose(f);
  return ok;
}

dy_tagger *dy_tagger_load(const char *path, dy_model **m, dy_vocab **words, dy_vocab **tags,
                          char *err, size_t n) {
  if (!path || !m || !words || !tags) {
    set_err(err, n, "dy_tagger_load: %s%s", "NULL argument", "");
    return NULL;
  }
  *m = NULL;
  *words = *tags = NULL;
  dy_tagger *t = NULL;
  dy_model *mm = NULL;
  dy_vocab *W = NULL, *T = NULL;
  char *po = path_with(path, ".opts"), *pw = path_with(path, ".words"), *pt = path_with(path, ".tags");
  dy_tagger_opts o = dy_tagger_defaults();
  char name[64] = "tagger";
  uint32_t nw = 0, nt = 0;
  if (!po || !pw || !pt) {
    set_err(err, n, "dy_tagger_load: %s%s", "out of memory", "");
    goto fail;
  }
  if (!read_opts(po, &o, name, sizeof name, &nw, &nt, err, n)) goto fail;
  o.name = name;
  if (!(W = dy_vocab_load(pw, err, n)) || !(T = dy_vocab_load(pt, err, n))) goto fail;
  if (dy_vocab_size(W) != nw || dy_vocab_size(T) != nt) {
    set_err(err, n, "%s: the vocabulary sizes differ from those in %s", path, po);
    goto fail;
  }
  dy_vocab_freeze(W);
  dy_vocab_freeze(T);
  if (!(mm = dy_model_new(1))) {
    set_err(err, n, "dy_tagger_load: %s%s", "out of memory", "");
    goto fail;
  }
  if (!(t = dy_tagger_new(mm, &o, nw, nt))) {
    set_err(err, n, "%s: cannot build the tagger: %s", po, dy_model_error(mm) ? dy_model_error(mm) : "bad options");
    goto fail;
  }
  dy_status rc = dy_model_load(mm, NULL, path, NULL);
  if (rc != DY_OK) {
    set_err(err, n, "%s: %s", path, dy_model_error(mm) ? dy_model_error(mm) : dy_status_str(rc));
    goto fail;
  }
  *m = mm;
  *words = W;
  *tags = T;
  free(po);
  free(pw);
  free(pt);
  return t;
fail:
  dy_tagger_free(t);
  dy_model_free(mm);
  dy_vocab_free(W);
  dy_vocab_free(T);
  free(po);
  free(pw);
  free(pt);
  return NULL;
}
