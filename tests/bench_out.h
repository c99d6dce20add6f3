/* Running dync-bench from a test and reading its RESULT lines (the contract of
 * the benchmarks' output; never timings). Shared by test_bench*.c. */
#ifndef DY_TEST_BENCH_OUT_H
#define DY_TEST_BENCH_OUT_H

#include <stddef.h>

#define T_RES_KV 24 /* fields per RESULT line */

/* One RESULT line: key=value fields in order (the first is task=...). */
typedef struct t_result {
  int n;
  char key[T_RES_KV][32];
  char val[T_RES_KV][1024];
} t_result;

/* Runs `$DY_BENCH args` (stderr discarded) and collects stdout into out[0..n);
 * returns the exit status, or -1 when DY_BENCH is not set (benchmarks not
 * built: the caller skips). */
int t_bench_run(const char *args, char *out, size_t n);

/* Parses the RESULT lines of out into res[0..max) and returns their number.
 * Fails the current test when a line is malformed, a key repeats, a line does
 * not start with task=<task>, or anything but blank lines follows them. */
int t_results_parse(const char *out, const char *task, t_result *res, int max);

/* The value of key; fails the current test when the line lacks it. */
const char *t_result_get(const t_result *r, const char *key);

/* Flags of t_result_num. */
enum { T_NUM_POSITIVE = 1, T_NUM_NAN_OK = 2 };
/* The value of key as a finite number (> 0 with T_NUM_POSITIVE; "nan" allowed
 * with T_NUM_NAN_OK); fails the current test otherwise. */
double t_result_num(const t_result *r, const char *key, int flags);

#endif
