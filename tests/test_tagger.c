/* Taggers: learning on the synthetic language (BiLSTM above the per-word
 * majority baseline; left-to-right vs bidirectional on the forms only the
 * right neighbour disambiguates), gradient checks of every configuration
 * (chars included) at tiny sizes, word dropout, initialisation, save/load
 * giving identical predictions, empty sentences, unknown words and bad ids. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dy_tagger.h"
#include "harness.h"

enum { DET, ADJ, NOUN, VERB, PREP, ADV };

/* Synthetic train/dev data through fresh vocabularies (words frozen after
 * train, so dev words never seen map to UNK). */
typedef struct data {
  dy_vocab *W, *T;
  dy_corpus *train, *dev;
} data;

static data make_data(size_t ntrain, size_t ndev, uint32_t n_nv, uint32_t n_an) {
  data d;
  char err[256];
  d.W = dy_vocab_new("<unk>");
  d.T = dy_vocab_new(NULL);
  dy_synth_opts o = dy_synth_defaults();
  o.nsent = ntrain;
  o.n_nv = n_nv;
  o.n_an = n_an;
  d.train = dy_synth_tagging(&o, d.W, d.T, err, sizeof err);
  ck_assert_msg(d.train != NULL, "%s", err);
  dy_vocab_freeze(d.W);
  dy_vocab_freeze(d.T);
  o.seed = 77;
  o.nsent = ndev;
  d.dev = dy_synth_tagging(&o, d.W, d.T, err, sizeof err);
  ck_assert_msg(d.dev != NULL, "%s", err);
  return d;
}

static void free_data(data *d) {
  dy_corpus_free(d->train);
  dy_corpus_free(d->dev);
  dy_vocab_free(d->W);
  dy_vocab_free(d->T);
}

static dy_tagger_opts small_opts(dy_rnn_kind k, int bi) {
  dy_tagger_opts o = dy_tagger_defaults();
  o.rnn = k;
  o.bidirectional = bi;
  o.emb = 24;
  o.hidden = 24;
  o.mlp = 16;
  return o;
}

/* Trains `epochs` epochs with SGD 0.1 (seeded shuffle); returns the tagger. */
static dy_tagger *train_tagger(dy_model *m, const dy_tagger_opts *o, const data *d, int epochs) {
  dy_tagger *t = dy_tagger_new(m, o, dy_vocab_size(d->W), dy_vocab_size(d->T));
  ck_assert_msg(t != NULL, "dy_tagger_new: %s", dy_model_error(m) ? dy_model_error(m) : "NULL");
  dy_trainer *tr = dy_sgd_new(m, (dy_real)0.1);
  dy_graph *g = dy_graph_new();
  size_t *order = malloc(d->train->nsent * sizeof *order);
  for (int e = 0; e < epochs; e++) {
    dy_tagger_stats st;
    dy_tagger_shuffle(order, d->train->nsent, (uint64_t)e + 1);
    dy_status rc = dy_tagger_train_epoch(t, g, tr, d->train, order, &st, NULL, NULL);
    ck_assert_msg(rc == DY_OK, "train: %s", dy_graph_error(g) ? dy_graph_error(g) : dy_status_str(rc));
    ck_assert_uint_eq(st.sents, d->train->nsent);
    ck_assert_uint_eq(st.words, d->train->ntok);
    ck_assert(st.loss > 0 && isfinite(st.loss));
  }
  free(order);
  dy_graph_free(g);
  dy_trainer_free(tr);
  return t;
}

/* Accuracy on the dev tokens whose word was seen in training with both tags
 * a and b (the ambiguous forms of one kind); *n gets their number. */
static double acc_on_ambiguous(dy_tagger *t, const data *d, uint32_t a, uint32_t b, size_t *n) {
  uint32_t nw = dy_vocab_size(d->W);
  unsigned char *seen = calloc(nw, 1);
  for (size_t k = 0; k < d->train->ntok; k++) seen[d->train->words[k]] |= (unsigned char)(1u << d->train->tags[k]);
  dy_graph *g = dy_graph_new();
  uint32_t *pred = malloc(64 * sizeof *pred);
  size_t good = 0, tot = 0;
  for (size_t i = 0; i < d->dev->nsent; i++) {
    dy_graph_renew(g);
    dy_tagger_sent s = dy_tagger_corpus_sent(d->dev, i, NULL);
    ck_assert_uint_le(s.n, 64);
    ck_assert_int_eq(dy_tagger_predict(t, g, &s, pred), DY_OK);
    for (uint32_t j = 0; j < s.n; j++) {
      unsigned m = seen[s.words[j]];
      if (s.words[j] != DY_TAGGER_UNK && (m >> a & 1) && (m >> b & 1)) {
        tot++;
        good += pred[j] == s.tags[j];
      }
    }
  }
  free(pred);
  dy_graph_free(g);
  free(seen);
  *n = tot;
  return tot ? (double)good / (double)tot : 0;
}

