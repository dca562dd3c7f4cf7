#include "sim/config_loader.hpp"

#include "models/registry.hpp"
#include "sim/network_scaling.hpp"
#include "sim/toml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace ketaplast {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

ParamDef range(double min, double max, bool min_inclusive = true, bool max_inclusive = true, double def = 0.0) {
    return ParamDef{"", def, min, max, min_inclusive, max_inclusive, ""};
}

// Numbers in messages as the user wrote them (0.05, -50), not std::to_string's 0.050000.
std::string number_text(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

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
    auto fail = [&](const std::string& reason) {
        throw ConfigError(file, 0, 0, o.key, "--set: " + reason);
    };
    std::vector<std::string> segments;
    std::stringstream ss(o.key);
    for (std::string s; std::getline(ss, s, '.');) segments.push_back(s);
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
            if (i + 1 >= segments.size()) fail("'" + segments[i - 1] + "' is a list: name an element, then a key");
            toml::node* element = find_array_element(*array, segments[i]);
            if (!element || !element->is_table()) {
                std::vector<std::string> names;
                for (auto& e : *array)
                    if (auto* t = e.as_table())
                        if (auto n = t->get_as<std::string>("name")) names.push_back(n->get());
                fail("no element named '" + segments[i] + "' in '" + segments[i - 1] + "' (known: " + join(names) + ")");
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
        parsed.insert("value", o.value);  // a bare word: take it as a string
    }
    parsed.get("value")->visit([&](auto&& node) { table->insert_or_assign(segments.back(), node); });
}

// ---------------------------------------------------------------------------------------------

