/* Save and load: a versioned, checksummed binary format, written atomically
 * and validated completely before anything is changed.
 *
 * Format (version 1). Every integer is little-endian; scalars are IEEE 754
 * binary32 or binary64 (the header says which), little-endian; f64 fields
 * are binary64. Offsets are from the start of the file.
 *
 *   header, 48 bytes
 *     0   u8[8] magic "DYNCMODL"
 *     8   u32   format version (1)
 *     12  u32   endianness marker 0x01020304 (bytes 04 03 02 01)
 *     16  u32   scalar size S in bytes (4 or 8)
 *     20  u32   flags: bit 0 = a trainer section follows the header
 *     24  u32   number of parameter records N
 *     28  u32   reserved (0)
 *     32  u64   file size in bytes, checksum included
 *     40  u64   the model's initialiser RNG position
 *   trainer section, 120 bytes, when flags bit 0:
 *     0   u8[4] "TRNR"
 *     4   u32   kind (0 SGD, 1 momentum, 2 Adagrad, 3 RMSProp, 4 Adam)
 *     8   u32   K: per-scalar state arrays stored in each record (0 when
 *               the trainer had no state yet, else 1, or 2/3 for Adam/AMSGrad)
 *     12  u32   flags: bit 0 sparse lookup updates, bit 1 AMSGrad
 *     16  u64   updates applied
 *     24  u32   epoch       28 u32 schedule (0 const, 1 inv, 2 step)
 *     32  u32   schedule step   36 u32 reserved (0)
 *     40  f64[10] lr0, lr, momentum, beta1, beta2, eps, rho, clip, weight decay, decay
 *   N parameter records, in the model's storage order:
 *     0   u8[4] "PARM"
 *     4   u8    kind (0 dense, 1 lookup)
 *     5   u8    number of dims nd (1..4)
 *     6   u8    frozen (0/1)
 *     7   u8    reserved (0)
 *     8   u16   name length L (1..1024), then L bytes of name (no NUL)
 *     ..  u32[nd] dims (of the parameter; of one row for a lookup)
 *     ..  u32   rows (1 for a dense parameter)
 *     ..  u64   C = rows * product of dims (scalars)
 *     ..  C scalars: the values
 *     ..  K arrays of C scalars: trainer state (momentum v / Adagrad G /
 *         RMSProp r / Adam m, v, vmax), when the trainer section says K > 0
 *     ..  Adam with K > 0 only: u64 update counts, 1 for a dense parameter,
 *         one per row for a lookup
 *   trailer: u32 CRC-32 (IEEE, as zlib's crc32()) of every byte before it.
 *
 * A model of P scalars takes 52 (+120) bytes plus per parameter 24 + L +
 * 4 nd bytes plus S*P: ~4 bytes per float. The CRC is our own slicing-by-8
 * (no dependency; ~2-3 GB/s, see the report in the branch's notes); files are
 * readable by any CRC-32 tool.
 *
 * Saving writes path.tmp.XXXXXX in the same directory, fflush + fsync, then
 * rename()s it over path (atomic on POSIX) and fsyncs the directory; any
 * failure (disk full, read-only directory) removes the temporary file,
 * leaves an old file at path intact, and returns DY_EIO with the reason.
 *
 * Loading reads the whole file, checks magic, version, marker, size, CRC,
 * then parses every record with bounds checks (duplicate names are an
 * error), then matches the model (every parameter of the model, or of those
 * starting with the prefix, must be in the file with the same kind and dims;
 * records the model does not ask for are ignored), and allocates trainer
 * state if needed, all before anything is changed. Only then are values (and
 * trainer state) copied; the gradients of loaded parameters are cleared.
 * Scalars of the other precision are converted. Errors name the parameter
 * and the byte offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_internal.h"

#define FMT_VERSION 1u
#define HDR_SIZE 48u
#define TRN_SIZE 120u
#define ENDIAN_MARK 0x01020304u
#define F_TRAINER 1u
#define TF_SPARSE 1u
#define TF_AMSGRAD 2u

/* ==================================================================== CRC */

void dy_crc_init(dy_crc_table *c) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t x = i;
    for (int k = 0; k < 8; k++) x = (x >> 1) ^ (0xEDB88320u & (0u - (x & 1)));
    c->t[0][i] = x;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int s = 1; s < 8; s++) c->t[s][i] = (c->t[s - 1][i] >> 8) ^ c->t[0][c->t[s - 1][i] & 0xff];
}

