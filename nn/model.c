/* Models: parameters and lookup tables in one flat value buffer and one flat
 * gradient buffer, names (scoped, hashed), the initialisers and their RNG, and
 * the graph nodes that put parameters into a graph.
 *
 * Layout: every parameter and lookup owns the range [off, off + size) of
 * m->vals and m->grads, in order of addition. The buffers grow (by half, or
 * to fit one big table exactly) as parameters are added, so parameters keep
 * offsets, never pointers; a pointer from dy_param_values() or a graph node
 * built before a later dy_model_add_* may be stale.
 *
 * Lookup rows touched by backward are recorded by a per-row flag plus a list
 * (O(1) per touch, duplicates ignored); trainers update and clear only those.
 * Invariant: the gradient of a row that is not in the touched list is zero
 * (as long as the caller does not write into it by hand). */
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "nn_internal.h"
#include "dy_kernels.h"
#include "vmath.h" /* DY_VM_CLONE */

/* ============================================================ memory, errors */

void *dy_model_alloc(dy_model *m, size_t n) { return m->alloc.alloc(m->alloc.ctx, n ? n : 1); }
void dy_model_free_mem(dy_model *m, void *p) {
  if (p) m->alloc.free(m->alloc.ctx, p);
}

dy_status dy_model_fail(dy_model *m, dy_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->err, sizeof m->err, fmt, ap);
  va_end(ap);
  return st;
}

const char *dy_model_error(const dy_model *m) { return m && m->err[0] ? m->err : NULL; }

dy_model *dy_model_new_with(uint64_t seed, const dy_allocator *alloc) {
  if (!alloc) alloc = dy_allocator_default();
  dy_model *m = alloc->alloc(alloc->ctx, sizeof *m);
  if (!m) return NULL;
  memset(m, 0, sizeof *m);
  m->alloc = *alloc;
  m->rng = dy_mix64(seed);
  return m;
}

dy_model *dy_model_new(uint64_t seed) { return dy_model_new_with(seed, NULL); }

void dy_model_free(dy_model *m) {
  if (!m) return;
  for (uint32_t i = 0; i < m->nparams; i++) {
    dy_model_free_mem(m, m->params[i]->name);
    dy_model_free_mem(m, m->params[i]);
  }
  for (uint32_t i = 0; i < m->nlookups; i++) {
    dy_lookup *l = m->lookups[i];
    dy_model_free_mem(m, l->name);
    dy_model_free_mem(m, l->flag);
    dy_model_free_mem(m, l->touched);
    dy_model_free_mem(m, l);
  }
  dy_model_free_mem(m, m->params);
  dy_model_free_mem(m, m->lookups);
  dy_model_free_mem(m, m->vals);
  dy_model_free_mem(m, m->grads);
  dy_model_free_mem(m, m->hash);
  for (uint32_t i = 0; i < m->nretired; i++) dy_model_free_mem(m, m->retired[i]);
  dy_model_free_mem(m, m->retired);
  dy_allocator a = m->alloc;
  a.free(a.ctx, m);
}

/* ==================================================================== names */

static uint32_t name_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static const char *entry_name(const dy_model *m, uint32_t e) {
  uint32_t i = (e - 1) >> 1;
  return ((e - 1) & 1) ? m->lookups[i]->name : m->params[i]->name;
}

/* The hash slot of name: its entry, or the empty slot where it would go. */
static uint32_t *hash_slot(const dy_model *m, const char *name) {
  uint32_t mask = m->hcap - 1, i = name_hash(name) & mask;
  while (m->hash[i] && strcmp(entry_name(m, m->hash[i]), name) != 0) i = (i + 1) & mask;
  return &m->hash[i];
}

static uint32_t find_entry(const dy_model *m, const char *name) {
  if (!m || !name || !m->hcap) return 0;
  return *hash_slot(m, name);
}

/* Makes room for one more name (load factor <= 1/2). */
static int hash_reserve(dy_model *m) {
  uint32_t n = m->nparams + m->nlookups + 1;
  if (m->hcap && n * 2 <= m->hcap) return 0;
  uint32_t nc = m->hcap ? m->hcap * 2 : 64;
  while (n * 2 > nc) nc *= 2;
  uint32_t *h = dy_model_alloc(m, (size_t)nc * sizeof *h);
  if (!h) return -1;
  memset(h, 0, (size_t)nc * sizeof *h);
  uint32_t *old = m->hash;
  m->hash = h;
  m->hcap = nc;
  for (uint32_t i = 0; i < m->nparams; i++) *hash_slot(m, m->params[i]->name) = 1 + (i << 1);
  for (uint32_t i = 0; i < m->nlookups; i++) *hash_slot(m, m->lookups[i]->name) = 1 + ((i << 1) | 1);
  dy_model_free_mem(m, old);
  return 0;
}

dy_status dy_model_push(dy_model *m, const char *name) {
  if (!m) return DY_EARG;
  if (!name || !name[0]) return dy_model_fail(m, DY_EARG, "dy_model_push: empty scope name");
  if (m->depth >= sizeof m->scope_stack / sizeof m->scope_stack[0])
    return dy_model_fail(m, DY_EARG, "dy_model_push('%s'): scopes nested deeper than %u", name,
                         (unsigned)(sizeof m->scope_stack / sizeof m->scope_stack[0]));
  size_t n = strlen(name);
  if (m->scope_len + n + 1 > DY_NAME_MAX)
    return dy_model_fail(m, DY_EARG, "dy_model_push('%s'): scope longer than %u bytes", name,
                         DY_NAME_MAX);
  m->scope_stack[m->depth++] = m->scope_len;
  memcpy(m->scope + m->scope_len, name, n);
  m->scope_len += (uint32_t)n;
  m->scope[m->scope_len++] = '/';
  m->scope[m->scope_len] = 0;
  return DY_OK;
}

