// The interface between the engine and a model: one population's state (structure of arrays)
// and its update over a range of neurons. The engine calls `update` once per population per step
// per thread (a virtual call per population, never per neuron); the loop inside is flat and
// vectorised.
//
// Conventions (as in NEST): during step n the state is advanced from t = n dt to (n+1) dt with the
// synaptic conductances as they were at t; a neuron crossing threshold in step n spikes at
// (n+1) dt; then the input that arrived for step n (ring-buffer slot n) is added to the synaptic
// variables, so a spike emitted in step n with delay d steps acts from (n+1+d) dt on: exactly d dt
// after the spike.
#pragma once

#include "models/nmda_block.hpp"
#include "models/parameters.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ketaplast {

enum class ReceptorKind { conductance, current };

// A synaptic receptor channel of a population: an exponentially decaying conductance (nS) with a
// reversal potential, or an exponentially decaying current (pA).
enum class ReceptorShape {
    exponential, // g jumps by w, decays with tau_ms
    nmda,        // dual exponential (rise tau_rise_ms, decay tau_ms, peak w) times the Mg2+ block B(V)
    kinetic,     // Destexhe-Mainen-Sejnowski two-state binding, square transmitter pulse per release
                 // (models/kinetic_receptor.hpp); g = w r summed over synapses, times B(V) if Mg_block
};

struct ReceptorSpec {
    std::string name;    // e.g. "AMPA", "GABA_A", "NMDA"
    double tau_ms = 5.0; // decay time constant
    double E_rev_mV = 0; // reversal potential (conductance receptors only)
    ReceptorShape shape = ReceptorShape::exponential;
    // NMDA: rise time constant and the Woodhull/Jahr-Stevens block 1 / (1 + Mg / (K0 exp(slope V)))
    // (docs/science.md §2.1, §2.3: tau_rise 2 ms, decay 100 ms; K0 3.57 mM, slope 0.062 per mV).
    double tau_rise_ms = 2.0;
    double Mg_mM = 1.0;
    double K_Mg0_mM = 3.57;
    double Mg_slope_per_mV = 0.062;
    // > 0: Brunel-Wang saturating gating ("nmda_saturating", docs/science.md §2.1): each source's gating s
    // saturates with this alpha (per ms) and tau_rise_ms as the tau of its x; applied per source at spike
    // delivery (sim/network/presynaptic_state.hpp). 0: plain dual exponential.
    double saturation_alpha_per_ms = 0.0;
    bool subunit_2CD = false; // GluN2C/2D-like pool (drug affinities scaled by K_d_factor_2CD)
    // Open-channel blockers present (initial concentrations; the engine updates them on its slow clock).
    // kinetic (default): per neuron and pool, the fraction of channels each drug blocks follows the
    // trapping scheme of science.md §3.2 (models/exp_receptors.hpp); equilibrium: the conducting fraction
    // is 1 / (1 + Mg/K_Mg(V) + sum (D/K_d(V))^n) at every step (§3.3, quick scans).
    enum class Block { kinetic, equilibrium } block = Block::kinetic;
    std::vector<ChannelBlocker> blockers{};
    std::vector<double> blocker_conc_uM{};
    // Kinetic block: the agonist-bound fraction of a neuron's receptors is x = min(1, u / (1 + u) +
    // tonic_activation), u = g / g_max, with g_max the pool's summed synaptic weight: g_max_nS if set,
    // else the summed weight of the neuron's incoming synapses on this receptor (set by the network).
    // tonic_activation is a bath agonist (slice experiments). open_probability (Po of a bound, unblocked,
    // Mg-free channel) only scales the reported open fraction: the drug rates are macroscopic (per bound
    // receptor), as measured.
    double g_max_nS = 0.0;
    double tonic_activation = 0.0;
    double open_probability = 0.4; // docs/science.md §3.2 [M]
    // Extrasynaptic NMDA receptors: gated by the ambient glutamate G of a [[glutamate]] pool, bound fraction
    // G^n / (G^n + EC50^n) added as tonic activation (docs/science.md §5.3: EC50 ~1-3 uM [M]).
    std::string glutamate_pool{};
    std::size_t glutamate_pool_index = 0;
    double ambient_EC50_uM = 2.0;
    double ambient_hill = 1.0;
    // kinetic (science.md §2.2, Destexhe, Mainen & Sejnowski 1994): dr/dt = alpha T (1 - r) - beta r with
    // T = T_max_mM for C_dur_ms after each release (a whole number of steps). A synapse of weight w
    // (nS, its conductance with every receptor open) contributes w r. Mg_block: times B(V) as NMDA above.
    double alpha_per_mM_per_ms = 1.1;
    double beta_per_ms = 0.19;
    double T_max_mM = 1.0;
    double C_dur_ms = 1.0;
    bool Mg_block = false;
};