/* ============================================================ learning */

START_TEST(bilstm_learns_synthetic_uni_cannot) {
  /* The synthetic language's per-word majority tagger gets 90.5% (stated in
   * dy_corpus.h); its tags are a function of (form, left tag, right tag), so
   * a BiLSTM can reach 100%. ADJ/NOUN forms: only the right neighbour
   * decides, so a left-to-right tagger must guess while a BiLSTM sees it.
   * NOUN/VERB forms: the left neighbour decides, so both get most of them.
   * Measured with these small sizes (seed 1, 1200 sentences, 3 epochs):
   * BiLSTM overall 0.964; ADJ/NOUN uni 0.724, bi 0.944; NOUN/VERB uni 0.889,
   * bi 0.965. The thresholds leave margin. */
  data d = make_data(1200, 400, 30, 30);
  dy_model *mu = dy_model_new(1), *mb = dy_model_new(1);
  dy_tagger_opts ou = small_opts(DY_LSTM, 0), ob = small_opts(DY_LSTM, 1);
  dy_tagger *tu = train_tagger(mu, &ou, &d, 3), *tb = train_tagger(mb, &ob, &d, 3);
  dy_graph *g = dy_graph_new();
  dy_tagger_stats st;
  ck_assert_int_eq(dy_tagger_evaluate(tb, g, d.dev, &st), DY_OK);
  ck_assert_uint_eq(st.words, d.dev->ntok);
  ck_assert_uint_eq(st.sents, d.dev->nsent);
  ck_assert(st.unk_words <= st.words && st.unk_correct <= st.unk_words);
  size_t n_an = 0, n_nv = 0, n2 = 0;
  double u_an = acc_on_ambiguous(tu, &d, ADJ, NOUN, &n_an), b_an = acc_on_ambiguous(tb, &d, ADJ, NOUN, &n2);
  double u_nv = acc_on_ambiguous(tu, &d, NOUN, VERB, &n_nv), b_nv = acc_on_ambiguous(tb, &d, NOUN, VERB, &n2);
  if (getenv("DY_TEST_VERBOSE"))
    fprintf(stderr, "bi %.4f | ADJ/NOUN uni %.4f bi %.4f (%zu) | NOUN/VERB uni %.4f bi %.4f (%zu)\n", st.acc, u_an,
            b_an, n_an, u_nv, b_nv, n_nv);
  ck_assert_msg(st.acc > 0.94, "BiLSTM dev accuracy %.4f, want > 0.94 (majority baseline 0.905)", st.acc);
  ck_assert_msg(n_an > 200 && n_nv > 200, "too few ambiguous tokens: %zu %zu", n_an, n_nv);
  ck_assert_msg(b_an > 0.9, "BiLSTM on ADJ/NOUN forms: %.4f", b_an);
  ck_assert_msg(u_an < b_an - 0.1, "left-to-right %.4f vs bidirectional %.4f on ADJ/NOUN forms", u_an, b_an);
  ck_assert_msg(u_nv > 0.85 && b_nv > 0.9, "NOUN/VERB forms: uni %.4f bi %.4f", u_nv, b_nv);
  dy_graph_free(g);
  dy_tagger_free(tu);
  dy_tagger_free(tb);
  dy_model_free(mu);
  dy_model_free(mb);
  free_data(&d);
}
END_TEST

START_TEST(every_cell_learns_a_little) {
  /* Bi-S-RNN, GRU, char-level BiLSTM, 2-layer bi-GRU: two epochs over 300
   * sentences get above 75% (measured 0.806 for the GRU, 0.91-0.94 for the
   * bidirectional ones). */
  data d = make_data(300, 100, 5, 5);
  struct { dy_rnn_kind k; int bi, chars, layers; } cfg[] = {
      {DY_SRNN, 1, 0, 1}, {DY_GRU, 0, 0, 1}, {DY_LSTM, 1, 1, 1}, {DY_GRU, 1, 0, 2}};
  for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
    dy_model *m = dy_model_new(3);
    dy_tagger_opts o = small_opts(cfg[c].k, cfg[c].bi);
    o.chars = cfg[c].chars;
    o.char_emb = 8;
    o.char_hidden = 8;
    o.layers = cfg[c].layers;
    dy_tagger *t = train_tagger(m, &o, &d, 2);
    dy_graph *g = dy_graph_new();
    dy_tagger_stats st;
    ck_assert_int_eq(dy_tagger_evaluate(t, g, d.dev, &st), DY_OK);
    if (getenv("DY_TEST_VERBOSE")) fprintf(stderr, "config %zu: %.4f\n", c, st.acc);
    ck_assert_msg(st.acc > 0.75, "config %zu: dev accuracy %.4f", c, st.acc);
    dy_graph_free(g);
    dy_tagger_free(t);
    dy_model_free(m);
  }
  free_data(&d);
}
END_TEST

