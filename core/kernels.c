/* Kernels: built-in row-major products written so GCC/Clang vectorise the
 * inner loops, and a BLAS path when the build has one. */
#include <string.h>

#include "dy_kernels.h"

#if DY_HAVE_BLAS
#include <cblas.h>
#endif

const char *dy_kernels_backend(void) {
#if DY_HAVE_BLAS
  return DY_BLAS_NAME;
#else
  return "builtin";
#endif
}

void dy_axpy(size_t n, dy_real a, const dy_real *restrict x, dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

void dy_vadd(size_t n, const dy_real *restrict x, dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void dy_scal(size_t n, dy_real a, dy_real *x) {
  for (size_t i = 0; i < n; i++) x[i] *= a;
}

dy_real dy_dotk(size_t n, const dy_real *restrict x, const dy_real *restrict y) {
  dy_real s[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t k = 0; k < 8; k++) s[k] += x[i + k] * y[i + k];
  dy_real t = 0;
  for (; i < n; i++) t += x[i] * y[i];
  return t + ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

void dy_ger(size_t M, size_t N, dy_real alpha, const dy_real *restrict x,
            const dy_real *restrict y, dy_real *restrict A, size_t lda) {
  for (size_t i = 0; i < M; i++) dy_axpy(N, alpha * x[i], y, A + i * lda);
}

void dy_gemv(int ta, size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
             const dy_real *x, dy_real beta, dy_real *y) {
  size_t ny = ta ? N : M;
  if (beta == 0) memset(y, 0, ny * sizeof(dy_real));
  else if (beta != 1) dy_scal(ny, beta, y);
  if (!ta) {
    for (size_t i = 0; i < M; i++) y[i] += alpha * dy_dotk(N, A + i * lda, x);
  } else {
    for (size_t i = 0; i < M; i++) dy_axpy(N, alpha * x[i], A + i * lda, y);
  }
}

void dy_gemm(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha, const dy_real *A,
             size_t lda, const dy_real *B, size_t ldb, dy_real beta, dy_real *C, size_t ldc) {
#if DY_HAVE_BLAS
  if (M * N * K >= 32768) {
#if DY_USE_DOUBLE
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
#else
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);
#endif
    return;
  }
#endif
  for (size_t i = 0; i < M; i++) {
    dy_real *c = C + i * ldc;
    if (beta == 0) memset(c, 0, N * sizeof(dy_real));
    else if (beta != 1) dy_scal(N, beta, c);
    if (!tb) {
      /* c(N) += alpha * sum_k a(i,k) B(k,:) */
      for (size_t k = 0; k < K; k++) {
        dy_real a = ta ? A[k * lda + i] : A[i * lda + k];
        dy_axpy(N, alpha * a, B + k * ldb, c);
      }
    } else {
      for (size_t j = 0; j < N; j++) {
        const dy_real *b = B + j * ldb;
        dy_real s;
        if (!ta) s = dy_dotk(K, A + i * lda, b);
        else {
          s = 0;
          for (size_t k = 0; k < K; k++) s += A[k * lda + i] * b[k];
        }
        c[j] += alpha * s;
      }
    }
  }
}
