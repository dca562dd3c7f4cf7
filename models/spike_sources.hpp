// Spike sources: populations that emit spikes without receiving synapses.
//
// `poisson_source`: each neuron an independent Poisson process with a rate that is constant or
// piecewise constant in time (rate_schedule). A neuron spikes in step n with probability
// 1 - exp(-rate dt) (at most one spike per step; exact for the discretised process), decided by the
// counter-based stream keyed by (seed, population, neuron, step), so spikes do not depend on the
// thread partition.
//
// `spike_times`: explicit spike times per neuron (inline in the config or from a file), rounded to
// the time grid; a spike at time t is emitted in the step that ends at t.
#pragma once

#include "models/neuron_group.hpp"

namespace ketaplast {

class PoissonSource final : public NeuronGroup {
  public:
    static ParamSchema schema();
    explicit PoissonSource(const GroupSetup& setup);
    std::uint32_t size() const override { return size_; }
    void update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                const float* const* receptor_input, std::vector<std::uint32_t>& spikes) override;
    std::vector<std::string> state_names() const override { return {}; }
    float* state(const std::string&) override { return nullptr; }

  private:
    double rate_at(std::int64_t step) const;
    std::uint32_t size_;
    double dt_ms_;
    std::vector<std::pair<std::int64_t, double>> schedule_; // (first step, rate Hz), sorted
};

class SpikeTimesSource final : public NeuronGroup {
  public:
    static ParamSchema schema() { return {}; }
    explicit SpikeTimesSource(const GroupSetup& setup);
    std::uint32_t size() const override { return size_; }
    void update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                const float* const* receptor_input, std::vector<std::uint32_t>& spikes) override;
    std::vector<std::string> state_names() const override { return {}; }
    float* state(const std::string&) override { return nullptr; }

  private:
    std::uint32_t size_;
    std::vector<std::vector<std::int64_t>> steps_; // per neuron, sorted
    std::vector<std::size_t> next_;                // per neuron: index of the next spike to emit
};

} // namespace ketaplast
