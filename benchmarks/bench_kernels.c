/* dync-bench kernels: GFLOP/s of the products RNNs run (one thread), on the
 * built-in kernels, on BLAS alone (when the build has it) and through dync's
 * public entry points (which pick one of the two), next to the machine's FMA
 * peak measured by an unrolled FMA loop with 16 independent accumulators. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dy_kernels.h"

#if DY_HAVE_BLAS
#include <cblas.h>
/* OpenBLAS: one thread, like the built-in kernels (absent from other BLAS). */
void openblas_set_num_threads(int n);
#pragma weak openblas_set_num_threads
#endif

/* ============================================================ FMA peak */

#define PEAK_ACC 16

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#if DY_USE_DOUBLE
#define P512 __m512d
#define P512_SET1 _mm512_set1_pd
#define P512_FMA _mm512_fmadd_pd
#define P512_ADD _mm512_add_pd
#define P512_SUM _mm512_reduce_add_pd
#define P256 __m256d
#define P256_SET1 _mm256_set1_pd
#define P256_FMA _mm256_fmadd_pd
#define P256_ADD _mm256_add_pd
#define P256_LANE0(v) _mm_cvtsd_f64(_mm256_castpd256_pd128(v))
#else
#define P512 __m512
#define P512_SET1 _mm512_set1_ps
#define P512_FMA _mm512_fmadd_ps
#define P512_ADD _mm512_add_ps
#define P512_SUM _mm512_reduce_add_ps
#define P256 __m256
#define P256_SET1 _mm256_set1_ps
#define P256_FMA _mm256_fmadd_ps
#define P256_ADD _mm256_add_ps
#define P256_LANE0(v) _mm_cvtss_f32(_mm256_castps256_ps128(v))
#endif

/* iters rounds of PEAK_ACC independent vector FMAs; returns a checksum. */
__attribute__((target("avx512f"))) static double peak_avx512(long iters) {
  P512 a[PEAK_ACC], m = P512_SET1((dy_real)0.999), c = P512_SET1((dy_real)1e-3);
  for (int i = 0; i < PEAK_ACC; i++) a[i] = P512_SET1((dy_real)i);
  for (long k = 0; k < iters; k++)
    _Pragma("GCC unroll 16") for (int i = 0; i < PEAK_ACC; i++) a[i] = P512_FMA(a[i], m, c);
  for (int i = 1; i < PEAK_ACC; i++) a[0] = P512_ADD(a[0], a[i]);
  return (double)P512_SUM(a[0]);
}

__attribute__((target("avx2,fma"))) static double peak_avx2(long iters) {
  P256 a[PEAK_ACC], m = P256_SET1((dy_real)0.999), c = P256_SET1((dy_real)1e-3);
  for (int i = 0; i < PEAK_ACC; i++) a[i] = P256_SET1((dy_real)i);
  for (long k = 0; k < iters; k++)
    _Pragma("GCC unroll 16") for (int i = 0; i < PEAK_ACC; i++) a[i] = P256_FMA(a[i], m, c);
  for (int i = 1; i < PEAK_ACC; i++) a[0] = P256_ADD(a[0], a[i]);
  return (double)P256_LANE0(a[0]);
}
#define HAVE_X86_PEAK 1
#endif

static double peak_scalar(long iters) {
  dy_real a[PEAK_ACC], m = (dy_real)0.999, c = (dy_real)1e-3;
  for (int i = 0; i < PEAK_ACC; i++) a[i] = (dy_real)i;
  for (long k = 0; k < iters; k++)
    for (int i = 0; i < PEAK_ACC; i++) a[i] = a[i] * m + c;
  double s = 0;
  for (int i = 0; i < PEAK_ACC; i++) s += a[i];
  return s;
}

typedef struct {
  const char *isa;
  long iters;
  volatile double sink;
} peak_arg;

static void peak_call(void *p) {
  peak_arg *a = p;
#ifdef HAVE_X86_PEAK
  if (strcmp(a->isa, "avx512") == 0) {
    a->sink = peak_avx512(a->iters);
    return;
  }
  if (strcmp(a->isa, "avx2") == 0) {
    a->sink = peak_avx2(a->iters);
    return;
  }
#endif
  a->sink = peak_scalar(a->iters);
}

/* Lanes per vector of the instruction set. */
static int isa_lanes(const char *isa) {
  int bytes = strcmp(isa, "avx512") == 0 ? 64 : strcmp(isa, "avx2") == 0 ? 32 : (int)sizeof(dy_real);
  return bytes / (int)sizeof(dy_real);
}

/* ============================================================== products */

typedef enum { PATH_BUILTIN, PATH_BLAS, PATH_DYNC } path_t;

typedef struct {
  const char *op; /* "gemv" (y = W x), "gemv_t" (x += W^T y), "gemm" */
  size_t m, n, k; /* gemv: W (m,n); gemm: C (m,n) = A (m,k) op(B) */
  int ta, tb;     /* gemm: op(A) = A^T (A is (k,m)), op(B) = B^T (B is (n,k)) */
  const char *what;
} kcase;

