/* The BiLSTM part-of-speech tagger of DyNet's tutorial, one sentence per update.
 *   tagger                            the built-in synthetic language
 *   tagger TRAIN.conllu [DEV.conllu] [EPOCHS]     UD files (UPOS tags) */
#include <stdio.h>
#include <stdlib.h>

#include "dync.h"
#include "dy_tagger.h" /* corpora, vocabularies, dy_tagger_shuffle */

typedef struct { dy_lookup *E; dy_birnn *rnn; dy_param *H, *bh, *O, *bo; } tagger;

/* Tag scores of the n words w[0..n): {ntags} x batch n (one batch element per word). */
static dy_expr scores(tagger *t, dy_graph *g, const uint32_t *w, uint32_t n, dy_expr *xs) {
  for (uint32_t i = 0; i < n; i++) xs[i] = dy_lookup_expr(g, t->E, w[i]); /* embeddings */
  dy_birnn_transduce(t->rnn, g, xs, n, xs);      /* xs[i] = [forward_i; backward_i] */
  dy_expr Y = dy_concat_to_batch(xs, n);         /* all words as one batch: one gemm */
  dy_expr h = dy_tanh(dy_affine(dy_param_expr(g, t->bh), dy_param_expr(g, t->H), Y));
  return dy_affine(dy_param_expr(g, t->bo), dy_param_expr(g, t->O), h);  /* O h + bo */
}

int main(int argc, char **argv) {
  char err[512];
  dy_vocab *words = dy_vocab_new("<unk>"), *tags = dy_vocab_new(NULL);
  dy_corpus *train, *dev;
  int epochs = argc > 3 ? atoi(argv[3]) : argc > 1 ? 1 : 2;
  if (argc > 1) {
    train = dy_conllu_read_path(argv[1], words, tags, NULL, err, sizeof err);
    dy_vocab_freeze(words);  /* from now on unseen words map to <unk> */
    dev = train ? dy_conllu_read_path(argc > 2 ? argv[2] : argv[1], words, tags, NULL, err, sizeof err) : NULL;
  } else {
    dy_synth_opts o = dy_synth_defaults();
    o.nsent = 1000;
    train = dy_synth_tagging(&o, words, tags, err, sizeof err);
    dy_vocab_freeze(words);
    o.seed = 2, o.nsent = 200;
    dev = train ? dy_synth_tagging(&o, words, tags, err, sizeof err) : NULL;
  }
  if (!train || !dev || train->ntok == 0) {
    fprintf(stderr, "%s\n", !train || !dev ? err : "no words to train on");
    dy_corpus_free(train), dy_corpus_free(dev), dy_vocab_free(words), dy_vocab_free(tags);
    return 1;
  }
  uint32_t nw = dy_vocab_size(words), nt = dy_vocab_size(tags);

  dy_model *m = dy_model_new(1);  /* embedding 128, BiLSTM 2 x 50, MLP 32 */
  tagger t = {dy_model_add_lookup(m, "E", nw, dy_d1(128), dy_init_normal(0, 1)),
              dy_birnn_new(m, "bilstm", DY_LSTM, 1, 128, 50),
              dy_model_add_param(m, "H", dy_d2(32, 100), dy_init_glorot()),
              dy_model_add_param(m, "bh", dy_d1(32), dy_init_const(0)),
              dy_model_add_param(m, "O", dy_d2(nt, 32), dy_init_glorot()),
              dy_model_add_param(m, "bo", dy_d1(nt), dy_init_const(0))};
  dy_trainer *sgd = dy_sgd_new(m, 0.1);  /* clips the gradient norm at 5 by default */
  dy_graph *g = dy_graph_new();
  dy_expr *xs = malloc((train->ntok > dev->ntok ? train->ntok : dev->ntok) * sizeof *xs);
  size_t *order = malloc(train->nsent * sizeof *order);

  for (int epoch = 1; epoch <= epochs; epoch++) {
    double loss = 0;
    dy_tagger_shuffle(order, train->nsent, (uint64_t)epoch);  /* a new order each epoch */
    for (size_t k = 0; k < train->nsent; k++) {
      size_t i = order[k], n = dy_corpus_len(train, i);
      dy_graph_renew(g);  /* a fresh graph per sentence, in O(1) */
      dy_expr S = scores(&t, g, dy_corpus_words(train, i), (uint32_t)n, xs);
      dy_expr L = dy_sum_batches(dy_pick_neg_log_softmax_batch(S, dy_corpus_tags(train, i)));
      loss += dy_scalar(L);  /* forward */
      dy_backward(L);        /* gradients (only the used embedding rows) */
      dy_trainer_update(sgd);
    }
    size_t good = 0, total = 0;  /* dev accuracy: the best-scoring tag of each word */
    for (size_t i = 0; i < dev->nsent; i++) {
      size_t n = dy_corpus_len(dev, i);
      dy_graph_renew(g);
      const dy_real *s = dy_forward(scores(&t, g, dy_corpus_words(dev, i), (uint32_t)n, xs));
      for (size_t j = 0; s && j < n; j++, total++) {
        uint32_t best = 0;
        for (uint32_t k = 1; k < nt; k++) best = s[j * nt + k] > s[j * nt + best] ? k : best;
        good += best == dy_corpus_tags(dev, i)[j];
      }
    }
    printf("epoch %d: loss/word %.4f, dev accuracy %.4f\n", epoch, loss / (double)train->ntok,
           (double)good / (double)(total ? total : 1));
  }
  if (dy_graph_error(g)) fprintf(stderr, "error: %s\n", dy_graph_error(g));
  free(xs), free(order), dy_graph_free(g), dy_trainer_free(sgd), dy_birnn_free(t.rnn), dy_model_free(m);
  dy_corpus_free(train), dy_corpus_free(dev), dy_vocab_free(words), dy_vocab_free(tags);
  return 0;
}
