// Implementation of generate_connections (templated on the emit callback, hence a header).
#pragma once

#include <algorithm>
#include <cmath>

namespace ketaplast {

namespace detail {

// Draw `k` distinct indices from [0, n) excluding `excluded` (n for none), calling take(i) in draw
// order. Rejection against a bitmap while k is at most half of the pool; selection sampling (Knuth,
// TAOCP vol. 2, Algorithm S) beyond, where rejection would slow down. `marked` is all zero on entry
// and on exit (only the chosen entries are reset, so the cost is O(k), not O(n)).
template <typename Take>
void sample_distinct(RandomStream& rng, std::uint32_t n, std::uint32_t k, std::uint32_t excluded,
                     std::vector<std::uint8_t>& marked, std::vector<std::uint32_t>& chosen, Take&& take) {
    const std::uint32_t pool = n - (excluded < n ? 1 : 0);
    if (k == 0) return;
    if (std::uint64_t(k) * 2 <= pool) {
        if (marked.size() < n) marked.resize(n, 0);
        chosen.clear();
        if (excluded < n) marked[excluded] = 1;
        while (chosen.size() < k) {
            const std::uint32_t i = rng.below(n);
            if (marked[i]) continue;
            marked[i] = 1;
            chosen.push_back(i);
            take(i);
        }
        for (std::uint32_t i : chosen)
            marked[i] = 0;
        if (excluded < n) marked[excluded] = 0;
    } else {
        std::uint32_t needed = k, remaining = pool;
        for (std::uint32_t i = 0; i < n && needed > 0; ++i) {
            if (i == excluded) continue;
            if (rng.uniform() * remaining < needed) {
                take(i);
                --needed;
            }
            --remaining;
        }
    }
}

} // namespace detail

template <typename Emit>
void generate_connections(const ProjectionSpec& proj, std::uint32_t n_source, std::uint32_t n_target,
                          std::uint32_t target_begin, std::uint32_t target_end, std::uint64_t seed,
                          std::uint32_t projection_index, ConnectScratch& scratch, Emit&& emit,
                          const std::vector<std::uint32_t>* target_counts) {
    const bool skip_self = proj.source_index == proj.target_index && !proj.autapses;
    switch (proj.rule) {
    case ConnectionRule::one_to_one:
        for (std::uint32_t t = target_begin; t < target_end; ++t)
            emit(t, t, t, 0);
        break;
    case ConnectionRule::all_to_all:
    case ConnectionRule::fixed_probability: {
        const double p = proj.rule == ConnectionRule::all_to_all ? 1.0 : proj.probability;
        if (p <= 0.0) break;
        const double log1m_p = p < 1.0 ? std::log1p(-p) : 0.0;
        for (std::uint32_t t = target_begin; t < target_end; ++t) {
            std::uint64_t k = 0;
            if (p >= 1.0) {
                for (std::uint32_t s = 0; s < n_source; ++s)
                    if (!(skip_self && s == t)) emit(s, t, t, k++);
                continue;
            }
            // Bernoulli(p) for every source, drawn by geometric skips: O(expected in-degree).
            RandomStream rng(seed, RandomPurpose::connect_source, projection_index, t);
            // Positions as doubles: a skip can be astronomically large for tiny p.
            for (double s = rng.geometric_skip(log1m_p); s < double(n_source);
                 s += 1.0 + rng.geometric_skip(log1m_p))
                if (!(skip_self && std::uint32_t(s) == t)) emit(std::uint32_t(s), t, t, k++);
        }
        break;
    }
    case ConnectionRule::fixed_indegree:
    case ConnectionRule::fixed_total_number:
        for (std::uint32_t t = target_begin; t < target_end; ++t) {
            RandomStream rng(seed, RandomPurpose::connect_source, projection_index, t);
            const std::uint32_t excluded = skip_self ? t : n_source;
            // fixed_total_number: a per-target count from the projection-wide multinomial, then the
            // sources exactly as for a fixed in-degree.
            const std::uint32_t degree =
                proj.rule == ConnectionRule::fixed_indegree ? proj.degree : (*target_counts)[t];
            std::uint64_t k = 0;
            if (proj.multapses) {
                while (k < degree) {
                    const std::uint32_t s = rng.below(n_source);
                    if (s == excluded) continue;
                    emit(s, t, t, k++);
                }
            } else {
                detail::sample_distinct(rng, n_source, degree, excluded, scratch.marked, scratch.chosen,
                                        [&](std::uint32_t s) { emit(s, t, t, k++); });
            }
        }
        break;
    case ConnectionRule::fixed_outdegree:
        for (std::uint32_t s = 0; s < n_source; ++s) {
            RandomStream rng(seed, RandomPurpose::connect_source, projection_index, s);
            const std::uint32_t excluded = skip_self ? s : n_target;
            std::uint64_t k = 0;
            auto take = [&](std::uint32_t t) {
                if (t >= target_begin && t < target_end) emit(s, t, s, k);
                ++k;
            };
            if (proj.multapses) {
                for (std::uint32_t drawn = 0; drawn < proj.degree;) {
                    const std::uint32_t t = rng.below(n_target);
                    if (t == excluded) continue;
                    take(t);
                    ++drawn;
                }
            } else {
                detail::sample_distinct(rng, n_target, proj.degree, excluded, scratch.marked, scratch.chosen,
                                        take);
            }
        }
        break;
    }
}

} // namespace ketaplast
