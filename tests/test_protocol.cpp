// Multi-time-scale protocols (sim/app/protocol.cpp, science.md §9): config errors of [protocol], the weight
// write-back (sim/network/weight_scaling.hpp), and that a protocol's results do not change materially when
// the spiking window is halved.
#include "core/error.hpp"
#include "sim/app/protocol.hpp"
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/io/hdf5_file.hpp"
#include "sim/network/network.hpp"
#include "sim/network/weight_scaling.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <string>

using namespace ketaplast;

namespace {

const std::string kNetwork = R"([simulation]
dt_ms = 0.1
duration_ms = 100.0
seed = 3

[[populations]]
name = "E"
size = 40
model = "lif_cond"
receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }
receptors.NMDA = { shape = "nmda", tau_ms = 100.0, E_rev_mV = 0.0, Mg_mM = 1.0 }
receptors.GABA_A = { tau_ms = 10.0, E_rev_mV = -80.0 }

[[populations]]
name = "I"
size = 10
model = "lif_cond"
receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }

[[projections]]
name = "EE"
source = "E"
target = "E"
receptor = "AMPA"
rule = "fixed_indegree"
indegree = 10
weight_nS = { dist = "uniform", low = 0.5, high = 1.5 }
delay_ms = 1.0

[[projections]]
name = "EE_NMDA"
source = "E"
target = "E"
receptor = "NMDA"
rule = "fixed_indegree"
indegree = 10
weight_nS = 0.1
delay_ms = 1.0

[[projections]]
name = "EI"
source = "E"
target = "I"
receptor = "AMPA"
rule = "fixed_indegree"
indegree = 10
weight_nS = 1.0
delay_ms = 1.0

[[projections]]
name = "IE"
source = "I"
target = "E"
receptor = "GABA_A"
rule = "fixed_indegree"
indegree = 5
weight_nS = 4.0
delay_ms = 1.0
)";

const std::string kProtocol = R"(
[protocol]
duration_h = 2.0
window_ms = 200.0
burn_in_ms = 50.0
population = "E"
projections = ["EE"]
report_h = [0.0, 2.0]

[[protocol.sampling]]
until_h = 2.0
every_min = 30.0

[protocol.slow]
initial_spine_density = 0.7
)";

// The message of loading kNetwork + protocol with one override (value "" means: no override).
std::string error_of(const std::string& key, const std::string& value,
                     const std::string& protocol = kProtocol) {
    try {
        std::vector<Override> o;
        if (!key.empty()) o.push_back({key, value});
        load_experiment_from_string(kNetwork + protocol, "p.toml", o);
    } catch (const ConfigError& e) {
        return e.what();
    } catch (const InputError& e) {
        return std::string("InputError: ") + e.what();
    }
    return "";
}

} // namespace

TEST_CASE("A valid [protocol] expands its probe times", "[protocol]") {
    const Experiment exp = load_experiment_from_string(kNetwork + kProtocol, "p.toml");
    REQUIRE(exp.protocol);
    CHECK(exp.protocol->probe_times_min == std::vector<double>{0.0, 30.0, 60.0, 90.0});
    CHECK(exp.protocol->projection_indices == std::vector<std::size_t>{0});
    CHECK(exp.protocol->inhibitory_projection_indices.empty()); // optional
    const Experiment with_ie = load_experiment_from_string(kNetwork + kProtocol, "p.toml",
                                                           {{"protocol.inhibitory_projections", "[\"IE\"]"}});
    CHECK(with_ie.protocol->inhibitory_projection_indices == std::vector<std::size_t>{3});
    CHECK(exp.protocol->slow.initial_spine_density == 0.7);
}

