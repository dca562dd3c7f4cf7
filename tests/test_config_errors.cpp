// Config validation: every bad input is refused before any work starts, with one message that names
// the file, the line, the dotted key, the offending value and what would have been allowed.
//
// The table below starts from one small valid experiment and mutates it one edit at a time; each row
// lists the fragments that must ALL appear in the message. Line numbers are not hard-coded: a row
// names a marker text, and the expected "file:LINE:" is the line where that marker stands in the
// mutated config, i.e. where the user has to look.
#include "core/error.hpp"
#include "models/registry.hpp"
#include "sim/config/config_loader.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

using namespace ketaplast;

namespace {

const std::string kFile = "bad_config.toml";

// Three populations (a neuron population with two receptors, a second one, a spike source) and two
// projections: enough to reach every validation path below.
const std::string kBase = R"([simulation]
dt_ms = 0.1
duration_ms = 100.0
seed = 7

[[populations]]
name = "E"
size = 8
model = "lif_cond"
params = { C_pF = 200.0, g_leak_nS = 10.0, E_leak_mV = -60.0, V_th_mV = -50.0, V_reset_mV = -60.0, t_ref_ms = 5.0 }
receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }
receptors.GABA_A = { tau_ms = 10.0, E_rev_mV = -80.0 }

[[populations]]
name = "I"
size = 2
model = "lif_cond"
receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }

[[populations]]
name = "stim"
size = 2
model = "spike_times"
spike_times_ms = [[10.0, 20.0], [15.0]]

[[projections]]
name = "EE"
source = "E"
target = "E"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.2
weight_nS = 1.0
delay_ms = 1.5

[[projections]]
name = "stimE"
source = "stim"
target = "E"
receptor = "AMPA"
rule = "fixed_indegree"
indegree = 1
weight_nS = 2.0
delay_ms = 1.0

[recording]
spikes = true
reports = [ { population = "E", variables = ["V_m_mV"], neurons = [0, 1], interval_ms = 0.5 } ]
)";

// `text` with the single occurrence of `from` replaced by `to`. A mutation whose anchor is missing
// or ambiguous would silently test the valid base, so that is a test failure.
std::string mutate(const std::string& text, const std::string& from, const std::string& to) {
    std::size_t count = 0;
    for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + 1))
        ++count;
    INFO("mutation anchor: " << from);
    REQUIRE(count == 1);
    std::string out = text;
    out.replace(out.find(from), from.size(), to);
    return out;
}

// 1-based line on which `marker` first appears in `text`.
int line_of(const std::string& text, const std::string& marker) {
    const auto pos = text.find(marker);
    REQUIRE(pos != std::string::npos);
    return 1 + int(std::count(text.begin(), text.begin() + std::ptrdiff_t(pos), '\n'));
}