void dy_model_pop(dy_model *m) {
  if (!m || !m->depth) return;
  m->scope_len = m->scope_stack[--m->depth];
  m->scope[m->scope_len] = 0;
}

/* scope + name into a new string, checked; NULL with the error set. */
static char *full_name(dy_model *m, const char *name, int scoped) {
  if (!name || !name[0]) {
    dy_model_fail(m, DY_EARG, "parameter name is empty");
    return NULL;
  }
  size_t sl = scoped ? m->scope_len : 0, n = strlen(name);
  if (sl + n > DY_NAME_MAX) {
    dy_model_fail(m, DY_EARG, "parameter name '%.64s...' is longer than %u bytes", name, DY_NAME_MAX);
    return NULL;
  }
  char *s = dy_model_alloc(m, sl + n + 1);
  if (!s) {
    dy_model_fail(m, DY_ENOMEM, "out of memory for the name of parameter '%s'", name);
    return NULL;
  }
  memcpy(s, m->scope, sl);
  memcpy(s + sl, name, n + 1);
  if (find_entry(m, s)) {
    dy_model_fail(m, DY_EARG, "a parameter named '%s' already exists", s);
    dy_model_free_mem(m, s);
    return NULL;
  }
  return s;
}

/* ================================================================ storage */

/* Makes room for n more scalars (values and gradients, zeroed). */
static int storage_reserve(dy_model *m, size_t n, const char *name) {
  if (n > SIZE_MAX / (2 * sizeof(dy_real)) - m->size) {
    dy_model_fail(m, DY_ENOMEM, "parameter '%s': model too large", name);
    return -1;
  }
  size_t need = m->size + n;
  if (need <= m->cap) return 0;
  /* grow by half for small additions, fit exactly a big one (an embedding table) */
  size_t nc = m->cap ? (m->cap > SIZE_MAX / 4 ? need : m->cap + m->cap / 2) : 1024;
  if (nc < need) nc = need;
  /* graph nodes built on the old buffers may still be forwarded or given
   * gradients: keep the buffers (see "parameter nodes" below) */
  if (atomic_load_explicit(&m->nodes_built, memory_order_relaxed) && m->vals && m->nretired + 2 > m->cap_retired) {
    uint32_t rc = m->cap_retired ? 2 * m->cap_retired : 8;
    void **r = dy_model_alloc(m, (size_t)rc * sizeof *r);
    if (!r) {
      dy_model_fail(m, DY_ENOMEM, "out of memory adding parameter '%s' (%zu scalars)", name, n);
      return -1;
    }
    if (m->nretired) memcpy(r, m->retired, (size_t)m->nretired * sizeof *r);
    dy_model_free_mem(m, m->retired);
    m->retired = r;
    m->cap_retired = rc;
  }
  dy_real *v = dy_model_alloc(m, nc * sizeof(dy_real));
  dy_real *g = v ? dy_model_alloc(m, nc * sizeof(dy_real)) : NULL;
  if (!g) {
    dy_model_free_mem(m, v);
    dy_model_fail(m, DY_ENOMEM, "out of memory adding parameter '%s' (%zu scalars)", name, n);
    return -1;
  }
  if (m->size) {
    memcpy(v, m->vals, m->size * sizeof(dy_real));
    memcpy(g, m->grads, m->size * sizeof(dy_real));
  }
  memset(v + m->size, 0, (nc - m->size) * sizeof(dy_real));
  memset(g + m->size, 0, (nc - m->size) * sizeof(dy_real));
  if (atomic_load_explicit(&m->nodes_built, memory_order_relaxed) && m->vals) {
    m->retired[m->nretired++] = m->vals;
    m->retired[m->nretired++] = m->grads;
  } else {
    dy_model_free_mem(m, m->vals);
    dy_model_free_mem(m, m->grads);
  }
  m->vals = v;
  m->grads = g;
  m->cap = nc;
  m->gen++;
  atomic_store_explicit(&m->nodes_built, 0, memory_order_relaxed);
  return 0;
}

dy_status dy_model_reserve(dy_model *m, size_t n) {
  return storage_reserve(m, n > m->size ? n - m->size : 0, "(reserve)") ? DY_ENOMEM : DY_OK;
}

/* Makes room for one more parameter / lookup pointer. */
static int params_reserve(dy_model *m) {
  if (m->nparams < m->cap_params) return 0;
  uint32_t nc = m->cap_params ? m->cap_params * 2 : 16;
  dy_param **a = dy_model_alloc(m, (size_t)nc * sizeof *a);
  if (!a) return -1;
  if (m->nparams) memcpy(a, m->params, (size_t)m->nparams * sizeof *a);
  dy_model_free_mem(m, m->params);
  m->params = a;
  m->cap_params = nc;
  return 0;
}