TEST_CASE("[protocol] config errors name file, key and reason", "[protocol][config]") {
    struct Row {
        std::string key, value;
        std::vector<std::string> fragments;
    };
    const std::vector<Row> rows = {
        {"protocol.population", "\"X\"", {"p.toml:", "protocol.population", "unknown population 'X'"}},
        {"protocol.projections", "[\"EI\"]", {"protocol.projections", "ends on 'I'"}},
        {"protocol.projections", "[\"EE_NMDA\"]", {"protocol.projections", "NMDA receptor"}},
        {"protocol.projections", "[\"nope\"]", {"protocol.projections", "unknown projection 'nope'"}},
        {"protocol.inhibitory_projections", "[\"EI\"]", {"protocol.inhibitory_projections", "ends on 'I'"}},
        {"protocol.inhibitory_projections",
         "[\"EE\"]",
         {"protocol.inhibitory_projections", "receptor 'AMPA'", "not an inhibitory one"}},
        {"protocol.inhibitory_projections", "[\"IE\", \"IE\"]", {"protocol.inhibitory_projections", "twice"}},
        {"protocol.projections", "[\"IE\"]", {"protocol.projections", "receptor 'GABA", "an inhibitory one"}},
        {"recording.snapshot_times_ms", "[10.0]", {"recording.snapshot_times_ms", "protocol.report_h"}},
        {"protocol.inhibitory_projections",
         "[\"x\"]",
         {"protocol.inhibitory_projections", "unknown projection 'x'"}},
        {"protocol.slow.inhibitory_scaling_exponent", "-1.0", {"protocol.slow.inhibitory_scaling_exponent"}},
        {"protocol.burn_in_ms", "300.0", {"protocol.burn_in_ms", "shorter than window_ms"}},
        {"protocol.window_ms", "-1.0", {"protocol.window_ms"}},
        {"protocol.nmda_receptor", "\"AMPA\"", {"protocol.nmda_receptor", "not an NMDA receptor"}},
        {"protocol.ampa_receptor", "\"GABA\"", {"protocol.ampa_receptor", "no receptor 'GABA'"}},
        {"protocol.report_h", "[5.0]", {"protocol.report_h", "within [0, duration_h]"}},
        {"protocol.duration_h", "3.0", {"protocol.sampling", "before duration_h"}},
        {"protocol.sampling.0.every_min",
         "0.001",
         {"protocol.sampling[0].every_min", "closer than a window"}},
        {"protocol.slow.tau_BDNF_min", "-5.0", {"protocol.slow.tau_BDNF_min"}},
        {"protocol.slow.tau_scaling_hours", "5.0", {"protocol.slow", "tau_scaling_h"}}, // did you mean
        {"protocol.slow.step_min", "30.0", {"protocol.slow.step_min", "shortest slow time constant"}},
        {"protocol.slow.growth_curve", "\"gaussian\"", {"protocol.slow.Ca_target", "gaussian"}},
        {"protocol.potential_spine_density",
         "0.5",
         {"protocol.potential_spine_density", "initial_spine_density"}},
        {"network.weight_storage", "\"uint16\"", {"protocol.structural", "16-bit"}},
        {"protocol.structural_rule", "\"elements\"", {"protocol.structural_rule", "growth_curve"}},
        {"protocol.structural_rule", "\"spines\"", {"protocol.structural_rule", "spine_density"}},
        {"protocol.elements.sigma_um", "10.0", {"protocol.elements", "structural_rule"}},
        {"projections.0.plasticity",
         "{ rule = \"stdp_pair\", w_max_nS = 2.0, A_plus = 0.01, A_minus = 0.01 }",
         {"protocol.projections", "'EE' is plastic"}},
    };
    for (const auto& row : rows) {
        const std::string message = error_of(row.key, row.value);
        INFO(row.key << " = " << row.value << " -> " << message);
        CHECK(!message.empty());
        for (const auto& f : row.fragments)
            CHECK(message.find(f) != std::string::npos);
    }
    // No sampling at all.
    std::string no_sampling = kProtocol;
    no_sampling.replace(no_sampling.find("[[protocol.sampling]]"),
                        std::string("[[protocol.sampling]]\nuntil_h = 2.0\nevery_min = 30.0\n").size(), "");
    CHECK(error_of("", "", no_sampling).find("protocol.sampling") != std::string::npos);
}

