#include "sim/config/network_scaling.hpp"

#include "core/error.hpp"
#include "models/registry.hpp"

#include <cmath>

namespace ketaplast {

Distribution scaled(const Distribution& d, double factor) {
    Distribution out = d;
    switch (d.kind) {
    case Distribution::Kind::constant:
        out.value *= factor;
        break;
    case Distribution::Kind::uniform:
        out.low *= factor;
        out.high *= factor;
        break;
    case Distribution::Kind::normal:
        out.mean *= factor;
        out.sd *= factor;
        break;
    case Distribution::Kind::lognormal:
        out.mean += std::log(factor);
        break;
    }
    out.min *= factor; // infinities stay infinite
    out.max *= factor;
    return out;
}

void apply_network_scale(Experiment& exp, const toml::table& root) {
    // Only in-degree scaling changes the inputs a neuron receives; neuron numbers alone do not.
    const double s = exp.network.indegree_scale;
    if (s == 1.0) return;
    auto where = [&](const std::string& path) {
        const toml::node* n = root.at_path(path).node();
        return n ? std::pair<int, int>(int(n->source().begin.line), int(n->source().begin.column))
                 : std::pair<int, int>(0, 0);
    };
    auto fail = [&](const std::string& key, const std::string& reason) {
        const auto [line, column] =
            where(root.at_path("network.indegree_scale") ? "network.indegree_scale" : "network.scale");
        throw ConfigError(exp.config_path, line, column, key, reason);
    };
    const double root_s = std::sqrt(s), lost = 1.0 - root_s;

    std::vector<double> dc(exp.populations.size(), 0.0);
    for (auto& proj : exp.projections) {
        // A one_to_one projection keeps its in-degree of 1: nothing is lost, nothing to compensate.
        if (proj.rule == ConnectionRule::one_to_one) continue;
        const PopulationSpec& source = exp.populations[proj.source_index];
        const PopulationSpec& target = exp.populations[proj.target_index];
        if (builtin_models().find(target.model)->receptor_kind != ReceptorKind::current)
            fail("network.indegree_scale",
                 "indegree_scale < 1 keeps mean inputs with a DC current, which is defined for current-based "
                 "receptors only; population '" +
                     target.name + "' (" + target.model + ") has conductance receptors");
        if (!source.reference_rate_Hz)
            fail("populations." + source.name + ".reference_rate_Hz",
                 "missing: with network.indegree_scale < 1 every source population needs its full-scale mean "
                 "rate for the "
                 "input compensation");
        // The compensation assumes every spike transmits its weight; with short-term plasticity the mean
        // transmitted weight depends on the (unknown) rate pattern.
        if (proj.stp)
            fail(
                "projections." + proj.name + ".stp",
                "indegree_scale < 1 replaces lost inputs by a DC current computed from the weights, but with "
                "short-term plasticity the transmitted weight depends on the firing pattern: use "
                "indegree_scale = 1 for projections with stp");
        const double tau_ms = target.receptors[proj.receptor_index].tau_ms;
        dc[proj.target_index] +=
            1e-3 * tau_ms * lost * proj.weight.expected() * proj.full_indegree * *source.reference_rate_Hz;
        proj.weight = scaled(proj.weight, 1.0 / root_s);
    }
    for (std::size_t p = 0; p < exp.populations.size(); ++p) {
        PopulationSpec& pop = exp.populations[p];
        if (auto& drive = pop.poisson_drive) {
            if (builtin_models().find(pop.model)->receptor_kind != ReceptorKind::current)
                fail("network.indegree_scale",
                     "indegree_scale < 1 needs current-based receptors; population '" + pop.name +
                         "' has a conductance-based Poisson drive");
            const double tau_ms = pop.receptors[drive->receptor_index].tau_ms;
            dc[p] += 1e-3 * tau_ms * lost * drive->weight * drive->inputs * drive->rate_Hz;
            drive->inputs = std::round(drive->inputs * s);
            drive->weight /= root_s;
        }
        pop.dc_pA += dc[p];
    }
}

} // namespace ketaplast
