/* Kernels: the numeric primitives of every op, in one place.
 *
 * Built-in kernels come in three instruction sets: portable C ("generic"),
 * AVX2+FMA and AVX-512, the SIMD ones compiled from one body (kernels_isa.h)
 * with GCC/Clang target attributes, so the library needs no -march flag. The
 * best set this CPU supports is chosen once per process (__builtin_cpu_supports,
 * an atomic pointer published under pthread_once). BLAS, when the build has
 * it, takes the products whose size makes it pay (thresholds measured with
 * dync-bench kernels; see the KERN_* constants).
 * Memory: the packed gemm path (products of at least KERN_PACK_MIN
 * multiply-adds and more than 2 vectors' worth of rows) packs into a buffer
 * (about 0.6 MB in float) of the calling thread, malloc'ed on its first such
 * product and kept until the thread exits (a pthread key's destructor frees
 * it; no state is shared between threads); if it cannot be had, the unpacked
 * kernels run. gemv, ger, axpy, dot, the small-M paths and every product
 * under that size never allocate. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dy_kernels.h"

#if DY_HAVE_BLAS
#include <cblas.h>
#endif

/* gemm: packing pays from about this many multiply-adds (M*N*K). */
#define KERN_PACK_MIN (48.0 * 48 * 48)
/* BLAS gemm from this many multiply-adds (below, call overhead dominates),
 * except for batches of at most KERN_BUILTIN_NT_M vectors times W^T (NT with
 * few rows), where the built-in small-M kernel beats OpenBLAS 1.4-1.7x.
 * gemv never goes to BLAS: the built-in one is 1.1-1.9x faster at RNN sizes.
 * (Measured with dync-bench kernels on a Xeon with AVX-512, OpenBLAS 0.3.21.) */
#define KERN_BLAS_GEMM_MIN (32.0 * 32 * 32)
#define KERN_BUILTIN_NT_M 32

const char *dy_kernels_backend(void) {
#if DY_HAVE_BLAS
  return DY_BLAS_NAME;
#else
  return "builtin";
#endif
}

/* The calling thread's packing buffer of at least n reals (64-byte
 * aligned), or NULL when out of memory. One per thread, grown on demand. */
typedef struct kern_buf {
  size_t n;    /* reals available at p */
  dy_real *p;  /* 64-byte aligned, inside raw */
  void *raw;
} kern_buf;
static pthread_key_t kern_buf_key;
static pthread_once_t kern_buf_once = PTHREAD_ONCE_INIT;
static int kern_buf_ok;
static void kern_buf_free(void *v) {
  kern_buf *b = v;
  if (b) free(b->raw);
  free(b);
}
static void kern_buf_init(void) { kern_buf_ok = pthread_key_create(&kern_buf_key, kern_buf_free) == 0; }
static dy_real *kern_pack_buf(size_t n) {
  pthread_once(&kern_buf_once, kern_buf_init);
  if (!kern_buf_ok) return NULL;
  kern_buf *b = pthread_getspecific(kern_buf_key);
  if (b && b->n >= n) return b->p;
  if (!b) {
    b = calloc(1, sizeof *b);
    if (!b) return NULL;
    if (pthread_setspecific(kern_buf_key, b) != 0) {
      free(b);
      return NULL;
    }
  }
  void *raw = malloc(n * sizeof(dy_real) + 64);
  if (!raw) return NULL;
  free(b->raw);
  b->raw = raw;
  b->p = (dy_real *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
  b->n = n;
  return b->p;
}

/* C(M,N) = beta C, where beta == 0 overwrites (NaN in C does not survive). */
static void kern_scale_c(size_t M, size_t N, dy_real beta, dy_real *C, size_t ldc) {
  if (beta == 1) return;
  for (size_t i = 0; i < M; i++) {
    dy_real *c = C + i * ldc;
    if (beta == 0) memset(c, 0, N * sizeof(dy_real));
    else
      for (size_t j = 0; j < N; j++) c[j] *= beta;
  }
}

/* ============================================================== generic C */

static void axpy_generic(size_t n, dy_real a, const dy_real *restrict x, dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] += a * x[i];
}