TEST_CASE("scale_projection_weights is multiplicative and touches one projection", "[protocol]") {
    for (const char* storage : {"float32", "uint16"}) {
        Experiment exp = load_experiment_from_string(
            kNetwork + "\n[network]\nweight_storage = \"" + storage + "\"\n", "p.toml");
        Network net = build_network(exp, 2);
        std::vector<double> before_ee, before_ei;
        for_each_projection_synapse(
            net, 0, [&](SynapseShard& s, std::size_t k, std::uint32_t, std::uint32_t) {
                before_ee.push_back(s.quantized ? net.weight_scales[0].decode(s.weight_code[k])
                                                : s.weight[k]);
            });
        for_each_projection_synapse(
            net, 2, [&](SynapseShard& s, std::size_t k, std::uint32_t, std::uint32_t) {
                before_ei.push_back(s.quantized ? net.weight_scales[2].decode(s.weight_code[k])
                                                : s.weight[k]);
            });
        REQUIRE(before_ee.size() == 400); // 40 targets x in-degree 10
        const WeightSum sum0 = projection_weight_sum(net, 0);
        scale_projection_weights(net, 0, 1.7);
        std::size_t i = 0;
        for_each_projection_synapse(
            net, 0, [&](SynapseShard& s, std::size_t k, std::uint32_t, std::uint32_t) {
                const double w = s.quantized ? net.weight_scales[0].decode(s.weight_code[k]) : s.weight[k];
                // float: one rounding of a float product (relative 2^-24); uint16: base and step are scaled
                // as floats, decode adds two float roundings.
                CHECK(w == Approx(1.7 * before_ee[i++]).epsilon(1e-6));
            });
        i = 0;
        for_each_projection_synapse(
            net, 2, [&](SynapseShard& s, std::size_t k, std::uint32_t, std::uint32_t) {
                const double w = s.quantized ? net.weight_scales[2].decode(s.weight_code[k]) : s.weight[k];
                CHECK(w == before_ei[i++]); // untouched
            });
        CHECK(projection_weight_sum(net, 0).sum == Approx(1.7 * sum0.sum).epsilon(1e-6));
        CHECK_THROWS_AS(scale_projection_weights(net, 0, 0.0), std::invalid_argument);
        CHECK_THROWS_AS(scale_projection_weights(net, 0, std::nan("")), std::invalid_argument);
    }
}

namespace {

struct WeekRun {
    nlohmann::json summary;
    std::vector<double> rest_input; // the slow layer's rest-signal input at every probe
    double min_rest() const { return *std::min_element(rest_input.begin(), rest_input.end()); }
};

// configs/<config> shortened to 6 h on a small network (200 E / 50 I; probes every 10 min to 1 h, then
// hourly), with `extra` overrides.
WeekRun run_short(const std::string& dir, const std::string& config, std::vector<Override> extra = {},
                  int threads = 1) {
    std::vector<Override> overrides = {
        {"populations.E.size", "200"},          {"populations.I.size", "50"},
        {"protocol.duration_h", "6.0"},         {"protocol.sampling.0.every_min", "10.0"},
        {"protocol.sampling.1.until_h", "6.0"}, {"protocol.sampling.1.every_min", "60.0"},
        {"protocol.sampling.2.until_h", "7.0"}, {"protocol.report_h", "[0.0, 2.0, 6.0]"}};
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    Experiment exp = load_experiment(test::source_path("configs/" + config), overrides);
    run_experiment(exp, {dir, threads, false});
    std::ifstream in(dir + "/summary.json");
    h5::File f = h5::File::open_read(dir + "/slow.h5");
    return {nlohmann::json::parse(in), f.open_group("slow").read_doubles("input_rest_signal")};
}

WeekRun run_week(const std::string& dir, double window_ms, double burn_in_ms, int seed) {
    return run_short(dir, "ketamine_week.toml",
                     {{"simulation.seed", std::to_string(seed)},
                      {"protocol.window_ms", std::to_string(window_ms)},
                      {"protocol.burn_in_ms", std::to_string(burn_in_ms)}});
}

} // namespace

