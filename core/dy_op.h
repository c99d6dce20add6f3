/* dync op interface: what an op is to the engine, and how to write one.
 *
 * An op is one constant dy_op descriptor: name, arity, a shape function that
 * checks the arguments when the node is built, a forward that fills the node's
 * value, and a backward that, for one argument at a time, ADDS (+=) that
 * argument's share of the gradient into the argument's grad. Core knows ops
 * only through these descriptors; ops/ holds the families, each a file.
 *
 * Writing an op:
 *   static int add_dim(dy_graph *g, dy_node *n) { ... n->dim = ...; return 0;
 *                                                  or return dy_fail_shape(g, n, "..."); }
 *   static void add_fwd(dy_graph *g, dy_node *n) { y = n->val; x = dy_arg(g, n, 0)->val ... }
 *   static void add_bwd(dy_graph *g, dy_node *n, uint32_t i) { dy_arg(g,n,i)->grad += ... }
 *   const dy_op dy_op_add = { "add", 2, 0, add_dim, add_fwd, add_bwd };
 *   dy_expr dy_add(dy_expr a, dy_expr b) { dy_expr x[2] = {a, b};
 *                                          return dy_apply(&dy_op_add, x, 2, NULL); }
 *
 * Contracts:
 * - forward writes every element of n->val (allocated, uninitialised) unless
 *   the op has DY_OP_SETS_VAL, in which case forward points n->val itself.
 * - backward is only called for arguments whose node needs a gradient; their
 *   grad is allocated and holds the sum of earlier contributions, except that
 *   an op with DY_OP_BWD_ASSIGN may be given a fresh (uninitialised) grad,
 *   marked by dy_grad_fresh(arg): it must then WRITE (=) every element of it
 *   in that call instead of adding (this saves zero-filling it).
 * - an argument's grad may be a variable's caller-owned gradient buffer
 *   (DY_NODE_GRAD_DIRECT, see dy_backward in dy_core.h): never fresh, it
 *   holds earlier sums too, so backward only ever adds to it.
 * - n->grad and every argument's val are valid during backward.
 * - Scratch memory: dy_scratch() during forward/backward, released after the call.
 */
#ifndef DY_OP_H
#define DY_OP_H

#include <math.h>
#include <stdarg.h>
#include "dy_core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dy_node dy_node;

/* Small per-node parameters of an op (an index, a scalar, a pointer). */
typedef union dy_aux {
  void *p;
  const void *cp;
  double f;
  int64_t i;
  uint64_t u;
} dy_aux;
#define DY_NAUX 3

struct dy_op;

/* A graph node. Nodes live in the graph's node array; pointers to nodes are
 * invalidated by building new nodes (use ids across builds). */
struct dy_node {
  const struct dy_op *op;
  dy_real *val;          /* (dim) forward value; NULL until computed */
  dy_real *grad;         /* (dim) dL/dnode; NULL unless backward reached it */
  const uint32_t *args;  /* nargs argument node ids, all < this node's id */
  dy_dim dim;
  uint32_t nargs;
  uint16_t flags;        /* DY_NODE_* */
  uint16_t pad_;
  int32_t tag;           /* time tag or DY_NO_TAG */
  uint32_t size;         /* dy_dim_size(dim), set when the node is built */
  const char *name;      /* NULL or a name copied into the graph */
  dy_aux aux[DY_NAUX];   /* op parameters */
  /* the ids of up to DY_NODE_IARGS arguments (args then points here); also
   * pads the node to 128 bytes: a node's address is a shift of its id */
  uint32_t iargs[6];
};
#define DY_NODE_IARGS 6u

#define DY_NODE_NEEDS_GRAD 1u /* some variable lies below: backward visits it */
#define DY_NODE_LIVE       2u /* on a path to the current backward root */
#define DY_NODE_GRAD_FRESH 4u /* grad allocated, not yet written (DY_OP_BWD_ASSIGN) */
#define DY_NODE_GRAD_DIRECT 8u /* a variable whose grad IS its caller's buffer (aux[1]) */

typedef struct dy_op {
  const char *name;
  int32_t arity;      /* number of arguments; -1: one or more */
  uint32_t flags;     /* DY_OP_* */
  /* Checks argument dims and sets n->dim; returns 0, or dy_fail_*()'s value.
   * It may also set n->size (0 on entry) when n->dim is a copy of a valid dim
   * (an argument's, batch included): dy_apply then skips checking it. */
  int (*dim)(dy_graph *g, dy_node *n);
  /* Fills n->val from the arguments' values. */
  void (*forward)(dy_graph *g, dy_node *n);
  /* Adds dL/d(arg i) into dy_arg(g, n, i)->grad, from n->grad. NULL for leaves. */
  void (*backward)(dy_graph *g, dy_node *n, uint32_t i);
} dy_op;

#define DY_OP_LEAF      1u  /* no arguments; a value source */
#define DY_OP_SETS_VAL  2u  /* forward sets n->val itself (no allocation) */
#define DY_OP_NOGRAD    4u  /* output never carries a gradient (nobackprop) */
#define DY_OP_VARIABLE  8u  /* a variable leaf (aux[0] val, aux[1] grad buffer) */
#define DY_OP_INPUT    16u  /* an input/constant leaf (for dumps) */
#define DY_OP_RANDOM   32u  /* forward draws from aux seed (dumps, docs) */
#define DY_OP_BWD_ASSIGN 64u /* backward writes a fresh argument grad (see dy_grad_fresh) */
/* When every argument has argument 0's dim (batch included), the result's
 * dim is that dim: dy_apply then copies it without calling dim()
 * (elementwise ops; dim() handles broadcasting and errors). */
