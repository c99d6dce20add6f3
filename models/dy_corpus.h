/* dync corpora: vocabularies, a CoNLL-U reader, a plain-text reader, and
 * built-in generated data (a synthetic tagging language, the long-range task).
 *
 * Everything produces a dy_corpus: sentences as runs of one flat array of word
 * ids (and one of tag ids), the shape a training loop wants:
 *
 *   dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
 *   char err[512];
 *   dy_corpus *train = dy_conllu_read_path("train.conllu", W, T, NULL, err, sizeof err);
 *   dy_vocab_threshold(W, 1, train);   // words seen once become <unk>; W frozen
 *   dy_vocab_freeze(T);
 *   dy_corpus *dev = dy_conllu_read_path("dev.conllu", W, T, NULL, err, sizeof err);
 *   for (size_t i = 0; i < train->nsent; i++) {
 *     size_t n = dy_corpus_len(train, i);
 *     const uint32_t *w = dy_corpus_words(train, i), *t = dy_corpus_tags(train, i);
 *     ...
 *   }
 *
 * Errors never abort: a function that fails returns NULL or a non-zero
 * dy_status and writes "file:line: what is wrong" into err (up to n bytes;
 * err may be NULL). A vocabulary or corpus is not thread-safe for writers;
 * readers of a frozen vocabulary may share it across threads.
 */
#ifndef DY_CORPUS_H
#define DY_CORPUS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dy_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ============================================================ vocabulary */
/* A string <-> id map. Ids are dense, 0..size-1, in order of first addition.
 * With an UNK entry, UNK is id 0 and every unknown string maps to it; without
 * one, unknown strings map to DY_VOCAB_NONE. Strings are byte strings of
 * length >= 1 (any bytes, NUL included; readers give valid UTF-8). */
typedef struct dy_vocab dy_vocab;

#define DY_VOCAB_NONE UINT32_MAX

/* A new empty, unfrozen vocabulary; unk non-NULL adds it as id 0 (e.g.
 * "<unk>"), NULL makes a vocabulary without UNK (tags). NULL if out of memory. */
dy_vocab *dy_vocab_new(const char *unk);
/* Frees v. NULL is allowed. */
void dy_vocab_free(dy_vocab *v);
/* Counts one occurrence of s[0..n): adds it (new id) if unseen and v is not
 * frozen. Frozen: a pure lookup, nothing counted. Returns the id, the UNK id
 * or DY_VOCAB_NONE (frozen without UNK, n == 0, or out of memory). */
uint32_t dy_vocab_add(dy_vocab *v, const char *s, size_t n);
/* The id of s[0..n), else the UNK id (0), else DY_VOCAB_NONE. Never adds. */
uint32_t dy_vocab_lookup(const dy_vocab *v, const char *s, size_t n);
/* The same for a NUL-terminated string. */
uint32_t dy_vocab_id(const dy_vocab *v, const char *s);
/* The string of id (NUL-terminated; see dy_vocab_strlen for strings holding
 * NUL bytes), or NULL when id >= size. Valid until v changes or is freed. */
const char *dy_vocab_str(const dy_vocab *v, uint32_t id);
/* Length in bytes of the string of id (0 when id >= size). */
size_t dy_vocab_strlen(const dy_vocab *v, uint32_t id);
/* Number of entries, UNK included. */
uint32_t dy_vocab_size(const dy_vocab *v);
/* Occurrences counted for id (for UNK: those of the strings it absorbed). */
uint64_t dy_vocab_count(const dy_vocab *v, uint32_t id);
/* Non-zero when v has an UNK entry (id 0). */
int dy_vocab_has_unk(const dy_vocab *v);
/* Freezes v: from now on dy_vocab_add only looks up. */
void dy_vocab_freeze(dy_vocab *v);
int dy_vocab_frozen(const dy_vocab *v);

typedef struct dy_corpus dy_corpus;
/* Drops every string seen <= k times (they map to UNK from now on; their
 * counts go to UNK), renumbers the rest keeping their order, freezes v, and
 * rewrites the word ids of corpus c (may be NULL) that was read through v.
 * Needs an UNK entry (else DY_EARG). DY_OK, or DY_ENOMEM leaving v unchanged. */
dy_status dy_vocab_threshold(dy_vocab *v, uint64_t k, dy_corpus *c);

/* Writes v as text: a header line "dync-vocab 1", a line "size N unk U
 * frozen F", then one line per id: the escaped string, a tab, its count.
 * Escapes: \\ \t \n \r and \xHH for other bytes < 0x20 and 0x7f. */
dy_status dy_vocab_save(const dy_vocab *v, const char *path, char *err, size_t n);
dy_status dy_vocab_save_file(const dy_vocab *v, FILE *f, char *err, size_t n);
/* Reads a file written by dy_vocab_save; validates header, version, counts,
 * escapes, duplicates and the number of lines. NULL with "file:line: what". */
