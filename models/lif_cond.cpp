#include "models/lif_cond.hpp"

#include "core/fastmath.hpp"
#include "core/simd.hpp"

#include <algorithm>

#include <cmath>

namespace ketaplast {

ParamSchema LifCond::schema() {
    const double inf = std::numeric_limits<double>::infinity();
    return {
        {"C_pF", 500.0, 0.0, inf, false, true, "membrane capacitance (Brunel & Wang 2001, pyramidal)"},
        {"g_leak_nS", 25.0, 0.0, inf, false, true, "leak conductance (Brunel & Wang 2001: tau_m 20 ms)"},
        {"E_leak_mV", -70.0, -200.0, 100.0, true, true, "leak reversal potential"},
        {"V_th_mV", -50.0, -200.0, 100.0, true, true, "spike threshold"},
        {"V_reset_mV", -55.0, -200.0, 100.0, true, true, "reset potential after a spike"},
        {"t_ref_ms", 2.0, 0.0, 1000.0, true, true, "absolute refractory period (V held at V_reset)"},
    };
}

LifCond::LifCond(const GroupSetup& setup)
    : PointNeuron(setup, ReceptorKind::conductance, float(setup.params.get("E_leak_mV"))),
      C_pF_(float(setup.params.get("C_pF"))), g_leak_nS_(float(setup.params.get("g_leak_nS"))),
      E_leak_mV_(float(setup.params.get("E_leak_mV"))), V_th_mV_(float(setup.params.get("V_th_mV"))),
      V_reset_mV_(float(setup.params.get("V_reset_mV"))), dt_ms_(float(setup.dt_ms)),
      refractory_steps_(std::int32_t(std::lround(setup.params.get("t_ref_ms") / setup.dt_ms))) {}

namespace {

struct LifCondConstants {
    float g_L, gE_L, I_ext, minus_dt_over_C, V_th, V_reset;
    std::int32_t ref_steps;
};

// The per-step loop, compiled once per SIMD level (core/simd.hpp).
KETAPLAST_HOT_CLONES
void lif_cond_kernel(const LifCondConstants k, ExpReceptors& receptors, const float* const* receptor_input,
                     float* __restrict V_all, std::int32_t* __restrict ref_all, std::uint32_t begin,
                     std::uint32_t end, std::vector<std::uint32_t>& spikes) {
    alignas(64) float g_sum[kUpdateChunk];
    alignas(64) float gE_sum[kUpdateChunk];
    alignas(64) std::int32_t fired[kUpdateChunk];
    for (std::uint32_t chunk = begin; chunk < end; chunk += kUpdateChunk) {
        const std::uint32_t n = std::min(kUpdateChunk, end - chunk);
        receptors.advance_block(chunk, chunk + n, V_all + chunk);
        receptors.sum_conductances(chunk, chunk + n, V_all + chunk, g_sum, gE_sum);
        float* __restrict V = V_all + chunk;
        std::int32_t* __restrict ref = ref_all + chunk;

        // Branch-free: refractory and spiking are masks, so the loop vectorises.
#pragma omp simd
        for (std::uint32_t i = 0; i < n; ++i) {
            const float g_tot = k.g_L + g_sum[i];
            const float V_inf = (k.gE_L + gE_sum[i] + k.I_ext) / g_tot;
            const float V_free = V_inf + (V[i] - V_inf) * exp_approx(k.minus_dt_over_C * g_tot);
            fired[i] = threshold_and_reset(V_free, k.V_th, k.V_reset, k.ref_steps, V[i], ref[i]);
        }
        collect_spikes(fired, chunk, n, spikes);
    }
    receptors.decay_and_add(begin, end, receptor_input);
}

} // namespace

void LifCond::update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                     const float* const* receptor_input, std::vector<std::uint32_t>& spikes) {
    const LifCondConstants k{
        g_leak_nS_,  g_leak_nS_ * E_leak_mV_, float(ctx.current_pA), -dt_ms_ / C_pF_, V_th_mV_,
        V_reset_mV_, refractory_steps_};
    lif_cond_kernel(k, receptors_, receptor_input, V_m_mV_.data(), refractory_left_.data(), begin, end,
                    spikes);
    receptors_.advance_kinetic(begin, end, receptor_input, ctx.step);
}

} // namespace ketaplast
