/* Built-in SIMD kernels, written once and included by kernels.c for each
 * instruction set. Before including, kernels.c defines:
 *   KFN          function attribute selecting the target (e.g. target("avx2,fma"))
 *   FN(x)        name suffix, x##_avx2
 *   VT VW        vector type and its number of dy_real lanes
 *   LOAD STORE SET1 FMA ADD ZERO HSUM   full-vector operations
 *   LOADN(p, n) STOREN(p, v, n)         first n < VW lanes (others untouched / 0)
 *   PREFETCH(p)  software prefetch of the line holding p into L1
 *   MR NV        gemm micro-tile: MR rows of C by NV vectors (NR = NV*VW columns)
 *   MRS          rows of the micro-tile for products with few rows (MRS <= MR)
 *   TBLK         vectors of y kept in registers by the transposed gemv (8 or 16)
 * Every function here has the contract of its public counterpart in
 * dy_kernels.h (without the BLAS path). Row-major throughout. */

#define NR (NV * VW)

/* Unrolling the k loop of the micro-kernel by 2 helps GCC (+3%); Clang then
 * stops unrolling the rows and keeps the accumulators in memory. */
#if defined(__clang__)
#define KUNROLL_K
#else
#define KUNROLL_K _Pragma("GCC unroll 2")
#endif

/* y(n) += a x(n) */
KFN static void FN(axpy)(size_t n, dy_real a, const dy_real *restrict x, dy_real *restrict y) {
  VT va = SET1(a);
  size_t i = 0;
  for (; i + 4 * VW <= n; i += 4 * VW) {
    VT y0 = FMA(va, LOAD(x + i), LOAD(y + i));
    VT y1 = FMA(va, LOAD(x + i + VW), LOAD(y + i + VW));
    VT y2 = FMA(va, LOAD(x + i + 2 * VW), LOAD(y + i + 2 * VW));
    VT y3 = FMA(va, LOAD(x + i + 3 * VW), LOAD(y + i + 3 * VW));
    STORE(y + i, y0);
    STORE(y + i + VW, y1);
    STORE(y + i + 2 * VW, y2);
    STORE(y + i + 3 * VW, y3);
  }
  for (; i + VW <= n; i += VW) STORE(y + i, FMA(va, LOAD(x + i), LOAD(y + i)));
  if (i < n) STOREN(y + i, FMA(va, LOADN(x + i, n - i), LOADN(y + i, n - i)), n - i);
}

/* sum_i x_i y_i over n */
KFN static dy_real FN(dot)(size_t n, const dy_real *x, const dy_real *y) {
  VT s0 = ZERO(), s1 = ZERO(), s2 = ZERO(), s3 = ZERO();
  size_t i = 0;
  for (; i + 4 * VW <= n; i += 4 * VW) {
    s0 = FMA(LOAD(x + i), LOAD(y + i), s0);
    s1 = FMA(LOAD(x + i + VW), LOAD(y + i + VW), s1);
    s2 = FMA(LOAD(x + i + 2 * VW), LOAD(y + i + 2 * VW), s2);
    s3 = FMA(LOAD(x + i + 3 * VW), LOAD(y + i + 3 * VW), s3);
  }
  for (; i + VW <= n; i += VW) s0 = FMA(LOAD(x + i), LOAD(y + i), s0);
  if (i < n) s1 = FMA(LOADN(x + i, n - i), LOADN(y + i, n - i), s1);
  return HSUM(ADD(ADD(s0, s1), ADD(s2, s3)));
}

/* y(M) = alpha A(M,N) x(N) + beta y: eight rows at a time, one accumulator
 * per row, x loaded once per eight rows; the eight sums are reduced together
 * (HSUM4: a transposing add tree) rather than one by one. */
