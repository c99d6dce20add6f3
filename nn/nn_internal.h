/* Internal to nn/: the layout of models, parameters, lookups and trainers,
 * shared by model.c, trainers.c and saveload.c. */
#ifndef DY_NN_INTERNAL_H
#define DY_NN_INTERNAL_H

#include <stdatomic.h>
#include "dy_nn.h"

/* Longest full (scoped) parameter name, bytes without the terminating NUL. */
#define DY_NAME_MAX 1024u

struct dy_param {
  dy_model *m;
  char *name;       /* full name, owned */
  dy_dim dim;       /* batch 1 */
  size_t off;       /* first scalar in m->vals / m->grads */
  size_t size;      /* dy_dim_size(dim) */
  uint32_t index;   /* position among the model's dense parameters */
  int frozen;
};

struct dy_lookup {
  dy_model *m;
  char *name;
  dy_dim dim;          /* of one row, batch 1 */
  uint32_t rows;
  size_t row_size;     /* scalars per row */
  size_t off;          /* first scalar of row 0 in m->vals / m->grads */
  uint64_t row_base;   /* index of row 0 among all lookup rows of the model */
  uint32_t index;      /* position among the model's lookups */
  int frozen;
  uint8_t *flag;       /* (rows) 1 when the row is in touched[] */
  uint32_t *touched;   /* (rows) rows touched since the last clear, first ntouched valid */
  uint32_t ntouched;
};

struct dy_model {
  dy_allocator alloc;
  dy_real *vals;       /* (size) all parameter values, flat */
  dy_real *grads;      /* (size) their gradients, same layout */
  size_t size, cap;    /* scalars in use, allocated */
  dy_param **params;
  uint32_t nparams, cap_params;
  dy_lookup **lookups;
  uint32_t nlookups, cap_lookups;
  uint64_t total_rows; /* rows over all lookups */
  uint32_t *hash;      /* open addressing over names: 0 empty, else 1 + (index<<1 | is_lookup) */
  uint32_t hcap;       /* power of two (0 before the first parameter) */
  uint64_t rng;        /* initialiser RNG state (splitmix64 counter) */
  char scope[DY_NAME_MAX + 1];
  uint32_t scope_len;
  uint32_t scope_stack[64];
  uint32_t depth;
  char err[1024];
  /* Parameter nodes and storage moves (nn/model.c, "parameter nodes"): */
  uint64_t gen;        /* storage generation: +1 each time vals/grads move */
  atomic_int nodes_built; /* a graph node was built on the current vals/grads (graphs in several
                             threads may build nodes at once: atomic, relaxed) */
  void **retired;      /* (nretired) old vals/grads kept for such nodes until free */
  uint32_t nretired, cap_retired;
};

/* Blocks of the dense parameters for the global gradient norm (its order of
 * summation) and for sharing an update among threads. */
#define DY_NORM_BLOCKS 64u

/* Trainer kinds (also their codes in saved files: never renumber). */
typedef enum { DY_TR_SGD = 0, DY_TR_MOMENTUM = 1, DY_TR_ADAGRAD = 2, DY_TR_RMSPROP = 3, DY_TR_ADAM = 4 } dy_trainer_kind;

struct dy_trainer {
  dy_model *m;
  dy_trainer_kind kind;
  dy_real lr0, lr;           /* base and current (scheduled) learning rate */
  dy_real mom, beta1, beta2, eps, rho;
  dy_real clip, wd;
  dy_lr_schedule sched;
  dy_real decay;
  uint32_t sched_step, epoch;
  int sparse, amsgrad;
  uint64_t steps;
  double last_norm;
  /* Optimiser state, allocated on first use, laid out like m->vals: */
  uint32_t nstate;           /* per-scalar arrays used by this kind (0..3) */
  dy_real *s[3];             /* (ssize) momentum v / Adagrad G / RMSProp r / Adam m, v, vmax */
  size_t ssize;              /* scalars covered (== m->size after ensure) */
  uint64_t *psteps;          /* (npsteps) Adam: updates applied to each dense parameter */
  uint32_t npsteps;
  uint64_t *rsteps;          /* (nrsteps) Adam: updates applied to each lookup row (row_base + r) */
  uint64_t nrsteps;
  /* An update in progress (trainers.c, update_par): */
  double bsum[DY_NORM_BLOCKS]; /* squared norm of each block of the dense parameters */
  double lsum;               /* and of the lookups */
  dy_status par_st;          /* of allocating the state (thread 0) */
  size_t par_lw;             /* scalars of lookup work thread 0 had in the last update */
};

/* Number of per-scalar state arrays of a kind (AMSGrad adds one to Adam). */
uint32_t dy_trainer_nstate(dy_trainer_kind k, int amsgrad);
/* Allocates/grows the optimiser state to cover the model now (zeros for new
 * scalars): nstate arrays (at least), plus Adam's step counts. DY_OK or
 * DY_ENOMEM (message in the model); t->nstate is set only on success. */
dy_status dy_trainer_ensure_state(dy_trainer *t, uint32_t nstate);

/* Memory through the model's allocator. */
void *dy_model_alloc(dy_model *m, size_t n);
void dy_model_free_mem(dy_model *m, void *p);
/* Sets the model's error message (printf); returns st. */
dy_status dy_model_fail(dy_model *m, dy_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Clears every lookup's touched list (gradients of those rows zeroed when zero_rows). */
void dy_model_clear_touched(dy_model *m, int zero_rows);
/* Makes room for n scalars in all (no reallocation until the model exceeds n). */
dy_status dy_model_reserve(dy_model *m, size_t n);
/* Adds a parameter without initialising it (values zero): used by the loader. */
dy_param *dy_model_add_param_raw(dy_model *m, const char *full_name, dy_dim d);
dy_lookup *dy_model_add_lookup_raw(dy_model *m, const char *full_name, uint32_t rows, dy_dim d);

/* dy_model_load / dy_model_load_new over n bytes in memory (label names the
 * source in messages): the fuzz target's entry points. */
dy_status dy_model_load_mem(dy_model *m, dy_trainer *t, const void *buf, size_t n, const char *label,
                            const char *prefix);
dy_model *dy_model_load_new_mem(const void *buf, size_t n, const char *label, char *err, size_t errn);

/* Touched rows of one lookup in a gradient set (the hook context of its nodes). */
typedef struct dy_set_lookup {
  uint8_t *flag;       /* (rows) */
  uint32_t *touched;   /* (rows), first ntouched valid */
  uint32_t ntouched;
} dy_set_lookup;

struct dy_grad_set {
  dy_model *m;
  dy_real *grads;      /* (size) laid out like m->grads */
  size_t size;         /* m->size when made */
  uint32_t nparams, nlookups; /* of m when made */
  dy_set_lookup *lk;   /* (nlookups) */
};

/* Sum of squares of x[0..n), in double (32 lanes, vectorised; the same bits
 * on every instruction set). */
double dy_nn_sumsq(const dy_real *x, size_t n);

/* CRC-32 (IEEE 802.3, the polynomial of zlib and PNG), slicing by 8: tables
 * built per use (8 KiB, a few microseconds), so no global state. */
typedef struct dy_crc_table { uint32_t t[8][256]; } dy_crc_table;
void dy_crc_init(dy_crc_table *c);
/* crc continued over n bytes at p (start with 0). */
uint32_t dy_crc_update(const dy_crc_table *c, uint32_t crc, const void *p, size_t n);
/* One-shot CRC-32 of n bytes. */
uint32_t dy_crc32(const void *p, size_t n);

#endif