// Window-length invariance (science.md §9 item 5, issue 5 "results don't change materially when the window
// is halved"). History (docs/slow_layer.md): first a positive-gain loop through the AMPA route amplified the
// windows' rate noise (fixed by the adapting route and a softer mTOR sigmoid); then the kinetic block, which
// relaxes over seconds to minutes, lagged the concentration in short windows (rest-signal drop 3.3 % with
// 3-s windows, 2.7 % with 2-s ones) until the gaps were bridged (Engine::bridge_drug_block). What is left is
// the network's own fluctuation, which differs between any two runs (a seed, or a compiler's rounding): so
// the comparison is paired over four seeds and made on the mean.
// [long]: Release pass only; the protocol's code runs under the sanitizers in the shorter protocol tests
// (T34, 1 vs 3 threads, checkpoint/resume). This gives up one thing: in session 3 the sanitizer build's other
// rounding is what exposed the drug block's lag in short windows (docs/slow_layer.md, "Known problems").
TEST_CASE("Halving the spiking window does not change a protocol's results materially", "[protocol][long]") {
    // The measured part of the window is halved (2000 -> 1000 ms); the burn-in stays.
    const std::vector<int> seeds{1, 2, 3, 4};
    std::vector<WeekRun> full, half;
    for (int seed : seeds) {
        test::TempDir a("protocol_window"), b("protocol_half_window");
        full.push_back(run_week(a.path(), 3000.0, 1000.0, seed));
        half.push_back(run_week(b.path(), 2000.0, 1000.0, seed));
    }
    CHECK(full[0].summary["protocol"]["window_ms"] == 3000.0);
    CHECK(half[0].summary["protocol"]["window_ms"] == 2000.0);
    CHECK(half[0].summary["protocol"]["acceleration"].get<double>() ==
          Approx(1.5 * full[0].summary["protocol"]["acceleration"].get<double>()));
    for (std::size_t s = 0; s < seeds.size(); ++s) {
        // The drug block is carried through the gaps, so the rest signal is the same at every probe: the
        // difference left is the network's (the pool's gating, 0.0002 at most in these runs); 0.001 is 3 %
        // of the drop, and the lagging block of before the bridging differed by up to 0.0065.
        const auto& rf = full[s].rest_input;
        const auto& rh = half[s].rest_input;
        REQUIRE(rf.size() == rh.size());
        for (std::size_t k = 0; k < rf.size(); ++k) {
            INFO("seed " << seeds[s] << ", probe " << k);
            CHECK(rh[k] == Approx(rf[k]).margin(0.001));
        }
    }
    for (std::size_t i = 0; i < 3; ++i) {
        auto mean = [&](const std::vector<WeekRun>& runs, const char* key) {
            double sum = 0;
            for (const auto& r : runs)
                sum += r.summary["timepoints"][i][key].get<double>();
            return sum / double(runs.size());
        };
        INFO("t = " << full[0].summary["timepoints"][i]["t_h"] << " h");
        // Rates: 1.5 s vs 0.75 s of 200 neurons at ~20 Hz per seed (>= 3000 spikes): Poisson error < 2 %,
        // the network's window-to-window fluctuation ~5-10 %; mean of four: 10 % is "not material".
        CHECK(mean(half, "rate_Hz") == Approx(mean(full, "rate_Hz")).epsilon(0.10));
        // The slow outputs: the mean change from 1 agrees within 15 % of the change (0.005 absolute where it
        // is tiny). Paired seed-to-seed differences of protein at 6 h are up to 0.02 (SD ~0.01): the mean of
        // four has a standard error ~0.005, so 15 % of a ~0.13 change is ~3.5 standard errors.
        for (const char* key : {"BDNF", "protein", "spine_factor", "strength_factor", "total_weight_ratio"}) {
            const double df = mean(full, key) - 1.0, dh = mean(half, key) - 1.0;
            INFO(key << ": full " << df << ", half " << dh);
            CHECK(std::fabs(df - dh) <= std::max(0.005, 0.15 * std::fabs(df)));
        }
    }
}