KFN static void FN(gemv_n)(size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                           const dy_real *x, dy_real beta, dy_real *y) {
  size_t i = 0;
  dy_real r[8];
  for (; i + 8 <= M; i += 8) {
    const dy_real *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    const dy_real *a4 = a3 + lda, *a5 = a4 + lda, *a6 = a5 + lda, *a7 = a6 + lda;
    VT s0 = ZERO(), s1 = ZERO(), s2 = ZERO(), s3 = ZERO();
    VT s4 = ZERO(), s5 = ZERO(), s6 = ZERO(), s7 = ZERO();
    /* prefetch the next block's rows column by column: eight short row
     * streams defeat the hardware prefetchers (the current block if last) */
    const dy_real *p0 = i + 16 <= M ? a0 + 8 * lda : a0;
    size_t j = 0;
    for (; j + VW <= N; j += VW) {
      VT xa = LOAD(x + j);
      PREFETCH(p0 + j);
      PREFETCH(p0 + lda + j);
      PREFETCH(p0 + 2 * lda + j);
      PREFETCH(p0 + 3 * lda + j);
      PREFETCH(p0 + 4 * lda + j);
      PREFETCH(p0 + 5 * lda + j);
      PREFETCH(p0 + 6 * lda + j);
      PREFETCH(p0 + 7 * lda + j);
      s0 = FMA(LOAD(a0 + j), xa, s0);
      s1 = FMA(LOAD(a1 + j), xa, s1);
      s2 = FMA(LOAD(a2 + j), xa, s2);
      s3 = FMA(LOAD(a3 + j), xa, s3);
      s4 = FMA(LOAD(a4 + j), xa, s4);
      s5 = FMA(LOAD(a5 + j), xa, s5);
      s6 = FMA(LOAD(a6 + j), xa, s6);
      s7 = FMA(LOAD(a7 + j), xa, s7);
    }
    if (j < N) {
      size_t n = N - j;
      VT xa = LOADN(x + j, n);
      s0 = FMA(LOADN(a0 + j, n), xa, s0);
      s1 = FMA(LOADN(a1 + j, n), xa, s1);
      s2 = FMA(LOADN(a2 + j, n), xa, s2);
      s3 = FMA(LOADN(a3 + j, n), xa, s3);
      s4 = FMA(LOADN(a4 + j, n), xa, s4);
      s5 = FMA(LOADN(a5 + j, n), xa, s5);
      s6 = FMA(LOADN(a6 + j, n), xa, s6);
      s7 = FMA(LOADN(a7 + j, n), xa, s7);
    }
    HSUM4(s0, s1, s2, s3, r);
    HSUM4(s4, s5, s6, s7, r + 4);
    if (beta == 0)
      for (int q = 0; q < 8; q++) y[i + q] = alpha * r[q];
    else
      for (int q = 0; q < 8; q++) y[i + q] = alpha * r[q] + beta * y[i + q];
  }
  for (; i + 4 <= M; i += 4) {
    const dy_real *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    VT s0 = ZERO(), s1 = ZERO(), s2 = ZERO(), s3 = ZERO();
    size_t j = 0;
    for (; j + VW <= N; j += VW) {
      VT xa = LOAD(x + j);
      s0 = FMA(LOAD(a0 + j), xa, s0);
      s1 = FMA(LOAD(a1 + j), xa, s1);
      s2 = FMA(LOAD(a2 + j), xa, s2);
      s3 = FMA(LOAD(a3 + j), xa, s3);
    }
    if (j < N) {
      size_t n = N - j;
      VT xa = LOADN(x + j, n);
      s0 = FMA(LOADN(a0 + j, n), xa, s0);
      s1 = FMA(LOADN(a1 + j, n), xa, s1);
      s2 = FMA(LOADN(a2 + j, n), xa, s2);
      s3 = FMA(LOADN(a3 + j, n), xa, s3);
    }
    HSUM4(s0, s1, s2, s3, r);
    if (beta == 0)
      for (int q = 0; q < 4; q++) y[i + q] = alpha * r[q];
    else
      for (int q = 0; q < 4; q++) y[i + q] = alpha * r[q] + beta * y[i + q];
  }
  for (; i < M; i++) {
    dy_real v = alpha * FN(dot)(N, A + i * lda, x);
    y[i] = beta == 0 ? v : v + beta * y[i];
  }
}

/* y(M) = alpha A(M,N) x(N) + beta y for N <= TBLK*VW: x stays in registers
 * and A is read in memory order (one sequential stream, which the hardware
 * prefetchers follow best); four rows at a time, two accumulators each, the
 * four sums reduced together. nv = ceil(N/VW) is a constant after inlining. */
KFN static inline __attribute__((always_inline)) void FN(gemv_n_blk)(
    int nv, size_t rem, size_t M, dy_real alpha, const dy_real *A, size_t lda, const dy_real *x,
    dy_real beta, dy_real *y) {
  VT xv[TBLK];
  _Pragma("GCC unroll 16") for (int v = 0; v < TBLK; v++) if (v < nv)
    xv[v] = v == nv - 1 && rem < VW ? LOADN(x + v * VW, rem) : LOAD(x + v * VW);
  size_t i = 0;
  dy_real r[4];
  for (; i < M; i += 4) {
    VT s[4][2];
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) {
      s[q][0] = ZERO();
      s[q][1] = ZERO();
      if (i + (size_t)q >= M) continue;
      const dy_real *a = A + (i + q) * lda;
      _Pragma("GCC unroll 16") for (int v = 0; v < TBLK; v++) if (v < nv)
        s[q][v & 1] = FMA(v == nv - 1 && rem < VW ? LOADN(a + v * VW, rem) : LOAD(a + v * VW),
                          xv[v], s[q][v & 1]);
    }
    HSUM4(ADD(s[0][0], s[0][1]), ADD(s[1][0], s[1][1]), ADD(s[2][0], s[2][1]),
          ADD(s[3][0], s[3][1]), r);
    size_t nq = M - i < 4 ? M - i : 4;
    for (size_t q = 0; q < nq; q++)
      y[i + q] = beta == 0 ? alpha * r[q] : alpha * r[q] + beta * y[i + q];
  }
}

KFN static void FN(gemv_n_narrow)(size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                                  const dy_real *x, dy_real beta, dy_real *y) {
  size_t nv = (N + VW - 1) / VW, rem = N - (nv - 1) * VW;
  switch (nv) {
#define NCASE(k) \
  case k: FN(gemv_n_blk)(k, rem, M, alpha, A, lda, x, beta, y); break;
    NCASE(1) NCASE(2) NCASE(3) NCASE(4) NCASE(5) NCASE(6) NCASE(7)
#if TBLK > 8
    NCASE(8) NCASE(9) NCASE(10) NCASE(11) NCASE(12) NCASE(13) NCASE(14) NCASE(15)
#endif
#undef NCASE
    default: FN(gemv_n_blk)(TBLK, rem, M, alpha, A, lda, x, beta, y); break;
  }
}

/* y(nv vectors, the last holding rem lanes) += alpha A(M, those columns)^T
 * x(M): the block of y stays in registers while the rows of A are swept
 * (axpy-style). nv is a constant after inlining. */