/* ======================================================== gradient checks */

START_TEST(gradcheck_tiny) {
  const uint32_t words[3] = {1, 0, 4}, tags[3] = {2, 0, 1};
  /* "été" (5 UTF-8 bytes) and "abcde" share one char batch; "x" runs alone */
  const char *forms[3] = {"abcde", "\xc3\xa9t\xc3\xa9", "x"};
  struct { dy_rnn_kind k; int bi, chars, layers; } cfg[] = {
      {DY_LSTM, 1, 1, 1}, {DY_LSTM, 0, 1, 1}, {DY_GRU, 1, 0, 2}, {DY_SRNN, 0, 0, 2}, {DY_LSTM, 1, 0, 1}};
  for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
    dy_model *m = dy_model_new(5 + c);
    dy_tagger_opts o = dy_tagger_defaults();
    o.rnn = cfg[c].k;
    o.bidirectional = cfg[c].bi;
    o.chars = cfg[c].chars;
    o.layers = cfg[c].layers;
    o.emb = 3;
    o.hidden = 2;
    o.mlp = 3;
    o.char_emb = 2;
    o.char_hidden = 2;
    o.init = DY_TAGGER_INIT_GLOROT;
    dy_tagger *t = dy_tagger_new(m, &o, 5, 3);
    ck_assert_ptr_nonnull(t);
    dy_graph *g = dy_graph_new();
    dy_tagger_sent s = {3, words, tags, forms};
    dy_expr loss = dy_tagger_loss(t, g, &s);
    char rep[2048];
    dy_status rc = dy_check_grad(loss, T_STEP, T_TOL, rep, sizeof rep);
    ck_assert_msg(rc == DY_OK, "config %zu: %s %s", c, dy_status_str(rc), rc == DY_EGRAD ? rep : dy_graph_error(g));
    /* the loss is the sum of the words' -log softmax */
    dy_graph_renew(g);
    dy_expr S = dy_tagger_scores(t, g, &s);
    const dy_real *v = dy_forward(S);
    ck_assert_ptr_nonnull(v);
    double want = 0;
    for (int i = 0; i < 3; i++) {
      double mx = v[i * 3], z = 0;
      for (int k = 1; k < 3; k++) mx = fmax(mx, v[i * 3 + k]);
      for (int k = 0; k < 3; k++) z += exp(v[i * 3 + k] - mx);
      want += mx + log(z) - v[i * 3 + tags[i]];
    }
    dy_graph_renew(g);
    ck_close(dy_scalar(dy_tagger_loss(t, g, &s)), want, 1e-4 * (1 + want));
    dy_graph_free(g);
    dy_tagger_free(t);
    dy_model_free(m);
  }
}
END_TEST

START_TEST(char_batch_same_as_word_by_word) {
  /* lengths 3, 1, 3, 0 (empty), 5, 1, 3: groups of several words and singletons */
  const uint32_t words[7] = {1, 2, 3, 0, 4, 2, 1}, tags[7] = {0, 1, 2, 0, 1, 2, 0};
  const char *forms[7] = {"abc", "x", "\xc3\xa9t", "", "hello", "y", "abd"};
  dy_model *m = dy_model_new(8);
  dy_tagger_opts o = small_opts(DY_LSTM, 1);
  o.chars = 1;
  o.char_emb = 5;
  o.char_hidden = 7;
  dy_tagger *t = dy_tagger_new(m, &o, 5, 3);
  ck_assert_ptr_nonnull(t);
  dy_graph *g = dy_graph_new();
  dy_tagger_sent s = {7, words, tags, forms};
  dy_real v[2][21], gn[2], lv[2];
  for (int b = 0; b < 2; b++) {
    dy_tagger_set_char_batch(t, b);
    dy_graph_renew(g);
    const dy_real *x = dy_forward(dy_tagger_scores(t, g, &s));
    ck_assert_msg(x != NULL, "%s", dy_graph_error(g));
    memcpy(v[b], x, sizeof v[b]);
    dy_graph_renew(g);
    dy_expr l = dy_tagger_loss(t, g, &s);
    lv[b] = dy_scalar(l);
    ck_assert_int_eq(dy_backward(l), DY_OK);
    gn[b] = (dy_real)dy_model_grad_norm(m);
    dy_model_zero_grads(m);
  }
  for (int i = 0; i < 21; i++) ck_close(v[0][i], v[1][i], 1e-5);
  ck_close(lv[0], lv[1], 1e-4);
  ck_close(gn[0], gn[1], 1e-4 * (1 + gn[0]));
  dy_graph_free(g);
  dy_tagger_free(t);
  dy_model_free(m);
}
END_TEST

