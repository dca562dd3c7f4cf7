#include "core/random.hpp"
#include "sim/engine/poisson_drive.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <vector>

using namespace ketaplast;

TEST_CASE("streams are pure functions of their keys", "[random]") {
    RandomStream a(42, RandomPurpose::connect_source, 3, 17, 5),
        b(42, RandomPurpose::connect_source, 3, 17, 5);
    for (int i = 0; i < 100; ++i)
        REQUIRE(a.next_u32() == b.next_u32());
    RandomStream c(42, RandomPurpose::connect_source, 3, 18, 5),
        d(42, RandomPurpose::connect_value, 3, 17, 5), e(43, RandomPurpose::connect_source, 3, 17, 5);
    RandomStream a2(42, RandomPurpose::connect_source, 3, 17, 5);
    const auto first = a2.next_u32();
    CHECK(c.next_u32() != first);
    CHECK(d.next_u32() != first);
    CHECK(e.next_u32() != first);
}

namespace {
struct Moments {
    double mean = 0, var = 0;
};
template <typename Draw>
Moments moments(int n, Draw draw) {
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
        const double x = draw(i);
        s += x;
        s2 += x * x;
    }
    Moments m;
    m.mean = s / n;
    m.var = s2 / n - m.mean * m.mean;
    return m;
}
} // namespace

TEST_CASE("distributions have the right moments", "[random]") {
    // n = 200000 draws: the standard error of a mean is sd/sqrt(n) ~ 0.0022 sd; tolerances are
    // 5 standard errors, so a correct generator fails with probability < 1e-6.
    const int n = 200000;
    const double se = 1.0 / std::sqrt(double(n));
    RandomStream rng(7, RandomPurpose::initial_state, 0, 0);
    auto u = moments(n, [&](int) { return rng.uniform(); });
    CHECK(u.mean == Approx(0.5).margin(5 * se * std::sqrt(1.0 / 12)));
    CHECK(u.var == Approx(1.0 / 12).margin(0.002));
    auto z = moments(n, [&](int) { return rng.normal(); });
    CHECK(z.mean == Approx(0.0).margin(5 * se));
    CHECK(z.var == Approx(1.0).margin(0.015));
    for (double lambda : {0.3, 1.6, 4.0, 12.0, 80.0}) {
        auto p = moments(n, [&](int) { return double(rng.poisson(lambda)); });
        INFO("lambda = " << lambda);
        CHECK(p.mean == Approx(lambda).margin(5 * se * std::sqrt(lambda)));
        CHECK(p.var == Approx(lambda).epsilon(0.03));
    }
    auto k = moments(n, [&](int) { return double(rng.below(10)); });
    CHECK(k.mean == Approx(4.5).margin(5 * se * std::sqrt(8.25)));
}

TEST_CASE("Poisson probabilities match the pmf", "[random]") {
    // P(k) for lambda = 12 (PTRS branch) against the exact pmf; each bin within 5 binomial SEs.
    const int n = 400000;
    const double lambda = 12.0;
    std::vector<int> hist(40, 0);
    RandomStream rng(11, RandomPurpose::poisson_drive, 0, 0);
    for (int i = 0; i < n; ++i) {
        const auto k = rng.poisson(lambda);
        if (k < hist.size()) ++hist[k];
    }
    for (int k = 2; k < 25; ++k) {
        const double p = std::exp(-lambda + k * std::log(lambda) - std::lgamma(k + 1.0));
        const double se = std::sqrt(p * (1 - p) / n);
        INFO("k = " << k);
        CHECK(double(hist[std::size_t(k)]) / n == Approx(p).margin(5 * se));
    }
}

TEST_CASE("binomial draws match the pmf in both algorithm branches", "[random]") {
    // Inversion (n p < 10) and BTRD (n p >= 10, and p > 0.5 by symmetry): frequencies of the most
    // likely values against the exact pmf, each within 5 binomial standard errors.
    RandomStream rng(21, RandomPurpose::connect_count, 0, 0);
    struct Case {
        std::uint64_t n;
        double p;
    };
    for (const Case c :
         {Case{30, 0.1}, Case{1000, 0.3}, Case{200000, 0.002}, Case{5000, 0.9}, Case{100, 0.5}}) {
        const int draws = 200000;
        std::map<std::uint64_t, int> hist;
        double s = 0, s2 = 0;
        for (int i = 0; i < draws; ++i) {
            const auto k = rng.binomial(c.n, c.p);
            REQUIRE(k <= c.n);
            ++hist[k];
            s += double(k);
            s2 += double(k) * double(k);
        }
        const double mean = double(c.n) * c.p, var = mean * (1 - c.p);
        INFO("n = " << c.n << ", p = " << c.p);
        CHECK(s / draws == Approx(mean).margin(5 * std::sqrt(var / draws)));
        CHECK(s2 / draws - (s / draws) * (s / draws) == Approx(var).epsilon(0.03));
        const std::uint64_t mode = std::uint64_t(std::floor(double(c.n + 1) * c.p));
        for (std::uint64_t k = mode >= 3 ? mode - 3 : 0; k <= mode + 3 && k <= c.n; ++k) {
            const double logp = std::lgamma(double(c.n) + 1) - std::lgamma(double(k) + 1) -
                                std::lgamma(double(c.n - k) + 1) + double(k) * std::log(c.p) +
                                double(c.n - k) * std::log1p(-c.p);
            const double p = std::exp(logp), se = std::sqrt(p * (1 - p) / draws);
            INFO("k = " << k);
            CHECK(double(hist[k]) / draws == Approx(p).margin(5 * se));
        }
    }
}

TEST_CASE("batched Philox words equal Random123's for every neuron's stream", "[random]") {
    // The Poisson drive draws 16 neurons at a time with its own Philox loop; it must give exactly the
    // words of RandomStream (Random123's Philox4x32-10) for each (key, neuron, block).
    for (std::uint64_t seed : {1ull, 55ull, 0xFFFFFFFFFFFFull}) {
        const StreamKey key(seed, RandomPurpose::poisson_drive, 3);
        for (std::uint64_t sub : {0ull, 7ull, (1ull << 40) + 5}) {
            for (unsigned word = 0; word < 4; ++word) {
                std::vector<std::uint32_t> batch(1000);
                philox_words(key, 12345, sub, word, 1000, batch.data());
                for (std::uint32_t i = 0; i < 1000; ++i) {
                    RandomStream one(key, 12345 + i, sub);
                    REQUIRE(batch[i] == one.word(word));
                }
            }
        }
    }
}
