#include "models/registry.hpp"

#include "models/adex_cond.hpp"
#include "models/lif_cond.hpp"
#include "models/lif_curr_exp.hpp"
#include "models/spike_sources.hpp"
#include "models/voltage_clamp.hpp"

namespace ketaplast {

namespace {

template <typename Model>
std::function<std::unique_ptr<NeuronGroup>(const GroupSetup&)> factory() {
    return [](const GroupSetup& setup) { return std::make_unique<Model>(setup); };
}

ModelRegistry make_builtin_models() {
    ModelRegistry registry;
    registry.add({"lif_cond", "conductance-based leaky integrate-and-fire (Brunel & Wang 2001)",
                  ModelKind::neuron, ReceptorKind::conductance, LifCond::schema(), factory<LifCond>()});
    registry.add({"adex_cond",
                  "adaptive exponential integrate-and-fire, conductance synapses (Brette & Gerstner 2005)",
                  ModelKind::neuron, ReceptorKind::conductance, AdexCond::schema(), factory<AdexCond>()});
    registry.add(
        {"lif_curr_exp",
         "current-based leaky integrate-and-fire, exponential currents, exact integration (Rotter & Diesmann "
         "1999; Potjans & Diesmann 2014)",
         ModelKind::neuron, ReceptorKind::current, LifCurrExp::schema(), factory<LifCurrExp>()});
    registry.add({"voltage_clamp",
                  "a cell held at V_hold_mV; reports the synaptic current I_syn_pA (receptor and drug-block "
                  "experiments)",
                  ModelKind::neuron, ReceptorKind::conductance, VoltageClamp::schema(),
                  factory<VoltageClamp>()});
    registry.add({"poisson_source", "independent Poisson spike trains, constant or scheduled rate",
                  ModelKind::source, ReceptorKind::conductance, PoissonSource::schema(),
                  factory<PoissonSource>()});
    registry.add({"spike_times", "explicit spike times per neuron (inline list or file)", ModelKind::source,
                  ReceptorKind::conductance, SpikeTimesSource::schema(), factory<SpikeTimesSource>()});
    return registry;
}

} // namespace

const ModelRegistry& builtin_models() {
    static const ModelRegistry registry = make_builtin_models();
    return registry;
}

} // namespace ketaplast