KFN static inline __attribute__((always_inline)) void FN(gemv_t_blk)(
    int nv, size_t rem, size_t M, dy_real alpha, const dy_real *A, size_t lda, const dy_real *x,
    dy_real *y) {
  VT c[TBLK];
  _Pragma("GCC unroll 16") for (int v = 0; v < TBLK; v++) if (v < nv)
    c[v] = v == nv - 1 && rem < VW ? LOADN(y + v * VW, rem) : LOAD(y + v * VW);
  const dy_real *a = A;
  for (size_t i = 0; i < M; i++, a += lda) {
    VT s = SET1(alpha * x[i]);
    _Pragma("GCC unroll 16") for (int v = 0; v < TBLK; v++) if (v < nv)
      c[v] = FMA(s, v == nv - 1 && rem < VW ? LOADN(a + v * VW, rem) : LOAD(a + v * VW), c[v]);
  }
  _Pragma("GCC unroll 16") for (int v = 0; v < TBLK; v++) if (v < nv) {
    if (v == nv - 1 && rem < VW) STOREN(y + v * VW, c[v], rem);
    else STORE(y + v * VW, c[v]);
  }
}

/* y(N) += alpha A(M,N)^T x(M): blocks of TBLK vectors of y, then one block
 * of the remaining columns; when N fits one block (N <= 256 floats with
 * AVX-512), A is read in memory order, one sequential stream. y already
 * holds beta*y. */
KFN static void FN(gemv_t_acc)(size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                               const dy_real *x, dy_real *y) {
  size_t j = 0;
  for (; j + TBLK * VW <= N; j += TBLK * VW)
    FN(gemv_t_blk)(TBLK, VW, M, alpha, A + j, lda, x, y + j);
  if (j == N) return;
  size_t left = N - j, nv = (left + VW - 1) / VW, rem = left - (nv - 1) * VW;
  const dy_real *a = A + j;
  dy_real *yy = y + j;
  switch (nv) {
#define TCASE(k) \
  case k: FN(gemv_t_blk)(k, rem, M, alpha, a, lda, x, yy); break;
    TCASE(1) TCASE(2) TCASE(3) TCASE(4) TCASE(5) TCASE(6) TCASE(7)
#if TBLK > 8
    TCASE(8) TCASE(9) TCASE(10) TCASE(11) TCASE(12) TCASE(13) TCASE(14) TCASE(15)
#endif
#undef TCASE
    default: FN(gemv_t_blk)(TBLK, rem, M, alpha, a, lda, x, yy); break;
  }
}

/* ------------------------------------------------- gemv on unaligned rows
 * When rows do not start on a vector boundary (lda not a multiple of VW, as
 * 178, or A itself unaligned), most full-vector loads of a row straddle two
 * cache lines, which costs 1.5-3x. The _al kernels read every row from its
 * start rounded down to a vector boundary (s lanes early, s the row's shift)
 * with aligned loads only; the first and last vectors are masked to the
 * row's own lanes (masked-out lanes are never read). Rows of equal shift (a
 * class: rows r, r + P, r + 2P, ..., P the period of the shifts) are done
 * together against x shifted by s lanes (gemv_n) or into accumulators shifted
 * by s lanes (gemv_t). For 2*VW <= N <= TBLK*VW. */

#define AL_BYTES ((uintptr_t)VW * sizeof(dy_real))

/* Lanes by which p lies past the previous vector boundary. */
static inline size_t FN(al_shift)(const dy_real *p) {
  return (size_t)(((uintptr_t)p % AL_BYTES) / sizeof(dy_real));
}
/* p rounded down to a vector boundary. */
static inline const dy_real *FN(al_base)(const dy_real *p) {
  return (const dy_real *)((uintptr_t)p & ~(AL_BYTES - 1));
}
/* Rows after which the shifts repeat: VW / gcd(lda mod VW, VW). */
static inline size_t FN(al_period)(size_t lda) {
  size_t a = lda % VW, b = VW;
  while (a) {
    size_t t = b % a;
    b = a;
    a = t;
  }
  return VW / b;
}

/* The rows c, c + P, c + 2P, ... of gemv_n_al (one class: shift s, nv
 * vectors from each row's base, the row's lanes end at lane e of the last):
 * x shifted by s lanes in nv registers, four rows at a time. nv is a
 * constant after inlining. */
KFN static inline __attribute__((always_inline)) void FN(gemv_n_al_blk)(
    int nv, size_t s, size_t e, size_t c, size_t P, size_t M, dy_real alpha, const dy_real *A,
    size_t lda, const dy_real *xs, dy_real beta, dy_real *y) {
  VT xv[TBLK + 1];
  _Pragma("GCC unroll 17") for (int v = 0; v < TBLK + 1; v++) if (v < nv) xv[v] = LOAD(xs + v * VW);
  dy_real r[4];
  size_t i = c;
#define AL_ROWLOAD(b, v) \
  ((v) == 0 ? LOADR((b), s, VW) : (v) == nv - 1 ? LOADR((b) + (v) * VW, 0, e) : LOAD((b) + (v) * VW))
  for (; i + 3 * P < M; i += 4 * P) {
    const dy_real *b0 = FN(al_base)(A + i * lda), *b1 = FN(al_base)(A + (i + P) * lda);
    const dy_real *b2 = FN(al_base)(A + (i + 2 * P) * lda);
    const dy_real *b3 = FN(al_base)(A + (i + 3 * P) * lda);
    /* two accumulators per row: eight independent FMA chains */
    VT a0 = ZERO(), a1 = ZERO(), a2 = ZERO(), a3 = ZERO();
    VT c0 = ZERO(), c1 = ZERO(), c2 = ZERO(), c3 = ZERO();
    _Pragma("GCC unroll 17") for (int v = 0; v < TBLK + 1; v++) if (v < nv) {
      if (v & 1) {
        c0 = FMA(AL_ROWLOAD(b0, v), xv[v], c0);
        c1 = FMA(AL_ROWLOAD(b1, v), xv[v], c1);
        c2 = FMA(AL_ROWLOAD(b2, v), xv[v], c2);
        c3 = FMA(AL_ROWLOAD(b3, v), xv[v], c3);
      } else {
        a0 = FMA(AL_ROWLOAD(b0, v), xv[v], a0);
        a1 = FMA(AL_ROWLOAD(b1, v), xv[v], a1);
        a2 = FMA(AL_ROWLOAD(b2, v), xv[v], a2);
        a3 = FMA(AL_ROWLOAD(b3, v), xv[v], a3);
      }
    }
    a0 = ADD(a0, c0);
    a1 = ADD(a1, c1);
    a2 = ADD(a2, c2);
    a3 = ADD(a3, c3);
    HSUM4(a0, a1, a2, a3, r);
    for (int q = 0; q < 4; q++) {
      dy_real *yq = y + i + (size_t)q * P;
      *yq = beta == 0 ? alpha * r[q] : alpha * r[q] + beta * *yq;
    }
  }
  for (; i < M; i += P) {
    const dy_real *b0 = FN(al_base)(A + i * lda);
    VT a0 = ZERO(), a1 = ZERO();
    _Pragma("GCC unroll 17") for (int v = 0; v < TBLK + 1; v++) if (v < nv) {
      if (v & 1) a1 = FMA(AL_ROWLOAD(b0, v), xv[v], a1);
      else a0 = FMA(AL_ROWLOAD(b0, v), xv[v], a0);
    }
    dy_real t = alpha * HSUM(ADD(a0, a1));
    y[i] = beta == 0 ? t : t + beta * y[i];
  }
#undef AL_ROWLOAD
}

