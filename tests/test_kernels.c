/* Kernels: every built-in instruction set this CPU has (and the public entry
 * points, which may call BLAS) against a naive double-precision reference:
 * gemm in all four transpose combinations over odd and RNN sizes, alpha/beta
 * variants (beta = 0 with NaN in C), leading dimensions above the minimum with
 * NaN in the padding (which must never be read); gemv both ways, ger, axpy, dot;
 * transpose (exact, padding of both sides untouched). */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "dy_kernels.h"
#include "harness.h"

#if DY_USE_DOUBLE
#define K_EPS DBL_EPSILON
#else
#define K_EPS FLT_EPSILON
#endif

/* Error allowed for a sum of k products whose absolute values sum to mag. */
static double k_tol(size_t k, double mag) { return 4.0 * K_EPS * (double)(k + 4) * (mag + 1e-30) + 1e-300; }

/* The tables to test: "public" (dy_gemm & co.) and each built-in set present. */
typedef struct {
  const char *name;
  dy_kernel_table t;
} k_impl;

static void public_gemm(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha,
                        const dy_real *A, size_t lda, const dy_real *B, size_t ldb, dy_real beta,
                        dy_real *C, size_t ldc) {
  dy_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static size_t impls(k_impl *out) {
  size_t n = 0;
  out[n].name = "public";
  out[n].t.isa = "public";
  out[n].t.gemm = public_gemm;
  out[n].t.gemv = dy_gemv;
  out[n].t.ger = dy_ger;
  out[n].t.axpy = dy_axpy;
  out[n].t.dot = dy_dotk;
  out[n].t.transpose = dy_transposek;
  n++;
  const char *isas[] = {"generic", "avx2", "avx512"};
  for (int i = 0; i < 3; i++) {
    const dy_kernel_table *t = dy_kernels_table(isas[i]);
    if (!t) {
      printf("kernels: %s not available on this CPU, not tested\n", isas[i]);
      continue;
    }
    out[n].name = isas[i];
    out[n].t = *t;
    n++;
  }
  return n;
}

static dy_real *nan_buf(size_t n) {
  dy_real *p = malloc((n ? n : 1) * sizeof(dy_real));
  ck_assert_ptr_nonnull(p);
  for (size_t i = 0; i < n; i++) p[i] = (dy_real)NAN;
  return p;
}

/* Fills a (rows, cols) matrix with leading dimension ld; padding stays NaN. */
static dy_real *rand_mat(t_rng *r, size_t rows, size_t cols, size_t ld) {
  dy_real *p = nan_buf(rows * ld);
  for (size_t i = 0; i < rows; i++) t_fill(r, p + i * ld, cols, -1, 1, 0);
  return p;
}

/* One gemm case against the reference; C's padding must stay untouched. */
static void check_gemm(const k_impl *im, int ta, int tb, size_t M, size_t N, size_t K,
                       double alpha, double beta, size_t pad, uint64_t seed) {
  t_rng r = {seed};
  size_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  dy_real *A = rand_mat(&r, ta ? K : M, ta ? M : K, lda);
  dy_real *B = rand_mat(&r, tb ? N : K, tb ? K : N, ldb);
  dy_real *C = nan_buf(M * ldc);
  if (beta != 0)
    for (size_t i = 0; i < M; i++) t_fill(&r, C + i * ldc, N, -1, 1, 0);
  for (size_t i = 0; i < M; i++)
    for (size_t j = N; j < ldc; j++) C[i * ldc + j] = (dy_real)12345;
  dy_real *C0 = malloc(M * ldc * sizeof(dy_real) + 1);
  memcpy(C0, C, M * ldc * sizeof(dy_real));
  im->t.gemm(ta, tb, M, N, K, (dy_real)alpha, A, lda, B, ldb, (dy_real)beta, C, ldc);
  for (size_t i = 0; i < M; i++) {
    for (size_t j = 0; j < N; j++) {
      double s = 0, mag = 0;
      for (size_t k = 0; k < K; k++) {
        double a = ta ? A[k * lda + i] : A[i * lda + k];
        double b = tb ? B[j * ldb + k] : B[k * ldb + j];
        s += a * b;
        mag += fabs(a * b);
      }
      double c0 = beta == 0 ? 0 : beta * (double)C0[i * ldc + j];
      double ref = alpha * s + c0;
      double err = fabs((double)C[i * ldc + j] - ref);
      double tol = k_tol(K, fabs(alpha) * mag + fabs(c0));
      ck_assert_msg(err <= tol,
                    "%s gemm ta=%d tb=%d M=%zu N=%zu K=%zu alpha=%g beta=%g pad=%zu: C(%zu,%zu) "
                    "= %.9g, reference %.9g (tolerance %.3g)",
                    im->name, ta, tb, M, N, K, alpha, beta, pad, i, j, (double)C[i * ldc + j], ref,
                    tol);
    }
    for (size_t j = N; j < ldc; j++)
      ck_assert_msg(C[i * ldc + j] == (dy_real)12345, "%s gemm wrote C padding (%zu,%zu)",
                    im->name, i, j);
  }
  free(A);
  free(B);
  free(C);
  free(C0);
}

static const size_t odd[] = {1, 3, 7, 17, 33, 65};
#define NODD (sizeof odd / sizeof odd[0])
static const double ab[][2] = {{1, 0}, {1, 1}, {-0.5, 0.3}, {0.7, 0}, {0, 2}, {2, -1}};
#define NAB (sizeof ab / sizeof ab[0])

START_TEST(gemm_odd_sizes) {
  k_impl im[4];
  size_t ni = impls(im);
  for (size_t q = 0; q < ni; q++) {
    unsigned c = 0;
    for (int ta = 0; ta < 2; ta++)
      for (int tb = 0; tb < 2; tb++)
        for (size_t m = 0; m < NODD; m++)
          for (size_t n = 0; n < NODD; n++)
            for (size_t k = 0; k < NODD; k++, c++) {
              /* half of the size triples per transpose pair (alternating),
               * so every size meets every other in some combination */
              if ((m + n + k + (size_t)ta + (size_t)tb) % 2) continue;
              const double *p = ab[c % NAB];
              check_gemm(&im[q], ta, tb, odd[m], odd[n], odd[k], p[0], p[1], (c % 3) * 2, c);
            }
  }
}
END_TEST

/* RNN sizes (tagger, LM, batches of 16), and sizes crossing the block
 * boundaries of the packed path (MC 96 and KC 256: 97 x 40 x 257; NC 512:
 * 13 x 1030 x 20, 30 x 520 x 9). */
START_TEST(gemm_rnn_and_blocked_sizes) {
  static const size_t sz[][3] = {
      {200, 1, 178}, {50, 1, 178},  {16, 200, 178}, {16, 50, 178},  {200, 16, 178},
      {16, 512, 128}, {16, 128, 128}, {40, 64, 300}, {97, 49, 257},
      {13, 1030, 20}, {97, 40, 257}, {30, 520, 9},
  };
  k_impl im[4];
  size_t ni = impls(im);
  for (size_t q = 0; q < ni; q++) {
    unsigned c = 0;
    for (size_t s = 0; s < sizeof sz / sizeof sz[0]; s++)
      for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++, c++) {
          const double *p = ab[c % NAB];
          check_gemm(&im[q], ta, tb, sz[s][0], sz[s][1], sz[s][2], p[0], p[1], c % 2 ? 5 : 0,
                     100 + c);
        }
  }
}
END_TEST

