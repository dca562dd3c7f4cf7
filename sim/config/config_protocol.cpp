// [protocol]: the multi-time-scale protocol and its slow layer (docs/science.md §6.5-6.8, §9). Read after
// populations and projections, which it names.
#include "sim/config/config_sections.hpp"

#include <algorithm>
#include <cmath>

namespace ketaplast::config_detail {

namespace {

// [protocol.slow]: every SlowLayerParams value may be overridden (they are [A] in docs/science.md).
void read_slow(TomlReader& r, SlowLayerParams& p) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    const auto pos = [&](const char* key, double& v) { v = r.number(key, range(0.0, inf, false, true, v)); };
    const auto nonneg = [&](const char* key, double& v) {
        v = r.number(key, range(0.0, inf, true, true, v));
    };
    pos("tau_rest_min", p.tau_rest_min);
    pos("tau_eEF2K_min", p.tau_eEF2K_min);
    pos("tau_BDNF_min", p.tau_BDNF_min);
    nonneg("k_BDNF", p.k_BDNF);
    p.theta_rest = r.number("theta_rest", range(0.0, 1.0, true, false, p.theta_rest));
    pos("tau_H_h", p.tau_H_h);
    nonneg("tau_gain_decay_h", p.tau_gain_decay_h);
    pos("tau_A_min", p.tau_A_min);
    nonneg("kappa_A", p.kappa_A);
    nonneg("tau_A_adapt_h", p.tau_A_adapt_h);
    pos("tau_TrkB_min", p.tau_TrkB_min);
    pos("tau_mTOR_min", p.tau_mTOR_min);
    pos("mTOR_threshold", p.mTOR_threshold);
    pos("mTOR_slope", p.mTOR_slope);
    nonneg("k_P_per_h", p.k_P_per_h);
    pos("tau_P_days", p.tau_P_days);
    p.protein_max = r.number("protein_max", range(1.0, inf, false, true, p.protein_max));
    nonneg("spine_nu", p.spine_nu);
    pos("spine_lifetime_days", p.spine_lifetime_days);
    p.initial_spine_density =
        r.number("initial_spine_density", range(0.0, 10.0, false, true, p.initial_spine_density));
    nonneg("protein_strength_exponent", p.protein_strength_exponent);
    pos("tau_scaling_h", p.tau_scaling_h);
    nonneg("rate_target_Hz", p.rate_target_Hz);
    p.inhibitory_scaling_exponent =
        r.number("inhibitory_scaling_exponent", range(0.0, 4.0, true, true, p.inhibitory_scaling_exponent));
    const std::string growth = r.choice("growth_curve", {"none", "linear", "gaussian", "sigmoid"}, "none");
    p.growth = growth == "linear"     ? GrowthCurve::linear
               : growth == "gaussian" ? GrowthCurve::gaussian
               : growth == "sigmoid"  ? GrowthCurve::sigmoid
                                      : GrowthCurve::none;
    nonneg("growth_per_day", p.growth_per_day);
    nonneg("Ca_target", p.Ca_target);
    nonneg("Ca_eta", p.Ca_eta);
    pos("Ca_psi", p.Ca_psi);
    pos("tau_Ca_ms", p.tau_Ca_ms);
    pos("beta_Ca", p.beta_Ca);
    p.strength_min = r.number("strength_min", range(0.0, 1.0, false, false, p.strength_min));
    p.strength_max = r.number("strength_max", range(1.0, inf, false, true, p.strength_max));
    const std::string expression =
        r.choice("strength_expression", {"protein_power", "trafficking"}, "protein_power");
    p.expression = expression == "trafficking" ? SlowLayerParams::StrengthExpression::trafficking
                                               : SlowLayerParams::StrengthExpression::protein_power;
    pos("tau_exo_min", p.tau_exo_min);
    pos("tau_dwell_min", p.tau_dwell_min);
    pos("tau_slot_h", p.tau_slot_h);
    pos("tau_AMPAR_h", p.tau_AMPAR_h);
    p.slots_per_receptor = r.number("slots_per_receptor", range(1.0, 1e3, false, true, p.slots_per_receptor));
    pos("step_min", p.step_min);
    if (p.growth == GrowthCurve::gaussian && !(p.Ca_target > 0))
        r.fail("Ca_target",
               "missing: the gaussian growth curve needs its set points Ca_target (eps) and Ca_eta");
    if (const std::string problem = p.check(); !problem.empty())
        r.fail(problem.substr(0, problem.find(' ')), problem);
    r.finish();
}

} // namespace

