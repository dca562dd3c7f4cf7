// Destexhe-Mainen-Sejnowski two-state receptor kinetics (docs/science.md §2.2; Destexhe, Mainen & Sejnowski
// 1994, Neural Comput 6:14), aggregated per neuron as in NEURON's AMPA_S / NMDA_S mechanisms.
//
//   closed + T <-> open:   dr/dt = alpha T (1 - r) - beta r,   T = T_max for C_dur after each release, else 0
//
// A synapse of weight w (nS: its conductance with every receptor open) contributes w r; the neuron's
// receptor conductance is g = sum_synapses w r (times the Mg2+ block for NMDA, models/exp_receptors.hpp).
// With the pulse square, each synapse's r has a closed form (docs/science.md §1.3), the point of DMS 1994:
//   in its pulse, starting from r0:   r(t) = w r_inf + (r0 - w r_inf) P(t),  r_inf = alpha T / (alpha T +
//   beta),
//                                      P(t) = exp(-t / tau_on),                tau_on = 1 / (alpha T + beta)
//   outside pulses:                   r(t) = r(t0) exp(-beta (t - t0))
// (here and below r stands for w r). So the synapses split into an "on" population (in their pulse) and an
// "off" one, and the off population decays as a whole with beta. Per neuron this keeps
//   g       the total w r (nS), the off part being g - on,
//   on      the on part (nS),
//   W_k, R0_k for each of the K = C_dur / dt steps of a pulse: the summed weight of the releases that began
//           at that step and their summed r at pulse start;
// the on part is sum_k [W_k r_inf (1 - P^age_k) + R0_k P^age_k] with P = exp(-dt / tau_on): exact, linear in
// the sums, so releases at the same step need no per-synapse record. Releases start on step boundaries:
// the weight arriving for step n (ring slot n, sim/engine/engine.cpp) starts a pulse at (n + 1) dt, as it
// would make an exponential receptor jump then, and the pulse ends K steps later, when its slot comes round
// again.
//
// The one approximation: a synapse's own r at the start of its pulse (r0, its leftover from earlier
// releases, which lies in the off population) is not tracked per synapse. It is estimated as the mean of
// the off population per unit weight, R0 = off x min(1, W_new / W_off), W_off = W_cap - W_on (the neuron's
// summed synaptic weight on the receptor minus the weight in pulse). This is exact when the off synapses
// carry equal r per weight: the first release of every synapse, any train of one synapse, synchronous
// inputs; with asynchronous inputs it spreads a busy synapse's leftover over all synapses (error shown in
// test_kinetic_receptor: it vanishes when 1 / beta is short against the interval between one synapse's
// releases, AMPA and GABA_A at cortical rates). It keeps g <= W_cap (saturation) where the DMS independent
// synapse from rest (r0 = 0, used when W_cap is unknown, i.e. 0) would let sum w r exceed it. NEURON's
// AMPA_S keeps r0 per synapse (a NetCon state): exact, but per synapse, which this simulator avoids.
//
// Poisson drive events and repeated releases of one synapse within C_dur count as separate pulses (NEURON
// instead extends the running pulse); with C_dur = 1 ms and refractory neurons this does not arise for
// neuron-to-neuron synapses.
#pragma once

#include "core/aligned_array.hpp"
#include "core/error.hpp"
#include "models/neuron_group.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

// Rate sets of science.md §2.2 (ModelDB / NEURON ampa.mod, nmda.mod, gabaa.mod [V]); T_max 1 mM, C_dur 1 ms.
struct KineticPreset {
    const char* name;
    double alpha_per_mM_per_ms, beta_per_ms, E_rev_mV;
    bool Mg_block;
};
inline const std::vector<KineticPreset>& kinetic_presets() {
    static const std::vector<KineticPreset> presets{
        {"AMPA", 1.1, 0.19, 0.0, false},
        {"NMDA", 0.072, 0.0066, 0.0, true},
        {"GABA_A", 5.0, 0.18, -80.0, false},
    };
    return presets;
}

// The pulse length in steps, or -1 if C_dur is not a whole number (>= 1) of steps of dt.
inline std::int64_t kinetic_pulse_steps(double C_dur_ms, double dt_ms) {
    const double steps = C_dur_ms / dt_ms;
    const double whole = std::round(steps);
    if (whole < 1.0 || std::fabs(steps - whole) > 1e-6 * whole) return -1;
    return std::int64_t(whole);
}

class KineticReceptor {
  public:
    KineticReceptor() = default;
    KineticReceptor(const ReceptorSpec& spec, std::uint32_t size, double dt_ms) {
        K_ = kinetic_pulse_steps(spec.C_dur_ms, dt_ms);
        if (K_ < 1)
            throw InputError("receptor '" + spec.name + "': C_dur_ms = " + std::to_string(spec.C_dur_ms) +
                             " is not a whole number of steps of dt = " + std::to_string(dt_ms) + " ms");
        const double k_on = spec.alpha_per_mM_per_ms * spec.T_max_mM + spec.beta_per_ms; // 1 / tau_on
        r_inf_ = float(spec.alpha_per_mM_per_ms * spec.T_max_mM / k_on);
        off_decay_ = float(std::exp(-spec.beta_per_ms * dt_ms));
        for (std::int64_t a = 0; a <= K_; ++a)
            P_.push_back(float(std::exp(-k_on * dt_ms * double(a))));
        on_.resize(size, 0.0f);
        capacity_.resize(size, 0.0f);
        for (std::int64_t k = 0; k < K_; ++k) {
            W_.emplace_back(size, 0.0f);
            R0_.emplace_back(size, 0.0f);
        }
    }