SimulationSpec read_simulation(TomlReader& root) {
    SimulationSpec sim;
    const toml::table* t = root.table("simulation");
    if (!t) root.fail("simulation", "missing table [simulation] (dt_ms, duration_ms, seed)");
    TomlReader r(*t, "simulation", root.file());
    sim.dt_ms = r.number("dt_ms", range(0.0, 10.0, false, true, 0.1));
    sim.duration_ms = r.required_number("duration_ms", range(0.0, 1e10, false, true));
    // A run of round(duration / dt) = 0 steps would "complete" without simulating anything.
    if (std::llround(sim.duration_ms / sim.dt_ms) < 1)
        r.fail("duration_ms", "value " + number_text(sim.duration_ms) + " is shorter than one time step (dt_ms = " +
                                  number_text(sim.dt_ms) + ")");
    sim.seed = std::uint64_t(r.integer("seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
    sim.threads = int(r.integer("threads", 0, 0, 4096));
    r.finish();
    return sim;
}

PositionSpec read_positions(const toml::table& t, const std::string& path, const std::string& file) {
    TomlReader r(t, path, file);
    PositionSpec p;
    const std::string layout = r.choice("layout", {"grid", "random_box", "column"}, "random_box");
    p.layout = layout == "grid" ? PositionSpec::Layout::grid
               : layout == "column" ? PositionSpec::Layout::column
                                    : PositionSpec::Layout::random_box;
    auto origin = r.number_array("origin_um", 3, range(-1e7, 1e7));
    if (!origin.empty()) std::copy(origin.begin(), origin.end(), p.origin_um);
    if (p.layout == PositionSpec::Layout::column) {
        p.radius_um = r.number("radius_um", range(0.0, 1e7, false, true, 100.0));
        auto depth = r.number_array("depth_um", 2, range(-1e7, 1e7));
        if (!depth.empty()) {
            if (!(depth[1] > depth[0])) r.fail("depth_um", "expected [top, bottom] with bottom > top");
            p.depth_um[0] = depth[0];
            p.depth_um[1] = depth[1];
        }
    } else {
        auto extent = r.number_array("extent_um", 3, range(0.0, 1e7));
        if (!extent.empty()) std::copy(extent.begin(), extent.end(), p.extent_um);
    }
    r.finish();
    return p;
}

std::vector<std::vector<double>> read_spike_times_file(const std::string& path, std::uint32_t size,
                                                      TomlReader& r, const std::string& key) {
    std::ifstream in(path);
    if (!in) r.fail(key, "cannot read spike-times file '" + path + "'");
    std::vector<std::vector<double>> times(size);
    std::string line;
    for (int line_no = 1; std::getline(in, line); ++line_no) {
        const auto hash = line.find('#');
        if (hash != std::string::npos) line.erase(hash);
        std::replace(line.begin(), line.end(), ',', ' ');
        std::istringstream fields(line);
        std::string neuron_text, time_text, extra;
        if (!(fields >> neuron_text)) continue;  // blank or comment line
        // Exactly two fields, an integer and a finite number: "1.5 2.0" must not be read as neuron 1
        // at 0.5 ms, and a stray word must not be skipped silently.
        std::int64_t neuron = 0;
        double t_ms = 0;
        const char* const neuron_last = neuron_text.data() + neuron_text.size();
        const auto [neuron_end, neuron_ec] = std::from_chars(neuron_text.data(), neuron_last, neuron);
        bool valid = neuron_ec == std::errc() && neuron_end == neuron_last && (fields >> time_text) && !(fields >> extra);
        if (valid) {
            char* time_end = nullptr;
            t_ms = std::strtod(time_text.c_str(), &time_end);
            valid = time_end == time_text.c_str() + time_text.size() && std::isfinite(t_ms);
        }
        if (!valid) {
            const auto first = line.find_first_not_of(" \t\r"), last = line.find_last_not_of(" \t\r");
            r.fail(key, path + ":" + std::to_string(line_no) + ": expected 'neuron_index time_ms', got '" +
                            line.substr(first, last - first + 1) + "'");
        }
        if (neuron < 0 || neuron >= std::int64_t(size))
            r.fail(key, path + ":" + std::to_string(line_no) + ": neuron index " + std::to_string(neuron) +
                            " outside [0, " + std::to_string(size) + ")");
        if (t_ms <= 0) r.fail(key, path + ":" + std::to_string(line_no) + ": spike time must be > 0 ms");
        times[std::size_t(neuron)].push_back(t_ms);
    }
    return times;
}

PopulationSpec read_population(const toml::table& t, std::size_t index, const std::string& file,
                               const SimulationSpec& sim, const NetworkSpec& net,
                               const std::vector<PopulationSpec>& earlier) {
    TomlReader r(t, "populations[" + std::to_string(index) + "]", file);
    PopulationSpec pop;
    pop.name = r.required_string("name");
    if (pop.name.empty() || pop.name.find_first_of(". /\\") != std::string::npos)
        r.fail("name", "must be non-empty without '.', '/', '\\' or spaces");
    for (const auto& other : earlier)
        if (other.name == pop.name) r.fail("name", "duplicate population name '" + pop.name + "'");
    TomlReader named(t, "populations." + pop.name, file);
    TomlReader& p = named;
    p.allow("name");
    pop.full_size = std::uint32_t(p.required_integer("size", 1, 100'000'000));
    // Rounded half to even (the default rounding mode), as numpy.round in the NEST microcircuit example.
    pop.size = std::uint32_t(std::max(1.0, std::nearbyint(pop.full_size * net.scale)));
    pop.dc_pA = p.number("dc_pA", range(-1e6, 1e6));
    pop.reference_rate_Hz = p.optional_number("reference_rate_Hz", range(0.0, 1e4));
    const auto& registry = builtin_models();
    pop.model = p.string("model", "");
    const ModelInfo* model = registry.find(pop.model);
    if (!model) {
        if (pop.model.empty()) p.fail("model", "missing (one of: " + join(registry.names()) + ")");
        const std::string near = closest_key(pop.model, registry.names());
        p.fail("model", "unknown model \"" + pop.model + "\"" + (near.empty() ? "" : "; did you mean \"" + near + "\"?") +
                            " (known: " + join(registry.names()) + ")");
    }

    // Model parameters, validated against the model's own schema.
    pop.params = ParamValues::defaults(model->params);
    if (const toml::table* params = p.table("params")) {
        TomlReader pr(*params, p.key_path("params"), file);
        for (const auto& def : model->params) pop.params.set(def.key, pr.number(def.key, def));
        pr.finish();
    }
    // Any model with a reset and a threshold (or spike cut-off) needs the reset below it.
    if (pop.params.has("V_reset_mV") && (pop.params.has("V_th_mV") || pop.params.has("V_peak_mV"))) {
        const char* threshold_key = pop.params.has("V_th_mV") ? "V_th_mV" : "V_peak_mV";
        const double reset = pop.params.get("V_reset_mV");
        const double threshold = pop.params.get(threshold_key);
        if (!(reset < threshold)) {
            const std::string reason = "V_reset_mV = " + number_text(reset) + " must be below " + threshold_key +
                                       " = " + number_text(threshold);
            // Point at the reset value if it was written, else at the threshold, else at the population.
            if (const toml::table* params = p.table("params")) {
                TomlReader pr(*params, p.key_path("params"), file);
                if (params->get("V_reset_mV")) pr.fail("V_reset_mV", reason);
                if (params->get(threshold_key)) pr.fail(threshold_key, reason);
            }
            p.fail("params", reason);
        }
    }
    const std::string weight_unit = model->receptor_kind == ReceptorKind::conductance ? "nS" : "pA";

    if (model->kind == ModelKind::neuron) {
        const toml::table* receptors = p.table("receptors");
        if (receptors) {
            for (auto&& [k, v] : *receptors) {
                const std::string name(k.str());
                if (!v.is_table())
                    p.fail_at(&v, "receptors." + name, "expected a table {tau_ms = ..., E_rev_mV = ...}");
                TomlReader rr(*v.as_table(), p.key_path("receptors." + name), file);
                ReceptorSpec spec;
                spec.name = name;
                spec.tau_ms = rr.required_number("tau_ms", range(0.0, 1e6, false, true));
                if (model->receptor_kind == ReceptorKind::conductance)
                    spec.E_rev_mV = rr.required_number("E_rev_mV", range(-200.0, 200.0));
                rr.finish();
                pop.receptors.push_back(spec);
            }
        }
        if (const toml::table* initial = p.table("initial")) {
            // Valid names come from a model instance's state arrays (V_m_mV, g_<receptor>_nS, ...).
            GroupSetup probe;
            probe.size = 1;
            probe.dt_ms = sim.dt_ms;
            probe.params = pop.params;
            probe.receptors = pop.receptors;
            const auto names = model->create(probe)->state_names();
            TomlReader ir(*initial, p.key_path("initial"), file);
            for (const auto& name : names)
                if (ir.has(name)) pop.initial[name] = ir.distribution(name, range(-1e6, 1e6));
            ir.finish();
        }
        if (const toml::table* drive = p.table("poisson_drive")) {
            TomlReader dr(*drive, p.key_path("poisson_drive"), file);
            PoissonDriveSpec d;
            d.receptor = dr.required_string("receptor");
            auto it = std::find_if(pop.receptors.begin(), pop.receptors.end(),
                                   [&](const ReceptorSpec& s) { return s.name == d.receptor; });
            if (it == pop.receptors.end()) {
                std::vector<std::string> names;
                for (auto& s : pop.receptors) names.push_back(s.name);
                dr.fail("receptor", "population '" + pop.name + "' has no receptor '" + d.receptor + "' (has: " +
                                        join(names) + ")");
            }
            d.receptor_index = std::size_t(it - pop.receptors.begin());
            d.rate_Hz = dr.required_number("rate_Hz", range(0.0, 1e5));
            d.inputs = dr.number("inputs", range(0.0, 1e7, true, true, 1.0));
            d.weight = dr.required_number("weight_" + weight_unit,
                                          model->receptor_kind == ReceptorKind::conductance ? range(0.0, 1e6)
                                                                                            : range(-1e6, 1e6));
            d.mean_only = dr.choice("mode", {"poisson", "mean"}, "poisson") == "mean";
            dr.finish();
            pop.poisson_drive = d;
        }
        if (const toml::array* steps = p.array("current_steps")) {
            for (std::size_t i = 0; i < steps->size(); ++i) {
                const toml::node* n = steps->get(i);
                const std::string key = "current_steps[" + std::to_string(i) + "]";
                if (!n->is_table()) p.fail_at(n, key, "expected a table {start_ms, stop_ms, amplitude_pA}");
                TomlReader sr(*n->as_table(), p.key_path(key), file);
                CurrentStepSpec s;
                s.start_ms = sr.required_number("start_ms", range(0.0, inf));
                s.stop_ms = sr.required_number("stop_ms", range(0.0, inf));
                s.amplitude_pA = sr.required_number("amplitude_pA", range(-1e6, 1e6));
                if (!(s.stop_ms > s.start_ms)) sr.fail("stop_ms", "must be greater than start_ms");
                sr.finish();
                pop.current_steps.push_back(s);
            }
        }
    } else if (pop.model == "poisson_source") {
        if (const toml::array* schedule = p.array("rate_schedule")) {
            for (std::size_t i = 0; i < schedule->size(); ++i) {
                const toml::node* n = schedule->get(i);
                const auto* pair = n->as_array();
                if (!pair || pair->size() != 2 || !pair->get(0)->is_number() || !pair->get(1)->is_number())
                    p.fail_at(n, "rate_schedule", "element " + std::to_string(i) + ": expected [time_ms, rate_Hz]");
                const double t_ms = pair->get(0)->value<double>().value();
                const double rate = pair->get(1)->value<double>().value();
                if (t_ms < 0 || rate < 0 || rate > 1e4 || !std::isfinite(t_ms))
                    p.fail_at(n, "rate_schedule",
                              "element " + std::to_string(i) + ": need time_ms >= 0 and rate_Hz in [0, 10000]");
                pop.rate_schedule.emplace_back(t_ms, rate);
            }
        }
    } else if (pop.model == "spike_times") {
        const toml::array* inline_times = p.array("spike_times_ms");
        const bool has_file = p.has("spike_times_file");
        if (inline_times && has_file) p.fail("spike_times_file", "give either spike_times_ms or spike_times_file, not both");
        if (!inline_times && !has_file)
            p.fail("spike_times_ms", "missing: a spike_times source needs spike_times_ms = [[...], ...] or spike_times_file");
        if (inline_times) {
            if (inline_times->size() != pop.size)
                p.fail("spike_times_ms", "expected one list per neuron (" + std::to_string(pop.size) + "), got " +
                                             std::to_string(inline_times->size()));
            for (std::size_t i = 0; i < inline_times->size(); ++i) {
                const toml::node* n = inline_times->get(i);
                const auto* list = n->as_array();
                if (!list) p.fail_at(n, "spike_times_ms", "element " + std::to_string(i) + ": expected a list of times");
                std::vector<double> times;
                for (auto& tn : *list) {
                    if (!tn.is_number() || !(tn.value<double>().value() > 0))
                        p.fail_at(&tn, "spike_times_ms", "neuron " + std::to_string(i) + ": spike times must be numbers > 0 ms");
                    times.push_back(tn.value<double>().value());
                }
                pop.spike_times_ms.push_back(times);
            }
        } else {
            std::filesystem::path path = p.string("spike_times_file", "");
            if (path.is_relative()) path = std::filesystem::path(file).parent_path() / path;
            pop.spike_times_ms = read_spike_times_file(path.string(), pop.size, p, "spike_times_file");
        }
    }
    if (const toml::table* positions = p.table("positions"))
        pop.positions = read_positions(*positions, p.key_path("positions"), file);
    p.finish();
    return pop;
}

ProjectionSpec read_projection(const toml::table& t, std::size_t index, const std::string& file,
                               const NetworkSpec& network,
                               const SimulationSpec& sim, const std::vector<PopulationSpec>& pops,
                               const std::vector<ProjectionSpec>& earlier) {
    TomlReader r0(t, "projections[" + std::to_string(index) + "]", file);
    ProjectionSpec proj;
    proj.source = r0.required_string("source");
    proj.target = r0.required_string("target");
    proj.name = r0.string("name", proj.source + "_to_" + proj.target);
    for (const auto& other : earlier)
        if (other.name == proj.name)
            r0.fail("name", "duplicate projection name '" + proj.name + "' (give each projection a unique name)");
    TomlReader r(t, "projections." + proj.name, file);
    r.allow("name");
    r.allow("source");
    r.allow("target");

    std::vector<std::string> pop_names;
    for (const auto& p : pops) pop_names.push_back(p.name);
    auto find_pop = [&](const std::string& key, const std::string& name) {
        for (std::size_t i = 0; i < pops.size(); ++i)
            if (pops[i].name == name) return i;
        const std::string near = closest_key(name, pop_names);
        r.fail(key, "unknown population '" + name + "'" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
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
    for (const auto& s : target.receptors) receptor_names.push_back(s.name);
    auto it = std::find(receptor_names.begin(), receptor_names.end(), proj.receptor);
    if (it == receptor_names.end())
        r.fail("receptor", "target population '" + target.name + "' has no receptor '" + proj.receptor + "' (has: " +
                               (receptor_names.empty() ? std::string("none; add [populations.receptors]")
                                                       : join(receptor_names)) +
                               ")");
    proj.receptor_index = std::size_t(it - receptor_names.begin());

    const std::string rule =
        r.choice("rule",
                 {"one_to_one", "all_to_all", "fixed_probability", "fixed_indegree", "fixed_outdegree", "fixed_total_number"},
                 "");
    const std::uint32_t n_source = pops[proj.source_index].size, n_target = target.size;
    const bool same = proj.source_index == proj.target_index;
    proj.autapses = r.boolean("autapses", false);
    proj.multapses = r.boolean("multapses", false);
    if (rule == "one_to_one") {
        proj.rule = ConnectionRule::one_to_one;
        proj.full_indegree = 1.0;
        if (same && !proj.autapses)
            r.fail("rule", "one_to_one from population '" + target.name +
                               "' onto itself connects each neuron to itself: set autapses = true if that is meant");
        if (n_source != n_target)
            r.fail("rule", "one_to_one needs equal sizes (source " + std::to_string(n_source) + ", target " +
                               std::to_string(n_target) + ")");
    } else if (rule == "all_to_all") {
        proj.rule = ConnectionRule::all_to_all;
        proj.full_indegree = pops[proj.source_index].full_size;
        if (network.indegree_scale != network.scale)
            r.fail("rule", "all_to_all cannot keep in-degrees at network.indegree_scale when neurons scale by "
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
                                          " the probability would exceed 1 (" + number_text(proj.probability) + ")");
        }
    } else if (rule == "fixed_total_number") {
        // Potjans & Diesmann (2014): a fixed number of synapses, each between a source and a target
        // drawn uniformly (with multapses; autapses as set).
        proj.rule = ConnectionRule::fixed_total_number;
        const double n_pre = pops[proj.source_index].full_size, n_post = target.full_size;
        if (r.has("total") == r.has("probability"))
            r.fail("total", "give either total (number of synapses) or probability (converted to a total as in "
                            "Potjans & Diesmann 2014), not both or neither");
        if (r.has("total")) {
            proj.full_total = double(r.required_integer("total", 0, 100'000'000'000));
        } else {
            // Potjans & Diesmann (2014), NEST example helpers.num_synapses_from_conn_probs: the number of
            // synapses that, placed at random, connects a pair with probability p:
            //   K = ln(1 - p) / ln((N_pre N_post - 1) / (N_pre N_post)), from the full-scale sizes.
            const double prob = r.required_number("probability", range(0.0, 1.0, true, false));
            const double pairs_full = n_pre * n_post;
            proj.full_total = pairs_full > 1 ? std::log1p(-prob) / std::log((pairs_full - 1.0) / pairs_full) : 0.0;
        }
        // Neurons and in-degrees both scale: the total goes with scale^2.
        // Neurons scale with `scale`, in-degrees with `indegree_scale`: the total goes with both.
        proj.total = std::uint64_t(std::nearbyint(proj.full_total * network.scale * network.indegree_scale));
        proj.full_indegree = n_post > 0 ? proj.full_total / n_post : 0.0;
        if (!proj.multapses)
            r.fail("multapses", "fixed_total_number draws pairs with replacement: set multapses = true");
        const std::uint64_t pairs = std::uint64_t(n_source) * n_target - ((same && !proj.autapses) ? n_target : 0);
        if (proj.total > 0 && pairs == 0) r.fail("total", "no pair available (a single neuron without autapses)");
    } else {
        proj.rule = rule == "fixed_indegree" ? ConnectionRule::fixed_indegree : ConnectionRule::fixed_outdegree;
        const char* key = rule == "fixed_indegree" ? "indegree" : "outdegree";
        const std::int64_t full_degree = r.required_integer(key, 0, 100'000'000);
        // In-degrees (out-degrees) scale with the network (sim/network_scaling.cpp).
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
    if (r.has(conductance ? "weight_pA" : "weight_nS") && !r.has(weight_key))
        r.fail(conductance ? "weight_pA" : "weight_nS",
               "receptor '" + proj.receptor + "' of '" + target.name + "' is a " +
                   (conductance ? "conductance: give weight_nS" : "current: give weight_pA"));
    proj.weight = r.distribution(weight_key, conductance ? range(0.0, 1e6) : range(-1e6, 1e6));
    // A delay must be at least one step: the engine exchanges spikes once per minimum delay.
    const ParamDef delay_range{"", sim.dt_ms, sim.dt_ms * (1.0 - 1e-9), 65000.0 * sim.dt_ms, true, true, ""};
    if (!r.has("delay_ms")) r.fail("delay_ms", "missing (a number >= dt_ms = " + number_text(sim.dt_ms) + ")");
    const toml::node* delay_node = r.node("delay_ms");
    if (delay_node->is_number() && delay_node->value<double>().value() < sim.dt_ms * (1.0 - 1e-9))
        r.fail("delay_ms", "delay " + number_text(delay_node->value<double>().value()) +
                               " ms is shorter than the time step dt_ms = " + number_text(sim.dt_ms) +
                               " (a delay must be at least one step)");
    proj.delay_ms = r.distribution("delay_ms", delay_range);
    r.finish();
    return proj;
}

RecordingSpec read_recording(TomlReader& root, const std::vector<PopulationSpec>& pops, const SimulationSpec& sim) {
    RecordingSpec rec;
    const toml::table* t = root.table("recording");
    if (!t) return rec;
    TomlReader r(*t, "recording", root.file());
    rec.spikes = r.boolean("spikes", true);
    rec.rate_bin_ms = r.number("rate_bin_ms", range(sim.dt_ms, 1e7, true, true, std::max(1.0, sim.dt_ms)));
    if (const toml::array* reports = r.array("reports")) {
        for (std::size_t i = 0; i < reports->size(); ++i) {
            const toml::node* n = reports->get(i);
            const std::string key = "reports[" + std::to_string(i) + "]";
            if (!n->is_table()) r.fail_at(n, key, "expected a table {population, variables, neurons, interval_ms}");
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
                                              std::to_string(j) + "] already records it): list all its variables in one report");
            const auto* model = builtin_models().find(it->model);
            GroupSetup probe;
            probe.size = 1;
            probe.dt_ms = sim.dt_ms;
            probe.params = it->params;
            probe.receptors = it->receptors;
            const auto names = model->create(probe)->state_names();
            if (names.empty()) rr.fail("population", "population '" + s.population + "' has no state to report");
            if (const toml::array* vars = rr.array("variables")) {
                for (auto& v : *vars) {
                    const auto name = v.value<std::string>();
                    if (!name || std::find(names.begin(), names.end(), *name) == names.end())
                        rr.fail_at(&v, "variables", "unknown variable " + (name ? "'" + *name + "'" : "(not a string)") +
                                                        " (has: " + join(names) + ")");
                    s.variables.push_back(*name);
                }
            } else {
                s.variables = names;
            }
            const toml::node* neurons = rr.node("neurons");
            if (!neurons || (neurons->is_string() && neurons->value<std::string>() == "all")) {
                for (std::uint32_t k = 0; k < it->size; ++k) s.neurons.push_back(k);
            } else if (const auto* list = neurons->as_array()) {
                for (auto& v : *list) {
                    const auto id = v.value<std::int64_t>();
                    if (!v.is_integer() || *id < 0 || *id >= std::int64_t(it->size))
                        rr.fail_at(&v, "neurons", "neuron ids must be integers in [0, " + std::to_string(it->size) + ")");
                    s.neurons.push_back(std::uint32_t(*id));
                }
                std::sort(s.neurons.begin(), s.neurons.end());
                s.neurons.erase(std::unique(s.neurons.begin(), s.neurons.end()), s.neurons.end());
            } else {
                rr.fail("neurons", "expected \"all\" or a list of neuron ids");
            }
            s.interval_ms = rr.number("interval_ms", range(sim.dt_ms * (1 - 1e-9), 1e9, true, true, sim.dt_ms));
            rr.finish();
            rec.reports.push_back(s);
        }
    }
    r.finish();
    return rec;
}

Experiment lower(toml::table& root_table, const std::string& file, const std::vector<Override>& overrides) {
    for (const auto& o : overrides) apply_override(root_table, o, file);
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
    for (const char* key : {"simulation", "network", "output", "populations", "projections", "recording"})
        root.allow(key);
    root.finish();
    exp.simulation = read_simulation(root);
    if (const toml::table* network = root.table("network")) {
        TomlReader nr(*network, "network", file);
        exp.network.scale = nr.number("scale", range(0.0, 1.0, false, true, 1.0));
        exp.network.indegree_scale = nr.number("indegree_scale", range(0.0, 1.0, false, true, exp.network.scale));
        exp.network.weights_uint16 = nr.choice("weight_storage", {"float32", "uint16"}, "float32") == "uint16";
        nr.finish();
    }
    if (const toml::table* output = root.table("output")) {
        TomlReader o(*output, "output", file);
        exp.output_dir = o.string("dir", "");
        o.finish();
    }
    const toml::array* pops = root.array("populations");
    if (!pops || pops->empty()) root.fail("populations", "missing: at least one [[populations]] entry is needed");
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
            exp.projections.push_back(
                read_projection(*n->as_table(), i, file, exp.network, exp.simulation, exp.populations, exp.projections));
        }
    }
    apply_network_scale(exp, root_table);
    exp.recording = read_recording(root, exp.populations, exp.simulation);
    root.finish();
    return exp;
}

}  // namespace

Override parse_override(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw InputError("--set '" + text + "': expected key=value, e.g. simulation.duration_ms=500");
    return {text.substr(0, eq), text.substr(eq + 1)};
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
    if (std::filesystem::is_directory(path, ec)) throw InputError(path + ": is a directory, not a config file");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw InputError(path + ": cannot read config file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return load_experiment_from_string(buffer.str(), path, overrides);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

const char* rule_name(ConnectionRule rule) {
    switch (rule) {
    case ConnectionRule::one_to_one: return "one_to_one";
    case ConnectionRule::all_to_all: return "all_to_all";
    case ConnectionRule::fixed_probability: return "fixed_probability";
    case ConnectionRule::fixed_indegree: return "fixed_indegree";
    case ConnectionRule::fixed_outdegree: return "fixed_outdegree";
    case ConnectionRule::fixed_total_number: return "fixed_total_number";
    }
    return "?";
}

}  // namespace ketaplast
