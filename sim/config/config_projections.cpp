// [[projections]]: source, target, receptor, connection rule and its keys, weights and delays.
#include "sim/config/config_sections.hpp"

#include "core/error.hpp"
#include "models/registry.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace ketaplast::config_detail {

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
} // namespace

ProjectionSpec read_projection(const toml::table& t, std::size_t index, const std::string& file,
                               const NetworkSpec& network, const SimulationSpec& sim,
                               const std::vector<PopulationSpec>& pops,
                               const std::vector<ProjectionSpec>& earlier) {
    TomlReader r0(t, "projections[" + std::to_string(index) + "]", file);
    ProjectionSpec proj;
    proj.source = r0.required_string("source");
    proj.target = r0.required_string("target");
    proj.name = r0.string("name", proj.source + "_to_" + proj.target);
    for (const auto& other : earlier)
        if (other.name == proj.name)
            r0.fail("name",
                    "duplicate projection name '" + proj.name + "' (give each projection a unique name)");
    TomlReader r(t, "projections." + proj.name, file);
    r.allow("name");
    r.allow("source");
    r.allow("target");

    std::vector<std::string> pop_names;
    for (const auto& p : pops)
        pop_names.push_back(p.name);
    auto find_pop = [&](const std::string& key, const std::string& name) {
        for (std::size_t i = 0; i < pops.size(); ++i)
            if (pops[i].name == name) return i;
        const std::string near = closest_key(name, pop_names);
        r.fail(key, "unknown population '" + name + "'" +
                        (near.empty() ? "" : "; did you mean '" + near + "'?") +
                        " (known: " + join(pop_names) + ")");
    };
    proj.source_index = find_pop("source", proj.source);
    proj.target_index = find_pop("target", proj.target);
    const PopulationSpec& target = pops[proj.target_index];
    const ModelInfo* target_model = builtin_models().find(target.model);
    if (target_model->kind != ModelKind::neuron)
        r.fail("target", "population '" + target.name + "' is a spike source (" + target.model +
                             ") and cannot receive synapses");

    proj.receptor = r.required_string("receptor");
    std::vector<std::string> receptor_names;
    for (const auto& s : target.receptors)
        receptor_names.push_back(s.name);
    auto it = std::find(receptor_names.begin(), receptor_names.end(), proj.receptor);
    if (it == receptor_names.end())
        r.fail("receptor", "target population '" + target.name + "' has no receptor '" + proj.receptor +
                               "' (has: " +
                               (receptor_names.empty() ? std::string("none; add [populations.receptors]")
                                                       : join(receptor_names)) +
                               ")");
    proj.receptor_index = std::size_t(it - receptor_names.begin());

    const std::string rule = r.choice("rule",
                                      {"one_to_one", "all_to_all", "fixed_probability", "fixed_indegree",
                                       "fixed_outdegree", "fixed_total_number"},
                                      "");
    const std::uint32_t n_source = pops[proj.source_index].size, n_target = target.size;
    const bool same = proj.source_index == proj.target_index;
    proj.autapses = r.boolean("autapses", false);
    proj.multapses = r.boolean("multapses", false);
    if (rule == "one_to_one") {
        proj.rule = ConnectionRule::one_to_one;
        proj.full_indegree = 1.0;
        if (same && !proj.autapses)
            r.fail("rule",
                   "one_to_one from population '" + target.name +
                       "' onto itself connects each neuron to itself: set autapses = true if that is meant");
        if (n_source != n_target)
            r.fail("rule", "one_to_one needs equal sizes (source " + std::to_string(n_source) + ", target " +
                               std::to_string(n_target) + ")");
    } else if (rule == "all_to_all") {
        proj.rule = ConnectionRule::all_to_all;
        proj.full_indegree = pops[proj.source_index].full_size;
        if (network.indegree_scale != network.scale)
            r.fail("rule",
                   "all_to_all cannot keep in-degrees at network.indegree_scale when neurons scale by "
                   "network.scale: use fixed_indegree or fixed_probability");
    } else if (rule == "fixed_probability") {
        proj.rule = ConnectionRule::fixed_probability;
        proj.probability = r.required_number("probability", range(0.0, 1.0));
        proj.full_indegree = proj.probability * pops[proj.source_index].full_size;
        // The in-degree p N_pre follows the neuron scale; when in-degrees scale differently, so must p.
        if (network.indegree_scale != network.scale) {
            proj.probability *= network.indegree_scale / network.scale;
            if (proj.probability > 1.0)
                r.fail("probability", "with network.indegree_scale / network.scale = " +
                                          number_text(network.indegree_scale / network.scale) +
                                          " the probability would exceed 1 (" +
                                          number_text(proj.probability) + ")");
        }
    } else if (rule == "fixed_total_number") {
        // Potjans & Diesmann (2014): a fixed number of synapses, each between a source and a target
        // drawn uniformly (with multapses; autapses as set).
        proj.rule = ConnectionRule::fixed_total_number;
        const double n_pre = pops[proj.source_index].full_size, n_post = target.full_size;
        if (r.has("total") == r.has("probability"))
            r.fail("total",
                   "give either total (number of synapses) or probability (converted to a total as in "
                   "Potjans & Diesmann 2014), not both or neither");
        if (r.has("total")) {
            proj.full_total = double(r.required_integer("total", 0, 100'000'000'000));
        } else {
            // Potjans & Diesmann (2014), NEST example helpers.num_synapses_from_conn_probs: the number of
            // synapses that, placed at random, connects a pair with probability p:
            //   K = ln(1 - p) / ln((N_pre N_post - 1) / (N_pre N_post)), from the full-scale sizes.
            const double prob = r.required_number("probability", range(0.0, 1.0, true, false));
            const double pairs_full = n_pre * n_post;
            proj.full_total =
                pairs_full > 1 ? std::log1p(-prob) / std::log((pairs_full - 1.0) / pairs_full) : 0.0;
        }
        // Neurons and in-degrees both scale: the total goes with scale^2.
        // Neurons scale with `scale`, in-degrees with `indegree_scale`: the total goes with both.
        proj.total = std::uint64_t(std::nearbyint(proj.full_total * network.scale * network.indegree_scale));
        proj.full_indegree = n_post > 0 ? proj.full_total / n_post : 0.0;
        if (!proj.multapses)
            r.fail("multapses", "fixed_total_number draws pairs with replacement: set multapses = true");
        const std::uint64_t pairs =
            std::uint64_t(n_source) * n_target - ((same && !proj.autapses) ? n_target : 0);
        if (proj.total > 0 && pairs == 0)
            r.fail("total", "no pair available (a single neuron without autapses)");
    } else {
        proj.rule =
            rule == "fixed_indegree" ? ConnectionRule::fixed_indegree : ConnectionRule::fixed_outdegree;
        const char* key = rule == "fixed_indegree" ? "indegree" : "outdegree";
        const std::int64_t full_degree = r.required_integer(key, 0, 100'000'000);
        // In-degrees (out-degrees) scale with the network (sim/config/network_scaling.cpp).
        proj.degree = std::uint32_t(std::nearbyint(double(full_degree) * network.indegree_scale));
        proj.full_indegree = rule == "fixed_indegree"
                                 ? double(full_degree)
                                 : double(full_degree) * pops[proj.source_index].full_size / target.full_size;
        // Without multapses each source (target) can be chosen once; autapses excluded remove one.
        const std::uint32_t pool = rule == "fixed_indegree" ? n_source : n_target;
        const std::uint32_t available = pool - ((same && !proj.autapses) ? 1 : 0);
        if (!proj.multapses && proj.degree > available)
            r.fail(key, std::to_string(proj.degree) + " exceeds the " + std::to_string(available) +
                            " distinct partners available without multapses");
        if (proj.multapses && proj.degree > 0 && available == 0)
            r.fail(key, "no partner available (a single neuron without autapses)");
    }
    const bool conductance = target_model->receptor_kind == ReceptorKind::conductance;
    const std::string weight_key = conductance ? "weight_nS" : "weight_pA";
    r.allow(conductance ? "weight_pA" : "weight_nS");
    if (r.has(conductance ? "weight_pA" : "weight_nS"))
        r.fail(conductance ? "weight_pA" : "weight_nS",
               "receptor '" + proj.receptor + "' of '" + target.name + "' is a " +
                   (conductance ? "conductance: give weight_nS" : "current: give weight_pA"));
    proj.weight = r.distribution(weight_key, conductance ? range(0.0, 1e6) : range(-1e6, 1e6));
    // A delay must be at least one step: the engine exchanges spikes once per minimum delay.
    const ParamDef delay_range{"", sim.dt_ms, sim.dt_ms * (1.0 - 1e-9), 65000.0 * sim.dt_ms, true, true, ""};
    if (!r.has("delay_ms"))
        r.fail("delay_ms", "missing (a number >= dt_ms = " + number_text(sim.dt_ms) + ")");
    const toml::node* delay_node = r.node("delay_ms");
    if (delay_node->is_number() && delay_node->value<double>().value() < sim.dt_ms * (1.0 - 1e-9))
        r.fail("delay_ms", "delay " + number_text(delay_node->value<double>().value()) +
                               " ms is shorter than the time step dt_ms = " + number_text(sim.dt_ms) +
                               " (a delay must be at least one step)");
    proj.delay_ms = r.distribution("delay_ms", delay_range);
    // Tsodyks-Markram short-term plasticity (docs/science.md §5.1): stp = {U, tau_rec_ms [, tau_fac_ms]}.
    if (const toml::table* stp = r.table("stp")) {
        TomlReader sr(*stp, r.key_path("stp"), file);
        TsodyksMarkramParams p;
        p.U = sr.required_number("U", range(0.0, 1.0, false, true));
        p.tau_rec_ms = sr.required_number("tau_rec_ms", range(0.0, 1e7, false, true));
        // Absent: a depressing synapse (u = U); present: facilitating, u decays with tau_fac_ms.
        p.tau_fac_ms = sr.number("tau_fac_ms", range(0.0, 1e7, false, true, 0.0));
        sr.finish();
        const ReceptorSpec& receptor = target.receptors[proj.receptor_index];
        if (receptor.saturation_alpha_per_ms > 0)
            r.fail("stp", "receptor '" + proj.receptor + "' of '" + target.name +
                              "' is nmda_saturating; short-term plasticity together with saturating NMDA "
                              "gating is not implemented (the released fraction would change the x jump "
                              "and so the saturation)");
        proj.stp = p;
    }
    if (const toml::table* plasticity = r.table("plasticity"))
        proj.plasticity = read_plasticity(*plasticity, r, file, proj, target, target_model, network);
    r.finish();
    return proj;
}

} // namespace ketaplast::config_detail
