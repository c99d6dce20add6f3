/* Vocabularies: an open-addressing hash map from byte strings to dense ids,
 * counts, UNK, threshold, freezing, and a versioned text save format. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

/* ============================================================== messages */

void dy__corpus_err(char *err, size_t n, const char *fmt, ...) {
  if (!err || !n)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, n, fmt, ap);
  va_end(ap);
}

/* ================================================================== map */

typedef struct vocab_entry {
  size_t off, len; /* string at v->chars + off, NUL-terminated */
  uint64_t count;
  uint64_t hash;
} vocab_entry;

struct dy_vocab {
  vocab_entry *ent;
  uint32_t size, cap;
  char *chars;
  size_t nchars, capchars;
  uint32_t *table; /* ids, DY_VOCAB_NONE when empty; size tcap (a power of 2) */
  size_t tcap;
  int unk, frozen;
};

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a, then a final mix */
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

static int table_rebuild(dy_vocab *v, size_t tcap) {
  uint32_t *t = malloc(tcap * sizeof *t);
  if (!t)
    return -1;
  for (size_t i = 0; i < tcap; i++)
    t[i] = DY_VOCAB_NONE;
  for (uint32_t id = 0; id < v->size; id++) {
    size_t j = v->ent[id].hash & (tcap - 1);
    while (t[j] != DY_VOCAB_NONE)
      j = (j + 1) & (tcap - 1);
    t[j] = id;
  }
  free(v->table);
  v->table = t;
  v->tcap = tcap;
  return 0;
}

/* The id of s, or DY_VOCAB_NONE; *slot gets the probe end. */
static uint32_t find(const dy_vocab *v, const char *s, size_t n, uint64_t h, size_t *slot) {
  size_t j = h & (v->tcap - 1);
  for (;;) {
    uint32_t id = v->table[j];
    if (id == DY_VOCAB_NONE)
      break;
    const vocab_entry *e = &v->ent[id];
    if (e->hash == h && e->len == n && memcmp(v->chars + e->off, s, n) == 0) {
      if (slot)
        *slot = j;
      return id;
    }
    j = (j + 1) & (v->tcap - 1);
  }
  if (slot)
    *slot = j;
  return DY_VOCAB_NONE;
}

/* Appends a new entry (s must not be present). Its id, or NONE on OOM. */
static uint32_t insert(dy_vocab *v, const char *s, size_t n, uint64_t h, uint64_t count) {
  if (v->size == DY_VOCAB_NONE - 1)
    return DY_VOCAB_NONE;
  if ((size_t)(v->size + 1) * 2 > v->tcap && table_rebuild(v, v->tcap * 2))
    return DY_VOCAB_NONE;
  if (v->size == v->cap) {
    uint32_t nc = v->cap ? v->cap * 2 : 64;
    vocab_entry *e = realloc(v->ent, (size_t)nc * sizeof *e);
    if (!e)
      return DY_VOCAB_NONE;
    v->ent = e;
    v->cap = nc;
  }
  if (v->nchars + n + 1 > v->capchars) {
    size_t nc = v->capchars ? v->capchars : 1024;
    while (nc < v->nchars + n + 1)
      nc *= 2;
    char *c = realloc(v->chars, nc);
    if (!c)
      return DY_VOCAB_NONE;
    v->chars = c;
    v->capchars = nc;
  }
  memcpy(v->chars + v->nchars, s, n);
  v->chars[v->nchars + n] = 0;
  uint32_t id = v->size++;
  v->ent[id] = (vocab_entry){v->nchars, n, count, h};
  v->nchars += n + 1;
  size_t slot;
  find(v, s, n, h, &slot); /* the empty slot ending the probe */
  v->table[slot] = id;
  return id;
}

dy_vocab *dy_vocab_new(const char *unk) {
  dy_vocab *v = calloc(1, sizeof *v);
  if (!v || table_rebuild(v, 64)) {
    free(v);
    return NULL;
  }
  if (unk) {
    size_t n = strlen(unk);
    if (!n || insert(v, unk, n, hash_bytes(unk, n), 0) != 0) {
      dy_vocab_free(v);
      return NULL;
    }
    v->unk = 1;
  }
  return v;
}

void dy_vocab_free(dy_vocab *v) {
  if (!v)
    return;
  free(v->ent);
  free(v->chars);
  free(v->table);
  free(v);
}

