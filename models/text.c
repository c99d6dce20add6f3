/* Corpus building blocks (growable flat arrays, UTF-8 checks, a line reader)
 * and the plain-text reader for language models. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

/* ================================================================ corpus */

dy_corpus *dy__corpus_new(int with_tags, int keep_forms) {
  dy_corpus *c = calloc(1, sizeof *c);
  if (!c)
    return NULL;
  c->cap_sent = 16;
  c->cap_tok = 256;
  c->start = malloc((c->cap_sent + 1) * sizeof *c->start);
  c->words = malloc(c->cap_tok * sizeof *c->words);
  if (with_tags)
    c->tags = malloc(c->cap_tok * sizeof *c->tags);
  if (keep_forms) {
    c->cap_text = 4096;
    c->text = malloc(c->cap_text);
    c->form = malloc(c->cap_tok * sizeof *c->form);
  }
  if (!c->start || !c->words || (with_tags && !c->tags) ||
      (keep_forms && (!c->text || !c->form))) {
    dy_corpus_free(c);
    return NULL;
  }
  c->start[0] = 0;
  return c;
}

void dy_corpus_free(dy_corpus *c) {
  if (!c)
    return;
  free(c->start);
  free(c->words);
  free(c->tags);
  free(c->label);
  free(c->text);
  free(c->form);
  free(c);
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t nc = *cap ? *cap : 16;
  while (nc < need) {
    if (nc > SIZE_MAX / 2 / elem)
      return -1;
    nc *= 2;
  }
  void *q = realloc(*p, nc * elem);
  if (!q)
    return -1;
  *p = q;
  *cap = nc;
  return 0;
}

int dy__corpus_push(dy_corpus *c, uint32_t word, uint32_t tag, const char *form, size_t flen) {
  if (c->ntok + 1 > c->cap_tok) {
    size_t cap = c->cap_tok, cap2 = c->cap_tok, cap3 = c->cap_tok;
    if (grow((void **)&c->words, &cap, c->ntok + 1, sizeof *c->words))
      return -1;
    if (c->tags && grow((void **)&c->tags, &cap2, c->ntok + 1, sizeof *c->tags))
      return -1;
    if (c->form && grow((void **)&c->form, &cap3, c->ntok + 1, sizeof *c->form))
      return -1;
    /* all three arrays now hold at least cap elements (same doubling rule) */
    c->cap_tok = cap;
  }
  c->words[c->ntok] = word;
  if (c->tags)
    c->tags[c->ntok] = tag;
  if (c->text) {
    size_t used = c->ntext;
    if (flen > SIZE_MAX - used - 1 || grow((void **)&c->text, &c->cap_text, used + flen + 1, 1))
      return -1;
    memcpy(c->text + used, form, flen);
    c->text[used + flen] = 0;
    c->form[c->ntok] = used;
    c->ntext = used + flen + 1;
  }
  c->ntok++;
  return 0;
}

int dy__corpus_end_sentence(dy_corpus *c) {
  size_t cap = c->cap_sent + 1;
  if (grow((void **)&c->start, &cap, c->nsent + 2, sizeof *c->start))
    return -1;
  c->cap_sent = cap - 1;
  c->start[++c->nsent] = c->ntok;
  return 0;
}

/* ================================================================= UTF-8 */

size_t dy__utf8_char(const unsigned char *s, size_t n) {
  if (!n)
    return 0;
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF)
    len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0)
      lo = 0xA0; /* no overlongs */
    if (c == 0xED)
      hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F; /* <= U+10FFFF */
  } else
    return 0;
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xBF)
      return 0;
  return len;
}

size_t dy__utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t l = dy__utf8_char(s + i, n - i);
    if (!l)
      return i;
    i += l;
  }
  return n;
}

/* ================================================================= lines */

long long dy__read_line(FILE *f, char **buf, size_t *cap, int *had_nl) {
  errno = 0;
  ssize_t n = getline(buf, cap, f);
  if (n < 0)
    return ferror(f) || errno == ENOMEM ? -2 : -1;
  *had_nl = n > 0 && (*buf)[n - 1] == '\n';
  if (*had_nl)
    n--;
  if (n > 0 && (*buf)[n - 1] == '\r')
    n--;
  (*buf)[n] = 0;
  return (long long)n;
}

/* ============================================================ text reader */

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

