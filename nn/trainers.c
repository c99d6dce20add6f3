/* Trainers: SGD, momentum SGD, Adagrad, RMSProp, Adam (+AMSGrad) behind one
 * update function, with learning-rate schedules, clipping by global L2 norm,
 * L2 weight decay, frozen parameters and sparse lookup updates.
 *
 * One update, in order:
 *  1. The global L2 norm of the gradients of every non-frozen dense parameter
 *     and of every non-frozen lookup's touched rows (all rows when sparse
 *     updates are off). A NaN or Inf anywhere: nothing changes, every
 *     gradient is cleared, DY_ENAN, dy_model_error() names the parameter (and
 *     the row of a lookup); the step count does not advance.
 *  2. Clipping: when the threshold c > 0 and the norm N > c, every gradient is
 *     scaled by c / N (DyNet's rule; on by default with c = 5).
 *  3. Weight decay: the effective gradient is ge = scale * g + lambda * p.
 *  4. The rule of the trainer on ge, elementwise, with lr the scheduled rate:
 *       SGD       p -= lr ge
 *       momentum  v = mom v - lr ge; p += v
 *       Adagrad   G += ge^2; p -= lr ge / (sqrt(G) + eps)
 *       RMSProp   r = rho r + (1 - rho) ge^2; p -= lr ge / (sqrt(r) + eps)
 *       Adam      t += 1; m = b1 m + (1-b1) ge; v = b2 v + (1-b2) ge^2;
 *                 (AMSGrad: vmax = max(vmax, v), used in place of v)
 *                 p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 *  5. Every gradient is cleared (touched lookup rows only, when sparse): the
 *     update loops zero each gradient element after reading it (one pass
 *     less over large gradients); frozen ones are cleared apart.
 *
 * Frozen parameters and lookups get no update; their gradients are ignored by
 * the norm and cleared.
 *
 * Sparse lookup updates (default): a lookup row changes only in updates in
 * which it was touched (by backward since the last update). Semantics, per
 * trainer: each row runs its OWN optimiser over the subsequence of updates in
 * which it was touched, as if those were consecutive steps.
 *  - SGD, Adagrad: identical to dense updates (an untouched row has g = 0,
 *    which changes neither its value nor its Adagrad sum) unless weight decay
 *    is on: decay then applies only to touched rows.
 *  - Momentum: the row's velocity is updated and applied only when touched;
 *    dense momentum would keep moving an untouched row by mom^k v. Lazy.
 *  - RMSProp: the row's r decays only when touched (dense: by rho each step).
 *  - Adam: m and v of the row are updated only when touched, and the bias
 *    correction uses the row's own step count t_r (kept per row), so a row
 *    touched at global steps 1, 5 and 9 gets exactly the three updates that
 *    dense Adam gives a parameter with those three gradients in a row. This
 *    is "lazy Adam" with correct bias correction; it differs from dense Adam,
 *    which would move untouched rows by their decaying first moment.
 * Dense parameters also keep their own Adam step count, so a parameter that
 * was frozen for a while resumes with the right bias correction.
 *
 * Memory: the trainer and its state come from the model's allocator; state
 * (laid out like the model's flat buffers) is allocated on the first update
 * and grown only when the model has grown, so steady updates allocate
 * nothing. Free trainers before their model.
 */
#include <math.h>
#include <string.h>

#include "nn_internal.h"
#include "dy_kernels.h"
#include "vmath.h" /* DY_VM_CLONE: AVX-512/AVX2 clones of the update loops */

