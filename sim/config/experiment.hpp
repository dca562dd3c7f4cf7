// The validated description of one run, lowered from the TOML config (sim/config/config_loader.cpp).
// Plain numbers with units in the names; every field has been range-checked.
#pragma once

#include "core/distribution.hpp"
#include "models/glutamate.hpp"
#include "models/neuron_group.hpp"
#include "models/parameters.hpp"
#include "models/pharmacokinetics.hpp"
#include "models/short_term_plasticity.hpp"
#include "models/slow_layer.hpp"
#include "models/stdp.hpp"
#include "models/synaptic_elements.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ketaplast {

struct SimulationSpec {
    double dt_ms = 0.1;
    double duration_ms = 1000.0;
    std::uint64_t seed = 1;
    int threads = 0; // 0: OpenMP default (OMP_NUM_THREADS or all cores)
    // Drug (PK) time runs this many times faster than network time: an 80-min infusion protocol in 4 min of
    // network time at 20. Valid while the PK curve changes slowly against block equilibration (docs).
    double drug_time_scale = 1.0;
    // What the experiment is about, in a sentence or a paragraph: the report's opening (docs/viz.md).
    std::string description;
};

struct PositionSpec {
    enum class Layout { grid, random_box, column } layout = Layout::random_box;
    double origin_um[3] = {0, 0, 0};
    double extent_um[3] = {100, 100, 100}; // grid / random_box: box size
    double radius_um = 100;                // column: cylinder radius around origin (x, y)
    double depth_um[2] = {0, 100};         // column: z range below origin (cortical depth)
};

struct PoissonDriveSpec {
    std::string receptor;
    std::size_t receptor_index = 0;
    double rate_Hz = 0; // rate of each input
    double inputs = 1;  // number of independent inputs (summed: one Poisson draw per step)
    double weight = 0;  // nS or pA per input spike
    // "mean": instead of Poisson counts, the expected input (inputs x rate x dt x weight) every step,
    // the DC equivalent of the drive (Potjans & Diesmann 2014's DC option).
    bool mean_only = false;
};

// Whole-network settings.
struct NetworkSpec {
    // Scale neuron numbers and in-degrees by `scale` (0, 1], keeping mean inputs: weights / sqrt(scale)
    // and a DC current for the lost mean input (van Albada, Helias & Diesmann 2015; Potjans &
    // Diesmann 2014 NEST example). See sim/config/network_scaling.cpp.
    double scale = 1.0;
    // In-degrees are multiplied by this (default: `scale`); 1 keeps full in-degrees in a smaller
    // network, which needs no compensation.
    double indegree_scale = 1.0;
    // Static weights as floats (exact) or as 16-bit codes on each projection's range (4 instead of
    // 6 bytes per synapse; rounding error <= half a step, checked at load).
    bool weights_uint16 = false;
};

struct CurrentStepSpec {
    double start_ms = 0, stop_ms = 0, amplitude_pA = 0;
};

struct PopulationSpec {
    std::string name;
    std::uint32_t size = 0;                  // after scaling
    std::uint32_t full_size = 0;             // as written in the config
    double dc_pA = 0.0;                      // constant current into every neuron (plus scaling compensation)
    std::optional<double> reference_rate_Hz; // full-scale mean rate, for the scaling compensation
    std::string model;
    ParamValues params;
    std::vector<ReceptorSpec> receptors;
    std::map<std::string, Distribution> initial; // state name -> initial value
    PositionSpec positions;
    std::optional<PoissonDriveSpec> poisson_drive;
    std::vector<CurrentStepSpec> current_steps;
    std::vector<std::pair<double, double>> rate_schedule; // (from ms, rate Hz), poisson_source
    std::vector<std::vector<double>> spike_times_ms;      // spike_times source, per neuron
};

enum class ConnectionRule {
    one_to_one,
    all_to_all,
    fixed_probability,
    fixed_indegree,
    fixed_outdegree,
    fixed_total_number
};