/* y(M) = alpha A x + beta y, rows aligned as above, class by class. */
KFN static void FN(gemv_n_al)(size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                              const dy_real *x, dy_real beta, dy_real *y) {
  _Alignas(64) dy_real xs[(TBLK + 1) * VW];
  const size_t P = FN(al_period)(lda);
  for (size_t c = 0; c < P && c < M; c++) {
    const size_t s = FN(al_shift)(A + c * lda);
    const size_t nvec = (s + N - 1) / VW + 1, e = s + N - (nvec - 1) * VW; /* nvec >= 2 */
    memset(xs, 0, nvec * VW * sizeof(dy_real));
    memcpy(xs + s, x, N * sizeof(dy_real));
    switch (nvec) {
#define ALCASE(k) \
  case k: FN(gemv_n_al_blk)(k, s, e, c, P, M, alpha, A, lda, xs, beta, y); break;
      ALCASE(2) ALCASE(3) ALCASE(4) ALCASE(5) ALCASE(6) ALCASE(7) ALCASE(8)
#if TBLK > 8
      ALCASE(9) ALCASE(10) ALCASE(11) ALCASE(12) ALCASE(13) ALCASE(14) ALCASE(15) ALCASE(16)
#endif
      default: FN(gemv_n_al_blk)(TBLK + 1, s, e, c, P, M, alpha, A, lda, xs, beta, y); break;
#undef ALCASE
    }
  }
}

/* t(nv vectors) = alpha sum over the class's rows i of x_i * row i read from
 * its aligned base (lanes [s, s+N) hold the row). nv is a constant after
 * inlining: the accumulators stay in registers. */
KFN static inline __attribute__((always_inline)) void FN(gemv_t_al_blk)(
    int nv, size_t s, size_t e, size_t c, size_t P, size_t M, dy_real alpha, const dy_real *A,
    size_t lda, const dy_real *x, dy_real *t) {
  VT acc[TBLK + 1];
  _Pragma("GCC unroll 17") for (int v = 0; v < TBLK + 1; v++) if (v < nv) acc[v] = ZERO();
  for (size_t i = c; i < M; i += P) {
    const dy_real *b = FN(al_base)(A + i * lda);
    VT xi = SET1(alpha * x[i]);
    _Pragma("GCC unroll 17") for (int v = 0; v < TBLK + 1; v++) if (v < nv) {
      VT a = v == 0 ? LOADR(b, s, VW) : v == nv - 1 ? LOADR(b + v * VW, 0, e) : LOAD(b + v * VW);
      acc[v] = FMA(xi, a, acc[v]);
    }
  }
  _Pragma("GCC unroll 17") for (int v = 0; v < TBLK + 1; v++) if (v < nv) STORE(t + v * VW, acc[v]);
}

/* y(N) += alpha A^T x, rows aligned as above. */
KFN static void FN(gemv_t_al)(size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                              const dy_real *x, dy_real *y) {
  _Alignas(64) dy_real t[(TBLK + 1) * VW];
  const size_t P = FN(al_period)(lda);
  for (size_t c = 0; c < P && c < M; c++) {
    const size_t s = FN(al_shift)(A + c * lda);
    const size_t nvec = (s + N - 1) / VW + 1, e = s + N - (nvec - 1) * VW;
    switch (nvec) {
#define ALCASE(k) \
  case k: FN(gemv_t_al_blk)(k, s, e, c, P, M, alpha, A, lda, x, t); break;
      ALCASE(2) ALCASE(3) ALCASE(4) ALCASE(5) ALCASE(6) ALCASE(7) ALCASE(8)
#if TBLK > 8
      ALCASE(9) ALCASE(10) ALCASE(11) ALCASE(12) ALCASE(13) ALCASE(14) ALCASE(15) ALCASE(16)
#endif
      default: FN(gemv_t_al_blk)(TBLK + 1, s, e, c, P, M, alpha, A, lda, x, t); break;
#undef ALCASE
    }
    /* y(j) += t(s + j) */
    size_t j = 0;
    for (; j + VW <= N; j += VW) STORE(y + j, ADD(LOAD(y + j), LOAD(t + s + j)));
    if (j < N) STOREN(y + j, ADD(LOADN(y + j, N - j), LOADN(t + s + j, N - j)), N - j);
  }
}

/* Whether the _al kernels apply: rows not all on vector boundaries, 2*VW <= N
 * <= TBLK*VW, and every row a whole number of dy_reals from a boundary. */
