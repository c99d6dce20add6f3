/* dync-bench main: the task table, common options, shared helpers. */
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "dy_kernels.h"

extern const bench_task bench_task_overhead;
extern const bench_task bench_task_kernels;
extern const bench_task bench_task_rnnlm;
extern const bench_task bench_task_charlm;
extern const bench_task bench_task_tagger;
extern const bench_task bench_task_rnn_vs_lstm;
extern const bench_task bench_task_longrange;
extern const bench_task bench_task_bptt;
extern const bench_task bench_task_soak;

/* The task table: one row per task. */
static const bench_task *const tasks[] = {
    &bench_task_overhead,
    &bench_task_kernels,
    &bench_task_rnnlm,
    &bench_task_charlm,
    &bench_task_tagger,
    &bench_task_rnn_vs_lstm,
    &bench_task_longrange,
    &bench_task_bptt,
    &bench_task_soak,
    NULL,
};

/* ================================================================ timing */

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *bench_find_data(const char *rel, char *buf, size_t n) {
  const char *env = getenv("DY_SHARED");
  const char *dirs[] = {env, "../shared", "../../shared", "../../../shared"};
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
    if (!dirs[i]) continue;
    snprintf(buf, n, "%s/data/%s", dirs[i], rel);
    FILE *f = fopen(buf, "rb");
    if (f) {
      fclose(f);
      return buf;
    }
  }
  return NULL;
}

double bench_time(bench_ctx *ctx, void (*fn)(void *arg), void *arg, int reps) {
  if (reps < 1) reps = 1;
  double round = ctx->seconds / reps, best = INFINITY;
  /* calibrate: calls per timed batch so that a batch takes about 100 us
   * (less if the budget is tiny): short batches are rarely preempted on a
   * busy machine, and the best batch is what is reported */
  double target = round / 20 < 1e-4 ? round / 20 : 1e-4;
  long calls = 1;
  for (;;) {
    double t0 = bench_now();
    for (long k = 0; k < calls; k++) fn(arg);
    double t = bench_now() - t0;
    if (t >= target || calls >= (1L << 30)) break;
    calls *= 2;
  }
  for (int r = 0; r < reps; r++) {
    double t0 = bench_now();
    do {
      double b0 = bench_now();
      for (long k = 0; k < calls; k++) fn(arg);
      double bt = (bench_now() - b0) / calls;
      if (bt < best) best = bt;
    } while (bench_now() - t0 < round);
  }
  return best;
}

/* =============================================================== machine */

const char *bench_cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return buf;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *p = strchr(line, ':');
      if (p) {
        p++;
        while (*p == ' ' || *p == '\t') p++;
        p[strcspn(p, "\n")] = 0;
        snprintf(buf, n, "%s", p);
      }
      break;
    }
  }
  fclose(f);
  return buf;
}

void bench_describe(FILE *f) {
  char cpu[256];
  struct utsname u;
  fprintf(f, "# cpu: %s\n", bench_cpu_model(cpu, sizeof cpu));
  fprintf(f, "# cores: %ld online\n", sysconf(_SC_NPROCESSORS_ONLN));
  if (uname(&u) == 0) fprintf(f, "# os: %s %s %s\n", u.sysname, u.release, u.machine);
#if defined(__clang__)
  fprintf(f, "# compiler: clang %s\n", __clang_version__);
#elif defined(__GNUC__)
  fprintf(f, "# compiler: gcc %s\n", __VERSION__);
#else
  fprintf(f, "# compiler: unknown\n");
#endif
  const dy_kernel_table *t = dy_kernels_table(NULL);
  fprintf(f, "# kernels: built-in %s, products through %s\n", t ? t->isa : "?", dy_kernels_backend());
  fprintf(f, "# precision: %s\n", sizeof(dy_real) == 8 ? "double" : "float");
  fprintf(f, "# dync: %s, threads: 1\n", DY_VERSION);
}