static int lookups_reserve(dy_model *m) {
  if (m->nlookups < m->cap_lookups) return 0;
  uint32_t nc = m->cap_lookups ? m->cap_lookups * 2 : 16;
  dy_lookup **a = dy_model_alloc(m, (size_t)nc * sizeof *a);
  if (!a) return -1;
  if (m->nlookups) memcpy(a, m->lookups, (size_t)m->nlookups * sizeof *a);
  dy_model_free_mem(m, m->lookups);
  m->lookups = a;
  m->cap_lookups = nc;
  return 0;
}

static int dim_valid(dy_model *m, dy_dim d, const char *name, const char *what) {
  char db[64];
  if (d.bd == 1 && dy_dim_ok(d)) return 1;
  dy_model_fail(m, DY_EARG, "%s '%s': invalid dim %s (need 1-4 dims, each >= 1, batch 1)", what, name,
                dy_dim_str(d, db, sizeof db));
  return 0;
}

static dy_param *add_param(dy_model *m, char *fn, dy_dim d) {
  if (hash_reserve(m) || params_reserve(m) || storage_reserve(m, dy_dim_size(d), fn)) {
    dy_model_fail(m, DY_ENOMEM, "out of memory adding parameter '%s' (%zu scalars)", fn, dy_dim_size(d));
    dy_model_free_mem(m, fn);
    return NULL;
  }
  dy_param *p = dy_model_alloc(m, sizeof *p);
  if (!p) {
    dy_model_fail(m, DY_ENOMEM, "out of memory adding parameter '%s'", fn);
    dy_model_free_mem(m, fn);
    return NULL;
  }
  memset(p, 0, sizeof *p);
  p->m = m;
  p->name = fn;
  p->dim = d;
  p->size = dy_dim_size(d);
  p->off = m->size;
  p->index = m->nparams;
  m->size += p->size;
  m->params[m->nparams++] = p;
  *hash_slot(m, fn) = 1 + (p->index << 1);
  return p;
}

static dy_lookup *add_lookup(dy_model *m, char *fn, uint32_t rows, dy_dim d) {
  size_t rs = dy_dim_size(d);
  if (rows > SIZE_MAX / 2 / sizeof(dy_real) / rs) {
    dy_model_fail(m, DY_ENOMEM, "lookup '%s': %u rows of %zu are too many", fn, (unsigned)rows, rs);
    dy_model_free_mem(m, fn);
    return NULL;
  }
  dy_lookup *l = NULL;
  uint8_t *flag = NULL;
  uint32_t *touched = NULL;
  if (hash_reserve(m) || lookups_reserve(m) ||
      !(l = dy_model_alloc(m, sizeof *l)) || !(flag = dy_model_alloc(m, rows)) ||
      !(touched = dy_model_alloc(m, (size_t)rows * sizeof *touched)) ||
      storage_reserve(m, (size_t)rows * rs, fn)) {
    dy_model_free_mem(m, l);
    dy_model_free_mem(m, flag);
    dy_model_free_mem(m, touched);
    dy_model_fail(m, DY_ENOMEM, "out of memory adding lookup '%s' (%u rows of %zu)", fn,
                  (unsigned)rows, rs);
    dy_model_free_mem(m, fn);
    return NULL;
  }
  memset(l, 0, sizeof *l);
  memset(flag, 0, rows);
  l->m = m;
  l->name = fn;
  l->dim = d;
  l->rows = rows;
  l->row_size = rs;
  l->off = m->size;
  l->row_base = m->total_rows;
  l->index = m->nlookups;
  l->flag = flag;
  l->touched = touched;
  m->size += (size_t)rows * rs;
  m->total_rows += rows;
  m->lookups[m->nlookups++] = l;
  *hash_slot(m, fn) = 1 + ((l->index << 1) | 1);
  return l;
}

/* ============================================================ initialisers */
/* RNG: splitmix64 over a counter (integer only, identical on every machine).
 * Uniform doubles take the top 53 bits; normals use Marsaglia's polar method
 * (only sqrt, correctly rounded by IEEE 754, and log). */

static uint64_t rng_next(dy_model *m) { return dy_mix64(m->rng++); }
static double rng_unif(dy_model *m) { return (double)(rng_next(m) >> 11) * 0x1.0p-53; }
static double rng_normal(dy_model *m) {
  for (;;) {
    double u = 2 * rng_unif(m) - 1, v = 2 * rng_unif(m) - 1, s = u * u + v * v;
    if (s > 0 && s < 1) return u * sqrt(-2 * log(s) / s);
  }
}

/* Fills x (r, c) row-major with a random matrix of orthonormal rows (r <= c)
 * or columns (r > c), times gain: modified Gram-Schmidt, run twice, over
 * normal vectors in double. */
static int init_orthogonal(dy_model *m, dy_real *x, size_t r, size_t c, double gain, const char *name) {
  size_t k = r < c ? r : c, n = r < c ? c : r;
  double *v = dy_model_alloc(m, k * n * sizeof(double));
  if (!v) return dy_model_fail(m, DY_ENOMEM, "'%s': out of memory for the orthogonal initialiser", name), -1;
  for (size_t i = 0; i < k; i++) {
    double *vi = v + i * n;
    for (int tries = 0;; tries++) {
      for (size_t j = 0; j < n; j++) vi[j] = rng_normal(m);
      for (int pass = 0; pass < 2; pass++)
        for (size_t p = 0; p < i; p++) {
          const double *vp = v + p * n;
          double d = 0;
          for (size_t j = 0; j < n; j++) d += vi[j] * vp[j];
          for (size_t j = 0; j < n; j++) vi[j] -= d * vp[j];
        }
      double s = 0;
      for (size_t j = 0; j < n; j++) s += vi[j] * vi[j];
      s = sqrt(s);
      if (s > 1e-6 || tries > 100) {
        for (size_t j = 0; j < n; j++) vi[j] /= s;
        break;
      }
    }
  }
  for (size_t i = 0; i < r; i++)
    for (size_t j = 0; j < c; j++)
      x[i * c + j] = (dy_real)(gain * (r <= c ? v[i * n + j] : v[j * n + i]));
  dy_model_free_mem(m, v);
  return 0;
}

