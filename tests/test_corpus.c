/* Corpora: the CoNLL-U reader (valid input, every class of malformed line,
 * skipping, long sentences and lines, empty input, real UD data when present),
 * the text reader, vocabularies (threshold, UNK, freezing, save/load and
 * corrupted files), and the generated data (determinism, stated ambiguity). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dy_corpus.h"
#include "harness.h"

/* ================================================================ helpers */

/* Writes n bytes to a new temporary file; returns its path (malloc'ed). */
static char *write_tmp(const char *data, size_t n) {
  char *path = strdup("/tmp/dy_test_corpus_XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
  return path;
}

/* Reads a CoNLL-U string through a file; err gets the message. */
static dy_corpus *read_str(const char *s, dy_vocab *W, dy_vocab *T, const dy_conllu_opts *o,
                           char *err, size_t n, char **pathp) {
  char *path = write_tmp(s, strlen(s));
  dy_corpus *c = dy_conllu_read_path(path, W, T, o, err, n);
  unlink(path);
  if (pathp)
    *pathp = path;
  else
    free(path);
  return c;
}

static const char *tag_of(const dy_corpus *c, const dy_vocab *T, size_t i, size_t j) {
  return dy_vocab_str(T, dy_corpus_tags(c, i)[j]);
}
static const char *word_of(const dy_corpus *c, const dy_vocab *W, size_t i, size_t j) {
  return dy_vocab_str(W, dy_corpus_words(c, i)[j]);
}

/* ============================================================ CoNLL-U */

static const char *valid_conllu =
    "# newdoc id = x\r\n"
    "# text = Don't stop\r\n"
    "1-2\tDon't\t_\t_\t_\t_\t_\t_\t_\t_\r\n"
    "1\tDo\tdo\tAUX\tVBP\t_\t3\taux\t_\t_\r\n"
    "2\tn't\tnot\tPART\tRB\t_\t3\tadvmod\t_\t_\r\n"
    "2.1\tghost\t_\t_\t_\t_\t_\t_\t_\t_\r\n"
    "3\tstop\tstop\tVERB\tVB\t_\t0\troot\t_\t_\r\n"
    "\r\n"
    "\r\n"
    "# text = Ça marche 日本\n"
    "0.1\tbefore\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "1\tÇa\tça\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
    "2\tmarche\tmarcher\tVERB\tVBZ\t_\t0\troot\t_\tSpaceAfter=No\n"
    "3\t日本\t日本\tPROPN\tNNP\t_\t2\tobj\t_\t_\n"
    "4\t_\t_\tPUNCT\t_\t_\t2\tpunct\t_\t_"; /* no final newline; "_" is literal */

START_TEST(conllu_valid) {
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  char err[512] = "";
  dy_corpus *c = read_str(valid_conllu, W, T, NULL, err, sizeof err, NULL);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 2);
  ck_assert_uint_eq(c->ntok, 7);
  ck_assert_uint_eq(dy_corpus_len(c, 0), 3);
  ck_assert_uint_eq(dy_corpus_len(c, 1), 4);
  ck_assert_str_eq(word_of(c, W, 0, 0), "Do");
  ck_assert_str_eq(word_of(c, W, 0, 1), "n't");
  ck_assert_str_eq(word_of(c, W, 0, 2), "stop");
  ck_assert_str_eq(tag_of(c, T, 0, 2), "VERB");
  ck_assert_str_eq(word_of(c, W, 1, 0), "Ça");
  ck_assert_str_eq(word_of(c, W, 1, 2), "日本");
  ck_assert_str_eq(dy_corpus_form(c, 1, 2), "日本");
  ck_assert_str_eq(word_of(c, W, 1, 3), "_");
  ck_assert_str_eq(tag_of(c, T, 1, 3), "PUNCT");
  ck_assert_uint_eq(dy_vocab_size(W), 8); /* <unk> + 7 distinct */
  ck_assert_uint_eq(dy_vocab_size(T), 6); /* AUX PART VERB PRON PROPN PUNCT */
  ck_assert_uint_eq(dy_vocab_count(T, dy_vocab_id(T, "VERB")), 2);
  ck_assert_uint_eq(c->nskipped, 0);
  dy_corpus_free(c);
  /* XPOS, through a FILE* */
  dy_vocab *X = dy_vocab_new(NULL);
  FILE *f = fmemopen((void *)valid_conllu, strlen(valid_conllu), "rb");
  dy_conllu_opts o = {DY_CONLLU_XPOS, NULL, NULL};
  c = dy_conllu_read_file(f, "mem", W, X, &o, err, sizeof err);
  fclose(f);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_str_eq(tag_of(c, X, 0, 0), "VBP");
  ck_assert_str_eq(tag_of(c, X, 1, 3), "_");
  ck_assert_uint_eq(dy_vocab_count(W, dy_vocab_id(W, "stop")), 2); /* counted twice over two reads */
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
  dy_vocab_free(X);
}
END_TEST