/* ============================================== options and UNK handling */

START_TEST(word_dropout_maps_to_unk) {
  const uint32_t words[3] = {1, 2, 3}, unk[3] = {0, 0, 0}, tags[3] = {0, 1, 0};
  dy_model *m = dy_model_new(2);
  dy_tagger_opts o = small_opts(DY_LSTM, 1);
  o.word_dropout = (dy_real)0.999999;
  dy_tagger *t = dy_tagger_new(m, &o, 6, 2);
  ck_assert_ptr_nonnull(t);
  dy_graph *g = dy_graph_new();
  dy_tagger_sent s = {3, words, tags, NULL}, su = {3, unk, tags, NULL};
  /* training mode: every word became UNK */
  dy_real l_train = dy_scalar(dy_tagger_loss(t, g, &s));
  dy_graph_renew(g);
  dy_real l_unk = dy_scalar(dy_tagger_loss(t, g, &su));
  ck_close(l_train, l_unk, 1e-6);
  dy_graph_renew(g);
  ck_assert_int_eq(dy_backward(dy_tagger_loss(t, g, &s)), DY_OK);
  dy_lookup *E = dy_model_find_lookup(m, "tagger/E");
  ck_assert_ptr_nonnull(E);
  ck_assert_uint_eq(dy_lookup_num_touched(E), 1);
  ck_assert_uint_eq(dy_lookup_touched(E)[0], DY_TAGGER_UNK);
  dy_model_zero_grads(m);
  /* test mode: no dropout */
  dy_graph_renew(g);
  dy_graph_set_train(g, 0);
  dy_real l_test = dy_scalar(dy_tagger_loss(t, g, &s));
  ck_assert(fabs((double)l_test - (double)l_unk) > 1e-6);
  dy_graph_free(g);
  dy_tagger_free(t);
  dy_model_free(m);
}
END_TEST

START_TEST(frequency_word_dropout) {
  /* alpha / (alpha + count): a huge alpha drops every word, rare or not; a
   * tiny alpha keeps a word seen 10^6 times; UNK itself is never "dropped" */
  const uint32_t words[3] = {1, 2, 3}, unk[3] = {0, 0, 0}, tags[3] = {0, 1, 0};
  dy_vocab *V = dy_vocab_new("<unk>");
  const char *f[3] = {"rare", "common", "mid"};
  for (int k = 0; k < 3; k++) dy_vocab_add(V, f[k], strlen(f[k]));
  for (int k = 0; k < 1000; k++) dy_vocab_add(V, "common", 6);
  dy_model *m = dy_model_new(2);
  dy_tagger_opts o = small_opts(DY_LSTM, 1);
  o.word_dropout_alpha = (dy_real)1e12;
  dy_tagger *t = dy_tagger_new(m, &o, 4, 2);
  ck_assert_ptr_nonnull(t);
  dy_graph *g = dy_graph_new();
  dy_tagger_sent s = {3, words, tags, NULL}, su = {3, unk, tags, NULL};
  /* no counts yet: a clear error in training mode */
  ck_assert(!dy_expr_valid(dy_tagger_loss(t, g, &s)));
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "dy_tagger_set_word_counts"));
  ck_assert_int_eq(dy_tagger_set_word_counts(t, V), DY_OK);
  dy_graph_renew(g);
  dy_real l_train = dy_scalar(dy_tagger_loss(t, g, &s));
  dy_graph_renew(g);
  dy_real l_unk = dy_scalar(dy_tagger_loss(t, g, &su));
  ck_close(l_train, l_unk, 1e-6);
  /* a vocabulary of another size is refused */
  dy_vocab *V2 = dy_vocab_new("<unk>");
  ck_assert_int_eq(dy_tagger_set_word_counts(t, V2), DY_EARG);
  dy_vocab_free(V2);
  dy_tagger_free(t);
  /* tiny alpha: "common" (1001 times) is never dropped in 200 draws, "rare"
   * (once) is dropped about alpha / (alpha + 1) = 1/2 of the time */
  o.word_dropout_alpha = 1;
  o.name = "t2";
  t = dy_tagger_new(m, &o, 4, 2);
  ck_assert_int_eq(dy_tagger_set_word_counts(t, V), DY_OK);
  dy_lookup *E = dy_model_find_lookup(m, "t2/E");
  int rare_dropped = 0, common_dropped = 0;
  const uint32_t one_rare[1] = {1}, one_common[1] = {2}, tag0[1] = {0};
  for (int k = 0; k < 200; k++) {
    dy_tagger_sent a = {1, one_rare, tag0, NULL}, b = {1, one_common, tag0, NULL};
    dy_graph_renew(g);
    ck_assert_int_eq(dy_backward(dy_tagger_loss(t, g, &a)), DY_OK);
    rare_dropped += dy_lookup_touched(E)[0] == DY_TAGGER_UNK;
    dy_model_zero_grads(m);
    dy_graph_renew(g);
    ck_assert_int_eq(dy_backward(dy_tagger_loss(t, g, &b)), DY_OK);
    common_dropped += dy_lookup_touched(E)[0] == DY_TAGGER_UNK;
    dy_model_zero_grads(m);
  }
  ck_assert_msg(rare_dropped > 70 && rare_dropped < 130, "rare word dropped %d / 200", rare_dropped);
  ck_assert_msg(common_dropped < 5, "common word dropped %d / 200", common_dropped);
  dy_graph_free(g);
  dy_tagger_free(t);
  dy_model_free(m);
  dy_vocab_free(V);
}
END_TEST