/* Initialises x: n scalars seen as the dims d (a parameter) or, for a lookup
 * (rows > 0), as `rows` rows of dim d. */
static int init_fill(dy_model *m, dy_init in, dy_real *x, dy_dim d, uint32_t rows, const char *name) {
  size_t per = dy_dim_size(d), n = per * (rows ? rows : 1);
  /* matrix view for identity / orthogonal */
  size_t mr = rows ? rows : d.d[0], mc = rows ? per : (d.nd >= 2 ? per / d.d[0] : 1);
  switch (in.kind) {
    case DY_INIT_GLOROT: {
      /* DyNet's rule over the k dims of a parameter (of one row for a lookup):
       * bound = gain * sqrt(3k / sum of dims); a matrix (r,c): sqrt(6/(r+c)),
       * a vector {n}: sqrt(3/n). */
      double gain = in.a > 0 ? in.a : 1, sum = 0;
      for (uint32_t i = 0; i < d.nd; i++) sum += d.d[i];
      double b = gain * sqrt(3.0 * d.nd / sum);
      for (size_t i = 0; i < n; i++) x[i] = (dy_real)((2 * rng_unif(m) - 1) * b);
      return 0;
    }
    case DY_INIT_UNIFORM:
      if (!(in.a <= in.b) || !isfinite(in.a) || !isfinite(in.b))
        return dy_model_fail(m, DY_EARG, "'%s': uniform initialiser needs lo <= hi (got %g, %g)",
                             name, in.a, in.b), -1;
      for (size_t i = 0; i < n; i++) x[i] = (dy_real)(in.a + (in.b - in.a) * rng_unif(m));
      return 0;
    case DY_INIT_NORMAL:
      if (!(in.b >= 0) || !isfinite(in.a) || !isfinite(in.b))
        return dy_model_fail(m, DY_EARG, "'%s': normal initialiser needs a finite mean and std >= 0 "
                             "(got %g, %g)", name, in.a, in.b), -1;
      for (size_t i = 0; i < n; i++) x[i] = (dy_real)(in.a + in.b * rng_normal(m));
      return 0;
    case DY_INIT_CONST:
      for (size_t i = 0; i < n; i++) x[i] = (dy_real)in.a;
      return 0;
    case DY_INIT_IDENTITY:
      if ((!rows && d.nd != 2) || mr != mc) {
        char db[64];
        return dy_model_fail(m, DY_EARG, "'%s': identity initialiser needs a square matrix, dim is %s%s",
                             name, dy_dim_str(d, db, sizeof db), rows ? " per row" : ""), -1;
      }
      for (size_t i = 0; i < n; i++) x[i] = 0;
      for (size_t i = 0; i < mr; i++) x[i * mc + i] = 1;
      return 0;
    case DY_INIT_ORTHOGONAL:
      if (!rows && d.nd != 2) {
        char db[64];
        return dy_model_fail(m, DY_EARG, "'%s': orthogonal initialiser needs a matrix, dim is %s",
                             name, dy_dim_str(d, db, sizeof db)), -1;
      }
      return init_orthogonal(m, x, mr, mc, in.a > 0 ? in.a : 1, name);
  }
  return dy_model_fail(m, DY_EARG, "'%s': unknown initialiser kind %d", name, (int)in.kind), -1;
}

/* Undoes the last addition (after a failed initialiser). */
static void drop_last_param(dy_model *m) {
  dy_param *p = m->params[--m->nparams];
  m->size = p->off;
  memset(m->vals + p->off, 0, p->size * sizeof(dy_real));
  /* rebuild the name index without it (deletion under linear probing) */
  uint32_t *old = m->hash;
  m->hash = NULL;
  m->hcap = 0;
  dy_model_free_mem(m, p->name);
  dy_model_free_mem(m, p);
  dy_model_free_mem(m, old);
  hash_reserve(m); /* rebuilds; cannot leave the model without an index unless OOM */
}

static void drop_last_lookup(dy_model *m) {
  dy_lookup *l = m->lookups[--m->nlookups];
  m->size = l->off;
  m->total_rows = l->row_base;
  memset(m->vals + l->off, 0, (size_t)l->rows * l->row_size * sizeof(dy_real));
  uint32_t *old = m->hash;
  m->hash = NULL;
  m->hcap = 0;
  dy_model_free_mem(m, l->name);
  dy_model_free_mem(m, l->flag);
  dy_model_free_mem(m, l->touched);
  dy_model_free_mem(m, l);
  dy_model_free_mem(m, old);
  hash_reserve(m);
}

dy_param *dy_model_add_param_raw(dy_model *m, const char *name, dy_dim d) {
  if (!m) return NULL;
  if (!dim_valid(m, d, name ? name : "", "parameter")) return NULL;
  char *fn = full_name(m, name, 0);
  return fn ? add_param(m, fn, d) : NULL;
}

