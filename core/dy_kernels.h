/* dync kernels: the numeric primitives ops share, in one place.
 * Row-major. Built-in vectorised C by default; BLAS when the build has it and
 * the sizes make it pay (decided inside, never by ops).
 */
#ifndef DY_KERNELS_H
#define DY_KERNELS_H

#include "dy_core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* C(M,N) = alpha * op(A) * op(B) + beta * C.
 * op(A) is (M,K): A is (M,K) with lda >= K, or when ta, A is (K,M) with lda >= M.
 * op(B) is (K,N): B is (K,N) with ldb >= N, or when tb, B is (N,K) with ldb >= K.
 * beta == 0 ignores C's old contents (NaN there does not propagate). */
void dy_gemm(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha,
             const dy_real *A, size_t lda, const dy_real *B, size_t ldb,
             dy_real beta, dy_real *C, size_t ldc);

/* y = alpha * op(A) x + beta * y. A is (M,N) with lda >= N.
 * ta == 0: x (N), y (M). ta != 0: x (M), y (N). beta == 0 ignores y. */
void dy_gemv(int ta, size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
             const dy_real *x, dy_real beta, dy_real *y);

/* A(M,N) += alpha * x(M) y(N)^T. */
void dy_ger(size_t M, size_t N, dy_real alpha, const dy_real *x, const dy_real *y,
            dy_real *A, size_t lda);

/* y += a * x (n). */
void dy_axpy(size_t n, dy_real a, const dy_real *x, dy_real *y);
/* sum_i x_i y_i. */
dy_real dy_dotk(size_t n, const dy_real *x, const dy_real *y);
/* x *= a. */
void dy_scal(size_t n, dy_real a, dy_real *x);
/* y += x. */
void dy_vadd(size_t n, const dy_real *x, dy_real *y);
/* B(N,M) = A(M,N)^T (lda >= N, ldb >= M; A and B do not overlap): register
 * tiles of 16x16 (AVX-512) or 8x8 (AVX2) floats, each read and written whole. */
void dy_transposek(size_t M, size_t N, const dy_real *A, size_t lda, dy_real *B, size_t ldb);

/* Name of the product backend in use ("builtin" or "openblas"/"cblas"). With
 * OpenBLAS, the first product sets it to one thread unless OPENBLAS_NUM_THREADS
 * or OMP_NUM_THREADS is set (threaded BLAS only slows small per-example graphs). */
const char *dy_kernels_backend(void);

/* The built-in kernels of one instruction set, with the contracts of the
 * functions above but never calling BLAS (tests check every table against a
 * reference; benchmarks time the built-in path next to BLAS). */
typedef struct dy_kernel_table {
  const char *isa; /* "generic" (portable C), "avx2" (AVX2+FMA), "avx512" */
  void (*gemm)(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha, const dy_real *A,
               size_t lda, const dy_real *B, size_t ldb, dy_real beta, dy_real *C, size_t ldc);
  void (*gemv)(int ta, size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
               const dy_real *x, dy_real beta, dy_real *y);
  void (*ger)(size_t M, size_t N, dy_real alpha, const dy_real *x, const dy_real *y, dy_real *A,
              size_t lda);
  void (*axpy)(size_t n, dy_real a, const dy_real *x, dy_real *y);
  dy_real (*dot)(size_t n, const dy_real *x, const dy_real *y);
  void (*transpose)(size_t M, size_t N, const dy_real *A, size_t lda, dy_real *B, size_t ldb);
} dy_kernel_table;

/* The table of isa ("generic", "avx2", "avx512"), or NULL when this CPU or
 * compiler lacks it. isa NULL: the best one this CPU supports, which the
 * functions above use (chosen once per process, thread-safe). */
const dy_kernel_table *dy_kernels_table(const char *isa);

#ifdef __cplusplus
}
#endif
#endif