START_TEST(word_dropout_deterministic_for_a_seed) {
  /* the UNK replacements come from the graph's RNG: the same graph seed
   * replaces the same words; rate 0 (the default) replaces none, so training
   * mode gives the test-mode loss */
  uint32_t words[40], tags[40];
  for (uint32_t i = 0; i < 40; i++) words[i] = 1 + i % 7, tags[i] = i % 2;
  dy_model *m = dy_model_new(2);
  dy_tagger_opts o = small_opts(DY_LSTM, 1);
  dy_tagger *t0 = dy_tagger_new(m, &o, 8, 2);
  o.word_dropout = (dy_real)0.3;
  o.name = "wd";
  dy_tagger *t = dy_tagger_new(m, &o, 8, 2);
  ck_assert_ptr_nonnull(t0);
  ck_assert_ptr_nonnull(t);
  dy_lookup *E = dy_model_find_lookup(m, "wd/E");
  dy_tagger_sent s = {40, words, tags, NULL};
  dy_graph *g = dy_graph_new();
  uint32_t seen[3][9];
  for (int run = 0; run < 3; run++) {
    dy_graph_renew(g);
    dy_graph_set_seed(g, run < 2 ? 11 : 12);
    ck_assert_int_eq(dy_backward(dy_tagger_loss(t, g, &s)), DY_OK);
    /* rows touched, in order of first touch: UNK among them */
    size_t nt = dy_lookup_num_touched(E);
    ck_assert_uint_le(nt, 9);
    memset(seen[run], 0xff, sizeof seen[run]);
    for (size_t k = 0; k < nt; k++) seen[run][k] = dy_lookup_touched(E)[k];
    dy_model_zero_grads(m);
  }
  ck_assert_int_eq(memcmp(seen[0], seen[1], sizeof seen[0]), 0);
  ck_assert_int_ne(memcmp(seen[0], seen[2], sizeof seen[0]), 0); /* another seed, other draws */
  int unk = 0;
  for (int k = 0; k < 9; k++) unk += seen[0][k] == DY_TAGGER_UNK;
  ck_assert_int_eq(unk, 1); /* 40 words at 0.3: some became UNK */
  /* rate 0: training mode changes nothing */
  dy_graph_renew(g);
  dy_real l_train = dy_scalar(dy_tagger_loss(t0, g, &s));
  dy_graph_renew(g);
  dy_graph_set_train(g, 0);
  dy_real l_test = dy_scalar(dy_tagger_loss(t0, g, &s));
  ck_assert(l_train == l_test);
  dy_graph_free(g);
  dy_tagger_free(t0);
  dy_tagger_free(t);
  dy_model_free(m);
}
END_TEST

/* max |x_i| over n */
static double max_abs(const dy_real *x, size_t n) {
  double mx = 0;
  for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(x[i]));
  return mx;
}

