/* dync-bench rnnlm and charlm: the shared language-model tasks of
 * ../shared/DESIGN.md §3, with the protocol of ../shared/peers/torch_rnnlm.py
 * and torch_charlm.py so the figures compare one to one.
 *
 * rnnlm: PTB, every sentence read as <s> w_1..w_n predicting w_1..w_n <s>;
 *   sentences sorted by length (descending), cut into minibatches of --batch,
 *   minibatch order shuffled (seeded), padding masked; loss = summed NLL;
 *   LSTM emb 64 hidden 128, Adam 1e-3, no clipping. --warmup untimed then
 *   --steps timed minibatches; then validation perplexity over the whole
 *   validation file (same batching, unshuffled).
 *   RESULT task=rnnlm words_per_sec= valid_ppl= steps= batch= emb= hidden= vocab=
 * charlm: Tiny Shakespeare, vocabulary = sorted set of the file's bytes,
 *   first 90% train; each step --batch random windows of --seq (+1) chars from
 *   a zero state; loss = mean NLL; 2-layer LSTM 128, emb 64, Adam 2e-3, no
 *   clipping. Validation: consecutive windows of --seq predicted chars of the
 *   last 10%, zero state each, in bits per char; then a 200-char sample.
 *   --stream: truncated BPTT over the text instead (state carried across
 *   windows of B parallel streams), --epochs epochs, a line per epoch.
 *   RESULT task=charlm chars_per_sec= valid_bpc= steps= batch= seq= layers= hidden=
 * Without the data files (../shared/data or --train/--data), both tasks say
 * where they looked and fall back to text generated from the built-in
 * tagging language (marked data=synthetic in the RESULT line). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dy_lm.h"

/* ============================================================== helpers */

static uint64_t rng_next(uint64_t *s) { return dy_mix64((*s)++); }

/* Synthetic sentences from the built-in tagging language, as words. */
static dy_corpus *synthetic_text(dy_vocab *v, size_t nsent, uint64_t seed) {
  dy_synth_opts o = dy_synth_defaults();
  o.nsent = nsent;
  o.seed = seed;
  dy_vocab *tags = dy_vocab_new(NULL);
  char err[256];
  dy_corpus *c = dy_synth_tagging(&o, v, tags, err, sizeof err);
  dy_vocab_free(tags);
  return c;
}

/* ================================================================ rnnlm */

/* Python's random module (MT19937, seeded as random.seed(int)) and its
 * random.shuffle, so that --torch-order visits the minibatches of
 * ../shared/peers/torch_rnnlm.py in its order: the same work, batch for batch. */
typedef struct { uint32_t mt[624]; int i; } py_random;

static void py_seed(py_random *r, uint32_t seed) {
  uint32_t *mt = r->mt;
  mt[0] = 19650218u; /* init_genrand(19650218), then init_by_array({seed}) */
  for (int i = 1; i < 624; i++) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint32_t)i;
  int i = 1;
  for (int k = 624; k; k--) { /* key length 1: j stays 0 */
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525u)) + seed;
    if (++i >= 624) {
      mt[0] = mt[623];
      i = 1;
    }
  }
  for (int k = 623; k; k--) {
    mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
    if (++i >= 624) {
      mt[0] = mt[623];
      i = 1;
    }
  }
  mt[0] = 0x80000000u;
  r->i = 624;
}

static uint32_t py_u32(py_random *r) {
  uint32_t *mt = r->mt, y;
  if (r->i >= 624) {
    for (int k = 0; k < 624; k++) {
      y = (mt[k] & 0x80000000u) | (mt[(k + 1) % 624] & 0x7fffffffu);
      mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 ? 0x9908b0dfu : 0);
    }
    r->i = 0;
  }
  y = mt[r->i++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  return y ^ (y >> 18);
}

