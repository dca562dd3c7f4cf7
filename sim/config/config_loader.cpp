#include "sim/config/config_loader.hpp"

#include "models/drugs.hpp"
#include "models/registry.hpp"
#include "sim/app/pharmacology.hpp"
#include "sim/config/config_sections.hpp"
#include "sim/config/network_scaling.hpp"
#include "sim/config/toml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace ketaplast {

namespace config_detail {

ParamDef range(double min, double max, bool min_inclusive, bool max_inclusive, double def) {
    return ParamDef{"", def, min, max, min_inclusive, max_inclusive, ""};
}

std::string number_text(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items)
        out += (out.empty() ? "" : ", ") + s;
    return out;
}

} // namespace config_detail

using namespace config_detail;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------------
// --set overrides, applied to the TOML tree before validation.

toml::node* find_array_element(toml::array& array, const std::string& segment) {
    for (auto& element : array) {
        if (auto* t = element.as_table()) {
            if (auto name = t->get_as<std::string>("name"); name && name->get() == segment) return &element;
        }
    }
    if (!segment.empty() && std::all_of(segment.begin(), segment.end(), ::isdigit)) {
        const std::size_t i = std::stoul(segment);
        if (i < array.size()) return array.get(i);
    }
    return nullptr;
}

void apply_override(toml::table& root, const Override& o, const std::string& file) {
    auto fail = [&](const std::string& reason) { throw ConfigError(file, 0, 0, o.key, "--set: " + reason); };
    std::vector<std::string> segments;
    std::stringstream ss(o.key);
    for (std::string s; std::getline(ss, s, '.');)
        segments.push_back(s);
    if (segments.empty() || std::any_of(segments.begin(), segments.end(), [](auto& s) { return s.empty(); }))
        fail("malformed key (use dotted paths such as simulation.duration_ms or populations.E.size)");

    toml::table* table = &root;
    for (std::size_t i = 0; i + 1 < segments.size(); ++i) {
        toml::node* next = table->get(segments[i]);
        if (!next) {
            table->insert(segments[i], toml::table{});
            next = table->get(segments[i]);
        }
        if (auto* array = next->as_array()) {
            ++i;
            if (i + 1 >= segments.size())
                fail("'" + segments[i - 1] + "' is a list: name an element, then a key");
            toml::node* element = find_array_element(*array, segments[i]);
            if (!element || !element->is_table()) {
                std::vector<std::string> names;
                for (auto& e : *array)
                    if (auto* t = e.as_table())
                        if (auto n = t->get_as<std::string>("name")) names.push_back(n->get());
                fail("no element named '" + segments[i] + "' in '" + segments[i - 1] +
                     "' (known: " + join(names) + ")");
            }
            table = element->as_table();
        } else if (auto* t = next->as_table()) {
            table = t;
        } else {
            fail("'" + segments[i] + "' is a value, not a table");
        }
    }
    if (o.value.find_first_not_of(" \t") == std::string::npos)
        fail("missing value after '=' (e.g. " + o.key + "=10, or \"\" for an empty string)");
    toml::table parsed;
    try {
        parsed = toml::parse("value = " + o.value);
    } catch (const toml::parse_error&) {
        parsed = toml::table{};
        parsed.insert("value", o.value); // a bare word: take it as a string
    }
    parsed.get("value")->visit([&](auto&& node) { table->insert_or_assign(segments.back(), node); });
}

// ---------------------------------------------------------------------------------------------

