/* dy_check_grad: central finite differences against the analytic gradient. */
#include <math.h>
#include <string.h>

#include "dy_internal.h"

/* Sum of the loss over its batch, in double, after a fresh forward. */
static int eval_loss(dy_graph *g, uint32_t id, double *f) {
  dy_graph_invalidate(g);
  dy_expr e = {g, id, g->gen};
  const dy_real *v = dy_forward(e);
  if (!v) return -1;
  double s = 0;
  for (size_t i = 0, n = dy_dim_size(g->nodes[id].dim); i < n; i++) s += v[i];
  *f = s;
  return 0;
}

dy_status dy_check_grad(dy_expr loss, dy_real h, dy_real tol, char *report, size_t rn) {
  if (report && rn) report[0] = 0;
  if (!dy_expr_valid(loss)) return loss.g ? (loss.g->status ? loss.g->status : DY_ESTALE) : DY_EARG;
  dy_graph *g = loss.g;
  g->bwd_redirect = 1;
  dy_status st = dy_backward(loss);
  g->bwd_redirect = 0;
  if (st != DY_OK) return st;

  /* Distinct variable value buffers below the loss, with summed analytic gradients. */
  uint32_t nv = 0;
  for (uint32_t i = 0; i <= loss.id; i++) {
    const dy_node *n = &g->nodes[i];
    if ((n->op->flags & DY_OP_VARIABLE) && n->aux[1].p) nv++;
  }
  typedef struct { dy_real *val; size_t size; dy_real *grad; uint32_t node; } group;
  group *gs = dy_graph_data(g, (nv ? nv : 1) * sizeof(group));
  if (!gs) return g->status;
  uint32_t ng = 0;
  for (uint32_t i = 0; i <= loss.id; i++) {
    const dy_node *n = &g->nodes[i];
    if (!(n->op->flags & DY_OP_VARIABLE) || !n->aux[1].p) continue;
    size_t s = dy_dim_size(n->dim);
    dy_real *val = (dy_real *)n->aux[0].cp;
    uint32_t k = 0;
    while (k < ng && !(gs[k].val == val && gs[k].size == s)) k++;
    if (k == ng) {
      gs[k].val = val;
      gs[k].size = s;
      gs[k].node = i;
      gs[k].grad = dy_graph_data(g, s * sizeof(dy_real));
      if (!gs[k].grad) return g->status;
      memset(gs[k].grad, 0, s * sizeof(dy_real));
      ng++;
    }
    if (n->grad)
      for (size_t j = 0; j < s; j++) gs[k].grad[j] += n->grad[j];
  }

  dy_status res = DY_OK;
  double worst = 0;
  for (uint32_t k = 0; k < ng; k++) {
    for (size_t j = 0; j < gs[k].size; j++) {
      dy_real keep = gs[k].val[j];
      double fp, fm;
      gs[k].val[j] = keep + h;
      int bad = eval_loss(g, loss.id, &fp);
      gs[k].val[j] = keep - h;
      if (!bad) bad = eval_loss(g, loss.id, &fm);
      gs[k].val[j] = keep;
      if (bad) return g->status;
      double num = (fp - fm) / (2.0 * (double)h);
      double ana = gs[k].grad[j];
      double diff = fabs(num - ana);
      double m = fabs(num) > fabs(ana) ? fabs(num) : fabs(ana);
      int fail = !isfinite(num) || !isfinite(ana) || (diff > tol && diff > tol * m);
      if (fail && (res == DY_OK || diff > worst)) {
        worst = diff;
        res = DY_EGRAD;
        if (report && rn) {
          char b[256], db[64];
          snprintf(report, rn,
                   "gradient mismatch at %s %s element %zu: analytic %.9g, numeric %.9g "
                   "(|diff| %.3g, tol %.3g)",
                   dy_node_desc(g, &g->nodes[gs[k].node], b, sizeof b),
                   dy_dim_str(g->nodes[gs[k].node].dim, db, sizeof db), j, ana, num, diff,
                   (double)tol);
        }
      }
    }
  }
  double f;
  if (eval_loss(g, loss.id, &f) != 0) return g->status;
  return res;
}
