/* libFuzzer target: the vocabulary loader on arbitrary bytes; whatever it
 * accepts must save and load back to the same vocabulary. */
#include <stdlib.h>
#include <string.h>

#include "dy_corpus.h"

static dy_vocab *load_mem(const void *data, size_t size, char *err, size_t n) {
  FILE *f = fmemopen(size ? (void *)data : (void *)"", size ? size : 1, "rb");
  if (!f)
    return NULL;
  if (!size)
    fgetc(f);
  dy_vocab *v = dy_vocab_load_file(f, "fuzz", err, n);
  fclose(f);
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  err[0] = 0;
  dy_vocab *v = load_mem(data, size, err, sizeof err);
  if (!v) {
    if (strncmp(err, "fuzz", 4) != 0)
      __builtin_trap();
    return 0;
  }
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f || dy_vocab_save_file(v, f, err, sizeof err) != DY_OK)
    __builtin_trap();
  fclose(f);
  dy_vocab *w = load_mem(buf, len, err, sizeof err);
  if (!w || dy_vocab_size(w) != dy_vocab_size(v) || dy_vocab_has_unk(w) != dy_vocab_has_unk(v) ||
      dy_vocab_frozen(w) != dy_vocab_frozen(v))
    __builtin_trap();
  for (uint32_t id = 0; id < dy_vocab_size(v); id++) {
    size_t n = dy_vocab_strlen(v, id);
    if (dy_vocab_strlen(w, id) != n || memcmp(dy_vocab_str(w, id), dy_vocab_str(v, id), n) ||
        dy_vocab_count(w, id) != dy_vocab_count(v, id) ||
        dy_vocab_lookup(v, dy_vocab_str(v, id), n) != id)
      __builtin_trap();
  }
  free(buf);
  dy_vocab_free(v);
  dy_vocab_free(w);
  return 0;
}