struct ProjectionSpec {
    std::string name;
    std::string source, target;
    std::size_t source_index = 0, target_index = 0;
    std::string receptor;
    std::size_t receptor_index = 0;
    ConnectionRule rule = ConnectionRule::fixed_probability;
    double probability = 0.0;
    std::uint32_t degree = 0; // in- or out-degree
    std::uint64_t total = 0;  // fixed_total_number: synapses of the whole projection (after scaling)
    double full_total = 0;    // fixed_total_number at full scale (before rounding)
    double full_indegree = 0; // expected in-degree at full scale (for the scaling compensation)
    bool autapses = false;
    bool multapses = false;
    Distribution weight; // nS (conductance receptors) or pA (current receptors)
    Distribution delay_ms;
    // Tsodyks-Markram short-term plasticity of the projection (docs/science.md §5.1): each spike's weight is
    // scaled by the released fraction u x of its source (sim/network/presynaptic_state.hpp).
    std::optional<TsodyksMarkramParams> stp;
    // Long-term plasticity of the projection's weights (pair or triplet STDP, models/stdp.hpp; engine side
    // in sim/network/plasticity.hpp). Weights are then floats in [w_min, w_max].
    std::optional<StdpRule> plasticity;
};

struct StateReportSpec {
    std::string population;
    std::size_t population_index = 0;
    std::vector<std::string> variables;
    std::vector<std::uint32_t> neurons; // population-local ids, sorted
    double interval_ms = 1.0;
};

struct RecordingSpec {
    bool spikes = true;
    bool edges = false; // edges.h5 (SONATA edges of every projection) at the end of the run
    double rate_bin_ms = 1.0;
    // The slow readout clock without drugs (receptor means, glutamate): 0 = only when glutamate pools
    // exist (then every 1000 ms). With drugs the drug clock samples them.
    double readout_ms = 0.0;
    double gamma_window_ms = 0.0; // > 0: gamma-band power of each population's rate per window
    // Inhibition-stabilisation probe (docs/science.md §5.4): extra current into one population in a window;
    // a paradoxical fall of its rate marks an inhibition-stabilised network.
    struct IsnProbe {
        std::string population;
        std::size_t population_index = 0;
        double current_pA = 0, start_ms = 0, duration_ms = 0;
    };
    std::optional<IsnProbe> isn_probe;
    std::vector<StateReportSpec> reports;
    std::vector<double> snapshot_times_ms; // weight snapshots (snapshots.h5), ascending
};

// A drug at the NMDA receptors: a constant bath concentration (slice-style experiments), or the free
// effect-site concentration of a dose schedule through a PK model, updated on a slow clock. It blocks
// every NMDA receptor at equilibrium with Mg2+ (docs/science.md §3.3). A dosed drug also forms its metabolite
// (norketamine, docs/science.md §4.4), a second blocker with its own concentration and potency.
struct DrugPk {
    std::string model = "domino";
    double body_weight_kg = 0.0;   // 0: not given (allowed when no dose is in mg/kg and the set is not
                                   // weight-scaled)
    double fraction_unbound = 0.6; // docs/science.md §4.1 default
    std::vector<DoseSpec> doses;   // the whole schedule, repeated sessions expanded
    double step_ms = 1000.0;       // slow clock: concentration held constant between updates
    PkParameters parameters;       // the model's set with the config's overrides
    double metabolite_fraction_unbound = 0.6; // [A]
};

struct DrugApplication {
    std::string agent;
    double bath_uM = 0.0;
    // Bath protocol: concentrations held for bath_step_ms each (empty: bath_uM throughout). sample_ms is the
    // slow clock of bath applications (concentration changes and the drug/NMDA time series).
    std::vector<double> bath_steps_uM;
    double bath_step_ms = 0.0;
    double sample_ms = 1000.0;
    // Bath concentration at time t (ms).
    double bath_at(double t_ms) const {
        if (bath_steps_uM.empty()) return bath_uM;
        const auto k = std::size_t(std::max(0.0, std::floor(t_ms / bath_step_ms + 1e-9)));
        return bath_steps_uM[std::min(k, bath_steps_uM.size() - 1)];
    }
    std::optional<DrugPk> pk;
    ChannelBlocker block;
    double molar_mass_g_per_mol = 237.7;
};

