// Counter-based random numbers and the project's own distributions.
//
// Why counter-based: every random number is a pure function of (seed, purpose, id, sub, draw), so
// the network and every spike are the same for any number of threads or MPI ranks (DESIGN.md,
// "Reproducibility"). Philox4x32-10 (Salmon et al. 2011, SC'11) from Debian's librandom123-dev.
//
// Why own distributions: std::*_distribution differ between standard libraries, so results would
// differ between machines' toolchains. These use only +, *, log, exp, sqrt, cos.
#pragma once

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>

namespace ketaplast {

// What a stream is used for. Part of the key, so streams of different purposes never overlap.
enum class RandomPurpose : std::uint32_t {
    connect_source = 1,  // which sources a target receives from (per target)
    connect_weight = 2,  // synaptic weight draws (per target, per synapse)
    connect_delay = 3,   // delay draws (per target, per synapse)
    connect_count = 4,   // per-projection counts (fixed total number, out-degree rules)
    initial_state = 5,   // initial membrane potentials etc. (per neuron)
    position = 6,        // neuron positions (per neuron)
    poisson_source = 7,  // Poisson spike generators (per neuron, per step)
    poisson_drive = 8,   // Poisson background drive into neurons (per neuron, per step)
};

// SplitMix64 finaliser (Steele et al. 2014): mixes (seed, purpose, tag) into a 64-bit Philox key.
inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// A sequential stream of 32-bit words. Key = mix(seed, purpose, tag); counter = (id, sub_lo, sub_hi, n).
// `tag` separates e.g. projections, `id` is the neuron, `sub` the step or synapse index.
class RandomStream {
  public:
    RandomStream(std::uint64_t seed, RandomPurpose purpose, std::uint32_t tag, std::uint32_t id,
                 std::uint64_t sub = 0) {
        const std::uint64_t k = mix64(seed ^ mix64((std::uint64_t(purpose) << 32) | tag));
        key_ = {{std::uint32_t(k), std::uint32_t(k >> 32)}};
        ctr_ = {{id, std::uint32_t(sub), std::uint32_t(sub >> 32), 0}};
    }

    std::uint32_t next_u32() {
        if (used_ == 4) refill();
        return block_.v[used_++];
    }

    // Uniform in [0, 1) with 53 random bits.
    double uniform() {
        const std::uint64_t hi = next_u32() >> 5, lo = next_u32() >> 6;  // 27 + 26 bits
        return double((hi << 26) | lo) * (1.0 / 9007199254740992.0);
    }
    // Uniform in (0, 1]: safe for log().
    double uniform_open0() { return 1.0 - uniform(); }
    double uniform(double low, double high) { return low + (high - low) * uniform(); }

    // Uniform integer in [0, n) without modulo bias (Lemire 2019, "nearly divisionless").
    std::uint32_t below(std::uint32_t n) {
        std::uint64_t m = std::uint64_t(next_u32()) * n;
        std::uint32_t low = std::uint32_t(m);
        if (low < n) {
            const std::uint32_t threshold = std::uint32_t(-n) % n;
            while (low < threshold) {
                m = std::uint64_t(next_u32()) * n;
                low = std::uint32_t(m);
            }
        }
        return std::uint32_t(m >> 32);
    }

    // Standard normal by the Box-Muller transform (one value per two uniforms; the pair's second
    // value is discarded so a draw's result depends only on its position in the stream).
    double normal() {
        const double u1 = uniform_open0(), u2 = uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    }
    double normal(double mean, double sd) { return mean + sd * normal(); }
    double exponential(double rate) { return -std::log(uniform_open0()) / rate; }

    // Poisson(lambda). Small means by multiplication of uniforms (Knuth); large means by the PTRS
    // transformed-rejection method of Hormann (1993), Insurance: Mathematics and Economics 12:39-45.
    std::uint32_t poisson(double lambda) {
        if (lambda <= 0.0) return 0;
        if (lambda < 10.0) {
            const double limit = std::exp(-lambda);
            double product = uniform_open0();
            std::uint32_t k = 0;
            while (product > limit) {
                ++k;
                product *= uniform_open0();
            }
            return k;
        }
        const double slam = std::sqrt(lambda), loglam = std::log(lambda);
        const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
        const double invalpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2.0);
        for (;;) {
            const double u = uniform() - 0.5, v = uniform();
            const double us = 0.5 - std::fabs(u);
            const double k = std::floor((2.0 * a / us + b) * u + lambda + 0.43);
            if (us >= 0.07 && v <= vr) return std::uint32_t(k);
            if (k < 0.0 || (us < 0.013 && v > us)) continue;
            if (std::log(v) + std::log(invalpha) - std::log(a / (us * us) + b) <=
                -lambda + k * loglam - std::lgamma(k + 1.0))
                return std::uint32_t(k);
        }
    }

    // Number of failures before the first success in Bernoulli(p) trials (geometric skip), used
    // to draw fixed-probability connections in O(K) instead of O(N) per target.
    std::uint64_t geometric_skip(double log1m_p) {
        return std::uint64_t(std::floor(std::log(uniform_open0()) / log1m_p));
    }

  private:
    void refill() {
        block_ = philox_(ctr_, key_);
        ++ctr_.v[3];
        used_ = 0;
    }
    r123::Philox4x32 philox_;
    r123::Philox4x32::ctr_type ctr_;
    r123::Philox4x32::key_type key_;
    r123::Philox4x32::ctr_type block_{};
    unsigned used_ = 4;
};

}  // namespace ketaplast
