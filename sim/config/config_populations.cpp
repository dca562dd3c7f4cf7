// [[populations]]: size, model and its parameters, receptors, initial values, drive, currents,
// sources' rates and spike times, positions.
#include "sim/config/config_sections.hpp"

#include "core/error.hpp"
#include "models/kinetic_receptor.hpp"
#include "models/registry.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

namespace ketaplast::config_detail {

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
} // namespace

namespace {

PositionSpec read_positions(const toml::table& t, const std::string& path, const std::string& file) {
    TomlReader r(t, path, file);
    PositionSpec p;
    const std::string layout = r.choice("layout", {"grid", "random_box", "column"}, "random_box");
    p.layout = layout == "grid"     ? PositionSpec::Layout::grid
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
        if (!(fields >> neuron_text)) continue; // blank or comment line
        // Exactly two fields, an integer and a finite number: "1.5 2.0" must not be read as neuron 1
        // at 0.5 ms, and a stray word must not be skipped silently.
        std::int64_t neuron = 0;
        double t_ms = 0;
        const char* const neuron_last = neuron_text.data() + neuron_text.size();
        const auto [neuron_end, neuron_ec] = std::from_chars(neuron_text.data(), neuron_last, neuron);
        bool valid = neuron_ec == std::errc() && neuron_end == neuron_last && (fields >> time_text) &&
                     !(fields >> extra);
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

// shape = "kinetic": Destexhe-Mainen-Sejnowski two-state receptor (docs/science.md §2.2,
// models/kinetic_receptor.hpp). A preset gives the rates (and E_rev, Mg2+ block) of §2.2; without one,
// alpha and beta are required. The pulse must be a whole number of steps (pulses start and end on steps).
void read_kinetic_receptor(TomlReader& rr, ReceptorSpec& spec, ReceptorKind kind, const std::string& model,
                           double dt_ms) {
    spec.shape = ReceptorShape::kinetic;
    std::vector<std::string> preset_names{"none"};
    for (const auto& p : kinetic_presets())
        preset_names.push_back(p.name);
    const std::string preset_name = rr.choice("preset", preset_names, "none");
    const KineticPreset* preset = nullptr;
    for (const auto& p : kinetic_presets())
        if (preset_name == p.name) preset = &p;
    auto rate = [&](const char* key, double preset_value) {
        const ParamDef r = range(0.0, 1e4, false, true, preset_value);
        return preset ? rr.number(key, r) : rr.required_number(key, r);
    };
    spec.alpha_per_mM_per_ms = rate("alpha_per_mM_per_ms", preset ? preset->alpha_per_mM_per_ms : 0.0);
    spec.beta_per_ms = rate("beta_per_ms", preset ? preset->beta_per_ms : 0.0);
    spec.T_max_mM = rr.number("T_max_mM", range(0.0, 1e3, false, true, 1.0));
    spec.C_dur_ms = rr.number("C_dur_ms", range(0.0, 1e3, false, true, 1.0));
    if (kinetic_pulse_steps(spec.C_dur_ms, dt_ms) < 1)
        rr.fail("C_dur_ms", "the transmitter pulse must last a whole number (>= 1) of steps of dt = " +
                                number_text(dt_ms) + " ms (pulses start and end on step boundaries); got " +
                                number_text(spec.C_dur_ms / dt_ms) + " steps");
    if (kind == ReceptorKind::conductance)
        spec.E_rev_mV = preset ? rr.number("E_rev_mV", range(-200.0, 200.0, true, true, preset->E_rev_mV))
                               : rr.required_number("E_rev_mV", range(-200.0, 200.0));
    spec.Mg_block = rr.boolean("Mg_block", preset && preset->Mg_block);
    if (spec.Mg_block) {
        if (kind != ReceptorKind::conductance)
            rr.fail(rr.has("Mg_block") ? "Mg_block" : "preset",
                    "the Mg2+ block acts on a conductance; '" + model +
                        "' is current-based (set Mg_block = false, or use a conductance-based model)");
        // docs/science.md §2.3 (as for shape = "nmda").
        spec.Mg_mM = rr.number("Mg_mM", range(0.0, 100.0, true, true, 1.0));
        spec.K_Mg0_mM = rr.number("K_Mg0_mM", range(0.0, 1e4, false, true, 3.57));
        spec.Mg_slope_per_mV = rr.number("Mg_slope_per_mV", range(0.0, 1.0, true, true, 0.062));
    }
    if (rr.has("tau_ms"))
        rr.fail("tau_ms", "a kinetic receptor has no tau_ms: it decays with beta_per_ms (1 / beta = " +
                              number_text(1.0 / spec.beta_per_ms) + " ms)");
}

} // namespace

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
    pop.reference_rate_Hz = p.optional_number("reference_rate_Hz", range(0.0, 1e4));
    const auto& registry = builtin_models();
    pop.model = p.string("model", "");
    const ModelInfo* model = registry.find(pop.model);
    if (!model) {
        if (pop.model.empty()) p.fail("model", "missing (one of: " + join(registry.names()) + ")");
        const std::string near = closest_key(pop.model, registry.names());
        p.fail("model", "unknown model \"" + pop.model + "\"" +
                            (near.empty() ? "" : "; did you mean \"" + near + "\"?") +
                            " (known: " + join(registry.names()) + ")");
    }

