/* The CoNLL-U reader: word forms and UPOS/XPOS tags into a dy_corpus.
 * A sentence's tokens are collected first and go through the vocabularies
 * only when the sentence is complete and valid, so a skipped sentence leaves
 * no counts behind. Every step is linear in the bytes read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

static const char *const col_name[10] = {"ID",   "FORM", "LEMMA", "UPOS", "XPOS",
                                         "FEATS", "HEAD", "DEPREL", "DEPS", "MISC"};

typedef struct reader {
  dy_corpus *c;
  dy_vocab *words, *tags;
  const dy_conllu_opts *o;
  const char *name;
  /* the sentence being read: tokens c->start[c->nsent] .. c->ntok-1 */
  char *tagbuf;                 /* tag strings, NUL-separated */
  size_t ntagbuf, captagbuf;
  size_t *tagoff;               /* per token of the sentence */
  unsigned long long *tagline;  /* line number per token */
  size_t capsent;
  unsigned long long expect;    /* next word id */
  int bad;                      /* skipping the rest of a malformed sentence */
  char msg[512];
} reader;

/* Parses a positive decimal id without leading zeros (< 2^32); 0 if bad. */
static unsigned long long parse_id(const char *s, size_t n) {
  if (!n || n > 10 || s[0] < '1' || s[0] > '9')
    return 0;
  unsigned long long x = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    x = x * 10 + (unsigned long long)(s[i] - '0');
  }
  return x < 0xFFFFFFFFull ? x : 0;
}

static void drop_sentence(reader *r) {
  dy_corpus *c = r->c;
  size_t s = c->start[c->nsent];
  if (c->ntok > s)
    c->ntext = c->form[s];
  c->ntok = s;
  r->ntagbuf = 0;
  r->expect = 1;
}

/* Records a malformed sentence: returns -1 to stop, 0 to go on skipping. */
static int malformed(reader *r, int rest_of_sentence) {
  if (!(r->o->flags & DY_CONLLU_SKIP))
    return -1;
  r->c->nskipped++;
  if (r->o->on_skip)
    r->o->on_skip(r->o->ctx, r->msg);
  drop_sentence(r);
  r->bad = rest_of_sentence;
  return 0;
}

#define FAIL(r, rest, ...)                                   \
  do {                                                       \
    snprintf((r)->msg, sizeof (r)->msg, __VA_ARGS__);        \
    return malformed((r), (rest));                           \
  } while (0)

static size_t tok_len(const dy_corpus *c, size_t t) {
  return (t + 1 < c->ntok ? c->form[t + 1] : c->ntext) - c->form[t] - 1;
}

/* Sentence complete: ids through the vocabularies. -1 stop, -2 OOM, 0 ok. */
static int end_sentence(reader *r) {
  dy_corpus *c = r->c;
  size_t s = c->start[c->nsent];
  if (c->ntok == s) {
    drop_sentence(r);
    return 0;
  }
  size_t ns = c->ntok - s;
  /* frozen vocabularies only look up: check before counting anything */
  for (size_t k = 0; k < ns; k++) {
    size_t t = s + k;
    const char *tag = r->tagbuf + r->tagoff[k];
    if (dy_vocab_frozen(r->words) &&
        dy_vocab_lookup(r->words, c->text + c->form[t], tok_len(c, t)) == DY_VOCAB_NONE)
      FAIL(r, 0, "%s:%llu: unknown word \"%.60s\" (frozen word vocabulary without UNK)", r->name,
           r->tagline[k], c->text + c->form[t]);
    if (dy_vocab_frozen(r->tags) && dy_vocab_lookup(r->tags, tag, strlen(tag)) == DY_VOCAB_NONE)
      FAIL(r, 0, "%s:%llu: unknown tag \"%.60s\" (frozen tag vocabulary without UNK)", r->name,
           r->tagline[k], tag);
  }
  for (size_t k = 0; k < ns; k++) {
    size_t t = s + k;
    const char *tag = r->tagbuf + r->tagoff[k];
    uint32_t w = dy_vocab_add(r->words, c->text + c->form[t], tok_len(c, t));
    uint32_t g = dy_vocab_add(r->tags, tag, strlen(tag));
    if (w == DY_VOCAB_NONE || g == DY_VOCAB_NONE)
      return -2;
    c->words[t] = w;
    c->tags[t] = g;
  }
  if (dy__corpus_end_sentence(c))
    return -2;
  r->ntagbuf = 0;
  r->expect = 1;
  return 0;
}