/* One malformed class: the bad sentence sits between two good ones. */
typedef struct bad_case {
  const char *line;  /* replaces the second word line of the middle sentence */
  const char *what;  /* expected in the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"2\tb\tb\tNOUN\tNN\t_\t0\troot\t_", "9 tab-separated columns, expected 10"},
    {"2\tb\tb\tNOUN\tNN\t_\t0\troot\t_\t_\textra", "11 tab-separated columns"},
    {"2 b b NOUN NN _ 0 root _ _", "1 tab-separated column, expected 10"},
    {"2\t\tb\tNOUN\tNN\t_\t0\troot\t_\t_", "column 2 (FORM) is empty"},
    {"2\tb\tb\t\tNN\t_\t0\troot\t_\t_", "column 4 (UPOS) is empty"},
    {"2\tb\tb\tNOUN\tNN\t_\t0\troot\t_\t", "column 10 (MISC) is empty"},
    {"x\tb\tb\tNOUN\tNN\t_\t0\troot\t_\t_", "bad word id \"x\""},
    {"02\tb\tb\tNOUN\tNN\t_\t0\troot\t_\t_", "bad word id \"02\""},
    {"3\tb\tb\tNOUN\tNN\t_\t0\troot\t_\t_", "word id 3 out of order: expected 2"},
    {"1\tb\tb\tNOUN\tNN\t_\t0\troot\t_\t_", "word id 1 out of order: expected 2"},
    {"3-2\tb\t_\t_\t_\t_\t_\t_\t_\t_", "bad multiword token range \"3-2\""},
    {"3-4\tb\t_\t_\t_\t_\t_\t_\t_\t_", "range 3-4 out of order: the next word id is 2"},
    {"1.0\tb\t_\t_\t_\t_\t_\t_\t_\t_", "bad empty node id \"1.0\""},
    {"2.1\tb\t_\t_\t_\t_\t_\t_\t_\t_", "empty node 2.1 out of order"},
    {"2\tb\xff\tb\tNOUN\tNN\t_\t0\troot\t_\t_", "invalid UTF-8 at byte 4"},
    {"2\tb\xc0\xafz\tb\tNOUN\tNN\t_\t0\troot\t_\t_", "invalid UTF-8 at byte 4"},   /* overlong */
    {"2\tb\xed\xa0\x80z\tb\tNOUN\tNN\t_\t0\troot\t_\t_", "invalid UTF-8 at byte 4"}, /* surrogate */
};

static void count_skips(void *ctx, const char *msg) {
  char *last = ctx;
  snprintf(last, 512, "%s", msg);
  last[511]++; /* a counter in the last byte: msg is far shorter */
}

START_TEST(conllu_malformed_stop_and_skip) {
  const bad_case *bc = &bad_cases[_i];
  char doc[2048];
  /* line 1-3: good sentence; 4: blank; 5: comment; 6: word 1; 7: the bad
   * line; 8: word 3 (skipped too); 9: blank; 10-11: good sentence */
  snprintf(doc, sizeof doc,
           "1\tgood\tgood\tADJ\tJJ\t_\t0\troot\t_\t_\n"
           "2\tone\tone\tNUM\tCD\t_\t1\tnummod\t_\t_\n"
           "3\tdot\t.\tPUNCT\t.\t_\t1\tpunct\t_\t_\n"
           "\n"
           "# bad sentence\n"
           "1\tpoison\ta\tDET\tDT\t_\t2\tdet\t_\t_\n"
           "%s\n"
           "3\tpoison\tc\tNOUN\tNN\t_\t2\tobj\t_\t_\n"
           "\n"
           "1\tgood\tgood\tADJ\tJJ\t_\t0\troot\t_\t_\n"
           "2\tend\tend\tNOUN\tNN\t_\t1\tobj\t_\t_\n",
           bc->line);
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  char err[512] = "", *path, want[600];
  dy_corpus *c = read_str(doc, W, T, NULL, err, sizeof err, &path);
  ck_assert_msg(c == NULL, "case %d accepted: %s", _i, bc->line);
  snprintf(want, sizeof want, "%s:7: ", path);
  ck_assert_msg(strstr(err, want) == err, "case %d: message \"%s\" does not start with \"%s\"", _i,
                err, want);
  ck_assert_msg(strstr(err, bc->what), "case %d: message \"%s\" lacks \"%s\"", _i, err, bc->what);
  dy_vocab_free(W);
  dy_vocab_free(T);
  W = dy_vocab_new("<unk>");
  T = dy_vocab_new(NULL);
  char last[512] = {0};
  dy_conllu_opts o = {DY_CONLLU_SKIP, count_skips, last};
  c = read_str(doc, W, T, &o, err, sizeof err, NULL);
  ck_assert_msg(c != NULL, "case %d: %s", _i, err);
  ck_assert_uint_eq(c->nsent, 2);
  ck_assert_uint_eq(c->nskipped, 1);
  ck_assert_int_eq(last[511], 1);
  ck_assert_msg(strstr(last, bc->what) && strstr(last, ":7: "), "case %d: %s", _i, last);
  ck_assert_str_eq(word_of(c, W, 1, 1), "end");
  ck_assert_uint_eq(dy_vocab_id(W, "poison"), 0); /* the skipped sentence counted nothing */
  ck_assert_uint_eq(dy_vocab_count(W, dy_vocab_id(W, "good")), 2);
  ck_assert_uint_eq(dy_vocab_id(T, "DET"), DY_VOCAB_NONE);
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
  free(path);
}
END_TEST

START_TEST(conllu_nul_byte_and_frozen_unknowns) {
  const char doc[] = "1\ta\ta\tX\tX\t_\t0\troot\t_\t_\n\n1\tb\0b\tb\tX\tX\t_\t0\troot\t_\t_\n";
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  char err[512] = "";
  char *path = write_tmp(doc, sizeof doc - 1);
  ck_assert_ptr_null(dy_conllu_read_path(path, W, T, NULL, err, sizeof err));
  ck_assert_msg(strstr(err, ":3: NUL byte at byte 4"), "%s", err);
  unlink(path);
  free(path);
  /* a frozen tag vocabulary without UNK: an unknown tag is an error at its line */
  dy_vocab_freeze(T);
  dy_vocab_freeze(W);
  const char doc2[] = "1\tq\ta\tX\tX\t_\t0\troot\t_\t_\n\n# c\n1\tzz\ta\tX\tX\t_\t0\troot\t_\t_\n"
                      "2\tb\tb\tNEW\tX\t_\t1\tdep\t_\t_\n";
  dy_corpus *c = read_str(doc2, W, T, NULL, err, sizeof err, NULL);
  ck_assert_ptr_null(c);
  ck_assert_msg(strstr(err, ":5: unknown tag \"NEW\""), "%s", err);
  dy_conllu_opts o = {DY_CONLLU_SKIP, NULL, NULL};
  c = read_str(doc2, W, T, &o, err, sizeof err, NULL);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 1);
  ck_assert_uint_eq(c->nskipped, 1);
  ck_assert_uint_eq(dy_corpus_words(c, 0)[0], 0); /* "q": unknown to the frozen W -> <unk> */
  ck_assert_uint_eq(dy_vocab_size(W), 2); /* <unk> and "a", from the sentence before the NUL */
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
}
END_TEST

