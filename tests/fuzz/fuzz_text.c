/* libFuzzer target: the plain-text reader on arbitrary bytes. The first byte
 * picks the unit (words, bytes, UTF-8 characters), eos and keep_empty. */
#include <stdlib.h>
#include <string.h>

#include "dy_corpus.h"

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
    fgetc(f);
  dy_text_opts o = {(dy_text_unit)(mode % 3), mode & 4 ? "<eos>" : NULL, (mode & 8) != 0};
  dy_vocab *v = (mode & 16) && o.unit == DY_TEXT_BYTES ? NULL : dy_vocab_new("<unk>");
  char err[256];
  err[0] = 0;
  dy_corpus *c = dy_text_read_file(f, "fuzz", v, &o, err, sizeof err);
  fclose(f);
  if (!c) {
    if (strncmp(err, "fuzz", 4) != 0 || o.unit == DY_TEXT_BYTES)
      __builtin_trap(); /* bytes never fail; errors name the file */
  } else {
    if (c->start[0] != 0 || c->start[c->nsent] != c->ntok)
      __builtin_trap();
    if (o.unit == DY_TEXT_BYTES && c->ntok != size)
      __builtin_trap();
    uint32_t lim = v ? dy_vocab_size(v) : 256;
    size_t bytes = 0;
    for (size_t t = 0; t < c->ntok; t++) {
      if (c->words[t] >= lim)
        __builtin_trap();
      if (o.unit == DY_TEXT_CHARS)
        bytes += dy_vocab_strlen(v, c->words[t]);
    }
    if (o.unit == DY_TEXT_CHARS && bytes != size)
      __builtin_trap(); /* characters cover the input exactly */
    dy_corpus_free(c);
  }
  dy_vocab_free(v);
  return 0;
}