static inline int FN(use_al)(size_t M, size_t N, const dy_real *A, size_t lda) {
  return M >= 2 && N >= 2 * VW && N <= TBLK * VW && (lda % VW || FN(al_shift)(A)) &&
         (uintptr_t)A % sizeof(dy_real) == 0;
}

KFN static void FN(gemv)(int ta, size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                         const dy_real *x, dy_real beta, dy_real *y) {
  const int al = FN(use_al)(M, N, A, lda);
  if (!ta) {
    /* by classes of rows: pays when each class has enough rows to fill groups of four */
    if (al && M >= 12 * FN(al_period)(lda)) FN(gemv_n_al)(M, N, alpha, A, lda, x, beta, y);
    else if (N <= TBLK * VW) FN(gemv_n_narrow)(M, N, alpha, A, lda, x, beta, y);
    else FN(gemv_n)(M, N, alpha, A, lda, x, beta, y);
    return;
  }
  if (beta == 0) memset(y, 0, N * sizeof(dy_real));
  else if (beta != 1)
    for (size_t j = 0; j < N; j++) y[j] *= beta;
  if (al) FN(gemv_t_al)(M, N, alpha, A, lda, x, y);
  else FN(gemv_t_acc)(M, N, alpha, A, lda, x, y);
}

/* A(M,N) += alpha x(M) y(N)^T */
KFN static void FN(ger)(size_t M, size_t N, dy_real alpha, const dy_real *x, const dy_real *y,
                        dy_real *A, size_t lda) {
  for (size_t i = 0; i < M; i++) FN(axpy)(N, alpha * x[i], y, A + i * lda);
}

/* ------------------------------------------------------------------ gemm */

/* C tile (mr <= MRC, nr <= NR) += Ap (kc x MRC, k-major) * Bp (kc rows of NR,
 * row stride ldb). The MRC x NV accumulators live in registers; MRC is a
 * constant after inlining (MR for the packed path, MRS for small M). */
KFN static inline __attribute__((always_inline)) void FN(ukern_t)(
    int MRC, size_t kc, const dy_real *restrict Ap, const dy_real *restrict Bp, size_t ldb,
    dy_real *restrict C, size_t ldc, size_t mr, size_t nr) {
  VT c[MR][NV];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) if (r < MRC)
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) c[r][v] = ZERO();
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) if (r < MRC) PREFETCH(C + (size_t)r * ldc);
  KUNROLL_K for (size_t k = 0; k < kc; k++) {
    VT b[NV];
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) b[v] = LOAD(Bp + k * ldb + v * VW);
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) if (r < MRC) {
      VT a = SET1(Ap[k * MRC + r]);
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) c[r][v] = FMA(a, b[v], c[r][v]);
    }
  }
  if (mr == (size_t)MRC && nr == NR) {
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) if (r < MRC)
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {
        dy_real *p = C + (size_t)r * ldc + v * VW;
        STORE(p, ADD(LOAD(p), c[r][v]));
      }
    return;
  }
  /* edge tile: spill the accumulators (constant indices keep them in
   * registers above), then add the valid part */
  dy_real t[MR][NR];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) if (r < MRC)
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) STORE(t[r] + v * VW, c[r][v]);
  for (size_t r = 0; r < mr; r++) {
    dy_real *p = C + r * ldc;
    for (size_t j = 0; j < nr; j++) p[j] += t[r][j];
  }
}

KFN static void FN(ukernel)(size_t kc, const dy_real *restrict Ap, const dy_real *restrict Bp,
                            size_t ldb, dy_real *restrict C, size_t ldc, size_t mr, size_t nr) {
  FN(ukern_t)(MR, kc, Ap, Bp, ldb, C, ldc, mr, nr);
}

/* C(M,N) += alpha op(A) B for M <= 2*VW (dX = dY W for a batch of vectors):
 * groups of MRS rows of alpha op(A) packed k-major (small), B read in place
 * (row stride ldb) for full NR-column tiles, the column tail packed. */
KFN static void FN(gemm_small_nn)(int ta, size_t M, size_t N, size_t K, dy_real alpha,
                                  const dy_real *A, size_t lda, const dy_real *B, size_t ldb,
                                  dy_real *C, size_t ldc) {
  dy_real Ap[256 * MRS], Bt[256 * NR];
  for (size_t pc = 0; pc < K; pc += 256) {
    size_t kc = K - pc < 256 ? K - pc : 256;
    for (size_t ig = 0; ig < M; ig += MRS) {
      size_t mg = M - ig < MRS ? M - ig : MRS;
      for (size_t k = 0; k < kc; k++)
        for (size_t r = 0; r < MRS; r++)
          Ap[k * MRS + r] = r < mg ? alpha * (ta ? A[(pc + k) * lda + ig + r]
                                                 : A[(ig + r) * lda + pc + k])
                                   : 0;
      size_t j = 0;
      for (; j + NR <= N; j += NR)
        FN(ukern_t)(MRS, kc, Ap, B + pc * ldb + j, ldb, C + ig * ldc + j, ldc, mg, NR);
      if (j < N) {
        size_t nr = N - j;
        for (size_t k = 0; k < kc; k++)
          for (size_t c = 0; c < NR; c++) Bt[k * NR + c] = c < nr ? B[(pc + k) * ldb + j + c] : 0;
        FN(ukern_t)(MRS, kc, Ap, Bt, NR, C + ig * ldc + j, ldc, mg, nr);
      }
    }
  }
}

/* C(M,N) += op(A) op(B) without packing, for small products: tb == 0 keeps a
 * 4-row by 2-vector tile of C in registers and broadcasts op(A) entries;
 * tb != 0 with ta == 0 computes 4x4 blocks of dot products. alpha scales. */
