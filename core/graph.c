/* Graphs: nodes, building (dy_apply), sticky errors, leaves, evaluation. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dy_internal.h"
#include "dy_kernels.h"

/* ============================================================ utilities */

void dy_assert_fail(const char *what, const char *file, int line) {
  fprintf(stderr, "dync: internal error: %s at %s:%d\n", what, file, line);
  abort();
}

const char *dy_status_str(dy_status s) {
  switch (s) {
    case DY_OK: return "ok";
    case DY_ESHAPE: return "shape mismatch";
    case DY_EINDEX: return "index out of range";
    case DY_ESTALE: return "stale or foreign expression";
    case DY_EARG: return "invalid argument";
    case DY_ENONSCALAR: return "backward from a non-scalar";
    case DY_ENAN: return "NaN or Inf";
    case DY_ENOMEM: return "out of memory";
    case DY_EIO: return "I/O error";
    case DY_EFORMAT: return "malformed data";
    case DY_ENOTFOUND: return "not found";
    case DY_EGRAD: return "gradient check failed";
  }
  return "unknown status";
}

int dy_dim_eq_nobatch(dy_dim a, dy_dim b) {
  for (int i = 0; i < DY_MAX_DIMS; i++)
    if (a.d[i] != b.d[i]) return 0;
  return 1;
}

int dy_dim_eq(dy_dim a, dy_dim b) { return a.bd == b.bd && dy_dim_eq_nobatch(a, b); }

/* dy_dim_size(*d) when d is valid (dy_dim_ok), else 0; branch-light:
 * dy_apply checks every node's result with it. */
static inline uint32_t dim_checked_size(const dy_dim *d) {
  if (d->nd - 1u >= DY_MAX_DIMS || d->bd == 0) return 0;
  uint32_t d0 = d->d[0], d1 = d->d[1], d2 = d->d[2], d3 = d->d[3];
  if (!d0 | !d1 | !d2 | !d3) return 0;
  if ((d->nd < 2 && d1 != 1) | (d->nd < 3 && d2 != 1) | (d->nd < 4 && d3 != 1)) return 0;
  /* every factor < 2^32, so no product below overflows 64 bits */
  uint64_t a = (uint64_t)d0 * d1, b = (uint64_t)d2 * d3;
  if ((a | b) > UINT32_MAX) return 0;
  uint64_t c = a * b * d->bd; /* may wrap only when a * b > UINT32_MAX: rejected */
  return a * b <= UINT32_MAX && c <= UINT32_MAX ? (uint32_t)c : 0;
}

int dy_dim_ok(dy_dim d) { return dim_checked_size(&d) != 0; }

const char *dy_dim_str(dy_dim d, char *buf, size_t n) {
  if (n == 0) return buf;
  size_t k = 0;
  int w = snprintf(buf, n, "{");
  k = w > 0 ? (size_t)w : 0;
  uint32_t nd = d.nd < 1 ? 1 : (d.nd > DY_MAX_DIMS ? DY_MAX_DIMS : d.nd);
  for (uint32_t i = 0; i < nd && k < n; i++) {
    w = snprintf(buf + k, n - k, i ? ",%u" : "%u", (unsigned)d.d[i]);
    if (w > 0) k += (size_t)w;
  }
  if (k < n) {
    if (d.bd > 1) w = snprintf(buf + k, n - k, "}x%u", (unsigned)d.bd);
    else w = snprintf(buf + k, n - k, "}");
  }
  return buf;
}

double dy_sumsq(const dy_real *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return s;
}

static void *std_alloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void std_free(void *ctx, void *p) { (void)ctx; free(p); }
static const dy_allocator std_allocator = {std_alloc, std_free, NULL};
const dy_allocator *dy_allocator_default(void) { return &std_allocator; }

/* ================================================================ errors */

static void vfail(dy_graph *g, dy_status st, const char *prefix, const char *fmt, va_list ap) {
  if (g->status != DY_OK) return;
  g->status = st;
  size_t k = 0;
  if (prefix) {
    int w = snprintf(g->err, sizeof g->err, "%s", prefix);
    k = w > 0 ? (size_t)w : 0;
    if (k >= sizeof g->err) k = sizeof g->err - 1;
  }
  vsnprintf(g->err + k, sizeof g->err - k, fmt, ap);
}