dy_lookup *dy_model_add_lookup_raw(dy_model *m, const char *name, uint32_t rows, dy_dim d) {
  if (!m) return NULL;
  if (!dim_valid(m, d, name ? name : "", "lookup")) return NULL;
  if (rows == 0) return dy_model_fail(m, DY_EARG, "lookup '%s': zero rows", name), NULL;
  char *fn = full_name(m, name, 0);
  return fn ? add_lookup(m, fn, rows, d) : NULL;
}

dy_param *dy_model_add_param(dy_model *m, const char *name, dy_dim d, dy_init init) {
  if (!m) return NULL;
  if (!dim_valid(m, d, name ? name : "", "parameter")) return NULL;
  char *fn = full_name(m, name, 1);
  if (!fn) return NULL;
  dy_param *p = add_param(m, fn, d);
  if (!p) return NULL;
  if (init_fill(m, init, m->vals + p->off, d, 0, p->name) != 0) {
    drop_last_param(m);
    return NULL;
  }
  return p;
}

dy_lookup *dy_model_add_lookup(dy_model *m, const char *name, uint32_t rows, dy_dim d, dy_init init) {
  if (!m) return NULL;
  if (!dim_valid(m, d, name ? name : "", "lookup")) return NULL;
  if (rows == 0) return dy_model_fail(m, DY_EARG, "lookup '%s': zero rows", name ? name : ""), NULL;
  char *fn = full_name(m, name, 1);
  if (!fn) return NULL;
  dy_lookup *l = add_lookup(m, fn, rows, d);
  if (!l) return NULL;
  if (init_fill(m, init, m->vals + l->off, d, rows, l->name) != 0) {
    drop_last_lookup(m);
    return NULL;
  }
  return l;
}

/* ================================================================ queries */

dy_param *dy_model_find_param(const dy_model *m, const char *name) {
  uint32_t e = find_entry(m, name);
  return e && !((e - 1) & 1) ? m->params[(e - 1) >> 1] : NULL;
}

dy_lookup *dy_model_find_lookup(const dy_model *m, const char *name) {
  uint32_t e = find_entry(m, name);
  return e && ((e - 1) & 1) ? m->lookups[(e - 1) >> 1] : NULL;
}

uint32_t dy_model_num_params(const dy_model *m) { return m ? m->nparams : 0; }
uint32_t dy_model_num_lookups(const dy_model *m) { return m ? m->nlookups : 0; }
dy_param *dy_model_param_at(const dy_model *m, uint32_t i) { return m && i < m->nparams ? m->params[i] : NULL; }
dy_lookup *dy_model_lookup_at(const dy_model *m, uint32_t i) { return m && i < m->nlookups ? m->lookups[i] : NULL; }
size_t dy_model_size(const dy_model *m) { return m ? m->size : 0; }

void dy_model_clear_touched(dy_model *m, int zero_rows) {
  for (uint32_t i = 0; i < m->nlookups; i++) {
    dy_lookup *l = m->lookups[i];
    for (uint32_t k = 0; k < l->ntouched; k++) {
      uint32_t r = l->touched[k];
      l->flag[r] = 0;
      if (zero_rows) memset(m->grads + l->off + (size_t)r * l->row_size, 0, l->row_size * sizeof(dy_real));
    }
    l->ntouched = 0;
  }
}

void dy_model_zero_grads(dy_model *m) {
  if (!m) return;
  dy_model_clear_touched(m, 0);
  if (m->size) memset(m->grads, 0, m->size * sizeof(dy_real));
}

double dy_model_grad_norm(const dy_model *m) {
  if (!m) return 0;
  double s = 0;
  for (uint32_t i = 0; i < m->nparams; i++) s += dy_nn_sumsq(m->grads + m->params[i]->off, m->params[i]->size);
  for (uint32_t i = 0; i < m->nlookups; i++) {
    const dy_lookup *l = m->lookups[i];
    for (uint32_t k = 0; k < l->ntouched; k++)
      s += dy_nn_sumsq(m->grads + l->off + (size_t)l->touched[k] * l->row_size, l->row_size);
  }
  return sqrt(s);
}

/* ================================================================ accessors */

const char *dy_param_name(const dy_param *p) { return p ? p->name : NULL; }
dy_dim dy_param_dim(const dy_param *p) { return p ? p->dim : dy_d1(0); }
dy_real *dy_param_values(dy_param *p) { return p ? p->m->vals + p->off : NULL; }
dy_real *dy_param_grads(dy_param *p) { return p ? p->m->grads + p->off : NULL; }
void dy_param_set_frozen(dy_param *p, int frozen) {
  if (p) p->frozen = frozen != 0;
}
int dy_param_frozen(const dy_param *p) { return p ? p->frozen : 0; }

const char *dy_lookup_name(const dy_lookup *l) { return l ? l->name : NULL; }
dy_dim dy_lookup_dim(const dy_lookup *l) { return l ? l->dim : dy_d1(0); }
uint32_t dy_lookup_rows(const dy_lookup *l) { return l ? l->rows : 0; }
dy_real *dy_lookup_row(dy_lookup *l, uint32_t row) {
  return l && row < l->rows ? l->m->vals + l->off + (size_t)row * l->row_size : NULL;
}
dy_real *dy_lookup_row_grad(dy_lookup *l, uint32_t row) {
  return l && row < l->rows ? l->m->grads + l->off + (size_t)row * l->row_size : NULL;
}
uint32_t dy_lookup_num_touched(const dy_lookup *l) { return l ? l->ntouched : 0; }
const uint32_t *dy_lookup_touched(const dy_lookup *l) { return l ? l->touched : NULL; }
void dy_lookup_set_frozen(dy_lookup *l, int frozen) {
  if (l) l->frozen = frozen != 0;
}
int dy_lookup_frozen(const dy_lookup *l) { return l ? l->frozen : 0; }