START_TEST(conllu_long_sentence) {
  size_t n = 10000, cap = n * 64, len = 0;
  char *doc = malloc(cap);
  len += (size_t)snprintf(doc + len, cap - len, "# a 10,000-word sentence\n");
  for (size_t i = 1; i <= n; i++)
    len += (size_t)snprintf(doc + len, cap - len, "%zu\tw%zu\tw\t%s\t_\t_\t0\tdep\t_\t_\n", i,
                            i % 977, i % 2 ? "NOUN" : "VERB");
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  char err[512] = "";
  char *path = write_tmp(doc, len);
  dy_corpus *c = dy_conllu_read_path(path, W, T, NULL, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 1);
  ck_assert_uint_eq(dy_corpus_len(c, 0), n);
  ck_assert_str_eq(word_of(c, W, 0, n - 1), "w230"); /* 10000 % 977 */
  ck_assert_str_eq(tag_of(c, T, 0, n - 1), "VERB");
  ck_assert_uint_eq(dy_vocab_size(W), 978);
  unlink(path);
  free(path);
  free(doc);
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
}
END_TEST

START_TEST(conllu_long_lines) {
  /* a 64 MiB MISC column, then a 1 MiB form */
  size_t big = (size_t)64 << 20, form = (size_t)1 << 20;
  size_t cap = big + form + 256, len = 0;
  char *doc = malloc(cap);
  len += (size_t)snprintf(doc, cap, "1\ta\ta\tX\t_\t_\t0\troot\t_\t");
  memset(doc + len, 'm', big);
  len += big;
  len += (size_t)snprintf(doc + len, cap - len, "\n2\t");
  memset(doc + len, 'f', form);
  len += form;
  len += (size_t)snprintf(doc + len, cap - len, "\tb\tY\t_\t_\t1\tdep\t_\t_\n");
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  char err[512] = "";
  char *path = write_tmp(doc, len);
  free(doc);
  dy_corpus *c = dy_conllu_read_path(path, W, T, NULL, err, sizeof err);
  unlink(path);
  free(path);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->ntok, 2);
  ck_assert_uint_eq(dy_vocab_strlen(W, dy_corpus_words(c, 0)[1]), form);
  ck_assert_uint_eq(strlen(dy_corpus_form(c, 0, 1)), form);
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
}
END_TEST

START_TEST(conllu_empty_inputs) {
  static const char *docs[] = {"", "\n\n\n", "# only a comment\n", "# c\r\n\r\n# d\r\n",
                               "1-2\tab\t_\t_\t_\t_\t_\t_\t_\t_\n"};
  for (size_t k = 0; k < sizeof docs / sizeof *docs; k++) {
    dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
    char err[512] = "";
    dy_corpus *c = read_str(docs[k], W, T, NULL, err, sizeof err, NULL);
    ck_assert_msg(c != NULL, "doc %zu: %s", k, err);
    ck_assert_uint_eq(c->nsent, 0);
    ck_assert_uint_eq(c->ntok, 0);
    ck_assert_uint_eq(c->start[0], 0);
    dy_corpus_free(c);
    dy_vocab_free(W);
    dy_vocab_free(T);
  }
  char err[512] = "";
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  ck_assert_ptr_null(dy_conllu_read_path("/nonexistent/x.conllu", W, T, NULL, err, sizeof err));
  ck_assert_msg(strstr(err, "/nonexistent/x.conllu: cannot open"), "%s", err);
  dy_conllu_opts o = {0x100, NULL, NULL};
  ck_assert_ptr_null(read_str("", W, T, &o, err, sizeof err, NULL));
  ck_assert_msg(strstr(err, "unknown flags"), "%s", err);
  dy_vocab_free(W);
  dy_vocab_free(T);
}
END_TEST

/* Counts measured independently with awk on en_ewt-ud-{train,dev}.conllu
 * (UD 2.x copy in ../shared/data, 2026-11-22): a sentence is a run of lines
 * whose first field is an integer; forms are column 2, UPOS column 4:
 *   awk -F'\t' '/^#/{next} /^\r?$/{if(s){n++;s=0};next} $1~/^[0-9]+$/{t++;s=1}
 *               END{if(s)n++; print n, t}'
 * train: 12544 sentences, 204577 words, 19674 distinct forms (9873 seen more
 * than once), 17 UPOS, 49 XPOS; dev: 2001 sentences, 25147 words. */