int dy_fail(dy_graph *g, dy_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(g, st, NULL, fmt, ap);
  va_end(ap);
  return -1;
}

const char *dy_node_desc(const dy_graph *g, const dy_node *n, char *buf, size_t len) {
  uint32_t id = (uint32_t)(n - g->nodes);
  int w = snprintf(buf, len, "node %u (%s", (unsigned)id, n->op ? n->op->name : "?");
  size_t k = w > 0 ? (size_t)w : 0;
  if (n->name && k < len) {
    w = snprintf(buf + k, len - k, " '%s'", n->name);
    if (w > 0) k += (size_t)w;
  }
  if (n->tag != DY_NO_TAG && k < len) {
    w = snprintf(buf + k, len - k, " t=%d", (int)n->tag);
    if (w > 0) k += (size_t)w;
  }
  if (k < len) snprintf(buf + k, len - k, ")");
  return buf;
}

int dy_fail_node(dy_graph *g, const dy_node *n, dy_status st, const char *fmt, ...) {
  if (g->status != DY_OK) return -1;
  char pre[640];
  size_t k = 0;
  int w = snprintf(pre, sizeof pre, "%s: node %u = %s(", n->op->name,
                   (unsigned)dy_node_id(g, n), n->op->name);
  k = w > 0 ? (size_t)w : 0;
  for (uint32_t i = 0; i < n->nargs && k < sizeof pre; i++) {
    char db[64];
    const dy_node *a = &g->nodes[n->args[i]];
    w = snprintf(pre + k, sizeof pre - k, "%snode %u %s", i ? ", " : "", (unsigned)n->args[i],
                 dy_dim_str(a->dim, db, sizeof db));
    if (w > 0) k += (size_t)w;
  }
  if (k < sizeof pre) snprintf(pre + k, sizeof pre - k, "): ");
  va_list ap;
  va_start(ap, fmt);
  vfail(g, st, pre, fmt, ap);
  va_end(ap);
  return -1;
}

/* ================================================================= graph */

dy_graph *dy_graph_new_with(const dy_allocator *alloc) {
  if (!alloc) alloc = &std_allocator;
  dy_graph *g = alloc->alloc(alloc->ctx, sizeof *g);
  if (!g) return NULL;
  memset(g, 0, sizeof *g);
  g->alloc = *alloc;
  g->mallocs = 1;
  g->gen = 1;
  g->tag = DY_NO_TAG;
  g->train = 1;
  g->last_root = DY_INVALID_ID;
  dy_graph_set_seed(g, 1);
  return g;
}

dy_graph *dy_graph_new(void) { return dy_graph_new_with(NULL); }

void dy_graph_free(dy_graph *g) {
  if (!g) return;
  dy_arena_free(g, &g->data);
  dy_arena_free(g, &g->vals);
  dy_arena_free(g, &g->grads);
  dy_arena_free(g, &g->scratch);
  dy_allocator a = g->alloc;
  a.free(a.ctx, g->nodes);
  a.free(a.ctx, g);
}

void dy_graph_renew(dy_graph *g) {
  if (!g) return;
  g->n = 0;
  g->nfwd = 0;
  g->gen++;
  if (g->gen == 0) g->gen = 1;
  g->status = DY_OK;
  g->err[0] = 0;
  g->tag = DY_NO_TAG;
  g->last_root = DY_INVALID_ID;
  g->bwd_dirty = 0;
  g->bwd_checks = NULL; /* they live in the data arena */
  dy_arena_rewind(g, &g->data);
  dy_arena_rewind(g, &g->vals);
  dy_arena_rewind(g, &g->grads);
  dy_arena_rewind(g, &g->scratch);
}

void dy_graph_invalidate(dy_graph *g) {
  if (!g) return;
  g->nfwd = 0;
  g->last_root = DY_INVALID_ID;
  for (uint32_t i = 0; i < g->n; i++) {
    g->nodes[i].val = NULL;
    g->nodes[i].grad = NULL;
    g->nodes[i].flags &= (uint16_t)~(DY_NODE_LIVE | DY_NODE_GRAD_FRESH | DY_NODE_GRAD_DIRECT);
  }
  g->bwd_dirty = 0;
  dy_arena_rewind(g, &g->vals);
  dy_arena_rewind(g, &g->grads);
}

