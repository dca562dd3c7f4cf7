// A voltage-clamped cell (`voltage_clamp`): the membrane potential is held at V_hold and the model
// reports the synaptic current the clamp must supply, as in a slice or oocyte recording of receptor
// currents (e.g. the NMDA concentration-response of configs/block_slice.toml). Receptors and the drug
// block evolve exactly as in the other conductance models; the cell never spikes.
//
//   I_syn = sum_r g_r (V_hold - E_r)    (pA, outward positive; the clamp current is -I_syn)
#pragma once

#include "models/point_neuron.hpp"

namespace ketaplast {

class VoltageClamp final : public PointNeuron {
  public:
    static ParamSchema schema();
    explicit VoltageClamp(const GroupSetup& setup);

    void update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                const float* const* receptor_input, std::vector<std::uint32_t>& spikes) override;
};

} // namespace ketaplast