START_TEST(default_init_is_glorot) {
  /* DyNet's rule: embedding rows U(+-sqrt(3/emb)), MLP (32, 100) weights
   * U(+-sqrt(6/132)), zero MLP biases; LSTM forget-gate bias 1 */
  dy_model *m = dy_model_new(9);
  dy_tagger_opts o = dy_tagger_defaults();
  ck_assert_int_eq(o.init, DY_TAGGER_INIT_GLOROT);
  dy_tagger *t = dy_tagger_new(m, &o, 400, 17);
  ck_assert_ptr_nonnull(t);
  const dy_real *e = dy_lookup_row(dy_model_find_lookup(m, "tagger/E"), 0);
  double b = sqrt(3.0 / 128), mx = max_abs(e, 400 * 128);
  ck_assert_msg(mx <= b && mx > 0.99 * b, "max |E| %g, bound %g", mx, b);
  const dy_real *h = dy_param_values(dy_model_find_param(m, "tagger/H"));
  b = sqrt(6.0 / 132);
  mx = max_abs(h, 3200);
  ck_assert_msg(mx <= b && mx > 0.95 * b, "max |H| %g, bound %g", mx, b);
  const dy_real *bh = dy_param_values(dy_model_find_param(m, "tagger/bh"));
  for (int i = 0; i < 32; i++) ck_assert(bh[i] == 0);
  const dy_real *bl = dy_param_values(dy_model_find_param(m, "tagger/rnn/fwd/l0/b"));
  ck_assert(bl[50] == 1 && bl[99] == 1 && bl[0] == 0);
  dy_tagger_free(t);
  dy_model_free(m);
}
END_TEST

START_TEST(torch_init_ranges) {
  dy_model *m = dy_model_new(9);
  dy_tagger_opts o = dy_tagger_defaults();
  o.init = DY_TAGGER_INIT_TORCH;
  dy_tagger *t = dy_tagger_new(m, &o, 400, 17);
  ck_assert_ptr_nonnull(t);
  dy_lookup *E = dy_model_find_lookup(m, "tagger/E");
  double s1 = 0, s2 = 0;
  size_t n = 400 * 128;
  const dy_real *e = dy_lookup_row(E, 0);
  for (size_t i = 0; i < n; i++) s1 += e[i], s2 += (double)e[i] * e[i];
  ck_assert_msg(fabs(s1 / (double)n) < 0.02 && fabs(s2 / (double)n - 1) < 0.03, "embeddings: mean %g var %g",
                s1 / (double)n, s2 / (double)n);
  /* RNN weights U(-1/sqrt(50), 1/sqrt(50)): max near the bound, variance k^2/3 */
  double k = 1 / sqrt(50.0), mx = 0, v = 0;
  dy_param *W = dy_model_find_param(m, "tagger/rnn/fwd/l0/W_x");
  ck_assert_ptr_nonnull(W);
  const dy_real *w = dy_param_values(W);
  size_t nw = dy_dim_size(dy_param_dim(W));
  for (size_t i = 0; i < nw; i++) mx = fmax(mx, fabs(w[i])), v += (double)w[i] * w[i];
  ck_assert_msg(mx <= k && mx > 0.99 * k, "max |W_x| %g, bound %g", mx, k);
  ck_assert_msg(fabs(v / (double)nw - k * k / 3) < 0.05 * k * k, "var W_x %g want %g", v / (double)nw, k * k / 3);
  /* MLP: U(-1/sqrt(fan_in)) */
  dy_param *H = dy_model_find_param(m, "tagger/H");
  ck_assert_ptr_nonnull(H);
  dy_dim hd = dy_param_dim(H);
  ck_assert_uint_eq(hd.d[0], 32);
  ck_assert_uint_eq(hd.d[1], 100);
  mx = max_abs(dy_param_values(H), 3200);
  ck_assert(mx <= 0.1 && mx > 0.09);
  /* the same seed gives the same tagger */
  dy_model *m2 = dy_model_new(9);
  dy_tagger *t2 = dy_tagger_new(m2, &o, 400, 17);
  ck_assert_int_eq(memcmp(w, dy_param_values(dy_model_find_param(m2, "tagger/rnn/fwd/l0/W_x")), nw * sizeof *w), 0);
  dy_tagger_free(t2);
  dy_model_free(m2);
  dy_tagger_free(t);
  dy_model_free(m);
}
END_TEST

