// Extracellular (ambient) glutamate of a region, fed by the glutamate that escapes the cleft at each release
// and cleared by transporters toward a basal level (docs/science.md §5.3):
//
//   dG/dt = e · J(t) − clearance(G − G0)
//   J(t): vesicles released per ms per neuron of the region (source spikes x vesicles per spike / neurons)
//   linear clearance:    (G − G0) / tau_clear
//   saturable clearance: V_max (G − G0) / (K_m + G − G0)          (Michaelis–Menten transport)
//   dialysate:           dD/dt = (J − D) / tau_dialysate           (slow proxy of microdialysis, §5.3: 2 min)
//   extrasynaptic NMDA receptors see the bound fraction  G^n / (G^n + EC50^n)
//
// G in uM, time in ms. Defaults are docs/science.md §5.3 suggestions [A] with anchors: basal 50 nM (resting
// extracellular glutamate 25 nM at 32 °C, Herman & Jahr 2007 [V]; 27-89 nM, Cavelier & Attwell 2005 [V2]),
// tau_clear 10 ms for a per-neuron neighbourhood, dialysate tau 2 min. e (uM per vesicle per neuron): ~300
// escaping molecules into a neuron's ~2 pL of extracellular space [A]; with 10-ms clearance the activity-
// driven rise is then below 1 nM at cortical rates -- bulk glutamate stays at nM levels
// (docs/experiments.md).
#pragma once

#include <string>
#include <vector>

namespace ketaplast {

struct GlutamatePoolSpec {
    std::string name;
    std::vector<std::string> sources; // presynaptic (glutamatergic) populations releasing into the pool
    std::vector<std::size_t> source_indices;
    std::vector<std::string> region; // populations whose neurons share the pool (its volume)
    std::vector<std::size_t> region_indices;
    double vesicles_per_spike = 0;    // 0: (glutamatergic synapses per source neuron) x release_probability
    double release_probability = 0.3; // per synapse and spike, without STP [M]
    double uM_per_vesicle =
        2.5e-4; // ~300 escaping molecules into a neuron's ~2 pL of extracellular space [A]
    double basal_uM = 0.05;
    enum class Clearance { linear, saturable } clearance = Clearance::linear;
    double tau_clear_ms = 10.0;
    double V_max_uM_per_ms = 0.0; // saturable
    double K_m_uM = 0.0;          // saturable
    double tau_dialysate_ms = 120000.0;
};

class GlutamatePool {
  public:
    explicit GlutamatePool(const GlutamatePoolSpec& spec) : spec_(spec) { level_uM_ = spec.basal_uM; }
    GlutamatePool(const GlutamatePool& other) : spec_(other.spec_) { copy_state(other); }
    GlutamatePool& operator=(const GlutamatePool& other) {
        spec_ = other.spec_;
        copy_state(other);
        return *this;
    }

    // Advance by interval_ms with a constant release rate (vesicles per ms per neuron of the region).
    void advance(double interval_ms, double release_per_ms_per_neuron);

    double level_uM() const { return level_uM_; }
    double dialysate_release() const { return dialysate_; } // low-passed J, vesicles per ms per neuron
    double release_rate() const { return last_release_; }   // over the last interval
    // Mean release since the last call (vesicles per ms per neuron), for the slow-clock readout.
    double take_mean_release() {
        const double mean = release_time_ms_ > 0 ? release_sum_ / release_time_ms_ : last_release_;
        release_sum_ = release_time_ms_ = 0;
        return mean;
    }
    const GlutamatePoolSpec& spec() const { return spec_; }

    // The fraction of receptors bound at level G (equilibrium binding; Hill coefficient n).
    static double bound_fraction(double level_uM, double EC50_uM, double hill);

    // The dynamic state for checkpoints: level (uM), dialysate, last release, readout sums, started.
    static constexpr std::size_t kStateSize = 6;
    double* state() { return state_; }

  private:
    void copy_state(const GlutamatePool& other) {
        for (std::size_t k = 0; k < kStateSize; ++k)
            state_[k] = other.state_[k];
    }
    GlutamatePoolSpec spec_;
    double state_[kStateSize] = {0, 0, 0, 0, 0, 0};
    double& level_uM_ = state_[0];
    double& dialysate_ = state_[1];
    double& last_release_ = state_[2];
    double& release_sum_ = state_[3]; // vesicles per neuron since the last readout
    double& release_time_ms_ = state_[4];
    double& started_ = state_[5]; // 1 after the first interval (the dialysate starts there)
};

} // namespace ketaplast
