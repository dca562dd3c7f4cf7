// Exponentially decaying synaptic receptors, shared by the point-neuron models.
//   dg/dt = -g / tau, g += w at spike arrival      (SCIENCE.md §2.1: AMPA tau 2 ms, GABA_A 5-10 ms)
// Exact update over a step: g(t+dt) = g(t) exp(-dt/tau) (SCIENCE.md §1.3), propagator precomputed.
// For conductance receptors the current is g (E_rev - V); for current receptors g is a current (pA).
#pragma once

#include "core/aligned_array.hpp"
#include "models/neuron_group.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

class ExpReceptors {
  public:
    ExpReceptors() = default;
    // Conductance receptors: state names g_<name>_nS; current receptors: I_<name>_pA.
    ExpReceptors(const std::vector<ReceptorSpec>& specs, std::uint32_t size, double dt_ms, ReceptorKind kind)
        : specs_(specs), prefix_(kind == ReceptorKind::conductance ? "g_" : "I_"),
          unit_(kind == ReceptorKind::conductance ? "nS" : "pA") {
        for (const auto& spec : specs) {
            g_.emplace_back(size, 0.0f);
            decay_.push_back(static_cast<float>(std::exp(-dt_ms / spec.tau_ms)));
            E_rev_mV_.push_back(static_cast<float>(spec.E_rev_mV));
        }
    }

    std::size_t count() const { return g_.size(); }
    float* g(std::size_t r) { return g_[r].data(); }
    const float* g(std::size_t r) const { return g_[r].data(); }
    float decay(std::size_t r) const { return decay_[r]; }
    float E_rev_mV(std::size_t r) const { return E_rev_mV_[r]; }

    // Sum of conductances and of conductance x reversal over [begin, end), written at out[0..).
    void sum_conductances(std::uint32_t begin, std::uint32_t end, float* __restrict g_sum,
                          float* __restrict gE_sum) const {
        const std::uint32_t n = end - begin;
        for (std::uint32_t i = 0; i < n; ++i) g_sum[i] = gE_sum[i] = 0.0f;
        for (std::size_t r = 0; r < g_.size(); ++r) {
            const float* __restrict g = g_[r].data() + begin;
            const float E = E_rev_mV_[r];
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                g_sum[i] += g[i];
                gE_sum[i] += g[i] * E;
            }
        }
    }

    // Sum of currents (current receptors) over [begin, end).
    void sum_currents(std::uint32_t begin, std::uint32_t end, float* __restrict I_sum) const {
        const std::uint32_t n = end - begin;
        for (std::uint32_t i = 0; i < n; ++i) I_sum[i] = 0.0f;
        for (std::size_t r = 0; r < g_.size(); ++r) {
            const float* __restrict g = g_[r].data() + begin;
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) I_sum[i] += g[i];
        }
    }

    // Decay over one step, then add this step's arriving input.
    void decay_and_add(std::uint32_t begin, std::uint32_t end, const float* const* input) {
        for (std::size_t r = 0; r < g_.size(); ++r) {
            float* __restrict g = g_[r].data();
            const float* __restrict in = input[r];
            const float d = decay_[r];
#pragma omp simd
            for (std::uint32_t i = begin; i < end; ++i) g[i] = g[i] * d + in[i];
        }
    }

    void append_state_names(std::vector<std::string>& names) const {
        for (const auto& spec : specs_) names.push_back(prefix_ + spec.name + "_" + unit_);
    }
    float* state(const std::string& name) {
        for (std::size_t r = 0; r < specs_.size(); ++r)
            if (name == prefix_ + specs_[r].name + "_" + unit_) return g_[r].data();
        return nullptr;
    }

  private:
    std::vector<ReceptorSpec> specs_;
    std::string prefix_, unit_;
    std::vector<AlignedArray<float>> g_;
    std::vector<float> decay_;
    std::vector<float> E_rev_mV_;
};

// Neurons are updated in chunks small enough that per-chunk scratch arrays stay in L1.
constexpr std::uint32_t kUpdateChunk = 256;

}  // namespace ketaplast