KFN static void FN(gemm_direct)(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha,
                                const dy_real *A, size_t lda, const dy_real *B, size_t ldb,
                                dy_real *C, size_t ldc) {
#define OPA(i, k) (ta ? A[(size_t)(k) * lda + (i)] : A[(size_t)(i) * lda + (k)])
  if (!tb) {
    size_t i = 0;
    for (; i < M; i += 4) {
      size_t mr = M - i < 4 ? M - i : 4;
      for (size_t j = 0; j < N; j += 2 * VW) {
        size_t nr = N - j < 2 * VW ? N - j : 2 * VW;
        VT c00 = ZERO(), c01 = ZERO(), c10 = ZERO(), c11 = ZERO();
        VT c20 = ZERO(), c21 = ZERO(), c30 = ZERO(), c31 = ZERO();
        if (mr == 4 && nr == 2 * VW) {
          for (size_t k = 0; k < K; k++) {
            const dy_real *b = B + k * ldb + j;
            VT b0 = LOAD(b), b1 = LOAD(b + VW);
            VT a0 = SET1(OPA(i, k)), a1 = SET1(OPA(i + 1, k));
            VT a2 = SET1(OPA(i + 2, k)), a3 = SET1(OPA(i + 3, k));
            c00 = FMA(a0, b0, c00); c01 = FMA(a0, b1, c01);
            c10 = FMA(a1, b0, c10); c11 = FMA(a1, b1, c11);
            c20 = FMA(a2, b0, c20); c21 = FMA(a2, b1, c21);
            c30 = FMA(a3, b0, c30); c31 = FMA(a3, b1, c31);
          }
        } else {
          size_t n0 = nr < VW ? nr : VW, n1 = nr - n0;
          for (size_t k = 0; k < K; k++) {
            const dy_real *b = B + k * ldb + j;
            VT b0 = n0 == VW ? LOAD(b) : LOADN(b, n0);
            VT b1 = n1 == VW ? LOAD(b + VW) : (n1 ? LOADN(b + VW, n1) : ZERO());
            VT a0 = SET1(OPA(i, k));
            VT a1 = SET1(mr > 1 ? OPA(i + 1, k) : 0), a2 = SET1(mr > 2 ? OPA(i + 2, k) : 0);
            VT a3 = SET1(mr > 3 ? OPA(i + 3, k) : 0);
            c00 = FMA(a0, b0, c00); c01 = FMA(a0, b1, c01);
            c10 = FMA(a1, b0, c10); c11 = FMA(a1, b1, c11);
            c20 = FMA(a2, b0, c20); c21 = FMA(a2, b1, c21);
            c30 = FMA(a3, b0, c30); c31 = FMA(a3, b1, c31);
          }
        }
        VT va = SET1(alpha);
        VT cs[4][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
        for (size_t r = 0; r < mr; r++) {
          dy_real *p = C + (i + r) * ldc + j;
          size_t n0 = nr < VW ? nr : VW, n1 = nr - n0;
          if (n0 == VW) STORE(p, FMA(va, cs[r][0], LOAD(p)));
          else STOREN(p, FMA(va, cs[r][0], LOADN(p, n0)), n0);
          if (n1 == VW) STORE(p + VW, FMA(va, cs[r][1], LOAD(p + VW)));
          else if (n1) STOREN(p + VW, FMA(va, cs[r][1], LOADN(p + VW, n1)), n1);
        }
      }
    }
    return;
  }
  if (!ta) {
    /* C(i,j) += alpha dot(A row i, B row j) */
    size_t i = 0;
    for (; i + 4 <= M; i += 4) {
      const dy_real *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
      size_t j = 0;
      for (; j + 4 <= N; j += 4) {
        const dy_real *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
        VT s[4][4];
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++)
          _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) s[r][q] = ZERO();
        size_t k = 0;
        for (; k + VW <= K; k += VW) {
          VT x0 = LOAD(a0 + k), x1 = LOAD(a1 + k), x2 = LOAD(a2 + k), x3 = LOAD(a3 + k);
          VT y0 = LOAD(b0 + k), y1 = LOAD(b1 + k), y2 = LOAD(b2 + k), y3 = LOAD(b3 + k);
          s[0][0] = FMA(x0, y0, s[0][0]); s[0][1] = FMA(x0, y1, s[0][1]);
          s[0][2] = FMA(x0, y2, s[0][2]); s[0][3] = FMA(x0, y3, s[0][3]);
          s[1][0] = FMA(x1, y0, s[1][0]); s[1][1] = FMA(x1, y1, s[1][1]);
          s[1][2] = FMA(x1, y2, s[1][2]); s[1][3] = FMA(x1, y3, s[1][3]);
          s[2][0] = FMA(x2, y0, s[2][0]); s[2][1] = FMA(x2, y1, s[2][1]);
          s[2][2] = FMA(x2, y2, s[2][2]); s[2][3] = FMA(x2, y3, s[2][3]);
          s[3][0] = FMA(x3, y0, s[3][0]); s[3][1] = FMA(x3, y1, s[3][1]);
          s[3][2] = FMA(x3, y2, s[3][2]); s[3][3] = FMA(x3, y3, s[3][3]);
        }
        if (k < K) {
          size_t n = K - k;
          VT x0 = LOADN(a0 + k, n), x1 = LOADN(a1 + k, n), x2 = LOADN(a2 + k, n);
          VT x3 = LOADN(a3 + k, n);
          VT y0 = LOADN(b0 + k, n), y1 = LOADN(b1 + k, n), y2 = LOADN(b2 + k, n);
          VT y3 = LOADN(b3 + k, n);
          s[0][0] = FMA(x0, y0, s[0][0]); s[0][1] = FMA(x0, y1, s[0][1]);
          s[0][2] = FMA(x0, y2, s[0][2]); s[0][3] = FMA(x0, y3, s[0][3]);
          s[1][0] = FMA(x1, y0, s[1][0]); s[1][1] = FMA(x1, y1, s[1][1]);
          s[1][2] = FMA(x1, y2, s[1][2]); s[1][3] = FMA(x1, y3, s[1][3]);
          s[2][0] = FMA(x2, y0, s[2][0]); s[2][1] = FMA(x2, y1, s[2][1]);
          s[2][2] = FMA(x2, y2, s[2][2]); s[2][3] = FMA(x2, y3, s[2][3]);
          s[3][0] = FMA(x3, y0, s[3][0]); s[3][1] = FMA(x3, y1, s[3][1]);
          s[3][2] = FMA(x3, y2, s[3][2]); s[3][3] = FMA(x3, y3, s[3][3]);
        }
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++)
          _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++)
            C[(i + r) * ldc + j + q] += alpha * HSUM(s[r][q]);
      }
      for (; j < N; j++) {
        const dy_real *b = B + j * ldb;
        C[i * ldc + j] += alpha * FN(dot)(K, a0, b);
        C[(i + 1) * ldc + j] += alpha * FN(dot)(K, a1, b);
        C[(i + 2) * ldc + j] += alpha * FN(dot)(K, a2, b);
        C[(i + 3) * ldc + j] += alpha * FN(dot)(K, a3, b);
      }
    }
    for (; i < M; i++) FN(gemv_n)(N, K, alpha, B, ldb, A + i * lda, 1, C + i * ldc);
    return;
  }
  /* ta and tb: C row i += alpha sum_k A(k,i) B(:,k)^T, i.e. gemv on B per row */
  for (size_t i = 0; i < M; i++) {
    dy_real *c = C + i * ldc;
    for (size_t j = 0; j < N; j++) {
      dy_real s = 0;
      for (size_t k = 0; k < K; k++) s += A[k * lda + i] * B[j * ldb + k];
      c[j] += alpha * s;
    }
  }