std::optional<ProtocolSpec> read_protocol(TomlReader& root, const Experiment& exp) {
    const toml::table* table = root.table("protocol");
    if (!table) return std::nullopt;
    const std::string& file = root.file();
    TomlReader r(*table, "protocol", file);
    ProtocolSpec p;
    p.duration_h = r.required_number("duration_h", range(0.0, 24.0 * 3650, false, true));
    p.window_ms = r.number("window_ms", range(0.0, 3.6e6, false, true, 2000.0));
    p.burn_in_ms = r.number("burn_in_ms", range(0.0, 3.6e6, true, true, 500.0));
    if (p.burn_in_ms >= p.window_ms)
        r.fail("burn_in_ms", "must be shorter than window_ms (" + number_text(p.window_ms) +
                                 " ms): nothing of the window would be measured");
    const double steps = p.window_ms / exp.simulation.dt_ms;
    if (std::fabs(steps - std::round(steps)) > 1e-6)
        r.fail("window_ms",
               "must be a whole number of time steps (dt_ms = " + number_text(exp.simulation.dt_ms) + ")");

    p.population = r.required_string("population");
    const auto pop = std::find_if(exp.populations.begin(), exp.populations.end(),
                                  [&](const PopulationSpec& s) { return s.name == p.population; });
    if (pop == exp.populations.end()) r.fail("population", "unknown population '" + p.population + "'");
    p.population_index = std::size_t(pop - exp.populations.begin());
    auto receptor_of = [&](const char* key, const std::string& def, bool nmda) {
        const std::string name = r.string(key, def);
        const auto it = std::find_if(pop->receptors.begin(), pop->receptors.end(),
                                     [&](const ReceptorSpec& rs) { return rs.name == name; });
        if (it == pop->receptors.end()) {
            std::vector<std::string> names;
            for (const auto& rs : pop->receptors)
                names.push_back(rs.name);
            r.fail(key, "population '" + p.population + "' has no receptor '" + name +
                            "' (it has: " + join(names) + ")");
        }
        if (nmda != (it->shape == ReceptorShape::nmda))
            r.fail(key, "receptor '" + name + "' of '" + p.population + "' is " +
                            (nmda ? "not an NMDA receptor" : "an NMDA receptor (give the AMPA receptor)"));
        return name;
    };
    p.nmda_receptor = receptor_of("nmda_receptor", "NMDA", true);
    p.ampa_receptor = receptor_of("ampa_receptor", "AMPA", false);

    // A listed projection: it must exist and end on the driving population (whose inputs the slow layer
    // rescales), and be static (a rule's bounds and state would fight the multiplicative write-back).
    auto listed_projection = [&](const toml::node& item, const char* key,
                                 const std::vector<std::string>& seen) -> const ProjectionSpec& {
        const auto name = item.value<std::string>();
        if (!name) r.fail_at(&item, key, "expected projection names (strings)");
        const auto it = std::find_if(exp.projections.begin(), exp.projections.end(),
                                     [&](const ProjectionSpec& s) { return s.name == *name; });
        if (it == exp.projections.end()) r.fail_at(&item, key, "unknown projection '" + *name + "'");
        if (it->target_index != p.population_index)
            r.fail_at(&item, key,
                      "projection '" + *name + "' ends on '" + it->target + "', not on '" + p.population +
                          "' (the population whose activity drives the slow layer)");
        if (it->plasticity)
            r.fail_at(&item, key,
                      "projection '" + *name +
                          "' is plastic (plasticity.rule): the slow layer's multiplicative write-back would "
                          "push weights past the rule's [w_min, w_max] (and the calcium rule rewrites them "
                          "from its own state); give a static projection");
        if (std::find(seen.begin(), seen.end(), *name) != seen.end())
            r.fail_at(&item, key, "projection '" + *name + "' is listed twice");
        return *it;
    };
    const toml::array* projections = r.array("projections");
    if (!projections || projections->empty())
        r.fail("projections", "missing: the projections the slow layer writes back, e.g. [\"E->E\"]");
    for (const auto& item : *projections) {
        const ProjectionSpec& proj = listed_projection(item, "projections", p.projections);
        const ReceptorSpec& rs = pop->receptors[proj.receptor_index];
        if (rs.shape == ReceptorShape::nmda)
            r.fail_at(&item, "projections",
                      "projection '" + proj.name + "' targets the NMDA receptor '" + rs.name +
                          "': the slow layer scales AMPA strength (docs/science.md §6.6), and an NMDA "
                          "projection's capacity is fixed when the network is built");
        // Excitatory receptors reverse near 0 mV, GABA_A near -70 to -80 mV: -40 mV separates them, so
        // no projection can be in both lists (scaled up as excitatory and down as inhibitory).
        if (rs.E_rev_mV < -40.0)
            r.fail_at(&item, "projections",
                      "projection '" + proj.name + "' ends on receptor '" + rs.name + "' (E_rev " +
                          number_text(rs.E_rev_mV) +
                          " mV), an inhibitory one: inhibitory projections belong in "
                          "protocol.inhibitory_projections (they scale the other way)");
        p.projections.push_back(proj.name);
        p.projection_indices.push_back(std::size_t(&proj - exp.projections.data()));
    }
    if (const toml::array* inhibitory = r.array("inhibitory_projections")) {
        for (const auto& item : *inhibitory) {
            const ProjectionSpec& proj =
                listed_projection(item, "inhibitory_projections", p.inhibitory_projections);
            const ReceptorSpec& rs = pop->receptors[proj.receptor_index];
            // Excitatory receptors reverse near 0 mV, GABA_A near -70 to -80 mV: -40 mV separates them.
            if (!(rs.E_rev_mV < -40.0))
                r.fail_at(&item, "inhibitory_projections",
                          "projection '" + proj.name + "' ends on receptor '" + rs.name + "' (E_rev " +
                              number_text(rs.E_rev_mV) +
                              " mV), not an inhibitory one (E_rev below -40 mV): excitatory projections "
                              "belong in protocol.projections");
            p.inhibitory_projections.push_back(proj.name);
            p.inhibitory_projection_indices.push_back(std::size_t(&proj - exp.projections.data()));
        }
    }
    p.bridge_block = r.boolean("bridge_block", true);
    p.snapshots = r.boolean("snapshots", true);
    p.structural = r.boolean("structural", true);
    if (p.structural && exp.network.weights_uint16)
        r.fail("structural",
               "structural plasticity switches synapses off with weight 0, which 16-bit weights cannot "
               "hold: use [network] weight_storage = \"float32\" or structural = false");

    // Probe times: [[protocol.sampling]] {until_h, every_min}, in order.
    const toml::array* sampling = r.array("sampling");
    if (!sampling || sampling->empty())
        r.fail("sampling",
               "missing: [[protocol.sampling]] entries {until_h, every_min} (e.g. every 5 min to 2 h, "
               "hourly to 24 h, every 6 h to the end)");
    double t_min = 0.0, last_until_h = 0.0;
    p.probe_times_min.push_back(0.0);
    for (std::size_t i = 0; i < sampling->size(); ++i) {
        const toml::node* n = sampling->get(i);
        if (!n->is_table())
            r.fail_at(n, "sampling", "expected [[protocol.sampling]] tables {until_h, every_min}");
        TomlReader sr(*n->as_table(), "protocol.sampling[" + std::to_string(i) + "]", file);
        const double until_h = sr.required_number("until_h", range(0.0, 24.0 * 3650, false, true));
        const double every_min = sr.required_number("every_min", range(0.0, 1e7, false, true));
        if (until_h <= last_until_h)
            sr.fail("until_h", "must increase from one sampling entry to the next (" + number_text(until_h) +
                                   " h after " + number_text(last_until_h) + " h)");
        if (every_min * 60000.0 < p.window_ms)
            sr.fail("every_min", "probes every " + number_text(every_min) +
                                     " min are closer than a window (" + number_text(p.window_ms) + " ms)");
        sr.finish();
        const double end_min = std::min(until_h, p.duration_h) * 60.0;
        while (t_min + every_min <= end_min + 1e-9) {
            t_min += every_min;
            if (t_min < p.duration_h * 60.0 - 1e-9) p.probe_times_min.push_back(t_min);
        }
        last_until_h = until_h;
    }
    if (last_until_h < p.duration_h)
        r.fail("sampling", "the last sampling entry ends at " + number_text(last_until_h) +
                               " h, before duration_h (" + number_text(p.duration_h) + " h)");
    if (const toml::array* report = r.array("report_h")) {
        for (const auto& item : *report) {
            const auto h = item.value<double>();
            if (!h || *h < 0 || *h > p.duration_h)
                r.fail_at(&item, "report_h", "expected times in hours within [0, duration_h]");
            p.report_h.push_back(*h);
        }
    }
    if (const toml::table* slow = r.table("slow")) {
        TomlReader sr(*slow, "protocol.slow", file);
        read_slow(sr, p.slow);
    }
    // Structural rule: the population spine density (default) or per-neuron synaptic elements.
    const std::string rule = r.choice("structural_rule", {"spine_density", "elements"}, "spine_density");
    if (rule == "elements") {
        p.structural_rule = ProtocolSpec::StructuralRule::elements;
        if (!p.structural)
            r.fail("structural_rule",
                   "\"elements\" switches synapses on and off: it needs structural = true");
        if (p.slow.growth == GrowthCurve::none)
            r.fail("structural_rule",
                   "\"elements\" grows synaptic elements with the slow layer's growth curve: "
                   "set protocol.slow.growth_curve (linear, gaussian or sigmoid)");
        SynapticElementsParams& e = p.elements;
        e.growth = p.slow.growth;
        e.Ca_eta = p.slow.Ca_eta;
        e.Ca_psi = p.slow.Ca_psi;
        e.tau_Ca_ms = p.slow.tau_Ca_ms;
        e.beta_Ca = p.slow.beta_Ca;
        e.protein_nu = p.slow.spine_nu;
        e.spine_lifetime_days = p.slow.spine_lifetime_days;
        if (const toml::table* elements = r.table("elements")) {
            TomlReader er(*elements, "protocol.elements", file);
            constexpr double inf = std::numeric_limits<double>::infinity();
            e.nu_dend_per_day = er.number("nu_dend_per_day", range(0.0, 1e4, true, true, e.nu_dend_per_day));
            e.nu_axon_per_day = er.number("nu_axon_per_day", range(0.0, 1e4, true, true, e.nu_axon_per_day));
            e.sigma_um = er.number("sigma_um", range(0.0, inf, true, true, e.sigma_um));
            er.finish();
        }
    } else if (r.table("elements")) {
        r.fail("elements", "[protocol.elements] is read only with structural_rule = \"elements\"");
    }
    p.potential_spine_density =
        r.number("potential_spine_density",
                 range(0.0, 10.0, false, true, std::max(1.0, p.slow.initial_spine_density)));
    if (p.potential_spine_density < p.slow.initial_spine_density)
        r.fail("potential_spine_density",
               "below protocol.slow.initial_spine_density (" + number_text(p.slow.initial_spine_density) +
                   "): the built synapses stand for this density and cannot hold more");
    if (!exp.recording.snapshot_times_ms.empty()) {
        const toml::table* recording = root.table("recording");
        root.fail_at(recording ? recording->get("snapshot_times_ms") : nullptr, "recording.snapshot_times_ms",
                     "counts spiking time, which a [protocol] run skips: a protocol's snapshots are taken "
                     "at protocol.report_h (protocol.snapshots = true)");
    }
    r.finish();
    return p;
}

} // namespace ketaplast::config_detail
