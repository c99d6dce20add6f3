/* dync nn: models (collections of parameters), lookup parameters,
 * initialisers, trainers, and a safe binary save format.
 *
 * Parameters live in a dy_model, outside every graph; dy_param_expr() puts
 * one into a graph as a variable whose gradient accumulates into the model.
 * A trainer turns the accumulated gradients into an update and clears them.
 *
 *   dy_model *m = dy_model_new(1);
 *   dy_param *W = dy_model_add_param(m, "W", dy_d2(32, 128), dy_init_glorot());
 *   dy_lookup *E = dy_model_add_lookup(m, "E", nwords, dy_d1(128), dy_init_glorot());
 *   dy_trainer *t = dy_sgd_new(m, 0.1);
 *   for each example: dy_graph_renew(g); ... dy_backward(loss); dy_trainer_update(t);
 *
 * Errors from nn calls (bad names, dims, files, NaN gradients) are reported
 * by the return value and dy_model_error(m); they never abort. Graph-side
 * errors (a lookup row out of range) go to the graph's sticky error.
 *
 * Threads: models share nothing (no global state). Graphs in several threads
 * may read one model at once; backward into one model, updates and
 * additions must not run concurrently with anything else on that model.
 */
#ifndef DY_NN_H
#define DY_NN_H

#include "dy_core.h"
#include "dy_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dy_model dy_model;
typedef struct dy_param dy_param;   /* a dense parameter (W, b) */
typedef struct dy_lookup dy_lookup; /* rows of a table (word embeddings) */
typedef struct dy_grad_set dy_grad_set; /* per-thread gradients (data-parallel training) */

/* =========================================================== initialisers */
/* Every initialiser draws from the model's seeded integer RNG (splitmix64;
 * normals by Marsaglia's polar method), so a seed gives the same values on
 * every machine. Identity and orthogonal need a matrix (a lookup counts as a
 * (rows, row size) matrix). */
typedef enum dy_init_kind {
  /* uniform +-a*sqrt(3k / (d1+...+dk)) over the k dims of the parameter (of
   * one row for a lookup), DyNet's rule: a matrix (r,c) gets sqrt(6/(r+c)),
   * a vector {n} sqrt(3/n). a is the gain (0 means 1). Default for matrices. */
  DY_INIT_GLOROT,
  DY_INIT_UNIFORM,    /* uniform [a, b) */
  DY_INIT_NORMAL,     /* normal, mean a, standard deviation b */
  DY_INIT_CONST,      /* every value a */
  DY_INIT_IDENTITY,   /* identity matrix (square) */
  DY_INIT_ORTHOGONAL  /* random orthogonal rows/columns, scaled by a (gain) */
} dy_init_kind;
typedef struct dy_init { dy_init_kind kind; double a, b; } dy_init;

static inline dy_init dy_init_glorot(void) { dy_init i = {DY_INIT_GLOROT, 1, 0}; return i; }
static inline dy_init dy_init_uniform(double lo, double hi) { dy_init i = {DY_INIT_UNIFORM, lo, hi}; return i; }
static inline dy_init dy_init_normal(double mean, double std) { dy_init i = {DY_INIT_NORMAL, mean, std}; return i; }
static inline dy_init dy_init_const(double c) { dy_init i = {DY_INIT_CONST, c, 0}; return i; }
static inline dy_init dy_init_identity(void) { dy_init i = {DY_INIT_IDENTITY, 0, 0}; return i; }
static inline dy_init dy_init_orthogonal(double gain) { dy_init i = {DY_INIT_ORTHOGONAL, gain, 0}; return i; }

/* ================================================================ models */
/* A new empty model whose initialisers draw from a RNG seeded with seed (the
 * same seed gives the same values on every machine). NULL if out of memory. */
dy_model *dy_model_new(uint64_t seed);
/* The same with all memory from alloc (NULL = malloc); trainers of the model
 * use it too. */
dy_model *dy_model_new_with(uint64_t seed, const dy_allocator *alloc);
/* Frees the model and its parameters. NULL is allowed. */
void dy_model_free(dy_model *m);
/* The last error message of an nn call on m, or NULL. */
const char *dy_model_error(const dy_model *m);

/* Sub-collections: names added after push get the prefix "name/" (nested). */
dy_status dy_model_push(dy_model *m, const char *name);
void dy_model_pop(dy_model *m);