/* One gemv case against the reference; A starts off values into a NaN
 * buffer (NaN before it, in its padding and after it: never to be read). */
static void check_gemv_at(const k_impl *im, int ta, size_t M, size_t N, double alpha, double beta,
                          size_t pad, size_t off, uint64_t seed) {
  t_rng r = {seed};
  size_t lda = N + pad, nx = ta ? M : N, ny = ta ? N : M;
  dy_real *buf = nan_buf(off + M * lda + 64), *A = buf + off;
  for (size_t i = 0; i < M; i++) t_fill(&r, A + i * lda, N, -1, 1, 0);
  dy_real *x = nan_buf(nx), *y = nan_buf(ny), *y0 = nan_buf(ny);
  t_fill(&r, x, nx, -1, 1, 0);
  if (beta != 0) t_fill(&r, y, ny, -1, 1, 0);
  memcpy(y0, y, ny * sizeof(dy_real));
  im->t.gemv(ta, M, N, (dy_real)alpha, A, lda, x, (dy_real)beta, y);
  for (size_t i = 0; i < ny; i++) {
    double s = 0, mag = 0;
    for (size_t k = 0; k < nx; k++) {
      double a = ta ? A[k * lda + i] : A[i * lda + k];
      s += a * x[k];
      mag += fabs(a * x[k]);
    }
    double c0 = beta == 0 ? 0 : beta * (double)y0[i];
    double ref = alpha * s + c0, err = fabs((double)y[i] - ref);
    double tol = k_tol(nx, fabs(alpha) * mag + fabs(c0));
    ck_assert_msg(err <= tol, "%s gemv ta=%d M=%zu N=%zu alpha=%g beta=%g: y[%zu] = %.9g, "
                  "reference %.9g", im->name, ta, M, N, alpha, beta, i, (double)y[i], ref);
  }
  free(buf);
  free(x);
  free(y);
  free(y0);
}