TEST_CASE("T34: at ketamine's free concentration memantine lowers the rest signal less and strengthens less",
          "[protocol]") {
    test::TempDir a("protocol_ketamine"), b("protocol_memantine");
    const WeekRun k = run_short(a.path(), "ketamine_week.toml"),
                  m = run_short(b.path(), "memantine_week.toml");
    const nlohmann::json &ketamine = k.summary, &memantine = m.summary;
    const double rest_k = k.min_rest(), rest_m = m.min_rest();
    const double w_k = ketamine["timepoints"][2]["total_weight_ratio"].get<double>();
    const double w_m = memantine["timepoints"][2]["total_weight_ratio"].get<double>();
    INFO("min rest signal: ketamine " << rest_k << ", memantine " << rest_m
                                      << "; summed E->E weight at 6 h: " << w_k << ", " << w_m);
    // Gideons et al. 2014 (science.md T34, direction): at rest (-70 mV, 1 mM Mg) ketamine blocks spontaneous
    // NMDA events more than memantine at equal uM. This short run gives drops of 4.8 % vs 1.7 %, the week run
    // 4.7 % vs 1.9 % (ketamine's includes its metabolite norketamine); required: at least 1.5x larger.
    CHECK(1.0 - rest_k > 1.5 * (1.0 - rest_m));
    // ... so only ketamine's BDNF route (and the surge) strengthens E->E materially: the 6-h rise is at least
    // twice memantine's (this run: +13.7 % vs +4.1 %).
    CHECK(w_k - 1.0 > 2.0 * (w_m - 1.0));
}

// Repeated dosing (issue 5's variant; science.md §4 sessions, T35's "repeated infusions"): ketamine_week on
// a small network with a second 0.5 mg/kg infusion on day 2, sampled densely around both doses.
// [long]: Release pass only (a second dose is the same code as the first, which T34 runs under the
// sanitizers).
TEST_CASE("Repeated dosing: a second infusion blocks and strengthens again, and spines accumulate",
          "[protocol][long]") {
    test::TempDir dir("protocol_repeated");
    Experiment exp = load_experiment(
        test::source_path("configs/ketamine_week.toml"),
        {{"populations.E.size", "200"},
         {"populations.I.size", "50"},
         {"protocol.duration_h", "96.0"},
         {"drugs.0.pk.sessions", "{days = [0.0, 2.0]}"},
         {"protocol.sampling", "[{until_h = 3.0, every_min = 10.0}, {until_h = 48.0, every_min = 180.0}, "
                               "{until_h = 51.0, every_min = 10.0}, {until_h = 97.0, every_min = 180.0}]"},
         {"protocol.report_h", "[0.0, 3.0, 48.0, 51.0, 96.0]"}});
    run_experiment(exp, {dir.path(), 1, false});
    h5::File f = h5::File::open_read(dir.path() + "/slow.h5");
    const h5::Object slow = f.open_group("slow");
    const auto t = slow.read_doubles("t_h"), rest = slow.read_doubles("input_rest_signal"),
               bdnf = slow.read_doubles("BDNF"), weight = slow.read_doubles("total_weight_relative"),
               spines = slow.read_doubles("spine_factor");
    auto at = [&](const std::vector<double>& v, double h) { // the probe nearest to h
        std::size_t best = 0;
        for (std::size_t i = 1; i < t.size(); ++i)
            if (std::fabs(t[i] - h) < std::fabs(t[best] - h)) best = i;
        return v[best];
    };
    auto extreme = [&](const std::vector<double>& v, double from_h, double to_h, bool max) {
        double e = max ? -1e300 : 1e300;
        for (std::size_t i = 0; i < t.size(); ++i)
            if (t[i] >= from_h && t[i] <= to_h) e = max ? std::max(e, v[i]) : std::min(e, v[i]);
        return e;
    };
    const double drop1 = 1.0 - extreme(rest, 0.0, 3.0, false), drop2 = 1.0 - extreme(rest, 48.0, 51.0, false);
    const double bdnf1 = extreme(bdnf, 0.0, 3.0, true) - 1.0, bdnf2 = extreme(bdnf, 48.0, 51.0, true) - 1.0;
    INFO("rest drops " << drop1 << ", " << drop2 << "; BDNF peaks +" << bdnf1 << ", +" << bdnf2
                       << "; weight 0/3/48/51/96 h " << at(weight, 0) << " " << at(weight, 3) << " "
                       << at(weight, 48) << " " << at(weight, 51) << " " << at(weight, 96)
                       << "; spines 48/96 h " << at(spines, 48) << " " << at(spines, 96));
    // The same dose blocks as much again: ketamine from day 0 is gone by day 2 (Domino terminal half-life
    // ~2.5 h, T15), so the two drops (this run: 4.8 %, 4.8 %) agree within 20 % (network differences).
    REQUIRE(drop1 > 0.02);
    CHECK(drop2 == Approx(drop1).epsilon(0.2));
    // ... and drives BDNF again (+7.4 %, +7.4 %).
    CHECK(bdnf2 > 0.8 * bdnf1);
    // Each dose strengthens E->E within 3 h of its start (+9.5 % after the first, +9.6 % after the second).
    CHECK(at(weight, 51.0) - at(weight, 48.0) > 0.5 * (at(weight, 3.0) - at(weight, 0.0)));
    // Spines persist between doses and the second dose adds to them (+10 % at 48 h, +21 % at 96 h).
    CHECK(at(spines, 96.0) - 1.0 > 1.5 * (at(spines, 48.0) - 1.0));
}