    // Model parameters, validated against the model's own schema.
    pop.params = ParamValues::defaults(model->params);
    if (const toml::table* params = p.table("params")) {
        TomlReader pr(*params, p.key_path("params"), file);
        for (const auto& def : model->params)
            pop.params.set(def.key, pr.number(def.key, def));
        pr.finish();
    }
    // Any model with a reset and a threshold (or spike cut-off) needs the reset below it.
    if (pop.params.has("V_reset_mV") && (pop.params.has("V_th_mV") || pop.params.has("V_peak_mV"))) {
        const char* threshold_key = pop.params.has("V_th_mV") ? "V_th_mV" : "V_peak_mV";
        const double reset = pop.params.get("V_reset_mV");
        const double threshold = pop.params.get(threshold_key);
        if (!(reset < threshold)) {
            const std::string reason = "V_reset_mV = " + number_text(reset) + " must be below " +
                                       threshold_key + " = " + number_text(threshold);
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
        pop.dc_pA = p.number("dc_pA", range(-1e6, 1e6)); // spike sources take no current
        const toml::table* receptors = p.table("receptors");
        if (receptors) {
            for (auto&& [k, v] : *receptors) {
                const std::string name(k.str());
                if (!v.is_table())
                    p.fail_at(&v, "receptors." + name, "expected a table {tau_ms = ..., E_rev_mV = ...}");
                if (pop.receptors.size() >= 255)
                    p.fail_at(&v, "receptors." + name, "at most 255 receptors per population");
                TomlReader rr(*v.as_table(), p.key_path("receptors." + name), file);
                ReceptorSpec spec;
                spec.name = name;
                if (name.empty() || name.find_first_of(". /\\") != std::string::npos)
                    p.fail_at(&v, "receptors." + name,
                              "receptor names must be non-empty without '.', '/', '\\' or spaces");
                const std::string shape =
                    rr.choice("shape", {"exponential", "nmda", "nmda_saturating", "kinetic"}, "exponential");
                if (shape == "kinetic") {
                    read_kinetic_receptor(rr, spec, model->receptor_kind, pop.model, sim.dt_ms);
                    rr.finish();
                    pop.receptors.push_back(spec);
                    continue;
                }
                spec.tau_ms = rr.required_number("tau_ms", range(0.0, 1e6, false, true));
                if (model->receptor_kind == ReceptorKind::conductance)
                    spec.E_rev_mV = rr.required_number("E_rev_mV", range(-200.0, 200.0));
                if (shape == "nmda" || shape == "nmda_saturating") {
                    if (model->receptor_kind != ReceptorKind::conductance)
                        rr.fail("shape",
                                "an NMDA receptor (Mg2+ block of a conductance) needs a conductance-based "
                                "model; '" +
                                    pop.model + "' is current-based");
                    spec.shape = ReceptorShape::nmda;
                    // science.md §2.1 (Brunel & Wang 2001: rise 2 ms, decay 100 ms) and §2.3 (Mg2+ block).
                    spec.tau_rise_ms = rr.number("tau_rise_ms", range(0.0, 1e6, false, true, 2.0));
                    if (!(spec.tau_rise_ms < spec.tau_ms))
                        rr.fail("tau_rise_ms",
                                "must be shorter than tau_ms (" + number_text(spec.tau_ms) + " ms)");
                    spec.Mg_mM = rr.number("Mg_mM", range(0.0, 100.0, true, true, 1.0));
                    // Subunit presets of K0 (science.md §2.3): GluN2A/2B Jahr-Stevens 3.57 mM; GluN2C/2D less
                    // Mg-sensitive: 4 x, which gives the 6.4-fold Mg2+ shift of blocker IC50 at -70 mV, 1 mM
                    // that the memantine oocyte IC50s show for 2C (6.7x) and 2D (6.3x) [V2]; science.md's 8 x
                    // is back-calculated from recalled values [M] (docs/pharmacology.md).
                    const std::string subunit = rr.choice("subunit", {"GluN2A/2B", "GluN2C/2D"}, "GluN2A/2B");
                    spec.subunit_2CD = subunit == "GluN2C/2D";
                    spec.K_Mg0_mM = rr.number(
                        "K_Mg0_mM", range(0.0, 1e4, false, true, spec.subunit_2CD ? 4.0 * 3.57 : 3.57));
                    spec.Mg_slope_per_mV = rr.number("Mg_slope_per_mV", range(0.0, 1.0, true, true, 0.062));
                    if (shape == "nmda_saturating") {
                        // Brunel & Wang 2001 (science.md §2.1): alpha 0.5 / ms; tau_rise_ms is the tau of x.
                        // The per-spike jump (models/nmda_saturation.hpp) needs alpha tau_rise <= 100.
                        spec.saturation_alpha_per_ms =
                            rr.number("alpha_per_ms", range(0.0, 1e3, false, true, 0.5));
                        if (spec.saturation_alpha_per_ms * spec.tau_rise_ms > 100.0)
                            rr.fail("alpha_per_ms",
                                    "alpha_per_ms x tau_rise_ms = " +
                                        number_text(spec.saturation_alpha_per_ms * spec.tau_rise_ms) +
                                        " exceeds 100 (s saturates fully at every spike; use a "
                                        "smaller alpha or a plain nmda receptor)");
                    }
                    // Drug block (docs/science.md §3.2 kinetic trapping, or the §3.3 equilibrium quick form).
                    spec.block = rr.choice("block", {"kinetic", "equilibrium"}, "kinetic") == "kinetic"
                                     ? ReceptorSpec::Block::kinetic
                                     : ReceptorSpec::Block::equilibrium;
                    spec.g_max_nS = rr.number("g_max_nS", range(0.0, 1e9, true, true, 0.0));
                    spec.tonic_activation = rr.number("tonic_activation", range(0.0, 1.0, true, true, 0.0));
                    spec.open_probability = rr.number("open_probability", range(0.0, 1.0, false, true, 0.4));
                    spec.glutamate_pool = rr.string("glutamate_pool", "");
                    if (!spec.glutamate_pool.empty()) {
                        if (!(spec.g_max_nS > 0))
                            rr.fail("glutamate_pool", "an extrasynaptic pool needs g_max_nS, its conductance "
                                                      "with every receptor bound (nS)");
                        if (spec.block != ReceptorSpec::Block::kinetic)
                            rr.fail("glutamate_pool", "ambient glutamate gates kinetic pools only (block = "
                                                      "\"kinetic\")");
                    }
                    spec.ambient_EC50_uM = rr.number("EC50_uM", range(0.0, 1e6, false, true, 2.0));
                    spec.ambient_hill = rr.number("ambient_hill", range(0.0, 10.0, false, true, 1.0));
                    if (spec.tonic_activation > 0 && !(spec.g_max_nS > 0))
                        rr.fail("tonic_activation",
                                "a bath agonist needs g_max_nS, the pool's conductance with every receptor "
                                "bound (nS)");
                }
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
                for (auto& s : pop.receptors)
                    names.push_back(s.name);
                dr.fail("receptor", "population '" + pop.name + "' has no receptor '" + d.receptor +
                                        "' (has: " + join(names) + ")");
            }
            d.receptor_index = std::size_t(it - pop.receptors.begin());
            if (it->saturation_alpha_per_ms > 0)
                dr.fail("receptor",
                        "receptor '" + d.receptor +
                            "' is nmda_saturating: its gating is kept per source neuron, and a "
                            "Poisson drive has no source neurons (drive an exponential receptor, or "
                            "model the inputs as a poisson_source population)");
            d.rate_Hz = dr.required_number("rate_Hz", range(0.0, 1e5));
            d.inputs = dr.number("inputs", range(0.0, 1e7, true, true, 1.0));
            d.weight = dr.required_number(
                "weight_" + weight_unit,
                model->receptor_kind == ReceptorKind::conductance ? range(0.0, 1e6) : range(-1e6, 1e6));
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
                    p.fail_at(n, "rate_schedule",
                              "element " + std::to_string(i) + ": expected [time_ms, rate_Hz]");
                const double t_ms = pair->get(0)->value<double>().value();
                const double rate = pair->get(1)->value<double>().value();
                if (t_ms < 0 || rate < 0 || rate > 1e4 || !std::isfinite(t_ms))
                    p.fail_at(n, "rate_schedule",
                              "element " + std::to_string(i) +
                                  ": need time_ms >= 0 and rate_Hz in [0, 10000]");
                pop.rate_schedule.emplace_back(t_ms, rate);
            }
        }
    } else if (pop.model == "spike_times") {
        const toml::array* inline_times = p.array("spike_times_ms");
        const bool has_file = p.has("spike_times_file");
        if (inline_times && has_file)
            p.fail("spike_times_file", "give either spike_times_ms or spike_times_file, not both");
        if (!inline_times && !has_file)
            p.fail("spike_times_ms",
                   "missing: a spike_times source needs spike_times_ms = [[...], ...] or spike_times_file");
        if (inline_times) {
            if (inline_times->size() != pop.size)
                p.fail("spike_times_ms", "expected one list per neuron (" + std::to_string(pop.size) +
                                             "), got " + std::to_string(inline_times->size()));
            for (std::size_t i = 0; i < inline_times->size(); ++i) {
                const toml::node* n = inline_times->get(i);
                const auto* list = n->as_array();
                if (!list)
                    p.fail_at(n, "spike_times_ms",
                              "element " + std::to_string(i) + ": expected a list of times");
                std::vector<double> times;
                for (auto& tn : *list) {
                    if (!tn.is_number() || !(tn.value<double>().value() > 0))
                        p.fail_at(&tn, "spike_times_ms",
                                  "neuron " + std::to_string(i) + ": spike times must be numbers > 0 ms");
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

} // namespace ketaplast::config_detail
