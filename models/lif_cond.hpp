// Conductance-based leaky integrate-and-fire neuron (`lif_cond`).
//
//   C dV/dt = -g_L (V - E_L) - sum_r g_r (V - E_r) + I_ext
//   V >= V_th -> spike, V := V_reset, held for t_ref
//
// Parameter defaults: Brunel & Wang (2001) pyramidal cell as in docs/science.md §1.1 (Brian2
// examples/frompapers/Brunel_Wang_2001.py): C 0.5 nF, g_L 25 nS, E_L -70, V_th -50, V_reset -55 mV,
// t_ref 2 ms.
//
// Integration (docs/science.md §1.3): exponential Euler with the conductances frozen over the step,
//   g_tot = g_L + sum g_r,  V_inf = (g_L E_L + sum g_r E_r + I_ext) / g_tot,
//   V(t+dt) = V_inf + (V(t) - V_inf) exp(-dt g_tot / C),
// exact for constant conductances (so membrane relaxation and the f-I curve are exact, T28).
#pragma once

#include "models/point_neuron.hpp"

namespace ketaplast {

class LifCond final : public PointNeuron {
  public:
    static ParamSchema schema();
    explicit LifCond(const GroupSetup& setup);

    void update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                const float* const* receptor_input, std::vector<std::uint32_t>& spikes) override;

  private:
    float C_pF_, g_leak_nS_, E_leak_mV_, V_th_mV_, V_reset_mV_, dt_ms_;
    std::int32_t refractory_steps_;
};

} // namespace ketaplast