START_TEST(conllu_ud_english_ewt) {
  const char *shared = getenv("DY_SHARED");
  char tr[1024], dv[1024], err[512] = "";
  snprintf(tr, sizeof tr, "%s/data/ud/UD_English-EWT/en_ewt-ud-train.conllu", shared ? shared : "");
  snprintf(dv, sizeof dv, "%s/data/ud/UD_English-EWT/en_ewt-ud-dev.conllu", shared ? shared : "");
  if (!shared || access(tr, R_OK) || access(dv, R_OK)) {
    printf("SKIP conllu_ud_english_ewt: %s not found (set DY_SHARED)\n", tr);
    return;
  }
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL), *X = dy_vocab_new(NULL);
  dy_corpus *c = dy_conllu_read_path(tr, W, T, NULL, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 12544);
  ck_assert_uint_eq(c->ntok, 204577);
  ck_assert_uint_eq(dy_vocab_size(W), 19674 + 1);
  ck_assert_uint_eq(dy_vocab_size(T), 17);
  ck_assert_uint_eq(dy_vocab_threshold(W, 1, c), DY_OK);
  ck_assert_uint_eq(dy_vocab_size(W), 9873 + 1);
  size_t unk = 0;
  for (size_t t = 0; t < c->ntok; t++)
    unk += c->words[t] == 0;
  ck_assert_uint_eq(unk, 19674 - 9873); /* each once-seen form was one token */
  ck_assert_uint_eq(dy_vocab_count(W, 0), unk);
  dy_corpus_free(c);
  dy_vocab_freeze(T);
  c = dy_conllu_read_path(dv, W, T, NULL, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 2001);
  ck_assert_uint_eq(c->ntok, 25147);
  dy_corpus_free(c);
  dy_vocab *W2 = dy_vocab_new("<unk>");
  dy_conllu_opts o = {DY_CONLLU_XPOS, NULL, NULL};
  c = dy_conllu_read_path(tr, W2, X, &o, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(dy_vocab_size(X), 49);
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(W2);
  dy_vocab_free(T);
  dy_vocab_free(X);
}
END_TEST

/* ============================================================ vocabulary */

START_TEST(vocab_basics_threshold_freeze) {
  dy_vocab *v = dy_vocab_new("<unk>");
  ck_assert_uint_eq(dy_vocab_size(v), 1);
  ck_assert_str_eq(dy_vocab_str(v, 0), "<unk>");
  const char *text[] = {"a", "b", "a", "c", "a", "b", "d"};
  uint32_t ids[7];
  for (int i = 0; i < 7; i++)
    ids[i] = dy_vocab_add(v, text[i], strlen(text[i]));
  ck_assert_uint_eq(ids[0], 1);
  ck_assert_uint_eq(ids[1], 2);
  ck_assert_uint_eq(ids[3], 3);
  ck_assert_uint_eq(ids[6], 4);
  ck_assert_uint_eq(dy_vocab_count(v, 1), 3);
  ck_assert_uint_eq(dy_vocab_lookup(v, "zz", 2), 0);
  ck_assert_uint_eq(dy_vocab_add(v, "", 0), DY_VOCAB_NONE);
  ck_assert_ptr_null(dy_vocab_str(v, 99));
  /* many strings: the table grows, every id stays right */
  char b[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(b, sizeof b, "s%d", i);
    ck_assert_uint_eq(dy_vocab_add(v, b, strlen(b)), 5 + (uint32_t)i);
  }
  for (int i = 0; i < 5000; i++) {
    snprintf(b, sizeof b, "s%d", i);
    ck_assert_uint_eq(dy_vocab_id(v, b), 5 + (uint32_t)i);
  }
  /* threshold 1: strings seen once (c, d, s*) become UNK; a corpus is remapped */
  dy_corpus c = {0};
  size_t start[2] = {0, 7};
  c.nsent = 1;
  c.ntok = 7;
  c.start = start;
  c.words = ids;
  ck_assert_int_eq(dy_vocab_threshold(v, 1, &c), DY_OK);
  ck_assert_uint_eq(dy_vocab_size(v), 3);
  ck_assert(dy_vocab_frozen(v));
  ck_assert_uint_eq(dy_vocab_id(v, "a"), 1);
  ck_assert_uint_eq(dy_vocab_id(v, "b"), 2);
  ck_assert_uint_eq(dy_vocab_id(v, "c"), 0);
  ck_assert_uint_eq(dy_vocab_count(v, 0), 5002);
  uint32_t want[7] = {1, 2, 1, 0, 1, 2, 0};
  for (int i = 0; i < 7; i++)
    ck_assert_uint_eq(ids[i], want[i]);
  /* frozen: add is a lookup and counts nothing */
  ck_assert_uint_eq(dy_vocab_add(v, "new", 3), 0);
  ck_assert_uint_eq(dy_vocab_add(v, "a", 1), 1);
  ck_assert_uint_eq(dy_vocab_count(v, 1), 3);
  ck_assert_uint_eq(dy_vocab_size(v), 3);
  dy_vocab_free(v);
  /* without UNK */
  v = dy_vocab_new(NULL);
  ck_assert_uint_eq(dy_vocab_add(v, "NOUN", 4), 0);
  ck_assert_uint_eq(dy_vocab_lookup(v, "VERB", 4), DY_VOCAB_NONE);
  ck_assert_int_eq(dy_vocab_threshold(v, 1, NULL), DY_EARG);
  dy_vocab_freeze(v);
  ck_assert_uint_eq(dy_vocab_add(v, "VERB", 4), DY_VOCAB_NONE);
  dy_vocab_free(v);
}
END_TEST