// The message of the ConfigError that loading throws; fails the test if it loads or throws anything else.
std::string config_error(const std::string& text, const std::vector<Override>& overrides = {}) {
    try {
        load_experiment_from_string(text, kFile, overrides);
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("the config was accepted, but should have been refused");
    return "";
}

// "known: lif_cond, adex_cond, ...": every registered model is listed, in registry order.
std::string known_models() {
    std::string list;
    for (const auto& name : builtin_models().names())
        list += (list.empty() ? "" : ", ") + name;
    return "known: " + list;
}

struct BadConfig {
    std::string what;                   // the mistake, for the test report
    std::string from, to;               // the edit applied to kBase ("" from: no edit)
    std::vector<std::string> fragments; // all must appear in the message
    std::string line_marker;            // where the error should point; "" to skip the line check
    std::vector<Override> overrides = {};
};

const std::vector<BadConfig> kBadConfigs = {
    // --- syntax and unknown keys --------------------------------------------------------------
    {"invalid TOML syntax", "seed = 7", "seed = 7 = 8", {kFile, "invalid TOML"}, "seed = 7"},
    {"unterminated string", "name = \"I\"", "name = \"I", {kFile, "invalid TOML"}, "name = \"I"},
    {"misspelt top-level table",
     "[simulation]",
     "[simulaton]",
     {kFile, "key 'simulaton'", "unknown key", "did you mean 'simulation'?", "valid here:"},
     "[simulaton]"},
    {"misspelt top-level array",
     "[recording]",
     "[recordings]",
     {"key 'recordings'", "did you mean 'recording'?"},
     "[recordings]"},
    {"misspelt simulation key",
     "seed = 7",
     "sed = 7",
     {kFile, "key 'simulation.sed'", "unknown key", "did you mean 'seed'?", "dt_ms, duration_ms, seed"},
     "sed = 7"},
    {"misspelt model parameter",
     "C_pF = 200.0",
     "C_pf = 200.0",
     {kFile, "key 'populations.E.params.C_pf'", "unknown key", "did you mean 'C_pF'?"},
     "C_pf"},
    {"misspelt receptor parameter",
     "receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }\nreceptors.GABA_A",
     "receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0, tau_decay = 2.0 }\nreceptors.GABA_A",
     {"key 'populations.E.receptors.AMPA.tau_decay'", "unknown key"},
     "tau_decay"},
    {"misspelt required key",
     "probability = 0.2",
     "probablity = 0.2",
     {kFile, "key 'projections.EE.probability'", "missing",
      "found 'probablity': did you mean 'probability'?"},
     "probablity"},
    {"misspelt required size",
     "size = 8\n",
     "sise = 8\n",
     {"key 'populations.E.size'", "missing", "found 'sise': did you mean 'size'?"},
     "sise"},
    {"key of another rule",
     "indegree = 1",
     "indegree = 1\nprobability = 0.5",
     {"key 'projections.stimE.probability'", "unknown key"},
     "probability = 0.5"},
    {"receptors on a spike source",
     "spike_times_ms = [[10.0, 20.0], [15.0]]",
     "spike_times_ms = [[10.0, 20.0], [15.0]]\nreceptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }",
     {"key 'populations.stim.receptors'", "unknown key"},
     ""},

    // --- wrong types --------------------------------------------------------------------------
    {"string where a number belongs",
     "dt_ms = 0.1",
     "dt_ms = \"0.1\"",
     {kFile, "key 'simulation.dt_ms'", "expected a number, got a string", "0.1"},
     "dt_ms"},
    {"float where an integer belongs",
     "size = 8\n",
     "size = 8.0\n",
     {kFile, "key 'populations.E.size'", "expected an integer, got a number", "8.0"},
     "size = 8.0"},
    {"fractional size",
     "size = 8\n",
     "size = 8.5\n",
     {"key 'populations.E.size'", "expected an integer", "8.5"},
     "8.5"},
    {"string probability",
     "probability = 0.2",
     "probability = \"high\"",
     {"key 'projections.EE.probability'", "expected a number, got a string", "high"},
     "\"high\""},
    {"number where true/false belongs",
     "spikes = true",
     "spikes = 1",
     {"key 'recording.spikes'", "expected true or false, got an integer"},
     "spikes = 1"},
    {"float seed",
     "seed = 7",
     "seed = 7.5",
     {"key 'simulation.seed'", "expected an integer", "7.5"},
     "seed = 7.5"},

    // --- simulation ---------------------------------------------------------------------------
    {"zero time step",
     "dt_ms = 0.1",
     "dt_ms = 0.0",
     {kFile, "key 'simulation.dt_ms'", "value 0 ", "outside the allowed range (0, 10]"},
     "dt_ms"},
    {"negative time step",
     "dt_ms = 0.1",
     "dt_ms = -0.1",
     {"key 'simulation.dt_ms'", "value -0.1 ", "outside the allowed range (0, 10]"},
     "dt_ms"},
    {"missing duration",
     "duration_ms = 100.0\n",
     "",
     {kFile, "key 'simulation.duration_ms'", "missing", "required number"},
     "[simulation]"},
    {"negative duration",
     "duration_ms = 100.0",
     "duration_ms = -5.0",
     {"key 'simulation.duration_ms'", "-5", "outside the allowed range"},
     "duration_ms"},
    {"duration shorter than one step",
     "duration_ms = 100.0",
     "duration_ms = 0.04",
     {"key 'simulation.duration_ms'", "value 0.04 ", "shorter than one time step (dt_ms = 0.1)"},
     "duration_ms"},
    {"non-finite parameter",
     "C_pF = 200.0",
     "C_pF = nan",
     {"key 'populations.E.params.C_pF'", "not finite"},
     "nan"},
    {"negative capacitance",
     "C_pF = 200.0",
     "C_pF = -200.0",
     {"key 'populations.E.params.C_pF'", "value -200 ", "outside the allowed range (0, "},
     "C_pF"},

    // --- populations --------------------------------------------------------------------------
    {"negative size",
     "size = 8\n",
     "size = -8\n",
     {kFile, "key 'populations.E.size'", "value -8 ", "outside the allowed range [1, 100000000]"},
     "size = -8"},
    {"zero size",
     "size = 8\n",
     "size = 0\n",
     {"key 'populations.E.size'", "value 0 ", "[1, 100000000]"},
     "size = 0"},
    {"unknown model, close to a known one",
     "name = \"I\"\nsize = 2\nmodel = \"lif_cond\"",
     "name = \"I\"\nsize = 2\nmodel = \"lif_con\"",
     {kFile, "key 'populations.I.model'", "unknown model \"lif_con\"", "did you mean \"lif_cond\"?",
      known_models()},
     "\"lif_con\""},
    {"unknown model, nothing close",
     "name = \"I\"\nsize = 2\nmodel = \"lif_cond\"",
     "name = \"I\"\nsize = 2\nmodel = \"hodgkin_huxley\"",
     {"key 'populations.I.model'", "unknown model \"hodgkin_huxley\"", known_models()},
     "hodgkin"},
    {"missing model",
     "name = \"I\"\nsize = 2\nmodel = \"lif_cond\"\n",
     "name = \"I\"\nsize = 2\n",
     {"key 'populations.I.model'", "missing", "lif_cond"},
     ""},
    {"reset at threshold",
     "V_reset_mV = -60.0",
     "V_reset_mV = -50.0",
     {kFile, "key 'populations.E.params.V_reset_mV'", "V_reset_mV = -50 must be below V_th_mV = -50"},
     "V_reset_mV"},
    {"reset above threshold",
     "V_reset_mV = -60.0",
     "V_reset_mV = -40.0",
     {"key 'populations.E.params.V_reset_mV'", "-40", "V_th_mV = -50"},
     "V_reset_mV"},
    {"duplicate population name",
     "name = \"I\"",
     "name = \"E\"",
     {kFile, "duplicate population name 'E'", "populations[1].name"},
     "name = \"E\"\nsize = 2"},
    {"population name with a dot",
     "name = \"I\"",
     "name = \"I.1\"",
     {"populations[1].name", "without '.'"},
     "\"I.1\""},
    {"spike_times with one list for two neurons",
     "spike_times_ms = [[10.0, 20.0], [15.0]]",
     "spike_times_ms = [[10.0, 20.0]]",
     {kFile, "key 'populations.stim.spike_times_ms'", "one list per neuron (2), got 1"},
     "spike_times_ms"},
    {"spike time at zero",
     "[[10.0, 20.0], [15.0]]",
     "[[10.0, 0.0], [15.0]]",
     {"key 'populations.stim.spike_times_ms'", "neuron 0", "> 0 ms"},
     "spike_times_ms"},
    {"spike_times_file that does not exist",
     "spike_times_ms = [[10.0, 20.0], [15.0]]",
     "spike_times_file = \"no_such_ketaplast_spikes.txt\"",
     {kFile, "key 'populations.stim.spike_times_file'", "cannot read", "no_such_ketaplast_spikes.txt"},
     "spike_times_file"},
    {"both spike_times_ms and spike_times_file",
     "spike_times_ms = [[10.0, 20.0], [15.0]]",
     "spike_times_ms = [[10.0, 20.0], [15.0]]\nspike_times_file = \"x.txt\"",
     {"key 'populations.stim.spike_times_file'", "not both"},
     "spike_times_file"},
    {"no spike times at all",
     "spike_times_ms = [[10.0, 20.0], [15.0]]\n",
     "",
     {"key 'populations.stim.spike_times_ms'", "missing"},
     ""},
    {"receptor without time constant",
     "receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }\nreceptors.GABA_A",
     "receptors.AMPA = { E_rev_mV = 0.0 }\nreceptors.GABA_A",
     {"key 'populations.E.receptors.AMPA.tau_ms'", "missing"},
     "receptors.AMPA"},
    {"initial value of an unknown state",
     "receptors.GABA_A = { tau_ms = 10.0, E_rev_mV = -80.0 }",
     "receptors.GABA_A = { tau_ms = 10.0, E_rev_mV = -80.0 }\ninitial.g_NMDA_nS = 1.0",
     {"key 'populations.E.initial.g_NMDA_nS'", "unknown key", "did you mean 'g_AMPA_nS'?"},
     "g_NMDA_nS"},

    // --- projections --------------------------------------------------------------------------
    {"probability above 1",
     "probability = 0.2",
     "probability = 1.5",
     {kFile, "key 'projections.EE.probability'", "value 1.5 ", "outside the allowed range [0, 1]"},
     "probability = "},
    {"negative probability",
     "probability = 0.2",
     "probability = -0.1",
     {"key 'projections.EE.probability'", "value -0.1 ", "[0, 1]"},
     "probability = "},
    {"delay shorter than dt",
     "delay_ms = 1.5",
     "delay_ms = 0.05",
     {kFile, "key 'projections.EE.delay_ms'", "delay 0.05 ms", "shorter than the time step dt_ms = 0.1"},
     "0.05"},
    {"zero delay",
     "delay_ms = 1.5",
     "delay_ms = 0.0",
     {"key 'projections.EE.delay_ms'", "delay 0 ms", "dt_ms = 0.1"},
     "delay_ms = 0.0"},
    {"uniform delay reaching below dt",
     "delay_ms = 1.5",
     "delay_ms = { dist = \"uniform\", low = 0.05, high = 2.0 }",
     {kFile, "key 'projections.EE.delay_ms.low'", "value 0.05 ", "outside the allowed range [0.1, "},
     "delay_ms"},
    {"normal delay truncated below dt",
     "delay_ms = 1.5",
     "delay_ms = { dist = \"normal\", mean = 1.5, sd = 0.5, min = 0.05 }",
     {"key 'projections.EE.delay_ms.min'", "value 0.05 ", "[0.1, "},
     "delay_ms"},
    {"missing delay",
     "delay_ms = 1.5\n",
     "",
     {"key 'projections.EE.delay_ms'", "missing", "dt_ms = 0.1"},
     ""},
    {"unknown rule",
     "rule = \"fixed_probability\"",
     "rule = \"fixed_probabilty\"",
     {"key 'projections.EE.rule'", "unknown value \"fixed_probabilty\"",
      "did you mean \"fixed_probability\"?",
      "one_to_one, all_to_all, fixed_probability, fixed_indegree, fixed_outdegree"},
     "fixed_probabilty"},
    {"unknown target population",
     "source = \"E\"\ntarget = \"E\"",
     "source = \"E\"\ntarget = \"Q\"",
     {kFile, "key 'projections.EE.target'", "unknown population 'Q'", "known: E, I, stim"},
     "\"Q\""},
    {"misspelt source population",
     "source = \"stim\"",
     "source = \"stimm\"",
     {"key 'projections.stimE.source'", "unknown population 'stimm'", "did you mean 'stim'?",
      "known: E, I, stim"},
     "stimm"},
    {"spike source as target",
     "source = \"E\"\ntarget = \"E\"",
     "source = \"E\"\ntarget = \"stim\"",
     {"key 'projections.EE.target'", "'stim' is a spike source", "cannot receive synapses"},
     "target = \"stim\""},
    {"unknown receptor",
     "receptor = \"AMPA\"\nrule = \"fixed_probability\"",
     "receptor = \"NMDA\"\nrule = \"fixed_probability\"",
     {kFile, "key 'projections.EE.receptor'", "no receptor 'NMDA'", "has: AMPA, GABA_A"},
     "NMDA"},
    {"current weight on a conductance synapse",
     "weight_nS = 1.0",
     "weight_pA = 1.0",
     {kFile, "key 'projections.EE.weight_pA'", "conductance", "give weight_nS"},
     "weight_pA"},
    {"negative conductance weight",
     "weight_nS = 1.0",
     "weight_nS = -1.0",
     {"key 'projections.EE.weight_nS'", "value -1 ", "[0, 1000000]"},
     "weight_nS"},
    {"indegree above the source size without multapses",
     "indegree = 1",
     "indegree = 3",
     {kFile, "key 'projections.stimE.indegree'", "3 exceeds the 2 distinct partners", "without multapses"},
     "indegree = 3"},
    {"indegree equal to own size without autapses",
     "rule = \"fixed_probability\"\nprobability = 0.2",
     "rule = \"fixed_indegree\"\nindegree = 8",
     {"key 'projections.EE.indegree'", "8 exceeds the 7 distinct partners"},
     "indegree = 8"},
    {"one_to_one between different sizes",
     "rule = \"fixed_indegree\"\nindegree = 1",
     "rule = \"one_to_one\"",
     {kFile, "key 'projections.stimE.rule'", "one_to_one needs equal sizes (source 2, target 8)"},
     "one_to_one"},
    {"truncated weight that almost never draws",
     "weight_nS = 1.0",
     "weight_nS = { dist = \"normal\", mean = 100.0, sd = 1.0, max = 5.0 }",
     {"key 'projections.EE.weight_nS.mean'", "of draws fall within [min, max] = [0, 5]",
      "at least 1 % needed"},
     "weight_nS"},
    {"lognormal delay bounded far into its tail",
     "delay_ms = 1.0",
     "delay_ms = { dist = \"lognormal\", mean_log = 0.0, sd_log = 0.5, min = 20.0 }",
     {"key 'projections.stimE.delay_ms.mean_log'", "[20, 6500]", "at least 1 % needed"},
     "mean_log"},
    {"distribution without its mean",
     "weight_nS = 1.0",
     "weight_nS = { dist = \"normal\", sd = 0.5, max = 3.0 }",
     {"key 'projections.EE.weight_nS.mean'", "missing"},
     "weight_nS"},
    {"duplicate projection name",
     "name = \"stimE\"",
     "name = \"EE\"",
     {"duplicate projection name 'EE'"},
     "name = \"EE\"\nsource = \"stim\""},

    // --- recording ----------------------------------------------------------------------------
    {"report of an unknown variable",
     "variables = [\"V_m_mV\"]",
     "variables = [\"V_mem\"]",
     {kFile, "key 'recording.reports[0].variables'", "unknown variable 'V_mem'",
      "has: V_m_mV, g_AMPA_nS, g_GABA_A_nS"},
     "reports"},
    {"report of an unknown population",
     "population = \"E\", variables",
     "population = \"X\", variables",
     {"key 'recording.reports[0].population'", "unknown population 'X'"},
     "reports"},
    {"report of a neuron outside the population",
     "neurons = [0, 1]",
     "neurons = [0, 8]",
     {"key 'recording.reports[0].neurons'", "[0, 8)"},
     "reports"},
    {"two reports on one population",
     "interval_ms = 0.5 } ]",
     "interval_ms = 0.5 }, { population = \"E\", variables = [\"g_AMPA_nS\"] } ]",
     {kFile, "key 'recording.reports[1].population'", "a second report on population 'E'", "reports[0]"},
     "reports"},
    {"report interval shorter than dt",
     "interval_ms = 0.5",
     "interval_ms = 0.01",
     {"key 'recording.reports[0].interval_ms'", "0.01", "outside the allowed range"},
     "reports"},

    // --- --set overrides ----------------------------------------------------------------------
    {"--set on an unknown population",
     "",
     "",
     {kFile, "key 'populations.X.size'", "--set", "no element named 'X' in 'populations'",
      "known: E, I, stim"},
     "",
     {{"populations.X.size", "10"}}},
    {"--set with an empty path segment",
     "",
     "",
     {"key 'simulation..dt_ms'", "--set", "malformed key"},
     "",
     {{"simulation..dt_ms", "0.1"}}},
    {"--set without a value",
     "",
     "",
     {"key 'simulation.dt_ms'", "--set", "missing value"},
     "",
     {{"simulation.dt_ms", ""}}},
    {"--set into a value",
     "",
     "",
     {"key 'simulation.dt_ms.x'", "--set", "'dt_ms' is a value, not a table"},
     "",
     {{"simulation.dt_ms.x", "1"}}},
    {"--set on a list without an element",
     "",
     "",
     {"--set", "'populations' is a list"},
     "",
     {{"populations.E", "5"}}},
    {"--set to a value out of range",
     "",
     "",
     {"key 'simulation.dt_ms'", "value 20 ", "(0, 10]"},
     "",
     {{"simulation.dt_ms", "20"}}},
    {"--set of a misspelt key",
     "",
     "",
     {"key 'populations.E.params.C_pf'", "did you mean 'C_pF'?"},
     "",
     {{"populations.E.params.C_pf", "100"}}},
};

} // namespace