/* Adds a dense parameter named (scope/)name of dim d (batch 1), initialised.
 * NULL (and an error) on a duplicate name, invalid dim or initialiser.
 * Storage: one flat value buffer and one flat gradient buffer per model, in
 * order of addition; they may move when a parameter is added, so pointers
 * from dy_param_values()/dy_lookup_row() are stale after it. So are graph
 * nodes (dy_param_expr, dy_lookup_expr and their const forms) built before
 * the move: forward then fails the graph with DY_ESTALE naming the parameter
 * (the node's value is NaN, no variable gets a gradient), and so does a
 * backward after a forward done before the move (that node's gradient is
 * lost); renew the graph and build again. A stale node never touches freed
 * memory: buffers that nodes were built on are kept until dy_model_free
 * (nothing is kept when every parameter is added before the first node). */
dy_param *dy_model_add_param(dy_model *m, const char *name, dy_dim d, dy_init init);
/* Adds a lookup table of `rows` rows, each of dim d. */
dy_lookup *dy_model_add_lookup(dy_model *m, const char *name, uint32_t rows, dy_dim d, dy_init init);
/* Finds a parameter / lookup by full name, or NULL. */
dy_param *dy_model_find_param(const dy_model *m, const char *name);
dy_lookup *dy_model_find_lookup(const dy_model *m, const char *name);
/* Number of dense parameters / lookups; i-th of them, in order of addition. */
uint32_t dy_model_num_params(const dy_model *m);
uint32_t dy_model_num_lookups(const dy_model *m);
dy_param *dy_model_param_at(const dy_model *m, uint32_t i);
dy_lookup *dy_model_lookup_at(const dy_model *m, uint32_t i);
/* Number of scalars over all parameters and lookups. */
size_t dy_model_size(const dy_model *m);
/* Sets every gradient to zero (and forgets touched lookup rows). */
void dy_model_zero_grads(dy_model *m);
/* L2 norm of all gradients (dense and touched lookup rows). */
double dy_model_grad_norm(const dy_model *m);

/* Dense parameter accessors. Values and grads are contiguous, row-major. */
const char *dy_param_name(const dy_param *p);
dy_dim dy_param_dim(const dy_param *p);
dy_real *dy_param_values(dy_param *p);
dy_real *dy_param_grads(dy_param *p);
/* A frozen parameter gets no update (its gradient is still computed). */
void dy_param_set_frozen(dy_param *p, int frozen);
int dy_param_frozen(const dy_param *p);

/* Lookup accessors. */
const char *dy_lookup_name(const dy_lookup *l);
dy_dim dy_lookup_dim(const dy_lookup *l);  /* dim of one row */
uint32_t dy_lookup_rows(const dy_lookup *l);
dy_real *dy_lookup_row(dy_lookup *l, uint32_t row);       /* NULL if out of range */
dy_real *dy_lookup_row_grad(dy_lookup *l, uint32_t row);  /* NULL if out of range */
/* Rows touched by backward since the last update/zero_grads, in order of
 * first touch, each once. Sparse updates read only these rows' gradients:
 * write into dy_lookup_row_grad() of another row and it is ignored. */
uint32_t dy_lookup_num_touched(const dy_lookup *l);
const uint32_t *dy_lookup_touched(const dy_lookup *l);
void dy_lookup_set_frozen(dy_lookup *l, int frozen);
int dy_lookup_frozen(const dy_lookup *l);

/* =========================================================== graph nodes */
/* p as a node of g; backward adds into p's gradient. */
dy_expr dy_param_expr(dy_graph *g, dy_param *p);
/* p as a constant node (no gradient). */
dy_expr dy_const_param_expr(dy_graph *g, dy_param *p);
/* Row `row` of l; backward adds into that row's gradient only and records the
 * row as touched. A row out of range is a DY_EINDEX graph error. */
dy_expr dy_lookup_expr(dy_graph *g, dy_lookup *l, uint32_t row);
/* The same, constant. */
dy_expr dy_const_lookup(dy_graph *g, dy_lookup *l, uint32_t row);
/* Rows rows[0..n) as one node of batch n (rows copied): dim = row dim with
 * batch n. Backward scatter-adds into the rows' gradients and records them.
 * One op node (plus a scalar anchor leaf). Under dy_check_grad it leaves the
 * model's gradients alone, like every variable; its rows are not perturbed
 * by the check. */
dy_expr dy_lookup_batch(dy_graph *g, dy_lookup *l, const uint32_t *rows, uint32_t n);

/* ============================================================== trainers */
typedef struct dy_trainer dy_trainer;
/* Constructors: a learning rate <= 0 and any other argument < 0 select
 * DyNet's default (given per trainer). The trainer and its state use the
 * model's allocator; state is allocated on the first update; free trainers
 * before their model. The full update rule is in nn/trainers.c. */