static void check_gemv(const k_impl *im, int ta, size_t M, size_t N, double alpha, double beta,
                       size_t pad, uint64_t seed) {
  check_gemv_at(im, ta, M, N, alpha, beta, pad, 0, seed);
}

/* Rows that do not start on a vector boundary (lda not a multiple of the
 * vector width, A itself offset by every lane count): the aligned-row gemv
 * paths read only the rows' own values. */
START_TEST(gemv_unaligned_rows) {
  static const size_t sz[][2] = {{200, 178}, {50, 178}, {64, 40}, {13, 33}, {40, 256}, {3, 100}};
  k_impl im[4];
  size_t ni = impls(im);
  for (size_t q = 0; q < ni; q++) {
    unsigned c = 0;
    for (int ta = 0; ta < 2; ta++)
      for (size_t s = 0; s < sizeof sz / sizeof sz[0]; s++)
        for (size_t off = 0; off < 17; off += (s < 2 ? 1 : 5), c++) {
          const double *p = ab[c % NAB];
          check_gemv_at(&im[q], ta, sz[s][0], sz[s][1], p[0], p[1], c % 3 == 0 ? 16 - off % 4 : c % 3,
                        off, c + 1000);
        }
  }
}
END_TEST

START_TEST(gemv_both_ways) {
  static const size_t rnn[][2] = {{200, 178}, {50, 178}, {128, 128}, {512, 512}, {512, 128},
                                  {178, 200}, {4, 300}, {300, 4}, {1, 1}, {5, 129}};
  k_impl im[4];
  size_t ni = impls(im);
  for (size_t q = 0; q < ni; q++) {
    unsigned c = 0;
    for (int ta = 0; ta < 2; ta++) {
      for (size_t m = 0; m < NODD; m++)
        for (size_t n = 0; n < NODD; n++, c++) {
          const double *p = ab[c % NAB];
          check_gemv(&im[q], ta, odd[m], odd[n], p[0], p[1], c % 3, c);
        }
      for (size_t s = 0; s < sizeof rnn / sizeof rnn[0]; s++, c++) {
        const double *p = ab[c % NAB];
        check_gemv(&im[q], ta, rnn[s][0], rnn[s][1], p[0], p[1], c % 2 ? 3 : 0, c);
      }
    }
  }
}
END_TEST

START_TEST(ger_axpy_dot) {
  k_impl im[4];
  size_t ni = impls(im);
  static const size_t ns[] = {0, 1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 70, 128, 178, 200, 513};
  for (size_t q = 0; q < ni; q++) {
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++) {
      size_t n = ns[a];
      t_rng r = {a + 7};
      dy_real *x = nan_buf(n + 1), *y = nan_buf(n + 1), *y0 = nan_buf(n + 1);
      t_fill(&r, x, n, -1, 1, 0);
      t_fill(&r, y, n, -1, 1, 0);
      memcpy(y0, y, (n + 1) * sizeof(dy_real));
      double s = 0, mag = 0;
      for (size_t i = 0; i < n; i++) {
        s += (double)x[i] * y[i];
        mag += fabs((double)x[i] * y[i]);
      }
      double d = im[q].t.dot(n, x, y);
      ck_assert_msg(fabs(d - s) <= k_tol(n, mag), "%s dot n=%zu: %.9g, reference %.9g",
                    im[q].name, n, d, s);
      im[q].t.axpy(n, (dy_real)-0.75, x, y);
      for (size_t i = 0; i < n; i++) {
        double ref = (double)y0[i] - 0.75 * x[i];
        ck_assert_msg(fabs(y[i] - ref) <= k_tol(1, fabs(y0[i]) + fabs(0.75 * x[i])),
                      "%s axpy n=%zu: y[%zu] = %.9g, reference %.9g", im[q].name, n, i,
                      (double)y[i], ref);
      }
      ck_assert_msg(isnan(y[n]), "%s axpy wrote past n=%zu", im[q].name, n);
      free(x);
      free(y);
      free(y0);
    }
    /* ger with lda > N */
    static const size_t gs[][2] = {{1, 1}, {3, 17}, {17, 3}, {50, 178}, {200, 178}, {33, 65}};
    for (size_t s = 0; s < sizeof gs / sizeof gs[0]; s++) {
      size_t M = gs[s][0], N = gs[s][1], lda = N + 3;
      t_rng r = {s + 99};
      dy_real *A = rand_mat(&r, M, N, lda), *A0 = nan_buf(M * lda);
      dy_real *x = nan_buf(M), *y = nan_buf(N);
      t_fill(&r, x, M, -1, 1, 0);
      t_fill(&r, y, N, -1, 1, 0);
      memcpy(A0, A, M * lda * sizeof(dy_real));
      im[q].t.ger(M, N, (dy_real)1.5, x, y, A, lda);
      for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
          double ref = (double)A0[i * lda + j] + 1.5 * x[i] * y[j];
          ck_assert_msg(fabs(A[i * lda + j] - ref) <= k_tol(1, fabs(ref) + 1.5),
                        "%s ger M=%zu N=%zu: A(%zu,%zu) = %.9g, reference %.9g", im[q].name, M,
                        N, i, j, (double)A[i * lda + j], ref);
        }
        for (size_t j = N; j < lda; j++)
          ck_assert_msg(isnan(A[i * lda + j]), "%s ger wrote padding", im[q].name);
      }
      free(A);
      free(A0);
      free(x);
      free(y);
    }
  }
}
END_TEST

