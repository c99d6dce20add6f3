/* Internal to ops/: exp, tanh and sigmoid written so that a loop over them
 * vectorises (no libm call, no branch: selects are bit masks), for the maps
 * on the RNN hot path and for softmax.
 *
 * float build: Cephes-style expf (range reduction by ln 2 in two parts, a
 * degree-6 polynomial, 2^n from the exponent bits) and tanhf (an odd
 * polynomial for |x| < 0.625, 1 - 2/(e^2|x| + 1) above); both within ~1.3 ulp
 * of the exact value over [-100, 100] (tests/test_ops_elementwise.c checks
 * 4 ulp). dy_vexp clamps its argument to [-87, 88]: it is for arguments
 * where that does not matter (x - max in softmax, sigmoid, tanh), not for
 * dy_exp, which keeps libm's overflow to Inf and underflow to 0.
 * NaN propagates; tanh(+-Inf) = +-1, sigmoid(+Inf) = 1, sigmoid(-Inf) ~ 6e-39.
 * double build: libm. */
#ifndef DY_VMATH_H
#define DY_VMATH_H

#include <stdint.h>
#include <string.h>

#include "dy_op.h"

#if DY_USE_DOUBLE

static inline dy_real dy_vexp(dy_real x) { return exp(x); }
static inline dy_real dy_vtanh(dy_real x) { return tanh(x); }

#else

/* c ? a : b through bit masks: gcc (with its default -ftrapping-math) will
 * not if-convert a ?: whose arms compute, so a branch would stop vectorising. */
static inline float dy_vsel(int c, float a, float b) {
  uint32_t m = 0u - (uint32_t)c, ua, ub, r;
  memcpy(&ua, &a, 4);
  memcpy(&ub, &b, 4);
  r = (ua & m) | (ub & ~m);
  float f;
  memcpy(&f, &r, 4);
  return f;
}

/* e^x for x in [-87, 88] (clamped outside), ~1 ulp. */
static inline float dy_vexp(float x) {
  x = dy_vsel(x > 88.0f, 88.0f, x);
  x = dy_vsel(x < -87.0f, -87.0f, x);
  /* n = round(x / ln 2) by the 1.5 * 2^23 trick: t's low mantissa bits hold n */
  float t = x * 1.44269504088896341f + 0x1.8p23f;
  float n = t - 0x1.8p23f;
  float r = x - n * 0.693359375f; /* ln 2 = 0.693359375 - 2.12194440e-4 */
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  uint32_t tb, sb;
  memcpy(&tb, &t, 4);
  sb = (tb - 0x4B400000u + 127u) << 23; /* bits of 2^n, -126 <= n <= 127 */
  float s;
  memcpy(&s, &sb, 4);
  return p * s;
}

/* tanh(x), ~1 ulp. */
static inline float dy_vtanh(float x) {
  float a = fabsf(x), z = x * x;
  float q = -5.70498872745e-3f;
  q = q * z + 2.06390887954e-2f;
  q = q * z - 5.37397155531e-2f;
  q = q * z + 1.33314422036e-1f;
  q = q * z - 3.33332819422e-1f;
  float small = q * z * x + x;
  float big = 1 - 2 / (dy_vexp(2 * a) + 1);
  big = dy_vsel(x < 0, -big, big);
  return dy_vsel(a < 0.625f, small, big);
}

#endif

/* 1 / (1 + e^-x). */
static inline dy_real dy_vsigmoid(dy_real x) { return 1 / (1 + dy_vexp(-x)); }

/* ------------------------------------------------ instruction-set clones
 * The build targets baseline x86-64 (SSE2) unless -Dnative=true, so a loop of
 * dy_vexp vectorises 4 wide. DY_VM_CLONE defines a hot loop once and
 * compiles it three times on x86-64 with gcc or clang (AVX-512, AVX2+FMA,
 * baseline), the best one this CPU runs chosen per call
 * (__builtin_cpu_supports: a load and a test). The body is one source: with
 * ISO C's -ffp-contract=off no multiply-add is fused, and reductions are
 * written over DY_VM_LANES explicit lanes (dy_vm_sum / dy_vm_max), so every
 * clone gives bitwise the same result. Elsewhere: one plain version.
 *
 *   DY_VM_CLONE(dy_real, name, (const dy_real *x, size_t n), (x, n)) { body }
 * defines the static function name(x, n), the dispatcher; the body is name_body.
 * DY_VM_CLONE_VOID(name, params, args) the same for a function returning void. */
#define DY_VM_LANES 16

