/* Running dync-bench from tests and reading its RESULT lines (bench_out.h). */
#include "bench_out.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int t_bench_run(const char *args, char *out, size_t n) {
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

/* Splits one RESULT line's fields (buf after "RESULT ") into r. */
static void parse_fields(char *buf, t_result *r) {
  r->n = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    char *eq = strchr(tok, '=');
    ck_assert_msg(eq && eq != tok && eq[1], "malformed RESULT field '%s'", tok);
    ck_assert_msg(r->n < T_RES_KV, "too many RESULT fields");
    *eq = 0;
    ck_assert_msg(strlen(tok) < sizeof r->key[0] && strlen(eq + 1) < sizeof r->val[0],
                  "RESULT field %s too long", tok);
    for (int i = 0; i < r->n; i++)
      ck_assert_msg(strcmp(r->key[i], tok) != 0, "RESULT key %s twice", tok);
    strcpy(r->key[r->n], tok);
    strcpy(r->val[r->n], eq + 1);
    r->n++;
  }
}

int t_results_parse(const char *out, const char *task, t_result *res, int max) {
  static char buf[8192];
  int nres = 0, seen = 0;
  const char *line = out;
  while (*line) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    ck_assert_msg(len < sizeof buf, "output line too long");
    memcpy(buf, line, len);
    buf[len] = 0;
    if (strncmp(buf, "RESULT ", 7) == 0) {
      seen = 1;
      ck_assert_msg(nres < max, "too many RESULT lines");
      t_result *r = &res[nres++];
      parse_fields(buf + 7, r);
      ck_assert_msg(r->n >= 2 && strcmp(r->key[0], "task") == 0 && strcmp(r->val[0], task) == 0,
                    "RESULT line must start with task=%s", task);
    } else {
      ck_assert_msg(!seen || len == 0, "a non-RESULT line after the RESULT lines: '%s'", buf);
    }
    line += len + (end ? 1 : 0);
  }
  return nres;
}

const char *t_result_get(const t_result *r, const char *key) {
  for (int i = 0; i < r->n; i++)
    if (strcmp(r->key[i], key) == 0) return r->val[i];
  ck_abort_msg("RESULT line lacks the key '%s'", key);
  return NULL;
}

double t_result_num(const t_result *r, const char *key, int flags) {
  const char *v = t_result_get(r, key);
  char *end;
  double x = strtod(v, &end);
  ck_assert_msg(*v && !*end, "%s=%s is not a number", key, v);
  ck_assert_msg(isfinite(x) || ((flags & T_NUM_NAN_OK) && isnan(x)), "%s=%s is not finite", key, v);
  if (flags & T_NUM_POSITIVE) ck_assert_msg(x > 0, "%s=%s must be positive", key, v);
  return x;
}