uint32_t dy_vocab_lookup(const dy_vocab *v, const char *s, size_t n) {
  if (!v || !s || !n)
    return v && v->unk ? 0 : DY_VOCAB_NONE;
  uint32_t id = find(v, s, n, hash_bytes(s, n), NULL);
  if (id == DY_VOCAB_NONE && v->unk)
    return 0;
  return id;
}

uint32_t dy_vocab_id(const dy_vocab *v, const char *s) { return dy_vocab_lookup(v, s, s ? strlen(s) : 0); }

uint32_t dy_vocab_add(dy_vocab *v, const char *s, size_t n) {
  if (!v || !s || !n)
    return DY_VOCAB_NONE;
  if (v->frozen)
    return dy_vocab_lookup(v, s, n);
  uint64_t h = hash_bytes(s, n);
  uint32_t id = find(v, s, n, h, NULL);
  if (id == DY_VOCAB_NONE)
    return insert(v, s, n, h, 1);
  v->ent[id].count++;
  return id;
}

uint32_t dy__vocab_intern(dy_vocab *v, const char *s) {
  size_t n = strlen(s);
  uint64_t h = hash_bytes(s, n);
  uint32_t id = find(v, s, n, h, NULL);
  return id != DY_VOCAB_NONE ? id : insert(v, s, n, h, 0);
}

const char *dy_vocab_str(const dy_vocab *v, uint32_t id) {
  return v && id < v->size ? v->chars + v->ent[id].off : NULL;
}
size_t dy_vocab_strlen(const dy_vocab *v, uint32_t id) { return v && id < v->size ? v->ent[id].len : 0; }
uint32_t dy_vocab_size(const dy_vocab *v) { return v ? v->size : 0; }
uint64_t dy_vocab_count(const dy_vocab *v, uint32_t id) { return v && id < v->size ? v->ent[id].count : 0; }
int dy_vocab_has_unk(const dy_vocab *v) { return v && v->unk; }
void dy_vocab_freeze(dy_vocab *v) {
  if (v)
    v->frozen = 1;
}
int dy_vocab_frozen(const dy_vocab *v) { return v && v->frozen; }

dy_status dy_vocab_threshold(dy_vocab *v, uint64_t k, dy_corpus *c) {
  if (!v || !v->unk)
    return DY_EARG;
  uint32_t *map = malloc((size_t)v->size * sizeof *map);
  dy_vocab *nv = dy_vocab_new(v->chars + v->ent[0].off);
  if (!map || !nv) {
    free(map);
    dy_vocab_free(nv);
    return DY_ENOMEM;
  }
  map[0] = 0;
  nv->ent[0].count = v->ent[0].count;
  for (uint32_t id = 1; id < v->size; id++) {
    const vocab_entry *e = &v->ent[id];
    if (e->count <= k) {
      map[id] = 0;
      nv->ent[0].count += e->count;
    } else if ((map[id] = insert(nv, v->chars + e->off, e->len, e->hash, e->count)) == DY_VOCAB_NONE) {
      free(map);
      dy_vocab_free(nv);
      return DY_ENOMEM;
    }
  }
  if (c)
    for (size_t t = 0; t < c->ntok; t++)
      if (c->words[t] < v->size)
        c->words[t] = map[c->words[t]];
  free(map);
  nv->frozen = 1;
  /* move nv's contents into v so the caller's pointer stays valid */
  free(v->ent);
  free(v->chars);
  free(v->table);
  *v = *nv;
  free(nv);
  return DY_OK;
}

/* ============================================================= save/load */

#define VOCAB_MAGIC "dync-vocab"
#define VOCAB_VERSION 1

dy_status dy_vocab_save_file(const dy_vocab *v, FILE *f, char *err, size_t n) {
  if (!v || !f) {
    dy__corpus_err(err, n, "dy_vocab_save: NULL vocabulary or stream");
    return DY_EARG;
  }
  fprintf(f, "%s %d\nsize %u unk %d frozen %d\n", VOCAB_MAGIC, VOCAB_VERSION, (unsigned)v->size,
          v->unk, v->frozen);
  for (uint32_t id = 0; id < v->size; id++) {
    const unsigned char *s = (const unsigned char *)v->chars + v->ent[id].off;
    for (size_t i = 0; i < v->ent[id].len; i++) {
      unsigned ch = s[i];
      if (ch == '\\')
        fputs("\\\\", f);
      else if (ch == '\t')
        fputs("\\t", f);
      else if (ch == '\n')
        fputs("\\n", f);
      else if (ch == '\r')
        fputs("\\r", f);
      else if (ch < 0x20 || ch == 0x7f)
        fprintf(f, "\\x%02x", ch);
      else
        fputc((int)ch, f);
    }
    fprintf(f, "\t%llu\n", (unsigned long long)v->ent[id].count);
  }
  if (fflush(f) || ferror(f)) {
    dy__corpus_err(err, n, "dy_vocab_save: write error: %s", strerror(errno));
    return DY_EIO;
  }
  return DY_OK;
}