/* ============================================================== progress */

void bench_progress(bench_ctx *ctx, const char *fmt, ...) {
  if (!ctx->tty) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "\r\033[K");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fflush(stderr);
}

void bench_progress_done(bench_ctx *ctx) {
  if (!ctx->tty) return;
  fprintf(stderr, "\r\033[K");
  fflush(stderr);
}

/* ================================================================== rows */

void bench_row_begin(bench_ctx *ctx) { ctx->nrow_cols = 0; }

void bench_row_str(bench_ctx *ctx, const char *key, const char *val) {
  if (ctx->nrow_cols >= BENCH_MAX_COLS) return;
  snprintf(ctx->row_keys[ctx->nrow_cols], sizeof ctx->row_keys[0], "%s", key);
  snprintf(ctx->row_vals[ctx->nrow_cols], sizeof ctx->row_vals[0], "%s", val);
  ctx->nrow_cols++;
}

void bench_row_num(bench_ctx *ctx, const char *key, double val) {
  char b[48];
  if (val != 0 && (fabs(val) >= 1e6 || fabs(val) < 1e-3)) snprintf(b, sizeof b, "%.4g", val);
  else snprintf(b, sizeof b, "%.3f", val);
  bench_row_str(ctx, key, b);
}

void bench_row_int(bench_ctx *ctx, const char *key, long long val) {
  char b[48];
  snprintf(b, sizeof b, "%lld", val);
  bench_row_str(ctx, key, b);
}

static int col_width(const char *key) {
  int w = (int)strlen(key);
  return w < 10 ? 10 : w;
}

void bench_row_end(bench_ctx *ctx) {
  int same = ctx->header_printed && ctx->ncols == ctx->nrow_cols;
  for (int i = 0; same && i < ctx->ncols; i++) same = strcmp(ctx->cols[i], ctx->row_keys[i]) == 0;
  bench_progress_done(ctx);
  if (!same) {
    ctx->ncols = ctx->nrow_cols;
    for (int i = 0; i < ctx->ncols; i++) memcpy(ctx->cols[i], ctx->row_keys[i], sizeof ctx->cols[0]);
    printf("\n");
    for (int i = 0; i < ctx->ncols; i++) printf("%*s ", col_width(ctx->cols[i]), ctx->cols[i]);
    printf("\n");
    ctx->header_printed = 1;
    if (ctx->csv && !ctx->csv_header_written) {
      fprintf(ctx->csv, "task");
      for (int i = 0; i < ctx->ncols; i++) fprintf(ctx->csv, ",%s", ctx->cols[i]);
      fprintf(ctx->csv, "\n");
      ctx->csv_header_written = 1;
    }
  }
  for (int i = 0; i < ctx->nrow_cols; i++)
    printf("%*s ", col_width(ctx->row_keys[i]), ctx->row_vals[i]);
  printf("\n");
  fflush(stdout);
  if (ctx->csv) {
    fprintf(ctx->csv, "%s", ctx->task->name);
    for (int i = 0; i < ctx->nrow_cols; i++) fprintf(ctx->csv, ",%s", ctx->row_vals[i]);
    fprintf(ctx->csv, "\n");
  }
}

void bench_result(bench_ctx *ctx, const char *fmt, ...) {
  bench_progress_done(ctx);
  va_list ap;
  va_start(ap, fmt);
  printf("RESULT task=%s ", ctx->task->name);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
}

/* =============================================================== options */

int bench_bad_option(bench_ctx *ctx, const char *arg) {
  fprintf(stderr, "dync-bench %s: unknown option '%s' (see dync-bench %s --help)\n",
          ctx->task->name, arg, ctx->task->name);
  return 2;
}

static const char *opt_value(int argc, char **argv, int *i, const char *name) {
  if (strcmp(argv[*i], name) != 0) return NULL;
  if (*i + 1 >= argc) {
    fprintf(stderr, "dync-bench: option %s needs a value\n", name);
    return "";
  }
  return argv[++*i];
}