uint32_t dy_crc_update(const dy_crc_table *c, uint32_t crc, const void *p, size_t n) {
  const uint8_t *b = p;
  crc = ~crc;
  while (n >= 8) {
    uint32_t lo = crc ^ ((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
    crc = c->t[7][lo & 0xff] ^ c->t[6][(lo >> 8) & 0xff] ^ c->t[5][(lo >> 16) & 0xff] ^ c->t[4][lo >> 24] ^
          c->t[3][b[4]] ^ c->t[2][b[5]] ^ c->t[1][b[6]] ^ c->t[0][b[7]];
    b += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ c->t[0][(crc ^ *b++) & 0xff];
  return ~crc;
}

uint32_t dy_crc32(const void *p, size_t n) {
  dy_crc_table c;
  dy_crc_init(&c);
  return dy_crc_update(&c, 0, p, n);
}

/* ========================================================== byte helpers */

static int host_le(void) {
  const uint16_t x = 1;
  uint8_t b;
  memcpy(&b, &x, 1);
  return b == 1;
}

static void put_u16(uint8_t *b, uint16_t v) { b[0] = (uint8_t)v; b[1] = (uint8_t)(v >> 8); }
static void put_u32(uint8_t *b, uint32_t v) {
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *b, uint64_t v) {
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}
static void put_f64(uint8_t *b, double d) {
  uint64_t v;
  memcpy(&v, &d, 8);
  put_u64(b, v);
}
static uint16_t get_u16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static uint32_t get_u32(const uint8_t *b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static uint64_t get_u64(const uint8_t *b) { return (uint64_t)get_u32(b) | (uint64_t)get_u32(b + 4) << 32; }
static double get_f64(const uint8_t *b) {
  uint64_t v = get_u64(b);
  double d;
  memcpy(&d, &v, 8);
  return d;
}

/* Scalar i of an array of S-byte little-endian scalars, in dy_real. */
static dy_real get_scalar(const uint8_t *b, uint32_t S, size_t i) {
  if (S == 4) {
    uint32_t v = get_u32(b + 4 * i);
    float f;
    memcpy(&f, &v, 4);
    return (dy_real)f;
  }
  return (dy_real)get_f64(b + 8 * i);
}

/* Copies n scalars of the file into dst (converted when needed). */
static void read_scalars(dy_real *dst, const uint8_t *src, uint32_t S, size_t n) {
  if (S == sizeof(dy_real) && host_le()) {
    memcpy(dst, src, n * S);
    return;
  }
  for (size_t i = 0; i < n; i++) dst[i] = get_scalar(src, S, i);
}

/* ================================================================ writer */

typedef struct {
  FILE *f;
  dy_crc_table crc;
  uint32_t sum;
  uint64_t pos;
  int err; /* errno of the first failure */
} writer;

static void w_put(writer *w, const void *p, size_t n) {
  if (w->err || !n) return;
  w->sum = dy_crc_update(&w->crc, w->sum, p, n);
  if (fwrite(p, 1, n, w->f) != n) w->err = errno ? errno : EIO;
  w->pos += n;
}

/* n scalars (x NULL: zeros) in the build's precision, little-endian. */
static void w_scalars(writer *w, const dy_real *x, size_t n) {
  if (x && host_le()) {
    w_put(w, x, n * sizeof(dy_real));
    return;
  }
  uint8_t buf[4096];
  size_t per = sizeof buf / sizeof(dy_real);
  for (size_t i = 0; i < n; i += per) {
    size_t k = n - i < per ? n - i : per;
    for (size_t j = 0; j < k; j++) {
      dy_real v = x ? x[i + j] : 0;
      if (sizeof(dy_real) == 4) {
        uint32_t u;
        memcpy(&u, &v, 4);
        put_u32(buf + 4 * j, u);
      } else {
        double d = (double)v;
        put_f64(buf + 8 * j, d);
      }
    }
    w_put(w, buf, k * sizeof(dy_real));
  }
}

static void w_u64s(writer *w, const uint64_t *x, size_t n) {
  uint8_t buf[4096];
  for (size_t i = 0; i < n; i += 512) {
    size_t k = n - i < 512 ? n - i : 512;
    for (size_t j = 0; j < k; j++) put_u64(buf + 8 * j, x ? x[i + j] : 0);
    w_put(w, buf, 8 * k);
  }
}

/* A parameter or lookup in storage order. */
typedef struct {
  int lookup;
  const char *name;
  dy_dim dim;
  uint32_t rows;
  size_t off, count;
  uint32_t index;
  uint64_t row_base;
  int frozen;
} entry;

/* The i-th entry of m in storage order (parameters and lookups merged by offset). */
static void entries_init(const dy_model *m, entry *e, uint32_t *ip, uint32_t *il) {
  int lk;
  if (*ip < m->nparams && *il < m->nlookups) lk = m->lookups[*il]->off < m->params[*ip]->off;
  else lk = *il < m->nlookups;
  memset(e, 0, sizeof *e);
  e->lookup = lk;
  if (lk) {
    const dy_lookup *l = m->lookups[(*il)++];
    e->name = l->name;
    e->dim = l->dim;
    e->rows = l->rows;
    e->off = l->off;
    e->count = (size_t)l->rows * l->row_size;
    e->index = l->index;
    e->row_base = l->row_base;
    e->frozen = l->frozen;
  } else {
    const dy_param *p = m->params[(*ip)++];
    e->name = p->name;
    e->dim = p->dim;
    e->rows = 1;
    e->off = p->off;
    e->count = p->size;
    e->index = p->index;
    e->frozen = p->frozen;
  }
}

static size_t record_size(const entry *e, uint32_t K, int adam_steps) {
  size_t s = 8 + 2 + strlen(e->name) + 4 * (size_t)e->dim.nd + 4 + 8;
  s += e->count * sizeof(dy_real) * (1 + K);
  if (adam_steps) s += 8 * (size_t)e->rows;
  return s;
}

static dy_status save_fail(dy_model *m, const char *path, const char *what, const char *tmp, int err) {
  return dy_model_fail(m, DY_EIO, "save '%s': %s '%s': %s; the file at '%s' (if any) is unchanged", path, what,
                       tmp, strerror(err ? err : EIO), path);
}

dy_status dy_model_save(dy_model *m, const dy_trainer *t, const char *path) {
  if (!m) return DY_EARG;
  if (!path || !path[0]) return dy_model_fail(m, DY_EARG, "save: empty path");
  if (t && t->m != m) return dy_model_fail(m, DY_EARG, "save '%s': the trainer belongs to another model", path);
  size_t pl = strlen(path);
  char *tmp = dy_model_alloc(m, pl + 16);
  if (!tmp) return dy_model_fail(m, DY_ENOMEM, "save '%s': out of memory", path);
  memcpy(tmp, path, pl);
  memcpy(tmp + pl, ".tmp.XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    dy_status st = save_fail(m, path, "cannot create the temporary file", tmp, errno);
    dy_model_free_mem(m, tmp);
    return st;
  }
  (void)fchmod(fd, 0644); /* mkstemp makes 0600 */
  writer *w = dy_model_alloc(m, sizeof *w);
  FILE *f = w ? fdopen(fd, "wb") : NULL;
  if (!f) {
    int e = w ? errno : ENOMEM;
    close(fd);
    unlink(tmp);
    dy_status st = save_fail(m, path, "cannot open the temporary file", tmp, e);
    dy_model_free_mem(m, w);
    dy_model_free_mem(m, tmp);
    return st;
  }
  memset(w, 0, sizeof *w);
  w->f = f;
  dy_crc_init(&w->crc);

  uint32_t K = t && t->nstate ? dy_trainer_nstate(t->kind, t->amsgrad) : 0;
  int adam_steps = t && K && t->kind == DY_TR_ADAM;
  uint32_t n = m->nparams + m->nlookups;
  uint64_t total = HDR_SIZE + (t ? TRN_SIZE : 0) + 4;
  {
    uint32_t ip = 0, il = 0;
    for (uint32_t i = 0; i < n; i++) {
      entry e;
      entries_init(m, &e, &ip, &il);
      total += record_size(&e, K, adam_steps);
    }
  }
  uint8_t h[TRN_SIZE];
  memset(h, 0, sizeof h);
  memcpy(h, "DYNCMODL", 8);
  put_u32(h + 8, FMT_VERSION);
  put_u32(h + 12, ENDIAN_MARK);
  put_u32(h + 16, (uint32_t)sizeof(dy_real));
  put_u32(h + 20, t ? F_TRAINER : 0);
  put_u32(h + 24, n);
  put_u64(h + 32, total);
  put_u64(h + 40, m->rng);
  w_put(w, h, HDR_SIZE);
  if (t) {
    memset(h, 0, sizeof h);
    memcpy(h, "TRNR", 4);
    put_u32(h + 4, (uint32_t)t->kind);
    put_u32(h + 8, K);
    put_u32(h + 12, (t->sparse ? TF_SPARSE : 0) | (t->amsgrad ? TF_AMSGRAD : 0));
    put_u64(h + 16, t->steps);
    put_u32(h + 24, t->epoch);
    put_u32(h + 28, (uint32_t)t->sched);
    put_u32(h + 32, t->sched_step);
    const double hp[10] = {t->lr0, t->lr, t->mom, t->beta1, t->beta2, t->eps, t->rho, t->clip, t->wd, t->decay};
    for (int i = 0; i < 10; i++) put_f64(h + 40 + 8 * i, hp[i]);
    w_put(w, h, TRN_SIZE);
  }
  uint32_t ip = 0, il = 0;
  for (uint32_t i = 0; i < n && !w->err; i++) {
    entry e;
    entries_init(m, &e, &ip, &il);
    uint8_t r[8 + 2 + 4 * DY_MAX_DIMS + 12];
    size_t L = strlen(e.name);
    memcpy(r, "PARM", 4);
    r[4] = (uint8_t)e.lookup;
    r[5] = (uint8_t)e.dim.nd;
    r[6] = (uint8_t)(e.frozen != 0);
    r[7] = 0;
    put_u16(r + 8, (uint16_t)L);
    w_put(w, r, 10);
    w_put(w, e.name, L);
    for (uint32_t d = 0; d < e.dim.nd; d++) put_u32(r + 4 * d, e.dim.d[d]);
    put_u32(r + 4 * e.dim.nd, e.rows);
    put_u64(r + 4 * e.dim.nd + 4, e.count);
    w_put(w, r, 4 * e.dim.nd + 12);
    w_scalars(w, m->vals + e.off, e.count);
    for (uint32_t k = 0; k < K; k++)
      w_scalars(w, k < t->nstate && t->s[k] && e.off + e.count <= t->ssize ? t->s[k] + e.off : NULL, e.count);
    if (adam_steps) {
      if (e.lookup)
        w_u64s(w, t->rsteps && e.row_base + e.rows <= t->nrsteps ? t->rsteps + e.row_base : NULL, e.rows);
      else
        w_u64s(w, t->psteps && e.index < t->npsteps ? t->psteps + e.index : NULL, 1);
    }
  }
  uint8_t c[4];
  put_u32(c, w->sum);
  if (!w->err) {
    DY_ASSERT(w->pos + 4 == total);
    w_put(w, c, 4);
  }
  if (!w->err && fflush(f) != 0) w->err = errno ? errno : EIO;
  if (!w->err && fsync(fileno(f)) != 0) w->err = errno ? errno : EIO;
  int ce = fclose(f);
  if (!w->err && ce != 0) w->err = errno ? errno : EIO;
  dy_status st = DY_OK;
  if (w->err) {
    unlink(tmp);
    st = save_fail(m, path, "cannot write the temporary file", tmp, w->err);
  } else if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    st = save_fail(m, path, "cannot rename the temporary file", tmp, e);
  } else {
    /* make the rename durable: fsync the directory (best effort) */
    char *slash = strrchr(tmp, '/');
    if (slash) {
      *slash = 0;
      if (!tmp[0]) strcpy(tmp, "/");
    } else {
      strcpy(tmp, ".");
    }
    int dfd = open(tmp, O_RDONLY);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  dy_model_free_mem(m, w);
  dy_model_free_mem(m, tmp);
  return st;
}

/* ================================================================ reader */

/* A parsed record. */
typedef struct {
  size_t at;          /* offset of the record */
  const char *name;   /* into the buffer, not NUL-terminated */
  uint16_t len;
  int lookup, frozen;
  dy_dim dim;
  uint32_t rows;
  uint64_t count;
  size_t vals;        /* offset of the values */
  size_t state;       /* offset of the K state arrays */
  size_t steps;       /* offset of Adam step counts (0: none) */
  uint32_t next;      /* hash chain: 1 + index of the next record, 0 end */
} rec;

typedef struct {
  const uint8_t *b;
  size_t n;
  uint32_t S, flags, nrec, K;
  uint64_t rng;
  /* trainer section */
  int has_trainer;
  uint32_t tkind, tflags, epoch, sched, sched_step;
  uint64_t steps;
  double hp[10];
  rec *recs;
  uint32_t *heads;    /* hash of names: 1 + record index, 0 empty */
  uint32_t hcap;
  char *err;
  size_t errn;
  const char *path;
  dy_allocator alloc;
  int owned;          /* b was allocated by read_file */
} parse;

#define PFAIL(p, st, ...) (snprintf((p)->err, (p)->errn, __VA_ARGS__), (st))

static uint32_t hash_bytes(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
  return h;
}

static const rec *find_rec(const parse *p, const char *name) {
  if (!p->hcap) return NULL;
  size_t n = strlen(name);
  uint32_t i = p->heads[hash_bytes(name, n) & (p->hcap - 1)];
  while (i) {
    const rec *r = &p->recs[i - 1];
    if (r->len == n && memcmp(r->name, name, n) == 0) return r;
    i = r->next;
  }
  return NULL;
}

/* Reads the whole file into p->b. */
static dy_status read_file(parse *p) {
  FILE *f = fopen(p->path, "rb");
  if (!f) return PFAIL(p, DY_EIO, "load '%s': cannot open: %s", p->path, strerror(errno));
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    fclose(f);
    return PFAIL(p, DY_EIO, "load '%s': not a regular file", p->path);
  }
  if ((uint64_t)sb.st_size > SIZE_MAX / 2) {
    fclose(f);
    return PFAIL(p, DY_EFORMAT, "load '%s': file too large (%lld bytes)", p->path, (long long)sb.st_size);
  }
  size_t n = (size_t)sb.st_size;
  uint8_t *b = p->alloc.alloc(p->alloc.ctx, n ? n : 1);
  if (!b) {
    fclose(f);
    return PFAIL(p, DY_ENOMEM, "load '%s': out of memory for %zu bytes", p->path, n);
  }
  size_t got = n ? fread(b, 1, n, f) : 0;
  int e = ferror(f) ? errno : 0;
  fclose(f);
  if (got != n) {
    p->alloc.free(p->alloc.ctx, b);
    return PFAIL(p, DY_EIO, "load '%s': read %zu of %zu bytes: %s", p->path, got, n, e ? strerror(e) : "file changed");
  }
  p->b = b;
  p->n = n;
  p->owned = 1;
  return DY_OK;
}

static const char *kind_str(int lookup) { return lookup ? "lookup" : "dense parameter"; }

/* Checks the header, checksum and every record; fills p->recs and the name hash. */
static dy_status parse_all(parse *p) {
  const uint8_t *b = p->b;
  size_t n = p->n;
  if (n < 8 || memcmp(b, "DYNCMODL", 8) != 0)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset 0: not a dync model file (bad magic)", p->path);
  if (n < HDR_SIZE + 4)
    return PFAIL(p, DY_EFORMAT, "load '%s': truncated: %zu bytes, the header alone needs %u", p->path, n,
                 HDR_SIZE + 4);
  uint32_t v = get_u32(b + 8);
  if (v != FMT_VERSION)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset 8: format version %u, this library reads version %u", p->path,
                 (unsigned)v, FMT_VERSION);
  if (get_u32(b + 12) != ENDIAN_MARK)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset 12: bad endianness marker 0x%08x (expected 0x%08x)", p->path,
                 (unsigned)get_u32(b + 12), ENDIAN_MARK);
  uint64_t fsz = get_u64(b + 32);
  if (fsz != n)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset 32: the header says %llu bytes, the file has %zu (%s)", p->path,
                 (unsigned long long)fsz, n, fsz > n ? "truncated" : "extra bytes");
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  /* fuzz builds only: let mutated files reach the parser (and skip the
   * table-building CRC, a third of each run's time, whose result is unused) */
  uint32_t stored = 0, sum = 0;
#else
  uint32_t stored = get_u32(b + n - 4), sum = dy_crc32(b, n - 4);
#endif
  if (stored != sum)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset %zu: checksum mismatch (stored 0x%08x, computed 0x%08x): the "
                 "file is corrupted", p->path, n - 4, (unsigned)stored, (unsigned)sum);
  p->S = get_u32(b + 16);
  if (p->S != 4 && p->S != 8)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset 16: scalar size %u (expected 4 or 8)", p->path, (unsigned)p->S);
  p->flags = get_u32(b + 20);
  if (p->flags & ~F_TRAINER)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset 20: unknown flags 0x%x", p->path, (unsigned)p->flags);
  p->nrec = get_u32(b + 24);
  if (get_u32(b + 28) != 0)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset 28: reserved field is not zero", p->path);
  p->rng = get_u64(b + 40);
  size_t at = HDR_SIZE, end = n - 4;
  if (p->flags & F_TRAINER) {
    if (end - at < TRN_SIZE)
      return PFAIL(p, DY_EFORMAT, "load '%s': offset %zu: truncated trainer section", p->path, at);
    const uint8_t *t = b + at;
    if (memcmp(t, "TRNR", 4) != 0)
      return PFAIL(p, DY_EFORMAT, "load '%s': offset %zu: bad trainer section tag", p->path, at);
    p->has_trainer = 1;
    p->tkind = get_u32(t + 4);
    p->K = get_u32(t + 8);
    p->tflags = get_u32(t + 12);
    p->steps = get_u64(t + 16);
    p->epoch = get_u32(t + 24);
    p->sched = get_u32(t + 28);
    p->sched_step = get_u32(t + 32);
    for (int i = 0; i < 10; i++) p->hp[i] = get_f64(t + 40 + 8 * i);
    if (p->tkind > DY_TR_ADAM)
      return PFAIL(p, DY_EFORMAT, "load '%s': offset %zu: unknown trainer kind %u", p->path, at + 4,
                   (unsigned)p->tkind);
    if (p->tflags & ~(TF_SPARSE | TF_AMSGRAD))
      return PFAIL(p, DY_EFORMAT, "load '%s': offset %zu: unknown trainer flags 0x%x", p->path, at + 12,
                   (unsigned)p->tflags);
    uint32_t want = dy_trainer_nstate((dy_trainer_kind)p->tkind, (p->tflags & TF_AMSGRAD) != 0);
    if (p->K != 0 && p->K != want)
      return PFAIL(p, DY_EFORMAT, "load '%s': offset %zu: %u state arrays for this trainer (expected 0 or %u)",
                   p->path, at + 8, (unsigned)p->K, (unsigned)want);
    if (p->sched > DY_LR_STEP || get_u32(t + 36) != 0)
      return PFAIL(p, DY_EFORMAT, "load '%s': offset %zu: bad schedule fields", p->path, at + 28);
    at += TRN_SIZE;
  }
  if (p->nrec > (end - at) / 20)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset 24: %u records cannot fit in %zu bytes", p->path,
                 (unsigned)p->nrec, end - at);
  int adam_steps = p->has_trainer && p->K && p->tkind == DY_TR_ADAM;
  p->recs = p->alloc.alloc(p->alloc.ctx, (p->nrec ? p->nrec : 1) * sizeof(rec));
  uint32_t hc = 16;
  while (hc < 2 * (uint64_t)p->nrec) hc *= 2;
  p->heads = p->alloc.alloc(p->alloc.ctx, hc * sizeof(uint32_t));
  if (!p->recs || !p->heads) return PFAIL(p, DY_ENOMEM, "load '%s': out of memory for %u records", p->path, (unsigned)p->nrec);
  memset(p->heads, 0, hc * sizeof(uint32_t));
  p->hcap = hc;
  for (uint32_t i = 0; i < p->nrec; i++) {
    rec *r = &p->recs[i];
    memset(r, 0, sizeof *r);
    r->at = at;
    if (end - at < 10)
      return PFAIL(p, DY_EFORMAT, "load '%s': record %u at offset %zu: truncated", p->path, (unsigned)i, at);
    const uint8_t *q = b + at;
    if (memcmp(q, "PARM", 4) != 0)
      return PFAIL(p, DY_EFORMAT, "load '%s': record %u at offset %zu: bad tag", p->path, (unsigned)i, at);
    if (q[4] > 1 || q[5] < 1 || q[5] > DY_MAX_DIMS || q[6] > 1 || q[7] != 0)
      return PFAIL(p, DY_EFORMAT, "load '%s': record %u at offset %zu: bad kind/dims/flags bytes %u %u %u %u",
                   p->path, (unsigned)i, at, q[4], q[5], q[6], q[7]);
    r->lookup = q[4];
    r->frozen = q[6];
    uint32_t nd = q[5];
    r->len = get_u16(q + 8);
    if (r->len < 1 || r->len > DY_NAME_MAX)
      return PFAIL(p, DY_EFORMAT, "load '%s': record %u at offset %zu: name length %u", p->path, (unsigned)i,
                   at + 8, (unsigned)r->len);
    size_t fixed = 10 + (size_t)r->len + 4 * nd + 12;
    if (end - at < fixed)
      return PFAIL(p, DY_EFORMAT, "load '%s': record %u at offset %zu: truncated", p->path, (unsigned)i, at);
    r->name = (const char *)q + 10;
    if (memchr(r->name, 0, r->len))
      return PFAIL(p, DY_EFORMAT, "load '%s': record %u at offset %zu: NUL byte in the name", p->path,
                   (unsigned)i, at + 10);
    const uint8_t *dq = q + 10 + r->len;
    dy_dim d = dy_d1(1);
    d.nd = nd;
    for (uint32_t k = 0; k < nd; k++) d.d[k] = get_u32(dq + 4 * k);
    r->rows = get_u32(dq + 4 * nd);
    r->count = get_u64(dq + 4 * nd + 4);
    r->dim = d;
    if (!dy_dim_ok(d) || r->rows < 1 || (!r->lookup && r->rows != 1) ||
        r->count != (uint64_t)r->rows * dy_dim_size(d))
      return PFAIL(p, DY_EFORMAT, "load '%s': parameter '%.*s' at offset %zu: inconsistent dims, rows or count",
                   p->path, (int)r->len, r->name, at);
    uint64_t body = r->count * p->S * (1 + (uint64_t)p->K) + (adam_steps ? 8 * (uint64_t)r->rows : 0);
    if (r->count > ((uint64_t)1 << 40) || body > end - at - fixed)
      return PFAIL(p, DY_EFORMAT, "load '%s': parameter '%.*s' at offset %zu: truncated (%llu bytes of data, "
                   "%zu left)", p->path, (int)r->len, r->name, at, (unsigned long long)body, end - at - fixed);
    r->vals = at + fixed;
    r->state = r->vals + (size_t)r->count * p->S;
    r->steps = adam_steps ? r->state + (size_t)r->count * p->S * p->K : 0;
    at += fixed + (size_t)body;
    uint32_t h = hash_bytes(r->name, r->len) & (hc - 1);
    for (uint32_t j = p->heads[h]; j; j = p->recs[j - 1].next) {
      const rec *o = &p->recs[j - 1];
      if (o->len == r->len && memcmp(o->name, r->name, r->len) == 0)
        return PFAIL(p, DY_EFORMAT, "load '%s': parameter '%.*s' at offset %zu: duplicate name (also at offset %zu)",
                     p->path, (int)r->len, r->name, r->at, o->at);
    }
    r->next = p->heads[h];
    p->heads[h] = i + 1;
  }
  if (at != end)
    return PFAIL(p, DY_EFORMAT, "load '%s': offset %zu: %zu unexpected bytes after the last record", p->path, at,
                 end - at);
  return DY_OK;
}