START_TEST(vocab_save_load_roundtrip) {
  dy_vocab *v = dy_vocab_new("<unk>");
  const char *s[] = {"plain", "tab\there", "new\nline", "back\\slash", "cr\r", "ctl\x01\x7f",
                     "日本語", "x"};
  for (int i = 0; i < 8; i++)
    for (int k = 0; k <= i; k++)
      dy_vocab_add(v, s[i], strlen(s[i]));
  dy_vocab_add(v, "nul\0byte", 8);
  char path[] = "/tmp/dy_test_vocab_XXXXXX", err[512] = "";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(dy_vocab_save(v, path, err, sizeof err), DY_OK);
  dy_vocab *w = dy_vocab_load(path, err, sizeof err);
  ck_assert_msg(w != NULL, "%s", err);
  ck_assert_uint_eq(dy_vocab_size(w), dy_vocab_size(v));
  ck_assert(dy_vocab_has_unk(w));
  ck_assert(!dy_vocab_frozen(w));
  for (uint32_t id = 0; id < dy_vocab_size(v); id++) {
    ck_assert_uint_eq(dy_vocab_strlen(w, id), dy_vocab_strlen(v, id));
    ck_assert(memcmp(dy_vocab_str(w, id), dy_vocab_str(v, id), dy_vocab_strlen(v, id)) == 0);
    ck_assert_uint_eq(dy_vocab_count(w, id), dy_vocab_count(v, id));
    ck_assert_uint_eq(dy_vocab_lookup(w, dy_vocab_str(v, id), dy_vocab_strlen(v, id)), id);
  }
  ck_assert_uint_eq(dy_vocab_count(w, dy_vocab_id(w, "x")), 8);
  dy_vocab_free(w);
  /* frozen tag vocabulary without UNK */
  dy_vocab *t = dy_vocab_new(NULL);
  dy_vocab_add(t, "NOUN", 4);
  dy_vocab_freeze(t);
  ck_assert_int_eq(dy_vocab_save(t, path, err, sizeof err), DY_OK);
  w = dy_vocab_load(path, err, sizeof err);
  ck_assert_msg(w != NULL, "%s", err);
  ck_assert(!dy_vocab_has_unk(w) && dy_vocab_frozen(w));
  ck_assert_uint_eq(dy_vocab_id(w, "VERB"), DY_VOCAB_NONE);
  dy_vocab_free(w);
  dy_vocab_free(t);
  unlink(path);
  dy_vocab_free(v);
}
END_TEST

typedef struct bad_vocab {
  const char *text;
  const char *what; /* expected in the message, after "name:" */
} bad_vocab;

static const bad_vocab bad_vocabs[] = {
    {"", ":1: empty file"},
    {"dync-vocabulary 1\n", ":1: not a dync vocabulary"},
    {"dync-vocab 2\nsize 0 unk 0 frozen 0\n", ":1: unsupported vocabulary version \"2\""},
    {"dync-vocab 1\nsize 2 unk 1\n", ":2: expected \"size N unk 0|1 frozen 0|1\""},
    {"dync-vocab 1\nsize 0 unk 1 frozen 0\n", ":2: expected"},
    {"dync-vocab 1\nsize 1 unk 2 frozen 0\na\t1\n", ":2: expected"},
    {"dync-vocab 1\nsize 2 unk 1 frozen 0\n<unk>\t0\n", ":4: file ends after 1 of 2 entries"},
    {"dync-vocab 1\nsize 2 unk 1 frozen 0\n<unk>\t0\nword 3\n", ":4: expected \"string<TAB>count\""},
    {"dync-vocab 1\nsize 2 unk 1 frozen 0\n<unk>\t0\nword\t-3\n", ":4: bad count"},
    {"dync-vocab 1\nsize 2 unk 1 frozen 0\n<unk>\t0\nword\t99999999999999999999\n", ":4: bad count"},
    {"dync-vocab 1\nsize 2 unk 1 frozen 0\n<unk>\t0\nwo\\qrd\t1\n", ":4: bad escape at byte 3"},
    {"dync-vocab 1\nsize 2 unk 1 frozen 0\n<unk>\t0\nwo\\x4\t1\n", ":4: bad escape"},
    {"dync-vocab 1\nsize 2 unk 1 frozen 0\n<unk>\t0\n\t1\n", ":4: empty string"},
    {"dync-vocab 1\nsize 3 unk 1 frozen 0\n<unk>\t0\na\t1\na\t2\n", ":5: duplicate string \"a\""},
    {"dync-vocab 1\nsize 2 unk 1 frozen 0\n<unk>\t0\na\t1\nb\t1\n", ":5: extra content after 2 entries"},
    {"dync-vocab 1\nsize 2 unk 0 frozen 0\nx\x01y\t0\na\t1\n", ":3: unescaped control byte 0x01"},
};

START_TEST(vocab_corrupted_files) {
  const bad_vocab *b = &bad_vocabs[_i];
  char err[512] = "", want[600];
  char *path = write_tmp(b->text, strlen(b->text));
  ck_assert_ptr_null(dy_vocab_load(path, err, sizeof err));
  snprintf(want, sizeof want, "%s%s", path, b->what);
  ck_assert_msg(strstr(err, want) == err, "case %d: \"%s\" does not start with \"%s\"", _i, err,
                want);
  unlink(path);
  free(path);
}
END_TEST

/* ================================================================== text */