/* 8 double lanes: vectorises, and the order is the same for every clone */
DY_VM_CLONE(double, sumsq_lanes, (const dy_real *restrict x, size_t n), (x, n)) {
  double acc[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t l = 0; l < 8; l++) acc[l] += (double)x[i + l] * x[i + l];
  for (size_t l = 0; i + l < n; l++) acc[l] += (double)x[i + l] * x[i + l];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double dy_nn_sumsq(const dy_real *x, size_t n) { return sumsq_lanes(x, n); }

uint32_t dy_trainer_nstate(dy_trainer_kind k, int amsgrad) {
  switch (k) {
    case DY_TR_SGD: return 0;
    case DY_TR_MOMENTUM:
    case DY_TR_ADAGRAD:
    case DY_TR_RMSPROP: return 1;
    case DY_TR_ADAM: return amsgrad ? 3 : 2;
  }
  return 0;
}

static dy_trainer *trainer_new(dy_model *m, dy_trainer_kind kind, dy_real lr) {
  if (!m) return NULL;
  dy_trainer *t = dy_model_alloc(m, sizeof *t);
  if (!t) {
    dy_model_fail(m, DY_ENOMEM, "out of memory for a trainer");
    return NULL;
  }
  memset(t, 0, sizeof *t);
  t->m = m;
  t->kind = kind;
  t->lr0 = t->lr = lr;
  t->clip = 5;
  t->sparse = 1;
  t->sched = DY_LR_CONST;
  t->sched_step = 1;
  return t;
}

/* v if v >= 0 (or > 0 for learning rates), else the default d. */
static dy_real pick(dy_real v, dy_real d) { return v >= 0 && isfinite(v) ? v : d; }
static dy_real pick_lr(dy_real v, dy_real d) { return v > 0 && isfinite(v) ? v : d; }

dy_trainer *dy_sgd_new(dy_model *m, dy_real lr) { return trainer_new(m, DY_TR_SGD, pick_lr(lr, (dy_real)0.1)); }

dy_trainer *dy_momentum_sgd_new(dy_model *m, dy_real lr, dy_real momentum) {
  dy_trainer *t = trainer_new(m, DY_TR_MOMENTUM, pick_lr(lr, (dy_real)0.01));
  if (t) t->mom = pick(momentum, (dy_real)0.9);
  return t;
}

dy_trainer *dy_adagrad_new(dy_model *m, dy_real lr, dy_real eps) {
  dy_trainer *t = trainer_new(m, DY_TR_ADAGRAD, pick_lr(lr, (dy_real)0.1));
  if (t) t->eps = pick(eps, (dy_real)1e-20);
  return t;
}

dy_trainer *dy_rmsprop_new(dy_model *m, dy_real lr, dy_real rho, dy_real eps) {
  dy_trainer *t = trainer_new(m, DY_TR_RMSPROP, pick_lr(lr, (dy_real)0.001));
  if (t) {
    t->rho = pick(rho, (dy_real)0.9);
    t->eps = pick(eps, (dy_real)1e-8);
  }
  return t;
}

dy_trainer *dy_adam_new(dy_model *m, dy_real lr, dy_real beta1, dy_real beta2, dy_real eps) {
  dy_trainer *t = trainer_new(m, DY_TR_ADAM, pick_lr(lr, (dy_real)0.001));
  if (t) {
    t->beta1 = pick(beta1, (dy_real)0.9);
    t->beta2 = pick(beta2, (dy_real)0.999);
    t->eps = pick(eps, (dy_real)1e-8);
  }
  return t;
}

void dy_trainer_set_amsgrad(dy_trainer *t, int on) {
  if (t) t->amsgrad = on != 0;
}

void dy_trainer_free(dy_trainer *t) {
  if (!t) return;
  dy_model *m = t->m;
  for (int i = 0; i < 3; i++) dy_model_free_mem(m, t->s[i]);
  dy_model_free_mem(m, t->psteps);
  dy_model_free_mem(m, t->rsteps);
  dy_model_free_mem(m, t);
}

/* ================================================================ options */

static void apply_schedule(dy_trainer *t) {
  switch (t->sched) {
    case DY_LR_CONST: t->lr = t->lr0; break;
    case DY_LR_INV: t->lr = (dy_real)(t->lr0 / (1.0 + (double)t->decay * t->epoch)); break;
    case DY_LR_STEP:
      t->lr = (dy_real)(t->lr0 * pow((double)t->decay, (double)(t->epoch / (t->sched_step ? t->sched_step : 1))));
      break;
  }
}

dy_real dy_trainer_lr(const dy_trainer *t) { return t ? t->lr : 0; }
void dy_trainer_set_lr(dy_trainer *t, dy_real lr) {
  if (!t) return;
  t->lr0 = lr;
  apply_schedule(t);
}
void dy_trainer_set_clip(dy_trainer *t, dy_real threshold) {
  if (t) t->clip = threshold;
}
void dy_trainer_set_weight_decay(dy_trainer *t, dy_real lambda) {
  if (t) t->wd = lambda;
}
void dy_trainer_set_schedule(dy_trainer *t, dy_lr_schedule s, dy_real decay, uint32_t step) {
  if (!t) return;
  t->sched = s;
  t->decay = decay;
  t->sched_step = step ? step : 1;
  apply_schedule(t);
}
void dy_trainer_set_epoch(dy_trainer *t, uint32_t epoch) {
  if (!t) return;
  t->epoch = epoch;
  apply_schedule(t);
}
void dy_trainer_set_sparse(dy_trainer *t, int sparse) {
  if (t) t->sparse = sparse != 0;
}
uint64_t dy_trainer_steps(const dy_trainer *t) { return t ? t->steps : 0; }
double dy_trainer_last_grad_norm(const dy_trainer *t) { return t ? t->last_norm : 0; }

/* ================================================================== state */

/* p (old elements of esz bytes, or NULL) grown to n elements: the old values
 * kept, the rest zero; p itself when it is large enough; NULL if out of memory
 * (p is then still valid). */
static void *grow(dy_model *m, void *p, size_t old, size_t n, size_t esz) {
  if (!p) old = 0;
  else if (old >= n) return p;
  char *q = dy_model_alloc(m, n * esz);
  if (!q) return NULL;
  if (old) memcpy(q, p, old * esz);
  memset(q + old * esz, 0, (n - old) * esz);
  dy_model_free_mem(m, p);
  return q;
}

dy_status dy_trainer_ensure_state(dy_trainer *t, uint32_t ns) {
  dy_model *m = t->m;
  int any = 0;
  for (uint32_t i = 0; i < 3; i++) {
    if (i >= ns && !t->s[i]) continue; /* not needed; existing arrays always cover the model */
    any = 1;
    if (t->s[i] && t->ssize >= m->size) continue;
    dy_real *q = grow(m, t->s[i], t->ssize, m->size, sizeof(dy_real));
    if (!q) return dy_model_fail(m, DY_ENOMEM, "out of memory for the trainer's state (%zu scalars)", m->size);
    t->s[i] = q;
  }
  if (t->kind == DY_TR_ADAM) {
    if (!t->psteps || t->npsteps < m->nparams) {
      uint64_t *q = grow(m, t->psteps, t->npsteps, m->nparams, sizeof(uint64_t));
      if (!q) return dy_model_fail(m, DY_ENOMEM, "out of memory for the trainer's step counts");
      t->psteps = q;
      t->npsteps = m->nparams;
    }
    if (!t->rsteps || t->nrsteps < m->total_rows) {
      uint64_t *q = grow(m, t->rsteps, t->nrsteps, m->total_rows, sizeof(uint64_t));
      if (!q) return dy_model_fail(m, DY_ENOMEM, "out of memory for the trainer's row step counts");
      t->rsteps = q;
      t->nrsteps = m->total_rows;
    }
  }
  if (any) t->ssize = m->size;
  if (ns > t->nstate) t->nstate = ns;
  return DY_OK;
}

/* ================================================================= update */

/* Clears every gradient the update looked at (and the touched lists). */
static void clear_grads(dy_trainer *t) {
  dy_model *m = t->m;
  for (uint32_t i = 0; i < m->nparams; i++)
    memset(m->grads + m->params[i]->off, 0, m->params[i]->size * sizeof(dy_real));
  if (t->sparse) {
    dy_model_clear_touched(m, 1);
  } else {
    dy_model_clear_touched(m, 0);
    for (uint32_t i = 0; i < m->nlookups; i++) {
      const dy_lookup *l = m->lookups[i];
      memset(m->grads + l->off, 0, (size_t)l->rows * l->row_size * sizeof(dy_real));
    }
  }
}

/* After an update (whose loops zeroed what they read): clears the frozen
 * parameters' and lookups' gradients and the touched lists. */
static void clear_after_update(dy_trainer *t) {
  dy_model *m = t->m;
  for (uint32_t i = 0; i < m->nparams; i++)
    if (m->params[i]->frozen) memset(m->grads + m->params[i]->off, 0, m->params[i]->size * sizeof(dy_real));
  for (uint32_t i = 0; i < m->nlookups; i++) {
    dy_lookup *l = m->lookups[i];
    for (uint32_t k = 0; k < l->ntouched; k++) {
      uint32_t r = l->touched[k];
      l->flag[r] = 0;
      if (l->frozen && t->sparse) memset(m->grads + l->off + (size_t)r * l->row_size, 0, l->row_size * sizeof(dy_real));
    }
    l->ntouched = 0;
    if (l->frozen && !t->sparse) memset(m->grads + l->off, 0, (size_t)l->rows * l->row_size * sizeof(dy_real));
  }
}

/* Names the first non-finite gradient for the error message. */
static void report_nan(dy_trainer *t) {
  dy_model *m = t->m;
  for (uint32_t i = 0; i < m->nparams; i++) {
    const dy_param *p = m->params[i];
    if (p->frozen) continue;
    for (size_t j = 0; j < p->size; j++)
      if (!isfinite(m->grads[p->off + j])) {
        dy_model_fail(m, DY_ENAN, "update: the gradient of parameter '%s' holds %s at element %zu; "
                      "nothing was updated and the gradients were cleared",
                      p->name, isnan(m->grads[p->off + j]) ? "NaN" : "Inf", j);
        return;
      }
  }
  for (uint32_t i = 0; i < m->nlookups; i++) {
    const dy_lookup *l = m->lookups[i];
    if (l->frozen) continue;
    uint32_t nr = t->sparse ? l->ntouched : l->rows;
    for (uint32_t k = 0; k < nr; k++) {
      uint32_t r = t->sparse ? l->touched[k] : k;
      const dy_real *g = m->grads + l->off + (size_t)r * l->row_size;
      for (size_t j = 0; j < l->row_size; j++)
        if (!isfinite(g[j])) {
          dy_model_fail(m, DY_ENAN, "update: the gradient of lookup '%s' row %u holds %s at element %zu; "
                        "nothing was updated and the gradients were cleared",
                        l->name, (unsigned)r, isnan(g[j]) ? "NaN" : "Inf", j);
          return;
        }
    }
  }
  dy_model_fail(m, DY_ENAN, "update: the global gradient norm overflows; nothing was updated and "
                "the gradients were cleared");
}

/* Global squared norm over what the update reads; -1 when not finite. */
static double grad_sumsq(const dy_trainer *t) {
  const dy_model *m = t->m;
  double s = 0;
  for (uint32_t i = 0; i < m->nparams; i++) {
    const dy_param *p = m->params[i];
    if (!p->frozen) s += dy_nn_sumsq(m->grads + p->off, p->size);
  }
  for (uint32_t i = 0; i < m->nlookups; i++) {
    const dy_lookup *l = m->lookups[i];
    if (l->frozen) continue;
    if (!t->sparse) {
      s += dy_nn_sumsq(m->grads + l->off, (size_t)l->rows * l->row_size);
      continue;
    }
    for (uint32_t k = 0; k < l->ntouched; k++)
      s += dy_nn_sumsq(m->grads + l->off + (size_t)l->touched[k] * l->row_size, l->row_size);
  }
  return s;
}

typedef struct {
  dy_real lr, scale, wd;
  double last_t, bc1, bc2; /* cached Adam bias corrections for step last_t */
} upd_ctx;

/* The rules' loops over n elements, each zeroing g[i] after reading it.
 * Vectorised clones (bitwise the scalar formulas: no fused multiply-add). */
DY_VM_CLONE_VOID(sgd_loop, (dy_real *restrict x, dy_real *restrict g, size_t n, dy_real lr, dy_real sc, dy_real wd),
                 (x, g, n, lr, sc, wd)) {
  for (size_t i = 0; i < n; i++) {
    x[i] -= lr * (sc * g[i] + wd * x[i]);
    g[i] = 0;
  }
}

DY_VM_CLONE_VOID(adam_loop,
                 (dy_real *restrict x, dy_real *restrict g, dy_real *restrict mm, dy_real *restrict vv,
                  dy_real *restrict vm, size_t n, const dy_real *restrict k),
                 (x, g, mm, vv, vm, n, k)) {
  /* k: sc, wd, b1, b2, a, ib2, eps */
  const dy_real sc = k[0], wd = k[1], b1 = k[2], b2 = k[3], a = k[4], ib2 = k[5], eps = k[6];
  if (!vm) {
    for (size_t i = 0; i < n; i++) {
      dy_real ge = sc * g[i] + wd * x[i];
      g[i] = 0;
      mm[i] = b1 * mm[i] + (1 - b1) * ge;
      vv[i] = b2 * vv[i] + (1 - b2) * ge * ge;
      x[i] -= a * mm[i] / (DY_SQRT(vv[i]) * ib2 + eps);
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    dy_real ge = sc * g[i] + wd * x[i];
    g[i] = 0;
    mm[i] = b1 * mm[i] + (1 - b1) * ge;
    vv[i] = b2 * vv[i] + (1 - b2) * ge * ge;
    vm[i] = vm[i] < vv[i] ? vv[i] : vm[i];
    x[i] -= a * mm[i] / (DY_SQRT(vm[i]) * ib2 + eps);
  }
}

/* Updates x[0..n) (state offset so) from g and zeroes g; *tc is the Adam
 * step counter. */
static void update_range(dy_trainer *t, upd_ctx *c, dy_real *x, dy_real *g, size_t n, size_t so,
                         uint64_t *tc) {
  const dy_real lr = c->lr, sc = c->scale, wd = c->wd;
  switch (t->kind) {
    case DY_TR_SGD:
      sgd_loop(x, g, n, lr, sc, wd);
      break;
    case DY_TR_MOMENTUM: {
      dy_real *v = t->s[0] + so, mom = t->mom;
      for (size_t i = 0; i < n; i++) {
        v[i] = mom * v[i] - lr * (sc * g[i] + wd * x[i]);
        g[i] = 0;
        x[i] += v[i];
      }
      break;
    }
    case DY_TR_ADAGRAD: {
      dy_real *G = t->s[0] + so, eps = t->eps;
      for (size_t i = 0; i < n; i++) {
        dy_real ge = sc * g[i] + wd * x[i];
        g[i] = 0;
        G[i] += ge * ge;
        x[i] -= lr * ge / (DY_SQRT(G[i]) + eps);
      }
      break;
    }
    case DY_TR_RMSPROP: {
      dy_real *r = t->s[0] + so, rho = t->rho, eps = t->eps;
      for (size_t i = 0; i < n; i++) {
        dy_real ge = sc * g[i] + wd * x[i];
        g[i] = 0;
        r[i] = rho * r[i] + (1 - rho) * ge * ge;
        x[i] -= lr * ge / (DY_SQRT(r[i]) + eps);
      }
      break;
    }
    case DY_TR_ADAM: {
      uint64_t step = ++*tc;
      if ((double)step != c->last_t) {
        c->last_t = (double)step;
        c->bc1 = 1 - pow((double)t->beta1, (double)step);
        c->bc2 = 1 - pow((double)t->beta2, (double)step);
      }
      dy_real k[7] = {sc, wd, t->beta1, t->beta2, (dy_real)(lr / c->bc1), (dy_real)(1 / sqrt(c->bc2)), t->eps};
      adam_loop(x, g, t->s[0] + so, t->s[1] + so, t->amsgrad ? t->s[2] + so : NULL, n, k);
      break;
    }
  }
}

dy_status dy_trainer_update(dy_trainer *t) {
  if (!t) return DY_EARG;
  dy_model *m = t->m;
  double s = grad_sumsq(t);
  t->last_norm = sqrt(s);
  if (!isfinite(s)) {
    report_nan(t);
    clear_grads(t);
    return DY_ENAN;
  }
  if (dy_trainer_ensure_state(t, dy_trainer_nstate(t->kind, t->amsgrad)) != DY_OK) {
    clear_grads(t);
    return DY_ENOMEM;
  }
  upd_ctx c = {t->lr, 1, t->wd, -1, 1, 1};
  if (t->clip > 0 && t->last_norm > t->clip) c.scale = (dy_real)(t->clip / t->last_norm);
  uint64_t dummy = 0;
  for (uint32_t i = 0; i < m->nparams; i++) {
    dy_param *p = m->params[i];
    if (p->frozen) continue;
    update_range(t, &c, m->vals + p->off, m->grads + p->off, p->size, p->off,
                 t->psteps ? &t->psteps[i] : &dummy);
  }
  for (uint32_t i = 0; i < m->nlookups; i++) {
    dy_lookup *l = m->lookups[i];
    if (l->frozen) continue;
    uint32_t nr = t->sparse ? l->ntouched : l->rows;
    for (uint32_t k = 0; k < nr; k++) {
      uint32_t r = t->sparse ? l->touched[k] : k;
      size_t o = l->off + (size_t)r * l->row_size;
      update_range(t, &c, m->vals + o, m->grads + o, l->row_size, o,
                   t->rsteps ? &t->rsteps[l->row_base + r] : &dummy);
    }
  }
  clear_after_update(t);
  t->steps++;
  return DY_OK;
}

dy_status dy_trainer_update_sets(dy_trainer *t, dy_grad_set *const *sets, uint32_t n) {
  if (!t) return DY_EARG;
  dy_model *m = t->m;
  for (uint32_t i = 0; i < n; i++)
    if (!sets || !sets[i] || sets[i]->m != m || sets[i]->size != m->size ||
        sets[i]->nparams != m->nparams || sets[i]->nlookups != m->nlookups)
      return dy_model_fail(m, DY_EARG, "update_sets: gradient set %u is %s", (unsigned)i,
                           !sets || !sets[i] ? "NULL" : sets[i]->m != m ? "of another model"
                                                      : "older than the model (parameters were added)");
  for (uint32_t i = 0; i < n; i++) dy_grad_set_merge(m, sets[i]);
  return dy_trainer_update(t);
}
