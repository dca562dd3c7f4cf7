// The synaptic receptors of a point-neuron population (SCIENCE.md §2.1, §2.3), exactly integrated.
//
// exponential:  dg/dt = -g / tau,  g += w at spike arrival (AMPA tau 2 ms, GABA_A 5-10 ms).
// nmda:         g = a - h with da/dt = -a / tau_decay, dh/dt = -h / tau_rise, both += w N at arrival, so a
//               single event gives the dual exponential w N (e^{-t/tau_d} - e^{-t/tau_r}) with peak w (N
//               normalises the peak to 1); the channel current is g B(V) (V - E) with the Mg2+ block
//               B(V) = 1 / (1 + [Mg] / (K0 exp(slope V))) evaluated at the start of the step.
// Exact update over a step: each exponential by its propagator exp(-dt/tau), precomputed
// (SCIENCE.md §1.3). For conductance receptors the current is g (E_rev - V); for current receptors g is
// a current (pA).
#pragma once

#include "core/aligned_array.hpp"
#include "core/fastmath.hpp"
#include "models/neuron_group.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

// Peak of e^{-t/tau_d} - e^{-t/tau_r}, at t_peak = tau_d tau_r / (tau_d - tau_r) ln(tau_d / tau_r).
inline double dual_exponential_peak(double tau_rise_ms, double tau_decay_ms) {
    const double t_peak =
        tau_decay_ms * tau_rise_ms / (tau_decay_ms - tau_rise_ms) * std::log(tau_decay_ms / tau_rise_ms);
    return std::exp(-t_peak / tau_decay_ms) - std::exp(-t_peak / tau_rise_ms);
}

// Neurons are updated in chunks small enough that per-chunk scratch arrays stay in L1; sum_conductances
// takes at most this many neurons at a time.
constexpr std::uint32_t kUpdateChunk = 256;

class ExpReceptors {
  public:
    ExpReceptors() = default;
    // Conductance receptors: state names g_<name>_nS (and for NMDA its rise part h_<name>_nS); current
    // receptors: I_<name>_pA.
    ExpReceptors(const std::vector<ReceptorSpec>& specs, std::uint32_t size, double dt_ms, ReceptorKind kind)
        : specs_(specs), prefix_(kind == ReceptorKind::conductance ? "g_" : "I_"),
          unit_(kind == ReceptorKind::conductance ? "nS" : "pA") {
        for (const auto& spec : specs) {
            g_.emplace_back(size, 0.0f);
            decay_.push_back(static_cast<float>(std::exp(-dt_ms / spec.tau_ms)));
            E_rev_mV_.push_back(static_cast<float>(spec.E_rev_mV));
            const bool nmda = spec.shape == ReceptorShape::nmda;
            rise_.emplace_back(nmda ? size : 0, 0.0f);
            decay_rise_.push_back(nmda ? static_cast<float>(std::exp(-dt_ms / spec.tau_rise_ms)) : 0.0f);
            norm_.push_back(
                nmda ? static_cast<float>(1.0 / dual_exponential_peak(spec.tau_rise_ms, spec.tau_ms)) : 1.0f);
            Mg_over_K0_.push_back(nmda ? static_cast<float>(spec.Mg_mM / spec.K_Mg0_mM) : 0.0f);
            Mg_slope_.push_back(static_cast<float>(spec.Mg_slope_per_mV));
            // Each blocker's term (D / K_d(V))^n = A exp(-beta V), with K_d(V) = K_d(-70) e^{delta
            // (V+70)/V_T}: A = (D / K_d(-70))^n e^{-n delta 70 / V_T}, beta = n delta / V_T.
            std::vector<float> A, beta;
            for (std::size_t d = 0; nmda && d < spec.blockers.size(); ++d) {
                A.push_back(blocker_A(spec.blockers[d], spec.blocker_conc_uM[d]));
                beta.push_back(
                    float(spec.blockers[d].hill * spec.blockers[d].delta / spec.blockers[d].V_T_mV));
            }
            blocker_A_.push_back(A);
            blocker_beta_.push_back(beta);
        }
    }

    // Readout of NMDA receptor r over neurons [begin, end) at membrane potentials V (sums over neurons):
    // fraction of channels conducting (free of Mg2+ and drugs), fraction blocked by drugs, and the NMDA
    // current g B (V - E) in pA (outward positive).
    struct NmdaReadout {
        double conducting = 0, drug_blocked = 0, current_pA = 0;
    };
    NmdaReadout nmda_readout(std::size_t r, std::uint32_t begin, std::uint32_t end, const float* V) const {
        NmdaReadout out;
        if (!is_nmda(r)) return out;
        for (std::uint32_t i = begin; i < end; ++i) {
            const double mg = Mg_over_K0_[r] * std::exp(-double(Mg_slope_[r]) * V[i]);
            double drugs = 0;
            for (std::size_t d = 0; d < blocker_A_[r].size(); ++d)
                drugs += blocker_A_[r][d] * std::exp(-double(blocker_beta_[r][d]) * V[i]);
            const double conducting = 1.0 / (1.0 + mg + drugs);
            out.conducting += conducting;
            out.drug_blocked += drugs * conducting;
            out.current_pA += g_[r][i] * conducting * (V[i] - E_rev_mV_[r]);
        }
        return out;
    }
    const std::string& name(std::size_t r) const { return specs_[r].name; }

