/* dync-bench plots: CSV tables, gnuplot PNGs, Graphviz renders (see plot.h). */
#include "plot.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ================================================================ tables */

plot_table *plot_table_new(int ncols, const char *const *names) {
  if (ncols < 2 || ncols > PLOT_MAX_COLS || !names) return NULL;
  plot_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->ncols = ncols;
  for (int i = 0; i < ncols; i++) snprintf(t->names[i], sizeof t->names[i], "%s", names[i]);
  return t;
}

int plot_table_add(plot_table *t, const double *row) {
  if (t->nrows == t->caprows) {
    size_t cap = t->caprows ? 2 * t->caprows : 64;
    double *d = realloc(t->data, cap * (size_t)t->ncols * sizeof *d);
    if (!d) return -1;
    t->data = d;
    t->caprows = cap;
  }
  memcpy(t->data + t->nrows * (size_t)t->ncols, row, (size_t)t->ncols * sizeof *row);
  t->nrows++;
  return 0;
}

void plot_table_free(plot_table *t) {
  if (!t) return;
  free(t->data);
  free(t);
}

int plot_table_write_csv(const plot_table *t, const char *path) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  for (int c = 0; c < t->ncols; c++) fprintf(f, "%s%s", c ? "," : "", t->names[c]);
  fputc('\n', f);
  for (size_t r = 0; r < t->nrows; r++) {
    for (int c = 0; c < t->ncols; c++) {
      double v = t->data[r * (size_t)t->ncols + c];
      if (c) fputc(',', f);
      if (isfinite(v)) fprintf(f, "%.6g", v);
    }
    fputc('\n', f);
  }
  int bad = ferror(f);
  if (fclose(f) != 0) bad = 1;
  return bad ? -1 : 0;
}

/* ================================================================= tools */

int plot_have_program(const char *prog) {
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/bin:/bin";
  char buf[4096];
  while (*path) {
    size_t len = strcspn(path, ":");
    if (len > 0 && len + strlen(prog) + 2 < sizeof buf) {
      memcpy(buf, path, len);
      buf[len] = '/';
      strcpy(buf + len + 1, prog);
      if (access(buf, X_OK) == 0) return 1;
    }
    path += len;
    if (*path == ':') path++;
  }
  return 0;
}

int plot_mkdir(const char *dir) {
  if (mkdir(dir, 0777) == 0) return 0;
  struct stat st;
  if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) return 0;
  return -1;
}

