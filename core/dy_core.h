/* dync core: dimensions, graphs, expressions, leaves, evaluation, errors, dumps.
 *
 * A graph holds the nodes of one example. Functions that build nodes return a
 * dy_expr, a small value {graph, node id, graph generation}; ops take no graph
 * argument. Evaluation is lazy: dy_forward(e) computes what is not yet computed
 * up to e. dy_backward(e) fills the gradients of every node that lies on a
 * path from a variable to e and accumulates (+=) them into the variables'
 * caller-owned gradient buffers. dy_graph_renew() forgets everything in O(1).
 *
 * Errors are sticky: the first bad call records one message (op, node ids,
 * shapes, what was expected), returns an invalid expression, and every later
 * call on that graph does nothing until dy_graph_renew(). No user error aborts.
 *
 * Storage: row-major dy_real (float, or double with -Dprecision=double). A
 * batch of B tensors of dim d is B contiguous blocks of dy_dim_per_batch(d).
 */
#ifndef DY_CORE_H
#define DY_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dy_config.h"

#ifdef __cplusplus
extern "C" {
#endif

#if DY_USE_DOUBLE
typedef double dy_real;
#else
typedef float dy_real;
#endif

/* ================================================================ status */
typedef enum dy_status {
  DY_OK = 0,
  DY_ESHAPE,     /* shapes of arguments do not fit the op */
  DY_EINDEX,     /* index out of range */
  DY_ESTALE,     /* expression from a renewed graph or another graph */
  DY_EARG,       /* invalid argument (NULL, zero size, bad option) */
  DY_ENONSCALAR, /* backward from a non-scalar */
  DY_ENAN,       /* NaN or Inf found (check mode, trainers) */
  DY_ENOMEM,     /* allocation failed */
  DY_EIO,        /* file could not be opened, read or written */
  DY_EFORMAT,    /* malformed file content */
  DY_ENOTFOUND,  /* a named thing does not exist */
  DY_EGRAD       /* dy_check_grad found a mismatch */
} dy_status;

/* Short English name of a status ("shape mismatch", ...). */
const char *dy_status_str(dy_status s);

/* ================================================================== dims */
#define DY_MAX_DIMS 4

/* Up to 4 dimensions plus a batch size. d[i] == 1 for i >= nd. A vector of n
 * is {n} (a column), a matrix {rows, cols}. */
typedef struct dy_dim {
  uint32_t d[DY_MAX_DIMS];
  uint32_t nd; /* 1..4 */
  uint32_t bd; /* batch size, >= 1 */
} dy_dim;

/* A vector {a}, batch 1. */
static inline dy_dim dy_d1(uint32_t a) { dy_dim r = {{a, 1, 1, 1}, 1, 1}; return r; }
/* A matrix {a, b}, batch 1. */
static inline dy_dim dy_d2(uint32_t a, uint32_t b) { dy_dim r = {{a, b, 1, 1}, 2, 1}; return r; }
/* A 3-tensor {a, b, c}, batch 1. */
static inline dy_dim dy_d3(uint32_t a, uint32_t b, uint32_t c) { dy_dim r = {{a, b, c, 1}, 3, 1}; return r; }
/* d with batch size bd. */
static inline dy_dim dy_batch(dy_dim d, uint32_t bd) { d.bd = bd; return d; }
/* Elements in one batch element. */
static inline size_t dy_dim_per_batch(dy_dim d) { return (size_t)d.d[0] * d.d[1] * d.d[2] * d.d[3]; }
/* Elements over the whole batch. */
static inline size_t dy_dim_size(dy_dim d) { return dy_dim_per_batch(d) * d.bd; }
/* Rows (d[0]) and columns (d[1]) of a matrix view. */
static inline uint32_t dy_dim_rows(dy_dim d) { return d.d[0]; }
static inline uint32_t dy_dim_cols(dy_dim d) { return d.d[1]; }
/* Same dims and batch size (trailing 1s ignored). */
int dy_dim_eq(dy_dim a, dy_dim b);
/* Same dims ignoring the batch size. */
int dy_dim_eq_nobatch(dy_dim a, dy_dim b);
/* Writes "{3,4}" or "{3,4}x8" (batch 8) into buf; returns buf. */
const char *dy_dim_str(dy_dim d, char *buf, size_t n);
/* A valid dim: 1 <= nd <= 4, every d[i] >= 1, bd >= 1, size fits 32 bits. */
int dy_dim_ok(dy_dim d);

/* ============================================================= allocator */
/* Memory for graphs (and models) comes through this hook. alloc(ctx, n) returns
 * n bytes or NULL; free(ctx, p) releases p (p may be NULL). */
typedef struct dy_allocator {
  void *(*alloc)(void *ctx, size_t n);
  void (*free)(void *ctx, void *p);
  void *ctx;
} dy_allocator;

/* The allocator backed by malloc/free. */
const dy_allocator *dy_allocator_default(void);

/* ================================================================= graph */
typedef struct dy_graph dy_graph;

/* An expression: a node of a graph. Copy it freely; it becomes invalid when
 * its graph is renewed (using it then is a DY_ESTALE error). */
typedef struct dy_expr {
  dy_graph *g;
  uint32_t id;  /* DY_INVALID_ID when invalid */
  uint32_t gen; /* graph generation the node belongs to */
} dy_expr;

#define DY_INVALID_ID UINT32_MAX
#define DY_NO_TAG INT32_MIN

/* A new empty graph (training mode, seed 1, no check). NULL if out of memory. */
dy_graph *dy_graph_new(void);
/* The same, taking all memory through alloc (copied; NULL = malloc). */
dy_graph *dy_graph_new_with(const dy_allocator *alloc);
/* Frees the graph and all its memory. NULL is allowed. */
void dy_graph_free(dy_graph *g);
/* Forgets every node, value, gradient and the error, in O(1); keeps memory,
 * seed stream, mode and check flags. Old expressions become stale. */
void dy_graph_renew(dy_graph *g);
/* The first error message since the last renew, or NULL. */
const char *dy_graph_error(const dy_graph *g);
/* The status of the first error since the last renew (DY_OK if none). */
dy_status dy_graph_status(const dy_graph *g);
/* Number of nodes in the graph. */
uint32_t dy_graph_size(const dy_graph *g);
/* Reseeds the graph's RNG (dropout, noise). Deterministic for a seed. */
void dy_graph_set_seed(dy_graph *g, uint64_t seed);
/* Next 64 random bits from the graph's RNG. */
uint64_t dy_graph_rand(dy_graph *g);
/* Training mode (1, default) or test mode (0: dropout and noise are identity). */
void dy_graph_set_train(dy_graph *g, int train);
int dy_graph_train(const dy_graph *g);
/* Check flags: DY_CHECK_NAN stops forward/backward at the first node whose
 * value or gradient holds NaN or Inf, with an error naming it. */
#define DY_CHECK_NAN 1u
/* DY_KEEP_VAR_GRADS gives every variable its own gradient of each backward
 * (dy_grad, dumps), added into the caller's buffer at the end, as before
 * gradients went straight into the buffers (see dy_backward); slower. */
#define DY_KEEP_VAR_GRADS 2u
void dy_graph_set_check(dy_graph *g, unsigned flags);
/* Time tag given to nodes built from now on (RNN builders set the step);
 * DY_NO_TAG for none. Dumps group nodes by tag. */
void dy_graph_set_tag(dy_graph *g, int32_t tag);
int32_t dy_graph_tag(const dy_graph *g);
/* Forgets computed values and gradients (not nodes): the next forward reads
 * leaves again. Use after changing memory that variables/input_ref point to. */
void dy_graph_invalidate(dy_graph *g);

/* Memory statistics of a graph. */
typedef struct dy_graph_stats {
  uint32_t nodes;
  size_t bytes_reserved;  /* arena blocks + node array */
  size_t bytes_used;      /* in use now */
  uint64_t mallocs;       /* calls to the allocator since dy_graph_new */
  uint32_t blocks;        /* arena blocks held */
} dy_graph_stats;
void dy_graph_get_stats(const dy_graph *g, dy_graph_stats *s);

/* ============================================================ expressions */
/* Non-zero when e names a live node of a graph without error. */
int dy_expr_valid(dy_expr e);
/* The dim of e (a zero dim {0} if invalid). */
dy_dim dy_expr_dim(dy_expr e);
/* Names e for dumps and error messages (the string is copied). Returns e. */
dy_expr dy_expr_set_name(dy_expr e, const char *name);

/* ================================================================= leaves */
/* A constant copied from vals now (vals holds dy_dim_size(d) values). */
dy_expr dy_input(dy_graph *g, dy_dim d, const dy_real *vals);
/* A constant read from vals at forward time; vals must outlive the forward. */
dy_expr dy_input_ref(dy_graph *g, dy_dim d, const dy_real *vals);
/* A scalar constant {1}. */
dy_expr dy_scalar_input(dy_graph *g, dy_real v);
/* Constants filled with 0, 1 or c. */
dy_expr dy_zeros(dy_graph *g, dy_dim d);
dy_expr dy_ones(dy_graph *g, dy_dim d);
dy_expr dy_constant(dy_graph *g, dy_dim d, dy_real c);
/* A variable: value read from val at forward time; backward adds (+=) dL/dval
 * into grad (same size). grad NULL makes it a constant. */
dy_expr dy_variable(dy_graph *g, dy_dim d, const dy_real *val, dy_real *grad);
/* A variable whose backward also calls hook(ctx, key) once per backward that
 * reaches it (nn uses this to record touched lookup rows). */
typedef void (*dy_grad_hook)(void *ctx, uint64_t key);
dy_expr dy_variable_hook(dy_graph *g, dy_dim d, const dy_real *val, dy_real *grad,
                         dy_grad_hook hook, void *ctx, uint64_t key);

/* ============================================================ evaluation */
/* Computes every not-yet-computed node with id <= e.id; returns e's values
 * (dy_dim_size(dy_expr_dim(e)) of them, valid until renew/invalidate) or NULL
 * on error. */
const dy_real *dy_forward(dy_expr e);
/* Forward, then the first value of e; NAN on error. */
dy_real dy_scalar(dy_expr e);
/* Backward from e, whose every batch element must hold one value (the batch
 * losses are summed). Forwards first if needed. Adds gradients into the
 * variables' buffers. 0 (DY_OK) on success, else the error status.
 * Contract: ops add a variable's gradient contributions straight into its
 * caller-owned buffer, during the backward (no per-backward copy), unless
 * the check flags hold DY_CHECK_NAN (the buffer stays clean when a NaN is
 * found) or DY_KEEP_VAR_GRADS, or under dy_check_grad; the buffer must not
 * be read or written by anything else while a backward runs. */
dy_status dy_backward(dy_expr e);
/* Gradient dL/de from the last backward, or NULL when backward did not reach
 * e (no variable below it, or not on a path to the loss). For a variable
 * with a gradient buffer this is the buffer itself, which holds the sum over
 * every backward since the caller zeroed it (dL/de of the last backward
 * alone under DY_CHECK_NAN or DY_KEEP_VAR_GRADS, or when e is the root). */
const dy_real *dy_grad(dy_expr e);

/* Finite-difference check of scalar expression loss against the analytic
 * gradient of every variable below it: central differences with step h, an
 * element fails when |a-n| > tol and |a-n| > tol*max(|a|,|n|). The variables'
 * own gradient buffers are left untouched (values are restored). Returns
 * DY_OK, DY_EGRAD (report written to `report` if non-NULL, up to n bytes), or
 * the graph's error. */
dy_status dy_check_grad(dy_expr loss, dy_real h, dy_real tol, char *report, size_t n);

/* ================================================================== dumps */
#define DY_DUMP_VALUES 1u  /* print values (full tensor when small) */
#define DY_DUMP_GRADS  2u  /* print gradients and edge gradient norms */
#define DY_DUMP_ALL    3u
/* Graphviz DOT of every node: op, name, shape, value | grad summaries, colours
 * by role (variable, input, op, loss), one cluster per time tag. */
dy_status dy_graph_dump_dot(dy_graph *g, FILE *f, unsigned flags);
/* One JSON object per line per node: id, op, name, tag, dim, args, role,
 * value/grad norms (and values when small). */
dy_status dy_graph_dump_json(dy_graph *g, FILE *f, unsigned flags);

#ifdef __cplusplus
}
#endif
#endif