#define DY_OP_DIM_SAME 128u

/* In backward of an op with DY_OP_BWD_ASSIGN: nonzero when a's grad is
 * uninitialised and this call must write all of it rather than add to it. */
static inline int dy_grad_fresh(const dy_node *a) { return (a->flags & DY_NODE_GRAD_FRESH) != 0; }

/* Arena, graph: visible to op writers; users see dy_graph as opaque. */
typedef struct dy_block dy_block;
typedef struct dy_arena {
  dy_block *head;   /* first block */
  dy_block *cur;    /* block allocations come from */
  size_t reserved;  /* sum of block capacities */
  uint32_t nblocks;
} dy_arena;

struct dy_graph {
  dy_node *nodes;
  uint32_t n, cap;      /* nodes in use, capacity */
  uint32_t gen;         /* generation, bumped by renew */
  uint32_t nfwd;        /* nodes [0, nfwd) have values */
  int32_t tag;
  unsigned check;
  int train;
  dy_status status;
  int bwd_redirect;     /* dy_check_grad: variables get arena gradients */
  uint32_t bwd_dirty;   /* nodes [0, bwd_dirty) may hold flags/grads of an earlier backward */
  void *nn_grads;       /* nn/: the dy_grad_set receiving parameter gradients (NULL: the model) */
  struct dy_bwd_check *bwd_checks; /* run first by dy_backward (dy_graph_on_backward); renew drops */
  uint32_t last_root;   /* root of the last backward, or DY_INVALID_ID */
  uint64_t rng[2];
  uint64_t mallocs;
  dy_allocator alloc;
  dy_arena data;        /* build-time data: args, names, copies; renew rewinds */
  dy_arena vals;        /* forward values; renew/invalidate rewinds */
  dy_arena grads;       /* gradients; each backward rewinds */
  dy_arena scratch;     /* per-call scratch of forward/backward */
  char err[1024];
};

/* Node i of g. */
static inline dy_node *dy_node_at(dy_graph *g, uint32_t i) { return &g->nodes[i]; }
/* Argument i of node n. */
static inline dy_node *dy_arg(dy_graph *g, const dy_node *n, uint32_t i) { return &g->nodes[n->args[i]]; }
/* Id of node n. */
static inline uint32_t dy_node_id(const dy_graph *g, const dy_node *n) { return (uint32_t)(n - g->nodes); }

/* Builds a node of op over args (all of one graph; checked) with parameters
 * aux (DY_NAUX entries, or NULL for zeros). On any error records it and
 * returns an invalid expression. */
dy_expr dy_apply(const dy_op *op, const dy_expr *args, uint32_t nargs, const dy_aux *aux);
/* Builds a leaf node of dim d in g. */
dy_expr dy_apply_leaf(dy_graph *g, const dy_op *op, dy_dim d, const dy_aux *aux);

/* Build-time memory owned by the graph until renew (64-byte aligned), or NULL
 * and the graph error set. */
void *dy_graph_data(dy_graph *g, size_t bytes);
/* Registers a check that dy_backward(root) runs before it adds any gradient
 * (after the forward it may run itself): fn(g, ctx, root) returns 0, or
 * fails the graph (dy_fail) and returns nonzero, and backward then changes
 * nothing. Kept until dy_graph_renew; ctx must live as long (graph data).
 * nn/ uses it to refuse a backward over parameter nodes whose model storage
 * moved. 0, or -1 with the graph error set (out of memory). */
int dy_graph_on_backward(dy_graph *g, int (*fn)(dy_graph *g, void *ctx, uint32_t root), void *ctx);
/* Scratch memory for one forward/backward call (64-byte aligned); never NULL
 * (out of memory here is fatal: it is checked like an internal invariant). */
dy_real *dy_scratch(dy_graph *g, size_t nreals);

/* Records a shape/argument error for node n being built: the message names
 * op, node id, every argument with its id and dim, then the printf-formatted
 * explanation. Returns -1 (for `return dy_fail_shape(...)` in dim functions). */
int dy_fail_node(dy_graph *g, const dy_node *n, dy_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#define dy_fail_shape(g, n, ...) dy_fail_node((g), (n), DY_ESHAPE, __VA_ARGS__)
/* Records a graph error (first one wins). Returns -1. */
int dy_fail(dy_graph *g, dy_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Random numbers for ops: a counter-based stream from a 64-bit seed, so a
 * node's draws do not depend on evaluation order. */
static inline uint64_t dy_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
/* Uniform in [0, 1) from the k-th draw of seed. */
static inline double dy_unif(uint64_t seed, uint64_t k) { return (double)(dy_mix64(seed ^ dy_mix64(k)) >> 11) * 0x1.0p-53; }

/* Always-on internal invariant check: prints file:line and aborts. Only for
 * conditions a user cannot cause. */
#define DY_ASSERT(c) do { if (!(c)) dy_assert_fail(#c, __FILE__, __LINE__); } while (0)
void dy_assert_fail(const char *what, const char *file, int line);

/* Math in the build's precision. */
#if DY_USE_DOUBLE
#define DY_EXP exp
#define DY_LOG log
#define DY_TANH tanh
#define DY_SQRT sqrt
#define DY_FABS fabs
#define DY_POW pow
#define DY_LOG1P log1p
#define DY_EXPM1 expm1
#else
#define DY_EXP expf
#define DY_LOG logf
#define DY_TANH tanhf
#define DY_SQRT sqrtf
#define DY_FABS fabsf
#define DY_POW powf
#define DY_LOG1P log1pf
#define DY_EXPM1 expm1f
#endif

#ifdef __cplusplus
}
#endif
#endif