#if defined(__x86_64__) && defined(__GNUC__) && !defined(DY_VM_NO_CLONES)
#define DY_VM_INLINE static inline __attribute__((always_inline))
#define DY_VM_CLONE(ret, name, params, args)                                              \
  DY_VM_INLINE ret name##_body params;                                                  \
  __attribute__((target("avx512f,avx512dq,avx2,fma"))) static ret name##_avx512 params { \
    return name##_body args;                                                            \
  }                                                                                     \
  __attribute__((target("avx2,fma"))) static ret name##_avx2 params { return name##_body args; } \
  static ret name##_base params { return name##_body args; }                            \
  static ret name params {                                                              \
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))        \
      return name##_avx512 args;                                                        \
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return name##_avx2 args; \
    return name##_base args;                                                            \
  }                                                                                     \
  DY_VM_INLINE ret name##_body params
#define DY_VM_CLONE_VOID(name, params, args)                                               \
  DY_VM_INLINE void name##_body params;                                                 \
  __attribute__((target("avx512f,avx512dq,avx2,fma"))) static void name##_avx512 params { \
    name##_body args;                                                                   \
  }                                                                                     \
  __attribute__((target("avx2,fma"))) static void name##_avx2 params { name##_body args; } \
  static void name##_base params { name##_body args; }                                  \
  static void name params {                                                             \
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"))        \
      name##_avx512 args;                                                               \
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))           \
      name##_avx2 args;                                                                 \
    else                                                                                \
      name##_base args;                                                                 \
  }                                                                                     \
  DY_VM_INLINE void name##_body params
#else
#define DY_VM_INLINE static inline
#define DY_VM_CLONE_VOID(name, params, args)     \
  DY_VM_INLINE void name##_body params;          \
  static void name params { name##_body args; }  \
  DY_VM_INLINE void name##_body params
#define DY_VM_CLONE(ret, name, params, args) \
  DY_VM_INLINE ret name##_body params;       \
  static ret name params { return name##_body args; } \
  DY_VM_INLINE ret name##_body params
#endif

/* sum of x[0..n) over DY_VM_LANES lanes (a fixed order: the same in every clone) */
DY_VM_INLINE dy_real dy_vm_sum(const dy_real *restrict x, size_t n) {
  dy_real acc[DY_VM_LANES] = {0};
  size_t i = 0;
  for (; i + DY_VM_LANES <= n; i += DY_VM_LANES)
    for (size_t l = 0; l < DY_VM_LANES; l++) acc[l] += x[i + l];
  for (size_t l = 0; i + l < n; l++) acc[l] += x[i + l];
  dy_real s = 0;
  for (size_t l = 0; l < DY_VM_LANES; l++) s += acc[l];
  return s;
}

/* max of x[0..n), n >= 1 (NaN: some NaN or a number; callers check). In
 * GCC vector extensions: gcc keeps a lane array of maxima in scalars. */
#if DY_USE_DOUBLE
typedef int64_t dy_vm_mask __attribute__((vector_size(DY_VM_LANES * 8)));
#else
typedef int32_t dy_vm_mask __attribute__((vector_size(DY_VM_LANES * 4)));
#endif
typedef dy_real dy_vm_vec __attribute__((vector_size(DY_VM_LANES * sizeof(dy_real))));
DY_VM_INLINE dy_real dy_vm_max(const dy_real *restrict x, size_t n) {
  dy_vm_vec mx;
  for (size_t l = 0; l < DY_VM_LANES; l++) mx[l] = x[0];
  size_t i = 0;
  for (; i + DY_VM_LANES <= n; i += DY_VM_LANES) {
    dy_vm_vec v;
    memcpy(&v, x + i, sizeof v);
    dy_vm_mask gt = v > mx;
    mx = (dy_vm_vec)(((dy_vm_mask)v & gt) | ((dy_vm_mask)mx & ~gt));
  }
  dy_real m = mx[0];
  for (size_t l = 1; l < DY_VM_LANES; l++) m = mx[l] > m ? mx[l] : m;
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

/* sum of e^(x[i] - c) over x[0..n), lanes as dy_vm_sum */
DY_VM_INLINE dy_real dy_vm_sum_exp(const dy_real *restrict x, size_t n, dy_real c) {
  dy_real acc[DY_VM_LANES] = {0};
  size_t i = 0;
  for (; i + DY_VM_LANES <= n; i += DY_VM_LANES)
    for (size_t l = 0; l < DY_VM_LANES; l++) acc[l] += dy_vexp(x[i + l] - c);
  for (size_t l = 0; i + l < n; l++) acc[l] += dy_vexp(x[i + l] - c);
  dy_real s = 0;
  for (size_t l = 0; l < DY_VM_LANES; l++) s += acc[l];
  return s;
}

#endif