START_TEST(text_words_bytes_chars) {
  const char doc[] = "the cat  sat\r\n\n\t on the mat \nend";
  dy_vocab *v = dy_vocab_new("<unk>");
  char err[512] = "";
  FILE *f = fmemopen((void *)doc, sizeof doc - 1, "rb");
  dy_text_opts o = {DY_TEXT_WORDS, "<eos>", 0};
  dy_corpus *c = dy_text_read_file(f, "doc", v, &o, err, sizeof err);
  fclose(f);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 3);
  ck_assert_uint_eq(dy_corpus_len(c, 0), 4);
  ck_assert_uint_eq(dy_corpus_len(c, 1), 4);
  ck_assert_uint_eq(dy_corpus_len(c, 2), 2);
  ck_assert_str_eq(dy_corpus_form(c, 0, 2), "sat");
  ck_assert_str_eq(dy_corpus_form(c, 0, 3), "<eos>");
  ck_assert_uint_eq(dy_corpus_words(c, 1)[1], dy_vocab_id(v, "the"));
  ck_assert_uint_eq(dy_vocab_count(v, dy_vocab_id(v, "<eos>")), 3);
  ck_assert_ptr_null(c->tags);
  dy_corpus_free(c);
  /* keep_empty without eos: the empty line is a sentence of 0 words */
  f = fmemopen((void *)doc, sizeof doc - 1, "rb");
  dy_text_opts o2 = {DY_TEXT_WORDS, NULL, 1};
  c = dy_text_read_file(f, "doc", v, &o2, err, sizeof err);
  fclose(f);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 4);
  ck_assert_uint_eq(dy_corpus_len(c, 1), 0);
  dy_corpus_free(c);
  dy_vocab_free(v);
  /* bytes without a vocabulary: ids are byte values */
  const char bin[] = "a\xff\n\0z";
  f = fmemopen((void *)bin, sizeof bin - 1, "rb");
  dy_text_opts ob = {DY_TEXT_BYTES, NULL, 0};
  c = dy_text_read_file(f, "bin", NULL, &ob, err, sizeof err);
  fclose(f);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 1);
  ck_assert_uint_eq(c->ntok, 5);
  ck_assert_uint_eq(c->words[1], 255);
  ck_assert_uint_eq(c->words[3], 0);
  ck_assert_ptr_null(c->text);
  dy_corpus_free(c);
  /* UTF-8 characters as units, through a vocabulary; > one 64 KiB block so
   * characters straddle block boundaries */
  size_t reps = 30000, len = 0;
  char *u = malloc(reps * 4 + 1);
  for (size_t i = 0; i < reps; i++) {
    memcpy(u + len, i % 3 ? "é" : "x", i % 3 ? 2 : 1);
    len += i % 3 ? 2 : 1;
    if (i % 5 == 4)
      u[len++] = '\n';
  }
  v = dy_vocab_new(NULL);
  char *path = write_tmp(u, len);
  dy_text_opts oc = {DY_TEXT_CHARS, NULL, 0};
  c = dy_text_read_path(path, v, &oc, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->ntok, reps + reps / 5);
  ck_assert_uint_eq(dy_vocab_size(v), 3);
  ck_assert_uint_eq(dy_vocab_count(v, dy_vocab_id(v, "é")), reps - (reps + 2) / 3);
  dy_corpus_free(c);
  unlink(path);
  free(path);
  /* invalid UTF-8 in chars mode: line and byte named */
  u[len++] = '\xc3';
  u[len++] = 'x';
  path = write_tmp(u, len);
  ck_assert_ptr_null(dy_text_read_path(path, v, &oc, err, sizeof err));
  ck_assert_msg(strstr(err, ":6001: invalid UTF-8 at byte 1"), "%s", err);
  unlink(path);
  free(path);
  free(u);
  dy_vocab_free(v);
  /* words mode: invalid UTF-8 and a frozen vocabulary without UNK */
  v = dy_vocab_new(NULL);
  const char w2[] = "ok ok\nbad \xe2\x82 x\n";
  f = fmemopen((void *)w2, sizeof w2 - 1, "rb");
  ck_assert_ptr_null(dy_text_read_file(f, "w2", v, NULL, err, sizeof err));
  fclose(f);
  ck_assert_str_eq(err, "w2:2: invalid UTF-8 at byte 5");
  dy_vocab_freeze(v);
  const char w3[] = "ok\nok new\n";
  f = fmemopen((void *)w3, sizeof w3 - 1, "rb");
  ck_assert_ptr_null(dy_text_read_file(f, "w3", v, NULL, err, sizeof err));
  fclose(f);
  ck_assert_msg(strstr(err, "w3:2: unknown word \"new\""), "%s", err);
  dy_vocab_free(v);
}
END_TEST


/* Counts measured independently on ../shared/data (2026-11-22):
 *   wc -l -w ptb.train.txt -> 42068 lines, 887521 words (no empty line);
 *   tr ' ' '\n' < ptb.train.txt | grep -v '^$' | sort -u | wc -l -> 9999
 *   (the literal "<unk>" included, so with "<eos>" the classic 10,000);
 *   input.txt (Tiny Shakespeare): 1115394 bytes, 65 distinct, 40000 lines. */
