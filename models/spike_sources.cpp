#include "models/spike_sources.hpp"

#include "core/random.hpp"

#include <algorithm>
#include <cmath>

namespace ketaplast {

ParamSchema PoissonSource::schema() {
    return {{"rate_Hz", 0.0, 0.0, 1e4, true, true,
             "mean rate of each neuron (a [populations.rate_schedule] overrides it from its times on)"}};
}

PoissonSource::PoissonSource(const GroupSetup& setup) : size_(setup.size), dt_ms_(setup.dt_ms) {
    schedule_.emplace_back(0, setup.params.get("rate_Hz"));
    for (const auto& entry : setup.rate_schedule_Hz)
        schedule_.push_back(entry);
    std::stable_sort(schedule_.begin(), schedule_.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
}

double PoissonSource::rate_at(std::int64_t step) const {
    double rate = 0.0;
    for (const auto& [first, r] : schedule_)
        if (first <= step) rate = r;
    return rate;
}

void PoissonSource::update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                           const float* const*, std::vector<std::uint32_t>& spikes) {
    const double rate_Hz = rate_at(ctx.step);
    if (rate_Hz <= 0.0) return;
    const double p_spike = -std::expm1(-rate_Hz * dt_ms_ * 1e-3);
    for (std::uint32_t i = begin; i < end; ++i) {
        RandomStream rng(ctx.seed, RandomPurpose::poisson_source, ctx.population, ctx.first_gid + i,
                         std::uint64_t(ctx.step));
        if (rng.uniform() < p_spike) spikes.push_back(i);
    }
}

SpikeTimesSource::SpikeTimesSource(const GroupSetup& setup)
    : size_(setup.size), steps_(setup.spike_steps), next_(setup.size, 0) {
    steps_.resize(size_);
}

void SpikeTimesSource::update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                              const float* const*, std::vector<std::uint32_t>& spikes) {
    for (std::uint32_t i = begin; i < end; ++i) {
        const auto& times = steps_[i];
        std::size_t& k = next_[i];
        while (k < times.size() && times[k] < ctx.step)
            ++k; // (only after a resume from a later step)
        if (k < times.size() && times[k] == ctx.step) {
            spikes.push_back(i);
            while (k < times.size() && times[k] == ctx.step)
                ++k; // duplicates on the grid: one spike
        }
    }
}

} // namespace ketaplast
