/* dync-bench overhead: what the engine costs per node, apart from arithmetic.
 * (i) "tiny": graphs of many tiny nodes (add, cmult, mul_scalar on vectors of
 *     a few elements over variables), summed into a scalar loss;
 * (ii) "chain": an RNN-like chain h = mul_scalar(affine(b, W, h), s) with a
 *     small W (H x H).
 * Each graph is built, forwarded and backpropagated, then renewed; the three
 * phases are timed separately and reported in ns per node. A counting
 * allocator (dy_graph_new_with) counts the mallocs of the steady state. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dy_ops.h"

typedef struct {
  unsigned long long allocs;
} counting;

static void *count_alloc(void *ctx, size_t n) {
  ((counting *)ctx)->allocs++;
  return malloc(n);
}
static void count_free(void *ctx, void *p) {
  (void)ctx;
  free(p);
}

typedef struct {
  const char *name;
  long nodes, width, hidden; /* tiny: nodes, width; chain: steps (nodes), hidden */
  dy_real *vals, *grads;     /* variables: 4 vectors of width (tiny) or W, b, h0 (chain) */
} workload;

/* Builds one graph; returns the loss. */
static dy_expr build(dy_graph *g, const workload *w) {
  if (strcmp(w->name, "tiny") == 0) {
    size_t m = (size_t)w->width;
    dy_expr v[4];
    for (int i = 0; i < 4; i++)
      v[i] = dy_variable(g, dy_d1((uint32_t)m), w->vals + i * m, w->grads + i * m);
    dy_expr x = v[0];
    for (long i = 0; i < w->nodes; i++) {
      switch (i % 3) {
        case 0: x = dy_add(x, v[1 + i % 3]); break;
        case 1: x = dy_cmult(x, v[(i / 3) % 4]); break;
        default: x = dy_mul_scalar(x, (dy_real)0.5); break;
      }
    }
    return dy_sum_elems(x);
  }
  uint32_t H = (uint32_t)w->hidden;
  dy_expr W = dy_variable(g, dy_d2(H, H), w->vals, w->grads);
  dy_expr b = dy_variable(g, dy_d1(H), w->vals + H * H, w->grads + H * H);
  dy_expr h = dy_variable(g, dy_d1(H), w->vals + H * H + H, w->grads + H * H + H);
  for (long t = 0; t < w->nodes / 2; t++) h = dy_mul_scalar(dy_affine(b, W, h), (dy_real)0.5);
  return dy_sum_elems(h);
}

#define MAX_SAMPLES 65536

typedef struct {
  float *s[3]; /* per-graph seconds of build, forward, backward (first MAX_SAMPLES) */
  unsigned long long graphs, nodes, mallocs;
} totals;

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* The 10th percentile of the first n samples (sorts them): on a busy machine
 * the slower graphs are those preempted or evicted from cache meanwhile. */
static double p10(float *s, size_t n) {
  qsort(s, n, sizeof *s, cmp_float);
  return s[n / 10];
}

/* Runs graphs until the budget is spent (at least min_graphs); adds to t. */
static int run_graphs(bench_ctx *ctx, dy_graph *g, counting *cnt, const workload *w, double budget,
                      long min_graphs, totals *t) {
  double start = bench_now();
  unsigned long long a0 = cnt->allocs;
  long k = 0;
  while (k < min_graphs || bench_now() - start < budget) {
    double t0 = bench_now();
    dy_graph_renew(g);
    dy_expr loss = build(g, w);
    double t1 = bench_now();
    const dy_real *v = dy_forward(loss);
    double t2 = bench_now();
    dy_status st = dy_backward(loss);
    double t3 = bench_now();
    if (!v || st != DY_OK) {
      fprintf(stderr, "dync-bench overhead: graph error: %s\n", dy_graph_error(g));
      return -1;
    }
    if (t->s[0] && t->graphs < MAX_SAMPLES) {
      t->s[0][t->graphs] = (float)(t1 - t0);
      t->s[1][t->graphs] = (float)(t2 - t1);
      t->s[2][t->graphs] = (float)(t3 - t2);
    }
    t->nodes += dy_graph_size(g);
    t->graphs++;
    k++;
    if ((k & 255) == 0) bench_progress(ctx, "overhead %s: %ld graphs", w->name, k);
  }
  t->mallocs += cnt->allocs - a0;
  return 0;
}

static const char help[] =
    "Engine overhead per node: build, forward and backward timed separately (the 10th\n"
    "percentile over graphs of the wall time per graph, divided by the nodes per graph).\n"
    "  tiny:  graphs of N tiny nodes (add, cmult, mul_scalar on vectors of W elements)\n"
    "  chain: h = mul_scalar(affine(b, Wh, h)) over N/2 steps, Wh (H,H)\n"
    "options:\n"
    "  --nodes N      nodes per graph (default 1000)\n"
    "  --width W      elements per tiny vector (default 4)\n"
    "  --hidden H     chain state size (default 16)\n"
    "  --graph K      only tiny or only chain (default both)\n"
    "RESULT keys, one line per graph kind (tiny is the last line):\n"
    "  graph nodes build_ns fwd_ns bwd_ns total_ns mallocs_per_graph\n"
    "  (ns per node; mallocs_per_graph: allocator calls per graph in steady state, expected 0)\n";