/* SGD: p -= lr * g. DyNet's default lr 0.1. */
dy_trainer *dy_sgd_new(dy_model *m, dy_real lr);
/* Momentum SGD: v = mom * v - lr * g; p += v. Defaults lr 0.01, mom 0.9. */
dy_trainer *dy_momentum_sgd_new(dy_model *m, dy_real lr, dy_real momentum);
/* Adagrad: G += g^2; p -= lr * g / (sqrt(G) + eps). Defaults lr 0.1, eps 1e-20. */
dy_trainer *dy_adagrad_new(dy_model *m, dy_real lr, dy_real eps);
/* RMSProp: r = rho r + (1-rho) g^2; p -= lr * g / (sqrt(r) + eps).
 * Defaults lr 0.001, rho 0.9, eps 1e-8. */
dy_trainer *dy_rmsprop_new(dy_model *m, dy_real lr, dy_real rho, dy_real eps);
/* Adam (lr 0.001, beta1 0.9, beta2 0.999, eps 1e-8 as DyNet):
 * m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps), t the parameter's (for a
 * lookup: the row's) own update count. */
dy_trainer *dy_adam_new(dy_model *m, dy_real lr, dy_real beta1, dy_real beta2, dy_real eps);
/* AMSGrad variant of Adam (max of second moments). No effect on others. */
void dy_trainer_set_amsgrad(dy_trainer *t, int on);
void dy_trainer_free(dy_trainer *t);

/* Applies one update from the accumulated gradients and clears them. A NaN or
 * Inf gradient: nothing changes, the gradients are cleared, and DY_ENAN is
 * returned with dy_model_error() naming the parameter (and lookup row).
 * Frozen parameters are skipped (and their gradients cleared). Steady
 * updates allocate nothing. */
dy_status dy_trainer_update(dy_trainer *t);
/* Learning rate now (after decay) and the base rate. */
dy_real dy_trainer_lr(const dy_trainer *t);
void dy_trainer_set_lr(dy_trainer *t, dy_real lr);
/* Gradient clipping by global L2 norm (on by default, threshold 5; <= 0 off). */
void dy_trainer_set_clip(dy_trainer *t, dy_real threshold);
/* L2 weight decay lambda: g += lambda * p before the update (0 = off), after
 * clipping (the norm is the loss gradient's). Sparse: touched rows only. */
void dy_trainer_set_weight_decay(dy_trainer *t, dy_real lambda);
/* Learning-rate schedules, applied by dy_trainer_set_epoch():
 * DY_LR_CONST, DY_LR_INV (lr0 / (1 + decay * epoch)), DY_LR_STEP (lr0 *
 * decay^floor(epoch / step)). */
typedef enum { DY_LR_CONST, DY_LR_INV, DY_LR_STEP } dy_lr_schedule;
void dy_trainer_set_schedule(dy_trainer *t, dy_lr_schedule s, dy_real decay, uint32_t step);
void dy_trainer_set_epoch(dy_trainer *t, uint32_t epoch);
/* Sparse lookup updates (default on): only rows touched since the last update
 * change, and each row runs its own optimiser over the updates in which it
 * was touched (exact for SGD and Adagrad without weight decay; "lazy" for
 * momentum, RMSProp and Adam, with Adam's bias correction from the row's own
 * step count). Off: every row is updated every step (dense). Details in
 * nn/trainers.c. */
void dy_trainer_set_sparse(dy_trainer *t, int sparse);
/* Adds the gradient sets sets[0..n) (of t's model) into the model's
 * gradients in that order, clears them, then dy_trainer_update(t). No graph
 * may run backward into any of them meanwhile. DY_EARG for a set of another
 * model or older than the model (nothing changes). */
dy_status dy_trainer_update_sets(dy_trainer *t, dy_grad_set *const *sets, uint32_t n);
/* The same update shared by n threads (n <= DY_MAX_UPDATE_THREADS): each
 * thread k = 0..n-1 calls it with the same t, sets, nsets, n, barrier and
 * ctx; barrier(ctx) must wait until all n threads have called it (e.g.
 * pthread_barrier_wait). It waits for all (so each may call it right after
 * its backward), merges and updates a share of the parameters in each
 * thread, and returns in every thread, with the same status, once the update
 * is complete: bitwise that of dy_trainer_update_sets() for every n. Only
 * thread 0's graph may accumulate into the model itself (no set). */