static void parse_free(parse *p) {
  if (p->b && p->owned) p->alloc.free(p->alloc.ctx, (void *)p->b);
  if (p->recs) p->alloc.free(p->alloc.ctx, p->recs);
  if (p->heads) p->alloc.free(p->alloc.ctx, p->heads);
}

static int name_has_prefix(const char *name, const char *prefix) {
  return !prefix || strncmp(name, prefix, strlen(prefix)) == 0;
}

/* Copies a record's values (and trainer state) into the entry. Cannot fail. */
static void commit_entry(dy_model *m, dy_trainer *t, const parse *p, const rec *r, const entry *e) {
  read_scalars(m->vals + e->off, p->b + r->vals, p->S, e->count);
  memset(m->grads + e->off, 0, e->count * sizeof(dy_real));
  if (e->lookup) {
    dy_lookup *l = m->lookups[e->index];
    for (uint32_t k = 0; k < l->ntouched; k++) l->flag[l->touched[k]] = 0;
    l->ntouched = 0;
  }
  if (!t || !p->has_trainer) return;
  for (uint32_t k = 0; k < 3; k++) {
    if (!t->s[k]) continue;
    if (k < p->K) read_scalars(t->s[k] + e->off, p->b + r->state + (size_t)k * e->count * p->S, p->S, e->count);
    else memset(t->s[k] + e->off, 0, e->count * sizeof(dy_real));
  }
  uint64_t *st = NULL;
  if (e->lookup && t->rsteps) st = t->rsteps + e->row_base;
  if (!e->lookup && t->psteps) st = t->psteps + e->index;
  if (st)
    for (uint32_t k = 0; k < e->rows; k++) st[k] = r->steps ? get_u64(p->b + r->steps + 8 * (size_t)k) : 0;
}

