/* Internal to core/: arena functions and helpers shared by core's files. */
#ifndef DY_INTERNAL_H
#define DY_INTERNAL_H

#include "dy_op.h"

void *dy_arena_alloc(dy_graph *g, dy_arena *a, size_t n);
void dy_arena_rewind(dy_graph *g, dy_arena *a);
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