// [[drugs]] pk = {...}: a dose schedule through a PK parameter set (models/pharmacokinetics.hpp), with
// repeated sessions expanded and the [M]/[A] constants the config may override.
DrugPk read_drug_pk(const toml::table& table, const std::string& path, const std::string& file) {
    TomlReader pr(table, path, file);
    // Unknown keys first: a misspelt route ("intranasal") should be named, not reported as missing doses.
    for (const char* key : {"model", "weight_kg", "unbound_fraction", "step_ms", "infusions", "boluses",
                            "nasal", "ip", "sessions", "ke0_per_min", "ka_nasal_per_min", "ka_ip_per_min",
                            "ip_bioavailability", "metabolite", "metabolite_unbound_fraction"})
        pr.allow(key);
    pr.finish();
    DrugPk schedule;
    schedule.model = pr.choice("model", pk_models(), "domino");
    if (auto w = pr.optional_number("weight_kg", range(0.0, 1000.0, false, true)))
        schedule.body_weight_kg = *w;
    schedule.fraction_unbound = pr.number("unbound_fraction", range(0.0, 1.0, false, true, 0.6));
    schedule.step_ms = pr.number("step_ms", range(0.0, 3.6e6, false, true, 1000.0));
    const char* forms[] = {"\"0.5@10+40\" (mg/kg @ start min + minutes)", "\"0.5@10\" (mg/kg @ start min)",
                           "\"84@0\" (mg @ start min)", "\"10@0\" (mg/kg @ start min)"};
    const std::pair<const char*, DoseSpec::Route> routes[] = {{"infusions", DoseSpec::Route::infusion},
                                                              {"boluses", DoseSpec::Route::bolus},
                                                              {"nasal", DoseSpec::Route::nasal},
                                                              {"ip", DoseSpec::Route::ip}};
    std::vector<std::pair<const toml::node*, std::string>> dose_nodes; // for errors found later
    for (std::size_t k = 0; k < 4; ++k) {
        const auto& [key, route] = routes[k];
        const toml::array* list = pr.array(key);
        if (!list) continue;
        for (const auto& item : *list) {
            const auto text = item.value<std::string>();
            if (!text) pr.fail_at(&item, key, std::string("expected strings like ") + forms[k]);
            try {
                schedule.doses.push_back(parse_dose(*text, route));
            } catch (const InputError& e) {
                pr.fail_at(&item, key, e.what());
            }
            dose_nodes.emplace_back(&item, key);
        }
    }
    if (schedule.doses.empty())
        pr.fail("infusions", "missing: a pk schedule needs doses (infusions, boluses, nasal or ip)");
    try {
        schedule.parameters = pk_parameters(schedule.model, schedule.body_weight_kg);
    } catch (const std::invalid_argument& e) {
        pr.fail("model", e.what());
    }
    PkParameters& p = schedule.parameters;
    // Constants tagged [A]/[M] in docs/science.md may be changed per run.
    p.ke0 = pr.number("ke0_per_min", range(0.0, 1e3, false, true, p.ke0));
    if (p.ka_nasal_per_min > 0)
        p.ka_nasal_per_min = pr.number("ka_nasal_per_min", range(0.0, 1e3, false, true, p.ka_nasal_per_min));
    if (p.ka_ip_per_min > 0) {
        p.ka_ip_per_min = pr.number("ka_ip_per_min", range(0.0, 1e3, false, true, p.ka_ip_per_min));
        p.ip_bioavailability =
            pr.number("ip_bioavailability", range(0.0, 1.0, false, true, p.ip_bioavailability));
    }
    p.metabolite_enabled = pr.boolean("metabolite", true);
    schedule.metabolite_fraction_unbound =
        pr.number("metabolite_unbound_fraction", range(0.0, 1.0, false, true, 0.6));
    // Weight: needed by weight-scaled sets and by mg/kg doses.
    if (!(schedule.body_weight_kg > 0)) {
        if (p.weight_scaled)
            pr.fail("weight_kg", "missing: the " + schedule.model +
                                     " model scales with body weight (give weight_kg in kg)");
        for (std::size_t i = 0; i < schedule.doses.size(); ++i)
            if (schedule.doses[i].per_kg)
                pr.fail_at(dose_nodes[i].first, dose_nodes[i].second,
                           "a dose in mg/kg needs a body weight: give weight_kg, or the dose in mg (e.g. "
                           "\"35mg@0\")");
    }
    for (std::size_t i = 0; i < schedule.doses.size(); ++i) {
        const std::string problem = schedule_problem(p, {schedule.doses[i]}, schedule.body_weight_kg);
        if (!problem.empty()) pr.fail_at(dose_nodes[i].first, dose_nodes[i].second, problem);
    }
    // Repeated sessions: every dose above is given again on each session day.
    if (const toml::table* sessions = pr.table("sessions")) {
        TomlReader sr(*sessions, pr.key_path("sessions"), file);
        std::vector<double> days;
        if (sr.has("days") == sr.has("weeks"))
            sr.fail("days", "give days = [...] (session days) or weeks = N with days_of_week = [...], "
                            "not both or neither");
        if (sr.has("days")) {
            days = sr.number_array("days", 0, range(0.0, 3650.0));
            if (days.empty()) sr.fail("days", "expected at least one session day");
        } else {
            const auto weeks = sr.required_integer("weeks", 1, 520);
            if (!sr.has("days_of_week"))
                sr.fail("days_of_week", "missing: the days of each week with a session, e.g. [0, 3]");
            const auto dow = sr.number_array("days_of_week", 0, range(0.0, 7.0, true, false));
            if (dow.empty()) sr.fail("days_of_week", "expected at least one day (0-6)");
            days = weekly_session_days(int(weeks), dow);
        }
        sr.finish();
        schedule.doses = repeat_sessions(schedule.doses, days);
    }
    pr.finish();
    return schedule;
}