/* ============================================================= graph nodes */

static dy_expr bad_expr(dy_graph *g) {
  dy_expr e = {g, DY_INVALID_ID, g ? g->gen : 0};
  return e;
}

/* The gradient buffer parameter nodes of g write into: g's gradient set
 * (checked to be of m and to cover parameter / lookup `index`) or m's own;
 * NULL after a graph error. */
static dy_real *grads_of(dy_graph *g, dy_model *m, uint32_t index, int lookup, const char *fn) {
  const dy_grad_set *s = g ? g->nn_grads : NULL;
  if (!s) return m->grads;
  if (s->m != m) {
    dy_fail(g, DY_EARG, "%s: the graph's gradient set belongs to another model", fn);
    return NULL;
  }
  if (s->size != m->size || index >= (lookup ? s->nlookups : s->nparams)) {
    dy_fail(g, DY_EARG, "%s: the graph's gradient set was made before parameters were added to the "
            "model; make a new one", fn);
    return NULL;
  }
  return s->grads;
}

/* ---------------------------------------------------------- parameter nodes
 * A parameter (or lookup row) node is a variable pointing into m->vals and
 * m->grads (or a gradient set): ops read the model's values and add into its
 * gradients with no copy. Adding a parameter can move that storage
 * (storage_reserve); m->gen counts the moves, and every node records the
 * generation it was built in (a pnode in graph data, the ctx of the
 * variable's gradient hook). A node whose storage moved since is stale:
 *  - at forward (op_param: the core's variable plus this check) the graph
 *    fails with DY_ESTALE naming the parameter; the node's value is NaN and
 *    no variable of the graph receives a gradient from a later backward;
 *  - at backward, when the storage moved after the forward, a check the node
 *    registered (dy_graph_on_backward) fails the graph with DY_ESTALE naming
 *    the parameter before any gradient is added.
 * A stale node never touches freed memory: buffers that nodes were built on
 * are kept (m->retired) until dy_model_free instead of being freed when the
 * storage moves (nothing is kept for a model whose parameters are all added
 * before its first node, the usual order). Cost per node: ~150 bytes of
 * graph data, one compare at forward, one check before backward and one hook
 * call in it (the row record). */

typedef struct {
  dy_graph *g;
  dy_model *m;
  uint64_t gen;       /* m->gen when the node was built */
  const char *name;   /* the parameter's (owned by the model) */
  dy_lookup *l;       /* a lookup row: the table whose touched rows backward records, */
  dy_set_lookup *sl;  /* or the graph's gradient set's list (both NULL: dense) */
  size_t off;         /* the node's first scalar in m->vals */
  uint32_t id;        /* the node */
} pnode;

/* The core's record of a variable's gradient hook (dy_variable_hook in
 * core/graph.c): the variable's aux[2] points at it. */
typedef struct {
  dy_grad_hook h;
  void *ctx;
  uint64_t key;
} var_hook;

static void touch_row(dy_lookup *l, uint32_t r) {
  if (!l->flag[r]) {
    l->flag[r] = 1;
    l->touched[l->ntouched++] = r;
  }
}

static void set_touch_row(dy_set_lookup *t, uint32_t r) {
  if (!t->flag[r]) {
    t->flag[r] = 1;
    t->touched[t->ntouched++] = r;
  }
}

static void pnode_stale(const pnode *p, const char *when) {
  dy_fail(p->g, DY_ESTALE,
          "%s: node %u (parameter '%s') was built before parameters were added to its model, which moved "
          "the model's storage; renew the graph (or build the node again) after adding parameters",
          when, (unsigned)p->id, p->name);
}

/* Backward reached the node (its gradient was added): record the row. A
 * stale node never gets here: pnode_check refused the backward first. */
static void pnode_hook(void *ctx, uint64_t key) {
  const pnode *p = ctx;
  if (p->sl) set_touch_row(p->sl, (uint32_t)key);
  else if (p->l) touch_row(p->l, (uint32_t)key);
}

/* Before any gradient is added (dy_graph_on_backward): a node at or below
 * the root whose storage moved fails the backward up front, so no other
 * parameter's gradient is added by it either. */
static int pnode_check(dy_graph *g, void *ctx, uint32_t root) {
  (void)g;
  const pnode *p = ctx;
  if (p->id > root || p->gen == p->m->gen) return 0;
  pnode_stale(p, "backward");
  return -1;
}

static int param_dim(dy_graph *g, dy_node *n) {
  (void)g;
  (void)n;
  return 0;
}

static void param_fwd(dy_graph *g, dy_node *n) {
  const pnode *p = ((const var_hook *)n->aux[2].cp)->ctx;
  if (p->gen == p->m->gen) {
    n->val = (dy_real *)n->aux[0].cp;
    return;
  }
  pnode_stale(p, "forward");
  /* a value that cannot pass for a result (the graph's data arena refuses
   * nothing small after an error; else the model's current values), and no
   * gradient into any variable from here on */
  size_t s = dy_dim_size(n->dim);
  dy_real *nan = dy_graph_data(g, s * sizeof(dy_real));
  if (nan)
    for (size_t i = 0; i < s; i++) nan[i] = (dy_real)NAN;
  n->val = nan ? nan : p->m->vals + p->off;
  for (uint32_t i = 0; i < g->n; i++)
    if (g->nodes[i].op->flags & DY_OP_VARIABLE) g->nodes[i].flags &= (uint16_t)~DY_NODE_NEEDS_GRAD;
}