typedef struct {
  const kcase *c;
  path_t path;
  const dy_kernel_table *t;
  dy_real *A, *B, *C;
} karg;

static void kcall(void *p) {
  karg *a = p;
  const kcase *c = a->c;
  int gemv = strcmp(c->op, "gemm") != 0, ta = strcmp(c->op, "gemv_t") == 0;
  if (gemv) {
    switch (a->path) {
      case PATH_BUILTIN: a->t->gemv(ta, c->m, c->n, 1, a->A, c->n, a->B, 1, a->C); break;
      case PATH_DYNC: dy_gemv(ta, c->m, c->n, 1, a->A, c->n, a->B, 1, a->C); break;
      case PATH_BLAS:
#if DY_HAVE_BLAS
#if DY_USE_DOUBLE
        cblas_dgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)c->m, (int)c->n, 1, a->A,
                    (int)c->n, a->B, 1, 1, a->C, 1);
#else
        cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)c->m, (int)c->n, 1, a->A,
                    (int)c->n, a->B, 1, 1, a->C, 1);
#endif
#endif
        break;
    }
    return;
  }
  size_t lda = c->ta ? c->m : c->k, ldb = c->tb ? c->k : c->n;
  switch (a->path) {
    case PATH_BUILTIN:
      a->t->gemm(c->ta, c->tb, c->m, c->n, c->k, 1, a->A, lda, a->B, ldb, 1, a->C, c->n);
      break;
    case PATH_DYNC:
      dy_gemm(c->ta, c->tb, c->m, c->n, c->k, 1, a->A, lda, a->B, ldb, 1, a->C, c->n);
      break;
    case PATH_BLAS:
#if DY_HAVE_BLAS
#if DY_USE_DOUBLE
      cblas_dgemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans,
                  c->tb ? CblasTrans : CblasNoTrans, (int)c->m, (int)c->n, (int)c->k, 1, a->A,
                  (int)lda, a->B, (int)ldb, 1, a->C, (int)c->n);
#else
      cblas_sgemm(CblasRowMajor, c->ta ? CblasTrans : CblasNoTrans,
                  c->tb ? CblasTrans : CblasNoTrans, (int)c->m, (int)c->n, (int)c->k, 1, a->A,
                  (int)lda, a->B, (int)ldb, 1, a->C, (int)c->n);
#endif
#endif
      break;
  }
}

static dy_real *rand_buf(size_t n, uint64_t seed) {
  dy_real *p = aligned_alloc(64, ((n * sizeof(dy_real) + 63) / 64) * 64);
  if (!p) return NULL;
  for (size_t i = 0; i < n; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    p[i] = (dy_real)((double)(seed >> 11) * 0x1.0p-53 - 0.5) * (dy_real)0.01;
  }
  return p;
}

static const char help[] =
    "Products at the RNN sizes (W 50x178, 200x178, 128x128, 512x512; the BiLSTM tagger's\n"
    "W_x 200x128 and its recurrent step on W_h^T 50x200, as the whole-sequence nodes do it):\n"
    "  gemv    y = W x (forward, batch 1)\n"
    "  gemv_t  x += W^T y (backward, batch 1)\n"
    "  gemm    batches of B vectors in the layout ops use: Y (B,r) = X W^T (forward),\n"
    "          dX += dY W and dW += dY^T X (backward); square products 128^3, 512^3\n"
    "each on the built-in kernels, on BLAS alone (if built with BLAS) and through dync's\n"
    "public entry points, next to the FMA peak of the built-in instruction set.\n"
    "options:\n"
    "  --batch B      vectors per batch (default 16)\n"
    "RESULT keys, one line per product:\n"
    "  op m n k ta tb builtin_gflops blas_gflops dync_gflops peak_gflops\n"
    "  (blas_gflops=none when the build has no BLAS; gemv: k=1)\n"
    "and a first line: peak_gflops isa lanes\n";

