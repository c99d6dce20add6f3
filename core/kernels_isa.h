/* Built-in SIMD kernels, written once and included by kernels.c for each
 * instruction set. Before including, kernels.c defines:
 *   KFN          function attribute selecting the target (e.g. target("avx2,fma"))
 *   FN(x)        name suffix, x##_avx2
 *   VT VW        vector type and its number of dy_real lanes
 *   LOAD STORE SET1 FMA ADD ZERO HSUM   full-vector operations
 *   LOADN(p, n) STOREN(p, v, n)         first n < VW lanes (others untouched / 0)
 *   MR NV        gemm micro-tile: MR rows of C by NV vectors (NR = NV*VW columns)
 * Every function here has the contract of its public counterpart in
 * dy_kernels.h (without the BLAS path). Row-major throughout. */

#define NR (NV * VW)

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

/* y(M) = alpha A(M,N) x(N) + beta y: four rows at a time, each a dot product
 * with two accumulators per row; x is loaded once per four rows. */
KFN static void FN(gemv_n)(size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                           const dy_real *x, dy_real beta, dy_real *y) {
  size_t i = 0;
  for (; i + 4 <= M; i += 4) {
    const dy_real *a0 = A + i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    VT s0 = ZERO(), s1 = ZERO(), s2 = ZERO(), s3 = ZERO();
    VT t0 = ZERO(), t1 = ZERO(), t2 = ZERO(), t3 = ZERO();
    size_t j = 0;
    for (; j + 2 * VW <= N; j += 2 * VW) {
      VT xa = LOAD(x + j), xb = LOAD(x + j + VW);
      s0 = FMA(LOAD(a0 + j), xa, s0);
      s1 = FMA(LOAD(a1 + j), xa, s1);
      s2 = FMA(LOAD(a2 + j), xa, s2);
      s3 = FMA(LOAD(a3 + j), xa, s3);
      t0 = FMA(LOAD(a0 + j + VW), xb, t0);
      t1 = FMA(LOAD(a1 + j + VW), xb, t1);
      t2 = FMA(LOAD(a2 + j + VW), xb, t2);
      t3 = FMA(LOAD(a3 + j + VW), xb, t3);
    }
    for (; j + VW <= N; j += VW) {
      VT xa = LOAD(x + j);
      s0 = FMA(LOAD(a0 + j), xa, s0);
      s1 = FMA(LOAD(a1 + j), xa, s1);
      s2 = FMA(LOAD(a2 + j), xa, s2);
      s3 = FMA(LOAD(a3 + j), xa, s3);
    }
    if (j < N) {
      size_t r = N - j;
      VT xa = LOADN(x + j, r);
      t0 = FMA(LOADN(a0 + j, r), xa, t0);
      t1 = FMA(LOADN(a1 + j, r), xa, t1);
      t2 = FMA(LOADN(a2 + j, r), xa, t2);
      t3 = FMA(LOADN(a3 + j, r), xa, t3);
    }
    dy_real r0 = alpha * HSUM(ADD(s0, t0)), r1 = alpha * HSUM(ADD(s1, t1));
    dy_real r2 = alpha * HSUM(ADD(s2, t2)), r3 = alpha * HSUM(ADD(s3, t3));
    if (beta == 0) {
      y[i] = r0; y[i + 1] = r1; y[i + 2] = r2; y[i + 3] = r3;
    } else {
      y[i] = r0 + beta * y[i];
      y[i + 1] = r1 + beta * y[i + 1];
      y[i + 2] = r2 + beta * y[i + 2];
      y[i + 3] = r3 + beta * y[i + 3];
    }
  }
  for (; i < M; i++) {
    dy_real r = alpha * FN(dot)(N, A + i * lda, x);
    y[i] = beta == 0 ? r : r + beta * y[i];
  }
}

/* y(N) += alpha A(M,N)^T x(M): a block of up to 8 vectors of y stays in
 * registers while the rows of A are swept (axpy-style); narrow leftovers use
 * four row accumulators to hide the FMA latency. y already holds beta*y. */