TEST_CASE("the base config of the error table is valid", "[config]") {
    const Experiment exp = load_experiment_from_string(kBase, kFile);
    REQUIRE(exp.populations.size() == 3);
    CHECK(exp.populations[0].name == "E");
    CHECK(exp.populations[0].size == 8);
    CHECK(exp.populations[0].params.get("C_pF") == 200.0);
    CHECK(exp.populations[1].params.get("C_pF") == 500.0); // the lif_cond default
    REQUIRE(exp.populations[2].spike_times_ms.size() == 2);
    CHECK(exp.populations[2].spike_times_ms[0] == std::vector<double>{10.0, 20.0});
    REQUIRE(exp.projections.size() == 2);
    CHECK(exp.projections[0].probability == 0.2);
    CHECK(exp.projections[1].degree == 1);
    CHECK(exp.projections[1].source_index == 2);
    REQUIRE(exp.recording.reports.size() == 1);
    CHECK(exp.recording.reports[0].neurons == std::vector<std::uint32_t>{0, 1});
}

TEST_CASE("bad configs are refused with file, line, key, value and reason", "[config]") {
    for (const BadConfig& bad : kBadConfigs) {
        DYNAMIC_SECTION(bad.what) {
            const std::string text = bad.from.empty() ? kBase : mutate(kBase, bad.from, bad.to);
            const std::string message = config_error(text, bad.overrides);
            INFO("message: " << message);
            for (const auto& fragment : bad.fragments) {
                INFO("expected fragment: " << fragment);
                CHECK(message.find(fragment) != std::string::npos);
            }
            if (!bad.line_marker.empty()) {
                const std::string location =
                    kFile + ":" + std::to_string(line_of(text, bad.line_marker)) + ":";
                INFO("expected location: " << location);
                CHECK(message.rfind(location, 0) == 0);
            }
        }
    }
}

