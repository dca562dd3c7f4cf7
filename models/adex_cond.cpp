#include "models/adex_cond.hpp"

#include "core/fastmath.hpp"
#include "core/simd.hpp"

#include <algorithm>

#include <cmath>

namespace ketaplast {

ParamSchema AdexCond::schema() {
    const double inf = std::numeric_limits<double>::infinity();
    return {
        {"C_pF", 281.0, 0.0, inf, false, true, "membrane capacitance (Brette & Gerstner 2005, RS)"},
        {"g_leak_nS", 30.0, 0.0, inf, false, true, "leak conductance"},
        {"E_leak_mV", -70.6, -200.0, 100.0, true, true, "leak reversal potential"},
        {"V_T_mV", -50.4, -200.0, 100.0, true, true, "exponential threshold"},
        {"Delta_T_mV", 2.0, 0.0, 50.0, false, true, "slope factor"},
        {"a_nS", 4.0, -1e3, 1e3, true, true, "subthreshold adaptation"},
        {"b_pA", 80.5, 0.0, 1e5, true, true, "spike-triggered adaptation increment"},
        {"tau_w_ms", 144.0, 0.0, inf, false, true, "adaptation time constant"},
        {"V_reset_mV", -70.6, -200.0, 100.0, true, true, "reset potential"},
        {"V_peak_mV", -40.4, -200.0, 100.0, true, true, "spike detection (cut) potential, V_T + 5 Delta_T"},
        {"t_ref_ms", 0.0, 0.0, 1000.0, true, true, "refractory period (B&G 2005: none)"},
        {"substeps", 4.0, 1.0, 1000.0, true, true, "integration substeps per dt (Heun), integer"},
    };
}

AdexCond::AdexCond(const GroupSetup& setup)
    : PointNeuron(setup, ReceptorKind::conductance, float(setup.params.get("E_leak_mV")), {"w_pA"}),
      C_pF_(float(setup.params.get("C_pF"))), g_leak_nS_(float(setup.params.get("g_leak_nS"))),
      E_leak_mV_(float(setup.params.get("E_leak_mV"))), V_T_mV_(float(setup.params.get("V_T_mV"))),
      Delta_T_mV_(float(setup.params.get("Delta_T_mV"))), a_nS_(float(setup.params.get("a_nS"))),
      b_pA_(float(setup.params.get("b_pA"))), tau_w_ms_(float(setup.params.get("tau_w_ms"))),
      V_reset_mV_(float(setup.params.get("V_reset_mV"))), V_peak_mV_(float(setup.params.get("V_peak_mV"))),
      dt_ms_(float(setup.dt_ms)),
      refractory_steps_(std::int32_t(std::lround(setup.params.get("t_ref_ms") / setup.dt_ms))),
      substeps_(std::int32_t(std::lround(setup.params.get("substeps")))) {}

namespace {

struct AdexConstants {
    float h, inv_C, inv_tau_w, g_L, E_L, V_T, D_T, inv_D_T, a, b, V_reset, V_peak, I_ext;
    std::int32_t ref_steps, substeps;
};

// The per-step loop, compiled once per SIMD level (core/simd.hpp).
KETAPLAST_HOT_CLONES
void adex_cond_kernel(const AdexConstants k, ExpReceptors& receptors, const float* const* receptor_input,
                      float* __restrict V_all, float* __restrict w_all, std::int32_t* __restrict ref_all,
                      std::uint32_t begin, std::uint32_t end, std::vector<std::uint32_t>& spikes) {
    alignas(64) float g_sum[kUpdateChunk];
    alignas(64) float gE_sum[kUpdateChunk];
    alignas(64) std::int32_t fired[kUpdateChunk];
    const float h = k.h, inv_C = k.inv_C, inv_tau_w = k.inv_tau_w, g_L = k.g_L, E_L = k.E_L, V_T = k.V_T;
    const float D_T = k.D_T, inv_D_T = k.inv_D_T, a = k.a, b = k.b, V_reset = k.V_reset, V_peak = k.V_peak;
    const float I_ext = k.I_ext;
    const std::int32_t ref_steps = k.ref_steps, substeps = k.substeps;

    for (std::uint32_t chunk = begin; chunk < end; chunk += kUpdateChunk) {
        const std::uint32_t n = std::min(kUpdateChunk, end - chunk);
        receptors.advance_block(chunk, chunk + n, V_all + chunk);
        receptors.sum_conductances(chunk, chunk + n, V_all + chunk, g_sum, gE_sum);
        float* __restrict V = V_all + chunk;
        float* __restrict w = w_all + chunk;
        std::int32_t* __restrict ref = ref_all + chunk;
        alignas(64) std::int32_t held[kUpdateChunk];

#pragma omp simd
        for (std::uint32_t i = 0; i < n; ++i) {
            held[i] = ref[i] > 0 ? 1 : 0;
            fired[i] = 0;
        }
        // Substeps outside, neurons inside: each inner loop is flat and vectorises.
        for (std::int32_t s = 0; s < substeps; ++s) {
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                const float gs = g_sum[i], gEs = gE_sum[i], wi = w[i];
                // Exponent capped at V_peak so a diverging upswing cannot overflow before detection.
                const float v1 = V[i] < V_peak ? V[i] : V_peak;
                const float dv1 = (-g_L * (v1 - E_L) + g_L * D_T * exp_approx((v1 - V_T) * inv_D_T) - wi +
                                   gEs - gs * v1 + I_ext) *
                                  inv_C;
                const float dw1 = (a * (v1 - E_L) - wi) * inv_tau_w;
                float v2 = v1 + h * dv1;
                v2 = v2 < V_peak ? v2 : V_peak;
                const float w2 = wi + h * dw1;
                const float dv2 = (-g_L * (v2 - E_L) + g_L * D_T * exp_approx((v2 - V_T) * inv_D_T) - w2 +
                                   gEs - gs * v2 + I_ext) *
                                  inv_C;
                const float dw2 = (a * (v2 - E_L) - w2) * inv_tau_w;
                const float v_next = v1 + 0.5f * h * (dv1 + dv2);
                const float w_next = wi + 0.5f * h * (dw1 + dw2);
                // A crossing resets V and increments w at once, and integration goes on from the reset
                // in the remaining substeps (sub-step accuracy); with t_ref > 0, V is held instead. A
                // neuron spikes at most once per step: a second crossing in the same step (only with
                // drive far beyond 1/dt firing) holds V at reset for the rest of the step without a
                // second increment of w, so every increment belongs to a recorded spike.
                const bool crossing = !held[i] && v_next >= V_peak;
                const bool counted = crossing && !fired[i];
                fired[i] = (fired[i] || counted) ? 1 : 0;
                w[i] = counted ? w_next + b : w_next;
                V[i] = (held[i] || crossing) ? V_reset : v_next;
                held[i] = (held[i] || (counted && ref_steps > 0) || (crossing && !counted)) ? 1 : 0;
            }
        }
#pragma omp simd
        for (std::uint32_t i = 0; i < n; ++i)
            ref[i] = fired[i] ? ref_steps : (ref[i] > 0 ? ref[i] - 1 : 0);
        collect_spikes(fired, chunk, n, spikes);
    }
    receptors.decay_and_add(begin, end, receptor_input);
}

} // namespace

void AdexCond::update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                      const float* const* receptor_input, std::vector<std::uint32_t>& spikes) {
    const AdexConstants k{dt_ms_ / float(substeps_),
                          1.0f / C_pF_,
                          1.0f / tau_w_ms_,
                          g_leak_nS_,
                          E_leak_mV_,
                          V_T_mV_,
                          Delta_T_mV_,
                          1.0f / Delta_T_mV_,
                          a_nS_,
                          b_pA_,
                          V_reset_mV_,
                          V_peak_mV_,
                          float(ctx.current_pA),
                          refractory_steps_,
                          substeps_};
    adex_cond_kernel(k, receptors_, receptor_input, V_m_mV_.data(), extra_[0].data(), refractory_left_.data(),
                     begin, end, spikes);
    receptors_.advance_kinetic(begin, end, receptor_input, ctx.step);
}

} // namespace ketaplast
