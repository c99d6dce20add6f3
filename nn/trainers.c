/* Trainers: SGD, momentum SGD, Adagrad, RMSProp, Adam (+AMSGrad) behind one
 * update function, with learning-rate schedules, clipping by global L2 norm,
 * L2 weight decay, frozen parameters and sparse lookup updates.
 *
 * One update, in order:
 *  1. The global L2 norm of the gradients of every non-frozen dense parameter
 *     and of every non-frozen lookup's touched rows (all rows when sparse
 *     updates are off), summed in double in a fixed order (update_par below:
 *     the same bits however many threads share the update; with gradient
 *     sets, merging them and summing is one pass). A NaN or Inf anywhere:
 *     nothing changes, every gradient is cleared, DY_ENAN, dy_model_error()
 *     names the parameter (and the row of a lookup); the step count does not
 *     advance.
 *  2. Clipping: when the threshold c > 0 and the norm N > c, every gradient is
 *     scaled by c / N (DyNet's rule; on by default with c = 5). Most updates
 *     are not clipped: with no scale and no weight decay, SGD and Adam run
 *     loops without those multiplies (the same values, up to the sign of a
 *     zero parameter).
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

/* Sums of squares over SQ_LANES lanes: element i of a range goes to lane
 * i % SQ_LANES, squared and summed in dy_real within chunks of SQ_CHUNK
 * elements (16 terms per lane: float keeps about 7 digits there), the chunks'
 * lanes summed in double, the lanes combined in one fixed tree. No multiply-
 * add is fused (ISO C), so every clone gives the same bits. float squares
 * vectorise 16 to an AVX-512 register with no conversion: 2-2.5x faster than
 * squaring in double, and the norm is only a clipping scale. A square that
 * overflows float (|g| > 1.8e19) would read as Inf: a non-finite result is
 * recomputed in double, so only a real NaN or Inf in g reports one. */
#define SQ_LANES 64
#define SQ_CHUNK 1024

