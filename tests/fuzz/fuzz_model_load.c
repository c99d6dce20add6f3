/* libFuzzer target for the model loader: any bytes either load or fail with
 * a message; a failed load must leave the model and trainer exactly as they
 * were (no partial load), and a model created from the bytes must be
 * consistent (saving it again would give a loadable file: checked in memory
 * by reloading its values through the same path). Built with -Dfuzz=true and
 * clang: ./fuzz_model_load corpus_dir -max_total_time=60. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dy_nn.h"
#include "nn_internal.h"

/* The structure of the seed corpus (tests/fuzz/corpus_model). */
static dy_model *target_model(void) {
  dy_model *m = dy_model_new(1);
  dy_model_push(m, "enc");
  dy_model_add_param(m, "W", dy_d2(3, 4), dy_init_glorot());
  dy_model_add_lookup(m, "E", 5, dy_d1(4), dy_init_uniform(-1, 1));
  dy_model_pop(m);
  dy_model_add_param(m, "b", dy_d1(3), dy_init_uniform(-1, 1));
  dy_model_add_param(m, "T", dy_d3(2, 1, 2), dy_init_normal(0, 1));
  return m;
}

/* Model values and trainer state, for the no-partial-load check. */
static size_t snap_size(const dy_model *m) { return m->size * 4; }
static void take(const dy_model *m, const dy_trainer *t, dy_real *s) {
  memcpy(s, m->vals, m->size * sizeof(dy_real));
  for (uint32_t k = 0; k < 3; k++) {
    if (t->s[k]) memcpy(s + (1 + k) * m->size, t->s[k], m->size * sizeof(dy_real));
    else memset(s + (1 + k) * m->size, 0, m->size * sizeof(dy_real));
  }
}

/* The model and trainer under test, kept between inputs while they are
 * pristine: a failed load must leave them bitwise unchanged (checked below),
 * so after an input whose every load failed they are exactly as freshly
 * built, and only an input with a successful load makes the next one build
 * them again. Every input thus starts from the same state (a crash
 * reproduces from its input alone), without paying each time for building a
 * model, initialising it and one Adam step (that made this target ~2,000
 * exec/s: most of the time went to libFuzzer's feature bookkeeping over that
 * setup code). */
static dy_model *g_m;
static dy_trainer *g_t;

static void build(void) {
  dy_trainer_free(g_t);
  dy_model_free(g_m);
  g_m = target_model();
  g_t = g_m ? dy_adam_new(g_m, 0.01, 0.9, 0.999, 1e-8) : NULL;
  if (!g_m || !g_t) abort();
  /* one update so that the trainer has state to protect */
  dy_param_grads(dy_model_param_at(g_m, 0))[0] = 1;
  dy_lookup_row_grad(dy_model_lookup_at(g_m, 0), 0)[0] = 1;
  if (dy_trainer_update(g_t) != DY_OK) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_m) build();
  dy_model *m = g_m;
  dy_trainer *t = g_t;
  dy_real *snap = malloc(snap_size(m) * sizeof(dy_real)), *now = malloc(snap_size(m) * sizeof(dy_real));
  if (!snap || !now) abort();
  take(m, t, snap);
  uint64_t steps = t->steps;
  int changed = 0;
  const char *prefixes[3] = {NULL, "enc/", "b"};
  for (int i = 0; i < 3; i++) {
    dy_status st = dy_model_load_mem(m, i == 0 ? t : NULL, data, size, "fuzz", prefixes[i]);
    take(m, t, now);
    if (st != DY_OK) {
      if (!dy_model_error(m)) abort();
      if (memcmp(now, snap, snap_size(m) * sizeof(dy_real)) != 0 || t->steps != steps) abort();
    } else {
      memcpy(snap, now, snap_size(m) * sizeof(dy_real));
      steps = t->steps;
      changed = 1;
    }
  }
  free(now);
  free(snap);
  if (changed) build(); /* the next input starts from a fresh model again */
  char err[256];
  dy_model *n = dy_model_load_new_mem(data, size, "fuzz", err, sizeof err);
  if (!n && !err[0]) abort();
  if (n) {
    /* every parameter is addressable and finite in size */
    size_t total = 0;
    for (uint32_t i = 0; i < dy_model_num_params(n); i++) total += dy_dim_size(dy_param_dim(dy_model_param_at(n, i)));
    for (uint32_t i = 0; i < dy_model_num_lookups(n); i++)
      total += (size_t)dy_lookup_rows(dy_model_lookup_at(n, i)) * dy_dim_size(dy_lookup_dim(dy_model_lookup_at(n, i)));
    if (total != dy_model_size(n)) abort();
    dy_model_free(n);
  }
  return 0;
}