    // A drug's concentration changed (slow clock): recompute its term in every NMDA receptor.
    void set_blocker_concentration(std::size_t drug, double conc_uM) {
        for (std::size_t r = 0; r < specs_.size(); ++r)
            if (is_nmda(r) && drug < blocker_A_[r].size())
                blocker_A_[r][drug] = blocker_A(specs_[r].blockers[drug], conc_uM);
    }

    std::size_t count() const { return g_.size(); }
    float* g(std::size_t r) { return g_[r].data(); }
    const float* g(std::size_t r) const { return g_[r].data(); }
    float E_rev_mV(std::size_t r) const { return E_rev_mV_[r]; }
    bool is_nmda(std::size_t r) const { return specs_[r].shape == ReceptorShape::nmda; }

    // Sum of conductances and of conductance x reversal over [begin, end), written at out[0..); NMDA
    // conductances are weighted by their Mg2+ block at the membrane potential V (neurons [begin, end)).
    void sum_conductances(std::uint32_t begin, std::uint32_t end, const float* __restrict V,
                          float* __restrict g_sum, float* __restrict gE_sum) const {
        const std::uint32_t n = end - begin;
        for (std::uint32_t i = 0; i < n; ++i)
            g_sum[i] = gE_sum[i] = 0.0f;
        for (std::size_t r = 0; r < g_.size(); ++r) {
            const float* __restrict g = g_[r].data() + begin;
            const float E = E_rev_mV_[r];
            if (is_nmda(r)) {
                const float mg = Mg_over_K0_[r], minus_slope = -Mg_slope_[r];
                const std::vector<float>& A = blocker_A_[r];
                const std::vector<float>& beta = blocker_beta_[r];
                if (A.empty()) {
#pragma omp simd
                    for (std::uint32_t i = 0; i < n; ++i) {
                        const float gb = g[i] / (1.0f + mg * exp_approx(minus_slope * V[i]));
                        g_sum[i] += gb;
                        gE_sum[i] += gb * E;
                    }
                } else {
                    // Mg2+ and drugs compete for the pore (SCIENCE.md §3.3); denominators per neuron.
                    alignas(64) float denominator[kUpdateChunk];
#pragma omp simd
                    for (std::uint32_t i = 0; i < n; ++i)
                        denominator[i] = 1.0f + mg * exp_approx(minus_slope * V[i]);
                    for (std::size_t d = 0; d < A.size(); ++d) {
                        const float a = A[d], minus_b = -beta[d];
#pragma omp simd
                        for (std::uint32_t i = 0; i < n; ++i)
                            denominator[i] += a * exp_approx(minus_b * V[i]);
                    }
#pragma omp simd
                    for (std::uint32_t i = 0; i < n; ++i) {
                        const float gb = g[i] / denominator[i];
                        g_sum[i] += gb;
                        gE_sum[i] += gb * E;
                    }
                }
                continue;
            }
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                g_sum[i] += g[i];
                gE_sum[i] += g[i] * E;
            }
        }
    }

    // Decay over one step, then add this step's arriving input.
    void decay_and_add(std::uint32_t begin, std::uint32_t end, const float* const* input) {
        for (std::size_t r = 0; r < g_.size(); ++r) {
            float* __restrict g = g_[r].data();
            const float* __restrict in = input[r];
            const float d = decay_[r];
            if (is_nmda(r)) {
                // g = a - h: a = g + h decays with tau_decay, h with tau_rise; both jump by N w.
                float* __restrict h = rise_[r].data();
                const float dr = decay_rise_[r], N = norm_[r];
#pragma omp simd
                for (std::uint32_t i = begin; i < end; ++i) {
                    const float a = (g[i] + h[i]) * d + N * in[i];
                    h[i] = h[i] * dr + N * in[i];
                    g[i] = a - h[i];
                }
                continue;
            }
#pragma omp simd
            for (std::uint32_t i = begin; i < end; ++i)
                g[i] = g[i] * d + in[i];
        }
    }

    void append_state_names(std::vector<std::string>& names) const {
        for (const auto& spec : specs_)
            names.push_back(prefix_ + spec.name + "_" + unit_);
        for (const auto& spec : specs_)
            if (spec.shape == ReceptorShape::nmda) names.push_back("h_" + spec.name + "_" + unit_);
    }
    float* state(const std::string& name) {
        for (std::size_t r = 0; r < specs_.size(); ++r) {
            if (name == prefix_ + specs_[r].name + "_" + unit_) return g_[r].data();
            if (is_nmda(r) && name == "h_" + specs_[r].name + "_" + unit_) return rise_[r].data();
        }
        return nullptr;
    }

  private:
    static float blocker_A(const ChannelBlocker& b, double conc_uM) {
        if (conc_uM <= 0.0) return 0.0f;
        return float(std::pow(conc_uM / b.K_d_uM_at_minus70, b.hill) *
                     std::exp(-b.hill * b.delta * 70.0 / b.V_T_mV));
    }

    std::vector<ReceptorSpec> specs_;
    std::string prefix_, unit_;
    std::vector<AlignedArray<float>> g_;
    std::vector<float> decay_;
    std::vector<float> E_rev_mV_;
    // NMDA only (empty/zero for exponential receptors)
    std::vector<AlignedArray<float>> rise_;
    std::vector<float> decay_rise_, norm_, Mg_over_K0_, Mg_slope_;
    std::vector<std::vector<float>> blocker_A_, blocker_beta_;
};

} // namespace ketaplast