TEST_CASE("ConfigError carries the key and reason separately", "[config]") {
    try {
        load_experiment_from_string(mutate(kBase, "probability = 0.2", "probability = 1.5"), kFile);
        FAIL("accepted a probability of 1.5");
    } catch (const ConfigError& e) {
        CHECK(e.file() == kFile);
        CHECK(e.key() == "projections.EE.probability");
        CHECK(e.reason() == "value 1.5 is outside the allowed range [0, 1]");
    }
}

TEST_CASE("a malformed --set is refused before loading", "[config]") {
    CHECK_THROWS_WITH(parse_override("simulation.duration_ms"),
                      Catch::Contains("--set 'simulation.duration_ms'") && Catch::Contains("key=value"));
    CHECK_THROWS_AS(parse_override("=5"), InputError);
    const Override o = parse_override("populations.E.size=10");
    CHECK(o.key == "populations.E.size");
    CHECK(o.value == "10");
    // Only the first '=' separates: the value may contain more.
    CHECK(parse_override("output.dir=\"a=b\"").value == "\"a=b\"");
}

TEST_CASE("spike_times_file is read strictly", "[config]") {
    test::TempDir dir("spike_file");
    const std::string config = dir.file("exp.toml");
    test::write_file(config, mutate(kBase, "spike_times_ms = [[10.0, 20.0], [15.0]]",
                                    "spike_times_file = \"spikes.txt\""));

    SECTION("comments, blank lines and commas are fine; the path is relative to the config") {
        test::write_file(dir.file("spikes.txt"), "# neuron time_ms\n\n1, 15.0\n0 20.0  # late\n0 10.0\n");
        const Experiment exp = load_experiment(config);
        REQUIRE(exp.populations[2].spike_times_ms.size() == 2);
        CHECK(exp.populations[2].spike_times_ms[0] == std::vector<double>{20.0, 10.0});
        CHECK(exp.populations[2].spike_times_ms[1] == std::vector<double>{15.0});
    }
    SECTION("a fractional neuron index is not truncated") {
        test::write_file(dir.file("spikes.txt"), "0 10.0\n1.5 2.0\n");
        CHECK_THROWS_WITH(load_experiment(config),
                          Catch::Contains("spikes.txt:2: expected 'neuron_index time_ms', got '1.5 2.0'"));
    }
    SECTION("a header line is not skipped silently") {
        test::write_file(dir.file("spikes.txt"), "neuron time\n0 10.0\n");
        CHECK_THROWS_WITH(load_experiment(config),
                          Catch::Contains("spikes.txt:1:") && Catch::Contains("'neuron time'"));
    }
    SECTION("a neuron outside the population") {
        test::write_file(dir.file("spikes.txt"), "2 10.0\n");
        CHECK_THROWS_WITH(load_experiment(config), Catch::Contains("populations.stim.spike_times_file") &&
                                                       Catch::Contains("neuron index 2 outside [0, 2)"));
    }
}

