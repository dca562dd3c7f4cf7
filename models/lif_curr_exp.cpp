#include "models/lif_curr_exp.hpp"

#include "core/simd.hpp"

#include <algorithm>
#include <cmath>

namespace ketaplast {

ParamSchema LifCurrExp::schema() {
    const double inf = std::numeric_limits<double>::infinity();
    return {
        {"C_pF", 250.0, 0.0, inf, false, true, "membrane capacitance (Potjans & Diesmann 2014, Table 5)"},
        {"tau_m_ms", 10.0, 0.0, inf, false, true, "membrane time constant"},
        {"E_leak_mV", -65.0, -200.0, 100.0, true, true, "resting potential"},
        {"V_th_mV", -50.0, -200.0, 100.0, true, true, "spike threshold"},
        {"V_reset_mV", -65.0, -200.0, 100.0, true, true, "reset potential"},
        {"t_ref_ms", 2.0, 0.0, 1000.0, true, true, "absolute refractory period"},
        {"I_e_pA", 0.0, -1e6, 1e6, true, true, "constant (DC) input current"},
    };
}

LifCurrExp::LifCurrExp(const GroupSetup& setup)
    : PointNeuron(setup, ReceptorKind::current, float(setup.params.get("E_leak_mV"))),
      E_leak_mV_(float(setup.params.get("E_leak_mV"))), V_th_mV_(float(setup.params.get("V_th_mV"))),
      V_reset_mV_(float(setup.params.get("V_reset_mV"))), I_e_pA_(float(setup.params.get("I_e_pA"))),
      refractory_steps_(std::int32_t(std::lround(setup.params.get("t_ref_ms") / setup.dt_ms))) {
    // Propagators in double precision, once (Rotter & Diesmann 1999).
    const double h = setup.dt_ms, C = setup.params.get("C_pF"), tau_m = setup.params.get("tau_m_ms");
    const double P22 = std::exp(-h / tau_m);
    P22_ = float(P22);
    P20_ = float(tau_m / C * (1.0 - P22));
    for (const auto& r : setup.receptors) {
        const double tau_s = r.tau_ms;
        // Near tau_s == tau_m the general formula cancels catastrophically; use the limit there.
        const double P21 = std::fabs(tau_m - tau_s) < 1e-6 * tau_m
                               ? h / C * P22
                               : tau_s * tau_m / (C * (tau_m - tau_s)) * (P22 - std::exp(-h / tau_s));
        P21_.push_back(float(P21));
    }
}

namespace {

struct CurrExpConstants {
    float E_L, V_th, V_reset, P22, P20, I_dc;
    std::int32_t ref_steps;
};

KETAPLAST_HOT_CLONES
void lif_curr_exp_kernel(const CurrExpConstants k, const float* P21, ExpReceptors& receptors,
                         const float* const* receptor_input, float* __restrict V_all,
                         std::int32_t* __restrict ref_all, std::uint32_t begin, std::uint32_t end,
                         std::vector<std::uint32_t>& spikes) {
    alignas(64) float drive[kUpdateChunk];
    alignas(64) std::int32_t fired[kUpdateChunk];
    for (std::uint32_t chunk = begin; chunk < end; chunk += kUpdateChunk) {
        const std::uint32_t n = std::min(kUpdateChunk, end - chunk);
        // sum_r P21_r I_r + P20 I_dc
#pragma omp simd
        for (std::uint32_t i = 0; i < n; ++i)
            drive[i] = k.P20 * k.I_dc;
        for (std::size_t r = 0; r < receptors.count(); ++r) {
            const float* __restrict I = receptors.g(r) + chunk;
            const float p = P21[r];
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i)
                drive[i] += p * I[i];
        }
        float* __restrict V = V_all + chunk;
        std::int32_t* __restrict ref = ref_all + chunk;
#pragma omp simd
        for (std::uint32_t i = 0; i < n; ++i) {
            const float V_free = k.E_L + k.P22 * (V[i] - k.E_L) + drive[i];
            fired[i] = threshold_and_reset(V_free, k.V_th, k.V_reset, k.ref_steps, V[i], ref[i]);
        }
        collect_spikes(fired, chunk, n, spikes);
    }
    receptors.decay_and_add(begin, end, receptor_input);
}

} // namespace

void LifCurrExp::update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                        const float* const* receptor_input, std::vector<std::uint32_t>& spikes) {
    const CurrExpConstants k{
        E_leak_mV_, V_th_mV_, V_reset_mV_, P22_, P20_, I_e_pA_ + float(ctx.current_pA), refractory_steps_};
    lif_curr_exp_kernel(k, P21_.data(), receptors_, receptor_input, V_m_mV_.data(), refractory_left_.data(),
                        begin, end, spikes);
    receptors_.advance_kinetic(begin, end, receptor_input, ctx.step);
}

} // namespace ketaplast
