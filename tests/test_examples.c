/* The example programs and dync-tagger, run as users run them on tiny data:
 * xor learns XOR; the tagger example learns the synthetic language and a tiny
 * CoNLL-U file; dync-tagger trains, saves, tags CoNLL-U and plain text, and
 * names file and line of bad input. DY_EXAMPLES (set by tests/meson.build)
 * is the build directory of models/examples; without the programs (built
 * with -Dexamples=false) every test says so and skips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char tmpdir[] = "/tmp/dy_test_examples_XXXXXX";

/* Path of program name in DY_EXAMPLES, or NULL (and a skip message). */
static const char *program(const char *name, char *buf, size_t n) {
  const char *dir = getenv("DY_EXAMPLES");
  if (!dir) {
    printf("SKIP: DY_EXAMPLES is not set\n");
    return NULL;
  }
  snprintf(buf, n, "%s/%s", dir, name);
  if (access(buf, X_OK) != 0) {
    printf("SKIP: %s not built (examples=false?)\n", buf);
    return NULL;
  }
  return buf;
}

/* Runs cmd through the shell; returns its exit status and its stdout+stderr
 * in a malloc'ed string. */
static int run(const char *cmd, char **out) {
  char full[4096];
  snprintf(full, sizeof full, "%s 2>&1", cmd);
  FILE *p = popen(full, "r");
  ck_assert_ptr_nonnull(p);
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t k;
  while ((k = fread(buf + n, 1, cap - n - 1, p)) > 0) {
    n += k;
    if (cap - n < 2) buf = realloc(buf, cap *= 2);
  }
  buf[n] = 0;
  int st = pclose(p);
  *out = buf;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_file(const char *path, const char *s) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(s, f);
  ck_assert_int_eq(fclose(f), 0);
}

/* The last "dev accuracy X" / "dev acc X" figure in out, or -1. */
static double last_acc(const char *out, const char *key) {
  double a = -1;
  for (const char *p = strstr(out, key); p; p = strstr(p + 1, key)) a = atof(p + strlen(key));
  return a;
}

/* A tiny CoNLL-U corpus: DET NOUN VERB [ADV] sentences over a few words. */
static void write_tiny_conllu(const char *path, int nsent) {
  static const char *det[] = {"the", "a", "this"}, *noun[] = {"dog", "cat", "bird", "fish"},
                    *verb[] = {"runs", "sleeps", "sings", "eats"}, *adv[] = {"fast", "well", "now"};
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  for (int i = 0; i < nsent; i++) {
    fprintf(f, "# sent_id = %d\n", i + 1);
    fprintf(f, "1\t%s\t_\tDET\tDT\t_\t2\tdet\t_\t_\n", det[i % 3]);
    fprintf(f, "2\t%s\t_\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n", noun[(i / 3) % 4]);
    fprintf(f, "3\t%s\t_\tVERB\tVBZ\t_\t0\troot\t_\t_\n", verb[(i / 2) % 4]);
    if (i % 2) fprintf(f, "4\t%s\t_\tADV\tRB\t_\t3\tadvmod\t_\t_\n", adv[i % 3]);
    fputc('\n', f);
  }
  ck_assert_int_eq(fclose(f), 0);
}

START_TEST(xor_learns) {
  char prog[1024], *out;
  if (!program("xor", prog, sizeof prog)) return;
  ck_assert_int_eq(run(prog, &out), 0);
  const char *want[4] = {"0 xor 0 = ", "1 xor 0 = ", "0 xor 1 = ", "1 xor 1 = "};
  for (int k = 0; k < 4; k++) {
    const char *p = strstr(out, want[k]);
    ck_assert_msg(p != NULL, "no '%s' in:\n%s", want[k], out);
    double v = atof(p + strlen(want[k]));
    int target = (k & 1) ^ (k >> 1);
    ck_assert_msg(target ? v > 0.8 : v < 0.2, "%s%g (want %d):\n%s", want[k], v, target, out);
  }
  free(out);
}
END_TEST

/* charlm on generated text: the loss falls from ln 256 = 5.5 and a sample of
 * 300 characters follows. */