dy_vocab *dy_vocab_load(const char *path, char *err, size_t n);
/* The same from an open stream; name is used in messages. */
dy_vocab *dy_vocab_load_file(FILE *f, const char *name, char *err, size_t n);

/* ================================================================ corpus */
/* Sentences i = 0..nsent-1 hold tokens start[i] .. start[i+1]-1 of the flat
 * arrays. Every sentence has >= 1 token, except in a text corpus read with
 * keep_empty. */
struct dy_corpus {
  size_t nsent;     /* sentences */
  size_t ntok;      /* tokens over all sentences */
  size_t *start;    /* nsent + 1 offsets into the token arrays, start[0] = 0 */
  uint32_t *words;  /* ntok word (or symbol) ids */
  uint32_t *tags;   /* ntok tag ids, or NULL (text and long-range corpora) */
  uint32_t *label;  /* nsent per-sentence labels (long-range task), or NULL */
  char *text;       /* surface forms (CoNLL-U and text words), or NULL: */
  size_t *form;     /* ntok offsets: token t's form is text + form[t], NUL-ended */
  size_t nskipped;  /* malformed sentences skipped (CoNLL-U, DY_CONLLU_SKIP) */
  size_t ntext;     /* bytes of text in use */
  size_t cap_sent, cap_tok, cap_text; /* internal: allocated sizes */
};

/* Tokens in sentence i (i < c->nsent). */
static inline size_t dy_corpus_len(const dy_corpus *c, size_t i) {
  return c->start[i + 1] - c->start[i];
}
/* Word ids of sentence i. */
static inline const uint32_t *dy_corpus_words(const dy_corpus *c, size_t i) {
  return c->words + c->start[i];
}
/* Tag ids of sentence i, or NULL when the corpus has no tags. */
static inline const uint32_t *dy_corpus_tags(const dy_corpus *c, size_t i) {
  return c->tags ? c->tags + c->start[i] : NULL;
}
/* Surface form of token j of sentence i, or NULL when forms are not kept. */
static inline const char *dy_corpus_form(const dy_corpus *c, size_t i, size_t j) {
  return c->text ? c->text + c->form[c->start[i] + j] : NULL;
}

/* Frees c. NULL is allowed. */
void dy_corpus_free(dy_corpus *c);

/* ============================================================== CoNLL-U */
/* Reads word forms (column 2) and UPOS (4) or XPOS (5) tags, through the
 * vocabularies words and tags (counted and added unless frozen; a frozen tag
 * vocabulary without UNK makes an unknown tag an error). Skips comment lines
 * ("#..." anywhere), multiword-token lines ("1-2") and empty nodes ("1.1");
 * runs of blank lines separate sentences; accepts CRLF and a missing final
 * newline. A word line must have 10 tab-separated non-empty columns, ids
 * 1, 2, ... in order, valid UTF-8 and no NUL byte. "_" is taken literally.
 * A malformed line is an error "file:line: what"; with DY_CONLLU_SKIP the
 * reader drops that sentence instead (its words are not counted), reports it
 * through on_skip and c->nskipped, and goes on. When reading stops at an
 * error, the vocabularies keep the counts of the sentences before it (read
 * into fresh vocabularies to avoid that). Lines may be any length;
 * time and memory are linear in the input. */
#define DY_CONLLU_UPOS 0u  /* tags from column 4 (default) */
#define DY_CONLLU_XPOS 1u  /* tags from column 5 */
#define DY_CONLLU_SKIP 2u  /* skip malformed sentences instead of failing */
typedef struct dy_conllu_opts {
  unsigned flags;   /* DY_CONLLU_* or-ed together */
  /* Called once per skipped sentence with "file:line: what" (may be NULL). */
  void (*on_skip)(void *ctx, const char *msg);
  void *ctx;
} dy_conllu_opts;

/* Reads the CoNLL-U file at path (opts NULL: UPOS, stop at the first error).
 * NULL on error (err gets "path:line: what"). */
dy_corpus *dy_conllu_read_path(const char *path, dy_vocab *words, dy_vocab *tags,
                               const dy_conllu_opts *opts, char *err, size_t n);
/* The same from an open stream; name is used in messages. */
dy_corpus *dy_conllu_read_file(FILE *f, const char *name, dy_vocab *words, dy_vocab *tags,
                               const dy_conllu_opts *opts, char *err, size_t n);

/* =========================================================== plain text */
/* Units of a text corpus. */
typedef enum dy_text_unit {
  DY_TEXT_WORDS = 0, /* each line a sentence of words split on spaces/tabs (CR, VT, FF too) */
  DY_TEXT_BYTES,     /* the whole stream one sequence of bytes */
  DY_TEXT_CHARS      /* the whole stream one sequence of UTF-8 characters */
} dy_text_unit;
typedef struct dy_text_opts {
  dy_text_unit unit;
  const char *eos;   /* WORDS: appended to every sentence when non-NULL (e.g. "<eos>") */
  int keep_empty;    /* WORDS: an empty line is a sentence (of just eos, or of 0 words) */
} dy_text_opts;
/* Reads a text file (opts NULL: words, no eos, empty lines skipped). Units go
 * through v (counted, added unless frozen); in BYTES mode v may be NULL and
 * the ids are the byte values 0..255. WORDS and CHARS need valid UTF-8 (an
 * error names line and byte column); BYTES takes any bytes. Forms are kept in
 * WORDS mode only. NULL on error. */