/* A variable (flags and name as the core's, for dumps and messages) whose
 * forward checks the generation. */
static const dy_op op_param = {"variable", 0, DY_OP_LEAF | DY_OP_SETS_VAL | DY_OP_VARIABLE, param_dim, param_fwd,
                               NULL};

/* A node for the scalars [off, off + size(d)) of m: values, and gradients
 * added into gb + off (gb NULL: none); l / sl and row: the lookup row. */
static dy_expr param_node(dy_graph *g, dy_model *m, dy_dim d, size_t off, dy_real *gb, const char *name,
                          dy_lookup *l, dy_set_lookup *sl, uint32_t row) {
  pnode *p = dy_graph_data(g, sizeof *p);
  if (!p) return bad_expr(g);
  p->g = g;
  p->m = m;
  p->gen = m->gen;
  p->name = name;
  p->l = l;
  p->sl = sl;
  p->off = off;
  dy_expr e = dy_variable_hook(g, d, m->vals + off, gb ? gb + off : NULL, pnode_hook, p, row);
  if (!dy_expr_valid(e)) return e;
  g->nodes[e.id].op = &op_param;
  p->id = e.id;
  if (dy_graph_on_backward(g, pnode_check, p) != 0) return bad_expr(g);
  if (!atomic_load_explicit(&m->nodes_built, memory_order_relaxed)) /* no store (no cache-line traffic) once set */
    atomic_store_explicit(&m->nodes_built, 1, memory_order_relaxed);
  return dy_expr_set_name(e, name);
}

dy_expr dy_param_expr(dy_graph *g, dy_param *p) {
  if (!p) {
    if (g) dy_fail(g, DY_EARG, "dy_param_expr: parameter is NULL");
    return bad_expr(g);
  }
  if (!g || g->status != DY_OK) return bad_expr(g);
  dy_real *gb = grads_of(g, p->m, p->index, 0, "dy_param_expr");
  if (!gb) return bad_expr(g);
  return param_node(g, p->m, p->dim, p->off, gb, p->name, NULL, NULL, 0);
}

dy_expr dy_const_param_expr(dy_graph *g, dy_param *p) {
  if (!p) {
    if (g) dy_fail(g, DY_EARG, "dy_const_param_expr: parameter is NULL");
    return bad_expr(g);
  }
  if (!g || g->status != DY_OK) return bad_expr(g);
  return param_node(g, p->m, p->dim, p->off, NULL, p->name, NULL, NULL, 0);
}

static int check_row(dy_graph *g, const dy_lookup *l, uint32_t row, const char *fn) {
  if (!g) return 0;
  if (!l) {
    dy_fail(g, DY_EARG, "%s: lookup is NULL", fn);
    return 0;
  }
  if (row >= l->rows) {
    dy_fail(g, DY_EINDEX, "%s: lookup '%s': row %u out of range (the table has %u rows)", fn,
            l->name, (unsigned)row, (unsigned)l->rows);
    return 0;
  }
  return 1;
}

static dy_expr lookup_node(dy_graph *g, dy_lookup *l, uint32_t row, int with_grad, const char *fn) {
  if (!g || g->status != DY_OK || !check_row(g, l, row, fn)) return bad_expr(g);
  size_t o = l->off + (size_t)row * l->row_size;
  if (!with_grad) return param_node(g, l->m, l->dim, o, NULL, l->name, NULL, NULL, row);
  dy_grad_set *gs = g->nn_grads;
  dy_real *gb = grads_of(g, l->m, l->index, 1, fn);
  if (!gb) return bad_expr(g);
  return gs ? param_node(g, l->m, l->dim, o, gb, l->name, NULL, &gs->lk[l->index], row)
            : param_node(g, l->m, l->dim, o, gb, l->name, l, NULL, row);
}

dy_expr dy_lookup_expr(dy_graph *g, dy_lookup *l, uint32_t row) {
  return lookup_node(g, l, row, 1, "dy_lookup_expr");
}

dy_expr dy_const_lookup(dy_graph *g, dy_lookup *l, uint32_t row) {
  return lookup_node(g, l, row, 0, "dy_const_lookup");
}

/* ---------------------------------------------------- lookup_batch (an op)
 * y (row dim) x n: y_k = table[rows[k]]. aux[0] the lookup, aux[1] the row
 * list (graph data), aux[2].u = n. Its one argument is a scalar anchor
 * variable in graph data: it makes backward visit the node, carries no
 * gradient of its own (the op adds nothing to it). Backward scatter-adds y's
 * gradient into the rows' gradients in the model and records the rows as
 * touched; under dy_check_grad (bwd_redirect) it leaves the model alone. */

static int lb_dim(dy_graph *g, dy_node *n) {
  (void)g;
  const dy_lookup *l = n->aux[0].cp;
  n->dim = dy_batch(l->dim, (uint32_t)n->aux[2].u);
  return 0;
}