START_TEST(charlm_learns_and_samples) {
  char p[1024], cmd[1200];
  if (!program("charlm", p, sizeof p)) return;
  snprintf(cmd, sizeof cmd, "%s - 60", p);
  char *out;
  ck_assert_int_eq(run(cmd, &out), 0);
  const char *s50 = strstr(out, "step 50  loss ");
  ck_assert_msg(s50 != NULL, "%s", out);
  double l = atof(s50 + strlen("step 50  loss "));
  ck_assert_msg(l > 0 && l < 4.0, "loss at step 50: %g\n%s", l, out);
  const char *smp = strstr(out, "--- sample ---\n");
  ck_assert_msg(smp && strlen(smp + strlen("--- sample ---\n")) >= 300, "%s", out);
  free(out);
}
END_TEST

START_TEST(tagger_example_synthetic) {
  char prog[1024], *out;
  if (!program("tagger", prog, sizeof prog)) return;
  ck_assert_int_eq(run(prog, &out), 0);
  /* two epochs over 1000 synthetic sentences: measured 0.954 (majority 0.905) */
  double a = last_acc(out, "dev accuracy ");
  ck_assert_msg(a > 0.92, "accuracy %g:\n%s", a, out);
  ck_assert_ptr_nonnull(strstr(out, "epoch 2:"));
  ck_assert_ptr_null(strstr(out, "error"));
  free(out);
}
END_TEST

START_TEST(tagger_example_conllu) {
  char prog[1024], cmd[4096], path[256], *out;
  if (!program("tagger", prog, sizeof prog)) return;
  snprintf(path, sizeof path, "%s/tiny.conllu", tmpdir);
  write_tiny_conllu(path, 60);
  snprintf(cmd, sizeof cmd, "%s %s %s 6", prog, path, path);
  ck_assert_int_eq(run(cmd, &out), 0);
  double a = last_acc(out, "dev accuracy ");
  ck_assert_msg(a > 0.95, "accuracy %g:\n%s", a, out);
  ck_assert_ptr_nonnull(strstr(out, "epoch 6:"));
  free(out);
  /* a missing file: the reader's message, exit 1 */
  snprintf(cmd, sizeof cmd, "%s %s/none.conllu", prog, tmpdir);
  ck_assert_int_eq(run(cmd, &out), 1);
  ck_assert_ptr_nonnull(strstr(out, "none.conllu"));
  free(out);
}
END_TEST