static dy_real dot_generic(size_t n, const dy_real *restrict x, const dy_real *restrict y) {
  dy_real s[8] = {0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t k = 0; k < 8; k++) s[k] += x[i + k] * y[i + k];
  dy_real t = 0;
  for (; i < n; i++) t += x[i] * y[i];
  return t + ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void ger_generic(size_t M, size_t N, dy_real alpha, const dy_real *x, const dy_real *y,
                        dy_real *A, size_t lda) {
  for (size_t i = 0; i < M; i++) axpy_generic(N, alpha * x[i], y, A + i * lda);
}

static void gemv_generic(int ta, size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                         const dy_real *x, dy_real beta, dy_real *y) {
  size_t ny = ta ? N : M;
  kern_scale_c(1, ny, beta, y, ny);
  if (!ta)
    for (size_t i = 0; i < M; i++) y[i] += alpha * dot_generic(N, A + i * lda, x);
  else
    for (size_t i = 0; i < M; i++) axpy_generic(N, alpha * x[i], A + i * lda, y);
}

static void gemm_generic(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha,
                         const dy_real *A, size_t lda, const dy_real *B, size_t ldb, dy_real beta,
                         dy_real *C, size_t ldc) {
  kern_scale_c(M, N, beta, C, ldc);
  if (alpha == 0) return;
  for (size_t i = 0; i < M; i++) {
    dy_real *c = C + i * ldc;
    if (!tb) {
      /* c(N) += alpha sum_k op(A)(i,k) B(k,:) */
      for (size_t k = 0; k < K; k++) {
        dy_real a = ta ? A[k * lda + i] : A[i * lda + k];
        axpy_generic(N, alpha * a, B + k * ldb, c);
      }
    } else {
      for (size_t j = 0; j < N; j++) {
        const dy_real *b = B + j * ldb;
        dy_real s;
        if (!ta) s = dot_generic(K, A + i * lda, b);
        else {
          s = 0;
          for (size_t k = 0; k < K; k++) s += A[k * lda + i] * b[k];
        }
        c[j] += alpha * s;
      }
    }
  }
}

/* B(N,M) = A(M,N)^T in 8x8 blocks: the block's source rows stay in L1
 * while its columns are written out. */
static void transpose_generic(size_t M, size_t N, const dy_real *restrict A, size_t lda,
                              dy_real *restrict B, size_t ldb) {
  for (size_t i0 = 0; i0 < M; i0 += 8)
    for (size_t j0 = 0; j0 < N; j0 += 8) {
      size_t ie = i0 + 8 < M ? i0 + 8 : M, je = j0 + 8 < N ? j0 + 8 : N;
      for (size_t j = j0; j < je; j++)
        for (size_t i = i0; i < ie; i++) B[j * ldb + i] = A[i * lda + j];
    }
}

/* The edges of a tiled transpose: rows [m0, M) of all columns and columns
 * [n0, N) of rows [0, m0). */
static inline void transpose_edges(size_t M, size_t N, size_t m0, size_t n0, const dy_real *A,
                                   size_t lda, dy_real *B, size_t ldb) {
  if (m0 < M) transpose_generic(M - m0, N, A + m0 * lda, lda, B + m0, ldb);
  if (n0 < N) transpose_generic(m0, N - n0, A + n0, lda, B + n0 * ldb, ldb);
}

static const dy_kernel_table table_generic = {
    "generic", gemm_generic, gemv_generic, ger_generic, axpy_generic, dot_generic, transpose_generic,
};

/* ========================================================== x86 SIMD sets */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define DY_KERN_X86 1
#include <immintrin.h>
#define PREFETCH(p) _mm_prefetch((const char *)(p), _MM_HINT_T0)

/* ---------------------------------------------------------------- AVX2 */
#define KFN __attribute__((target("avx2,fma")))
#define FN(x) x##_avx2
#define ISA_NAME "avx2"
#define MR 6
#define MRS 4
#define NV 2
#define TBLK 8
#if DY_USE_DOUBLE
#define VT __m256d
#define VW 4
#define LOAD _mm256_loadu_pd
#define STORE _mm256_storeu_pd
#define SET1 _mm256_set1_pd
#define FMA _mm256_fmadd_pd
#define ADD _mm256_add_pd
#define ZERO _mm256_setzero_pd
KFN static inline __m256i mask_avx2(size_t n) {
  return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)n), _mm256_setr_epi64x(0, 1, 2, 3));
}
#define LOADN(p, n) _mm256_maskload_pd((p), mask_avx2(n))
#define STOREN(p, v, n) _mm256_maskstore_pd((p), mask_avx2(n), (v))
KFN static inline __m256i maskr_avx2(size_t lo, size_t hi) {
  __m256i i = _mm256_setr_epi64x(0, 1, 2, 3);
  return _mm256_andnot_si256(_mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)lo), i),
                             _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)hi), i));
}
#define LOADR(p, lo, hi) _mm256_maskload_pd((p), maskr_avx2((lo), (hi)))
/* out[0..3] = the sums of a, b, c, d */
KFN static inline void hsum4_avx2(__m256d a, __m256d b, __m256d c, __m256d d, double *out) {
  __m256d t0 = _mm256_hadd_pd(a, b), t1 = _mm256_hadd_pd(c, d);
  _mm256_storeu_pd(out, _mm256_add_pd(_mm256_permute2f128_pd(t0, t1, 0x20),
                                      _mm256_permute2f128_pd(t0, t1, 0x31)));
}
KFN static inline double hsum_avx2(__m256d v) {
  __m128d lo = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(lo, _mm_unpackhi_pd(lo, lo)));
}
#else
#define VT __m256
#define VW 8
#define LOAD _mm256_loadu_ps
#define STORE _mm256_storeu_ps
#define SET1 _mm256_set1_ps
#define FMA _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define ZERO _mm256_setzero_ps
KFN static inline __m256i mask_avx2(size_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#define LOADN(p, n) _mm256_maskload_ps((p), mask_avx2(n))
#define STOREN(p, v, n) _mm256_maskstore_ps((p), mask_avx2(n), (v))
KFN static inline __m256i maskr_avx2(size_t lo, size_t hi) {
  __m256i i = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_andnot_si256(_mm256_cmpgt_epi32(_mm256_set1_epi32((int)lo), i),
                             _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), i));
}
#define LOADR(p, lo, hi) _mm256_maskload_ps((p), maskr_avx2((lo), (hi)))
/* out[0..3] = the sums of a, b, c, d */
KFN static inline void hsum4_avx2(__m256 a, __m256 b, __m256 c, __m256 d, float *out) {
  __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  _mm_storeu_ps(out, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}
KFN static inline float hsum_avx2(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  return _mm_cvtss_f32(_mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1)));
}
#endif
/* B(N,M) = A(M,N)^T: 8x8 tiles in registers (unpack, shuffle, lane swap),
 * the edges in scalar blocks. */
