#include "models/voltage_clamp.hpp"

#include <algorithm>
#include <limits>

namespace ketaplast {

ParamSchema VoltageClamp::schema() {
    return {
        {"V_hold_mV", -70.0, -200.0, 100.0, true, true, "holding potential (Gilling et al. 2009: -70 mV)"},
    };
}

VoltageClamp::VoltageClamp(const GroupSetup& setup)
    : PointNeuron(setup, ReceptorKind::conductance, float(setup.params.get("V_hold_mV")), {"I_syn_pA"}) {}

void VoltageClamp::update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                          const float* const* receptor_input, std::vector<std::uint32_t>& spikes) {
    (void)spikes;
    alignas(64) float g_sum[kUpdateChunk];
    alignas(64) float gE_sum[kUpdateChunk];
    float* I_syn = extra_[0].data();
    for (std::uint32_t chunk = begin; chunk < end; chunk += kUpdateChunk) {
        const std::uint32_t n = std::min(kUpdateChunk, end - chunk);
        receptors_.advance_block(chunk, chunk + n, V_m_mV_.data() + chunk);
        receptors_.sum_conductances(chunk, chunk + n, V_m_mV_.data() + chunk, g_sum, gE_sum);
        for (std::uint32_t i = 0; i < n; ++i)
            I_syn[chunk + i] = g_sum[i] * V_m_mV_[chunk + i] - gE_sum[i];
    }
    receptors_.decay_and_add(begin, end, receptor_input);
    receptors_.advance_kinetic(begin, end, receptor_input, ctx.step);
}

} // namespace ketaplast