int bench_opt_long(int argc, char **argv, int *i, const char *name, long min, long *out) {
  const char *v = opt_value(argc, argv, i, name);
  if (!v) return 0;
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (!*v || *end || errno || x < min) {
    fprintf(stderr, "dync-bench: option %s needs an integer >= %ld, got '%s'\n", name, min, v);
    return -1;
  }
  *out = x;
  return 1;
}

int bench_opt_double(int argc, char **argv, int *i, const char *name, double min, double *out) {
  const char *v = opt_value(argc, argv, i, name);
  if (!v) return 0;
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (!*v || *end || errno || !(x >= min) || !isfinite(x)) {
    fprintf(stderr, "dync-bench: option %s needs a number >= %g, got '%s'\n", name, min, v);
    return -1;
  }
  *out = x;
  return 1;
}

/* ================================================================== main */

static const char common_help[] =
    "common options:\n"
    "  --quick        tiny budget (for tests; figures are rough)\n"
    "  --seconds S    time budget per measurement (default 0.3)\n"
    "  --csv FILE     also write the rows as CSV\n"
    "  --help         this help\n"
    "Output: a table, then `RESULT task=<task> key=value ...` lines (stable keys).\n";

static void usage(FILE *f) {
  fprintf(f, "usage: dync-bench <task> [options]\n       dync-bench <task> --help\n\ntasks:\n");
  for (int i = 0; tasks[i]; i++) fprintf(f, "  %-10s %s\n", tasks[i]->name, tasks[i]->summary);
  fprintf(f, "\n%s", common_help);
}

int main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const bench_task *task = NULL;
  for (int i = 0; tasks[i]; i++)
    if (strcmp(tasks[i]->name, argv[1]) == 0) task = tasks[i];
  if (!task) {
    fprintf(stderr, "dync-bench: unknown task '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
  }
  bench_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.task = task;
  ctx.seconds = 0.3;
  ctx.tty = isatty(fileno(stderr));
  const char *csv = NULL;
  int seconds_set = 0;
  /* common options are removed; the rest go to the task */
  char **rest = malloc((size_t)argc * sizeof *rest);
  if (!rest) return 1;
  int nrest = 0;
  rest[nrest++] = argv[1];
  for (int i = 2; i < argc; i++) {
    int r;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: dync-bench %s [options]\n%s\n\n%s\n%s", task->name, task->summary, task->help,
             common_help);
      free(rest);
      return 0;
    } else if (strcmp(argv[i], "--quick") == 0) {
      ctx.quick = 1;
    } else if (strcmp(argv[i], "--csv") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "dync-bench: --csv needs a file name\n");
        free(rest);
        return 2;
      }
      csv = argv[++i];
    } else if ((r = bench_opt_double(argc, argv, &i, "--seconds", 1e-6, &ctx.seconds)) != 0) {
      if (r < 0) {
        free(rest);
        return 2;
      }
      seconds_set = 1;
    } else {
      rest[nrest++] = argv[i];
    }
  }
  if (ctx.quick && !seconds_set) ctx.seconds = 0.002;
  if (csv) {
    ctx.csv = fopen(csv, "w");
    if (!ctx.csv) {
      fprintf(stderr, "dync-bench: cannot write %s: %s\n", csv, strerror(errno));
      free(rest);
      return 1;
    }
  }
  printf("# dync-bench %s%s\n", task->name, ctx.quick ? " (quick: rough figures)" : "");
  bench_describe(stdout);
  int rc = task->run(&ctx, nrest, rest);
  bench_progress_done(&ctx);
  if (ctx.csv && fclose(ctx.csv) != 0) {
    fprintf(stderr, "dync-bench: error writing %s\n", csv);
    if (!rc) rc = 1;
  }
  free(rest);
  return rc;
}