#define DY_MAX_UPDATE_THREADS 1024u
dy_status dy_trainer_update_sets_mt(dy_trainer *t, dy_grad_set *const *sets, uint32_t nsets, uint32_t k,
                                    uint32_t n, void (*barrier)(void *ctx), void *ctx);
/* Number of updates applied. */
uint64_t dy_trainer_steps(const dy_trainer *t);
/* Global gradient norm seen by the last update (before clipping). */
double dy_trainer_last_grad_norm(const dy_trainer *t);

/* =================================================== data-parallel training
 * Several threads train one model: each thread has its own graph and its own
 * gradient set (a buffer laid out like the model's gradients, with its own
 * touched-row lists); dy_graph_set_grads() makes a graph's parameter and
 * lookup nodes (dy_param_expr, dy_lookup_expr, dy_lookup_batch) accumulate
 * into the set instead of the model. The threads run forward and backward
 * concurrently (they only read the model's values), then, with no thread
 * running, one call of dy_trainer_update_sets() adds the sets into the model's
 * gradients in the order given (dense parameters elementwise, lookup rows in
 * each set's order of first touch), clears the sets and applies one update
 * (or every thread calls dy_trainer_update_sets_mt(), which shares that work
 * among them with the same result).
 * Synchronous and deterministic: the result depends only on which examples
 * went to which set, never on thread timing (bitwise the same on every run).
 * It is the sum of the examples' gradients, like a minibatch (scale the
 * losses for an average), equal up to rounding to processing the examples
 * one after another into the model (a set first sums its own examples). One
 * thread may keep its graph on the model itself (no set): after an update the
 * model's gradients are zero, so this gives bitwise the same result with one
 * merge less (n threads: n - 1 sets). Model
 * additions after a set is made invalidate it (a graph error names it). */
/* A gradient set for m (all zero); NULL if out of memory. */
dy_grad_set *dy_grad_set_new(dy_model *m);
/* Frees it (NULL allowed). Detach it from graphs first. */
void dy_grad_set_free(dy_grad_set *s);
/* Parameter nodes built in g from now on accumulate into s (NULL: into the
 * model, the default). */
void dy_graph_set_grads(dy_graph *g, dy_grad_set *s);

/* ============================================================ save / load */
/* File format (version 1, all little-endian; full layout in nn/saveload.c):
 * a 48-byte header (magic "DYNCMODL", format version, endianness marker
 * 0x01020304, scalar size 4/8, flags, record count, file size, the
 * initialiser RNG position), an optional 120-byte trainer section (kind,
 * hyperparameters, schedule, step count), one record per parameter in
 * storage order (name, kind dense/lookup, dims, rows, frozen flag, values,
 * then the trainer's per-scalar state and Adam's per-parameter/per-row step
 * counts), and a CRC-32 (zlib's polynomial) of everything before it. A
 * parameter costs its scalars (4 bytes each in float builds) plus ~24 bytes
 * and its name. */

/* Writes every parameter (and the trainer's state when t is non-NULL) to path
 * atomically: a temporary file in the same directory, flushed and fsynced,
 * then renamed over path. On failure (disk full, unwritable directory) the
 * temporary file is removed, an old file at path is intact, and DY_EIO is
 * returned with the reason in dy_model_error(). */
dy_status dy_model_save(dy_model *m, const dy_trainer *t, const char *path);
/* Loads parameters by name into m (all of m's, or only those whose name
 * starts with prefix when prefix is non-NULL), and the trainer's state when t
 * is non-NULL and the file has it (t must be of the same kind; its
 * hyperparameters, schedule, step count and, for the loaded parameters,
 * moments and step counts are replaced, so training resumes exactly).
 * Records the model does not ask for are ignored; a parameter missing from
 * the file, with other dims or of the other kind, a bad checksum, version or
 * truncation is an error naming the parameter and the byte offset, and
 * leaves m and t unchanged (everything is validated before anything is
 * copied). Loaded parameters' gradients are cleared; frozen flags of m are
 * kept. Scalars saved in the other precision are converted. The storage does
 * not move: graph nodes built before the load stay valid, and a forward run
 * after it reads the loaded values. */
dy_status dy_model_load(dy_model *m, dy_trainer *t, const char *path, const char *prefix);
/* A new model with the parameters of the file, in the file's order, with
 * their frozen flags and the saved initialiser RNG position (so parameters
 * added afterwards get the values they would have had); NULL on error: err
 * gets the message when non-NULL, up to n bytes. */
dy_model *dy_model_load_new(const char *path, char *err, size_t n);

#ifdef __cplusplus
}
#endif
#endif