static dy_status load_into(dy_model *m, dy_trainer *t, const char *path, const uint8_t *buf, size_t len,
                           const char *prefix) {
  if (!m) return DY_EARG;
  if (!path) return dy_model_fail(m, DY_EARG, "load: path is NULL");
  if (t && t->m != m) return dy_model_fail(m, DY_EARG, "load '%s': the trainer belongs to another model", path);
  char err[sizeof m->err];
  parse p;
  memset(&p, 0, sizeof p);
  p.err = err;
  p.errn = sizeof err;
  p.path = path;
  p.alloc = m->alloc;
  p.b = buf;
  p.n = len;
  dy_status st = buf ? DY_OK : read_file(&p);
  if (st == DY_OK) st = parse_all(&p);
  /* match every wanted entry of the model */
  uint32_t ip = 0, il = 0, n = m->nparams + m->nlookups, matched = 0;
  for (uint32_t i = 0; i < n && st == DY_OK; i++) {
    entry e;
    entries_init(m, &e, &ip, &il);
    if (!name_has_prefix(e.name, prefix)) continue;
    const rec *r = find_rec(&p, e.name);
    char d1[64], d2[64];
    if (!r) {
      st = PFAIL(&p, DY_ENOTFOUND, "load '%s': %s '%s' %s is not in the file (%u records, offsets %u..%zu)", path,
                 kind_str(e.lookup), e.name, dy_dim_str(e.dim, d1, sizeof d1), (unsigned)p.nrec,
                 HDR_SIZE + (p.has_trainer ? TRN_SIZE : 0), p.n - 4);
    } else if (r->lookup != e.lookup) {
      st = PFAIL(&p, DY_EFORMAT, "load '%s': '%s' at offset %zu: the file has a %s, the model a %s", path, e.name,
                 r->at, kind_str(r->lookup), kind_str(e.lookup));
    } else if (!dy_dim_eq(r->dim, e.dim) || r->rows != e.rows) {
      st = PFAIL(&p, DY_EFORMAT, "load '%s': %s '%s' at offset %zu: the file has dims %s x %u rows, the model %s x %u",
                 path, kind_str(e.lookup), e.name, r->at, dy_dim_str(r->dim, d1, sizeof d1), (unsigned)r->rows,
                 dy_dim_str(e.dim, d2, sizeof d2), (unsigned)e.rows);
    } else {
      matched++;
    }
  }
  if (st == DY_OK && prefix && matched == 0)
    st = PFAIL(&p, DY_ENOTFOUND, "load '%s': the model has no parameter whose name starts with '%s'", path, prefix);
  if (st == DY_OK && t && p.has_trainer) {
    if (p.tkind != (uint32_t)t->kind) {
      static const char *kn[] = {"SGD", "momentum SGD", "Adagrad", "RMSProp", "Adam"};
      st = PFAIL(&p, DY_EFORMAT, "load '%s': offset %u: the file holds %s state, the trainer is %s", path, HDR_SIZE + 4,
                 kn[p.tkind], kn[t->kind]);
    } else if ((p.K || t->nstate) && dy_trainer_ensure_state(t, p.K) != DY_OK) {
      /* (also grows state allocated before the model last grew, so that the
       * commit below can write the slices of every loaded parameter) */
      st = PFAIL(&p, DY_ENOMEM, "load '%s': %s", path, m->err);
    }
  }
  if (st != DY_OK) {
    parse_free(&p);
    return dy_model_fail(m, st, "%s", err);
  }
  /* commit: nothing below can fail */
  ip = il = 0;
  for (uint32_t i = 0; i < n; i++) {
    entry e;
    entries_init(m, &e, &ip, &il);
    if (name_has_prefix(e.name, prefix)) commit_entry(m, t, &p, find_rec(&p, e.name), &e);
  }
  if (t && p.has_trainer) {
    t->sparse = (p.tflags & TF_SPARSE) != 0;
    t->amsgrad = (p.tflags & TF_AMSGRAD) != 0;
    t->steps = p.steps;
    t->epoch = p.epoch;
    t->sched = (dy_lr_schedule)p.sched;
    t->sched_step = p.sched_step ? p.sched_step : 1;
    dy_real *hp[10] = {&t->lr0, &t->lr, &t->mom, &t->beta1, &t->beta2, &t->eps, &t->rho, &t->clip, &t->wd, &t->decay};
    for (int i = 0; i < 10; i++) *hp[i] = (dy_real)p.hp[i];
  }
  parse_free(&p);
  m->err[0] = 0;
  return DY_OK;
}