#undef OPA
}

/* C(M,N) += alpha op(A)(M,K) op(B)(K,N) for M <= nv*VW (nv = 1 or 2): the
 * products of a batch of vectors (Y = X W^T, dX = dY W). alpha op(A)^T is
 * packed (kc x nv*VW, small), entries of op(B) (= W) are broadcast straight
 * from memory (no packing of the large matrix), and each MR x nv*VW tile of
 * C^T is added to C transposed. nv and tb are constants after inlining. */
KFN static inline __attribute__((always_inline)) void FN(small_m_body)(
    int nv, int tb, int ta, size_t M, size_t N, size_t K, dy_real alpha, const dy_real *A, size_t lda,
    const dy_real *B, size_t ldb, dy_real *C, size_t ldc, dy_real *At) {
  const size_t nr = (size_t)nv * VW;
  for (size_t pc = 0; pc < K; pc += 256) {
    size_t kc = K - pc < 256 ? K - pc : 256;
    for (size_t k = 0; k < kc; k++)
      for (size_t i = 0; i < nr; i++)
        At[k * nr + i] = i < M ? alpha * (ta ? A[(pc + k) * lda + i] : A[i * lda + pc + k]) : 0;
    for (size_t j = 0; j < N; j += MR) {
      size_t mr = N - j < MR ? N - j : MR;
      /* op(B)(pc + k, j + r) = b[r * rs + k * ks] */
      const dy_real *b = tb ? B + j * ldb + pc : B + pc * ldb + j;
      const size_t rs = tb ? ldb : 1, ks = tb ? 1 : ldb;
      VT c[MR][2];
      _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
        c[r][0] = ZERO();
        c[r][1] = ZERO();
      }
      if (mr == MR) {
        for (size_t k = 0; k < kc; k++) {
          VT a0 = LOAD(At + k * nr), a1 = nv == 2 ? LOAD(At + k * nr + VW) : ZERO();
          _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
            VT s = SET1(b[(size_t)r * rs + k * ks]);
            c[r][0] = FMA(s, a0, c[r][0]);
            if (nv == 2) c[r][1] = FMA(s, a1, c[r][1]);
          }
        }
      } else {
        for (size_t k = 0; k < kc; k++) {
          VT a0 = LOAD(At + k * nr), a1 = nv == 2 ? LOAD(At + k * nr + VW) : ZERO();
          _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
            if ((size_t)r >= mr) break;
            VT s = SET1(b[(size_t)r * rs + k * ks]);
            c[r][0] = FMA(s, a0, c[r][0]);
            if (nv == 2) c[r][1] = FMA(s, a1, c[r][1]);
          }
        }
      }
      dy_real t[MR][2 * VW];
      _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
        STORE(t[r], c[r][0]);
        if (nv == 2) STORE(t[r] + VW, c[r][1]);
      }
      for (size_t i = 0; i < M; i++) {
        dy_real *cp = C + i * ldc + j;
        for (size_t r = 0; r < mr; r++) cp[r] += t[r][i];
      }
    }
  }
}

KFN static void FN(gemm_small_m)(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha,
                                 const dy_real *A, size_t lda, const dy_real *B, size_t ldb,
                                 dy_real *C, size_t ldc) {
  dy_real At[256 * 2 * VW];
  if (M <= VW) {
    if (tb) FN(small_m_body)(1, 1, ta, M, N, K, alpha, A, lda, B, ldb, C, ldc, At);
    else FN(small_m_body)(1, 0, ta, M, N, K, alpha, A, lda, B, ldb, C, ldc, At);
  } else {
    if (tb) FN(small_m_body)(2, 1, ta, M, N, K, alpha, A, lda, B, ldb, C, ldc, At);
    else FN(small_m_body)(2, 0, ta, M, N, K, alpha, A, lda, B, ldb, C, ldc, At);
  }
}