const char *dy_graph_error(const dy_graph *g) {
  if (!g) return "no graph (NULL)";
  return g->status == DY_OK ? NULL : g->err;
}
dy_status dy_graph_status(const dy_graph *g) { return g ? g->status : DY_EARG; }
uint32_t dy_graph_size(const dy_graph *g) { return g ? g->n : 0; }

void dy_graph_set_seed(dy_graph *g, uint64_t seed) {
  g->rng[0] = dy_mix64(seed);
  g->rng[1] = dy_mix64(seed ^ 0x5851f42d4c957f2dull);
}

uint64_t dy_graph_rand(dy_graph *g) {
  /* xorshift128+ */
  uint64_t s1 = g->rng[0];
  const uint64_t s0 = g->rng[1];
  g->rng[0] = s0;
  s1 ^= s1 << 23;
  g->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
  return g->rng[1] + s0;
}

void dy_graph_set_train(dy_graph *g, int train) { g->train = train != 0; }
int dy_graph_train(const dy_graph *g) { return g->train; }
void dy_graph_set_check(dy_graph *g, unsigned flags) { g->check = flags; }
void dy_graph_set_tag(dy_graph *g, int32_t tag) { g->tag = tag; }
int32_t dy_graph_tag(const dy_graph *g) { return g->tag; }

void dy_graph_get_stats(const dy_graph *g, dy_graph_stats *s) {
  memset(s, 0, sizeof *s);
  s->nodes = g->n;
  s->mallocs = g->mallocs;
  const dy_arena *as[4] = {&g->data, &g->vals, &g->grads, &g->scratch};
  for (int i = 0; i < 4; i++) {
    s->bytes_reserved += as[i]->reserved;
    s->bytes_used += dy_arena_used(as[i]);
    s->blocks += as[i]->nblocks;
  }
  s->bytes_reserved += (size_t)g->cap * sizeof(dy_node);
  s->bytes_used += (size_t)g->n * sizeof(dy_node);
}

void *dy_graph_data(dy_graph *g, size_t bytes) {
  void *p = dy_arena_alloc(g, &g->data, bytes);
  if (!p) dy_fail(g, DY_ENOMEM, "out of memory allocating %zu bytes of graph data", bytes);
  return p;
}

dy_real *dy_scratch(dy_graph *g, size_t nreals) {
  dy_real *p = dy_arena_alloc(g, &g->scratch, nreals * sizeof(dy_real));
  DY_ASSERT(p != NULL);
  return p;
}

/* ============================================================ expressions */

static inline int expr_live(dy_expr e) {
  return e.g && e.id != DY_INVALID_ID && e.gen == e.g->gen && e.id < e.g->n;
}

int dy_expr_valid(dy_expr e) { return expr_live(e) && e.g->status == DY_OK; }

dy_dim dy_expr_dim(dy_expr e) {
  if (!expr_live(e)) {
    dy_dim z = {{0, 0, 0, 0}, 0, 0};
    return z;
  }
  return e.g->nodes[e.id].dim;
}

static char *copy_str(dy_graph *g, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = dy_graph_data(g, n);
  if (p) memcpy(p, s, n);
  return p;
}

dy_expr dy_expr_set_name(dy_expr e, const char *name) {
  if (dy_expr_valid(e) && name) e.g->nodes[e.id].name = copy_str(e.g, name);
  return e;
}

static dy_expr invalid_expr(dy_graph *g) {
  dy_expr e = {g, DY_INVALID_ID, g ? g->gen : 0};
  return e;
}

#if defined(__GNUC__)
#define DY_COLD __attribute__((cold, noinline))
#else
#define DY_COLD
#endif

/* Doubles the node array; 0, or -1 with the error set. */
static DY_COLD int grow_nodes(dy_graph *g) {
  if (g->cap >= UINT32_MAX / 2)
    return dy_fail(g, DY_ENOMEM, "graph has too many nodes (%u)", (unsigned)g->n);
  uint32_t nc = g->cap ? g->cap * 2 : 1024;
  g->mallocs++;
  dy_node *nn = g->alloc.alloc(g->alloc.ctx, (size_t)nc * sizeof(dy_node));
  if (!nn) return dy_fail(g, DY_ENOMEM, "out of memory growing the graph to %u nodes", (unsigned)nc);
  if (g->n) memcpy(nn, g->nodes, (size_t)g->n * sizeof(dy_node));
  for (uint32_t i = 0; i < g->n; i++) /* argument ids held in the node move with it */
    if (nn[i].args == g->nodes[i].iargs) nn[i].args = nn[i].iargs;
  g->alloc.free(g->alloc.ctx, g->nodes);
  g->nodes = nn;
  g->cap = nc;
  return 0;
}