static int run(bench_ctx *ctx, int argc, char **argv) {
  long nodes = 1000, width = 4, hidden = 16;
  const char *only = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--graph") == 0 && i + 1 < argc &&
        (strcmp(argv[i + 1], "tiny") == 0 || strcmp(argv[i + 1], "chain") == 0)) {
      only = argv[++i];
      continue;
    }
    int r = bench_opt_long(argc, argv, &i, "--nodes", 1, &nodes);
    if (r == 0) r = bench_opt_long(argc, argv, &i, "--width", 1, &width);
    if (r == 0) r = bench_opt_long(argc, argv, &i, "--hidden", 1, &hidden);
    if (r < 0) return 2;
    if (r == 0) return bench_bad_option(ctx, argv[i]);
  }
  if (width > 65536 || hidden > 4096 || nodes > 10000000) {
    fprintf(stderr, "dync-bench overhead: --width <= 65536, --hidden <= 4096, --nodes <= 1e7\n");
    return 2;
  }
  printf("# nodes per graph %ld, tiny width %ld, chain hidden %ld\n", nodes, width, hidden);
  const char *kinds[2] = {"chain", "tiny"};
  double res[2][4];
  unsigned long long nres[2];
  double mres[2];
  for (int kind = 0; kind < 2; kind++) {
    if (only && strcmp(only, kinds[kind]) != 0) continue;
    workload w = {kinds[kind], nodes, width, hidden, NULL, NULL};
    size_t nv = kind == 1 ? 4 * (size_t)width : (size_t)hidden * hidden + 2 * (size_t)hidden;
    w.vals = malloc(nv * sizeof(dy_real));
    w.grads = calloc(nv, sizeof(dy_real));
    if (!w.vals || !w.grads) {
      fprintf(stderr, "dync-bench overhead: out of memory\n");
      return 1;
    }
    for (size_t i = 0; i < nv; i++)
      w.vals[i] = (dy_real)(((double)((i * 2654435761u) % 1000) / 1000.0 - 0.5) /
                            (kind == 1 ? 1.0 : (double)hidden));
    counting cnt = {0};
    dy_allocator al = {count_alloc, count_free, &cnt};
    dy_graph *g = dy_graph_new_with(&al);
    if (!g) {
      fprintf(stderr, "dync-bench overhead: out of memory\n");
      return 1;
    }
    totals warm = {{NULL, NULL, NULL}, 0, 0, 0}, t = warm;
    for (int q = 0; q < 3; q++) t.s[q] = malloc(MAX_SAMPLES * sizeof(float));
    if (!t.s[0] || !t.s[1] || !t.s[2]) {
      fprintf(stderr, "dync-bench overhead: out of memory\n");
      return 1;
    }
    /* warm-up: grows the arenas to their steady size */
    if (run_graphs(ctx, g, &cnt, &w, ctx->seconds / 10, 5, &warm) != 0) return 1;
    if (run_graphs(ctx, g, &cnt, &w, ctx->seconds, 20, &t) != 0) return 1;
    dy_graph_free(g);
    /* 10th percentile per graph: robust to the process being descheduled */
    size_t ns = t.graphs < MAX_SAMPLES ? (size_t)t.graphs : MAX_SAMPLES;
    double per = 1e9 * (double)t.graphs / (double)t.nodes;
    for (int q = 0; q < 3; q++) {
      res[kind][q] = p10(t.s[q], ns) * per;
      free(t.s[q]);
    }
    res[kind][3] = res[kind][0] + res[kind][1] + res[kind][2];
    nres[kind] = t.nodes / t.graphs;
    mres[kind] = (double)t.mallocs / (double)t.graphs;
    bench_row_begin(ctx);
    bench_row_str(ctx, "graph", w.name);
    bench_row_int(ctx, "nodes", (long long)nres[kind]);
    bench_row_int(ctx, "graphs", (long long)t.graphs);
    bench_row_num(ctx, "build_ns", res[kind][0]);
    bench_row_num(ctx, "fwd_ns", res[kind][1]);
    bench_row_num(ctx, "bwd_ns", res[kind][2]);
    bench_row_num(ctx, "total_ns", res[kind][3]);
    bench_row_num(ctx, "mallocs_per_graph", (double)t.mallocs / (double)t.graphs);
    bench_row_end(ctx);
    free(w.vals);
    free(w.grads);
  }
  printf("\n");
  for (int kind = 0; kind < 2; kind++)
    if (!only || strcmp(only, kinds[kind]) == 0)
      bench_result(ctx,
                 "graph=%s nodes=%llu build_ns=%.2f fwd_ns=%.2f bwd_ns=%.2f total_ns=%.2f "
                 "mallocs_per_graph=%.6g",
                 kinds[kind], nres[kind], res[kind][0], res[kind][1], res[kind][2], res[kind][3],
                 mres[kind]);
  return 0;
}

const bench_task bench_task_overhead = {"overhead", "ns per node to build, forward and backward tiny graphs", help, run};