START_TEST(text_ptb_and_shakespeare) {
  const char *shared = getenv("DY_SHARED");
  char ptb[1024], tsh[1024], err[512] = "";
  snprintf(ptb, sizeof ptb, "%s/data/ptb/ptb.train.txt", shared ? shared : "");
  snprintf(tsh, sizeof tsh, "%s/data/tinyshakespeare/input.txt", shared ? shared : "");
  if (!shared || access(ptb, R_OK) || access(tsh, R_OK)) {
    printf("SKIP text_ptb_and_shakespeare: %s not found (set DY_SHARED)\n", ptb);
    return;
  }
  dy_vocab *v = dy_vocab_new("<unk>");
  dy_text_opts o = {DY_TEXT_WORDS, "<eos>", 0};
  dy_corpus *c = dy_text_read_path(ptb, v, &o, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 42068);
  ck_assert_uint_eq(c->ntok, 887521 + 42068);
  ck_assert_uint_eq(dy_vocab_size(v), 10000); /* the file's "<unk>" is our UNK, id 0 */
  ck_assert_uint_gt(dy_vocab_count(v, 0), 0);
  dy_corpus_free(c);
  dy_vocab_free(v);
  v = dy_vocab_new(NULL);
  dy_text_opts oc = {DY_TEXT_CHARS, NULL, 0};
  c = dy_text_read_path(tsh, v, &oc, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(c->nsent, 1);
  ck_assert_uint_eq(c->ntok, 1115394);
  ck_assert_uint_eq(dy_vocab_size(v), 65);
  ck_assert_uint_eq(dy_vocab_count(v, dy_vocab_id(v, "\n")), 40000);
  dy_corpus_free(c);
  dy_vocab_free(v);
}
END_TEST

/* ========================================================= generated data */

static int same_corpus(const dy_corpus *a, const dy_corpus *b) {
  if (a->nsent != b->nsent || a->ntok != b->ntok)
    return 0;
  if (memcmp(a->start, b->start, (a->nsent + 1) * sizeof *a->start) ||
      memcmp(a->words, b->words, a->ntok * sizeof *a->words))
    return 0;
  if ((a->tags && memcmp(a->tags, b->tags, a->ntok * sizeof *a->tags)) ||
      (a->label && memcmp(a->label, b->label, a->nsent * sizeof *a->label)))
    return 0;
  for (size_t t = 0; a->text && t < a->ntok; t++)
    if (strcmp(a->text + a->form[t], b->text + b->form[t]))
      return 0;
  return 1;
}

START_TEST(synth_deterministic) {
  char err[512] = "";
  dy_synth_opts o = dy_synth_defaults();
  o.nsent = 300;
  dy_vocab *W1 = dy_vocab_new("<unk>"), *T1 = dy_vocab_new(NULL);
  dy_vocab *W2 = dy_vocab_new("<unk>"), *T2 = dy_vocab_new(NULL);
  dy_corpus *a = dy_synth_tagging(&o, W1, T1, err, sizeof err);
  dy_corpus *b = dy_synth_tagging(&o, W2, T2, err, sizeof err);
  ck_assert_msg(a && b, "%s", err);
  ck_assert(same_corpus(a, b));
  ck_assert_uint_eq(dy_vocab_size(T1), 6);
  ck_assert_str_eq(dy_vocab_str(T1, 0), "DET");
  ck_assert_str_eq(dy_vocab_str(T1, 5), "ADV");
  for (size_t i = 0; i < a->nsent; i++) {
    ck_assert_uint_ge(dy_corpus_len(a, i), o.min_len);
    ck_assert_uint_le(dy_corpus_len(a, i), o.max_len);
  }
  /* a new sentence seed, same language: different sentences, same forms' tags */
  dy_synth_opts o2 = o;
  o2.seed = 2;
  dy_corpus *c = dy_synth_tagging(&o2, W1, T1, err, sizeof err);
  ck_assert(!same_corpus(a, c));
  /* a frozen vocabulary maps unseen forms to UNK (a dev set) */
  dy_vocab_freeze(W1);
  uint32_t before = dy_vocab_size(W1);
  o2.seed = 3;
  o2.nsent = 2000;
  dy_corpus *d = dy_synth_tagging(&o2, W1, T1, err, sizeof err);
  ck_assert_msg(d != NULL, "%s", err);
  ck_assert_uint_eq(dy_vocab_size(W1), before);
  size_t unk = 0;
  for (size_t t = 0; t < d->ntok; t++)
    unk += d->words[t] == 0;
  ck_assert_uint_gt(unk, 0);
  ck_assert_uint_lt(unk, d->ntok / 10);
  /* exact lengths, bad options */
  o2.min_len = o2.max_len = 3;
  dy_corpus *e = dy_synth_tagging(&o2, W2, T2, err, sizeof err);
  ck_assert_msg(e != NULL, "%s", err);
  ck_assert_uint_eq(e->ntok, 3 * o2.nsent);
  o2.min_len = 2;
  ck_assert_ptr_null(dy_synth_tagging(&o2, W2, T2, err, sizeof err));
  ck_assert_msg(strstr(err, "min_len"), "%s", err);
  o2 = o;
  o2.n_nv = 490;
  ck_assert_ptr_null(dy_synth_tagging(&o2, W2, T2, err, sizeof err));
  dy_corpus_free(a);
  dy_corpus_free(b);
  dy_corpus_free(c);
  dy_corpus_free(d);
  dy_corpus_free(e);
  dy_vocab_free(W1);
  dy_vocab_free(T1);
  dy_vocab_free(W2);
  dy_vocab_free(T2);
}
END_TEST

/* The ambiguity stated in dy_corpus.h: measured on 10,000 default sentences. */
START_TEST(synth_stated_ambiguity) {
  char err[512] = "";
  dy_synth_opts o = dy_synth_defaults();
  o.nsent = 10000;
  dy_vocab *W = dy_vocab_new("<unk>"), *T = dy_vocab_new(NULL);
  dy_corpus *c = dy_synth_tagging(&o, W, T, err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  uint32_t nw = dy_vocab_size(W), nt = 6, ctx = nt + 1; /* tag nt = sentence boundary */
  unsigned *cnt = calloc((size_t)nw * nt, sizeof *cnt);
  unsigned *left = calloc((size_t)nw * ctx * nt, sizeof *left);
  unsigned *both = calloc((size_t)nw * ctx * ctx * nt, sizeof *both);
  for (size_t i = 0; i < c->nsent; i++) {
    const uint32_t *w = dy_corpus_words(c, i), *t = dy_corpus_tags(c, i);
    size_t n = dy_corpus_len(c, i);
    for (size_t j = 0; j < n; j++) {
      uint32_t l = j ? t[j - 1] : nt, r = j + 1 < n ? t[j + 1] : nt;
      cnt[w[j] * nt + t[j]]++;
      left[((size_t)w[j] * ctx + l) * nt + t[j]]++;
      both[(((size_t)w[j] * ctx + l) * ctx + r) * nt + t[j]]++;
    }
  }
  size_t amb = 0, maj = 0, lmaj = 0, bmaj = 0, bconf = 0;
  for (size_t t = 0; t < c->ntok; t++) {
    int k = 0;
    for (uint32_t j = 0; j < nt; j++)
      k += cnt[c->words[t] * nt + j] > 0;
    amb += k > 1;
  }
#define MAJ(arr, groups, acc, conflicts)                            \
  for (size_t g_ = 0; g_ < (groups); g_++) {                        \
    unsigned m_ = 0, k_ = 0;                                        \
    for (uint32_t j_ = 0; j_ < nt; j_++) {                          \
      m_ = arr[g_ * nt + j_] > m_ ? arr[g_ * nt + j_] : m_;         \
      k_ += arr[g_ * nt + j_] > 0;                                  \
    }                                                               \
    acc += m_;                                                      \
    conflicts += k_ > 1;                                            \
  }
  size_t conf1 = 0, conf2 = 0; /* conflicts given the form, and form + left tag */
  MAJ(cnt, (size_t)nw, maj, conf1)
  MAJ(left, (size_t)nw * ctx, lmaj, conf2)
  MAJ(both, (size_t)nw * ctx * ctx, bmaj, bconf)
  double n = (double)c->ntok;
  printf("synth defaults, 10000 sentences: %zu tokens, ambiguous %.4f, majority %.4f, "
         "left-tag oracle %.4f, both-tags oracle %.4f\n",
         c->ntok, amb / n, maj / n, lmaj / n, bmaj / n);
  ck_assert(amb / n > 0.28 && amb / n < 0.32);       /* stated: 30% */
  ck_assert(maj / n > 0.895 && maj / n < 0.915);     /* stated: 90.5% */
  ck_assert(lmaj / n > 0.93 && lmaj / n < 0.95);     /* stated: 94.0% */
  ck_assert_uint_eq(conf1, o.n_nv + o.n_an);         /* the ambiguous forms, as stated */
  ck_assert_uint_gt(conf2, 0);                       /* the left tag does not decide them all */
  ck_assert_uint_eq(bconf, 0);                       /* (form, left, right) decides the tag */
  ck_assert_uint_eq(bmaj, c->ntok);
  free(cnt);
  free(left);
  free(both);
  dy_corpus_free(c);
  dy_vocab_free(W);
  dy_vocab_free(T);
}
END_TEST

START_TEST(longrange_plain_and_distractor) {
  char err[512] = "";
  dy_longrange_opts o = {7, 2000, 50, 4, 0};
  dy_corpus *a = dy_longrange(&o, err, sizeof err), *b = dy_longrange(&o, err, sizeof err);
  ck_assert_msg(a && b, "%s", err);
  ck_assert(same_corpus(a, b));
  ck_assert_uint_eq(dy_longrange_nsym(&o), 4);
  ck_assert_uint_eq(a->ntok, 2000 * 50);
  size_t hist[4] = {0}, lastmatch = 0;
  for (size_t i = 0; i < a->nsent; i++) {
    const uint32_t *w = dy_corpus_words(a, i);
    ck_assert_uint_eq(dy_corpus_len(a, i), 50);
    ck_assert_uint_eq(a->label[i], w[0]);
    for (size_t t = 0; t < 50; t++)
      ck_assert_uint_lt(w[t], 4);
    hist[w[0]]++;
    lastmatch += w[49] == a->label[i];
  }
  for (int k = 0; k < 4; k++)
    ck_assert(hist[k] > 400 && hist[k] < 600); /* uniform keys */
  ck_assert(lastmatch > 400 && lastmatch < 600); /* the end gives nothing away */
  o.seed = 8;
  dy_corpus *c = dy_longrange(&o, err, sizeof err);
  ck_assert(!same_corpus(a, c));
  dy_longrange_opts d = {7, 100, 20, 3, 5};
  dy_corpus *e = dy_longrange(&d, err, sizeof err);
  ck_assert_msg(e != NULL, "%s", err);
  ck_assert_uint_eq(dy_longrange_nsym(&d), 9);
  for (size_t i = 0; i < e->nsent; i++) {
    const uint32_t *w = dy_corpus_words(e, i);
    ck_assert_uint_lt(w[0], 3);
    ck_assert_uint_eq(e->label[i], w[0]);
    for (size_t t = 1; t < 19; t++)
      ck_assert(w[t] >= 3 && w[t] < 8);
    ck_assert_uint_eq(w[19], 8);
  }
  dy_longrange_opts bad = {1, 10, 1, 3, 2};
  ck_assert_ptr_null(dy_longrange(&bad, err, sizeof err));
  bad.ndistract = 0;
  bad.nsym = 1;
  ck_assert_ptr_null(dy_longrange(&bad, err, sizeof err));
  dy_corpus_free(a);
  dy_corpus_free(b);
  dy_corpus_free(c);
  dy_corpus_free(e);
}
END_TEST

int main(void) {
  Suite *s = suite_create("corpus");
  TCase *t = tcase_create("all");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, conllu_valid);
  tcase_add_loop_test(t, conllu_malformed_stop_and_skip, 0,
                      (int)(sizeof bad_cases / sizeof *bad_cases));
  tcase_add_test(t, conllu_nul_byte_and_frozen_unknowns);
  tcase_add_test(t, conllu_long_sentence);
  tcase_add_test(t, conllu_long_lines);
  tcase_add_test(t, conllu_empty_inputs);
  tcase_add_test(t, conllu_ud_english_ewt);
  tcase_add_test(t, vocab_basics_threshold_freeze);
  tcase_add_test(t, vocab_save_load_roundtrip);
  tcase_add_loop_test(t, vocab_corrupted_files, 0, (int)(sizeof bad_vocabs / sizeof *bad_vocabs));
  tcase_add_test(t, text_words_bytes_chars);
  tcase_add_test(t, text_ptb_and_shakespeare);
  tcase_add_test(t, synth_deterministic);
  tcase_add_test(t, synth_stated_ambiguity);
  tcase_add_test(t, longrange_plain_and_distractor);
  suite_add_tcase(s, t);
  return t_run(s);
}