dy_status dy_vocab_save(const dy_vocab *v, const char *path, char *err, size_t n) {
  if (!path) {
    dy__corpus_err(err, n, "dy_vocab_save: NULL path");
    return DY_EARG;
  }
  FILE *f = fopen(path, "wb");
  if (!f) {
    dy__corpus_err(err, n, "%s: cannot open for writing: %s", path, strerror(errno));
    return DY_EIO;
  }
  dy_status s = dy_vocab_save_file(v, f, err, n);
  if (fclose(f) && s == DY_OK) {
    dy__corpus_err(err, n, "%s: write error: %s", path, strerror(errno));
    s = DY_EIO;
  }
  return s;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Parses a decimal uint64 filling s[0..n) exactly; 0 on success. */
static int parse_u64(const char *s, size_t n, uint64_t *out) {
  uint64_t x = 0;
  if (!n || n > 20)
    return -1;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    uint64_t d = (uint64_t)(s[i] - '0');
    if (x > (UINT64_MAX - d) / 10)
      return -1;
    x = x * 10 + d;
  }
  *out = x;
  return 0;
}

/* Parses "size N unk U frozen F" exactly; 0 on success. */
static int parse_sizes(const char *s, size_t n, unsigned long long *size, int *unk, int *frozen) {
  static const char *keys[3] = {"size ", " unk ", " frozen "};
  uint64_t val[3];
  size_t i = 0;
  for (int k = 0; k < 3; k++) {
    size_t kl = strlen(keys[k]), j;
    if (n - i < kl || memcmp(s + i, keys[k], kl) != 0)
      return -1;
    i += kl;
    for (j = i; j < n && s[j] >= '0' && s[j] <= '9'; j++)
      ;
    if (parse_u64(s + i, j - i, &val[k]))
      return -1;
    i = j;
  }
  if (i != n || val[0] > DY_VOCAB_NONE - 1 || val[1] > 1 || val[2] > 1 || (val[1] && !val[0]))
    return -1;
  *size = val[0];
  *unk = (int)val[1];
  *frozen = (int)val[2];
  return 0;
}