/* Starts node n of op: no arguments, value or gradient; the graph's tag. */
static inline void node_init(dy_graph *g, dy_node *n, const dy_op *op) {
  n->op = op;
  n->val = NULL;
  n->grad = NULL;
  n->args = NULL;
  n->nargs = 0;
  n->flags = 0;
  n->pad_ = 0;
  n->size = 0;
  n->tag = g->tag;
  n->name = NULL;
}

/* Appends a node; returns its pointer or NULL (error set). */
static inline dy_node *push_node(dy_graph *g, const dy_op *op) {
  if (g->n == g->cap && grow_nodes(g) != 0) return NULL;
  dy_node *n = &g->nodes[g->n];
  node_init(g, n, op);
  return n;
}

static const char *stale_reason(dy_expr e) {
  if (e.id == DY_INVALID_ID) return "is invalid (an earlier call failed)";
  if (e.gen != e.g->gen) return "comes from an earlier generation of its graph (renewed since)";
  return "names a node that does not exist";
}

/* The error of argument i of a node being built by op (slow path of dy_apply). */
static DY_COLD dy_expr bad_arg(dy_graph *g, const dy_op *op, uint32_t i, dy_expr a) {
  if (a.g != g)
    dy_fail(g, DY_ESTALE, "%s: argument %u belongs to another graph%s", op->name, (unsigned)i,
            a.g ? "" : " (no graph: an unset or invalid expression)");
  else
    dy_fail(g, DY_ESTALE, "%s: argument %u %s", op->name, (unsigned)i, stale_reason(a));
  return invalid_expr(g);
}

/* The errors of dy_apply other than bad arguments: wrong count, out of
 * memory for the ids (n NULL), the dim function failing or (bad_dim) an
 * invalid result dim (n the node). */
static DY_COLD dy_expr bad_apply(dy_graph *g, const dy_op *op, uint32_t nargs, dy_node *n,
                                 int bad_dim) {
  if (!n) {
    if ((op->arity >= 0 && (uint32_t)op->arity != nargs) || nargs == 0)
      dy_fail(g, DY_EARG, nargs ? "%s: expects %d argument(s), got %u"
                                : "%s: expects %d (or more) argument(s), got %u",
              op->name, op->arity < 0 ? 1 : (int)op->arity, (unsigned)nargs);
    else
      dy_fail(g, DY_ENOMEM, "%s: out of memory for the argument list of node %u", op->name,
              (unsigned)g->n);
  } else if (g->status == DY_OK) {
    char db[64];
    if (bad_dim)
      dy_fail_shape(g, n, "result dim %s is invalid (a zero or oversized dimension)",
                    dy_dim_str(n->dim, db, sizeof db));
    else
      dy_fail_shape(g, n, "invalid arguments");
  }
  return invalid_expr(g);
}

