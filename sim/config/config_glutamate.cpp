// [[glutamate]]: extracellular glutamate pools (models/glutamate.hpp, docs/science.md §5.3).
#include "sim/config/config_sections.hpp"

#include <algorithm>

namespace ketaplast::config_detail {

namespace {

std::vector<std::string> population_list(TomlReader& r, const std::string& key,
                                         const std::vector<PopulationSpec>& pops,
                                         std::vector<std::size_t>& indices, bool required) {
    std::vector<std::string> names;
    const toml::array* list = r.array(key);
    if (!list) {
        if (required) r.fail(key, "missing: a list of population names");
        return names;
    }
    std::vector<std::string> known;
    for (const auto& p : pops)
        known.push_back(p.name);
    for (const auto& item : *list) {
        const auto name = item.value<std::string>();
        if (!name) r.fail_at(&item, key, "expected population names (strings)");
        const auto it = std::find(known.begin(), known.end(), *name);
        if (it == known.end())
            r.fail_at(&item, key, "unknown population '" + *name + "' (known: " + join(known) + ")");
        names.push_back(*name);
        indices.push_back(std::size_t(it - known.begin()));
    }
    if (required && names.empty()) r.fail(key, "an empty list: name at least one population");
    return names;
}

} // namespace

std::vector<GlutamatePoolSpec> read_glutamate(TomlReader& root, const std::string& file,
                                              std::vector<PopulationSpec>& pops) {
    std::vector<GlutamatePoolSpec> pools;
    if (const toml::array* list = root.array("glutamate")) {
        for (std::size_t i = 0; i < list->size(); ++i) {
            const toml::node* n = list->get(i);
            if (!n->is_table()) root.fail_at(n, "glutamate", "expected [[glutamate]] tables");
            TomlReader r(*n->as_table(), "glutamate[" + std::to_string(i) + "]", file);
            GlutamatePoolSpec g;
            g.name = r.required_string("name");
            for (const auto& earlier : pools)
                if (earlier.name == g.name) r.fail("name", "'" + g.name + "' is already a glutamate pool");
            g.sources = population_list(r, "sources", pops, g.source_indices, true);
            g.region = population_list(r, "region", pops, g.region_indices, false);
            if (g.region.empty()) g.region = g.sources, g.region_indices = g.source_indices;
            g.vesicles_per_spike = r.number("vesicles_per_spike", range(0.0, 1e9, true, true, 0.0));
            g.release_probability = r.number("release_probability", range(0.0, 1.0, false, true, 0.3));
            g.uM_per_vesicle = r.number("uM_per_vesicle", range(0.0, 1e6, true, true, 2.5e-4));
            g.basal_uM = r.number("basal_uM", range(0.0, 1e4, true, true, 0.05));
            const std::string clearance = r.choice("clearance", {"linear", "saturable"}, "linear");
            if (clearance == "linear") {
                g.clearance = GlutamatePoolSpec::Clearance::linear;
                // A pool needs clearance: without it glutamate would only accumulate.
                g.tau_clear_ms = r.number("tau_clear_ms", range(0.0, 1e9, false, true, 10.0));
            } else {
                g.clearance = GlutamatePoolSpec::Clearance::saturable;
                g.V_max_uM_per_ms = r.required_number("V_max_uM_per_ms", range(0.0, 1e9, false, true));
                g.K_m_uM = r.required_number("K_m_uM", range(0.0, 1e9, false, true));
            }
            g.tau_dialysate_ms = r.number("tau_dialysate_ms", range(0.0, 1e12, false, true, 120000.0));
            r.finish();
            pools.push_back(g);
        }
    }
    // Receptors gated by a pool: resolve the name.
    std::vector<std::string> known;
    for (const auto& g : pools)
        known.push_back(g.name);
    for (std::size_t p = 0; p < pops.size(); ++p)
        for (auto& receptor : pops[p].receptors) {
            if (receptor.glutamate_pool.empty()) continue;
            const auto it = std::find(known.begin(), known.end(), receptor.glutamate_pool);
            if (it == known.end())
                root.fail(
                    "populations[" + std::to_string(p) + "].receptors." + receptor.name + ".glutamate_pool",
                    "unknown glutamate pool '" + receptor.glutamate_pool + "' (" +
                        (known.empty() ? "no [[glutamate]] pools are defined" : "known: " + join(known)) +
                        ")");
            receptor.glutamate_pool_index = std::size_t(it - known.begin());
        }
    return pools;
}

} // namespace ketaplast::config_detail