/* Non-empty regular file at path. */
static int file_ok(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

/* Writes s as a double-quoted gnuplot string. */
static void gp_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* Writes s single-quoted for /bin/sh into buf. -1 if it does not fit. */
static int sh_quote(char *buf, size_t n, const char *s) {
  size_t k = 0;
  if (n < 3) return -1;
  buf[k++] = '\'';
  for (; *s; s++) {
    if (*s == '\'') {
      if (k + 5 >= n) return -1;
      memcpy(buf + k, "'\\''", 4);
      k += 4;
    } else {
      if (k + 2 >= n) return -1;
      buf[k++] = *s;
    }
  }
  buf[k++] = '\'';
  buf[k] = 0;
  return 0;
}

/* The exit code of a popen/system status, or -1 when it did not exit. */
static int exit_code(int status) {
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

plot_status plot_write(const plot_table *t, const char *csv_path, const char *png_path,
                       const plot_opts *o, char *msg, size_t n) {
  if (msg && n) msg[0] = 0;
  if (plot_table_write_csv(t, csv_path) != 0) {
    if (msg) snprintf(msg, n, "cannot write %s: %s", csv_path, strerror(errno));
    return PLOT_FAILED;
  }
  if (!png_path) return PLOT_RENDERED;
  if (!plot_have_program("gnuplot")) {
    if (msg)
      snprintf(msg, n, "gnuplot not installed: wrote %s only (apt-get install gnuplot-nox to "
               "get %s)", csv_path, png_path);
    return PLOT_NO_TOOL;
  }
  /* gnuplot's own messages go to our stderr; its exit status says if it failed */
  FILE *p = popen("gnuplot", "w");
  if (!p) {
    if (msg) snprintf(msg, n, "cannot start gnuplot: %s", strerror(errno));
    return PLOT_FAILED;
  }
  fputs("set terminal pngcairo size 960,600 enhanced font 'Sans,11' linewidth 1.5\n", p);
  fputs("set output ", p);
  gp_string(p, png_path);
  fputs("\nset datafile separator ','\nset datafile missing ''\n", p);
  fputs("set grid\nset key outside right top\n", p);
  if (o->title) { fputs("set title ", p); gp_string(p, o->title); fputc('\n', p); }
  if (o->xlabel) { fputs("set xlabel ", p); gp_string(p, o->xlabel); fputc('\n', p); }
  if (o->ylabel) { fputs("set ylabel ", p); gp_string(p, o->ylabel); fputc('\n', p); }
  if (o->logx) fputs("set logscale x 2\n", p);
  if (o->logy) fputs("set logscale y\nset format y '10^{%L}'\n", p);
  if (o->ymin < o->ymax) fprintf(p, "set yrange [%g:%g]\n", o->ymin, o->ymax);
  /* one clause per series: colour (lt) and dash (dt) per series; earlier
   * series drawn wider so that identical curves stay visible underneath */
  fputs("plot ", p);
  for (int i = 2; i <= t->ncols; i++) {
    int lt = o->paired ? (i - 2) / 2 + 1 : i - 1, dt = o->paired ? (i - 2) % 2 + 1 : 1;
    int ns = o->paired ? (t->ncols - 1 + 1) / 2 : t->ncols - 1, k = lt - 1;
    double step = ns > 1 && 2.4 / (ns - 1) < 1.2 ? 2.4 / (ns - 1) : 1.2;
    double lw = 1 + step * (ns - 1 - k);
    if (i > 2) fputs(", \\\n  ", p);
    gp_string(p, csv_path);
    fprintf(p, " using 1:%d with %s lt %d dt %d lw %.1f", i, o->points ? "linespoints" : "lines",
            lt, dt, lw);
    if (o->points) fprintf(p, " ps %.1f", 1 + step / 3 * (ns - 1 - k));
    fprintf(p, " title columnheader(%d)", i);
  }
  if (o->ref_title) {
    fprintf(p, ", \\\n  %g with lines dt 3 lc rgb '#808080' lw 1.5 title ", o->ref);
    gp_string(p, o->ref_title);
  }
  fputc('\n', p);
  fputs("unset output\n", p);
  int code = exit_code(pclose(p));
  if (code != 0 || !file_ok(png_path)) {
    if (msg) snprintf(msg, n, "gnuplot failed (exit %d) on %s", code, png_path);
    return PLOT_FAILED;
  }
  return PLOT_RENDERED;
}

plot_status plot_dot_render(const char *dot_path, const char *svg_path, const char *png_path,
                            char *msg, size_t n) {
  if (msg && n) msg[0] = 0;
  if (!plot_have_program("dot")) {
    if (msg)
      snprintf(msg, n, "Graphviz not installed: render %s yourself after apt-get install "
               "graphviz (dot -Tsvg %s -o out.svg)", dot_path, dot_path);
    return PLOT_NO_TOOL;
  }
  const char *outs[2] = {svg_path, png_path}, *fmts[2] = {"svg", "png"};
  for (int k = 0; k < 2; k++) {
    if (!outs[k]) continue;
    char qin[1100], qout[1100], cmd[2400];
    if (sh_quote(qin, sizeof qin, dot_path) || sh_quote(qout, sizeof qout, outs[k])) {
      if (msg) snprintf(msg, n, "path too long: %s", dot_path);
      return PLOT_FAILED;
    }
    snprintf(cmd, sizeof cmd, "dot -T%s %s -o %s", fmts[k], qin, qout);
    int code = exit_code(system(cmd));
    if (code != 0 || !file_ok(outs[k])) {
      if (msg) snprintf(msg, n, "dot -T%s failed (exit %d) on %s", fmts[k], code, dot_path);
      return PLOT_FAILED;
    }
  }
  return PLOT_RENDERED;
}