START_TEST(empty_unknown_and_bad_sentences) {
  dy_model *m = dy_model_new(4);
  dy_tagger_opts o = small_opts(DY_GRU, 1);
  o.chars = 1;
  o.char_emb = 4;
  o.char_hidden = 4;
  dy_tagger *t = dy_tagger_new(m, &o, 10, 4);
  ck_assert_ptr_nonnull(t);
  ck_assert_uint_eq(dy_tagger_num_words(t), 10);
  ck_assert_uint_eq(dy_tagger_num_tags(t), 4);
  dy_graph *g = dy_graph_new();
  uint32_t out[4] = {99, 99, 99, 99};
  /* empty sentence: nothing to tag, loss 0 */
  dy_tagger_sent e = {0, NULL, NULL, NULL};
  ck_assert_int_eq(dy_tagger_predict(t, g, &e, out), DY_OK);
  ck_assert_uint_eq(out[0], 99);
  dy_expr l0 = dy_tagger_loss(t, g, &e);
  ck_close(dy_scalar(l0), 0, 0);
  ck_assert_int_eq(dy_backward(l0), DY_OK);
  /* unknown words (all UNK) with unusual forms: empty, long, non-ASCII */
  char longf[3000];
  memset(longf, 'q', sizeof longf - 1);
  longf[sizeof longf - 1] = 0;
  const uint32_t w[4] = {0, 0, 0, 9};
  const char *forms[4] = {"", longf, "\xe6\x97\xa5\xe6\x9c\xac", "z"};
  dy_tagger_sent s = {4, w, NULL, forms};
  dy_graph_renew(g);
  ck_assert_int_eq(dy_tagger_predict(t, g, &s, out), DY_OK);
  for (int i = 0; i < 4; i++) ck_assert_uint_lt(out[i], 4);
  /* a word id out of range */
  const uint32_t badw[2] = {3, 10};
  dy_tagger_sent b = {2, badw, NULL, forms};
  dy_graph_renew(g);
  ck_assert_int_eq(dy_tagger_predict(t, g, &b, out), DY_EINDEX);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "id 10, out of range"));
  /* a tag id out of range */
  const uint32_t tg[2] = {1, 4};
  dy_tagger_sent bt = {2, w, tg, forms};
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_tagger_loss(t, g, &bt)));
  ck_assert_int_eq(dy_graph_status(g), DY_EINDEX);
  /* a loss without gold tags; a char tagger without forms */
  dy_tagger_sent nt = {2, w, NULL, forms}, nf = {2, w, tg, NULL};
  dy_graph_renew(g);
  ck_assert(!dy_expr_valid(dy_tagger_loss(t, g, &nt)));
  ck_assert_int_eq(dy_graph_status(g), DY_EARG);
  dy_graph_renew(g);
  ck_assert_int_eq(dy_tagger_predict(t, g, &nf, out), DY_EARG);
  ck_assert_ptr_nonnull(strstr(dy_graph_error(g), "forms"));
  /* bad options and sizes */
  dy_tagger_opts bad = o;
  bad.word_dropout = 1;
  ck_assert_ptr_null(dy_tagger_new(m, &bad, 10, 4));
  bad = o;
  bad.dropout = -0.5;
  ck_assert_ptr_null(dy_tagger_new(m, &bad, 10, 4));
  ck_assert_ptr_null(dy_tagger_new(m, &o, 0, 4));
  ck_assert_ptr_null(dy_tagger_new(m, &o, 10, 0));
  /* the same name twice in one model: refused by the model */
  ck_assert_ptr_null(dy_tagger_new(m, &o, 10, 4));
  dy_graph_free(g);
  dy_tagger_free(t);
  dy_model_free(m);
}
END_TEST

START_TEST(shuffle_is_a_permutation) {
  size_t a[100], b[100], seen[100] = {0};
  dy_tagger_shuffle(a, 100, 42);
  dy_tagger_shuffle(b, 100, 42);
  ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
  for (int i = 0; i < 100; i++) seen[a[i]]++;
  for (int i = 0; i < 100; i++) ck_assert_uint_eq(seen[i], 1);
  dy_tagger_shuffle(b, 100, 43);
  ck_assert_int_ne(memcmp(a, b, sizeof a), 0);
}
END_TEST

/* ============================================================ save, load */