/* B = A^T bit for bit over sizes around the 8 and 16 tiles, with leading
 * dimensions above the minimum: B's padding (NaN) stays, A's is never read
 * (NaN there would show in B). */
START_TEST(transpose_exact) {
  k_impl im[4];
  size_t ni = impls(im);
  static const size_t ms[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 50, 64, 200};
  for (size_t q = 0; q < ni; q++)
    for (size_t a = 0; a < sizeof ms / sizeof ms[0]; a++)
      for (size_t b = 0; b < sizeof ms / sizeof ms[0]; b++)
        for (size_t pad = 0; pad <= 3; pad += 3) {
          size_t M = ms[a], N = ms[b], lda = N + pad, ldb = M + pad;
          t_rng r = {a * 31 + b + pad};
          dy_real *A = rand_mat(&r, M, N, lda), *B = nan_buf(N * ldb);
          im[q].t.transpose(M, N, A, lda, B, ldb);
          for (size_t j = 0; j < N; j++) {
            for (size_t i = 0; i < M; i++)
              ck_assert_msg(B[j * ldb + i] == A[i * lda + j], "%s transpose %zux%zu pad %zu: B(%zu,%zu) = %g, A(%zu,%zu) = %g",
                            im[q].name, M, N, pad, j, i, (double)B[j * ldb + i], i, j, (double)A[i * lda + j]);
            for (size_t i = M; i < ldb; i++)
              ck_assert_msg(isnan(B[j * ldb + i]), "%s transpose %zux%zu wrote B's padding", im[q].name, M, N);
          }
          free(A);
          free(B);
        }
}
END_TEST

START_TEST(dispatch) {
  const dy_kernel_table *t = dy_kernels_table(NULL);
  ck_assert_ptr_nonnull(t);
  ck_assert_ptr_eq(t, dy_kernels_table(NULL));
  ck_assert_ptr_eq(t, dy_kernels_table(t->isa));
  ck_assert_ptr_nonnull(dy_kernels_table("generic"));
  ck_assert_ptr_null(dy_kernels_table("no-such-isa"));
  ck_assert_ptr_nonnull(dy_kernels_backend());
  printf("kernels: built-in set %s, backend %s\n", t->isa, dy_kernels_backend());
}
END_TEST

int main(void) {
  Suite *s = suite_create("kernels");
  TCase *tc;
#define K_CASE(name, test)     \
  tc = tcase_create(name);     \
  tcase_set_timeout(tc, 600);  \
  tcase_add_test(tc, test);    \
  suite_add_tcase(s, tc)
  K_CASE("dispatch", dispatch);
  K_CASE("gemm_odd", gemm_odd_sizes);
  K_CASE("gemm_rnn", gemm_rnn_and_blocked_sizes);
  K_CASE("gemv", gemv_both_ways);
  K_CASE("gemv_unaligned", gemv_unaligned_rows);
  K_CASE("vector", ger_axpy_dot);
  K_CASE("transpose", transpose_exact);
#undef K_CASE
  return t_run(s);
}
