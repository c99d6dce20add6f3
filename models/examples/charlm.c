/* charlm: train a character-level LSTM language model, then sample from it.
 *
 *   charlm [FILE|- [STEPS]]    e.g. charlm ../shared/data/tinyshakespeare/input.txt 2000
 *
 * Each step reads 32 random windows of 64 bytes of FILE (or of generated
 * sentences when FILE is - or absent), builds one graph for the whole minibatch,
 * and takes one Adam step. Then it prints 300 sampled characters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dync.h"

enum { B = 32, T = 64 };

int main(int argc, char **argv) {
  /* 1. the text: a file's bytes, or generated sentences */
  static unsigned char text[1 << 21];
  size_t n = 0;
  int own_text = argc > 1 && strcmp(argv[1], "-") != 0;
  FILE *f = own_text ? fopen(argv[1], "rb") : NULL;
  if (own_text && !f) { perror(argv[1]); return 1; }
  if (f) { n = fread(text, 1, sizeof text, f); fclose(f); }
  else {
    dy_vocab *words = dy_vocab_new(NULL), *tags = dy_vocab_new(NULL);
    dy_synth_opts so = dy_synth_defaults();
    so.nsent = 5000;
    dy_corpus *c = dy_synth_tagging(&so, words, tags, NULL, 0);
    for (size_t s = 0; c && s < c->nsent && n + 200 < sizeof text; s++)
      for (size_t j = 0; j < dy_corpus_len(c, s); j++)
        n += (size_t)sprintf((char *)text + n, "%s%c", dy_vocab_str(words, dy_corpus_words(c, s)[j]),
                             j + 1 < dy_corpus_len(c, s) ? ' ' : '\n');
    dy_corpus_free(c); dy_vocab_free(words); dy_vocab_free(tags);
  }
  if (n < 2 * T) { fprintf(stderr, "charlm: need at least %d bytes of text\n", 2 * T); return 1; }
  long steps = argc > 2 ? atol(argv[2]) : 300;

  /* 2. the model: byte embeddings -> 2-layer LSTM 128 -> softmax over 256 */
  dy_model *m = dy_model_new(1);
  dy_lm_opts o = dy_lm_defaults();
  o.layers = 2;
  dy_lm *lm = dy_lm_new(m, "charlm", 256, &o);
  dy_trainer *adam = dy_adam_new(m, 0.002f, 0.9f, 0.999f, 1e-8f);
  dy_graph *g = dy_graph_new();

  /* 3. training: one graph per minibatch of B windows, time-major */
  uint32_t in[T * B], out[T * B];
  uint64_t rng = 42;
  for (long step = 1; step <= steps; step++) {
    for (int b = 0; b < B; b++) {
      size_t start = (size_t)(dy_mix64(rng++) % (n - T - 1));
      for (int t = 0; t < T; t++) {
        in[t * B + b] = text[start + t];
        out[t * B + b] = text[start + t + 1];
      }
    }
    dy_graph_renew(g);
    dy_expr loss = dy_mul_scalar(dy_lm_loss(lm, g, in, out, NULL, T, B, NULL, NULL), 1.0f / (T * B));
    float l = dy_scalar(loss);
    if (dy_backward(loss) != DY_OK) { fprintf(stderr, "%s\n", dy_graph_error(g)); return 1; }
    dy_trainer_update(adam);
    if (step % 50 == 0 || step == steps) printf("step %ld  loss %.3f nats/char\n", step, l);
  }

  /* 4. sampling: prime with a newline, temperature 0.7 */
  uint32_t prime = '\n', sample[300];
  if (dy_lm_sample(lm, g, &prime, 1, 300, 0.7, 7, sample) != DY_OK) { fprintf(stderr, "%s\n", dy_graph_error(g)); return 1; }
  printf("--- sample ---\n");
  for (int k = 0; k < 300; k++) putchar((int)sample[k]);
  printf("\n");

  dy_graph_free(g);
  dy_trainer_free(adam);
  dy_lm_free(lm);
  dy_model_free(m);
  return 0;
}
