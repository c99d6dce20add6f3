/* Internal to core/: arena functions and helpers shared by core's files. */
#ifndef DY_INTERNAL_H
#define DY_INTERNAL_H

#include "dy_op.h"

/* A block of an arena chain. */
struct dy_block {
  dy_block *next;
  void *raw;     /* what the allocator returned */
  char *mem;     /* 64-byte aligned start */
  size_t cap, used;
};

void *dy_arena_alloc_slow(dy_graph *g, dy_arena *a, size_t n, size_t align);
void dy_arena_rewind_slow(dy_graph *g, dy_arena *a);

/* n bytes aligned to align (a power of two <= 64) from arena a, or NULL when
 * out of memory. Inline: graph building and evaluation call it per node. */
static inline void *dy_arena_alloc_aligned(dy_graph *g, dy_arena *a, size_t n, size_t align) {
  dy_block *b = a->cur;
  if (b && n) {
    size_t off = (b->used + align - 1) & ~(align - 1);
    if (off + n <= b->cap) {
      b->used = off + n;
      return b->mem + off;
    }
  }
  return dy_arena_alloc_slow(g, a, n, align);
}

/* n bytes, 64-byte aligned. */
static inline void *dy_arena_alloc(dy_graph *g, dy_arena *a, size_t n) {
  return dy_arena_alloc_aligned(g, a, n, 64);
}

/* Forgets every allocation of a (O(1); a chain of several blocks is merged
 * into one, so a steady loop stops allocating). */
static inline void dy_arena_rewind(dy_graph *g, dy_arena *a) {
  if (!a->head) return;
  if (!a->head->next) {
    a->head->used = 0;
    a->cur = a->head;
    return;
  }
  dy_arena_rewind_slow(g, a);
}

/* Rewinds the scratch arena if anything was allocated since the last rewind
 * (forward and backward call it after every op: usually a load and a branch). */
static inline void dy_scratch_reset(dy_graph *g) {
  dy_block *h = g->scratch.head;
  if (h && (h->used || g->scratch.cur != h)) dy_arena_rewind(g, &g->scratch);
}

void dy_arena_free(dy_graph *g, dy_arena *a);
size_t dy_arena_used(const dy_arena *a);

/* Role of a node for dumps. */
typedef enum { DY_ROLE_OP, DY_ROLE_INPUT, DY_ROLE_VARIABLE, DY_ROLE_LOSS } dy_role;
dy_role dy_node_role(const dy_graph *g, const dy_node *n);

/* "node 7 (tanh 'h_3' t=2)" into buf. */
const char *dy_node_desc(const dy_graph *g, const dy_node *n, char *buf, size_t len);

/* Sum of squares of n values. */
double dy_sumsq(const dy_real *x, size_t n);

#endif
