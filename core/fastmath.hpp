// A vectorisable exp() for the per-neuron hot loops.
//
// Why not std::exp: GCC vectorises calls to expf only through glibc's libmvec, and glibc declares
// those SIMD variants only under -ffast-math (bits/math-vector.h), which the project refuses. Worse,
// libmvec's vector and scalar results differ in the last bits, so a neuron's trajectory would depend
// on whether it fell in a loop's vector body or its scalar tail, i.e. on the thread partition.
// This function is the same arithmetic in both, so results do not depend on the partition.
//
// Method (Cephes expf, S. Moshier): x = n ln2 + r with |r| <= ln2/2, exp(r) by a degree-6
// polynomial, times 2^n assembled in the exponent bits. Relative error < 2e-7 over the clamped range
// (checked against std::exp in tests/test_fastmath.cpp).
#pragma once

#include <cstdint>
#include <cstring>

namespace ketaplast {

inline float exp_approx(float x) {
    // Clamp so that 2^n stays a normal float: exp(-87) ~ 1.6e-38, exp(88) ~ 1.65e38.
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    const float log2e = 1.44269504088896341f;
    // Round to nearest without a branch or a library call (valid for |x*log2e| < 2^22).
    const float n = static_cast<float>(static_cast<std::int32_t>(x * log2e + (x >= 0.0f ? 0.5f : -0.5f)));
    // Cody-Waite split of ln2 so that r = x - n ln2 is exact to float precision.
    const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float exp_r = p * r * r + r + 1.0f;
    const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return exp_r * scale;
}

} // namespace ketaplast