static void lb_fwd(dy_graph *g, dy_node *n) {
  (void)g;
  const dy_lookup *l = n->aux[0].cp;
  const uint32_t *rows = n->aux[1].cp;
  size_t rs = l->row_size;
  for (uint64_t k = 0; k < n->aux[2].u; k++)
    memcpy(n->val + k * rs, l->m->vals + l->off + (size_t)rows[k] * rs, rs * sizeof(dy_real));
}

static void lb_bwd(dy_graph *g, dy_node *n, uint32_t i) {
  (void)i;
  if (g->bwd_redirect) return;
  dy_lookup *l = n->aux[0].p;
  const uint32_t *rows = n->aux[1].cp;
  size_t rs = l->row_size;
  /* the gradient set of the graph when the node was built, after the rows */
  dy_grad_set *gs;
  memcpy(&gs, rows + n->aux[2].u + (n->aux[2].u & 1), sizeof gs);
  dy_real *gb = gs ? gs->grads : l->m->grads;
  for (uint64_t k = 0; k < n->aux[2].u; k++) {
    dy_vadd(rs, n->grad + k * rs, gb + l->off + (size_t)rows[k] * rs);
    if (gs) set_touch_row(&gs->lk[l->index], rows[k]);
    else touch_row(l, rows[k]);
  }
}

static const dy_op op_lookup_batch = {"lookup_batch", 1, 0, lb_dim, lb_fwd, lb_bwd};

dy_expr dy_lookup_batch(dy_graph *g, dy_lookup *l, const uint32_t *rows, uint32_t n) {
  if (!g || g->status != DY_OK) return bad_expr(g);
  if (!l || !rows || n == 0) {
    dy_fail(g, DY_EARG, "dy_lookup_batch: %s", !l ? "lookup is NULL" : !rows ? "rows is NULL" : "zero rows");
    return bad_expr(g);
  }
  for (uint32_t k = 0; k < n; k++)
    if (rows[k] >= l->rows) {
      dy_fail(g, DY_EINDEX, "dy_lookup_batch: lookup '%s': rows[%u] = %u out of range (the table has %u rows)",
              l->name, (unsigned)k, (unsigned)rows[k], (unsigned)l->rows);
      return bad_expr(g);
    }
  if ((uint64_t)n * l->row_size > UINT32_MAX) {
    dy_fail(g, DY_ESHAPE, "dy_lookup_batch: lookup '%s': %u rows of %zu scalars exceed 2^32", l->name,
            (unsigned)n, l->row_size);
    return bad_expr(g);
  }
  if (!grads_of(g, l->m, l->index, 1, "dy_lookup_batch")) return bad_expr(g);
  /* the rows, padded to 8 bytes, then the graph's gradient set (or NULL) */
  size_t nr = (size_t)n + (n & 1);
  dy_grad_set *gs = g->nn_grads;
  uint32_t *copy = dy_graph_data(g, nr * sizeof *copy + sizeof gs);
  dy_real *anchor = dy_graph_data(g, 2 * sizeof *anchor);
  if (!copy || !anchor) return bad_expr(g);
  memcpy(copy, rows, (size_t)n * sizeof *copy);
  memcpy(copy + nr, &gs, sizeof gs);
  anchor[0] = anchor[1] = 0;
  dy_expr a = dy_variable(g, dy_d1(1), anchor, anchor + 1);
  dy_aux aux[DY_NAUX] = {{.p = l}, {.cp = copy}, {.u = n}};
  return dy_expr_set_name(dy_apply(&op_lookup_batch, &a, 1, aux), l->name);
}

/* =========================================================== gradient sets */

dy_grad_set *dy_grad_set_new(dy_model *m) {
  if (!m) return NULL;
  dy_grad_set *s = dy_model_alloc(m, sizeof *s);
  if (!s) return NULL;
  memset(s, 0, sizeof *s);
  s->m = m;
  s->size = m->size;
  s->nparams = m->nparams;
  s->nlookups = m->nlookups;
  s->grads = dy_model_alloc(m, (m->size ? m->size : 1) * sizeof(dy_real));
  s->lk = dy_model_alloc(m, (m->nlookups ? m->nlookups : 1) * sizeof *s->lk);
  if (!s->grads || !s->lk) {
    dy_grad_set_free(s);
    return NULL;
  }
  memset(s->grads, 0, m->size * sizeof(dy_real));
  memset(s->lk, 0, (m->nlookups ? m->nlookups : 1) * sizeof *s->lk);
  for (uint32_t i = 0; i < m->nlookups; i++) {
    uint32_t rows = m->lookups[i]->rows;
    s->lk[i].flag = dy_model_alloc(m, rows);
    s->lk[i].touched = dy_model_alloc(m, (size_t)rows * sizeof(uint32_t));
    if (!s->lk[i].flag || !s->lk[i].touched) {
      dy_grad_set_free(s);
      return NULL;
    }
    memset(s->lk[i].flag, 0, rows);
  }
  return s;
}

void dy_grad_set_free(dy_grad_set *s) {
  if (!s) return;
  dy_model *m = s->m;
  if (s->lk)
    for (uint32_t i = 0; i < s->nlookups; i++) {
      dy_model_free_mem(m, s->lk[i].flag);
      dy_model_free_mem(m, s->lk[i].touched);
    }
  dy_model_free_mem(m, s->lk);
  dy_model_free_mem(m, s->grads);
  dy_model_free_mem(m, s);
}

void dy_graph_set_grads(dy_graph *g, dy_grad_set *s) {
  if (g) g->nn_grads = s;
}