TEST_CASE("load_experiment names a missing config file", "[config]") {
    const std::string path = "/nonexistent/ketaplast/experiment.toml";
    CHECK_THROWS_AS(load_experiment(path), InputError);
    CHECK_THROWS_WITH(load_experiment(path), Catch::Contains(path) && Catch::Contains("not found"));
}

TEST_CASE("set overrides apply and are saved in resolved_toml", "[config]") {
    const std::vector<Override> overrides = {parse_override("simulation.duration_ms=50"),
                                             parse_override("populations.E.size=10"),
                                             parse_override("populations.E.params.C_pF=250.5"),
                                             parse_override("projections.EE.probability=0.3"),
                                             parse_override("populations.1.size=3"), // by index: "I"
                                             parse_override("output.dir=run_dir")};  // bare word: a string
    const Experiment exp = load_experiment_from_string(kBase, kFile, overrides);
    CHECK(exp.simulation.duration_ms == 50.0);
    CHECK(exp.populations[0].size == 10);
    CHECK(exp.populations[0].params.get("C_pF") == 250.5);
    CHECK(exp.populations[1].size == 3);
    CHECK(exp.projections[0].probability == 0.3);
    CHECK(exp.output_dir == "run_dir");
    // Untouched values stay.
    CHECK(exp.simulation.dt_ms == 0.1);
    CHECK(exp.populations[2].size == 2);

    // The resolved config is the experiment that ran: loading it again, without overrides, gives
    // the same values.
    const Experiment again = load_experiment_from_string(exp.resolved_toml, "resolved.toml");
    CHECK(again.simulation.duration_ms == 50.0);
    CHECK(again.populations[0].size == 10);
    CHECK(again.populations[0].params.get("C_pF") == 250.5);
    CHECK(again.populations[1].size == 3);
    CHECK(again.projections[0].probability == 0.3);
    CHECK(again.output_dir == "run_dir");

    // Without overrides, resolved_toml still carries the original values.
    const Experiment plain = load_experiment_from_string(kBase, kFile);
    CHECK(load_experiment_from_string(plain.resolved_toml, "resolved.toml").simulation.duration_ms == 100.0);
}

