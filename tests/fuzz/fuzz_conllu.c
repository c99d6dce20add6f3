/* libFuzzer target: the CoNLL-U reader on arbitrary bytes. The first byte
 * picks the options (UPOS/XPOS, stop/skip, frozen vocabularies); the rest is
 * the file. Any accepted input must give a consistent corpus. */
#include <stdlib.h>
#include <string.h>

#include "dy_corpus.h"

static void on_skip(void *ctx, const char *msg) {
  if (!msg || !strchr(msg, ':'))
    __builtin_trap();
  ++*(size_t *)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!size)
    return 0;
  unsigned mode = data[0];
  data++;
  size--;
  FILE *f = fmemopen(size ? (void *)data : (void *)"", size ? size : 1, "rb");
  if (!f)
    return 0;
  if (!size)
    fgetc(f); /* an empty stream */
  dy_vocab *W = dy_vocab_new(mode & 4 ? NULL : "<unk>"), *T = dy_vocab_new(NULL);
  if (mode & 8) { /* frozen vocabularies: unknowns map to UNK or are errors */
    dy_vocab_add(W, "a", 1);
    dy_vocab_add(T, "NOUN", 4);
    dy_vocab_freeze(W);
    dy_vocab_freeze(T);
  }
  size_t skips = 0;
  dy_conllu_opts o = {(mode & 1 ? DY_CONLLU_XPOS : 0u) | (mode & 2 ? DY_CONLLU_SKIP : 0u), on_skip,
                      &skips};
  char err[256];
  err[0] = 0;
  dy_corpus *c = dy_conllu_read_file(f, "fuzz", W, T, &o, err, sizeof err);
  fclose(f);
  if (!c) {
    if (strncmp(err, "fuzz", 4) != 0)
      __builtin_trap(); /* every error names the file */
  } else {
    if (c->nskipped != skips || c->start[0] != 0 || c->start[c->nsent] != c->ntok)
      __builtin_trap();
    for (size_t i = 0; i < c->nsent; i++)
      if (c->start[i + 1] <= c->start[i]) /* no empty sentence */
        __builtin_trap();
    for (size_t t = 0; t < c->ntok; t++) {
      if (c->words[t] >= dy_vocab_size(W) || c->tags[t] >= dy_vocab_size(T))
        __builtin_trap();
      const char *form = c->text + c->form[t];
      if (!form[0] || strchr(form, '\t') || strchr(form, '\n'))
        __builtin_trap();
      if (c->words[t] != 0 && strcmp(form, dy_vocab_str(W, c->words[t])) != 0)
        __builtin_trap();
    }
    dy_corpus_free(c);
  }
  dy_vocab_free(W);
  dy_vocab_free(T);
  return 0;
}
