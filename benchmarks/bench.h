/* dync-bench: one program, many tasks (`dync-bench <task> [options]`).
 *
 * Adding a task: write benchmarks/bench_<task>.c defining
 *   const bench_task bench_task_<task> = {"<task>", "one-line summary", "options help", run};
 * add one row to the task table in bench.c and the file name to benchmarks/meson.build.
 *
 * A task's run(ctx, argc, argv) gets the options main did not consume (argv[0]
 * is the task name), prints rows through bench_row_* (a readable table on
 * stdout, and CSV with --csv FILE), and ends with its RESULT lines:
 *   RESULT task=<task> key=value key=value ...
 * one line per configuration, keys stable (a contract for scripts and tests:
 * each task documents its keys in its help text). Returns 0 or an exit code.
 *
 * Options every task accepts (parsed by main): --quick (a tiny budget, for
 * tests: figures are then rough), --seconds S (time budget per measurement),
 * --csv FILE, --help. */
#ifndef DY_BENCH_H
#define DY_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "dy_core.h"

typedef struct bench_ctx bench_ctx;

typedef struct bench_task {
  const char *name;
  const char *summary;
  const char *help; /* options and RESULT keys, printed by `dync-bench <task> --help` */
  int (*run)(bench_ctx *ctx, int argc, char **argv);
} bench_task;

#define BENCH_MAX_COLS 16

struct bench_ctx {
  const bench_task *task;
  int quick;          /* --quick */
  double seconds;     /* budget per measurement, seconds */
  FILE *csv;          /* --csv FILE or NULL */
  int tty;            /* stderr is a terminal: progress lines shown */
  /* the row being built and the current table's columns */
  int ncols, nrow_cols, header_printed, csv_header_written;
  char cols[BENCH_MAX_COLS][32];
  char row_keys[BENCH_MAX_COLS][32];
  char row_vals[BENCH_MAX_COLS][48];
};

/* Monotonic time in seconds. */
double bench_now(void);

/* Runs fn(arg) repeatedly for about ctx->seconds, split into `reps` rounds of
 * timed batches of about 100 us (at least one call); returns the seconds per
 * call of the fastest batch (robust to preemption on a shared machine). */
double bench_time(bench_ctx *ctx, void (*fn)(void *arg), void *arg, int reps);

/* CPU seconds used by this process so far (user + system): on a shared,
 * noisy machine the honest clock for rates. */
double bench_cpu_now(void);

/* The path of a file of ../shared/data (rel like "ptb/ptb.train.txt"): the
 * first that exists under $DY_SHARED/data, ../shared/data, ../../shared/data,
 * ../../../shared/data; NULL (none found). buf receives it. */
const char *bench_find_data(const char *rel, char *buf, size_t n);

/* Prints the machine and build description as "# key: value" lines. */
void bench_describe(FILE *f);
/* The CPU model name from /proc/cpuinfo (or "unknown") into buf. */
const char *bench_cpu_model(char *buf, size_t n);

/* A transient progress line on stderr, only when stderr is a terminal. */
void bench_progress(bench_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Clears the progress line. */
void bench_progress_done(bench_ctx *ctx);

/* Table/CSV rows: begin, add named cells, end (prints the row; a header is
 * printed when the columns change; CSV gets the first header only). */
void bench_row_begin(bench_ctx *ctx);
void bench_row_str(bench_ctx *ctx, const char *key, const char *val);
void bench_row_num(bench_ctx *ctx, const char *key, double val);
void bench_row_int(bench_ctx *ctx, const char *key, long long val);
void bench_row_end(bench_ctx *ctx);

/* Prints "RESULT task=<task> " followed by the formatted key=value text. */
void bench_result(bench_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Option helpers for tasks: when argv[*i] is `name`, reads the next argument
 * into *out and advances *i; returns 1 if consumed, 0 if not `name`, -1 (and
 * a message on stderr) if the value is missing or not a number >= min. */
int bench_opt_long(int argc, char **argv, int *i, const char *name, long min, long *out);
int bench_opt_double(int argc, char **argv, int *i, const char *name, double min, double *out);
/* Reports an unknown task option on stderr; returns 2 (the exit code). */
int bench_bad_option(bench_ctx *ctx, const char *arg);

#endif