    std::int64_t pulse_steps() const { return K_; }
    float r_inf() const { return r_inf_; }

    // The neurons' summed synaptic weight on this receptor (nS): the conductance with every receptor open.
    void set_capacity(const std::vector<float>& W_nS) {
        for (std::size_t i = 0; i < capacity_.size() && i < W_nS.size(); ++i)
            capacity_[i] = W_nS[i];
    }
    // Open fraction of neuron i with total conductance g (0 without synapses).
    float open_fraction(std::uint32_t i, float g) const { return capacity_[i] > 0 ? g / capacity_[i] : 0.0f; }

    // Advance neurons [begin, end) over step `step` (t -> t + dt): g and on evolve in closed form (pulses
    // begin and end on step boundaries, so the number of synapses in pulse is constant within the step),
    // the pulses that began K steps ago end, and the weight `in` arriving for this step starts new ones.
    void advance(std::uint32_t begin, std::uint32_t end, const float* __restrict in, std::int64_t step,
                 float* __restrict g_all) {
        const std::size_t slot = std::size_t(step % K_); // the slot of step - K (ending), reused for `step`
        const float r_inf = r_inf_, off_decay = off_decay_, P_end = P_[std::size_t(K_)];
        constexpr std::uint32_t kChunk = 256;
        alignas(64) float on_sum[kChunk], W_on[kChunk];
        for (std::uint32_t chunk = begin; chunk < end; chunk += kChunk) {
            const std::uint32_t n = std::min(kChunk, end - chunk);
            float* __restrict g = g_all + chunk;
            float* __restrict on = on_.data() + chunk;
            float* __restrict W_end = W_[slot].data() + chunk;
            float* __restrict R0_end = R0_[slot].data() + chunk;
            // Off population decays; the ending pulses join it with their r at age K.
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                const float off = std::max(0.0f, g[i] - on[i]) * off_decay;
                g[i] = off + W_end[i] * r_inf * (1.0f - P_end) + R0_end[i] * P_end;
                on_sum[i] = 0.0f;
                W_on[i] = 0.0f;
            }
            // Pulses still running: slot k began `age` steps before this step's new ones.
            for (std::int64_t k = 0; k < K_; ++k) {
                if (std::size_t(k) == slot) continue;
                const std::int64_t age = (std::int64_t(slot) - k + K_) % K_;
                const float P = P_[std::size_t(age)], rise = r_inf * (1.0f - P);
                const float* __restrict W = W_[std::size_t(k)].data() + chunk;
                const float* __restrict R0 = R0_[std::size_t(k)].data() + chunk;
#pragma omp simd
                for (std::uint32_t i = 0; i < n; ++i) {
                    on_sum[i] += W[i] * rise + R0[i] * P;
                    W_on[i] += W[i];
                }
            }
            // New pulses take their estimated leftover r0 out of the off population (g holds it now).
            const float* __restrict w_new = in + chunk;
            const float* __restrict cap = capacity_.data() + chunk;
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                const float off = g[i];
                const float W_off = cap[i] - W_on[i];
                const float share = W_off > w_new[i] ? w_new[i] / W_off : 1.0f;
                const float r0 = (w_new[i] > 0.0f && cap[i] > 0.0f) ? off * share : 0.0f;
                W_end[i] = w_new[i];
                R0_end[i] = r0;
                on[i] = on_sum[i] + r0;
                g[i] = (off - r0) + on[i];
            }
        }
    }

    // State arrays (unit: nS, or pA for current-based models): on_<name>_<unit> and the pulse slots
    // pulse_W_<name>_<k>_<unit>, pulse_R0_<name>_<k>_<unit> (slot k holds the releases of the last step s
    // with s mod K = k). With g_<name>_<unit> they are the complete state (checkpoints save them all).
    void append_state_names(const std::string& name, const std::string& unit,
                            std::vector<std::string>& names) const {
        names.push_back("on_" + name + "_" + unit);
        for (std::int64_t k = 0; k < K_; ++k)
            names.push_back("pulse_W_" + name + "_" + std::to_string(k) + "_" + unit);
        for (std::int64_t k = 0; k < K_; ++k)
            names.push_back("pulse_R0_" + name + "_" + std::to_string(k) + "_" + unit);
    }
    float* state(const std::string& receptor, const std::string& unit, const std::string& name) {
        if (name == "on_" + receptor + "_" + unit) return on_.data();
        for (std::int64_t k = 0; k < K_; ++k) {
            const std::string suffix = receptor + "_" + std::to_string(k) + "_" + unit;
            if (name == "pulse_W_" + suffix) return W_[std::size_t(k)].data();
            if (name == "pulse_R0_" + suffix) return R0_[std::size_t(k)].data();
        }
        return nullptr;
    }

  private:
    std::int64_t K_ = 1;
    float r_inf_ = 0, off_decay_ = 1;
    std::vector<float> P_; // exp(-a dt / tau_on), a = 0..K
    AlignedArray<float> on_, capacity_;
    std::vector<AlignedArray<float>> W_, R0_; // [slot][neuron]
};

} // namespace ketaplast
