/* Internal helpers shared by conllu.c, text.c, vocab.c and synth.c: corpus
 * building, error messages, UTF-8 validation, a line reader, an integer RNG.
 * Not installed; the public contract is dy_corpus.h. */
#ifndef DY_MODELS_CORPUS_H
#define DY_MODELS_CORPUS_H

#include <stdarg.h>

#include "dy_corpus.h"

/* Writes a formatted message into err[0..n) (err may be NULL). */
void dy__corpus_err(char *err, size_t n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The id of s in v (unfrozen), adding it with count 0 when absent (no
 * occurrence counted). DY_VOCAB_NONE on OOM. */
uint32_t dy__vocab_intern(dy_vocab *v, const char *s);

/* A new empty corpus with start[0] = 0; forms kept when keep_forms. NULL: OOM. */
dy_corpus *dy__corpus_new(int with_tags, int keep_forms);
/* Appends one token (tag ignored without tags; form[0..flen) kept when the
 * corpus keeps forms). 0 on success, -1 out of memory. */
int dy__corpus_push(dy_corpus *c, uint32_t word, uint32_t tag, const char *form, size_t flen);
/* Closes the current sentence (tokens pushed since the last close). 0 / -1. */
int dy__corpus_end_sentence(dy_corpus *c);

/* Length of the valid UTF-8 prefix of s[0..n) (n when all valid; strict:
 * no overlongs, no surrogates, <= U+10FFFF). */
size_t dy__utf8_valid(const unsigned char *s, size_t n);
/* Length (1..4) of the valid UTF-8 character at s[0..n), or 0 if invalid. */
size_t dy__utf8_char(const unsigned char *s, size_t n);

/* Reads one line of any length into *buf (grown, *cap its size), without the
 * '\n' and a '\r' before it. Returns the length, or -1 at end of stream
 * (-2 on a read error or out of memory). *had_nl tells whether '\n' ended it. */
long long dy__read_line(FILE *f, char **buf, size_t *cap, int *had_nl);

/* splitmix64: a small deterministic integer RNG. */
typedef struct dy__rng { uint64_t s; } dy__rng;
uint64_t dy__rng_next(dy__rng *r);
/* Uniform in 0..n-1 (n >= 1), unbiased. */
uint64_t dy__rng_below(dy__rng *r, uint64_t n);

#endif
