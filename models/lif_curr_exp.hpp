// Current-based leaky integrate-and-fire neuron with exponential postsynaptic currents
// (`lif_curr_exp`), the neuron of the Potjans & Diesmann (2014) cortical microcircuit (NEST's
// iaf_psc_exp).
//
//   C dV/dt = -(C / tau_m) (V - E_L) + sum_r I_r + I_e + I_ext,   tau_r dI_r/dt = -I_r, I_r += w at arrival
//   V >= V_th -> spike, V := V_reset, held for t_ref
//
// Exact integration (Rotter & Diesmann 1999, Biol Cybern 81:381): the linear system is propagated over
// a step with precomputed coefficients,
//   V(t+h) - E_L = P22 (V - E_L) + sum_r P21_r I_r + P20 (I_e + I_ext),
//   P22 = exp(-h/tau_m), P20 = tau_m/C (1 - P22),
//   P21_r = tau_r tau_m / (C (tau_m - tau_r)) (exp(-h/tau_m) - exp(-h/tau_r))   (tau_r != tau_m)
//         = h/C exp(-h/tau_m)                                                   (tau_r == tau_m)
// then I_r decays exactly and this step's input is added (NEST's order).
// Defaults: Potjans & Diesmann 2014, Table 5: C 250 pF, tau_m 10 ms, E_L = V_reset = -65 mV,
// V_th -50 mV, t_ref 2 ms.
#pragma once

#include "models/point_neuron.hpp"

namespace ketaplast {

class LifCurrExp final : public PointNeuron {
  public:
    static ParamSchema schema();
    explicit LifCurrExp(const GroupSetup& setup);

    void update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                const float* const* receptor_input, std::vector<std::uint32_t>& spikes) override;

  private:
    float E_leak_mV_, V_th_mV_, V_reset_mV_, I_e_pA_;
    float P22_, P20_;
    std::vector<float> P21_; // per receptor
    std::int32_t refractory_steps_;
};

} // namespace ketaplast