KFN static void transpose_avx2(size_t M, size_t N, const dy_real *A, size_t lda, dy_real *B,
                               size_t ldb) {
#if DY_USE_DOUBLE
  transpose_generic(M, N, A, lda, B, ldb);
#else
  size_t m0 = M / 8 * 8, n0 = N / 8 * 8;
  for (size_t i = 0; i < m0; i += 8)
    for (size_t j = 0; j < n0; j += 8) {
      const float *a = A + i * lda + j;
      __m256 r0 = _mm256_loadu_ps(a), r1 = _mm256_loadu_ps(a + lda), r2 = _mm256_loadu_ps(a + 2 * lda),
             r3 = _mm256_loadu_ps(a + 3 * lda), r4 = _mm256_loadu_ps(a + 4 * lda),
             r5 = _mm256_loadu_ps(a + 5 * lda), r6 = _mm256_loadu_ps(a + 6 * lda),
             r7 = _mm256_loadu_ps(a + 7 * lda);
      __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
      __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
      __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
      __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
      __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
      __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float *b = B + j * ldb + i;
      _mm256_storeu_ps(b, _mm256_permute2f128_ps(u0, u4, 0x20));
      _mm256_storeu_ps(b + ldb, _mm256_permute2f128_ps(u1, u5, 0x20));
      _mm256_storeu_ps(b + 2 * ldb, _mm256_permute2f128_ps(u2, u6, 0x20));
      _mm256_storeu_ps(b + 3 * ldb, _mm256_permute2f128_ps(u3, u7, 0x20));
      _mm256_storeu_ps(b + 4 * ldb, _mm256_permute2f128_ps(u0, u4, 0x31));
      _mm256_storeu_ps(b + 5 * ldb, _mm256_permute2f128_ps(u1, u5, 0x31));
      _mm256_storeu_ps(b + 6 * ldb, _mm256_permute2f128_ps(u2, u6, 0x31));
      _mm256_storeu_ps(b + 7 * ldb, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
  transpose_edges(M, N, m0, n0, A, lda, B, ldb);
#endif
}
#define HSUM hsum_avx2
#define HSUM4 hsum4_avx2
#include "kernels_isa.h"
#undef KFN
#undef FN
#undef ISA_NAME
#undef MR
#undef MRS
#undef NV
#undef TBLK
#undef VT
#undef VW
#undef LOAD
#undef STORE
#undef SET1
#undef FMA
#undef ADD
#undef ZERO
#undef LOADN
#undef STOREN
#undef LOADR
#undef HSUM
#undef HSUM4

/* -------------------------------------------------------------- AVX-512 */
#define KFN __attribute__((target("avx512f,avx2,fma")))
#define FN(x) x##_avx512
#define ISA_NAME "avx512"
#define MR 12
#define MRS 8
#define NV 2
#define TBLK 16
#if DY_USE_DOUBLE
#define VT __m512d
#define VW 8
#define LOAD _mm512_loadu_pd
#define STORE _mm512_storeu_pd
#define SET1 _mm512_set1_pd
#define FMA _mm512_fmadd_pd
#define ADD _mm512_add_pd
#define ZERO _mm512_setzero_pd
#define KMASK(n) ((__mmask8)((1u << (n)) - 1u))
#define LOADN(p, n) _mm512_maskz_loadu_pd(KMASK(n), (p))
#define LOADR(p, lo, hi) _mm512_maskz_loadu_pd((__mmask8)(KMASK(hi) & ~KMASK(lo)), (p))
#define STOREN(p, v, n) _mm512_mask_storeu_pd((p), KMASK(n), (v))
#define HSUM _mm512_reduce_add_pd
/* out[0..3] = the sums of a, b, c, d: halves first, then the AVX2 tree */
KFN static inline void hsum4_avx512(__m512d a, __m512d b, __m512d c, __m512d d, double *out) {
#define H512(v) _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd((v), 1))
  hsum4_avx2(H512(a), H512(b), H512(c), H512(d), out);
#undef H512
}
#else
#define VT __m512
#define VW 16
#define LOAD _mm512_loadu_ps
#define STORE _mm512_storeu_ps
#define SET1 _mm512_set1_ps
#define FMA _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define ZERO _mm512_setzero_ps
#define KMASK(n) ((__mmask16)((1u << (n)) - 1u))
#define LOADN(p, n) _mm512_maskz_loadu_ps(KMASK(n), (p))
#define LOADR(p, lo, hi) _mm512_maskz_loadu_ps((__mmask16)(KMASK(hi) & ~KMASK(lo)), (p))
#define STOREN(p, v, n) _mm512_mask_storeu_ps((p), KMASK(n), (v))
#define HSUM _mm512_reduce_add_ps
KFN static inline void hsum4_avx512(__m512 a, __m512 b, __m512 c, __m512 d, float *out) {
#define H512(v)                                                        \
  _mm256_add_ps(_mm512_castps512_ps256(v),                             \
                _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)))
  hsum4_avx2(H512(a), H512(b), H512(c), H512(d), out);
#undef H512
}
#endif
/* B(N,M) = A(M,N)^T: 16x16 tiles in registers (unpack by 32 and 64 bits,
 * then two rounds of 128-bit lane shuffles); the tiles of the last rows and
 * columns are loaded and stored under masks (masked-out lanes are never read
 * or written), so there is no scalar edge. */
