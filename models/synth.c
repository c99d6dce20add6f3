/* Built-in generated data: the synthetic tagging language and the long-range
 * task (dy_corpus.h has the grammar and the contracts). Only integer
 * arithmetic, so a seed gives the same data on every machine. */
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

/* =================================================================== RNG */

uint64_t dy__rng_next(dy__rng *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t dy__rng_below(dy__rng *r, uint64_t n) {
  uint64_t t = (0 - n) % n; /* reject the low values that make modulo biased */
  for (;;) {
    uint64_t x = dy__rng_next(r);
    if (x >= t)
      return x % n;
  }
}

/* ============================================================== language */

enum { DET, ADJ, NOUN, VERB, PREP, ADV, NCLASS };
static const char *const tag_name[NCLASS] = {"DET", "ADJ", "NOUN", "VERB", "PREP", "ADV"};
#define NDET 6
#define NPREP 8

/* One class: its forms in rank order and cumulative Zipf weights. */
typedef struct wclass {
  uint32_t *form; /* indices into lex.str */
  uint64_t *cum;  /* cum[r] = sum of weights of ranks 0..r */
  uint32_t n;
} wclass;

typedef struct lexicon {
  char (*str)[16]; /* form strings, NUL-terminated */
  uint32_t nstr;
  wclass cls[NCLASS];
} lexicon;

static void lex_free(lexicon *L) {
  free(L->str);
  for (int k = 0; k < NCLASS; k++) {
    free(L->cls[k].form);
    free(L->cls[k].cum);
  }
}

/* Form k of a shuffled numbering as consonant-vowel syllables: 2 syllables
 * for k < 4900, else 3 (lengths differ, so every form is unique). */
static void form_string(uint32_t k, char *out) {
  static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
  int nsyl = 2;
  if (k >= 4900) {
    k -= 4900;
    nsyl = 3;
  }
  for (int i = 0; i < nsyl; i++) {
    uint32_t s = k % 70;
    k /= 70;
    *out++ = cons[s / 5];
    *out++ = vow[s % 5];
  }
  *out = 0;
}

static int class_alloc(wclass *c, uint32_t n) {
  c->n = n;
  c->form = malloc((size_t)n * sizeof *c->form);
  c->cum = malloc((size_t)n * sizeof *c->cum);
  return c->form && c->cum ? 0 : -1;
}

static void class_weights(wclass *c) {
  uint64_t s = 0;
  for (uint32_t r = 0; r < c->n; r++)
    c->cum[r] = s += (1ull << 32) / (r + 1);
}

/* Places the shared forms sh[0..nsh) at ranks 1, 3, 5, ... of c and the own
 * forms own[0..nown) in the remaining ranks. */
static void class_fill(wclass *c, const uint32_t *sh, uint32_t nsh, const uint32_t *own,
                       uint32_t nown) {
  uint32_t i = 0, j = 0;
  for (uint32_t r = 0; r < c->n; r++)
    c->form[r] = i < nsh || j == nown ? sh[i++] : own[j++];
}

static int lex_build(lexicon *L, const dy_synth_opts *o) {
  memset(L, 0, sizeof *L);
  dy__rng rng = {o->lexicon_seed ^ 0x5eed1e81c0ull};
  uint32_t nopen = o->nforms, total = nopen + NDET + NPREP;
  L->nstr = total;
  L->str = malloc((size_t)total * sizeof *L->str);
  uint32_t *perm = malloc((size_t)total * sizeof *perm);
  if (!L->str || !perm) {
    free(perm);
    return -1;
  }
  for (uint32_t i = 0; i < total; i++)
    perm[i] = i;
  for (uint32_t i = total - 1; i > 0; i--) {
    uint32_t j = (uint32_t)dy__rng_below(&rng, (uint64_t)i + 1), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  for (uint32_t i = 0; i < total; i++)
    form_string(perm[i], L->str[i]);
  free(perm);
  /* string indices: [0, n_nv) NV, [n_nv, n_nv+n_an) AN, then own N, V, A, R,
   * then DET, PREP */
  uint32_t nv = o->n_nv, an = o->n_an, rest = nopen - nv - an;
  uint32_t nn = rest * 45 / 100, nvb = rest * 25 / 100, na = rest * 20 / 100;
  uint32_t nr = rest - nn - nvb - na;
  uint32_t b_nv = 0, b_an = nv, b_n = nv + an, b_v = b_n + nn, b_a = b_v + nvb, b_r = b_a + na;
  uint32_t b_det = nopen, b_prep = nopen + NDET;
  uint32_t *idx = malloc((size_t)total * sizeof *idx);
  if (!idx)
    return -1;
  for (uint32_t i = 0; i < total; i++)
    idx[i] = i;
  if (class_alloc(&L->cls[NOUN], nv + an + nn) || class_alloc(&L->cls[VERB], nv + nvb) ||
      class_alloc(&L->cls[ADJ], an + na) || class_alloc(&L->cls[ADV], nr) ||
      class_alloc(&L->cls[DET], NDET) || class_alloc(&L->cls[PREP], NPREP)) {
    free(idx);
    return -1;
  }
  /* nouns: NV and AN forms alternate at the odd ranks */
  uint32_t *sh = malloc(((size_t)nv + an + 1) * sizeof *sh);
  if (!sh) {
    free(idx);
    return -1;
  }
  uint32_t k = 0;
  for (uint32_t i = 0; i < nv || i < an; i++) {
    if (i < nv)
      sh[k++] = b_nv + i;
    if (i < an)
      sh[k++] = b_an + i;
  }
  class_fill(&L->cls[NOUN], sh, k, idx + b_n, nn);
  class_fill(&L->cls[VERB], idx + b_nv, nv, idx + b_v, nvb);
  class_fill(&L->cls[ADJ], idx + b_an, an, idx + b_a, na);
  class_fill(&L->cls[ADV], NULL, 0, idx + b_r, nr);
  class_fill(&L->cls[DET], NULL, 0, idx + b_det, NDET);
  class_fill(&L->cls[PREP], NULL, 0, idx + b_prep, NPREP);
  free(sh);
  free(idx);
  for (int c = 0; c < NCLASS; c++)
    class_weights(&L->cls[c]);
  return 0;
}

static uint32_t draw(const wclass *c, dy__rng *r) {
  uint64_t u = dy__rng_below(r, c->cum[c->n - 1]);
  uint32_t lo = 0, hi = c->n - 1; /* first rank with cum > u */
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (c->cum[mid] > u)
      hi = mid;
    else
      lo = mid + 1;
  }
  return c->form[lo];
}

dy_synth_opts dy_synth_defaults(void) {
  dy_synth_opts o;
  memset(&o, 0, sizeof o);
  o.seed = 1;
  o.lexicon_seed = 1;
  o.nsent = 1000;
  o.min_len = 5;
  o.max_len = 25;
  o.nforms = 2000;
  o.n_nv = 20;
  o.n_an = 20;
  return o;
}

/* Appends the classes of one sentence of length len to cls. */
static void sentence_classes(dy__rng *r, uint32_t len, uint8_t *cls) {
  uint32_t p = 0, rem;
  uint32_t s = 2 + (uint32_t)dy__rng_below(r, (len - 3 < 2 ? len - 3 : 2) + 1); /* subject NP */
  cls[p++] = DET;
  for (uint32_t i = 0; i < s - 2; i++)
    cls[p++] = ADJ;
  cls[p++] = NOUN;
  cls[p++] = VERB;
  rem = len - p;
  if (rem >= 2 && dy__rng_below(r, 10) < 7) { /* object NP */
    s = 2 + (uint32_t)dy__rng_below(r, (rem - 2 < 2 ? rem - 2 : 2) + 1);
    cls[p++] = DET;
    for (uint32_t i = 0; i < s - 2; i++)
      cls[p++] = ADJ;
    cls[p++] = NOUN;
    rem -= s;
  }
  while (rem > 0) {
    if (rem >= 3 && dy__rng_below(r, 10) < 8) { /* PREP NP */
      s = 3 + (uint32_t)dy__rng_below(r, (rem - 3 < 2 ? rem - 3 : 2) + 1);
      cls[p++] = PREP;
      cls[p++] = DET;
      for (uint32_t i = 0; i < s - 3; i++)
        cls[p++] = ADJ;
      cls[p++] = NOUN;
      rem -= s;
    } else {
      cls[p++] = ADV;
      rem--;
    }
  }
}

dy_corpus *dy_synth_tagging(const dy_synth_opts *o, dy_vocab *words, dy_vocab *tags, char *err,
                            size_t n) {
  if (!o || !words || !tags) {
    dy__corpus_err(err, n, "dy_synth_tagging: NULL %s", !o ? "options" : "vocabulary");
    return NULL;
  }
  if (!o->nsent || o->min_len < 3 || o->max_len < o->min_len || o->nforms < 40 ||
      o->nforms > 300000 || (uint64_t)o->n_nv + o->n_an > o->nforms / 4) {
    dy__corpus_err(err, n,
                   "dy_synth_tagging: bad options (need nsent >= 1, 3 <= min_len <= max_len, "
                   "40 <= nforms <= 300000, n_nv + n_an <= nforms / 4; got nsent %zu, lengths "
                   "%u..%u, nforms %u, n_nv %u, n_an %u)",
                   o->nsent, o->min_len, o->max_len, o->nforms, o->n_nv, o->n_an);
    return NULL;
  }
  uint32_t tag_id[NCLASS];
  for (int k = 0; k < NCLASS; k++) {
    tag_id[k] = dy_vocab_frozen(tags) ? dy_vocab_id(tags, tag_name[k]) : dy__vocab_intern(tags, tag_name[k]);
    if (tag_id[k] == DY_VOCAB_NONE) {
      dy__corpus_err(err, n, "dy_synth_tagging: tag %s %s", tag_name[k],
                     dy_vocab_frozen(tags) ? "is not in the frozen tag vocabulary" : ": out of memory");
      return NULL;
    }
  }
  lexicon L;
  memset(&L, 0, sizeof L);
  dy_corpus *c = NULL;
  uint8_t *cls = malloc(o->max_len);
  if (!cls || lex_build(&L, o))
    goto oom;
  c = dy__corpus_new(1, 1);
  if (!c)
    goto oom;
  dy__rng r = {o->seed ^ 0x7a66e7ull};
  for (size_t i = 0; i < o->nsent; i++) {
    uint32_t len = o->min_len + (uint32_t)dy__rng_below(&r, (uint64_t)(o->max_len - o->min_len) + 1);
    sentence_classes(&r, len, cls);
    for (uint32_t j = 0; j < len; j++) {
      const char *f = L.str[draw(&L.cls[cls[j]], &r)];
      size_t fl = strlen(f);
      uint32_t w = dy_vocab_add(words, f, fl);
      if (w == DY_VOCAB_NONE) {
        if (!dy_vocab_frozen(words))
          goto oom;
        dy__corpus_err(err, n, "dy_synth_tagging: form \"%s\" not in the frozen word vocabulary "
                       "(it has no UNK)", f);
        goto fail;
      }
      if (dy__corpus_push(c, w, tag_id[cls[j]], f, fl))
        goto oom;
    }
    if (dy__corpus_end_sentence(c))
      goto oom;
  }
  free(cls);
  lex_free(&L);
  return c;
oom:
  dy__corpus_err(err, n, "dy_synth_tagging: out of memory");
fail:
  free(cls);
  lex_free(&L);
  dy_corpus_free(c);
  return NULL;
}

/* ============================================================ long range */

uint32_t dy_longrange_nsym(const dy_longrange_opts *o) {
  return o->ndistract ? o->nsym + o->ndistract + 1 : o->nsym;
}

dy_corpus *dy_longrange(const dy_longrange_opts *o, char *err, size_t n) {
  if (!o || !o->nseq || o->nsym < 2 || o->len < (o->ndistract ? 2u : 1u) ||
      (uint64_t)o->nsym + o->ndistract + 1 > DY_VOCAB_NONE) {
    dy__corpus_err(err, n, "dy_longrange: bad options (need nseq >= 1, nsym >= 2, len >= 1, or "
                   ">= 2 with distractors)");
    return NULL;
  }
  dy_corpus *c = dy__corpus_new(0, 0);
  if (!c || !(c->label = malloc(o->nseq * sizeof *c->label)))
    goto oom;
  dy__rng r = {o->seed ^ 0x10a9ull};
  for (size_t i = 0; i < o->nseq; i++) {
    uint32_t key = (uint32_t)dy__rng_below(&r, o->nsym);
    c->label[i] = key;
    if (dy__corpus_push(c, key, 0, NULL, 0))
      goto oom;
    for (uint32_t t = 1; t < o->len; t++) {
      uint32_t s;
      if (!o->ndistract)
        s = (uint32_t)dy__rng_below(&r, o->nsym);
      else if (t + 1 < o->len)
        s = o->nsym + (uint32_t)dy__rng_below(&r, o->ndistract);
      else
        s = o->nsym + o->ndistract;
      if (dy__corpus_push(c, s, 0, NULL, 0))
        goto oom;
    }
    if (dy__corpus_end_sentence(c))
      goto oom;
  }
  return c;
oom:
  dy__corpus_err(err, n, "dy_longrange: out of memory");
  dy_corpus_free(c);
  return NULL;
}