dy_vocab *dy_vocab_load_file(FILE *f, const char *name, char *err, size_t n) {
  if (!name)
    name = "<stream>";
  if (!f) {
    dy__corpus_err(err, n, "%s: NULL stream", name);
    return NULL;
  }
  char *line = NULL, *dec = NULL;
  size_t cap = 0, deccap = 0;
  int nl;
  dy_vocab *v = NULL;
  long long len;
  unsigned long long size = 0;
  int unk = 0, frozen = 0;
  /* header */
  len = dy__read_line(f, &line, &cap, &nl);
  if (len < 0) {
    dy__corpus_err(err, n, "%s:1: empty file, expected header \"%s %d\"", name, VOCAB_MAGIC,
                   VOCAB_VERSION);
    goto fail;
  }
  {
    size_t ml = strlen(VOCAB_MAGIC);
    uint64_t ver;
    if ((size_t)len < ml + 2 || memcmp(line, VOCAB_MAGIC " ", ml + 1) != 0) {
      dy__corpus_err(err, n, "%s:1: not a dync vocabulary (expected header \"%s %d\")", name,
                     VOCAB_MAGIC, VOCAB_VERSION);
      goto fail;
    }
    if (parse_u64(line + ml + 1, (size_t)len - ml - 1, &ver) || ver != VOCAB_VERSION) {
      dy__corpus_err(err, n, "%s:1: unsupported vocabulary version \"%.20s\" (this build reads %d)",
                     name, line + ml + 1, VOCAB_VERSION);
      goto fail;
    }
  }
  len = dy__read_line(f, &line, &cap, &nl);
  if (len < 0 || parse_sizes(line, (size_t)len, &size, &unk, &frozen)) {
    dy__corpus_err(err, n, "%s:2: expected \"size N unk 0|1 frozen 0|1\" (N >= 1 with unk)", name);
    goto fail;
  }
  v = calloc(1, sizeof *v);
  if (!v || table_rebuild(v, 64)) {
    dy__corpus_err(err, n, "%s: out of memory", name);
    goto fail;
  }
  for (unsigned long long i = 0; i < size; i++) {
    unsigned long long lno = i + 3;
    len = dy__read_line(f, &line, &cap, &nl);
    if (len == -2) {
      dy__corpus_err(err, n, "%s:%llu: read error or out of memory", name, lno);
      goto fail;
    }
    if (len < 0) {
      dy__corpus_err(err, n, "%s:%llu: file ends after %llu of %llu entries", name, lno, i, size);
      goto fail;
    }
    char *tab = memchr(line, '\t', (size_t)len);
    if (!tab) {
      dy__corpus_err(err, n, "%s:%llu: expected \"string<TAB>count\"", name, lno);
      goto fail;
    }
    uint64_t count;
    if (parse_u64(tab + 1, (size_t)(line + len - tab - 1), &count)) {
      dy__corpus_err(err, n, "%s:%llu: bad count \"%.30s\"", name, lno, tab + 1);
      goto fail;
    }
    size_t sl = (size_t)(tab - line), dl = 0;
    if (sl + 1 > deccap) {
      char *d = realloc(dec, sl + 1);
      if (!d) {
        dy__corpus_err(err, n, "%s: out of memory", name);
        goto fail;
      }
      dec = d;
      deccap = sl + 1;
    }
    for (size_t j = 0; j < sl; j++) {
      unsigned char ch = (unsigned char)line[j];
      if (ch == '\\') {
        char e = j + 1 < sl ? line[j + 1] : 0;
        if (e == '\\' || e == 't' || e == 'n' || e == 'r') {
          dec[dl++] = e == '\\' ? '\\' : e == 't' ? '\t' : e == 'n' ? '\n' : '\r';
          j++;
        } else if (e == 'x' && j + 3 < sl && hexval(line[j + 2]) >= 0 && hexval(line[j + 3]) >= 0) {
          dec[dl++] = (char)(hexval(line[j + 2]) * 16 + hexval(line[j + 3]));
          j += 3;
        } else {
          dy__corpus_err(err, n, "%s:%llu: bad escape at byte %zu of the string", name, lno, j + 1);
          goto fail;
        }
      } else if (ch < 0x20 || ch == 0x7f) {
        dy__corpus_err(err, n, "%s:%llu: unescaped control byte 0x%02x at byte %zu", name, lno, ch,
                       j + 1);
        goto fail;
      } else {
        dec[dl++] = (char)ch;
      }
    }
    if (!dl) {
      dy__corpus_err(err, n, "%s:%llu: empty string", name, lno);
      goto fail;
    }
    uint64_t h = hash_bytes(dec, dl);
    if (find(v, dec, dl, h, NULL) != DY_VOCAB_NONE) {
      dy__corpus_err(err, n, "%s:%llu: duplicate string \"%.*s\"", name, lno,
                     (int)(dl > 40 ? 40 : dl), dec);
      goto fail;
    }
    if (insert(v, dec, dl, h, count) == DY_VOCAB_NONE) {
      dy__corpus_err(err, n, "%s: out of memory", name);
      goto fail;
    }
  }
  len = dy__read_line(f, &line, &cap, &nl);
  if (len != -1) {
    dy__corpus_err(err, n, "%s:%llu: extra content after %llu entries", name, size + 3, size);
    goto fail;
  }
  v->unk = unk;
  v->frozen = frozen;
  free(line);
  free(dec);
  return v;
fail:
  free(line);
  free(dec);
  dy_vocab_free(v);
  return NULL;
}

dy_vocab *dy_vocab_load(const char *path, char *err, size_t n) {
  if (!path) {
    dy__corpus_err(err, n, "dy_vocab_load: NULL path");
    return NULL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    dy__corpus_err(err, n, "%s: cannot open: %s", path, strerror(errno));
    return NULL;
  }
  dy_vocab *v = dy_vocab_load_file(f, path, err, n);
  fclose(f);
  return v;
}