// What the engine knows at a step, for all neurons of the population.
struct StepContext {
    std::int64_t step = 0; // integer clock; t = step * dt_ms
    double dt_ms = 0.1;
    double current_pA = 0.0;      // injected step current this step (same for all neurons)
    std::uint64_t seed = 0;       // for stochastic models (counter-based streams)
    std::uint32_t population = 0; // population index, part of random stream keys
    std::uint32_t first_gid = 0;  // global id of the population's neuron 0
};

// Everything a model needs to build its state.
struct GroupSetup {
    std::uint32_t size = 0;
    double dt_ms = 0.1;
    ParamValues params;
    std::vector<ReceptorSpec> receptors;
    // Spike sources: explicit spike steps per neuron (sorted) and a piecewise-constant rate.
    std::vector<std::vector<std::int64_t>> spike_steps;
    std::vector<std::pair<std::int64_t, double>> rate_schedule_Hz; // (first step, rate)
};

class NeuronGroup {
  public:
    virtual ~NeuronGroup() = default;

    virtual std::uint32_t size() const = 0;

    // Advance neurons [begin, end) one step. receptor_input[r][i] is the summed weight arriving at
    // neuron i (population-local index) on receptor r for this step. Population-local indices of
    // neurons that spiked are appended to `spikes`, in increasing order.
    virtual void update(const StepContext& ctx, std::uint32_t begin, std::uint32_t end,
                        const float* const* receptor_input, std::vector<std::uint32_t>& spikes) = 0;

    // Named state arrays (units in the name: V_m_mV, g_AMPA_nS, w_pA), for initial values and
    // state reports. `state` returns nullptr for an unknown name.
    virtual std::vector<std::string> state_names() const = 0;
    virtual float* state(const std::string& name) = 0;
    // State kept in double precision (the kinetic NMDA drug-block fractions), same conventions.
    virtual std::vector<std::string> state_names_f64() const { return {}; }
    virtual double* state_f64(const std::string& name) {
        (void)name;
        return nullptr;
    }

    // Integer state that is not a float variable (refractory countdowns), named like state arrays and
    // `size()` long. Checkpoints save every state_names() and counter_names() array, so a model whose
    // dynamics depend on anything else must expose it here or in state_names().
    virtual std::vector<std::string> counter_names() const { return {}; }
    virtual std::int32_t* counter(const std::string& name) {
        (void)name;
        return nullptr;
    }

    // The concentration of drug `drug` (index into the experiment's drugs) at the receptors changed.
    virtual void set_blocker_concentration(std::size_t drug, double conc_uM) {
        (void)drug;
        (void)conc_uM;
    }

    // Protocol gaps (ExpReceptors::bridge_block): sum the kinetic block's rates per neuron while on; carry
    // the block across a gap of gap_steps steps at the drugs' concentrations conc_uM (indexed like
    // set_blocker_concentration), under the rates averaged over the last summed_steps steps, for neurons
    // [begin, end) (each neuron on its own: any split gives the same result, so callers may run ranges in
    // parallel; an empty range only checks the pools' limits and may throw).
    virtual void set_block_rate_averaging(bool on) { (void)on; }
    virtual void reset_block_rate_sums() {}
    virtual void bridge_drug_block(std::uint32_t begin, std::uint32_t end, const std::vector<double>& conc_uM,
                                   double summed_steps, double gap_steps) {
        (void)begin, (void)end, (void)conc_uM, (void)summed_steps, (void)gap_steps;
    }
    // The same over every neuron.
    void bridge_drug_block(const std::vector<double>& conc_uM, double summed_steps, double gap_steps) {
        bridge_drug_block(0, std::uint32_t(size()), conc_uM, summed_steps, gap_steps);
    }

