// Counter-based random numbers and the project's own distributions.
//
// Why counter-based: every random number is a pure function of (seed, purpose, id, sub, draw), so
// the network and every spike are the same for any number of threads or MPI ranks (DESIGN.md,
// "Reproducibility"). Philox4x32-10 (Salmon et al. 2011, SC'11) from Debian's librandom123-dev.
//
// Why own distributions: std::*_distribution differ between standard libraries, so results would
// differ between machines' toolchains. These use only +, -, *, /, log, exp, sqrt, lgamma.
#pragma once

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace ketaplast {

// What a stream is used for. Part of the key, so streams of different purposes never overlap.
enum class RandomPurpose : std::uint32_t {
    connect_source = 1,   // which sources a target receives from (per target)
    connect_value = 2,    // weight then delay of one synapse (per target or source, per synapse)
    connect_count = 4,    // per-projection counts (fixed_total_number's multinomial)
    initial_state = 5,    // initial membrane potentials etc. (per neuron)
    position = 6,         // neuron positions (per neuron)
    poisson_source = 7,   // Poisson spike generators (per neuron, per step)
    poisson_drive = 8,    // Poisson background drive into neurons (per neuron, per step)
    plasticity_noise = 9, // noise of the calcium rule (per synapse, per calcium event)
};

// SplitMix64 finaliser (Steele et al. 2014): mixes (seed, purpose, tag) into a 64-bit Philox key.
inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// The cumulative Poisson(lambda) distribution, for drawing by inversion: count = the first k with
// u <= cdf[k]. Built term by term (p_k = p_{k-1} lambda / k) until the terms vanish.
inline std::vector<double> poisson_cdf_table(double lambda) {
    std::vector<double> cdf;
    double p = std::exp(-lambda), cumulative = p;
    cdf.push_back(cumulative);
    // Stop once the table covers every u drawn from a 32-bit word (u <= 1 - 2^-33): later entries can
    // never be reached, and the sum may never reach exactly 1.0 in floating point.
    const double u_max = 1.0 - 1.0 / 8589934592.0;
    for (std::uint32_t k = 1; k <= 1000 && p >= 1e-300 && cumulative < u_max; ++k) {
        p *= lambda / double(k);
        cumulative += p;
        cdf.push_back(cumulative);
    }
    return cdf;
}

// Poisson count from one uniform u in (0, 1) and the table above.
inline std::uint32_t poisson_by_inversion(double u, const std::vector<double>& cdf) {
    std::uint32_t k = 0;
    const std::uint32_t last = std::uint32_t(cdf.size() - 1);
    while (k < last && u > cdf[k])
        ++k;
    return k;
}

// A sequential stream of 32-bit words. Key = mix(seed, purpose, tag); counter = (id, sub_lo, sub_hi, n).
// `tag` separates e.g. projections, `id` is the neuron, `sub` the step or synapse index.
// The Philox key of (seed, purpose, tag), computed once for hot loops that open many streams.
struct StreamKey {
    std::uint32_t low, high;
    StreamKey(std::uint64_t seed, RandomPurpose purpose, std::uint32_t tag) {
        const std::uint64_t k = mix64(seed ^ mix64((std::uint64_t(purpose) << 32) | tag));
        low = std::uint32_t(k);
        high = std::uint32_t(k >> 32);
    }
};

class RandomStream {
  public:
    RandomStream(std::uint64_t seed, RandomPurpose purpose, std::uint32_t tag, std::uint32_t id,
                 std::uint64_t sub = 0)
        : RandomStream(StreamKey(seed, purpose, tag), id, sub) {}
    RandomStream(const StreamKey& key, std::uint32_t id, std::uint64_t sub = 0) {
        key_ = {{key.low, key.high}};
        ctr_ = {{id, std::uint32_t(sub), std::uint32_t(sub >> 32), 0}};
    }

    // Word i (0..3) of the stream's first Philox block, without consuming the stream.
    std::uint32_t word(unsigned i) {
        if (used_ == 4 && ctr_.v[3] == 0) {
            refill();
            used_ = 0;
        }
        return block_.v[i & 3];
    }

    std::uint32_t next_u32() {
        if (used_ == 4) refill();
        return block_.v[used_++];
    }

    // Uniform in [0, 1) with 53 random bits.
    double uniform() {
        const std::uint64_t hi = next_u32() >> 5, lo = next_u32() >> 6; // 27 + 26 bits
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

    // Standard normal by Marsaglia's polar method (no trigonometry) from pairs of 32-bit uniforms; the
    // pair's second value is discarded so a draw depends only on its position in the stream. With
    // two words per attempt a synapse usually draws its weight and its delay from one Philox block.
    double normal() {
        for (;;) {
            const double u = double(next_u32()) * (2.0 / 4294967296.0) - 1.0;
            const double v = double(next_u32()) * (2.0 / 4294967296.0) - 1.0;
            const double s = u * u + v * v;
            if (s > 0.0 && s < 1.0) return u * std::sqrt(-2.0 * std::log(s) / s);
        }
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

    // Binomial(n, p). Small means by inversion (sequential search from 0); n min(p, 1-p) >= 10 by the
    // BTRD transformed-rejection method of Hormann (1993), J Stat Comput Simul 46:101-110, as also
    // used by numpy and TensorFlow.
    std::uint64_t binomial(std::uint64_t n, double p) {
        if (n == 0 || p <= 0.0) return 0;
        if (p >= 1.0) return n;
        if (p > 0.5) return n - binomial(n, 1.0 - p);
        const double np = double(n) * p;
        if (np < 10.0) {
            const double q = 1.0 - p, s = p / q, a = double(n + 1) * s;
            double r = std::pow(q, double(n)), u = uniform();
            std::uint64_t x = 0;
            while (u > r && x < n) {
                u -= r;
                ++x;
                r *= a / double(x) - s;
                if (r <= 0.0) break;
            }
            return x;
        }
        const double spq = std::sqrt(np * (1.0 - p));
        const double b = 1.15 + 2.53 * spq, a = -0.0873 + 0.0248 * b + 0.01 * p, c = np + 0.5;
        const double alpha = (2.83 + 5.1 / b) * spq, v_r = 0.92 - 4.2 / b, ur_vr = 0.86 * v_r;
        const double m = std::floor(double(n + 1) * p), r = p / (1.0 - p), nr = double(n + 1) * r,
                     npq = np * (1.0 - p);
        for (;;) {
            double v = uniform(), u;
            if (v <= ur_vr) {
                u = v / v_r - 0.43;
                return std::uint64_t(std::floor((2.0 * a / (0.5 - std::fabs(u)) + b) * u + c));
            }
            if (v >= v_r) {
                u = uniform() - 0.5;
            } else {
                u = v / v_r - 0.93;
                u = (u < 0 ? -0.5 : 0.5) - u;
                v = uniform() * v_r;
            }
            const double us = 0.5 - std::fabs(u);
            const double k = std::floor((2.0 * a / us + b) * u + c);
            if (k < 0.0 || k > double(n)) continue;
            v = v * alpha / (a / (us * us) + b);
            const double km = std::fabs(k - m);
            if (km <= 15.0) {
                double f = 1.0;
                if (m < k)
                    for (double i = m + 1; i <= k; ++i)
                        f *= nr / i - r;
                else if (m > k)
                    for (double i = k + 1; i <= m; ++i)
                        v *= nr / i - r;
                if (v <= f) return std::uint64_t(k);
                continue;
            }
            v = std::log(v);
            const double rho = (km / npq) * (((km / 3.0 + 0.625) * km + 1.0 / 6.0) / npq + 0.5);
            const double t = -km * km / (2.0 * npq);
            if (v < t - rho) return std::uint64_t(k);
            if (v > t + rho) continue;
            const double nm = double(n) - m + 1.0, nk = double(n) - k + 1.0;
            const double h =
                (m + 0.5) * std::log((m + 1.0) / (r * nm)) + stirling_tail(m) + stirling_tail(double(n) - m);
            if (v <= h + double(n + 1) * std::log(nm / nk) + (k + 0.5) * std::log(nk * r / (k + 1.0)) -
                         stirling_tail(k) - stirling_tail(double(n) - k))
                return std::uint64_t(k);
        }
    }

    // Number of failures before the first success in Bernoulli(p) trials (geometric skip), used
    // to draw fixed-probability connections in O(K) instead of O(N) per target.
    // Returned as a double: for tiny p the skip exceeds any integer type (the caller compares first).
    double geometric_skip(double log1m_p) { return std::floor(std::log(uniform_open0()) / log1m_p); }

  private:
    // log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2]: the Stirling series remainder (BTRD).
    static double stirling_tail(double k) {
        static const double table[] = {0.08106146679532726, 0.04134069595540929, 0.02767792568499834,
                                       0.02079067210376509, 0.01664469118982119, 0.01387612882307075,
                                       0.01189670994589177, 0.01041126526197209, 0.009255462182712733,
                                       0.008330563433362871};
        if (k < 10.0) return table[int(k)];
        const double k1 = k + 1.0, k2 = k1 * k1;
        return (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / k2) / k2) / k1;
    }

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

} // namespace ketaplast
