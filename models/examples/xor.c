/* The smallest complete dync program: a 2-8-1 MLP learns XOR.
 * Build: cc xor.c $(pkg-config --cflags --libs dync) */
#include <stdio.h>

#include "dync.h"

int main(void) {
  dy_model *m = dy_model_new(1); /* parameters live in a model, outside graphs */
  dy_param *W = dy_model_add_param(m, "W", dy_d2(8, 2), dy_init_glorot());
  dy_param *b = dy_model_add_param(m, "b", dy_d1(8), dy_init_const(0));
  dy_param *V = dy_model_add_param(m, "V", dy_d2(1, 8), dy_init_glorot());
  dy_param *a = dy_model_add_param(m, "a", dy_d1(1), dy_init_const(0));
  dy_trainer *sgd = dy_sgd_new(m, 0.1);

  /* One graph, built once: x and y are read from these arrays at forward
   * time (dy_input_ref), so each example only changes the numbers. */
  dy_real x[2], y[1];
  dy_graph *g = dy_graph_new();
  dy_expr xe = dy_input_ref(g, dy_d1(2), x), ye = dy_input_ref(g, dy_d1(1), y);
  dy_expr h = dy_tanh(dy_affine(dy_param_expr(g, b), dy_param_expr(g, W), xe));
  dy_expr p = dy_sigmoid(dy_affine(dy_param_expr(g, a), dy_param_expr(g, V), h));
  dy_expr loss = dy_binary_log_loss(p, ye);

  for (int epoch = 1; epoch <= 300; epoch++) {
    double total = 0;
    for (int k = 0; k < 4; k++) {
      x[0] = (dy_real)(k & 1);
      x[1] = (dy_real)(k >> 1);
      y[0] = (dy_real)((k & 1) ^ (k >> 1));
      dy_graph_invalidate(g);        /* new inputs and parameters: recompute */
      total += dy_scalar(loss);      /* forward */
      dy_backward(loss);             /* gradients into the model */
      dy_trainer_update(sgd);        /* one SGD step */
    }
    if (epoch % 50 == 0) printf("epoch %d: loss %.4f\n", epoch, total / 4);
  }
  for (int k = 0; k < 4; k++) {
    x[0] = (dy_real)(k & 1);
    x[1] = (dy_real)(k >> 1);
    dy_graph_invalidate(g);
    printf("%d xor %d = %.3f\n", k & 1, k >> 1, (double)dy_scalar(p));
  }
  if (dy_graph_error(g)) fprintf(stderr, "error: %s\n", dy_graph_error(g));
  dy_graph_free(g);
  dy_trainer_free(sgd);
  dy_model_free(m);
  return 0;
}