START_TEST(dync_tagger_train_and_tag) {
  char prog[1024], cmd[4096], train[256], model[256], input[256], *out;
  if (!program("dync-tagger", prog, sizeof prog)) return;
  snprintf(train, sizeof train, "%s/train.conllu", tmpdir);
  snprintf(model, sizeof model, "%s/pos", tmpdir);
  write_tiny_conllu(train, 60);
  snprintf(cmd, sizeof cmd, "%s train --train %s --dev %s --bi --char --emb 16 --hidden 16 --mlp 8 --char-emb 4 "
                            "--char-hidden 4 --epochs 4 --seed 3 --model %s", prog, train, train, model);
  ck_assert_int_eq(run(cmd, &out), 0);
  ck_assert_msg(strstr(out, "epoch 4: train loss/word") != NULL, "%s", out);
  double a = last_acc(out, "dev acc ");
  ck_assert_msg(a > 0.95, "dev accuracy %g:\n%s", a, out);
  ck_assert_ptr_nonnull(strstr(out, "saved "));
  free(out);

  /* CoNLL-U in, the same lines out with predicted UPOS (column 4) */
  snprintf(input, sizeof input, "%s/in.conllu", tmpdir);
  write_file(input, "# text = the cat sleeps\n"
                    "1\tthe\t_\tX\tDT\t_\t2\tdet\t_\t_\n"
                    "2-3\tcatsleeps\t_\t_\t_\t_\t_\t_\t_\t_\n"
                    "2\tcat\t_\tX\tNN\t_\t3\tnsubj\t_\t_\n"
                    "3\tsleeps\t_\tX\tVBZ\t_\t0\troot\t_\tSpaceAfter=No\n"
                    "\n"
                    "1\ta\t_\t_\t_\t_\t_\t_\t_\t_\n"
                    "2\tdog\t_\t_\t_\t_\t_\t_\t_\t_\n"
                    "3\tsings\t_\t_\t_\t_\t_\t_\t_\t_\n");
  snprintf(cmd, sizeof cmd, "%s tag --model %s %s", prog, model, input);
  ck_assert_int_eq(run(cmd, &out), 0);
  const char *want = "# text = the cat sleeps\n"
                     "1\tthe\t_\tDET\tDT\t_\t2\tdet\t_\t_\n"
                     "2-3\tcatsleeps\t_\t_\t_\t_\t_\t_\t_\t_\n"
                     "2\tcat\t_\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n"
                     "3\tsleeps\t_\tVERB\tVBZ\t_\t0\troot\t_\tSpaceAfter=No\n"
                     "\n"
                     "1\ta\t_\tDET\t_\t_\t_\t_\t_\t_\n"
                     "2\tdog\t_\tNOUN\t_\t_\t_\t_\t_\t_\n"
                     "3\tsings\t_\tVERB\t_\t_\t_\t_\t_\t_\n"
                     "\n";
  ck_assert_str_eq(out, want);
  free(out);

  /* plain text on stdin, one sentence per line; an empty line stays empty */
  snprintf(cmd, sizeof cmd, "printf 'the dog eats\\n\\nthis fish runs fast\\n' | %s tag --model %s", prog, model);
  ck_assert_int_eq(run(cmd, &out), 0);
  ck_assert_str_eq(out, "the/DET dog/NOUN eats/VERB\n\nthis/DET fish/NOUN runs/VERB fast/ADV\n");
  free(out);

  /* malformed CoNLL-U: file and line named, exit 1 */
  write_file(input, "1\tthe\t_\tX\tDT\t_\t2\tdet\t_\t_\n"
                    "2\tcat\t_\tX\n");
  snprintf(cmd, sizeof cmd, "%s tag --model %s %s", prog, model, input);
  ck_assert_int_eq(run(cmd, &out), 1);
  ck_assert_msg(strstr(out, "in.conllu:2:") != NULL, "%s", out);
  free(out);

  /* a bad training file and a missing model: clear errors */
  write_file(input, "1\tthe\t_\tDET\tDT\t_\t2\tdet\t_\t_\n"
                    "x\tcat\t_\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n");
  snprintf(cmd, sizeof cmd, "%s train --train %s --dev %s", prog, input, train);
  ck_assert_int_eq(run(cmd, &out), 1);
  ck_assert_msg(strstr(out, "in.conllu:2") != NULL, "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "%s tag --model %s/nothing %s", prog, tmpdir, input);
  ck_assert_int_eq(run(cmd, &out), 1);
  ck_assert_msg(strstr(out, "nothing.opts") != NULL, "%s", out);
  free(out);
  snprintf(cmd, sizeof cmd, "%s train --train %s --dev %s --rnn tree", prog, train, train);
  ck_assert_int_eq(run(cmd, &out), 2);
  ck_assert_ptr_nonnull(strstr(out, "--rnn"));
  free(out);

  const char *ext[] = {"", ".opts", ".words", ".tags"};
  for (int k = 0; k < 4; k++) {
    char p[300];
    snprintf(p, sizeof p, "%s%s", model, ext[k]);
    unlink(p);
  }
  unlink(train);
  unlink(input);
}
END_TEST

static void setup(void) { ck_assert_ptr_nonnull(mkdtemp(tmpdir)); }
static void teardown(void) {
  char p[300];
  snprintf(p, sizeof p, "%s/tiny.conllu", tmpdir);
  unlink(p);
  rmdir(tmpdir);
  memcpy(tmpdir + strlen(tmpdir) - 6, "XXXXXX", 6);
}

static Suite *suite(void) {
  Suite *s = suite_create("examples");
  TCase *c = tcase_create("programs");
  tcase_set_timeout(c, 1200);
  tcase_add_checked_fixture(c, setup, teardown);
  tcase_add_test(c, xor_learns);
  tcase_add_test(c, charlm_learns_and_samples);
  tcase_add_test(c, tagger_example_conllu);
  tcase_add_test(c, dync_tagger_train_and_tag);
  tcase_add_test(c, tagger_example_synthetic);
  suite_add_tcase(s, c);
  return s;
}

int main(void) { return t_run(suite()); }