/* random.shuffle(x) of n < 2^32 elements: _randbelow by rejection on getrandbits */
static void py_shuffle(py_random *r, uint32_t *x, uint32_t n) {
  for (uint32_t i = n; i-- > 1;) {
    uint32_t m = i + 1, k = 0, j;
    while (k < 32 && (m >> k)) k++; /* m.bit_length() */
    do j = py_u32(r) >> (32 - k);
    while (j >= m);
    uint32_t t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
}

typedef struct { const uint32_t **sents; uint32_t *len; uint32_t n; } batch;

static int by_len_desc(const void *a, const void *b) {
  const uint32_t *x = a, *y = b; /* pairs (len, index) */
  if (x[0] != y[0]) return x[0] < y[0] ? 1 : -1;
  return x[1] < y[1] ? -1 : (x[1] > y[1]);
}

/* Sorted-by-length minibatches of c's sentences. */
static batch *make_batches(const dy_corpus *c, uint32_t B, uint32_t *nb) {
  size_t n = c->nsent;
  uint32_t *order = malloc(2 * n * sizeof(uint32_t));
  for (size_t i = 0; i < n; i++) {
    order[2 * i] = (uint32_t)dy_corpus_len(c, i);
    order[2 * i + 1] = (uint32_t)i;
  }
  qsort(order, n, 2 * sizeof(uint32_t), by_len_desc);
  *nb = (uint32_t)((n + B - 1) / B);
  batch *bs = calloc(*nb ? *nb : 1, sizeof *bs);
  for (uint32_t k = 0; k < *nb; k++) {
    uint32_t m = (uint32_t)((k + 1) * (size_t)B <= n ? B : n - (size_t)k * B);
    bs[k].n = m;
    bs[k].sents = malloc(m * sizeof *bs[k].sents);
    bs[k].len = malloc(m * sizeof *bs[k].len);
    for (uint32_t j = 0; j < m; j++) {
      uint32_t i = order[2 * ((size_t)k * B + j) + 1];
      bs[k].sents[j] = dy_corpus_words(c, i);
      bs[k].len[j] = (uint32_t)dy_corpus_len(c, i);
    }
  }
  free(order);
  return bs;
}

static void free_batches(batch *bs, uint32_t nb) {
  for (uint32_t k = 0; k < nb; k++) {
    free(bs[k].sents);
    free(bs[k].len);
  }
  free(bs);
}

/* Perplexity over every minibatch of bs (test mode). */
static double perplexity(dy_lm *lm, dy_graph *g, batch *bs, uint32_t nb, uint32_t bos) {
  double nll = 0;
  size_t tok = 0;
  dy_graph_set_train(g, 0);
  for (uint32_t k = 0; k < nb; k++) {
    dy_graph_renew(g);
    size_t nt;
    dy_real l = dy_scalar(dy_lm_sentences_loss(lm, g, bs[k].sents, bs[k].len, bs[k].n, bos, bos, &nt));
    if (isnan(l)) {
      fprintf(stderr, "rnnlm: %s\n", dy_graph_error(g));
      return NAN;
    }
    nll += l;
    tok += nt;
  }
  dy_graph_set_train(g, 1);
  return exp(nll / (double)tok);
}

static int run_rnnlm(bench_ctx *ctx, int argc, char **argv) {
  char tb[1024], vb[1024], err[512];
  const char *train = NULL, *valid = NULL;
  long steps = 1000, warmup = 20, B = 16, emb = 64, hidden = 128, layers = 1, seed = 1, vsents = 0;
  long epochs = 0;
  int torch_order = 0;
  for (int i = 1; i < argc; i++) {
    int r;
    if (!strcmp(argv[i], "--torch-order")) torch_order = 1;
    else if (!strcmp(argv[i], "--train") && i + 1 < argc) train = argv[++i];
    else if (!strcmp(argv[i], "--valid") && i + 1 < argc) valid = argv[++i];
    else if ((r = bench_opt_long(argc, argv, &i, "--steps", 1, &steps)) ||
             (r = bench_opt_long(argc, argv, &i, "--warmup", 0, &warmup)) ||
             (r = bench_opt_long(argc, argv, &i, "--batch", 1, &B)) ||
             (r = bench_opt_long(argc, argv, &i, "--emb", 1, &emb)) ||
             (r = bench_opt_long(argc, argv, &i, "--hidden", 1, &hidden)) ||
             (r = bench_opt_long(argc, argv, &i, "--layers", 1, &layers)) ||
             (r = bench_opt_long(argc, argv, &i, "--valid-sents", 0, &vsents)) ||
             (r = bench_opt_long(argc, argv, &i, "--epochs", 0, &epochs)) ||
             (r = bench_opt_long(argc, argv, &i, "--seed", 0, &seed))) {
      if (r < 0) return 2;
    } else return bench_bad_option(ctx, argv[i]);
  }
  if (ctx->quick) {
    steps = 10;
    warmup = 2;
    if (!vsents) vsents = 64;
  }
  if (!train) train = bench_find_data("ptb/ptb.train.txt", tb, sizeof tb);
  if (!valid) valid = bench_find_data("ptb/ptb.valid.txt", vb, sizeof vb);
  dy_vocab *v = dy_vocab_new("<unk>");
  uint32_t bos = dy_vocab_add(v, "<s>", 3); /* the start and end symbol */
  dy_corpus *tc, *vc;
  const char *data = "ptb";
  if (train && valid) {
    tc = dy_text_read_path(train, v, NULL, err, sizeof err);
    dy_vocab_freeze(v);
    vc = tc ? dy_text_read_path(valid, v, NULL, err, sizeof err) : NULL;
  } else {
    fprintf(stderr, "rnnlm: PTB not found (looked in $DY_SHARED, ../shared/data/ptb; give --train/--valid): "
                    "using generated text\n");
    data = "synthetic";
    tc = synthetic_text(v, ctx->quick ? 400 : 4000, 1);
    dy_vocab_freeze(v);
    vc = synthetic_text(v, 400, 2);
  }
  if (!tc || !vc) {
    fprintf(stderr, "rnnlm: %s\n", err);
    dy_corpus_free(tc);
    dy_vocab_free(v);
    return 1;
  }
  if (vsents > 0 && (size_t)vsents < vc->nsent) vc->nsent = (size_t)vsents;
  uint32_t V = dy_vocab_size(v);
  dy_model *m = dy_model_new((uint64_t)seed);
  dy_lm_opts o = dy_lm_defaults();
  o.emb = (uint32_t)emb;
  o.hidden = (uint32_t)hidden;
  o.layers = (uint32_t)layers;
  dy_lm *lm = dy_lm_new(m, "lm", V, &o);
  dy_trainer *tr = dy_adam_new(m, 0.001f, 0.9f, 0.999f, 1e-8f);
  dy_trainer_set_clip(tr, 0);
  dy_graph *g = dy_graph_new();
  uint32_t nb, nvb;
  batch *bs = make_batches(tc, (uint32_t)B, &nb), *vbs = make_batches(vc, (uint32_t)B, &nvb);
  uint32_t *order = malloc(nb * sizeof(uint32_t));
  uint64_t rs = (uint64_t)seed;
  py_random pr;
  py_seed(&pr, (uint32_t)seed);
  for (uint32_t k = 0; k < nb; k++) order[k] = k;
  if (torch_order) py_shuffle(&pr, order, nb);
  else
    for (uint32_t k = nb; k > 1; k--) {
      uint32_t j = (uint32_t)(rng_next(&rs) % k), t = order[k - 1];
      order[k - 1] = order[j];
      order[j] = t;
    }
  if (epochs > 0) { /* whole epochs instead of --steps: a line per epoch */
    warmup = 0;
    steps = epochs * (long)nb;
  }
  double t0 = 0, c0 = 0, words = 0, loss_sum = 0, eval_secs = 0, eval_cpu = 0, ep_words = 0, ep_loss = 0;
  int rc = 0;
  for (long s = 0; s < warmup + steps; s++) {
    if (s == warmup) {
      t0 = bench_now();
      c0 = bench_cpu_now();
    }
    batch *b = &bs[order[s % nb]];
    dy_graph_renew(g);
    size_t nt;
    dy_expr L = dy_lm_sentences_loss(lm, g, b->sents, b->len, b->n, bos, bos, &nt);
    dy_real l = dy_scalar(L);
    if (isnan(l) || dy_backward(L) != DY_OK) {
      fprintf(stderr, "rnnlm: %s\n", dy_graph_error(g));
      rc = 1;
      break;
    }
    dy_trainer_update(tr);
    if (s >= warmup) {
      words += (double)nt;
      loss_sum += l;
      ep_words += (double)nt;
      ep_loss += l;
    }
    if (epochs > 0 && (s + 1) % (long)nb == 0) {
      double e0 = bench_now(), ec0 = bench_cpu_now(), vp = perplexity(lm, g, vbs, nvb, bos);
      eval_secs += bench_now() - e0;
      eval_cpu += bench_cpu_now() - ec0;
      bench_progress_done(ctx);
      printf("# epoch %ld: train ppl %.2f, valid ppl %.2f, %.0f words/s\n", (s + 1) / (long)nb,
             exp(ep_loss / ep_words), vp, words / (bench_now() - t0 - eval_secs));
      fflush(stdout);
      ep_words = ep_loss = 0;
      if (torch_order) py_shuffle(&pr, order, nb); /* a new minibatch order */
      else
        for (uint32_t k = nb; k > 1; k--) {
          uint32_t j = (uint32_t)(rng_next(&rs) % k), t = order[k - 1];
          order[k - 1] = order[j];
          order[j] = t;
        }
    }
    if ((s & 15) == 0)
      bench_progress(ctx, "rnnlm step %ld/%ld  %.0f words/s  ppl %.1f", s + 1, warmup + steps,
                     s > warmup ? words / (bench_now() - t0) : 0.0,
                     words > 0 ? exp(loss_sum / words) : 0.0);
  }
  double secs = bench_now() - t0 - eval_secs, cpu = bench_cpu_now() - c0 - eval_cpu;
  bench_progress_done(ctx);
  if (!rc) {
    double wps = words / secs, cwps = words / cpu, ppl = perplexity(lm, g, vbs, nvb, bos);
    bench_row_begin(ctx);
    bench_row_str(ctx, "data", data);
    bench_row_int(ctx, "vocab", V);
    bench_row_int(ctx, "steps", steps);
    bench_row_num(ctx, "words/s", wps);
    bench_row_num(ctx, "words/cpu_s", cwps);
    bench_row_num(ctx, "train_ppl", exp(loss_sum / words));
    bench_row_num(ctx, "valid_ppl", ppl);
    bench_row_end(ctx);
    bench_result(ctx,
                 "data=%s words_per_sec=%.0f words_per_cpu_sec=%.0f valid_ppl=%.2f steps=%ld batch=%ld emb=%ld "
                 "hidden=%ld vocab=%u timed_words=%.0f order=%s",
                 data, wps, cwps, ppl, steps, B, emb, hidden, (unsigned)V, words, torch_order ? "torch" : "own");
  }
  free(order);
  free_batches(bs, nb);
  free_batches(vbs, nvb);
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_lm_free(lm);
  dy_model_free(m);
  dy_corpus_free(tc);
  dy_corpus_free(vc);
  dy_vocab_free(v);
  return rc;
}

const bench_task bench_task_rnnlm = {
    "rnnlm", "word-level LSTM LM on PTB, minibatches of 16 sentences with masking (words/s, perplexity)",
    "  --train FILE --valid FILE  (default ../shared/data/ptb/ptb.{train,valid}.txt)\n"
    "  --steps N (1000) --warmup N (20) --batch N (16) --emb N (64) --hidden N (128)\n"
    "  --layers N (1) --valid-sents N (0 = all) --seed N (1)\n"
    "  --epochs N (0: --steps minibatches; N: N whole epochs, shuffled, a line per epoch)\n"
    "  --torch-order: shuffle the minibatches with Python's random.seed(seed) + random.shuffle, as\n"
    "                 ../shared/peers/torch_rnnlm.py does: the same minibatches in the same order\n"
    "  RESULT keys: data words_per_sec words_per_cpu_sec valid_ppl steps batch emb hidden vocab\n"
    "               timed_words order\n"
    "  (words_per_cpu_sec: per second of this process's CPU time, steadier on a busy machine)\n",
    run_rnnlm};

/* =============================================================== charlm */

/* Bits per char over text[from, to) (to <= n) in consecutive windows of T
 * predicted chars, zero state each, test mode. in/out: room for T ids. */
static double valid_bpc(dy_lm *lm, dy_graph *g, const unsigned char *text, const uint32_t *map,
                        size_t from, size_t to, size_t n, size_t T, uint32_t *in, uint32_t *out) {
  if (to > n) to = n;
  dy_graph_set_train(g, 0);
  double nll = 0;
  size_t count = 0;
  for (size_t st = from; st + T + 1 <= to; st += T) {
    for (size_t t = 0; t < T; t++) {
      in[t] = map[text[st + t]];
      out[t] = map[text[st + t + 1]];
    }
    dy_graph_renew(g);
    nll += dy_scalar(dy_lm_loss(lm, g, in, out, NULL, (uint32_t)T, 1, NULL, NULL));
    count += T;
  }
  dy_graph_set_train(g, 1);
  return count ? nll / (double)count / log(2.0) : NAN;
}

/* One epoch of truncated BPTT over B parallel streams: the training text is
 * cut into B contiguous segments, read in consecutive windows of T with the
 * RNN state carried from each window to the next (gradients stop at window
 * boundaries). Returns the mean loss per char (nats) or NAN on error. */
static double stream_epoch(bench_ctx *ctx, dy_lm *lm, dy_graph *g, dy_trainer *tr,
                           const unsigned char *text, const uint32_t *map, size_t ntrain, size_t B,
                           size_t T, uint32_t *in, uint32_t *out, dy_real *state, long *windows) {
  size_t seg = ntrain / B, W = (seg - 1) / T;
  double loss = 0;
  for (size_t w = 0; w < W; w++) {
    for (size_t b = 0; b < B; b++)
      for (size_t t = 0; t < T; t++) {
        size_t at = b * seg + w * T + t;
        in[t * B + b] = map[text[at]];
        out[t * B + b] = map[text[at + 1]];
      }
    dy_graph_renew(g);
    dy_rnn_state fin;
    dy_expr L = dy_lm_loss(lm, g, in, out, NULL, (uint32_t)T, (uint32_t)B, w ? state : NULL, &fin);
    L = dy_mul_scalar(L, (dy_real)(1.0 / (double)(B * T)));
    dy_real l = dy_scalar(L);
    if (isnan(l) || dy_backward(L) != DY_OK || dy_lm_state_get(lm, fin, (uint32_t)B, state) != DY_OK) {
      fprintf(stderr, "charlm: %s\n", dy_graph_error(g));
      return NAN;
    }
    dy_trainer_update(tr);
    loss += l;
    (*windows)++;
    if ((w & 7) == 0) bench_progress(ctx, "charlm stream window %zu/%zu  loss %.3f", w + 1, W, (double)l);
  }
  bench_progress_done(ctx);
  return loss / (double)W;
}

static int run_charlm(bench_ctx *ctx, int argc, char **argv) {
  char db[1024];
  const char *path = NULL;
  long steps = 1000, warmup = 10, B = 32, T = 64, emb = 64, hidden = 128, layers = 2, seed = 1;
  long sample = 200, stream = 0, epochs = 1;
  double lr = -1, temp = 0.8, clip = 0;
  int rmsprop = 0;
  for (int i = 1; i < argc; i++) /* --kann first: later options override its sizes */
    if (!strcmp(argv[i], "--kann")) {
      B = T = 50;
      rmsprop = 1;
      clip = 10;
    }
  for (int i = 1; i < argc; i++) {
    int r;
    if (!strcmp(argv[i], "--data") && i + 1 < argc) path = argv[++i];
    else if (!strcmp(argv[i], "--stream")) stream = 1;
    else if (!strcmp(argv[i], "--kann")) continue;
    else if (!strcmp(argv[i], "--trainer") && i + 1 < argc &&
             (!strcmp(argv[i + 1], "adam") || !strcmp(argv[i + 1], "rmsprop")))
      rmsprop = !strcmp(argv[++i], "rmsprop");
    else if ((r = bench_opt_long(argc, argv, &i, "--steps", 1, &steps)) ||
             (r = bench_opt_long(argc, argv, &i, "--epochs", 1, &epochs)) ||
             (r = bench_opt_long(argc, argv, &i, "--warmup", 0, &warmup)) ||
             (r = bench_opt_long(argc, argv, &i, "--batch", 1, &B)) ||
             (r = bench_opt_long(argc, argv, &i, "--seq", 1, &T)) ||
             (r = bench_opt_long(argc, argv, &i, "--emb", 1, &emb)) ||
             (r = bench_opt_long(argc, argv, &i, "--hidden", 1, &hidden)) ||
             (r = bench_opt_long(argc, argv, &i, "--layers", 1, &layers)) ||
             (r = bench_opt_long(argc, argv, &i, "--sample", 0, &sample)) ||
             (r = bench_opt_long(argc, argv, &i, "--seed", 0, &seed)) ||
             (r = bench_opt_double(argc, argv, &i, "--lr", 0, &lr)) ||
             (r = bench_opt_double(argc, argv, &i, "--clip", 0, &clip)) ||
             (r = bench_opt_double(argc, argv, &i, "--temperature", 1e-3, &temp))) {
      if (r < 0) return 2;
    } else return bench_bad_option(ctx, argv[i]);
  }
  if (ctx->quick) {
    steps = 5;
    warmup = 1;
    sample = 40;
  }
  if (!path) path = bench_find_data("tinyshakespeare/input.txt", db, sizeof db);
  /* the text: the file's bytes, or generated sentences joined by newlines */
  unsigned char *text = NULL;
  size_t n = 0;
  const char *data = "tinyshakespeare";
  if (path) {
    FILE *f = fopen(path, "rb");
    if (f) {
      fseek(f, 0, SEEK_END);
      long sz = ftell(f);
      fseek(f, 0, SEEK_SET);
      text = malloc(sz > 0 ? (size_t)sz : 1);
      n = fread(text, 1, sz > 0 ? (size_t)sz : 0, f);
      fclose(f);
    }
  }
  if (!text || n < (size_t)(T + 2) * 20) {
    fprintf(stderr, "charlm: Tiny Shakespeare not found (looked in $DY_SHARED, ../shared/data; give --data): "
                    "using generated text\n");
    free(text);
    data = "synthetic";
    dy_vocab *wv = dy_vocab_new(NULL);
    dy_corpus *c = synthetic_text(wv, 3000, 3);
    size_t cap = 1 << 20;
    text = malloc(cap);
    n = 0;
    for (size_t i = 0; c && i < c->nsent; i++) {
      for (size_t j = 0; j < dy_corpus_len(c, i); j++) {
        const char *w = dy_vocab_str(wv, dy_corpus_words(c, i)[j]);
        size_t l = strlen(w);
        if (n + l + 2 >= cap) break;
        memcpy(text + n, w, l);
        n += l;
        text[n++] = j + 1 < dy_corpus_len(c, i) ? ' ' : '\n';
      }
    }
    dy_corpus_free(c);
    dy_vocab_free(wv);
  }
  /* vocabulary: the sorted set of bytes */
  uint32_t map[256], V = 0;
  unsigned char inv[256];
  int seen[256] = {0};
  for (size_t i = 0; i < n; i++) seen[text[i]] = 1;
  for (int c = 0; c < 256; c++)
    if (seen[c]) {
      inv[V] = (unsigned char)c;
      map[c] = V++;
    }
  size_t ntrain = (size_t)((double)n * 0.9);
  dy_model *m = dy_model_new((uint64_t)seed);
  dy_lm_opts o = dy_lm_defaults();
  o.emb = (uint32_t)emb;
  o.hidden = (uint32_t)hidden;
  o.layers = (uint32_t)layers;
  dy_lm *lm = dy_lm_new(m, "charlm", V, &o);
  if (lr < 0) lr = rmsprop ? 0.01 : 2e-3;
  dy_trainer *tr = rmsprop ? dy_rmsprop_new(m, (dy_real)lr, 0.9f, 1e-8f)
                           : dy_adam_new(m, (dy_real)lr, 0.9f, 0.999f, 1e-8f);
  dy_trainer_set_clip(tr, (dy_real)clip);
  dy_graph *g = dy_graph_new();
  size_t nb = (size_t)B * (size_t)T;
  uint32_t *in = malloc(nb * sizeof(uint32_t)), *out = malloc(nb * sizeof(uint32_t));
  uint64_t rs = (uint64_t)seed * 1000003u;
  double t0 = 0, c0 = 0, loss = 0;
  int rc = 0;
  if (stream) { /* truncated BPTT over the whole training text, --epochs times */
    dy_real *state = malloc(dy_lm_state_size(lm, (uint32_t)B) * sizeof(dy_real));
    size_t ntr = ctx->quick ? (size_t)B * (size_t)T * 4 + 1 : ntrain;
    double eval = 0, eval_cpu = 0;
    long windows = 0;
    warmup = 0;
    t0 = bench_now();
    c0 = bench_cpu_now();
    for (long e = 1; e <= epochs && !rc; e++) {
      double l = stream_epoch(ctx, lm, g, tr, text, map, ntr, (size_t)B, (size_t)T, in, out, state, &windows);
      if (isnan(l)) {
        rc = 1;
        break;
      }
      double e0 = bench_now(), ec0 = bench_cpu_now();
      double vb = valid_bpc(lm, g, text, map, ntrain, ctx->quick ? ntrain + 8 * (size_t)T : n, n, (size_t)T, in, out);
      eval += bench_now() - e0;
      eval_cpu += bench_cpu_now() - ec0;
      printf("# epoch %ld: train %.3f bits/char, valid %.3f bits/char, %.0f chars/s\n", e, l / log(2.0), vb,
             (double)windows * (double)nb / (bench_now() - t0 - eval));
      fflush(stdout);
      loss += l * (double)((ntr / (size_t)B - 1) / (size_t)T);
    }
    free(state);
    steps = windows;
    t0 += eval;
    c0 += eval_cpu;
  }
  for (long s = 0; !stream && s < warmup + steps; s++) {
    if (s == warmup) {
      t0 = bench_now();
      c0 = bench_cpu_now();
    }
    for (long b = 0; b < B; b++) {
      size_t st = (size_t)(rng_next(&rs) % (ntrain - (size_t)T - 1));
      for (long t = 0; t < T; t++) {
        in[t * B + b] = map[text[st + (size_t)t]];
        out[t * B + b] = map[text[st + (size_t)t + 1]];
      }
    }
    dy_graph_renew(g);
    dy_expr L = dy_mul_scalar(dy_lm_loss(lm, g, in, out, NULL, (uint32_t)T, (uint32_t)B, NULL, NULL),
                              (dy_real)(1.0 / (double)nb));
    dy_real l = dy_scalar(L);
    if (isnan(l) || dy_backward(L) != DY_OK) {
      fprintf(stderr, "charlm: %s\n", dy_graph_error(g));
      rc = 1;
      break;
    }
    dy_trainer_update(tr);
    if (s >= warmup) loss += l;
    if ((s & 7) == 0)
      bench_progress(ctx, "charlm step %ld/%ld  %.0f chars/s  loss %.3f", s + 1, warmup + steps,
                     s > warmup ? (double)(s - warmup) * (double)nb / (bench_now() - t0) : 0.0, (double)l);
  }
  double secs = bench_now() - t0, cpu = bench_cpu_now() - c0;
  bench_progress_done(ctx);
  if (!rc) {
    double cps = (double)steps * (double)nb / secs, ccps = (double)steps * (double)nb / cpu;
    double bpc = valid_bpc(lm, g, text, map, ntrain, ctx->quick ? ntrain + 8 * (size_t)T : n, n, (size_t)T, in, out);
    uint32_t prime = map['\n'] < V && seen['\n'] ? map['\n'] : 0;
    uint32_t *smp = malloc((size_t)(sample ? sample : 1) * sizeof(uint32_t));
    if (sample > 0 && dy_lm_sample(lm, g, &prime, 1, (uint32_t)sample, temp, (uint64_t)seed, smp) == DY_OK) {
      printf("# sample (temperature %.2f):\n", temp);
      for (long k = 0; k < sample; k++) putchar(inv[smp[k]]);
      printf("\n# end of sample\n");
    }
    free(smp);
    bench_row_begin(ctx);
    bench_row_str(ctx, "data", data);
    bench_row_int(ctx, "vocab", V);
    bench_row_int(ctx, "steps", steps);
    bench_row_num(ctx, "chars/s", cps);
    bench_row_num(ctx, "chars/cpu_s", ccps);
    bench_row_num(ctx, "train_loss", loss / (double)steps);
    bench_row_num(ctx, "valid_bpc", bpc);
    bench_row_end(ctx);
    bench_result(ctx,
                 "data=%s chars_per_sec=%.0f chars_per_cpu_sec=%.0f valid_bpc=%.3f steps=%ld batch=%ld seq=%ld "
                 "layers=%ld hidden=%ld trainer=%s",
                 data, cps, ccps, bpc, steps, B, T, layers, hidden, rmsprop ? "rmsprop" : "adam");
  }
  free(in);
  free(out);
  free(text);
  dy_graph_free(g);
  dy_trainer_free(tr);
  dy_lm_free(lm);
  dy_model_free(m);
  return rc;
}

const bench_task bench_task_charlm = {
    "charlm", "character-level 2x128 LSTM LM on Tiny Shakespeare, 32 random windows of 64 (chars/s, bits/char)",
    "  --data FILE (default ../shared/data/tinyshakespeare/input.txt)\n"
    "  --steps N (1000) --warmup N (10) --batch N (32) --seq N (64) --emb N (64) --hidden N (128)\n"
    "  --layers N (2) --lr X (0.002; rmsprop 0.01) --sample N (200) --temperature X (0.8) --seed N (1)\n"
    "  --trainer adam|rmsprop (adam; rmsprop: rho 0.9) --clip X (0: none; gradient norm)\n"
    "  --kann: KANN textgen's setting (50 windows x 50 chars, RMSprop 0.01, clip 10) for the\n"
    "          figure of ../shared/peers/RESULTS.md (KANN feeds one-hot chars, no embedding)\n"
    "  --stream: truncated BPTT instead: the text as --batch parallel streams read in consecutive\n"
    "            windows of --seq with the state carried across windows, --epochs N (1) epochs,\n"
    "            a line per epoch (train and valid bits/char)\n"
    "  RESULT keys: data chars_per_sec chars_per_cpu_sec valid_bpc steps batch seq layers hidden trainer\n",
    run_charlm};
