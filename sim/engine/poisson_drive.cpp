#include "sim/engine/poisson_drive.hpp"

#include "core/simd.hpp"

#include <algorithm>

namespace ketaplast {

namespace {

constexpr std::uint32_t kBatch = 256;

// Philox4x32-10 rounds (Random123 philox.h: round = two 32x32->64 products, xors with the key; the key
// is bumped by the Weyl constants between rounds), for a batch of counters that differ in word 0.
KETAPLAST_HOT_CLONES
void philox_batch(std::uint32_t key0, std::uint32_t key1, std::uint32_t id0, std::uint32_t sub_lo,
                  std::uint32_t sub_hi, unsigned word, std::uint32_t n, std::uint32_t* __restrict out) {
    // The requested word by masks (a select on `word` inside the loop stops the vectoriser).
    const std::uint64_t m0 = word == 0 ? ~0ull : 0, m1 = word == 1 ? ~0ull : 0, m2 = word == 2 ? ~0ull : 0,
                        m3 = word == 3 ? ~0ull : 0;
#pragma omp simd
    for (std::uint32_t i = 0; i < n; ++i) {
        // 32-bit words held in 64-bit lanes, so each 32 x 32 -> 64 product is one lane multiply.
        const std::uint64_t mask = 0xFFFFFFFFu;
        std::uint64_t c0 = std::uint32_t(id0 + i), c1 = sub_lo, c2 = sub_hi, c3 = 0, k0 = key0, k1 = key1;
        for (int round = 0; round < 10; ++round) {
            const std::uint64_t p0 = c0 * 0xD2511F53u, p1 = c2 * 0xCD9E8D57u;
            c0 = (p1 >> 32) ^ c1 ^ k0;
            c2 = (p0 >> 32) ^ c3 ^ k1;
            c1 = p1 & mask;
            c3 = p0 & mask;
            k0 = (k0 + 0x9E3779B9u) & mask;
            k1 = (k1 + 0xBB67AE85u) & mask;
        }
        out[i] = std::uint32_t((c0 & m0) | (c1 & m1) | (c2 & m2) | (c3 & m3));
    }
}

} // namespace

void philox_words(const StreamKey& key, std::uint32_t id0, std::uint64_t sub, unsigned word, std::uint32_t n,
                  std::uint32_t* out) {
    philox_batch(key.low, key.high, id0, std::uint32_t(sub), std::uint32_t(sub >> 32), word & 3, n, out);
}

namespace {

// Counts by inversion for a batch: count = #{k < last : cdf[k] < u} (cdf is non-decreasing, so this is
// the first k with u <= cdf[k], capped at the table's end) -- the same counts as poisson_by_inversion,
// computed table entry by table entry over all lanes so the loops vectorise.
KETAPLAST_HOT_CLONES
void invert_batch(const std::uint32_t* __restrict bits, std::uint32_t n, const double* __restrict cdf,
                  std::size_t last, float weight, float* __restrict input) {
    alignas(64) double u[kBatch];
    alignas(64) std::int32_t count[kBatch];
#pragma omp simd
    for (std::uint32_t i = 0; i < n; ++i) {
        u[i] = (double(bits[i]) + 0.5) * (1.0 / 4294967296.0);
        count[i] = 0;
    }
    for (std::size_t k = 0; k < last; ++k) {
        const double c = cdf[k];
#pragma omp simd
        for (std::uint32_t i = 0; i < n; ++i)
            count[i] += u[i] > c ? 1 : 0;
    }
#pragma omp simd
    for (std::uint32_t i = 0; i < n; ++i)
        input[i] += float(count[i]) * weight;
}

} // namespace

void add_poisson_counts(const StreamKey& key, std::uint32_t first_gid, std::int64_t step,
                        const std::vector<double>& cdf, float weight, std::uint32_t begin, std::uint32_t end,
                        float* input) {
    alignas(64) std::uint32_t bits[kBatch];
    const std::uint64_t block = std::uint64_t(step) >> 2;
    const unsigned word = unsigned(step & 3);
    for (std::uint32_t chunk = begin; chunk < end; chunk += kBatch) {
        const std::uint32_t n = std::min(kBatch, end - chunk);
        philox_words(key, first_gid + chunk, block, word, n, bits);
        invert_batch(bits, n, cdf.data(), cdf.size() - 1, weight, input + chunk);
    }
}

} // namespace ketaplast
