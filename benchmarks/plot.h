/* dync-bench plots: small wide tables written as CSV, rendered to PNG with
 * gnuplot when it is installed, and Graphviz rendering of DOT dumps.
 *
 * A plot_table has a column 0 (x) and series columns 1..ncols-1; NaN marks a
 * missing point. plot_write() always writes the CSV, then renders a PNG with
 * gnuplot (through popen, exit status and output file checked) when gnuplot
 * is on PATH; when it is not, the message says how to get it. Nothing here
 * aborts: failures are return values with a message. */
#ifndef DY_BENCH_PLOT_H
#define DY_BENCH_PLOT_H

#include <stddef.h>

#define PLOT_MAX_COLS 32

typedef struct plot_table {
  int ncols;                        /* x + series, 2..PLOT_MAX_COLS */
  size_t nrows, caprows;
  char names[PLOT_MAX_COLS][48];    /* column headers */
  double *data;                     /* nrows x ncols, row-major */
} plot_table;

/* A table with ncols columns named names[0..ncols) (x first). NULL when ncols
 * is out of range or memory runs out. */
plot_table *plot_table_new(int ncols, const char *const *names);
/* Appends one row of ncols values. 0, or -1 when out of memory. */
int plot_table_add(plot_table *t, const double *row);
/* Frees t (NULL allowed). */
void plot_table_free(plot_table *t);
/* Writes t as CSV (header line, then rows; NaN as an empty cell). 0 or -1. */
int plot_table_write_csv(const plot_table *t, const char *path);

typedef struct plot_opts {
  const char *title, *xlabel, *ylabel;
  int logx, logy; /* logarithmic axes */
  int points;     /* 1: lines with points; 0: lines only (long curves) */
  int paired;     /* 1: series come in pairs (1,2), (3,4)...: one colour per pair,
                   * the second of each dashed (e.g. untrained / trained) */
  double ymin, ymax;     /* y range when ymin < ymax (else automatic) */
  const char *ref_title; /* non-NULL: a dotted horizontal line at y = ref */
  double ref;
} plot_opts;

typedef enum plot_status {
  PLOT_RENDERED = 0, /* CSV and picture written */
  PLOT_NO_TOOL = 1,  /* CSV written; gnuplot (or dot) not installed */
  PLOT_FAILED = -1   /* something failed; see the message */
} plot_status;

/* Non-zero when `prog` is an executable on PATH. */
int plot_have_program(const char *prog);
/* Creates directory dir (one level; an existing directory is fine). 0 or -1. */
int plot_mkdir(const char *dir);
/* Writes t to csv_path, then (gnuplot installed) renders png_path. msg gets a
 * one-line explanation when the result is not PLOT_RENDERED. */
plot_status plot_write(const plot_table *t, const char *csv_path, const char *png_path,
                       const plot_opts *o, char *msg, size_t n);
/* Renders a DOT file to SVG and PNG (either path may be NULL) with Graphviz
 * `dot`. PLOT_NO_TOOL (and how to get it in msg) when dot is missing. */
plot_status plot_dot_render(const char *dot_path, const char *svg_path, const char *png_path,
                            char *msg, size_t n);

#endif