dy_corpus *dy_text_read_path(const char *path, dy_vocab *v, const dy_text_opts *opts,
                             char *err, size_t n);
/* The same from an open stream; name is used in messages. */
dy_corpus *dy_text_read_file(FILE *f, const char *name, dy_vocab *v, const dy_text_opts *opts,
                             char *err, size_t n);

/* ======================================================= generated data */
/* A synthetic tagging language with tags DET ADJ NOUN VERB PREP ADV (ids 0..5
 * when the tag vocabulary starts empty). A sentence is
 *   NP VERB [NP] {PREP NP | ADV},   NP = DET ADJ{0,2} NOUN,
 * with the length drawn uniformly in [min_len, max_len] and filled exactly.
 * Open-class forms are drawn Zipf-like (frequent ranks first) from a lexicon
 * fixed by lexicon_seed; forms are pronounceable strings that do not reveal
 * their class. Two kinds of ambiguous forms decide the difficulty:
 *  - n_nv forms are both NOUN and VERB: the LEFT neighbour decides (after DET
 *    or ADJ a NOUN, after a NOUN a VERB);
 *  - n_an forms are both ADJ and NOUN: only the RIGHT neighbour decides (before
 *    ADJ or NOUN an ADJ, else a NOUN), so a left-to-right tagger cannot.
 * Ambiguous forms take the most frequent ranks of both their classes. With the
 * defaults (10,000 sentences, measured by tests/test_corpus.c): 30% of tokens
 * have an ambiguous form; a per-word majority tagger (trained and tested on
 * the same data) gets 90.5%; one that also knows the true left tag 94.0%;
 * the tag is a function of (form, left tag, right tag), so a BiLSTM can reach
 * 100% while a left-to-right tagger stays below it on the ADJ/NOUN forms. */
typedef struct dy_synth_opts {
  uint64_t seed;         /* sentence stream */
  uint64_t lexicon_seed; /* the language: forms and their classes */
  size_t nsent;          /* sentences, >= 1 (default 1000) */
  uint32_t min_len, max_len; /* words per sentence, 3 <= min_len <= max_len (default 5, 25) */
  uint32_t nforms;       /* open-class forms (NOUN, VERB, ADJ, ADV), >= 40 (default 2000) */
  uint32_t n_nv, n_an;   /* ambiguous forms (default 20, 20); n_nv + n_an <= nforms / 4;
                          * 5 + 5 gives 20% ambiguous tokens, 40 + 40 gives 35% */
} dy_synth_opts;
/* The defaults above (seed 1, lexicon_seed 1). */
dy_synth_opts dy_synth_defaults(void);
/* Generates o->nsent sentences of words and tags through the vocabularies
 * (which may be frozen; the tag vocabulary gets the six tags first, in the
 * order above, when not frozen). Deterministic for (seed, lexicon_seed) and
 * the sizes. Forms are kept. NULL (err) on bad options. For dev and test
 * data keep lexicon_seed, change seed, and freeze the word vocabulary. */
dy_corpus *dy_synth_tagging(const dy_synth_opts *o, dy_vocab *words, dy_vocab *tags,
                            char *err, size_t n);

/* The long-range task: each sequence holds len symbols; its label (c->label)
 * is the first symbol, to be predicted after reading the last one.
 *  - plain (ndistract == 0): all len symbols uniform over 0..nsym-1.
 *  - distractor (ndistract > 0): the first symbol is a key in 0..nsym-1, the
 *    next len-2 are distractors uniform over nsym..nsym+ndistract-1, the last
 *    is the query marker nsym+ndistract (the same in every sequence).
 * Chance accuracy is 1/nsym. Word ids are symbols (no vocabulary). */
typedef struct dy_longrange_opts {
  uint64_t seed;
  size_t nseq;         /* sequences, >= 1 */
  uint32_t len;        /* symbols per sequence: >= 1 plain, >= 2 distractor */
  uint32_t nsym;       /* keys, >= 2 */
  uint32_t ndistract;  /* 0: plain; else the number of distractor symbols */
} dy_longrange_opts;
/* Input alphabet size: nsym (plain) or nsym + ndistract + 1. */
uint32_t dy_longrange_nsym(const dy_longrange_opts *o);
/* Generates the task; deterministic for the options. NULL (err) on bad options. */
dy_corpus *dy_longrange(const dy_longrange_opts *o, char *err, size_t n);

#ifdef __cplusplus
}
#endif
#endif
