#include "sim/network/connectivity.hpp"

namespace ketaplast {

std::vector<std::uint32_t> total_number_counts(const ProjectionSpec& proj, std::uint32_t n_target,
                                               std::uint64_t seed, std::uint32_t projection_index) {
    // Multinomial(total; 1/n, ..., 1/n) as conditional binomials: target t takes
    // Binomial(remaining, 1 / (n - t)) of what the targets before it left.
    std::vector<std::uint32_t> counts(n_target, 0);
    RandomStream rng(seed, RandomPurpose::connect_count, projection_index, 0);
    std::uint64_t remaining = proj.total;
    for (std::uint32_t t = 0; t < n_target && remaining > 0; ++t) {
        const std::uint64_t c =
            t + 1 == n_target ? remaining : rng.binomial(remaining, 1.0 / double(n_target - t));
        counts[t] = std::uint32_t(c);
        remaining -= c;
    }
    return counts;
}

} // namespace ketaplast
