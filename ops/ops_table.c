/* The list of every op family's descriptors. */
#include <string.h>

#include "dy_ops.h"

extern const dy_op *const dy_ops_arith[];
extern const dy_op *const dy_ops_linalg[];
extern const dy_op *const dy_ops_reduce[];
extern const dy_op *const dy_ops_shape[];
extern const dy_op *const dy_ops_noise[];
extern const dy_op *const dy_ops_elementwise[];
extern const dy_op *const dy_ops_softmax[];

const dy_op *const *const dy_op_families[] = {
    dy_ops_arith,
    dy_ops_linalg,
    dy_ops_reduce,
    dy_ops_shape,
    dy_ops_noise,
    dy_ops_elementwise,
    dy_ops_softmax,
    NULL,
};

const dy_op *dy_op_find(const char *name) {
  for (size_t f = 0; dy_op_families[f]; f++)
    for (size_t i = 0; dy_op_families[f][i]; i++)
      if (strcmp(dy_op_families[f][i]->name, name) == 0) return dy_op_families[f][i];
  return NULL;
}