/* 8 bytes at p. */
static inline uint64_t load64(const void *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

/* a == b, every field (nd included), as three 64-bit compares. */
_Static_assert(sizeof(dy_dim) == 3 * sizeof(uint64_t), "dy_dim is six 32-bit fields");
static inline int same_dim(const dy_dim *a, const dy_dim *b) {
  const char *x = (const char *)a, *y = (const char *)b;
  return ((load64(x) ^ load64(y)) | (load64(x + 8) ^ load64(y + 8)) |
          (load64(x + 16) ^ load64(y + 16))) == 0;
}

dy_expr dy_apply(const dy_op *op, const dy_expr *args, uint32_t nargs, const dy_aux *aux) {
  dy_graph *g = nargs ? args[0].g : NULL;
  if (!g) {
    for (uint32_t i = 1; i < nargs; i++)
      if (args[i].g) { g = args[i].g; break; }
    if (!g) return invalid_expr(NULL);
  }
  if (g->status != DY_OK) return invalid_expr(g);
  if ((op->arity >= 0 && (uint32_t)op->arity != nargs) | (nargs == 0))
    return bad_apply(g, op, nargs, NULL, 0);
  /* one pass: check each argument (of g, of this generation, an existing
   * node: an invalid id is >= n), gather the gradient flag and whether
   * every argument has argument 0's dim */
  /* room for the new node first: pointers to the arguments then stay valid */
  if (g->n == g->cap && grow_nodes(g) != 0) return invalid_expr(g);
  const uint32_t gen = g->gen, nn = g->n;
  dy_node *const nodes = g->nodes, *n = &nodes[nn];
  /* the ids: in the node itself when few (the common case), else in graph
   * data (4-byte aligned, not dy_graph_data's 64: keeps build data compact) */
  uint32_t *ids = n->iargs;
  if (nargs > DY_NODE_IARGS &&
      !(ids = dy_arena_alloc_aligned(g, &g->data, nargs * sizeof(uint32_t), sizeof(uint32_t))))
    return bad_apply(g, op, nargs, NULL, 0);
  dy_expr a = args[0];
  if ((a.g != g) | (a.gen != gen) | (a.id >= nn)) return bad_arg(g, op, 0, a);
  ids[0] = a.id;
  const dy_node *a0 = &nodes[a.id];
  uint16_t ng = a0->flags;
  int same = 1;
  for (uint32_t i = 1; i < nargs; i++) {
    a = args[i];
    if ((a.g != g) | (a.gen != gen) | (a.id >= nn)) return bad_arg(g, op, i, a);
    ids[i] = a.id;
    const dy_node *ai = &nodes[a.id];
    ng |= ai->flags;
    same &= same_dim(&ai->dim, &a0->dim);
  }
  node_init(g, n, op);
  n->args = ids;
  n->nargs = nargs;
  n->flags = (op->flags & DY_OP_NOGRAD) ? 0 : (uint16_t)(ng & DY_NODE_NEEDS_GRAD);
  if (aux) memcpy(n->aux, aux, sizeof n->aux);
  else memset(n->aux, 0, sizeof n->aux);
  if (same && (op->flags & DY_OP_DIM_SAME)) { /* elementwise over arguments of one dim */
    n->dim = a0->dim;
    n->size = a0->size;
    dy_expr e = {g, g->n++, gen};
    return e;
  }
  if (op->dim(g, n) != 0 || g->status != DY_OK) return bad_apply(g, op, nargs, n, 0);
  /* a dim function that copies a valid dim may set n->size itself */
  if (!n->size && !(n->size = dim_checked_size(&n->dim))) return bad_apply(g, op, nargs, n, 1);
  dy_expr e = {g, g->n++, g->gen};
  return e;
}

static int leaf_dim(dy_graph *g, dy_node *n) { (void)g; (void)n; return 0; }

dy_expr dy_apply_leaf(dy_graph *g, const dy_op *op, dy_dim d, const dy_aux *aux) {
  if (!g) return invalid_expr(NULL);
  if (g->status != DY_OK) return invalid_expr(g);
  if (!dy_dim_ok(d)) {
    char db[64];
    dy_fail(g, DY_ESHAPE, "%s: node %u: dim %s is invalid (need 1-4 dims, each >= 1, batch >= 1)",
            op->name, (unsigned)g->n, dy_dim_str(d, db, sizeof db));
    return invalid_expr(g);
  }
  dy_node *n = push_node(g, op);
  if (!n) return invalid_expr(g);
  n->dim = d;
  n->size = (uint32_t)dy_dim_size(d);
  if (aux) memcpy(n->aux, aux, sizeof n->aux);
  else memset(n->aux, 0, sizeof n->aux);
  if (op->dim && op->dim != leaf_dim && op->dim(g, n) != 0) return invalid_expr(g);
  dy_expr e = {g, g->n++, g->gen};
  return e;
}

/* ================================================================= leaves */
/* aux[0]: value pointer (caller's or graph data); aux[1]: grad buffer;
 * aux[0].f for constants. */

static void ref_fwd(dy_graph *g, dy_node *n) { (void)g; n->val = (dy_real *)n->aux[0].cp; }
static void const_fwd(dy_graph *g, dy_node *n) {
  (void)g;
  size_t s = dy_dim_size(n->dim);
  dy_real c = (dy_real)n->aux[0].f;
  for (size_t i = 0; i < s; i++) n->val[i] = c;
}

static const dy_op op_input = {"input", 0, DY_OP_LEAF | DY_OP_SETS_VAL | DY_OP_INPUT, leaf_dim, ref_fwd, NULL};
static const dy_op op_input_ref = {"input_ref", 0, DY_OP_LEAF | DY_OP_SETS_VAL | DY_OP_INPUT, leaf_dim, ref_fwd, NULL};
static const dy_op op_constant = {"constant", 0, DY_OP_LEAF | DY_OP_INPUT, leaf_dim, const_fwd, NULL};
static const dy_op op_variable = {"variable", 0, DY_OP_LEAF | DY_OP_SETS_VAL | DY_OP_VARIABLE, leaf_dim, ref_fwd, NULL};

static int need_vals(dy_graph *g, const char *op, const void *p) {
  if (!g) return 0;
  if (g->status != DY_OK) return 0;
  if (!p) {
    dy_fail(g, DY_EARG, "%s: node %u: value pointer is NULL", op, (unsigned)g->n);
    return 0;
  }
  return 1;
}

dy_expr dy_input(dy_graph *g, dy_dim d, const dy_real *vals) {
  if (!need_vals(g, "input", vals)) return invalid_expr(g);
  if (!dy_dim_ok(d)) return dy_apply_leaf(g, &op_input, d, NULL); /* reports */
  size_t s = dy_dim_size(d);
  dy_real *copy = dy_graph_data(g, s * sizeof(dy_real));
  if (!copy) return invalid_expr(g);
  memcpy(copy, vals, s * sizeof(dy_real));
  dy_aux aux[DY_NAUX] = {{.cp = copy}, {0}, {0}};
  return dy_apply_leaf(g, &op_input, d, aux);
}

dy_expr dy_input_ref(dy_graph *g, dy_dim d, const dy_real *vals) {
  if (!need_vals(g, "input_ref", vals)) return invalid_expr(g);
  dy_aux aux[DY_NAUX] = {{.cp = vals}, {0}, {0}};
  return dy_apply_leaf(g, &op_input_ref, d, aux);
}

dy_expr dy_constant(dy_graph *g, dy_dim d, dy_real c) {
  dy_aux aux[DY_NAUX] = {{.f = c}, {0}, {0}};
  return dy_apply_leaf(g, &op_constant, d, aux);
}
dy_expr dy_zeros(dy_graph *g, dy_dim d) { return dy_constant(g, d, 0); }
dy_expr dy_ones(dy_graph *g, dy_dim d) { return dy_constant(g, d, 1); }
dy_expr dy_scalar_input(dy_graph *g, dy_real v) { return dy_constant(g, dy_d1(1), v); }

dy_expr dy_variable_hook(dy_graph *g, dy_dim d, const dy_real *val, dy_real *grad,
                         dy_grad_hook hook, void *ctx, uint64_t key) {
  if (!need_vals(g, "variable", val)) return invalid_expr(g);
  dy_aux aux[DY_NAUX] = {{.cp = val}, {.p = grad}, {0}};
  if (hook) {
    /* hook, ctx, key stored in graph data: aux[2] points at it */
    struct hk { dy_grad_hook h; void *ctx; uint64_t key; } *h = dy_graph_data(g, sizeof *h);
    if (!h) return invalid_expr(g);
    h->h = hook;
    h->ctx = ctx;
    h->key = key;
    aux[2].p = h;
  }
  dy_expr e = dy_apply_leaf(g, &op_variable, d, aux);
  if (grad && dy_expr_valid(e)) g->nodes[e.id].flags |= DY_NODE_NEEDS_GRAD;
  return e;
}

dy_expr dy_variable(dy_graph *g, dy_dim d, const dy_real *val, dy_real *grad) {
  return dy_variable_hook(g, d, val, grad, NULL, NULL, 0);
}

static void call_hook(const dy_node *n) {
  struct hk { dy_grad_hook h; void *ctx; uint64_t key; };
  const struct hk *h = n->aux[2].cp;
  if (h) h->h(h->ctx, h->key);
}

dy_role dy_node_role(const dy_graph *g, const dy_node *n) {
  if (g->last_root != DY_INVALID_ID && dy_node_id(g, n) == g->last_root) return DY_ROLE_LOSS;
  if (n->op->flags & DY_OP_VARIABLE) return DY_ROLE_VARIABLE;
  if (n->op->flags & DY_OP_LEAF) return DY_ROLE_INPUT;
  return DY_ROLE_OP;
}

/* ============================================================ evaluation */

static int expr_usable(dy_expr e, const char *what) {
  if (!e.g) return 0;
  if (e.g->status != DY_OK) return 0;
  if (!expr_live(e)) {
    dy_fail(e.g, DY_ESTALE, "%s: expression %s", what, stale_reason(e));
    return 0;
  }
  return 1;
}

static int nonfinite(const dy_real *x, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return 1;
  return 0;
}

static void nan_error(dy_graph *g, const dy_node *n, const char *where) {
  char b[256], db[64];
  dy_fail(g, DY_ENAN, "check: %s %s holds NaN or Inf in its %s", dy_node_desc(g, n, b, sizeof b),
          dy_dim_str(n->dim, db, sizeof db), where);
}

static int forward_to(dy_graph *g, uint32_t last) {
  const unsigned check = g->check;
  for (uint32_t i = g->nfwd; i <= last; i++) {
    dy_node *n = &g->nodes[i];
    const dy_op *op = n->op;
    if (!(op->flags & DY_OP_SETS_VAL)) {
      n->val = dy_arena_alloc(g, &g->vals, (size_t)n->size * sizeof(dy_real));
      if (!n->val) {
        char b[256];
        g->nfwd = i;
        dy_fail(g, DY_ENOMEM, "forward: out of memory for the value of %s",
                dy_node_desc(g, n, b, sizeof b));
        return -1;
      }
    }
    op->forward(g, n);
    dy_scratch_reset(g);
    if ((check & DY_CHECK_NAN) && nonfinite(n->val, n->size)) {
      g->nfwd = i + 1;
      nan_error(g, n, "forward value");
      return -1;
    }
  }
  g->nfwd = last + 1;
  return g->status == DY_OK ? 0 : -1; /* an op's forward may fail the graph (a stale parameter) */
}

const dy_real *dy_forward(dy_expr e) {
  if (!expr_usable(e, "forward")) return NULL;
  dy_graph *g = e.g;
  if (e.id >= g->nfwd && forward_to(g, e.id) != 0) return NULL;
  return g->nodes[e.id].val;
}

dy_real dy_scalar(dy_expr e) {
  const dy_real *v = dy_forward(e);
  return v ? v[0] : (dy_real)NAN;
}

const dy_real *dy_grad(dy_expr e) {
  if (!expr_live(e) || e.g->status != DY_OK) return NULL;
  return e.g->nodes[e.id].grad;
}

/* An uninitialised gradient for n (NULL when out of memory). */
static inline dy_real *grad_alloc(dy_graph *g, const dy_node *n) {
  return dy_arena_alloc(g, &g->grads, (size_t)n->size * sizeof(dy_real));
}

struct dy_bwd_check {
  int (*fn)(dy_graph *g, void *ctx, uint32_t root);
  void *ctx;
  struct dy_bwd_check *next;
};

int dy_graph_on_backward(dy_graph *g, int (*fn)(dy_graph *g, void *ctx, uint32_t root), void *ctx) {
  if (!g || !fn) return -1;
  struct dy_bwd_check *c =
      dy_arena_alloc_aligned(g, &g->data, sizeof *c, _Alignof(struct dy_bwd_check));
  if (!c) return dy_fail(g, DY_ENOMEM, "out of memory registering a backward check");
  c->fn = fn;
  c->ctx = ctx;
  c->next = g->bwd_checks;
  g->bwd_checks = c;
  return 0;
}

dy_status dy_backward(dy_expr e) {
  if (!expr_usable(e, "backward")) return e.g ? (e.g->status ? e.g->status : DY_ESTALE) : DY_EARG;
  dy_graph *g = e.g;
  dy_node *root = &g->nodes[e.id];
  if (dy_dim_per_batch(root->dim) != 1) {
    char b[256], db[64];
    dy_fail(g, DY_ENONSCALAR,
            "backward: %s has dim %s; backward needs one value per batch element (a scalar "
            "loss; sum_elems or sum_batches reduces)",
            dy_node_desc(g, root, b, sizeof b), dy_dim_str(root->dim, db, sizeof db));
    return g->status;
  }
  if (e.id >= g->nfwd && forward_to(g, e.id) != 0) return g->status;
  for (const struct dy_bwd_check *c = g->bwd_checks; c; c = c->next)
    if (c->fn(g, c->ctx, e.id) != 0) {
      if (g->status == DY_OK) dy_fail(g, DY_EARG, "backward: refused by a check registered on the graph");
      return g->status;
    }
  dy_arena_rewind(g, &g->grads);
  g->last_root = e.id;
  /* Forget an earlier backward: only nodes it can have reached (those up to
   * its root) hold flags or gradients; a graph's first backward skips this. */
  for (uint32_t i = 0, m = g->bwd_dirty < g->n ? g->bwd_dirty : g->n; i < m; i++) {
    dy_node *n = &g->nodes[i];
    n->flags &= (uint16_t)~(DY_NODE_LIVE | DY_NODE_GRAD_FRESH | DY_NODE_GRAD_DIRECT);
    n->grad = NULL;
  }
  root = &g->nodes[e.id];
  if (!(root->flags & DY_NODE_NEEDS_GRAD)) {
    g->bwd_dirty = 0;
    return DY_OK;
  }
  if (e.id + 1 > g->bwd_dirty) g->bwd_dirty = e.id + 1;
  root->grad = grad_alloc(g, root);
  if (!root->grad) {
    dy_fail(g, DY_ENOMEM, "backward: out of memory");
    return g->status;
  }
  for (size_t k = 0, s = root->size; k < s; k++) root->grad[k] = 1;
  root->flags |= DY_NODE_LIVE;
  /* A gradient is allocated when the first contribution to it is due. An op
   * with DY_OP_BWD_ASSIGN writes that first contribution over the
   * uninitialised memory (the node is marked fresh during the call); for any
   * other op it is zero-filled first. Every later contribution adds.
   * A variable's gradient is its caller's buffer itself (contributions add
   * straight into it, never fresh) unless the root is the variable, under
   * dy_check_grad (bwd_redirect: the caller's buffers stay untouched), in
   * NaN check mode (a NaN must be caught before it reaches the buffer) and
   * with DY_KEEP_VAR_GRADS: then it gets an arena gradient, added into the
   * buffer at the variable's turn. Direct or not, the buffer receives the
   * same contributions; only their rounding order differs (buffer + c1 + c2
   * instead of buffer + (c1 + c2)). */
  const int direct = !g->bwd_redirect && !(g->check & (DY_CHECK_NAN | DY_KEEP_VAR_GRADS));
  const int check_nan = (g->check & DY_CHECK_NAN) != 0;
  for (uint32_t i = e.id + 1; i-- > 0;) {
    dy_node *n = &g->nodes[i];
    if ((n->flags & (DY_NODE_LIVE | DY_NODE_NEEDS_GRAD)) != (DY_NODE_LIVE | DY_NODE_NEEDS_GRAD))
      continue;
    const dy_op *op = n->op;
    if (check_nan && nonfinite(n->grad, n->size)) {
      nan_error(g, n, "gradient");
      return g->status;
    }
    if (op->flags & DY_OP_LEAF) {
      if (op->flags & DY_OP_VARIABLE) {
        dy_real *dst = n->aux[1].p;
        if (dst && !g->bwd_redirect && !(n->flags & DY_NODE_GRAD_DIRECT))
          dy_vadd(n->size, n->grad, dst);
        call_hook(n);
      }
      continue;
    }
    const uint32_t *args = n->args;
    for (uint32_t j = 0, na = n->nargs; j < na; j++) {
      dy_node *a = &g->nodes[args[j]];
      if (!(a->flags & DY_NODE_NEEDS_GRAD)) continue;
      if (!(a->flags & DY_NODE_LIVE)) { /* the first contribution */
        if (direct && (a->op->flags & DY_OP_VARIABLE)) {
          a->grad = a->aux[1].p; /* NEEDS_GRAD: not NULL */
          a->flags |= DY_NODE_LIVE | DY_NODE_GRAD_DIRECT;
        } else {
          a->grad = grad_alloc(g, a);
          if (!a->grad) {
            dy_fail(g, DY_ENOMEM, "backward: out of memory");
            return g->status;
          }
          if (op->flags & DY_OP_BWD_ASSIGN) a->flags |= DY_NODE_LIVE | DY_NODE_GRAD_FRESH;
          else {
            memset(a->grad, 0, (size_t)a->size * sizeof(dy_real));
            a->flags |= DY_NODE_LIVE;
          }
        }
      }
      op->backward(g, n, j);
      a->flags &= (uint16_t)~DY_NODE_GRAD_FRESH;
      dy_scratch_reset(g);
    }
  }
  return DY_OK;
}
