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

#endif