START_TEST(save_load_same_predictions) {
  data d = make_data(100, 60, 5, 5);
  dy_model *m = dy_model_new(6);
  dy_tagger_opts o = small_opts(DY_GRU, 1);
  o.chars = 1;
  o.char_emb = 5;
  o.char_hidden = 6;
  o.name = "pos";
  o.word_dropout_alpha = (dy_real)0.25;
  o.dropout = (dy_real)0.3;
  dy_tagger *t = dy_tagger_new(m, &o, dy_vocab_size(d.W), dy_vocab_size(d.T));
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(dy_tagger_set_word_counts(t, d.W), DY_OK);
  {
    dy_trainer *tr = dy_sgd_new(m, (dy_real)0.1);
    dy_graph *g1 = dy_graph_new();
    ck_assert_int_eq(dy_tagger_train_epoch(t, g1, tr, d.train, NULL, NULL, NULL, NULL), DY_OK);
    dy_graph_free(g1);
    dy_trainer_free(tr);
  }
  char dir[] = "/tmp/dy_test_tagger_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char path[256], err[1024];
  snprintf(path, sizeof path, "%s/model", dir);
  ck_assert_msg(dy_tagger_save(t, d.W, d.T, path, err, sizeof err) == DY_OK, "%s", err);
  dy_model *m2 = NULL;
  dy_vocab *W2 = NULL, *T2 = NULL;
  dy_tagger *t2 = dy_tagger_load(path, &m2, &W2, &T2, err, sizeof err);
  ck_assert_msg(t2 != NULL, "%s", err);
  ck_assert_str_eq(dy_tagger_get_opts(t2)->name, "pos");
  ck_assert_int_eq(dy_tagger_get_opts(t2)->chars, 1);
  ck_assert_uint_eq(dy_tagger_get_opts(t2)->char_hidden, 6);
  ck_close(dy_tagger_get_opts(t2)->word_dropout_alpha, 0.25, 0);
  ck_close(dy_tagger_get_opts(t2)->dropout, 0.3, 1e-7);
  ck_assert_uint_eq(dy_vocab_size(W2), dy_vocab_size(d.W));
  ck_assert_str_eq(dy_vocab_str(T2, 3), dy_vocab_str(d.T, 3));
  dy_graph *g = dy_graph_new();
  const char *forms[64];
  uint32_t p1[64], p2[64];
  for (size_t i = 0; i < d.dev->nsent; i++) {
    dy_tagger_sent s = dy_tagger_corpus_sent(d.dev, i, forms);
    dy_graph_renew(g);
    ck_assert_int_eq(dy_tagger_predict(t, g, &s, p1), DY_OK);
    dy_graph_renew(g);
    ck_assert_int_eq(dy_tagger_predict(t2, g, &s, p2), DY_OK);
    ck_assert_int_eq(memcmp(p1, p2, s.n * sizeof *p1), 0);
    /* identical scores, not only identical argmaxes (test mode: no word dropout) */
    dy_graph_set_train(g, 0);
    dy_graph_renew(g);
    const dy_real *v1 = dy_forward(dy_tagger_scores(t, g, &s));
    ck_assert_ptr_nonnull(v1);
    dy_real buf[64 * 6];
    ck_assert_uint_le(s.n * dy_vocab_size(d.T), 64 * 6);
    memcpy(buf, v1, s.n * dy_vocab_size(d.T) * sizeof *buf);
    dy_graph_renew(g);
    const dy_real *v2 = dy_forward(dy_tagger_scores(t2, g, &s));
    ck_assert_ptr_nonnull(v2);
    ck_assert_int_eq(memcmp(buf, v2, s.n * dy_vocab_size(d.T) * sizeof *buf), 0);
    dy_graph_set_train(g, 1);
  }
  /* corrupted options file: a clear error naming file and line */
  char po[300];
  snprintf(po, sizeof po, "%s.opts", path);
  FILE *f = fopen(po, "w");
  fputs("dync-tagger 1\nrnn lstm\nlayers many\n", f);
  fclose(f);
  dy_model *m3 = NULL;
  dy_vocab *W3 = NULL, *T3 = NULL;
  ck_assert_ptr_null(dy_tagger_load(path, &m3, &W3, &T3, err, sizeof err));
  ck_assert_msg(strstr(err, ".opts:3:") != NULL, "%s", err);
  ck_assert_ptr_null(m3);
  /* a missing file */
  snprintf(po, sizeof po, "%s/nothing", dir);
  ck_assert_ptr_null(dy_tagger_load(po, &m3, &W3, &T3, err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "nothing.opts"));
  const char *ext[] = {"", ".opts", ".words", ".tags"};
  for (int k = 0; k < 4; k++) {
    snprintf(po, sizeof po, "%s%s", path, ext[k]);
    unlink(po);
  }
  rmdir(dir);
  dy_graph_free(g);
  dy_tagger_free(t2);
  dy_model_free(m2);
  dy_vocab_free(W2);
  dy_vocab_free(T2);
  dy_tagger_free(t);
  dy_model_free(m);
  free_data(&d);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("tagger");
  TCase *q = tcase_create("quick");
  tcase_set_timeout(q, 600);
  tcase_add_test(q, gradcheck_tiny);
  tcase_add_test(q, char_batch_same_as_word_by_word);
  tcase_add_test(q, word_dropout_maps_to_unk);
  tcase_add_test(q, frequency_word_dropout);
  tcase_add_test(q, word_dropout_deterministic_for_a_seed);
  tcase_add_test(q, default_init_is_glorot);
  tcase_add_test(q, torch_init_ranges);
  tcase_add_test(q, empty_unknown_and_bad_sentences);
  tcase_add_test(q, shuffle_is_a_permutation);
  tcase_add_test(q, save_load_same_predictions);
  suite_add_tcase(s, q);
  TCase *l = tcase_create("learning");
  tcase_set_timeout(l, 1200);
  tcase_add_test(l, bilstm_learns_synthetic_uni_cannot);
  tcase_add_test(l, every_cell_learns_a_little);
  suite_add_tcase(s, l);
  return s;
}

int main(void) { return t_run(suite()); }