dy_status dy_model_load(dy_model *m, dy_trainer *t, const char *path, const char *prefix) {
  return load_into(m, t, path, NULL, 0, prefix);
}

dy_status dy_model_load_mem(dy_model *m, dy_trainer *t, const void *buf, size_t n, const char *label,
                            const char *prefix) {
  static const uint8_t empty[1] = {0};
  return load_into(m, t, label ? label : "(memory)", buf ? buf : empty, buf ? n : 0, prefix);
}

static dy_model *load_new(const char *path, const uint8_t *buf, size_t len, char *errbuf, size_t errn) {
  char err[1024];
  err[0] = 0;
  parse p;
  memset(&p, 0, sizeof p);
  p.err = err;
  p.errn = sizeof err;
  p.path = path ? path : "(null)";
  p.alloc = *dy_allocator_default();
  p.b = buf;
  p.n = len;
  dy_status st = buf ? DY_OK : path ? read_file(&p) : PFAIL(&p, DY_EARG, "load: path is NULL");
  if (st == DY_OK) st = parse_all(&p);
  dy_model *m = NULL;
  if (st == DY_OK) {
    m = dy_model_new(0);
    size_t total = 0;
    for (uint32_t i = 0; i < p.nrec; i++) total += (size_t)p.recs[i].count;
    if (!m || dy_model_reserve(m, total) != DY_OK)
      st = PFAIL(&p, DY_ENOMEM, "load '%s': out of memory for %zu parameters", p.path, total);
  }
  char name[DY_NAME_MAX + 1];
  for (uint32_t i = 0; st == DY_OK && i < p.nrec; i++) {
    const rec *r = &p.recs[i];
    memcpy(name, r->name, r->len);
    name[r->len] = 0;
    entry e;
    memset(&e, 0, sizeof e);
    if (r->lookup) {
      dy_lookup *l = dy_model_add_lookup_raw(m, name, r->rows, r->dim);
      if (!l) {
        st = PFAIL(&p, DY_EFORMAT, "load '%s': parameter '%s' at offset %zu: %s", p.path, name, r->at, m->err);
        break;
      }
      l->frozen = r->frozen;
      e.off = l->off;
      e.count = (size_t)l->rows * l->row_size;
    } else {
      dy_param *q = dy_model_add_param_raw(m, name, r->dim);
      if (!q) {
        st = PFAIL(&p, DY_EFORMAT, "load '%s': parameter '%s' at offset %zu: %s", p.path, name, r->at, m->err);
        break;
      }
      q->frozen = r->frozen;
      e.off = q->off;
      e.count = q->size;
    }
    read_scalars(m->vals + e.off, p.b + r->vals, p.S, e.count);
  }
  if (st == DY_OK) m->rng = p.rng;
  parse_free(&p);
  if (st != DY_OK) {
    dy_model_free(m);
    if (errbuf && errn) snprintf(errbuf, errn, "%s", err);
    return NULL;
  }
  if (errbuf && errn) errbuf[0] = 0;
  return m;
}

dy_model *dy_model_load_new(const char *path, char *errbuf, size_t errn) {
  return load_new(path, NULL, 0, errbuf, errn);
}

dy_model *dy_model_load_new_mem(const void *buf, size_t n, const char *label, char *errbuf, size_t errn) {
  static const uint8_t empty[1] = {0};
  return load_new(label ? label : "(memory)", buf ? buf : empty, buf ? n : 0, errbuf, errn);
}