    // Population means of each NMDA receptor: name, fraction conducting, fraction blocked by drugs, and the
    // mean NMDA current (pA), at the neurons' present membrane potentials. Empty without NMDA receptors.
    // Kinetic block: drug_blocked is the fraction of channels holding a drug, trapped the part of it in
    // closed (agonist-free) channels, open the fraction open and conducting (Po x bound x unblocked x
    // Mg-free).
    struct NmdaPoolReadout {
        std::string receptor;
        double conducting = 0, drug_blocked = 0, trapped = 0, open = 0, current_pA = 0;
    };
    virtual std::vector<NmdaPoolReadout> nmda_readout() const { return {}; }
    // The same per neuron, for neurons [begin, end) (one MPI rank's): `receptors` gets the pools' names in
    // nmda_readout()'s order, `terms` per pool and neuron the kNmdaReadoutFields summands (conducting,
    // drug_blocked, trapped, open, current_pA) whose sums in neuron order, divided by the population size,
    // are nmda_readout()'s means to the bit.
    static constexpr std::size_t kNmdaReadoutFields = 5;
    virtual void nmda_readout_terms(std::uint32_t begin, std::uint32_t end,
                                    std::vector<std::string>& receptors, std::vector<double>& terms) const {
        (void)begin, (void)end, (void)receptors, (void)terms;
    }

    // Population means of every receptor: its state variable (g in nS, or the current variable of
    // current-based receptors) and the current it passes at the present membrane potentials (pA, outward
    // positive; NMDA with its Mg2+ and drug block). AMPA activation and AMPA/NMDA charge come from these.
    // open_fraction: kinetic receptors' mean open fraction r (the conductance over the neuron's summed
    // synaptic weight on the receptor); NaN for other shapes.
    struct ReceptorReadout {
        std::string receptor;
        double g_mean_nS = 0, current_mean_pA = 0, open_fraction = 0;
    };
    virtual std::vector<ReceptorReadout> receptor_readout() const { return {}; }
    // The per-neuron terms of receptor_readout for neurons [begin, end): receptor-major, 3 per neuron (g,
    // current, open fraction), so that ranks' terms summed in neuron order give the one-process means to the
    // bit.
    static constexpr std::size_t kReceptorReadoutFields = 3;
    virtual void receptor_readout_terms(std::uint32_t begin, std::uint32_t end,
                                        std::vector<std::string>& receptors,
                                        std::vector<double>& terms) const {
        (void)begin, (void)end;
        receptors.clear();
        terms.clear();
    }

    // The conductance of NMDA receptor `receptor` when all its channels are agonist-bound (nS per neuron):
    // the summed weight of each neuron's incoming synapses (and drive) on it, set once by the network.
    // The agonist-bound fraction added to NMDA receptor `receptor` of neurons [begin, end) by ambient
    // glutamate (extrasynaptic receptors; sim/engine/engine.cpp sets it each exchange interval, per worker).
    virtual void set_tonic_activation(std::size_t receptor, std::uint32_t begin, std::uint32_t end,
                                      double fraction) {
        (void)receptor, (void)begin, (void)end, (void)fraction;
    }
    virtual void set_nmda_capacity(std::size_t receptor, const std::vector<float>& g_max_nS) {
        (void)receptor;
        (void)g_max_nS;
    }

    // First neuron in [begin, end) whose state is not finite or has run away, or -1.
    virtual std::int64_t find_invalid(std::uint32_t begin, std::uint32_t end) const {
        (void)begin;
        (void)end;
        return -1;
    }
};

} // namespace ketaplast