static int run(bench_ctx *ctx, int argc, char **argv) {
  long batch = 16;
  for (int i = 1; i < argc; i++) {
    int r = bench_opt_long(argc, argv, &i, "--batch", 1, &batch);
    if (r < 0) return 2;
    if (r == 0) return bench_bad_option(ctx, argv[i]);
  }
#if DY_HAVE_BLAS
  if (openblas_set_num_threads) openblas_set_num_threads(1);
#endif
  const dy_kernel_table *t = dy_kernels_table(NULL);
  peak_arg pa = {t->isa, ctx->quick ? 1000 : 100000, 0};
  double ps = bench_time(ctx, peak_call, &pa, 3);
  double peak = (double)pa.iters * PEAK_ACC * isa_lanes(t->isa) * 2 / ps * 1e-9;
  printf("# FMA peak (%s, %d lanes, %d accumulators): %.1f GFLOP/s\n", t->isa, isa_lanes(t->isa),
         PEAK_ACC, peak);
  size_t B = (size_t)batch;
  /* per size W (r,k): forward y = W x, backward dx += W^T dy; batch: Y = X W^T
   * (B,r), dX += dY W (B,k), dW += dY^T X (r,k) */
#define SIZE(r, k)                                                                  \
  {"gemv", r, k, 1, 0, 0, "W x"}, {"gemv_t", r, k, 1, 0, 0, "W^T y"},               \
      {"gemm", B, r, k, 0, 1, "X W^T"}, {"gemm", B, k, r, 0, 0, "dY W"},            \
      {"gemm", r, k, B, 1, 0, "dY^T X"}
  const kcase cases[] = {
      SIZE(50, 178), SIZE(200, 178), SIZE(128, 128), {"gemm", 128, 128, 128, 0, 0, "A B"},
      SIZE(512, 512), {"gemm", 512, 512, 512, 0, 0, "A B"},
      SIZE(200, 128), {"gemv_t", 50, 200, 1, 0, 0, "W_h h (W_h^T)"},
      {"gemv", 50, 200, 1, 0, 0, "W_h^T dr (W_h^T)"},
  };
#undef SIZE
  enum { NCASES = sizeof cases / sizeof cases[0] };
  size_t nc = NCASES;
  double res[NCASES][3];
  for (size_t i = 0; i < nc; i++) {
    const kcase *c = &cases[i];
    int gemv = strcmp(c->op, "gemm") != 0;
    size_t na = gemv ? c->m * c->n : c->m * c->k, nb = gemv ? (c->m > c->n ? c->m : c->n) : c->k * c->n;
    size_t ncc = gemv ? (c->m > c->n ? c->m : c->n) : c->m * c->n;
    karg a = {c, PATH_BUILTIN, t, rand_buf(na, 1 + i), rand_buf(nb, 2 + i), rand_buf(ncc, 3 + i)};
    if (!a.A || !a.B || !a.C) {
      fprintf(stderr, "dync-bench kernels: out of memory\n");
      return 1;
    }
    double flops = 2.0 * (gemv ? (double)c->m * c->n : (double)c->m * c->n * c->k);
    double g[3] = {0, 0, 0};
    /* the paths alternate, batch by batch, so that they share the machine's
     * conditions; each keeps its fastest batch */
    double best[3] = {INFINITY, INFINITY, INFINITY}, t_end = bench_now() + ctx->seconds;
    long calls[3] = {1, 1, 1};
    for (int round = 0; round < 3 || bench_now() < t_end; round++) {
      for (int q = 0; q < 3; q++) {
        if (!DY_HAVE_BLAS && q == PATH_BLAS) continue;
        a.path = (path_t)q;
        double t0 = bench_now();
        for (long k = 0; k < calls[q]; k++) kcall(&a);
        double dt = bench_now() - t0;
        if (dt / calls[q] < best[q]) best[q] = dt / calls[q];
        if (dt < 5e-5 && calls[q] < (1L << 24)) calls[q] *= 2; /* aim at ~100 us batches */
      }
      if (round % 64 == 0) bench_progress(ctx, "%s %zux%zux%zu ...", c->op, c->m, c->n, c->k);
    }
    for (int q = 0; q < 3; q++) g[q] = isfinite(best[q]) ? flops / best[q] * 1e-9 : 0;
    bench_row_begin(ctx);
    bench_row_str(ctx, "op", c->op);
    bench_row_str(ctx, "what", c->what);
    bench_row_str(ctx, "trans", gemv ? "-" : c->ta ? (c->tb ? "TT" : "TN") : (c->tb ? "NT" : "NN"));
    bench_row_int(ctx, "m", (long long)c->m);
    bench_row_int(ctx, "n", (long long)c->n);
    bench_row_int(ctx, "k", (long long)c->k);
    bench_row_num(ctx, "builtin_gflops", g[0]);
    bench_row_num(ctx, "blas_gflops", g[1]);
    bench_row_num(ctx, "dync_gflops", g[2]);
    bench_row_num(ctx, "builtin_of_peak", g[0] / peak);
    bench_row_num(ctx, "builtin_of_blas", g[1] > 0 ? g[0] / g[1] : 0);
    bench_row_end(ctx);
    free(a.A);
    free(a.B);
    free(a.C);
    memcpy(res[i], g, sizeof g);
  }
  printf("\n");
  bench_result(ctx, "peak_gflops=%.3f isa=%s lanes=%d", peak, t->isa, isa_lanes(t->isa));
  for (size_t i = 0; i < nc; i++) {
    const kcase *c = &cases[i];
    char blas[32];
    if (DY_HAVE_BLAS) snprintf(blas, sizeof blas, "%.3f", res[i][1]);
    else snprintf(blas, sizeof blas, "none");
    bench_result(ctx,
                 "op=%s m=%zu n=%zu k=%zu ta=%d tb=%d builtin_gflops=%.3f blas_gflops=%s dync_gflops=%.3f "
                 "peak_gflops=%.3f",
                 c->op, c->m, c->n, c->k, c->ta, c->tb, res[i][0], blas, res[i][2], peak);
  }
  return 0;
}

const bench_task bench_task_kernels = {"kernels", "GFLOP/s of gemv/gemm at RNN sizes vs BLAS and the FMA peak", help, run};