/* One non-blank line. -1 stop, -2 OOM, 0 go on. */
static int word_line(reader *r, char *line, size_t len, unsigned long long lno) {
  dy_corpus *c = r->c;
  if (line[0] == '#')
    return 0;
  size_t cs[10], ce[10], ncol = 0, i = 0;
  for (;;) {
    char *tab = memchr(line + i, '\t', len - i);
    size_t e = tab ? (size_t)(tab - line) : len;
    if (ncol < 10) {
      cs[ncol] = i;
      ce[ncol] = e;
    }
    ncol++;
    if (!tab)
      break;
    i = e + 1;
  }
  if (ncol != 10)
    FAIL(r, 1, "%s:%llu: %zu tab-separated column%s, expected 10", r->name, lno, ncol,
         ncol == 1 ? "" : "s");
  for (int k = 0; k < 10; k++)
    if (ce[k] == cs[k])
      FAIL(r, 1, "%s:%llu: column %d (%s) is empty", r->name, lno, k + 1, col_name[k]);
  const char *id = line;
  size_t idl = ce[0];
  const char *dash = memchr(id, '-', idl), *dot = memchr(id, '.', idl);
  if (dash) {
    unsigned long long a = parse_id(id, (size_t)(dash - id));
    unsigned long long b = parse_id(dash + 1, (size_t)(id + idl - dash - 1));
    if (!a || !b || b <= a)
      FAIL(r, 1, "%s:%llu: bad multiword token range \"%.*s\" (expected N-M with 1 <= N < M)",
           r->name, lno, (int)(idl > 40 ? 40 : idl), id);
    if (a != r->expect)
      FAIL(r, 1, "%s:%llu: multiword token range %llu-%llu out of order: the next word id is %llu",
           r->name, lno, a, b, r->expect);
    return 0;
  }
  if (dot) {
    int zero = dot - id == 1 && id[0] == '0'; /* "0.M": before the first word */
    unsigned long long a = zero ? 0 : parse_id(id, (size_t)(dot - id));
    unsigned long long b = parse_id(dot + 1, (size_t)(id + idl - dot - 1));
    if ((!a && !zero) || !b)
      FAIL(r, 1, "%s:%llu: bad empty node id \"%.*s\" (expected N.M with N >= 0, M >= 1)", r->name,
           lno, (int)(idl > 40 ? 40 : idl), id);
    if (a != r->expect - 1)
      FAIL(r, 1, "%s:%llu: empty node %llu.%llu out of order: it must follow word %llu", r->name,
           lno, a, b, r->expect - 1);
    return 0;
  }
  unsigned long long w = parse_id(id, idl);
  if (!w)
    FAIL(r, 1, "%s:%llu: bad word id \"%.*s\" (expected 1, 2, ... without leading zeros)", r->name,
         lno, (int)(idl > 40 ? 40 : idl), id);
  if (w != r->expect)
    FAIL(r, 1, "%s:%llu: word id %llu out of order: expected %llu", r->name, lno, w, r->expect);
  int tc = (r->o->flags & DY_CONLLU_XPOS) ? 4 : 3;
  size_t k = c->ntok - c->start[c->nsent];
  if (k + 1 > r->capsent) {
    size_t nc = r->capsent ? r->capsent * 2 : 256;
    size_t *to = realloc(r->tagoff, nc * sizeof *to);
    if (!to)
      return -2;
    r->tagoff = to;
    unsigned long long *tl = realloc(r->tagline, nc * sizeof *tl);
    if (!tl)
      return -2;
    r->tagline = tl;
    r->capsent = nc;
  }
  size_t tl = ce[tc] - cs[tc];
  if (r->ntagbuf + tl + 1 > r->captagbuf) {
    size_t nc = r->captagbuf ? r->captagbuf : 1024;
    while (nc < r->ntagbuf + tl + 1)
      nc *= 2;
    char *tb = realloc(r->tagbuf, nc);
    if (!tb)
      return -2;
    r->tagbuf = tb;
    r->captagbuf = nc;
  }
  memcpy(r->tagbuf + r->ntagbuf, line + cs[tc], tl);
  r->tagbuf[r->ntagbuf + tl] = 0;
  r->tagoff[k] = r->ntagbuf;
  r->tagline[k] = lno;
  r->ntagbuf += tl + 1;
  if (dy__corpus_push(c, 0, 0, line + cs[1], ce[1] - cs[1]))
    return -2;
  r->expect++;
  return 0;
}