TEST_CASE("valid variations of the base config load", "[config]") {
    SECTION("indegree above the source size is fine with multapses") {
        const Experiment exp = load_experiment_from_string(
            mutate(kBase, "indegree = 1", "indegree = 3\nmultapses = true"), kFile);
        CHECK(exp.projections[1].degree == 3);
        CHECK(exp.projections[1].multapses);
    }
    SECTION("a delay of exactly one step") {
        const Experiment exp =
            load_experiment_from_string(mutate(kBase, "delay_ms = 1.5", "delay_ms = 0.1"), kFile);
        CHECK(exp.projections[0].delay_ms.is_constant());
        CHECK(exp.projections[0].delay_ms.value == 0.1);
    }
    SECTION("a normal delay is truncated at dt by default") {
        const Experiment exp = load_experiment_from_string(
            mutate(kBase, "delay_ms = 1.5", "delay_ms = { dist = \"normal\", mean = 1.5, sd = 0.5 }"), kFile);
        // The lower bound defaults to the allowed minimum (dt, less a rounding margin of 1e-9 dt).
        CHECK(exp.projections[0].delay_ms.min == Approx(0.1).epsilon(1e-8));
    }
    SECTION("a normal weight truncated at zero where most draws are positive") {
        // N(1, 0.5) truncated at 0 keeps Phi(2) = 97.7 % of draws: far above the 1 % floor.
        const Experiment exp = load_experiment_from_string(
            mutate(kBase, "weight_nS = 1.0", "weight_nS = { dist = \"normal\", mean = 1.0, sd = 0.5 }"),
            kFile);
        CHECK(exp.projections[0].weight.min == 0.0);
    }
    SECTION("the shipped configs") {
        CHECK_NOTHROW(load_experiment(test::source_path("configs/coba.toml")));
        CHECK_NOTHROW(load_experiment(test::source_path("configs/single_neuron.toml")));
    }
}