KFN static void transpose_avx512(size_t M, size_t N, const dy_real *A, size_t lda, dy_real *B,
                                 size_t ldb) {
#if DY_USE_DOUBLE
  transpose_generic(M, N, A, lda, B, ldb);
#else
  for (size_t i = 0; i < M; i += 16)
    for (size_t j = 0; j < N; j += 16) {
      const size_t mr = M - i < 16 ? M - i : 16, nc = N - j < 16 ? N - j : 16;
      const __mmask16 cm = KMASK(nc), rm = KMASK(mr);
      const float *a = A + i * lda + j;
      __m512 r[16], t[16];
      _Pragma("GCC unroll 16") for (int q = 0; q < 16; q++)
        r[q] = (size_t)q < mr ? _mm512_maskz_loadu_ps(cm, a + (size_t)q * lda) : _mm512_setzero_ps();
      _Pragma("GCC unroll 8") for (int q = 0; q < 16; q += 2) {
        t[q] = _mm512_unpacklo_ps(r[q], r[q + 1]);
        t[q + 1] = _mm512_unpackhi_ps(r[q], r[q + 1]);
      }
#define PD(x) _mm512_castps_pd(x)
#define PS(x) _mm512_castpd_ps(x)
      _Pragma("GCC unroll 4") for (int q = 0; q < 16; q += 4) {
        r[q] = PS(_mm512_unpacklo_pd(PD(t[q]), PD(t[q + 2])));
        r[q + 1] = PS(_mm512_unpackhi_pd(PD(t[q]), PD(t[q + 2])));
        r[q + 2] = PS(_mm512_unpacklo_pd(PD(t[q + 1]), PD(t[q + 3])));
        r[q + 3] = PS(_mm512_unpackhi_pd(PD(t[q + 1]), PD(t[q + 3])));
      }
#undef PD
#undef PS
      /* r[4b + c] holds, in its 128-bit lane L, column 4L + c of rows 4b..4b+3 */
      _Pragma("GCC unroll 4") for (int c = 0; c < 4; c++) {
        t[c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xDD);
        t[8 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xDD);
      }
      _Pragma("GCC unroll 8") for (int c = 0; c < 8; c++) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xDD);
      }
      /* r[q]: column q of the tile (rows 0..15 in order), row q of B's tile */
      float *b = B + j * ldb + i;
      _Pragma("GCC unroll 16") for (int q = 0; q < 16; q++)
        if ((size_t)q < nc) _mm512_mask_storeu_ps(b + (size_t)q * ldb, rm, r[q]);
    }
