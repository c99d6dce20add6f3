/* Arenas: chains of 64-byte aligned blocks, rewound in O(1). The fast paths
 * (allocation inside the current block, rewinding a single block) are inline
 * in dy_internal.h; this file holds the slow paths.
 * A rewind after an example that needed more than one block replaces the
 * chain with one block of the total size, so a steady loop allocates nothing. */
#include <stdlib.h>
#include <string.h>

#include "dy_internal.h"

#define DY_ALIGN 64u
#define DY_MIN_BLOCK ((size_t)64 * 1024)

static void *galloc(dy_graph *g, size_t n) {
  g->mallocs++;
  return g->alloc.alloc(g->alloc.ctx, n);
}

static dy_block *block_new(dy_graph *g, size_t cap) {
  dy_block *b = galloc(g, sizeof *b);
  if (!b) return NULL;
  b->raw = galloc(g, cap + DY_ALIGN);
  if (!b->raw) {
    g->alloc.free(g->alloc.ctx, b);
    return NULL;
  }
  b->mem = (char *)(((uintptr_t)b->raw + DY_ALIGN - 1) & ~(uintptr_t)(DY_ALIGN - 1));
  b->cap = cap;
  b->used = 0;
  b->next = NULL;
  return b;
}

static void block_free(dy_graph *g, dy_block *b) {
  g->alloc.free(g->alloc.ctx, b->raw);
  g->alloc.free(g->alloc.ctx, b);
}

/* The slow path of dy_arena_alloc_aligned (dy_internal.h): the current block
 * is full; move to the next block of the chain or append a new one. */
void *dy_arena_alloc_slow(dy_graph *g, dy_arena *a, size_t n, size_t align) {
  if (n == 0) n = 1;
  dy_block *b = a->cur;
  while (b) {
    size_t off = (b->used + align - 1) & ~(align - 1);
    if (off <= b->cap && b->cap - off >= n) {
      b->used = off + n;
      a->cur = b;
      return b->mem + off;
    }
    if (!b->next) break;
    b = b->next;
    b->used = 0;
  }
  size_t cap = a->reserved > DY_MIN_BLOCK ? a->reserved : DY_MIN_BLOCK;
  if (cap < n) cap = (n + DY_ALIGN - 1) & ~(size_t)(DY_ALIGN - 1);
  dy_block *nb = block_new(g, cap);
  if (!nb) return NULL;
  if (b) b->next = nb; else a->head = nb;
  a->reserved += cap;
  a->nblocks++;
  nb->used = n;
  a->cur = nb;
  return nb->mem;
}

void dy_arena_rewind_slow(dy_graph *g, dy_arena *a) {
  if (!a->head) return;
  if (a->head->next) {
    /* consolidate into one block of the total size (O(blocks), not O(nodes)) */
    size_t total = a->reserved;
    dy_block *b = a->head;
    while (b) {
      dy_block *nx = b->next;
      block_free(g, b);
      b = nx;
    }
    a->head = a->cur = NULL;
    a->reserved = 0;
    a->nblocks = 0;
    dy_block *nb = block_new(g, total);
    if (!nb) return; /* next alloc retries */
    a->head = a->cur = nb;
    a->reserved = total;
    a->nblocks = 1;
    return;
  }
  a->head->used = 0;
  a->cur = a->head;
}

void dy_arena_free(dy_graph *g, dy_arena *a) {
  dy_block *b = a->head;
  while (b) {
    dy_block *nx = b->next;
    block_free(g, b);
    b = nx;
  }
  memset(a, 0, sizeof *a);
}

size_t dy_arena_used(const dy_arena *a) {
  size_t u = 0;
  for (const dy_block *b = a->head; b; b = b->next) {
    u += b->used;
    if (b == a->cur) break;
  }
  return u;
}