TEST_CASE("keys that would be silently ignored are refused", "[config]") {
    const std::string head = R"(
[simulation]
duration_ms = 1.0
[[populations]]
name = "src"
size = 1
model = "poisson_source"
SOURCE_EXTRA
[[populations]]
name = "cell"
size = 1
model = "lif_cond"
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }
[[projections]]
source = "src"
target = "cell"
receptor = "AMPA"
rule = "all_to_all"
weight_nS = 1.0
PROJECTION_EXTRA
delay_ms = 1.0
)";
    auto config = [&](const std::string& source_extra, const std::string& projection_extra) {
        std::string s = head;
        s.replace(s.find("SOURCE_EXTRA"), 12, source_extra);
        s.replace(s.find("PROJECTION_EXTRA"), 16, projection_extra);
        return s;
    };
    CHECK_NOTHROW(load_experiment_from_string(config("", ""), "ok.toml"));
    // A conductance receptor given both weights: the pA one would have been dropped.
    CHECK_THROWS_WITH(load_experiment_from_string(config("", "weight_pA = 5.0"), "w.toml"),
                      Catch::Contains("weight_pA") && Catch::Contains("give weight_nS"));
    // A spike source takes no current: dc_pA is an unknown key there.
    CHECK_THROWS_WITH(load_experiment_from_string(config("dc_pA = 10.0", ""), "dc.toml"),
                      Catch::Contains("populations.src.dc_pA") && Catch::Contains("unknown key"));
}