// [[drugs]]: bath concentrations of NMDA channel blockers, from the built-in table (models/drugs.hpp) or
// defined here (agent = "custom" with its constants).
std::vector<DrugApplication> read_drugs(TomlReader& root) {
    std::vector<DrugApplication> drugs;
    const toml::array* list = root.array("drugs");
    if (!list) return drugs;
    std::vector<std::string> known;
    for (const auto& d : builtin_drugs())
        known.push_back(d.name);
    known.push_back("custom");
    for (std::size_t i = 0; i < list->size(); ++i) {
        const toml::node* n = list->get(i);
        if (!n->is_table()) root.fail_at(n, "drugs", "expected [[drugs]] tables {agent, bath_uM}");
        TomlReader r(*n->as_table(), "drugs[" + std::to_string(i) + "]", root.file());
        DrugApplication d;
        d.agent = r.choice("agent", known, "");
        const bool custom = d.agent == "custom";
        const bool has_bath = r.has("bath_uM"), has_pk = r.has("pk");
        if (has_bath == has_pk)
            r.fail("bath_uM", "give either bath_uM (a constant concentration) or pk (a dose schedule), not "
                              "both or neither");
        if (has_bath) {
            // A constant, or a sequence of concentrations each held for bath_step_ms (a cumulative
            // concentration-response protocol, as in slice experiments).
            const toml::node* bath = r.node("bath_uM");
            if (const toml::array* steps = bath->is_array() ? r.array("bath_uM") : nullptr) {
                if (steps->empty()) r.fail("bath_uM", "an empty list: give at least one concentration (uM)");
                for (const auto& item : *steps) {
                    const auto value = item.value<double>();
                    if (!value || !(*value >= 0) || !std::isfinite(*value))
                        r.fail_at(&item, "bath_uM", "expected concentrations >= 0 (uM)");
                    d.bath_steps_uM.push_back(*value);
                }
                d.bath_step_ms = r.required_number("bath_step_ms", range(0.0, 1e12, false, true));
                d.bath_uM = d.bath_steps_uM.front();
            } else {
                d.bath_uM = r.required_number("bath_uM", range(0.0, 1e6));
                // A single concentration with bath_step_ms is a one-step protocol (so a sweep can set a
                // protocol's bath_uM to one value).
                if (r.has("bath_step_ms")) {
                    d.bath_steps_uM = {d.bath_uM};
                    d.bath_step_ms = r.required_number("bath_step_ms", range(0.0, 1e12, false, true));
                }
            }
            d.sample_ms = r.number("step_ms", range(0.0, 3.6e6, false, true, 1000.0));
            if (!d.bath_steps_uM.empty()) {
                const double ratio = d.bath_step_ms / d.sample_ms;
                if (std::fabs(ratio - std::round(ratio)) > 1e-9 * ratio)
                    r.fail("bath_step_ms", "must be a multiple of step_ms (" + number_text(d.sample_ms) +
                                               " ms), the clock on which concentrations change");
            }
        }
        if (const toml::table* pk = r.table("pk")) {
            if (!custom && d.agent != "ketamine" && d.agent != "esketamine" && d.agent != "arketamine")
                r.fail("pk", "the PK parameter sets are for ketamine (racemic, S, R); '" + d.agent +
                                 "' has none yet: use bath_uM");
            d.pk = read_drug_pk(*pk, r.key_path("pk"), root.file());
        }
        const ChannelBlocker preset = custom ? ChannelBlocker{} : find_drug(d.agent).block;
        auto constant = [&](const char* key, double preset_value, const ParamDef& allowed) {
            if (custom && !r.has(key))
                r.fail(key, "missing: agent = \"custom\" needs K_d_uM, hill, delta (docs/science.md §3.3), "
                            "k_on_per_uM_per_s and k_off_per_s (§3.2)");
            return r.number(key, ParamDef{"", preset_value, allowed.min, allowed.max, allowed.min_inclusive,
                                          allowed.max_inclusive, ""});
        };
        d.block.K_d_uM_at_minus70 =
            constant("K_d_uM", preset.K_d_uM_at_minus70, range(0.0, 1e9, false, true));
        d.block.hill = constant("hill", preset.hill, range(0.0, 10.0, false, true));
        d.block.delta = constant("delta", preset.delta, range(0.0, 2.0));
        d.block.V_T_mV = r.number("V_T_mV", range(1.0, 100.0, true, true, preset.V_T_mV));
        // Kinetic trapping constants (science.md §3.2): required for custom agents, overridable for presets.
        d.block.k_on_per_uM_per_s =
            constant("k_on_per_uM_per_s", preset.k_on_per_uM_per_s, range(0.0, 1e9, false, true));
        d.block.k_off_per_s = constant("k_off_per_s", preset.k_off_per_s, range(0.0, 1e9, true, true));
        d.block.p_escape = r.number("p_escape", range(0.0, 1.0, true, false, preset.p_escape));
        d.block.k_off_closed_per_s =
            r.number("k_off_closed_per_s", range(0.0, 1e9, true, true, preset.k_off_closed_per_s));
        d.block.closed_access = r.number("closed_access", range(0.0, 1.0, true, true, preset.closed_access));
        d.block.on_share = r.number("on_share", range(0.0, 1.0, true, true, preset.on_share));
        d.block.K_d_factor_2CD =
            r.number("K_d_factor_2CD", range(0.0, 1e6, false, true, preset.K_d_factor_2CD));
        d.molar_mass_g_per_mol = custom ? r.number("molar_mass_g_per_mol", range(1.0, 1e5, true, true, 237.7))
                                        : find_drug(d.agent).molar_mass_g_per_mol;
        r.finish();
        drugs.push_back(d);
    }
    return drugs;
}