#endif
}
#define HSUM4 hsum4_avx512
#include "kernels_isa.h"
#endif /* x86 */

/* =============================================================== dispatch */

static const dy_kernel_table *pick_table(void) {
#ifdef DY_KERN_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return &table_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &table_avx2;
#endif
  return &table_generic;
}

#if DY_HAVE_BLAS
void openblas_set_num_threads(int n);
#pragma weak openblas_set_num_threads
#endif

static _Atomic(const dy_kernel_table *) kern_best;
static pthread_once_t kern_once = PTHREAD_ONCE_INIT;
static void kern_init(void) {
#if DY_HAVE_BLAS
  /* dync's graphs are small and per example: a threaded BLAS spends its time
   * waking and parking threads (17% in sched_yield on the tagger). One BLAS
   * thread unless the user chose otherwise through the environment. */
  if (openblas_set_num_threads && !getenv("OPENBLAS_NUM_THREADS") && !getenv("OMP_NUM_THREADS"))
    openblas_set_num_threads(1);
#endif
  atomic_store_explicit(&kern_best, pick_table(), memory_order_release);
}

/* The chosen table: one acquire load after the first call. */
static inline const dy_kernel_table *kern(void) {
  const dy_kernel_table *t = atomic_load_explicit(&kern_best, memory_order_acquire);
  if (t) return t;
  pthread_once(&kern_once, kern_init);
  return atomic_load_explicit(&kern_best, memory_order_acquire);
}

const dy_kernel_table *dy_kernels_table(const char *isa) {
  if (!isa) return kern();
  if (strcmp(isa, "generic") == 0) return &table_generic;
#ifdef DY_KERN_X86
  __builtin_cpu_init();
  if (strcmp(isa, "avx2") == 0)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &table_avx2 : NULL;
  if (strcmp(isa, "avx512") == 0) return __builtin_cpu_supports("avx512f") ? &table_avx512 : NULL;
#endif
  return NULL;
}

/* ======================================================== public kernels */

/* Vectors shorter than this skip the dispatch (tiny graphs call axpy per node). */
#define KERN_TINY 16

void dy_axpy(size_t n, dy_real a, const dy_real *x, dy_real *y) {
  if (n < KERN_TINY) {
    for (size_t i = 0; i < n; i++) y[i] += a * x[i];
    return;
  }
  kern()->axpy(n, a, x, y);
}

dy_real dy_dotk(size_t n, const dy_real *x, const dy_real *y) { return kern()->dot(n, x, y); }

void dy_vadd(size_t n, const dy_real *restrict x, dy_real *restrict y) {
  for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void dy_scal(size_t n, dy_real a, dy_real *x) {
  for (size_t i = 0; i < n; i++) x[i] *= a;
}

void dy_ger(size_t M, size_t N, dy_real alpha, const dy_real *x, const dy_real *y, dy_real *A,
            size_t lda) {
  kern()->ger(M, N, alpha, x, y, A, lda);
}

void dy_gemv(int ta, size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
             const dy_real *x, dy_real beta, dy_real *y) {
  kern()->gemv(ta, M, N, alpha, A, lda, x, beta, y);
}

void dy_gemm(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha, const dy_real *A,
             size_t lda, const dy_real *B, size_t ldb, dy_real beta, dy_real *C, size_t ldc) {
#if DY_HAVE_BLAS
  int small_nt = tb && !ta && M <= KERN_BUILTIN_NT_M;
  if (!small_nt && (double)M * N * K >= KERN_BLAS_GEMM_MIN && M <= INT32_MAX && N <= INT32_MAX &&
      K <= INT32_MAX && lda <= INT32_MAX && ldb <= INT32_MAX && ldc <= INT32_MAX) {
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
  kern()->gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void dy_transposek(size_t M, size_t N, const dy_real *A, size_t lda, dy_real *B, size_t ldb) {
  kern()->transpose(M, N, A, lda, B, ldb);
}