namespace {

// ketamine_week on a small network for 36 h with per-neuron synaptic elements (linear growth curve at the
// baseline's calcium set point); `dose` mg/kg over 40 min.
nlohmann::json run_elements(const std::string& dir, const std::string& dose) {
    Experiment exp = load_experiment(test::source_path("configs/ketamine_week.toml"),
                                     {{"populations.E.size", "200"},
                                      {"populations.I.size", "50"},
                                      {"drugs.0.pk.infusions", "[\"" + dose + "@10+40\"]"},
                                      {"protocol.duration_h", "36.0"},
                                      {"protocol.structural_rule", "\"elements\""},
                                      {"protocol.slow.growth_curve", "\"linear\""},
                                      {"protocol.sampling.2.until_h", "37.0"},
                                      {"protocol.report_h", "[0.0, 36.0]"}});
    run_experiment(exp, {dir, 1, false});
    std::ifstream in(dir + "/summary.json");
    return nlohmann::json::parse(in);
}

} // namespace

// [long]: Release pass only; the elements rule runs under the sanitizers in the protocol checkpoint/resume
// test (both structural rules) and in test_synaptic_elements.cpp.
TEST_CASE("Synaptic elements in a protocol: rewiring at the set point, net synapse gain after ketamine",
          "[protocol][structural][long]") {
    test::TempDir a("protocol_elements_ketamine"), b("protocol_elements_control");
    const auto ketamine = run_elements(a.path(), "0.5");
    const auto control = run_elements(b.path(), "0.0001"); // a dose without effect (PK needs a dose)
    CHECK(ketamine["protocol"]["structural_rule"] == "elements");
    auto net_gain = [](const nlohmann::json& s) {
        const auto& last = s["timepoints"][1];
        return double(last["active_synapses"].get<std::int64_t>()) -
               double(s["timepoints"][0]["active_synapses"].get<std::int64_t>());
    };
    const double n0 = double(control["timepoints"][0]["active_synapses"].get<std::int64_t>());
    const auto& st_k = ketamine["strengthening"];
    const auto& st_c = control["strengthening"];
    INFO("ketamine: gained " << st_k["synapses_gained"] << ", lost " << st_k["synapses_lost"]
                             << "; control: gained " << st_c["synapses_gained"] << ", lost "
                             << st_c["synapses_lost"] << " of " << n0);
    // Control: neurons away from the set point rewire (this run: 104 gained, 80 lost of 11258), but the
    // network stays at its set point: net change under 1 %.
    CHECK(st_c["synapses_gained"].get<double>() > 0);
    CHECK(st_c["synapses_lost"].get<double>() > 0);
    CHECK(std::fabs(net_gain(control)) < 0.01 * n0);
    // Ketamine: synaptic protein raises formation of spines and boutons (this run: +951, 0 lost, +8.4 %):
    // a net gain of at least 4 % and at least 5x the control's.
    CHECK(net_gain(ketamine) > 0.04 * n0);
    CHECK(net_gain(ketamine) > 5.0 * std::fabs(net_gain(control)));
}

