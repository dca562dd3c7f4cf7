// Adaptive exponential integrate-and-fire neuron with conductance synapses (`adex_cond`),
// Brette & Gerstner (2005), J Neurophysiol 94:3637.
//
//   C dV/dt = -g_L (V - E_L) + g_L Delta_T exp((V - V_T)/Delta_T) - w - sum_r g_r (V - E_r) + I_ext
//   tau_w dw/dt = a (V - E_L) - w
//   V >= V_peak -> spike, V := V_reset, w := w + b, V held for t_ref
//
// Defaults: B&G 2005 "regular spiking" set (docs/science.md §1.2, Brian2 Brette_Gerstner_2005.py):
// C 281 pF, g_L 30 nS, E_L -70.6, V_T -50.4, Delta_T 2 mV, a 4 nS, b 80.5 pA, tau_w 144 ms,
// V_reset -70.6 mV, V_peak = V_T + 5 Delta_T = -40.4 mV.
//
// Integration: the exponential term is stiff near threshold (docs/science.md §1.3), so each step is split
// into `substeps` Heun (RK2) substeps with the synaptic conductances frozen over the step; the default
// of 4 substeps gives h = 0.025 ms at dt = 0.1 ms (docs/science.md recommends h <= 0.05 ms).
#pragma once

#include "models/point_neuron.hpp"

namespace ketaplast {

class AdexCond final : public PointNeuron {
  public:
    static ParamSchema schema();
    explicit AdexCond(const GroupSetup& setup);

    void update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                const float* const* receptor_input, std::vector<std::uint32_t>& spikes) override;

  private:
    float C_pF_, g_leak_nS_, E_leak_mV_, V_T_mV_, Delta_T_mV_, a_nS_, b_pA_, tau_w_ms_, V_reset_mV_,
        V_peak_mV_;
    float dt_ms_;
    std::int32_t refractory_steps_, substeps_;
};

} // namespace ketaplast