DY_VM_INLINE double sq_combine(const double *a) {
  double v[8];
  for (int l = 0; l < 8; l++)
    v[l] = ((a[l] + a[8 + l]) + (a[16 + l] + a[24 + l])) + ((a[32 + l] + a[40 + l]) + (a[48 + l] + a[56 + l]));
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

/* the squares of x[0..n) in double, one lane (the slow path) */
static double sumsq_double(const dy_real *x, size_t n) {
  double a = 0;
  for (size_t i = 0; i < n; i++) a += (double)x[i] * x[i];
  return a;
}

/* Adds the squares of the chunk x[0..n) (n <= SQ_CHUNK) to the lanes a. */
DY_VM_INLINE void sq_chunk(const dy_real *restrict x, size_t n, double *restrict a) {
  dy_real f[SQ_LANES] = {0};
  size_t i = 0;
  for (; i + SQ_LANES <= n; i += SQ_LANES)
    for (int l = 0; l < SQ_LANES; l++) f[l] += x[i + l] * x[i + l];
  for (size_t l = 0; i + l < n; l++) f[l] += x[i + l] * x[i + l];
  for (int l = 0; l < SQ_LANES; l++) a[l] += (double)f[l];
}

DY_VM_CLONE(double, sumsq_lanes, (const dy_real *restrict x, size_t n), (x, n)) {
  double a[SQ_LANES] = {0};
  for (size_t i = 0; i < n; i += SQ_CHUNK) sq_chunk(x + i, n - i < SQ_CHUNK ? n - i : SQ_CHUNK, a);
  double s = sq_combine(a);
  return isfinite(s) ? s : sumsq_double(x, n);
}

/* y += s; s = 0; and the sum of squares of the new y (lanes as sumsq_lanes):
 * a gradient set merged and measured in one pass per chunk (the chunk's y is
 * still in L1 when it is squared). */
DY_VM_CLONE(double, add_clear_sumsq, (dy_real *restrict s, dy_real *restrict y, size_t n), (s, y, n)) {
  double a[SQ_LANES] = {0};
  for (size_t i = 0; i < n; i += SQ_CHUNK) {
    size_t m = n - i < SQ_CHUNK ? n - i : SQ_CHUNK;
    for (size_t j = i; j < i + m; j++) {
      y[j] += s[j];
      s[j] = 0;
    }
    sq_chunk(y + i, m, a);
  }
  double r = sq_combine(a);
  return isfinite(r) ? r : sumsq_double(y, n);
}

/* y += s; s = 0 (one pass) */
DY_VM_CLONE_VOID(add_clear, (dy_real *restrict s, dy_real *restrict y, size_t n), (s, y, n)) {
  for (size_t i = 0; i < n; i++) {
    y[i] += s[i];
    s[i] = 0;
  }
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

/* After an update (whose loops zeroed what they read; the frozen dense
 * parameters' gradients were zeroed while measuring): clears the frozen
 * lookups' gradients and the touched lists. */
static void clear_after_update(dy_trainer *t) {
  dy_model *m = t->m;
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

typedef struct {
  dy_real lr, scale, wd;
  double last_t, bc1, bc2; /* cached Adam bias corrections for step last_t */
} upd_ctx;

/* The rules' loops over n elements, each zeroing g[i] after reading it.
 * Vectorised clones (bitwise the scalar formulas: no fused multiply-add).
 * The _plain forms are for scale 1 and no weight decay (ge = g), the case
 * of most updates: the same values without two multiplies and an add. */
DY_VM_CLONE_VOID(sgd_loop, (dy_real *restrict x, dy_real *restrict g, size_t n, dy_real lr, dy_real sc, dy_real wd),
                 (x, g, n, lr, sc, wd)) {
  for (size_t i = 0; i < n; i++) {
    x[i] -= lr * (sc * g[i] + wd * x[i]);
    g[i] = 0;
  }
}

DY_VM_CLONE_VOID(sgd_plain, (dy_real *restrict x, dy_real *restrict g, size_t n, dy_real lr), (x, g, n, lr)) {
  for (size_t i = 0; i < n; i++) {
    x[i] -= lr * g[i];
    g[i] = 0;
  }
}

DY_VM_CLONE_VOID(momentum_loop,
                 (dy_real *restrict x, dy_real *restrict g, dy_real *restrict v, size_t n, dy_real lr, dy_real sc,
                  dy_real wd, dy_real mom),
                 (x, g, v, n, lr, sc, wd, mom)) {
  for (size_t i = 0; i < n; i++) {
    v[i] = mom * v[i] - lr * (sc * g[i] + wd * x[i]);
    g[i] = 0;
    x[i] += v[i];
  }
}

/* Adagrad (rho < 0) and RMSProp */
DY_VM_CLONE_VOID(adagrad_rms_loop,
                 (dy_real *restrict x, dy_real *restrict g, dy_real *restrict r, size_t n, dy_real lr, dy_real sc,
                  dy_real wd, dy_real rho, dy_real eps),
                 (x, g, r, n, lr, sc, wd, rho, eps)) {
  if (rho < 0) {
    for (size_t i = 0; i < n; i++) {
      dy_real ge = sc * g[i] + wd * x[i];
      g[i] = 0;
      r[i] += ge * ge;
      x[i] -= lr * ge / (DY_SQRT(r[i]) + eps);
    }
    return;
  }
  for (size_t i = 0; i < n; i++) {
    dy_real ge = sc * g[i] + wd * x[i];
    g[i] = 0;
    r[i] = rho * r[i] + (1 - rho) * ge * ge;
    x[i] -= lr * ge / (DY_SQRT(r[i]) + eps);
  }
}

/* One Adam step over i in [0, n); GE is the effective gradient's expression. */
#define ADAM_STEP(GE, VMAX)                               \
  for (size_t i = 0; i < n; i++) {                        \
    dy_real ge = (GE);                                    \
    g[i] = 0;                                             \
    mm[i] = b1 * mm[i] + (1 - b1) * ge;                   \
    vv[i] = b2 * vv[i] + (1 - b2) * ge * ge;              \
    VMAX;                                                 \
    x[i] -= a * mm[i] / (DY_SQRT(vv_[i]) * ib2 + eps);    \
  }

DY_VM_CLONE_VOID(adam_loop,
                 (dy_real *restrict x, dy_real *restrict g, dy_real *restrict mm, dy_real *restrict vv,
                  dy_real *restrict vm, size_t n, const dy_real *restrict k),
                 (x, g, mm, vv, vm, n, k)) {
  /* k: sc, wd, b1, b2, a, ib2, eps */
  const dy_real sc = k[0], wd = k[1], b1 = k[2], b2 = k[3], a = k[4], ib2 = k[5], eps = k[6];
  const int plain = sc == 1 && wd == 0;
  if (!vm) {
    const dy_real *vv_ = vv;
    if (plain) ADAM_STEP(g[i], (void)0)
    else ADAM_STEP(sc * g[i] + wd * x[i], (void)0)
    return;
  }
  const dy_real *vv_ = vm;
  if (plain) ADAM_STEP(g[i], vm[i] = vm[i] < vv[i] ? vv[i] : vm[i])
  else ADAM_STEP(sc * g[i] + wd * x[i], vm[i] = vm[i] < vv[i] ? vv[i] : vm[i])
}
#undef ADAM_STEP

/* Elements per call of a loop: x, g and the state of a strip stay in L1/L2
 * while the loop runs (and a zeroing loop split off by the compiler into a
 * memset clears what was just read). */
#define STRIP 4096

/* Updates x[0..n) (state offset so) from g and zeroes g; step is the Adam
 * step count of this range after the update. */
static void update_range(const dy_trainer *t, upd_ctx *c, dy_real *x, dy_real *g, size_t n, size_t so,
                         uint64_t step) {
  const dy_real lr = c->lr, sc = c->scale, wd = c->wd;
  dy_real k[7] = {0};
  if (t->kind == DY_TR_ADAM) {
    if ((double)step != c->last_t) {
      c->last_t = (double)step;
      c->bc1 = 1 - pow((double)t->beta1, (double)step);
      c->bc2 = 1 - pow((double)t->beta2, (double)step);
    }
    dy_real kk[7] = {sc, wd, t->beta1, t->beta2, (dy_real)(lr / c->bc1), (dy_real)(1 / sqrt(c->bc2)), t->eps};
    memcpy(k, kk, sizeof k);
  }
  for (size_t o = 0; o < n; o += STRIP) {
    size_t len = n - o < STRIP ? n - o : STRIP;
    dy_real *xs = x + o, *gs = g + o;
    switch (t->kind) {
      case DY_TR_SGD:
        if (sc == 1 && wd == 0) sgd_plain(xs, gs, len, lr);
        else sgd_loop(xs, gs, len, lr, sc, wd);
        break;
      case DY_TR_MOMENTUM: momentum_loop(xs, gs, t->s[0] + so + o, len, lr, sc, wd, t->mom); break;
      case DY_TR_ADAGRAD: adagrad_rms_loop(xs, gs, t->s[0] + so + o, len, lr, sc, wd, -1, t->eps); break;
      case DY_TR_RMSPROP: adagrad_rms_loop(xs, gs, t->s[0] + so + o, len, lr, sc, wd, t->rho, t->eps); break;
      case DY_TR_ADAM:
        adam_loop(xs, gs, t->s[0] + so + o, t->s[1] + so + o, t->amsgrad ? t->s[2] + so + o : NULL, len, k);
        break;
    }
  }
}

/* ------------------------------------------------ one update, n threads
 * An update by n threads together (n = 1: dy_trainer_update and
 * dy_trainer_update_sets). The dense parameters, in index order, form one
 * virtual range [0, D) cut into DY_NORM_BLOCKS equal blocks; a block's piece
 * is its part in one parameter. The global squared norm is, in this order,
 * the sum over blocks of (0 + the sums of squares of its pieces in order),
 * plus the lookups' part (lookups in order, each touched row, or the whole
 * table when updates are dense). Its bits depend on neither n nor which
 * thread did what, so every n gives the same update.
 *   Phase A (each thread its blocks; thread 0 also the lookups): the sets
 *     are added into the model's gradients and cleared, and the block sums
 *     computed, in one pass; thread 0 merges the sets' lookup rows (in set
 *     order, recording first touches in the model's lists), sums the lookup
 *     part and makes sure the optimiser state exists (it allocates).
 *   barrier; every thread sums the same parts into the same norm.
 *   Phase B: each thread updates its blocks (split evenly) and its share of
 *     each lookup's rows (a row belongs to one thread, so does its Adam step
 *     count); a dense parameter's Adam step count is read (+1), and written
 *     by thread 0 after the last barrier.
 *   barrier; thread 0 clears the touched lists and counts the step.
 * Ownership of blocks is a function of (block, n, lookup work of the last
 * update) only, never of timing. */

typedef struct {
  dy_trainer *t;
  dy_grad_set *const *sets;
  uint32_t nsets, k, n;
  void (*barrier)(void *);
  void *ctx;
} par_ctx;

static void par_wait(const par_ctx *P) {
  if (P->n > 1) P->barrier(P->ctx);
}

/* Cursor over the dense parameters in virtual order: parameter i starts at
 * virtual position base. */
typedef struct {
  uint32_t i;
  size_t base;
} cursor;

/* Moves c forward to the parameter holding virtual position v. */
static void seek(const dy_model *m, cursor *c, size_t v) {
  while (v >= c->base + m->params[c->i]->size) {
    c->base += m->params[c->i]->size;
    c->i++;
  }
}

static size_t dense_size(const dy_model *m) {
  size_t d = 0;
  for (uint32_t i = 0; i < m->nparams; i++) d += m->params[i]->size;
  return d;
}

static void block_range(size_t D, uint32_t b, size_t *lo, size_t *hi) {
  *lo = D / DY_NORM_BLOCKS * b + D % DY_NORM_BLOCKS * b / DY_NORM_BLOCKS;
  *hi = D / DY_NORM_BLOCKS * (b + 1) + D % DY_NORM_BLOCKS * (b + 1) / DY_NORM_BLOCKS;
}

/* The thread of n owning the block [lo, hi) when thread 0 first does lw
 * units of other work (the whole being D + lw). */
static uint32_t owner(size_t lo, size_t hi, size_t D, size_t lw, uint32_t n) {
  double mid = (double)lw + (double)lo + (double)(hi - lo) / 2;
  double k = mid * n / ((double)D + (double)lw);
  return k < n ? (uint32_t)k : n - 1;
}

/* Phase A of one block: merge the sets into the model, sum the squares. */
static double block_merge_norm(const par_ctx *P, cursor *c, size_t lo, size_t hi) {
  dy_model *m = P->t->m;
  double s = 0;
  for (size_t v = lo; v < hi;) {
    seek(m, c, v);
    const dy_param *p = m->params[c->i];
    size_t end = c->base + p->size < hi ? c->base + p->size : hi, len = end - v;
    size_t o = p->off + (v - c->base);
    if (p->frozen) {
      for (uint32_t j = 0; j < P->nsets; j++) memset(P->sets[j]->grads + o, 0, len * sizeof(dy_real));
      memset(m->grads + o, 0, len * sizeof(dy_real));
    } else if (!P->nsets) {
      s += sumsq_lanes(m->grads + o, len);
    } else {
      for (uint32_t j = 0; j + 1 < P->nsets; j++) add_clear(P->sets[j]->grads + o, m->grads + o, len);
      s += add_clear_sumsq(P->sets[P->nsets - 1]->grads + o, m->grads + o, len);
    }
    v = end;
  }
  return s;
}

/* Phase B of one block. */
static void block_update(const par_ctx *P, upd_ctx *uc, cursor *c, size_t lo, size_t hi) {
  const dy_trainer *t = P->t;
  dy_model *m = t->m;
  for (size_t v = lo; v < hi;) {
    seek(m, c, v);
    const dy_param *p = m->params[c->i];
    size_t end = c->base + p->size < hi ? c->base + p->size : hi;
    size_t o = p->off + (v - c->base);
    if (!p->frozen)
      update_range(t, uc, m->vals + o, m->grads + o, end - v, o, t->psteps ? t->psteps[c->i] + 1 : 0);
    v = end;
  }
}

static void touch_model_row(dy_lookup *l, uint32_t r) {
  if (!l->flag[r]) {
    l->flag[r] = 1;
    l->touched[l->ntouched++] = r;
  }
}

/* Thread 0 in phase A: the sets' lookup rows into the model (set order; the
 * model's touched lists get the rows in order of first touch), then the
 * lookups' part of the squared norm. *work: scalars handled. */
static double lookups_merge_norm(const par_ctx *P, size_t *work) {
  const dy_trainer *t = P->t;
  dy_model *m = t->m;
  size_t w = 0;
  for (uint32_t i = 0; i < m->nlookups; i++) {
    dy_lookup *l = m->lookups[i];
    for (uint32_t j = 0; j < P->nsets; j++) {
      dy_set_lookup *st = &P->sets[j]->lk[i];
      for (uint32_t k = 0; k < st->ntouched; k++) {
        uint32_t r = st->touched[k];
        size_t o = l->off + (size_t)r * l->row_size;
        add_clear(P->sets[j]->grads + o, m->grads + o, l->row_size);
        touch_model_row(l, r);
        st->flag[r] = 0;
      }
      w += (size_t)st->ntouched * l->row_size;
      st->ntouched = 0;
    }
  }
  double s = 0;
  for (uint32_t i = 0; i < m->nlookups; i++) {
    const dy_lookup *l = m->lookups[i];
    if (l->frozen) continue;
    if (!t->sparse) {
      s += sumsq_lanes(m->grads + l->off, (size_t)l->rows * l->row_size);
      w += (size_t)l->rows * l->row_size;
      continue;
    }
    for (uint32_t k = 0; k < l->ntouched; k++)
      s += sumsq_lanes(m->grads + l->off + (size_t)l->touched[k] * l->row_size, l->row_size);
    w += (size_t)l->ntouched * l->row_size;
  }
  *work = w;
  return s;
}

/* Phase B of the lookups: this thread's share of each lookup's rows. */
static void lookups_update(const par_ctx *P, upd_ctx *uc) {
  dy_trainer *t = P->t;
  dy_model *m = t->m;
  for (uint32_t i = 0; i < m->nlookups; i++) {
    const dy_lookup *l = m->lookups[i];
    if (l->frozen) continue;
    uint64_t nr = t->sparse ? l->ntouched : l->rows;
    uint32_t k0 = (uint32_t)(nr * P->k / P->n), k1 = (uint32_t)(nr * (P->k + 1) / P->n);
    for (uint32_t k = k0; k < k1; k++) {
      uint32_t r = t->sparse ? l->touched[k] : k;
      size_t o = l->off + (size_t)r * l->row_size;
      update_range(t, uc, m->vals + o, m->grads + o, l->row_size, o, t->rsteps ? ++t->rsteps[l->row_base + r] : 0);
    }
  }
}

static dy_status update_par(const par_ctx *P) {
  dy_trainer *t = P->t;
  dy_model *m = t->m;
  const uint32_t k = P->k, n = P->n;
  par_wait(P); /* every graph's backward is done */
  const size_t D = dense_size(m), lw = n > 1 ? t->par_lw : 0;
  cursor c = {0, 0};
  for (uint32_t b = 0; b < DY_NORM_BLOCKS; b++) {
    size_t lo, hi;
    block_range(D, b, &lo, &hi);
    if (n == 1 || owner(lo, hi, D, lw, n) == k) t->bsum[b] = lo < hi ? block_merge_norm(P, &c, lo, hi) : 0;
  }
  size_t work = 0;
  if (k == 0) {
    t->lsum = lookups_merge_norm(P, &work);
    t->par_st = dy_trainer_ensure_state(t, dy_trainer_nstate(t->kind, t->amsgrad));
  }
  par_wait(P); /* every part of the norm is there */
  double s = 0;
  for (uint32_t b = 0; b < DY_NORM_BLOCKS; b++) s += t->bsum[b];
  s += t->lsum;
  const double norm = sqrt(s);
  const dy_status st = !isfinite(s) ? DY_ENAN : t->par_st;
  if (st == DY_OK) {
    upd_ctx uc = {t->lr, 1, t->wd, -1, 1, 1};
    if (t->clip > 0 && norm > t->clip) uc.scale = (dy_real)(t->clip / norm);
    cursor cb = {0, 0};
    for (uint32_t b = 0; b < DY_NORM_BLOCKS; b++) {
      size_t lo, hi;
      block_range(D, b, &lo, &hi);
      if (lo < hi && (n == 1 || owner(lo, hi, D, 0, n) == k)) block_update(P, &uc, &cb, lo, hi);
    }
    lookups_update(P, &uc);
  } else if (k == 0) {
    if (st == DY_ENAN) report_nan(t);
    clear_grads(t);
  }
  par_wait(P); /* the update is complete */
  if (k == 0) {
    t->last_norm = norm;
    t->par_lw = work;
    if (st == DY_OK) {
      if (t->psteps)
        for (uint32_t i = 0; i < m->nparams; i++) t->psteps[i] += !m->params[i]->frozen;
      clear_after_update(t);
      t->steps++;
    }
  }
  return st;
}

dy_status dy_trainer_update(dy_trainer *t) {
  if (!t) return DY_EARG;
  par_ctx P = {t, NULL, 0, 0, 1, NULL, NULL};
  return update_par(&P);
}

/* DY_OK when sets[0..n) are current sets of t's model; else the message is
 * set (when say) and DY_EARG returned. */
static dy_status check_sets(dy_trainer *t, dy_grad_set *const *sets, uint32_t n, int say) {
  dy_model *m = t->m;
  for (uint32_t i = 0; i < n; i++)
    if (!sets || !sets[i] || sets[i]->m != m || sets[i]->size != m->size ||
        sets[i]->nparams != m->nparams || sets[i]->nlookups != m->nlookups)
      return say ? dy_model_fail(m, DY_EARG, "update_sets: gradient set %u is %s", (unsigned)i,
                                 !sets || !sets[i] ? "NULL" : sets[i]->m != m ? "of another model"
                                                            : "older than the model (parameters were added)")
                 : DY_EARG;
  return DY_OK;
}

dy_status dy_trainer_update_sets(dy_trainer *t, dy_grad_set *const *sets, uint32_t n) {
  if (!t) return DY_EARG;
  if (check_sets(t, sets, n, 1) != DY_OK) return DY_EARG;
  par_ctx P = {t, sets, n, 0, 1, NULL, NULL};
  return update_par(&P);
}

dy_status dy_trainer_update_sets_mt(dy_trainer *t, dy_grad_set *const *sets, uint32_t nsets, uint32_t k,
                                    uint32_t n, void (*barrier)(void *ctx), void *ctx) {
  if (!t) return DY_EARG;
  if (n == 0 || n > DY_MAX_UPDATE_THREADS || k >= n || (n > 1 && !barrier)) {
    if (k == 0)
      dy_model_fail(t->m, DY_EARG, "update_sets_mt: %s", n == 0 ? "no threads" : n > DY_MAX_UPDATE_THREADS
                    ? "more threads than DY_MAX_UPDATE_THREADS" : k >= n ? "thread index out of range" : "no barrier");
    return DY_EARG;
  }
  if (check_sets(t, sets, nsets, k == 0) != DY_OK) return DY_EARG;
  par_ctx P = {t, sets, nsets, k, n, barrier, ctx};
  return update_par(&P);
}