namespace {

// configs/<config> for a week on a small network (200 E / 50 I), probes every 10 min to 3 h, 3-hourly to
// 24 h, then twice a day; run through build_network + run_protocol so the written-back weights can be read.
struct WeekEnd {
    nlohmann::json summary;
    double ie_weight_ratio = 0; // summed I->E weight at the end / at the start
};

WeekEnd run_full_week(const std::string& dir, const std::string& config) {
    const Experiment exp = load_experiment(
        test::source_path("configs/" + config),
        {{"populations.E.size", "200"},
         {"populations.I.size", "50"},
         {"protocol.sampling", "[{until_h = 3.0, every_min = 10.0}, {until_h = 24.0, every_min = 180.0}, "
                               "{until_h = 169.0, every_min = 720.0}]"},
         {"protocol.report_h", "[0.0, 2.0, 24.0, 72.0, 168.0]"}});
    Network net = build_network(exp, 1);
    const std::size_t ie = exp.protocol->inhibitory_projection_indices.at(0);
    const double ie0 = projection_weight_sum(net, ie).sum;
    ProtocolSession session;
    session.dir = dir;
    session.t_start = std::chrono::steady_clock::now();
    run_protocol(exp, net, session);
    std::ifstream in(dir + "/summary.json");
    return {nlohmann::json::parse(in), projection_weight_sum(net, ie).sum / ie0};
}

} // namespace

// T35 in the network (issue 5's "done when": strengthening with onset within hours and persistence of about a
// week, while the memantine variant does not). What persists is structural: per-synapse strength follows the
// synaptic proteins, which T32 has back by ~72 h, and homeostatic scaling returns the E rate to its set point
// within ~2 days (firing-rate homeostasis); the synapses added by the protein pulse outlive both (spine
// lifetime 7 days, T32: spines up for ~2 weeks), so the E->E synapse count and the summed E->E strength stay
// up a week after a drug that was gone within hours (docs/slow_layer.md, "What persists").
// [long]: Release pass only (two simulated weeks); the same protocol code runs under the sanitizers in T34,
// the 1 vs 3 threads test and the protocol checkpoint tests.
TEST_CASE("T35 in the network: one ketamine dose strengthens E->E within hours and a week later, memantine "
          "much less",
          "[protocol][long]") {
    test::TempDir a("protocol_week_ketamine"), b("protocol_week_memantine");
    const WeekEnd k = run_full_week(a.path(), "ketamine_week.toml"),
                  m = run_full_week(b.path(), "memantine_week.toml");
    auto at = [](const WeekEnd& r, int i, const char* key) {
        return r.summary["timepoints"][i][key].get<double>();
    };
    INFO("ketamine total weight 2 h/24 h/7 d "
         << at(k, 1, "total_weight_ratio") << " " << at(k, 2, "total_weight_ratio") << " "
         << at(k, 4, "total_weight_ratio") << ", synapses 7 d " << at(k, 4, "spine_factor")
         << "; memantine 7 d " << at(m, 4, "total_weight_ratio") << " " << at(m, 4, "spine_factor")
         << "; I->E " << k.ie_weight_ratio);
    // The drug is gone within hours: the rest signal is back to 1 by 24 h.
    CHECK(at(k, 2, "rest_signal") == Approx(1.0).margin(1e-3));
    // Onset within ~2 h: the summed E->E weight is up by >= 3 % at 2 h (seeds 1, 2, 7: +6.2-6.5 %); the
    // window-to-window noise of this output is < 0.5 % (the strength factor integrates over hours).
    CHECK(at(k, 1, "total_weight_ratio") > 1.03);
    // Persistence: a week later the added synapses are still there (at least half of their peak rise; seeds
    // 1, 2: +8.8-9.0 % of a +9.7-9.8 % peak) and the summed E->E strength is still up (+3.0 to +3.9 %).
    // Both sides are the built synapse count (active / active at start), not the model's spine density.
    const double spines_peak =
        k.summary["strengthening"]["persistence"]["synapse_count"]["peak"].get<double>();
    const double spines_7d =
        at(k, 4, "active_synapses") / k.summary["strengthening"]["synapses_active_start"].get<double>();
    CHECK(spines_7d - 1.0 > 0.5 * (spines_peak - 1.0));
    CHECK(at(k, 4, "total_weight_ratio") > 1.015);
    // Memantine at ketamine's free concentration (T34) leaves much less a week later: the synapse gain at
    // least 2x larger with ketamine (seeds 1, 2, 7: 3x or more; the full 800/200 configs: +8.0 % vs +2.1 %),
    // and the summed strength larger (here 3.0-4.9 % vs -0.5-1.0 %; full configs +4.9 % vs +3.1 %, where
    // memantine's protein stays up by noise while ketamine's rate rise scaled its E->E weights down).
    CHECK(at(k, 4, "spine_factor") - 1.0 > 2.0 * (at(m, 4, "spine_factor") - 1.0));
    CHECK(at(k, 4, "total_weight_ratio") > at(m, 4, "total_weight_ratio"));
    // Homeostasis scaled the I->E synapses the other way (Kilman et al. 2002): the rise of the E rate
    // while the new synapses came in scaled them up, and the write-back applied exactly the reported factor
    // (one float rounding per write-back: 1e-5).
    CHECK(at(k, 4, "inhibitory_factor") > 1.0);
    CHECK(k.ie_weight_ratio == Approx(at(k, 4, "inhibitory_factor")).epsilon(1e-5));

    // Weight snapshots at the report times (issue 5 outputs), in edges.h5's column order: the E->E columns
    // reproduce the protocol's own bookkeeping -- nonzero weights = active synapses, and the summed weight
    // against the first snapshot = total_weight_ratio (float sums of 9000 weights: 1e-5).
    h5::File f = h5::File::open_read(a.file("snapshots.h5"));
    const auto t_h = f.read_doubles("protocol_time_h");
    REQUIRE(t_h.size() == 5);
    const auto report = k.summary["timepoints"];
    const h5::Object ee = f.open_group("edges").open_group("EE").open_group("0");
    const auto w = ee.read_doubles("syn_weight");
    REQUIRE(w.size() % 5 == 0);
    const std::size_t n_edges = w.size() / 5;
    h5::File edges = h5::File::open_read(a.file("edges.h5"));
    CHECK(edges.open_group("edges").open_group("EE").open_group("0").read_doubles("syn_weight").size() ==
          n_edges);
    double sum0 = 0;
    for (std::size_t s = 0; s < 5; ++s) {
        CHECK(t_h[s] == Approx(report[s]["t_h"].get<double>()));
        double sum = 0;
        std::uint64_t nonzero = 0;
        for (std::size_t e = 0; e < n_edges; ++e) {
            sum += w[s * n_edges + e];
            nonzero += w[s * n_edges + e] != 0.0;
        }
        if (s == 0) sum0 = sum;
        CHECK(nonzero == report[s]["active_synapses"].get<std::uint64_t>());
        CHECK(sum / sum0 == Approx(report[s]["total_weight_ratio"].get<double>()).epsilon(1e-5));
    }
}