dy_corpus *dy_conllu_read_file(FILE *f, const char *name, dy_vocab *words, dy_vocab *tags,
                               const dy_conllu_opts *opts, char *err, size_t n) {
  static const dy_conllu_opts defaults = {0, NULL, NULL};
  reader r;
  memset(&r, 0, sizeof r);
  r.o = opts ? opts : &defaults;
  r.name = name ? name : "<stream>";
  r.words = words;
  r.tags = tags;
  r.expect = 1;
  if (!f || !words || !tags) {
    dy__corpus_err(err, n, "%s: NULL %s", r.name, !f ? "stream" : "vocabulary");
    return NULL;
  }
  if (r.o->flags & ~(DY_CONLLU_XPOS | DY_CONLLU_SKIP)) {
    dy__corpus_err(err, n, "%s: unknown flags 0x%x", r.name, r.o->flags);
    return NULL;
  }
  char *line = NULL;
  size_t cap = 0;
  unsigned long long lno = 0;
  int rc = 0;
  r.c = dy__corpus_new(1, 1);
  if (!r.c)
    goto oom;
  for (;;) {
    int nl;
    long long len = dy__read_line(f, &line, &cap, &nl);
    if (len == -2) {
      dy__corpus_err(err, n, "%s:%llu: read error or out of memory: %s", r.name, lno + 1,
                     strerror(errno));
      goto fail;
    }
    if (len == -1)
      break;
    lno++;
    size_t L = (size_t)len;
    if (!L) {
      rc = r.bad ? 0 : end_sentence(&r);
      r.bad = 0;
    } else if (r.bad) {
      continue;
    } else {
      const char *z = memchr(line, 0, L);
      size_t u = dy__utf8_valid((const unsigned char *)line, L);
      if (z) {
        snprintf(r.msg, sizeof r.msg, "%s:%llu: NUL byte at byte %zu", r.name, lno,
                 (size_t)(z - line) + 1);
        rc = malformed(&r, 1);
      } else if (u < L) {
        snprintf(r.msg, sizeof r.msg, "%s:%llu: invalid UTF-8 at byte %zu", r.name, lno, u + 1);
        rc = malformed(&r, 1);
      } else {
        rc = word_line(&r, line, L, lno);
      }
    }
    if (rc == -1) {
      dy__corpus_err(err, n, "%s", r.msg);
      goto fail;
    }
    if (rc == -2)
      goto oom;
  }
  rc = r.bad ? 0 : end_sentence(&r);
  if (rc == -1) {
    dy__corpus_err(err, n, "%s", r.msg);
    goto fail;
  }
  if (rc == -2)
    goto oom;
  free(line);
  free(r.tagbuf);
  free(r.tagoff);
  free(r.tagline);
  return r.c;
oom:
  dy__corpus_err(err, n, "%s:%llu: out of memory", r.name, lno);
fail:
  free(line);
  free(r.tagbuf);
  free(r.tagoff);
  free(r.tagline);
  dy_corpus_free(r.c);
  return NULL;
}

dy_corpus *dy_conllu_read_path(const char *path, dy_vocab *words, dy_vocab *tags,
                               const dy_conllu_opts *opts, char *err, size_t n) {
  if (!path) {
    dy__corpus_err(err, n, "dy_conllu_read_path: NULL path");
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    dy__corpus_err(err, n, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  dy_corpus *c = dy_conllu_read_file(f, path, words, tags, opts, err, n);
  fclose(f);
  return c;
}