// The blockers the drugs put at the NMDA receptors (see DrugSpecies): each drug, then the metabolite of
// a dosed drug, with the metabolite's own potency and molar mass from the drug table.
std::vector<DrugSpecies> drug_species(const std::vector<DrugApplication>& drugs) {
    std::vector<DrugSpecies> out;
    for (std::size_t d = 0; d < drugs.size(); ++d) {
        const DrugApplication& drug = drugs[d];
        out.push_back({d, 0, drug.agent, drug.block, drug.molar_mass_g_per_mol,
                       drug.pk ? drug.pk->fraction_unbound : 1.0});
        if (drug.pk && drug.pk->parameters.metabolite_enabled) {
            const DrugInfo& m = find_drug(drug.pk->parameters.metabolite.agent);
            out.push_back(
                {d, 1, m.name, m.block, m.molar_mass_g_per_mol, drug.pk->metabolite_fraction_unbound});
        }
    }
    return out;
}

SimulationSpec read_simulation(TomlReader& root) {
    SimulationSpec sim;
    const toml::table* t = root.table("simulation");
    if (!t) root.fail("simulation", "missing table [simulation] (dt_ms, duration_ms, seed)");
    TomlReader r(*t, "simulation", root.file());
    sim.dt_ms = r.number("dt_ms", range(0.0, 10.0, false, true, 0.1));
    sim.duration_ms = r.required_number("duration_ms", range(0.0, 1e10, false, true));
    // A run of round(duration / dt) = 0 steps would "complete" without simulating anything.
    if (std::llround(sim.duration_ms / sim.dt_ms) < 1)
        r.fail("duration_ms", "value " + number_text(sim.duration_ms) +
                                  " is shorter than one time step (dt_ms = " + number_text(sim.dt_ms) + ")");
    sim.seed = std::uint64_t(r.integer("seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
    sim.threads = int(r.integer("threads", 0, 0, 4096));
    sim.drug_time_scale = r.number("drug_time_scale", range(1.0, 1e4, true, true, 1.0));
    sim.description = r.string("description", "");
    r.finish();
    return sim;
}

RecordingSpec read_recording(TomlReader& root, const std::vector<PopulationSpec>& pops,
                             const SimulationSpec& sim) {
    RecordingSpec rec;
    const toml::table* t = root.table("recording");
    if (!t) return rec;
    TomlReader r(*t, "recording", root.file());
    rec.spikes = r.boolean("spikes", true);
    rec.edges = r.boolean("edges", false);
    if (const toml::array* times = r.array("snapshot_times_ms")) {
        for (const auto& v : *times) {
            const auto t = v.value<double>();
            if (!t || !(v.is_integer() || v.is_floating_point()))
                r.fail_at(&v, "snapshot_times_ms", "expected numbers (ms)");
            if (*t < 0 || *t > sim.duration_ms)
                r.fail_at(&v, "snapshot_times_ms",
                          "snapshot time " + number_text(*t) + " ms is outside the run [0, " +
                              number_text(sim.duration_ms) + "] ms");
            if (!rec.snapshot_times_ms.empty() && *t < rec.snapshot_times_ms.back())
                r.fail_at(&v, "snapshot_times_ms", "snapshot times must be in increasing order");
            rec.snapshot_times_ms.push_back(*t);
        }
        // The snapshots' columns are edges.h5's edges: write it too.
        if (!rec.snapshot_times_ms.empty()) rec.edges = true;
    }
    rec.rate_bin_ms = r.number("rate_bin_ms", range(sim.dt_ms, 1e7, true, true, std::max(1.0, sim.dt_ms)));
    rec.readout_ms = r.number("readout_ms", range(0.0, 3.6e6, true, true, 0.0));
    rec.gamma_window_ms = r.number("gamma_window_ms", range(0.0, 1e7, true, true, 0.0));
    if (rec.gamma_window_ms > 0 && rec.rate_bin_ms > 5.0)
        r.fail("gamma_window_ms", "needs rate_bin_ms <= 5 ms (80 Hz must be resolved); rate_bin_ms is " +
                                      number_text(rec.rate_bin_ms));
    if (const toml::table* probe = r.table("isn_probe")) {
        TomlReader pr(*probe, r.key_path("isn_probe"), root.file());
        RecordingSpec::IsnProbe isn;
        isn.population = pr.required_string("population");
        auto it = std::find_if(pops.begin(), pops.end(), [&](auto& p) { return p.name == isn.population; });
        if (it == pops.end()) pr.fail("population", "unknown population '" + isn.population + "'");
        isn.population_index = std::size_t(it - pops.begin());
        isn.current_pA = pr.required_number("current_pA", range(-1e6, 1e6));
        isn.duration_ms = pr.required_number("duration_ms", range(0.0, sim.duration_ms, false, true));
        isn.start_ms =
            pr.required_number("start_ms", range(isn.duration_ms, sim.duration_ms - isn.duration_ms));
        pr.finish();
        rec.isn_probe = isn;
    }
    if (const toml::array* reports = r.array("reports")) {
        for (std::size_t i = 0; i < reports->size(); ++i) {
            const toml::node* n = reports->get(i);
            const std::string key = "reports[" + std::to_string(i) + "]";
            if (!n->is_table())
                r.fail_at(n, key, "expected a table {population, variables, neurons, interval_ms}");
            TomlReader rr(*n->as_table(), r.key_path(key), root.file());
            StateReportSpec s;
            s.population = rr.required_string("population");
            auto it = std::find_if(pops.begin(), pops.end(), [&](auto& p) { return p.name == s.population; });
            if (it == pops.end()) rr.fail("population", "unknown population '" + s.population + "'");
            s.population_index = std::size_t(it - pops.begin());
            // The report file has one group per population (SONATA), so a second report on the same
            // population cannot be written: refuse it here rather than fail when the run starts.
            for (std::size_t j = 0; j < rec.reports.size(); ++j)
                if (rec.reports[j].population_index == s.population_index)
                    rr.fail("population", "a second report on population '" + s.population + "' (reports[" +
                                              std::to_string(j) +
                                              "] already records it): list all its variables in one report");
            const auto* model = builtin_models().find(it->model);
            GroupSetup probe;
            probe.size = 1;
            probe.dt_ms = sim.dt_ms;
            probe.params = it->params;
            probe.receptors = it->receptors;
            const auto names = model->create(probe)->state_names();
            if (names.empty())
                rr.fail("population", "population '" + s.population + "' has no state to report");
            if (const toml::array* vars = rr.array("variables")) {
                for (auto& v : *vars) {
                    const auto name = v.value<std::string>();
                    if (!name || std::find(names.begin(), names.end(), *name) == names.end())
                        rr.fail_at(&v, "variables",
                                   "unknown variable " + (name ? "'" + *name + "'" : "(not a string)") +
                                       " (has: " + join(names) + ")");
                    s.variables.push_back(*name);
                }
            } else {
                s.variables = names;
            }
            const toml::node* neurons = rr.node("neurons");
            if (!neurons || (neurons->is_string() && neurons->value<std::string>() == "all")) {
                for (std::uint32_t k = 0; k < it->size; ++k)
                    s.neurons.push_back(k);
            } else if (const auto* list = neurons->as_array()) {
                for (auto& v : *list) {
                    const auto id = v.value<std::int64_t>();
                    if (!v.is_integer() || *id < 0 || *id >= std::int64_t(it->size))
                        rr.fail_at(&v, "neurons",
                                   "neuron ids must be integers in [0, " + std::to_string(it->size) + ")");
                    s.neurons.push_back(std::uint32_t(*id));
                }
                std::sort(s.neurons.begin(), s.neurons.end());
                s.neurons.erase(std::unique(s.neurons.begin(), s.neurons.end()), s.neurons.end());
            } else {
                rr.fail("neurons", "expected \"all\" or a list of neuron ids");
            }
            s.interval_ms =
                rr.number("interval_ms", range(sim.dt_ms * (1 - 1e-9), 1e9, true, true, sim.dt_ms));
            rr.finish();
            rec.reports.push_back(s);
        }
    }
    r.finish();
    return rec;
}

Experiment lower(toml::table& root_table, const std::string& file, const std::vector<Override>& overrides) {
    for (const auto& o : overrides)
        apply_override(root_table, o, file);
    Experiment exp;
    exp.config_path = file;
    {
        std::ostringstream out;
        out << root_table;
        exp.resolved_toml = out.str();
    }
    TomlReader root(root_table, "", file);
    // Unknown top-level keys first: a misspelt [simulaton] should be reported as such, with a
    // suggestion, rather than as a missing [simulation].
    for (const char* key : {"simulation", "network", "drugs", "glutamate", "output", "populations",
                            "projections", "recording", "protocol"})
        root.allow(key);
    root.finish();
    exp.simulation = read_simulation(root);
    exp.drugs = read_drugs(root);
    if (const toml::table* network = root.table("network")) {
        TomlReader nr(*network, "network", file);
        exp.network.scale = nr.number("scale", range(0.0, 1.0, false, true, 1.0));
        exp.network.indegree_scale =
            nr.number("indegree_scale", range(0.0, 1.0, false, true, exp.network.scale));
        exp.network.weights_uint16 =
            nr.choice("weight_storage", {"float32", "uint16"}, "float32") == "uint16";
        nr.finish();
    }
    if (const toml::table* output = root.table("output")) {
        TomlReader o(*output, "output", file);
        exp.output_dir = o.string("dir", "");
        exp.checkpoint_every_ms = o.number("checkpoint_every_ms", range(0.0, 1e15, true, true, 0.0));
        o.finish();
    }
    const toml::array* pops = root.array("populations");
    if (!pops || pops->empty())
        root.fail("populations", "missing: at least one [[populations]] entry is needed");
    for (std::size_t i = 0; i < pops->size(); ++i) {
        const toml::node* n = pops->get(i);
        if (!n->is_table()) root.fail_at(n, "populations", "expected [[populations]] tables");
        exp.populations.push_back(
            read_population(*n->as_table(), i, file, exp.simulation, exp.network, exp.populations));
    }
    if (const toml::array* projs = root.array("projections")) {
        for (std::size_t i = 0; i < projs->size(); ++i) {
            const toml::node* n = projs->get(i);
            if (!n->is_table()) root.fail_at(n, "projections", "expected [[projections]] tables");
            exp.projections.push_back(read_projection(*n->as_table(), i, file, exp.network, exp.simulation,
                                                      exp.populations, exp.projections));
        }
    }
    // Drugs block every NMDA receptor (all pools share the drug; they differ in Mg2+ block): one blocker
    // per species -- a bath drug, a dosed drug and its metabolite -- in the order of exp.species.
    exp.species = drug_species(exp.drugs);
    // Kinetic (DMS) receptors with the Mg2+ block are NMDA receptors the drugs cannot reach: the trapping
    // block (models/exp_receptors.hpp) is written for the nmda shapes' gating. Refuse rather than ignore.
    if (!exp.species.empty())
        for (const auto& pop : exp.populations)
            for (const auto& receptor : pop.receptors)
                if (receptor.shape == ReceptorShape::kinetic && receptor.Mg_block)
                    root.fail_at(root.node("drugs"), "drugs",
                                 "population '" + pop.name + "', receptor '" + receptor.name +
                                     "' is kinetic (DMS) with the Mg2+ block: drugs do not block kinetic "
                                     "receptors; use shape = \"nmda\" for a drug-blockable NMDA receptor");
    for (auto& pop : exp.populations)
        for (auto& receptor : pop.receptors)
            if (receptor.shape == ReceptorShape::nmda)
                for (const auto& species : exp.species) {
                    receptor.blockers.push_back(species.block);
                    receptor.blocker_conc_uM.push_back(species.species == 0 && !exp.drugs[species.drug].pk
                                                           ? exp.drugs[species.drug].bath_uM
                                                           : 0.0);
                }
    exp.glutamate_pools = read_glutamate(root, file, exp.populations);
    apply_network_scale(exp, root_table);
    exp.recording = read_recording(root, exp.populations, exp.simulation);
    // The ISN probe is a current step into its population (the comparison is in summary.json).
    if (const auto& probe = exp.recording.isn_probe)
        exp.populations[probe->population_index].current_steps.push_back(
            {probe->start_ms, probe->start_ms + probe->duration_ms, probe->current_pA});
    exp.protocol = read_protocol(root, exp);
    if (exp.protocol && exp.simulation.drug_time_scale != 1.0)
        root.fail("simulation", "drug_time_scale and [protocol] both compress time: use one of them");
    root.finish();
    return exp;
}

} // namespace

Override parse_override(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InputError("--set '" + text + "': expected key=value, e.g. simulation.duration_ms=500");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

namespace {

// The node at a dotted --set key (array elements by name or index), or nullptr.
const toml::node* node_at(toml::table& root, const std::string& key) {
    std::vector<std::string> segments;
    std::stringstream ss(key);
    for (std::string s; std::getline(ss, s, '.');)
        segments.push_back(s);
    toml::node* node = &root;
    for (const std::string& segment : segments) {
        if (auto* table = node->as_table())
            node = table->get(segment);
        else if (auto* array = node->as_array())
            node = find_array_element(*array, segment);
        else
            return nullptr;
        if (!node) return nullptr;
    }
    return node;
}

std::string node_text(const toml::node* node) {
    if (!node) return "(absent)";
    std::ostringstream out;
    node->visit([&](auto&& n) { out << n; });
    return out.str();
}

} // namespace

bool config_holds(const std::string& toml_text, const std::string& name, const Override& o,
                  std::string& found) {
    toml::table saved;
    try {
        saved = toml::parse(toml_text, name);
    } catch (const toml::parse_error& e) {
        throw ConfigError(name, int(e.source().begin.line), int(e.source().begin.column), "",
                          "invalid TOML: " + std::string(e.description()));
    }
    found = node_text(node_at(saved, o.key));
    toml::table expected = saved;
    try {
        apply_override(expected, o, name);
    } catch (const ConfigError&) {
        return false; // the key cannot exist in this document
    }
    if (expected == saved) return true;
    const toml::node* a = node_at(saved, o.key);
    const toml::node* b = node_at(expected, o.key);
    const auto number = [](const toml::node* n) { return n ? n->value<double>() : std::nullopt; };
    return a && b && a->is_number() && b->is_number() && number(a) == number(b);
}

Experiment load_experiment_from_string(const std::string& toml_text, const std::string& name,
                                       const std::vector<Override>& overrides) {
    toml::table table;
    try {
        table = toml::parse(toml_text, name);
    } catch (const toml::parse_error& e) {
        throw ConfigError(name, int(e.source().begin.line), int(e.source().begin.column), "",
                          "invalid TOML: " + std::string(e.description()));
    }
    return lower(table, name, overrides);
}

Experiment load_experiment(const std::string& path, const std::vector<Override>& overrides) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw InputError(path + ": config file not found");
    if (std::filesystem::is_directory(path, ec))
        throw InputError(path + ": is a directory, not a config file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot read config file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return load_experiment_from_string(buffer.str(), path, overrides);
}

const char* rule_name(ConnectionRule rule) {
    switch (rule) {
    case ConnectionRule::one_to_one:
        return "one_to_one";
    case ConnectionRule::all_to_all:
        return "all_to_all";
    case ConnectionRule::fixed_probability:
        return "fixed_probability";
    case ConnectionRule::fixed_indegree:
        return "fixed_indegree";
    case ConnectionRule::fixed_outdegree:
        return "fixed_outdegree";
    case ConnectionRule::fixed_total_number:
        return "fixed_total_number";
    }
    return "?";
}

} // namespace ketaplast
