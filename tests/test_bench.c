/* dync-bench: runs `overhead` and `kernels` with --quick and checks the
 * contract of their output (never timings): it ends with well-formed RESULT
 * lines carrying the documented keys, numbers finite and positive where they
 * must be, and no malloc per graph in steady state. Also --help and errors.
 * The binary comes from the DY_BENCH environment variable (tests/meson.build);
 * without it (benchmarks not built) the tests skip. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

#define MAX_OUT (1 << 20)
#define MAX_RES 64
#define MAX_KV 24

typedef struct {
  int n;
  char key[MAX_KV][32];
  char val[MAX_KV][64];
} result;

/* Runs `$DY_BENCH args` (stderr discarded), collects stdout into out; returns
 * the exit status, or -1 when the binary is not configured. */
static int run_bench(const char *args, char *out, size_t n) {
  const char *bin = getenv("DY_BENCH");
  if (!bin || !*bin) return -1;
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", bin, args);
  FILE *p = popen(cmd, "r");
  ck_assert_msg(p != NULL, "cannot run %s", cmd);
  size_t k = fread(out, 1, n - 1, p);
  out[k] = 0;
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Parses the RESULT lines of out; checks that they come last (only blank
 * lines after the first RESULT line... and none but RESULT lines after it). */
static int parse_results(const char *out, const char *task, result *res, int max) {
  int nres = 0, seen = 0;
  const char *line = out;
  while (*line) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char buf[1024];
    ck_assert_msg(len < sizeof buf, "output line too long");
    memcpy(buf, line, len);
    buf[len] = 0;
    if (strncmp(buf, "RESULT ", 7) == 0) {
      seen = 1;
      ck_assert_msg(nres < max, "too many RESULT lines");
      result *r = &res[nres++];
      r->n = 0;
      char *save = NULL;
      for (char *tok = strtok_r(buf + 7, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        ck_assert_msg(eq && eq != tok && eq[1], "malformed RESULT field '%s'", tok);
        ck_assert_msg(r->n < MAX_KV, "too many RESULT fields");
        *eq = 0;
        ck_assert_msg(strlen(tok) < 32 && strlen(eq + 1) < 64, "RESULT field too long");
        strcpy(r->key[r->n], tok);
        strcpy(r->val[r->n], eq + 1);
        r->n++;
      }
      ck_assert_msg(r->n >= 2 && strcmp(r->key[0], "task") == 0 && strcmp(r->val[0], task) == 0,
                    "RESULT line must start with task=%s", task);
    } else {
      ck_assert_msg(!seen || len == 0, "a non-RESULT line after the RESULT lines: '%s'", buf);
    }
    line += len + (end ? 1 : 0);
  }
  return nres;
}

static const char *get(const result *r, const char *key) {
  for (int i = 0; i < r->n; i++)
    if (strcmp(r->key[i], key) == 0) return r->val[i];
  ck_abort_msg("RESULT line lacks the key '%s'", key);
  return NULL;
}

/* The value of key as a finite number (> 0 when positive is set). */
static double num(const result *r, const char *key, int positive) {
  const char *v = get(r, key);
  char *end;
  double x = strtod(v, &end);
  ck_assert_msg(*v && !*end, "%s=%s is not a number", key, v);
  ck_assert_msg(isfinite(x), "%s=%s is not finite", key, v);
  if (positive) ck_assert_msg(x > 0, "%s=%s must be positive", key, v);
  return x;
}

static char out[MAX_OUT];

START_TEST(overhead_quick) {
  int st = run_bench("overhead --quick --nodes 300", out, sizeof out);
  if (st < 0) {
    printf("bench: DY_BENCH not set (benchmarks not built): skipped\n");
    return;
  }
  ck_assert_msg(st == 0, "dync-bench overhead exited with %d:\n%s", st, out);
  result res[MAX_RES];
  int n = parse_results(out, "overhead", res, MAX_RES);
  ck_assert_int_eq(n, 2);
  ck_assert_str_eq(get(&res[0], "graph"), "chain");
  ck_assert_str_eq(get(&res[1], "graph"), "tiny");
  for (int i = 0; i < n; i++) {
    ck_assert_msg(num(&res[i], "nodes", 1) >= 300, "nodes below --nodes");
    double b = num(&res[i], "build_ns", 1), f = num(&res[i], "fwd_ns", 1);
    double w = num(&res[i], "bwd_ns", 1), t = num(&res[i], "total_ns", 1);
    ck_assert_msg(fabs(t - (b + f + w)) <= 0.01 * t + 0.02, "total_ns is not the sum of phases");
    ck_assert_msg(num(&res[i], "mallocs_per_graph", 0) == 0, "graph %s: %s mallocs per graph",
                  get(&res[i], "graph"), get(&res[i], "mallocs_per_graph"));
  }
}
END_TEST

START_TEST(kernels_quick) {
  int st = run_bench("kernels --quick", out, sizeof out);
  if (st < 0) {
    printf("bench: DY_BENCH not set (benchmarks not built): skipped\n");
    return;
  }
  ck_assert_msg(st == 0, "dync-bench kernels exited with %d:\n%s", st, out);
  result res[MAX_RES];
  int n = parse_results(out, "kernels", res, MAX_RES);
  ck_assert_int_ge(n, 2);
  num(&res[0], "peak_gflops", 1);
  num(&res[0], "lanes", 1);
  const char *isa = get(&res[0], "isa");
  ck_assert(strcmp(isa, "generic") == 0 || strcmp(isa, "avx2") == 0 || strcmp(isa, "avx512") == 0);
  int seen_gemv = 0, seen_gemv_t = 0, seen_gemm = 0, seen_tagger = 0;
  for (int i = 1; i < n; i++) {
    const char *op = get(&res[i], "op");
    seen_gemv += strcmp(op, "gemv") == 0;
    seen_gemv_t += strcmp(op, "gemv_t") == 0;
    seen_gemm += strcmp(op, "gemm") == 0;
    double m = num(&res[i], "m", 1), nn = num(&res[i], "n", 1), k = num(&res[i], "k", 1);
    if (strcmp(op, "gemm") != 0) ck_assert_msg(k == 1, "gemv has k=1");
    seen_tagger += m == 200 && nn == 178;
    num(&res[i], "builtin_gflops", 1);
    num(&res[i], "dync_gflops", 1);
    num(&res[i], "peak_gflops", 1);
    if (strcmp(get(&res[i], "blas_gflops"), "none") != 0) num(&res[i], "blas_gflops", 1);
  }
  ck_assert(seen_gemv >= 4 && seen_gemv_t >= 4 && seen_gemm >= 4 && seen_tagger >= 2);
}
END_TEST

START_TEST(help_and_errors) {
  int st = run_bench("--help", out, sizeof out);
  if (st < 0) {
    printf("bench: DY_BENCH not set (benchmarks not built): skipped\n");
    return;
  }
  ck_assert_int_eq(st, 0);
  ck_assert_msg(strstr(out, "overhead") && strstr(out, "kernels"), "--help lists the tasks");
  ck_assert_int_eq(run_bench("overhead --help", out, sizeof out), 0);
  ck_assert_msg(strstr(out, "mallocs_per_graph"), "task help documents its RESULT keys");
  ck_assert_int_eq(run_bench("kernels --help", out, sizeof out), 0);
  ck_assert_msg(strstr(out, "builtin_gflops"), "task help documents its RESULT keys");
  ck_assert_int_ne(run_bench("no-such-task", out, sizeof out), 0);
  ck_assert_int_ne(run_bench("overhead --no-such-option", out, sizeof out), 0);
  ck_assert_int_ne(run_bench("overhead --nodes -3", out, sizeof out), 0);
}
END_TEST

START_TEST(csv_output) {
  char path[] = "/tmp/dync-bench-test-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  char args[256];
  snprintf(args, sizeof args, "overhead --quick --nodes 50 --csv %s", path);
  int st = run_bench(args, out, sizeof out);
  if (st < 0) {
    printf("bench: DY_BENCH not set (benchmarks not built): skipped\n");
    remove(path);
    return;
  }
  ck_assert_int_eq(st, 0);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  char line[512];
  ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
  ck_assert_msg(strncmp(line, "task,graph,nodes", 16) == 0, "CSV header: %s", line);
  int rows = 0;
  while (fgets(line, sizeof line, f)) {
    ck_assert_msg(strncmp(line, "overhead,", 9) == 0, "CSV row: %s", line);
    rows++;
  }
  ck_assert_int_eq(rows, 2);
  fclose(f);
  remove(path);
}
END_TEST

int main(void) {
  Suite *s = suite_create("bench");
  TCase *tc = tcase_create("bench");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, help_and_errors);
  tcase_add_test(tc, overhead_quick);
  tcase_add_test(tc, kernels_quick);
  tcase_add_test(tc, csv_output);
  suite_add_tcase(s, tc);
  return t_run(s);
}