// A protocol's results do not depend on the thread count (the engine is thread-invariant, and the drug block
// is bridged per neuron in parallel chunks of 256): 600 pyramidal cells (3 chunks) for 2 h (the infusion and
// after) on 1 and 3 threads give the same slow state, rates and weights, bit for bit.
TEST_CASE("A protocol gives identical results on 1 and 3 threads", "[protocol]") {
    test::TempDir a("protocol_threads_1"), b("protocol_threads_3");
    const std::vector<Override> bigger = {
        {"populations.E.size", "600"},          {"protocol.duration_h", "2.0"},
        {"protocol.sampling.0.until_h", "1.0"}, {"protocol.sampling.1.until_h", "2.0"},
        {"protocol.sampling.2.until_h", "3.0"}, {"protocol.report_h", "[0.0, 1.0, 2.0]"}};
    const WeekRun one = run_short(a.path(), "ketamine_week.toml", bigger, 1);
    const WeekRun three = run_short(b.path(), "ketamine_week.toml", bigger, 3);
    CHECK(three.summary["threads"] == 3);
    CHECK(one.rest_input == three.rest_input);
    REQUIRE(one.min_rest() < 0.99); // the block was bridged through the gaps
    CHECK(one.summary["timepoints"] == three.summary["timepoints"]);
    CHECK(one.summary["strengthening"]["mean_weight_change"] ==
          three.summary["strengthening"]["mean_weight_change"]);
    h5::File fa = h5::File::open_read(a.file("slow.h5")), fb = h5::File::open_read(b.file("slow.h5"));
    for (const char* name : {"protein", "strength_factor", "rate_Hz", "total_weight_relative"})
        CHECK(fa.open_group("slow").read_doubles(name) == fb.open_group("slow").read_doubles(name));
}