// One NMDA blocker of the run: a bath drug, a dosed drug (species 0 of its PK model) or its metabolite
// (species 1). Experiment::species is the single mapping from drugs to the receptors' blocker slots: the
// receptors' blockers are listed in this order (config_loader), the engine hands species k's free
// concentration to slot k, and timeseries.h5 names its series /drugs/<drug>_<agent>.
struct DrugSpecies {
    std::size_t drug = 0;    // index in Experiment::drugs
    std::size_t species = 0; // 0: the drug itself, 1: its metabolite
    std::string agent;
    ChannelBlocker block;
    double molar_mass_g_per_mol = 237.7;
    double fraction_unbound = 1.0; // receptors see fu * Ce (1 for a bath concentration, already free)
    std::string series_name() const { return std::to_string(drug) + "_" + agent; }
};

// [protocol]: spiking windows alternating with slow-clock integration (science.md §9; sim/app/protocol.cpp).
// Protocol time 0 is drug time 0; a window of window_ms is simulated at each probe time, its statistics
// after burn_in_ms drive the slow layer (models/slow_layer.hpp) until the next probe, whose factors are
// then written back into the projections' weights and active synapses.
struct ProtocolSpec {
    double duration_h = 0;
    std::vector<double> probe_times_min; // ascending, from 0; the slow clock ends at duration_h
    double window_ms = 2000, burn_in_ms = 500;
    std::string population; // whose activity drives the slow layer
    std::size_t population_index = 0;
    std::vector<std::string> projections; // written back (target = population)
    std::vector<std::size_t> projection_indices;
    // Inhibitory projections onto the population scaled the other way by homeostasis (Kilman et al. 2002):
    // weights x SlowLayer::inhibitory_factor(). Optional.
    std::vector<std::string> inhibitory_projections;
    std::vector<std::size_t> inhibitory_projection_indices;
    std::string nmda_receptor, ampa_receptor; // the rest signal's NMDA pool; the AMPA drive's receptor
    bool structural = true;                   // spine density -> active synapses of the projections
    // How the structure follows: the slow layer's population spine density (synapses switched on/off by a
    // fixed per-synapse rank), or per-neuron synaptic elements (Butz & van Ooyen 2013,
    // models/synaptic_elements.hpp) with the slow layer's growth curve.
    enum class StructuralRule { spine_density, elements } structural_rule = StructuralRule::spine_density;
    SynapticElementsParams elements;
    bool bridge_block = true;             // carry the kinetic drug block across the gaps (averaged rates)
    double potential_spine_density = 1.0; // the density the built synapses stand for (all active)
    std::vector<double> report_h;         // summary.json time points
    bool snapshots = true;                // weight snapshots (snapshots.h5) at the report times
    SlowLayerParams slow;
};

struct Experiment {
    std::string config_path;
    std::string resolved_toml;      // the config after --set overrides, saved with the outputs
    std::string output_dir;         // from [output] dir; the CLI's --out overrides
    double checkpoint_every_ms = 0; // [output] checkpoint_every_ms; 0: no periodic checkpoints
    SimulationSpec simulation;
    NetworkSpec network;
    std::vector<DrugApplication> drugs;
    std::vector<GlutamatePoolSpec> glutamate_pools; // [[glutamate]]
    std::vector<DrugSpecies> species; // the blockers the drugs put at every NMDA receptor, in slot order
    std::vector<PopulationSpec> populations;
    std::vector<ProjectionSpec> projections;
    RecordingSpec recording;
    std::optional<ProtocolSpec> protocol; // [protocol]: a multi-time-scale run (sim/app/protocol.cpp)
};

const char* rule_name(ConnectionRule rule);

} // namespace ketaplast