KFN static void FN(gemv_t_acc)(size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                               const dy_real *x, dy_real *y) {
  size_t j = 0;
  for (; j + 8 * VW <= N; j += 8 * VW) {
    VT c0 = LOAD(y + j), c1 = LOAD(y + j + VW), c2 = LOAD(y + j + 2 * VW), c3 = LOAD(y + j + 3 * VW);
    VT c4 = LOAD(y + j + 4 * VW), c5 = LOAD(y + j + 5 * VW), c6 = LOAD(y + j + 6 * VW);
    VT c7 = LOAD(y + j + 7 * VW);
    const dy_real *a = A + j;
    for (size_t i = 0; i < M; i++, a += lda) {
      VT s = SET1(alpha * x[i]);
      c0 = FMA(s, LOAD(a), c0);
      c1 = FMA(s, LOAD(a + VW), c1);
      c2 = FMA(s, LOAD(a + 2 * VW), c2);
      c3 = FMA(s, LOAD(a + 3 * VW), c3);
      c4 = FMA(s, LOAD(a + 4 * VW), c4);
      c5 = FMA(s, LOAD(a + 5 * VW), c5);
      c6 = FMA(s, LOAD(a + 6 * VW), c6);
      c7 = FMA(s, LOAD(a + 7 * VW), c7);
    }
    STORE(y + j, c0); STORE(y + j + VW, c1); STORE(y + j + 2 * VW, c2); STORE(y + j + 3 * VW, c3);
    STORE(y + j + 4 * VW, c4); STORE(y + j + 5 * VW, c5); STORE(y + j + 6 * VW, c6);
    STORE(y + j + 7 * VW, c7);
  }
  for (; j < N; j += VW) {
    size_t r = N - j < VW ? N - j : VW;
    VT c0 = r == VW ? LOAD(y + j) : LOADN(y + j, r), c1 = ZERO(), c2 = ZERO(), c3 = ZERO();
    const dy_real *a = A + j;
    size_t i = 0;
    if (r == VW) {
      for (; i + 4 <= M; i += 4, a += 4 * lda) {
        c0 = FMA(SET1(alpha * x[i]), LOAD(a), c0);
        c1 = FMA(SET1(alpha * x[i + 1]), LOAD(a + lda), c1);
        c2 = FMA(SET1(alpha * x[i + 2]), LOAD(a + 2 * lda), c2);
        c3 = FMA(SET1(alpha * x[i + 3]), LOAD(a + 3 * lda), c3);
      }
      for (; i < M; i++, a += lda) c0 = FMA(SET1(alpha * x[i]), LOAD(a), c0);
      STORE(y + j, ADD(ADD(c0, c1), ADD(c2, c3)));
    } else {
      for (; i + 4 <= M; i += 4, a += 4 * lda) {
        c0 = FMA(SET1(alpha * x[i]), LOADN(a, r), c0);
        c1 = FMA(SET1(alpha * x[i + 1]), LOADN(a + lda, r), c1);
        c2 = FMA(SET1(alpha * x[i + 2]), LOADN(a + 2 * lda, r), c2);
        c3 = FMA(SET1(alpha * x[i + 3]), LOADN(a + 3 * lda, r), c3);
      }
      for (; i < M; i++, a += lda) c0 = FMA(SET1(alpha * x[i]), LOADN(a, r), c0);
      STOREN(y + j, ADD(ADD(c0, c1), ADD(c2, c3)), r);
    }
  }
}

KFN static void FN(gemv)(int ta, size_t M, size_t N, dy_real alpha, const dy_real *A, size_t lda,
                         const dy_real *x, dy_real beta, dy_real *y) {
  if (!ta) {
    FN(gemv_n)(M, N, alpha, A, lda, x, beta, y);
    return;
  }
  if (beta == 0) memset(y, 0, N * sizeof(dy_real));
  else if (beta != 1)
    for (size_t j = 0; j < N; j++) y[j] *= beta;
  FN(gemv_t_acc)(M, N, alpha, A, lda, x, y);
}

/* A(M,N) += alpha x(M) y(N)^T */
KFN static void FN(ger)(size_t M, size_t N, dy_real alpha, const dy_real *x, const dy_real *y,
                        dy_real *A, size_t lda) {
  for (size_t i = 0; i < M; i++) FN(axpy)(N, alpha * x[i], y, A + i * lda);
}

/* ------------------------------------------------------------------ gemm */

/* C tile (mr <= MR, nr <= NR) += Ap (kc x MR, k-major) * Bp (kc rows of NR,
 * row stride ldb). The MR x NV accumulators live in registers. */
KFN static void FN(ukernel)(size_t kc, const dy_real *restrict Ap, const dy_real *restrict Bp,
                            size_t ldb, dy_real *restrict C, size_t ldc, size_t mr, size_t nr) {
  VT c[MR][NV];
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) c[r][v] = ZERO();
  for (size_t k = 0; k < kc; k++) {
    VT b[NV];
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) b[v] = LOAD(Bp + k * ldb + v * VW);
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
      VT a = SET1(Ap[k * MR + r]);
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) c[r][v] = FMA(a, b[v], c[r][v]);
    }
  }
  if (mr == MR && nr == NR) {
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {
        dy_real *p = C + (size_t)r * ldc + v * VW;
        STORE(p, ADD(LOAD(p), c[r][v]));
      }
    return;
  }
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {
    if ((size_t)r >= mr) break;
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) {
      size_t j = (size_t)v * VW;
      if (j >= nr) break;
      dy_real *p = C + (size_t)r * ldc + j;
      size_t n = nr - j;
      if (n >= VW) STORE(p, ADD(LOAD(p), c[r][v]));
      else STOREN(p, ADD(LOADN(p, n), c[r][v]), n);
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
  if ((double)M * N * K >= KERN_PACK_MIN && M >= MR) {
    dy_real *buf = malloc(((size_t)MC_ * KC_ + (size_t)KC_ * NC_) * sizeof(dy_real));
    if (buf) {
      FN(gemm_packed)(ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc, buf);
      free(buf);
      return;
    }
  }
  FN(gemm_direct)(ta, tb, M, N, K, alpha, A, lda, B, ldb, C, ldc);
}

static const dy_kernel_table FN(table) = {
    ISA_NAME, FN(gemm), FN(gemv), FN(ger), FN(axpy), FN(dot),
};

#undef KC_
#undef MC_
#undef NC_
#undef NR