/* Packs rows [0, mc) x cols [0, kc) of alpha op(A) (origin A) into MR-row
 * micro-panels, k-major, zero-padded to a multiple of MR rows. */
KFN static void FN(pack_a)(int ta, const dy_real *A, size_t lda, size_t mc, size_t kc,
                           dy_real alpha, dy_real *restrict Ap) {
  for (size_t i0 = 0; i0 < mc; i0 += MR) {
    size_t mr = mc - i0 < MR ? mc - i0 : MR;
    if (!ta) {
      for (size_t r = 0; r < MR; r++) {
        if (r < mr) {
          const dy_real *a = A + (i0 + r) * lda;
          for (size_t k = 0; k < kc; k++) Ap[k * MR + r] = alpha * a[k];
        } else {
          for (size_t k = 0; k < kc; k++) Ap[k * MR + r] = 0;
        }
      }
    } else {
      for (size_t k = 0; k < kc; k++) {
        const dy_real *a = A + k * lda + i0;
        size_t r = 0;
        for (; r < mr; r++) Ap[k * MR + r] = alpha * a[r];
        for (; r < MR; r++) Ap[k * MR + r] = 0;
      }
    }
    Ap += MR * kc;
  }
}

/* Packs rows [0, kc) x cols [0, nc) of op(B) into NR-column panels (kc rows
 * of NR), zero-padded to a multiple of NR columns. */
KFN static void FN(pack_b)(int tb, const dy_real *B, size_t ldb, size_t kc, size_t nc,
                           dy_real *restrict Bp) {
  for (size_t j0 = 0; j0 < nc; j0 += NR) {
    size_t nr = nc - j0 < NR ? nc - j0 : NR;
    if (!tb) {
      for (size_t k = 0; k < kc; k++) {
        const dy_real *b = B + k * ldb + j0;
        dy_real *d = Bp + k * NR;
        if (nr == NR) {
          _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) STORE(d + v * VW, LOAD(b + v * VW));
        } else {
          size_t c = 0;
          for (; c < nr; c++) d[c] = b[c];
          for (; c < NR; c++) d[c] = 0;
        }
      }
    } else {
      for (size_t c = 0; c < NR; c++) {
        if (c < nr) {
          const dy_real *b = B + (j0 + c) * ldb;
          for (size_t k = 0; k < kc; k++) Bp[k * NR + c] = b[k];
        } else {
          for (size_t k = 0; k < kc; k++) Bp[k * NR + c] = 0;
        }
      }
    }
    Bp += NR * kc;
  }
}

#define KC_ 256
#define MC_ (MR * (96 / MR))
#define NC_ 512

/* C += alpha op(A) op(B) through packed blocks (GotoBLAS order: NC columns,
 * KC depth, MC rows; micro-tiles MR x NR). buf holds MC_*KC_ + KC_*NC_ reals. */
KFN static void FN(gemm_packed)(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha,
                                const dy_real *A, size_t lda, const dy_real *B, size_t ldb,
                                dy_real *C, size_t ldc, dy_real *buf) {
  dy_real *Ap = buf, *Bp = buf + (size_t)MC_ * KC_;
  for (size_t jc = 0; jc < N; jc += NC_) {
    size_t nc = N - jc < NC_ ? N - jc : NC_;
    for (size_t pc = 0; pc < K; pc += KC_) {
      size_t kc = K - pc < KC_ ? K - pc : KC_;
      FN(pack_b)(tb, tb ? B + jc * ldb + pc : B + pc * ldb + jc, ldb, kc, nc, Bp);
      for (size_t ic = 0; ic < M; ic += MC_) {
        size_t mc = M - ic < MC_ ? M - ic : MC_;
        FN(pack_a)(ta, ta ? A + pc * lda + ic : A + ic * lda + pc, lda, mc, kc, alpha, Ap);
        for (size_t ir = 0; ir < mc; ir += MR) {
          size_t mr = mc - ir < MR ? mc - ir : MR;
          for (size_t jr = 0; jr < nc; jr += NR) {
            size_t nr = nc - jr < NR ? nc - jr : NR;
            FN(ukernel)(kc, Ap + ir * kc, Bp + jr * kc, NR, C + (ic + ir) * ldc + jc + jr, ldc,
                        mr, nr);
          }
        }
      }
    }
  }
}

KFN static void FN(gemm)(int ta, int tb, size_t M, size_t N, size_t K, dy_real alpha,
                         const dy_real *A, size_t lda, const dy_real *B, size_t ldb, dy_real beta,
                         dy_real *C, size_t ldc) {
  kern_scale_c(M, N, beta, C, ldc);
  if (alpha == 0 || K == 0 || M == 0 || N == 0) return;
  if (M <= 2 * VW && N >= MR && K >= 8) {
    if (tb) FN(gemm_small_m)(ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc);
    else FN(gemm_small_nn)(ta, M, N, K, alpha, A, lda, B, ldb, C, ldc);
    return;
  }
  if ((double)M * N * K >= KERN_PACK_MIN && M >= MR) {
    dy_real *buf = kern_pack_buf((size_t)MC_ * KC_ + (size_t)KC_ * NC_);
    if (buf) {
      FN(gemm_packed)(ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc, buf);
      return;
    }
  }
  FN(gemm_direct)(ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

static const dy_kernel_table FN(table) = {
    ISA_NAME, FN(gemm), FN(gemv), FN(ger), FN(axpy), FN(dot), FN(transpose),
};

#undef KC_
#undef MC_
#undef NC_
#undef NR
#undef AL_BYTES
#undef KUNROLL_K
