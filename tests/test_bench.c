/* dync-bench: runs `overhead` and `kernels` with --quick and checks the
 * contract of their output (never timings): it ends with well-formed RESULT
 * lines carrying the documented keys, numbers finite and positive where they
 * must be, and no malloc per graph in steady state. Also --help and errors.
 * The binary comes from the DY_BENCH environment variable (tests/meson.build);
 * without it (benchmarks not built) the tests skip. */
#include <stdlib.h>
#include <string.h>

#include "bench_out.h"
#include "harness.h"

#define MAX_OUT (1 << 20)
#define MAX_RES 64
static char out[MAX_OUT];

START_TEST(overhead_quick) {
  int st = t_bench_run("overhead --quick --nodes 300", out, sizeof out);
  if (st < 0) {
    printf("bench: DY_BENCH not set (benchmarks not built): skipped\n");
    return;
  }
  ck_assert_msg(st == 0, "dync-bench overhead exited with %d:\n%s", st, out);
  static t_result res[MAX_RES];
  int n = t_results_parse(out, "overhead", res, MAX_RES);
  ck_assert_int_eq(n, 2);
  ck_assert_str_eq(t_result_get(&res[0], "graph"), "chain");
  ck_assert_str_eq(t_result_get(&res[1], "graph"), "tiny");
  for (int i = 0; i < n; i++) {
    ck_assert_msg(t_result_num(&res[i], "nodes", T_NUM_POSITIVE) >= 300, "nodes below --nodes");
    double b = t_result_num(&res[i], "build_ns", T_NUM_POSITIVE), f = t_result_num(&res[i], "fwd_ns", T_NUM_POSITIVE);
    double w = t_result_num(&res[i], "bwd_ns", T_NUM_POSITIVE), t = t_result_num(&res[i], "total_ns", T_NUM_POSITIVE);
    ck_assert_msg(fabs(t - (b + f + w)) <= 0.01 * t + 0.02, "total_ns is not the sum of phases");
    ck_assert_msg(t_result_num(&res[i], "mallocs_per_graph", 0) == 0, "graph %s: %s mallocs per graph",
                  t_result_get(&res[i], "graph"), t_result_get(&res[i], "mallocs_per_graph"));
  }
}
END_TEST

/* The shared tasks tagger (1 and 2 threads), rnnlm, charlm (random windows
 * and --stream) end with their documented RESULT keys. */
START_TEST(shared_tasks_quick) {
  const char *runs[][3] = {
      {"tagger --quick", "tagger", "words_per_sec"},
      {"tagger --quick --threads 2 --rnn gru --uni", "tagger", "words_per_sec"},
      {"rnnlm --quick", "rnnlm", "words_per_sec"},
      {"charlm --quick", "charlm", "chars_per_sec"},
      {"charlm --quick --stream", "charlm", "chars_per_sec"},
  };
  for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
    int st = t_bench_run(runs[k][0], out, sizeof out);
    if (st < 0) {
      printf("bench: DY_BENCH not set (benchmarks not built): skipped\n");
      return;
    }
    ck_assert_msg(st == 0, "dync-bench %s exited with %d:\n%s", runs[k][0], st, out);
    static t_result res[MAX_RES];
    ck_assert_int_eq(t_results_parse(out, runs[k][1], res, MAX_RES), 1);
    t_result_num(&res[0], runs[k][2], T_NUM_POSITIVE);
    ck_assert_ptr_nonnull(t_result_get(&res[0], "data"));
    if (!strcmp(runs[k][1], "rnnlm")) t_result_num(&res[0], "valid_ppl", T_NUM_POSITIVE);
    if (!strcmp(runs[k][1], "charlm")) t_result_num(&res[0], "valid_bpc", T_NUM_POSITIVE);
    if (!strcmp(runs[k][1], "tagger")) ck_assert_ptr_nonnull(t_result_get(&res[0], "threads"));
  }
}
END_TEST

START_TEST(kernels_quick) {
  int st = t_bench_run("kernels --quick", out, sizeof out);
  if (st < 0) {
    printf("bench: DY_BENCH not set (benchmarks not built): skipped\n");
    return;
  }
  ck_assert_msg(st == 0, "dync-bench kernels exited with %d:\n%s", st, out);
  static t_result res[MAX_RES];
  int n = t_results_parse(out, "kernels", res, MAX_RES);
  ck_assert_int_ge(n, 2);
  t_result_num(&res[0], "peak_gflops", T_NUM_POSITIVE);
  t_result_num(&res[0], "lanes", T_NUM_POSITIVE);
  const char *isa = t_result_get(&res[0], "isa");
  ck_assert(strcmp(isa, "generic") == 0 || strcmp(isa, "avx2") == 0 || strcmp(isa, "avx512") == 0);
  int seen_gemv = 0, seen_gemv_t = 0, seen_gemm = 0, seen_tagger = 0;
  for (int i = 1; i < n; i++) {
    const char *op = t_result_get(&res[i], "op");
    seen_gemv += strcmp(op, "gemv") == 0;
    seen_gemv_t += strcmp(op, "gemv_t") == 0;
    seen_gemm += strcmp(op, "gemm") == 0;
    double m = t_result_num(&res[i], "m", T_NUM_POSITIVE), nn = t_result_num(&res[i], "n", T_NUM_POSITIVE), k = t_result_num(&res[i], "k", T_NUM_POSITIVE);
    if (strcmp(op, "gemm") != 0) ck_assert_msg(k == 1, "gemv has k=1");
    seen_tagger += m == 200 && nn == 178;
    t_result_num(&res[i], "builtin_gflops", T_NUM_POSITIVE);
    t_result_num(&res[i], "dync_gflops", T_NUM_POSITIVE);
    t_result_num(&res[i], "peak_gflops", T_NUM_POSITIVE);
    if (strcmp(t_result_get(&res[i], "blas_gflops"), "none") != 0) t_result_num(&res[i], "blas_gflops", T_NUM_POSITIVE);
  }
  ck_assert(seen_gemv >= 4 && seen_gemv_t >= 4 && seen_gemm >= 4 && seen_tagger >= 2);
}
END_TEST

START_TEST(help_and_errors) {
  int st = t_bench_run("--help", out, sizeof out);
  if (st < 0) {
    printf("bench: DY_BENCH not set (benchmarks not built): skipped\n");
    return;
  }
  ck_assert_int_eq(st, 0);
  ck_assert_msg(strstr(out, "overhead") && strstr(out, "kernels"), "--help lists the tasks");
  ck_assert_int_eq(t_bench_run("overhead --help", out, sizeof out), 0);
  ck_assert_msg(strstr(out, "mallocs_per_graph"), "task help documents its RESULT keys");
  ck_assert_int_eq(t_bench_run("kernels --help", out, sizeof out), 0);
  ck_assert_msg(strstr(out, "builtin_gflops"), "task help documents its RESULT keys");
  ck_assert_int_ne(t_bench_run("no-such-task", out, sizeof out), 0);
  ck_assert_int_ne(t_bench_run("overhead --no-such-option", out, sizeof out), 0);
  ck_assert_int_ne(t_bench_run("overhead --nodes -3", out, sizeof out), 0);
}
END_TEST

START_TEST(csv_output) {
  char path[] = "/tmp/dync-bench-test-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  char args[256];
  snprintf(args, sizeof args, "overhead --quick --nodes 50 --csv %s", path);
  int st = t_bench_run(args, out, sizeof out);
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
  tcase_add_test(tc, shared_tasks_quick);
  suite_add_tcase(s, tc);
  return t_run(s);
}