dy_corpus *dy_text_read_file(FILE *f, const char *name, dy_vocab *v, const dy_text_opts *opts,
                             char *err, size_t n) {
  static const dy_text_opts defaults = {DY_TEXT_WORDS, NULL, 0};
  const dy_text_opts *o = opts ? opts : &defaults;
  if (!name)
    name = "<stream>";
  if (!f) {
    dy__corpus_err(err, n, "%s: NULL stream", name);
    return NULL;
  }
  if (o->unit != DY_TEXT_WORDS && o->unit != DY_TEXT_BYTES && o->unit != DY_TEXT_CHARS) {
    dy__corpus_err(err, n, "%s: unknown text unit %d", name, (int)o->unit);
    return NULL;
  }
  if (!v && o->unit != DY_TEXT_BYTES) {
    dy__corpus_err(err, n, "%s: a vocabulary is needed for words and characters", name);
    return NULL;
  }
  dy_corpus *c = dy__corpus_new(0, o->unit == DY_TEXT_WORDS);
  char *line = NULL;
  size_t cap = 0;
  unsigned long long lno = 0;
  if (!c)
    goto oom;

  if (o->unit == DY_TEXT_WORDS) {
    size_t eoslen = o->eos ? strlen(o->eos) : 0;
    uint32_t eos_id = DY_VOCAB_NONE;
    if (o->eos && !eoslen) {
      dy__corpus_err(err, n, "%s: empty eos string", name);
      goto fail;
    }
    for (;;) {
      int nl;
      long long len = dy__read_line(f, &line, &cap, &nl);
      if (len == -1)
        break;
      if (len == -2)
        goto ioerr;
      lno++;
      size_t L = (size_t)len, bad = dy__utf8_valid((const unsigned char *)line, L);
      if (bad < L) {
        dy__corpus_err(err, n, "%s:%llu: invalid UTF-8 at byte %zu", name, lno, bad + 1);
        goto fail;
      }
      if (memchr(line, 0, L)) {
        dy__corpus_err(err, n, "%s:%llu: NUL byte at byte %zu", name, lno,
                       (size_t)((char *)memchr(line, 0, L) - line) + 1);
        goto fail;
      }
      size_t i = 0, nw = 0;
      for (;;) {
        while (i < L && is_space(line[i]))
          i++;
        if (i == L)
          break;
        size_t s = i;
        while (i < L && !is_space(line[i]))
          i++;
        uint32_t id = dy_vocab_add(v, line + s, i - s);
        if (id == DY_VOCAB_NONE) {
          if (!dy_vocab_frozen(v))
            goto oom;
          dy__corpus_err(err, n, "%s:%llu: unknown word \"%.*s\" (frozen vocabulary without UNK)",
                         name, lno, (int)(i - s > 60 ? 60 : i - s), line + s);
          goto fail;
        }
        if (dy__corpus_push(c, id, 0, line + s, i - s))
          goto oom;
        nw++;
      }
      if (!nw && !o->keep_empty)
        continue;
      if (o->eos) {
        eos_id = dy_vocab_add(v, o->eos, eoslen);
        if (eos_id == DY_VOCAB_NONE) {
          if (!dy_vocab_frozen(v))
            goto oom;
          dy__corpus_err(err, n, "%s:%llu: eos \"%s\" not in the frozen vocabulary", name, lno,
                         o->eos);
          goto fail;
        }
        if (dy__corpus_push(c, eos_id, 0, o->eos, eoslen))
          goto oom;
      }
      if (dy__corpus_end_sentence(c))
        goto oom;
    }
  } else {
    /* one sequence over the whole stream, read in blocks; a UTF-8 character
     * may straddle two blocks, so up to 3 bytes are carried over */
    unsigned char block[65536 + 4];
    size_t have = 0, col = 0;
    unsigned long long line_no = 1;
    int eof = 0;
    while (!eof || have) {
      if (!eof) {
        size_t got = fread(block + have, 1, 65536, f);
        if (got < 65536) {
          if (ferror(f))
            goto ioerr;
          eof = 1;
        }
        have += got;
      }
      size_t i = 0;
      while (i < have) {
        size_t l = 1;
        if (o->unit == DY_TEXT_CHARS) {
          l = dy__utf8_char(block + i, have - i);
          if (!l) {
            /* maybe incomplete at the block end: wait for more bytes */
            if (!eof && have - i < 4)
              break;
            dy__corpus_err(err, n, "%s:%llu: invalid UTF-8 at byte %zu of the line", name, line_no,
                           col + 1);
            goto fail;
          }
        }
        uint32_t id;
        if (v) {
          id = dy_vocab_add(v, (const char *)block + i, l);
          if (id == DY_VOCAB_NONE) {
            if (!dy_vocab_frozen(v))
              goto oom;
            dy__corpus_err(err, n, "%s:%llu: unit at byte %zu not in the frozen vocabulary", name,
                           line_no, col + 1);
            goto fail;
          }
        } else {
          id = block[i];
        }
        if (dy__corpus_push(c, id, 0, NULL, 0))
          goto oom;
        if (block[i] == '\n') {
          line_no++;
          col = 0;
        } else {
          col += l;
        }
        i += l;
      }
      memmove(block, block + i, have - i);
      have -= i;
      if (eof && have) {
        dy__corpus_err(err, n, "%s:%llu: truncated UTF-8 at the end", name, line_no);
        goto fail;
      }
    }
    if (c->ntok && dy__corpus_end_sentence(c))
      goto oom;
  }
  free(line);
  return c;
ioerr:
  dy__corpus_err(err, n, "%s:%llu: read error: %s", name, lno + 1, strerror(errno));
  goto fail;
oom:
  dy__corpus_err(err, n, "%s:%llu: out of memory", name, lno);
fail:
  free(line);
  dy_corpus_free(c);
  return NULL;
}

dy_corpus *dy_text_read_path(const char *path, dy_vocab *v, const dy_text_opts *opts, char *err,
                             size_t n) {
  if (!path) {
    dy__corpus_err(err, n, "dy_text_read_path: NULL path");
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    dy__corpus_err(err, n, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  dy_corpus *c = dy_text_read_file(f, path, v, opts, err, n);
  fclose(f);
  return c;
}
