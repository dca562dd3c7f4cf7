// The `ketaplast` command line, run as a real process: exit codes (0 success, 2 bad input, 1 failure
// during the run), one clear message, and what is left on disk afterwards.
#include "sim/app/version.hpp"
#include "sim/io/hdf5_file.hpp"

#include <sys/wait.h>
#include <unistd.h> // test_support.hpp uses getpid() without including it

#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using namespace ketaplast;
using test::read_file;
using test::run_ketaplast;
using test::TempDir;

namespace fs = std::filesystem;

namespace {

std::string quoted(const std::string& path) {
    return "\"" + path + "\"";
}

std::vector<std::string> entries(const std::string& dir) {
    std::vector<std::string> names;
    if (!fs::exists(dir)) return names;
    for (const auto& e : fs::directory_iterator(dir))
        names.push_back(e.path().filename().string());
    return names;
}

std::vector<std::string> temporaries(const std::string& dir) {
    std::vector<std::string> tmp;
    for (const auto& name : entries(dir))
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0) tmp.push_back(name);
    return tmp;
}

nlohmann::json read_summary(const std::string& dir) {
    return nlohmann::json::parse(test::read_file(dir + "/summary.json"));
}

// A small, quick network: 4 LIF neurons driven by a spike source. `extra_E` is appended to the
// population E (e.g. a current step).
std::string small_config(const std::string& extra_E = "") {
    return R"([simulation]
dt_ms = 0.1
duration_ms = 20.0
seed = 3

[[populations]]
name = "E"
size = 4
model = "lif_cond"
params = { C_pF = 200.0, g_leak_nS = 10.0, E_leak_mV = -60.0, V_th_mV = -50.0, V_reset_mV = -60.0, t_ref_ms = 5.0 }
receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }
)" + extra_E +
           R"(
[[populations]]
name = "stim"
size = 2
model = "spike_times"
spike_times_ms = [[1.0, 2.0], [1.5]]

[[projections]]
name = "stimE"
source = "stim"
target = "E"
receptor = "AMPA"
rule = "all_to_all"
weight_nS = 1.0
delay_ms = 1.0

[recording]
spikes = true
reports = [ { population = "E", variables = ["V_m_mV"], neurons = [0, 1] } ]
)";
}

} // namespace

TEST_CASE("cli: --version prints the version", "[cli][integration]") {
    test::TempDir dir("cli_version");
    const auto r = run_ketaplast("--version", dir.file("log"));
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains(std::string("ketaplast ") + KETAPLAST_VERSION));
}

TEST_CASE("cli: --help lists the subcommands", "[cli][integration]") {
    test::TempDir dir("cli_help");
    const auto r = run_ketaplast("--help", dir.file("log"));
    CHECK(r.exit_code == 0);
    for (const char* sub : {"run", "validate", "info", "models"})
        CHECK_THAT(r.output, Catch::Contains(sub));
    const auto run_help = run_ketaplast("run --help", dir.file("log"));
    CHECK(run_help.exit_code == 0);
    for (const char* option : {"--out", "--set", "--threads", "--seed"})
        CHECK_THAT(run_help.output, Catch::Contains(option));
}

TEST_CASE("cli: models lists every built-in model with its parameters", "[cli][integration]") {
    test::TempDir dir("cli_models");
    const auto r = run_ketaplast("models", dir.file("log"));
    CHECK(r.exit_code == 0);
    for (const char* text : {"lif_cond", "adex_cond", "poisson_source", "spike_times", "C_pF", "V_th_mV"})
        CHECK_THAT(r.output, Catch::Contains(text));
}

TEST_CASE("cli: unknown subcommands and options are bad input", "[cli][integration]") {
    test::TempDir dir("cli_unknown");
    const std::string config = dir.file("exp.toml");
    test::write_file(config, small_config());

    const auto unknown_command = run_ketaplast("simulate " + quoted(config), dir.file("log"));
    CHECK(unknown_command.exit_code == 2);
    CHECK_THAT(unknown_command.output,
               Catch::Contains("unknown command 'simulate'") && Catch::Contains("run"));

    const auto unknown_option = run_ketaplast("run " + quoted(config) + " --fast", dir.file("log"));
    CHECK(unknown_option.exit_code == 2);
    CHECK_THAT(unknown_option.output, Catch::Contains("--fast"));

    const auto no_command = run_ketaplast("", dir.file("log"));
    CHECK(no_command.exit_code == 2);

    const auto missing_config = run_ketaplast("validate", dir.file("log"));
    CHECK(missing_config.exit_code == 2);
    CHECK_THAT(missing_config.output, Catch::Contains("config is required"));

    const auto bad_threads = run_ketaplast(
        "run " + quoted(config) + " --threads 0 --out " + quoted(dir.file("out")), dir.file("log"));
    CHECK(bad_threads.exit_code == 2);
    CHECK_THAT(bad_threads.output, Catch::Contains("--threads"));
    CHECK_FALSE(fs::exists(dir.file("out")));
}

TEST_CASE("cli: a missing config file is bad input and is named", "[cli][integration]") {
    test::TempDir dir("cli_missing");
    const std::string config = dir.file("does_not_exist.toml");
    for (const std::string& args :
         {"validate " + quoted(config), "run " + quoted(config) + " --out " + quoted(dir.file("out"))}) {
        const auto r = run_ketaplast(args, dir.file("log"));
        INFO(args << " -> " << r.output);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains(config) && Catch::Contains("not found"));
        CHECK_FALSE(fs::exists(dir.file("out")));
    }
}

TEST_CASE("cli: an invalid config fails before anything is written", "[cli][integration]") {
    test::TempDir dir("cli_invalid");
    const std::string config = dir.file("exp.toml");
    std::string text = small_config();
    text.replace(text.find("seed = 3"), 8, "sede = 3");
    test::write_file(config, text);
    const std::string out = dir.file("out");

    const auto r = run_ketaplast("run " + quoted(config) + " --out " + quoted(out), dir.file("log"));
    CHECK(r.exit_code == 2);
    // One message with file, line, key and suggestion; "sede" is on line 4.
    CHECK_THAT(r.output, Catch::Contains(config + ":4:") && Catch::Contains("simulation.sede") &&
                             Catch::Contains("did you mean 'seed'?"));
    CHECK_THAT(r.output, !Catch::Contains("progress"));
    CHECK(entries(out).empty());

    const auto v = run_ketaplast("validate " + quoted(config), dir.file("log"));
    CHECK(v.exit_code == 2);
    CHECK_THAT(v.output, Catch::Contains("simulation.sede"));
}

TEST_CASE("cli: --set errors are bad input", "[cli][integration]") {
    test::TempDir dir("cli_set");
    const std::string config = dir.file("exp.toml");
    test::write_file(config, small_config());

    const auto unknown_population =
        run_ketaplast("validate " + quoted(config) + " --set populations.X.size=3", dir.file("log"));
    CHECK(unknown_population.exit_code == 2);
    CHECK_THAT(unknown_population.output,
               Catch::Contains("no element named 'X'") && Catch::Contains("known: E, stim"));

    const auto malformed =
        run_ketaplast("validate " + quoted(config) + " --set simulation.duration_ms", dir.file("log"));
    CHECK(malformed.exit_code == 2);
    CHECK_THAT(malformed.output, Catch::Contains("expected key=value"));

    const auto applied = run_ketaplast("validate " + quoted(config) +
                                           " --set populations.E.size=10 --set simulation.duration_ms=50",
                                       dir.file("log"));
    CHECK(applied.exit_code == 0);
    CHECK_THAT(applied.output, Catch::Contains("12 neurons") && Catch::Contains("50 ms"));
}

TEST_CASE("cli: an output directory that cannot be created is bad input", "[cli][integration]") {
    test::TempDir dir("cli_unwritable");
    const std::string config = dir.file("exp.toml");
    test::write_file(config, small_config());
    const std::string blocker = dir.file("a_file");
    test::write_file(blocker, "not a directory\n");

    for (const std::string& out : {blocker + "/run", blocker}) {
        const auto r = run_ketaplast("run " + quoted(config) + " --out " + quoted(out), dir.file("log"));
        INFO(r.output);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output,
                   Catch::Contains("output directory '" + out + "'") && Catch::Contains("cannot create"));
        // Nothing was written: the file is untouched and no other file appeared.
        CHECK(fs::is_regular_file(blocker));
        CHECK(test::read_file(blocker) == "not a directory\n");
        auto names = entries(dir.path());
        std::sort(names.begin(), names.end());
        CHECK(names == std::vector<std::string>{"a_file", "exp.toml", "log"});
    }
}

TEST_CASE("cli: validate accepts the shipped configs", "[cli][integration]") {
    test::TempDir dir("cli_validate");
    const auto coba =
        run_ketaplast("validate " + quoted(test::source_path("configs/coba.toml")), dir.file("log"));
    CHECK(coba.exit_code == 0);
    CHECK_THAT(coba.output, Catch::Contains("valid (2 populations, 4000 neurons, 4 projections"));
    const auto single =
        run_ketaplast("validate " + quoted(test::source_path("configs/single_neuron.toml")), dir.file("log"));
    CHECK(single.exit_code == 0);
    CHECK_THAT(single.output, Catch::Contains("valid (3 populations, 3 neurons, 2 projections, 200 ms"));
}

TEST_CASE("cli: run single_neuron writes every output, then info summarises it", "[cli][integration]") {
    test::TempDir dir("cli_run");
    const std::string out = dir.file("single");
    // One thread: three neurons give a second thread nothing to do, and with OpenMP's spinning
    // barriers (two per 1 ms exchange interval) a loaded machine made this run take 2 s instead of 0.03 s.
    const auto r = run_ketaplast("run " + quoted(test::source_path("configs/single_neuron.toml")) +
                                     " --out " + quoted(out) + " --threads 1",
                                 dir.file("log"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("completed"));
    for (const char* f : {"spikes.h5", "report_V_m_mV.h5", "timeseries.h5", "summary.json", "config.toml"}) {
        INFO(f);
        CHECK(fs::is_regular_file(out + "/" + f));
        CHECK(fs::file_size(out + "/" + f) > 0);
    }
    CHECK(temporaries(out).empty());
    CHECK_FALSE(fs::exists(out + "/.ketaplast_write_probe"));

    // The summary counts exactly the spikes the config scheduled: 7 excitatory and 1 inhibitory.
    const auto summary = read_summary(out);
    CHECK(summary["status"] == "completed");
    CHECK(summary["simulated_ms"].get<double>() == Approx(200.0));
    CHECK(summary["threads"] == 1);
    CHECK(summary["populations"]["excitatory_input"]["spike_count"] == 7);
    CHECK(summary["populations"]["inhibitory_input"]["spike_count"] == 1);
    CHECK(summary["populations"]["neuron"]["synapses_in"] == 2);

    // The saved config is a valid experiment on its own.
    const auto saved = run_ketaplast("validate " + quoted(out + "/config.toml"), dir.file("log"));
    CHECK(saved.exit_code == 0);

    const auto info = run_ketaplast("info " + quoted(out), dir.file("log"));
    INFO(info.output);
    CHECK(info.exit_code == 0);
    CHECK_THAT(info.output, Catch::Contains("status     completed"));
    for (const char* name : {"neuron", "excitatory_input", "inhibitory_input", "lif_cond", "spike_times"})
        CHECK_THAT(info.output, Catch::Contains(name));
    CHECK_THAT(info.output,
               Catch::Contains("spikes.h5 timeseries.h5 nodes.h5 config.toml summary.json report_V_m_mV.h5 "
                               "report_g_AMPA_nS.h5 report_g_GABA_A_nS.h5"));
}

TEST_CASE("cli: run applies --set, --seed and --threads, and saves the resolved config",
          "[cli][integration]") {
    test::TempDir dir("cli_run_set");
    const std::string config = dir.file("exp.toml");
    test::write_file(config, small_config());
    const std::string out = dir.file("out");
    const auto r =
        run_ketaplast("run " + quoted(config) + " --out " + quoted(out) +
                          " --set simulation.duration_ms=5 --set populations.E.size=6 --seed 42 --threads 2",
                      dir.file("log"));
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const auto summary = read_summary(out);
    CHECK(summary["status"] == "completed");
    CHECK(summary["seed"] == 42);
    CHECK(summary["threads"] == 2);
    CHECK(summary["simulated_ms"].get<double>() == Approx(5.0));
    CHECK(summary["populations"]["E"]["size"] == 6);
    // all_to_all from 2 stimulus neurons onto the 6 neurons of E.
    CHECK(summary["populations"]["E"]["synapses_in"] == 12);

    // config.toml is the experiment as run: the overrides are in it.
    const auto saved = run_ketaplast("validate " + quoted(out + "/config.toml"), dir.file("log"));
    CHECK(saved.exit_code == 0);
    CHECK_THAT(saved.output, Catch::Contains("8 neurons") && Catch::Contains("5 ms"));
    CHECK_THAT(test::read_file(out + "/config.toml"), Catch::Contains("seed = 42"));
}

TEST_CASE("cli: info on a directory that is not a run is bad input", "[cli][integration]") {
    test::TempDir dir("cli_info");
    const auto empty = run_ketaplast("info " + quoted(dir.path()), dir.file("log"));
    CHECK(empty.exit_code == 2);
    CHECK_THAT(empty.output, Catch::Contains(dir.path() + "/summary.json") && Catch::Contains("not found"));

    test::write_file(dir.file("summary.json"), "{ not json");
    const auto broken = run_ketaplast("info " + quoted(dir.path()), dir.file("log"));
    CHECK(broken.exit_code == 2);
    CHECK_THAT(broken.output, Catch::Contains("not valid JSON"));

    const auto missing = run_ketaplast("info " + quoted(dir.file("nowhere")), dir.file("log"));
    CHECK(missing.exit_code == 2);
}

TEST_CASE("cli: a numerical blow-up stops the run with exit 1 and keeps what was recorded",
          "[cli][integration]") {
    // A -1 nA step into a 1 pF cell with g_leak 10 nS (tau_m = 0.1 ms) drives V towards
    // E_leak + I/g_leak = -60 - 1e5 mV; it passes the 10^4 mV health limit in the first step of the
    // step current (2 ms), and the next health check (once per ms of simulated time, at the end of a
    // 1 ms exchange interval) stops the run at t = 3 ms. The stimulus spikes at 1.0, 1.5 and 2.0 ms
    // come before that.
    test::TempDir dir("cli_blowup");
    const std::string config = dir.file("blowup.toml");
    std::string text =
        small_config("current_steps = [ { start_ms = 2.0, stop_ms = 15.0, amplitude_pA = -1e6 } ]\n");
    text.replace(text.find("C_pF = 200.0"), 12, "C_pF = 1.0");
    test::write_file(config, text);
    const std::string out = dir.file("out");

    const auto r = run_ketaplast("run " + quoted(config) + " --out " + quoted(out), dir.file("log"));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Contains("numerical blow-up") && Catch::Contains("population 'E'") &&
                             Catch::Contains("neuron 0") && Catch::Contains("t = 3 ms") &&
                             Catch::Contains("V_m_mV = "));

    // What was recorded up to the failure is on disk, complete (no temporaries).
    for (const char* f : {"spikes.h5", "report_V_m_mV.h5", "timeseries.h5", "summary.json", "config.toml"}) {
        INFO(f);
        CHECK(fs::is_regular_file(out + "/" + f));
    }
    CHECK(temporaries(out).empty());
    const auto summary = read_summary(out);
    const std::string status = summary["status"];
    CHECK_THAT(status, Catch::StartsWith("failed") && Catch::Contains("population 'E'"));
    CHECK(summary["simulated_ms"].get<double>() == Approx(3.0));
    CHECK(summary["populations"]["stim"]["spike_count"] == 3);

    h5::silence_errors();
    const auto spikes = h5::File::open_read(out + "/spikes.h5");
    const auto stim = spikes.open_group("spikes").open_group("stim");
    // Spike times are recorded at step resolution; 1e-9 ms allows for the float step*dt product.
    const std::vector<double> times = stim.read_doubles("timestamps");
    REQUIRE(times.size() == 3);
    CHECK(times[0] == Approx(1.0).margin(1e-9));
    CHECK(times[1] == Approx(1.5).margin(1e-9));
    CHECK(times[2] == Approx(2.0).margin(1e-9));

    // info reads the failed run and shows its status.
    const auto info = run_ketaplast("info " + quoted(out), dir.file("log"));
    CHECK(info.exit_code == 0);
    CHECK_THAT(info.output, Catch::Contains("status     failed"));
}

TEST_CASE("cli: pharmacology pk writes the Domino infusion curve (T15) and refuses bad doses",
          "[cli][integration][pk]") {
    TempDir dir("pharmacology");
    const auto ok = run_ketaplast("pharmacology pk --infusion 0.5@0+40 --duration-min 60 --out \"" +
                                      dir.file("pk.csv") + "\"",
                                  dir.file("log"));
    REQUIRE(ok.exit_code == 0);
    // Row "40,<ng/mL>,...": Domino Cp(40 min) = 240 ng/mL = 1.01 uM (docs/science.md T15, +- 1 %).
    const std::string csv = read_file(dir.file("pk.csv"));
    const auto at = csv.find("\n40,");
    REQUIRE(at != std::string::npos);
    const double cp = std::stod(csv.substr(at + 4));
    CHECK(cp == Approx(240.0).epsilon(0.01));
    for (const char* bad : {"--infusion -0.5@0+40", "--infusion 0.5@0+0", "--infusion 0.5", "--bolus 1@-3",
                            "--infusion 0.5@0+40 --model dominoo", "--infusion 0.5@0+40 --weight-kg 0"}) {
        const auto r = run_ketaplast(std::string("pharmacology pk ") + bad, dir.file("log"));
        INFO(bad << ": " << r.output);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains("error"));
    }
}

TEST_CASE("cli: pharmacology pk of intranasal esketamine writes both species as HDF5, bad routes refused",
          "[cli][integration][pk]") {
    TempDir dir("pharmacology_nasal");
    const auto ok =
        run_ketaplast("pharmacology pk --model esketamine_nasal --nasal 84@0 --duration-min 120 --out \"" +
                          dir.file("pk.h5") + "\"",
                      dir.file("log"));
    REQUIRE(ok.exit_code == 0);
    CHECK_THAT(ok.output, Catch::Contains("esketamine_plasma_ng_per_mL") &&
                              Catch::Contains("norketamine_plasma_ng_per_mL"));
    h5::File f = h5::File::open_read(dir.file("pk.h5"));
    const auto t = f.read_doubles("time_min");
    const auto cp = f.open_group("esketamine").read_doubles("plasma_ng_per_mL");
    const auto uM = f.open_group("esketamine").read_doubles("plasma_uM");
    const auto nk = f.open_group("norketamine").read_doubles("plasma_ng_per_mL");
    const auto nk_uM = f.open_group("norketamine").read_doubles("plasma_uM");
    REQUIRE(t.size() == 121);
    const std::size_t peak = std::size_t(std::max_element(cp.begin(), cp.end()) - cp.begin());
    // docs/science.md §4.5 [D]: 84 mg -> Cmax 117-140 ng/mL, 25-34 min after the last spray (at 10 min).
    CHECK(cp[peak] > 117.0);
    CHECK(cp[peak] < 140.0);
    CHECK(t[peak] - 10.0 >= 25.0);
    CHECK(t[peak] - 10.0 <= 34.0);
    // Molar masses of docs/science.md §0: 237.7 (esketamine), 223.7 (norketamine) g/mol.
    CHECK(uM[peak] == Approx(cp[peak] / 237.7).epsilon(1e-12));
    CHECK(nk_uM[120] == Approx(nk[120] / 223.7).epsilon(1e-12));
    CHECK(nk[120] > 0.0);
    for (const char* bad :
         {"--model esketamine_nasal --nasal 30@0", "--model esketamine_nasal --bolus 1@0", "--ip 10@0",
          "--model mouse --ip -1@0", "--nasal 84@0 --model esketamine_nasal --weeks 2",
          "--model esketamine_nasal --nasal 84@0 --agent ketamin",
          "--model esketamine_nasal --nasal 84@0 --session-days 0,3 --weeks 2 --days-of-week 0"}) {
        const auto r = run_ketaplast(std::string("pharmacology pk ") + bad, dir.file("log"));
        INFO(bad << ": " << r.output);
        CHECK(r.exit_code == 2);
        CHECK_THAT(r.output, Catch::Contains("error"));
    }
}

TEST_CASE("cli: pharmacology block reports the apparent IC50 and lists known agents", "[cli][integration]") {
    TempDir dir("block");
    const auto ok =
        run_ketaplast("pharmacology block --agent ketamine --voltage-mV -70 --mg-mM 0", dir.file("log"));
    REQUIRE(ok.exit_code == 0);
    // 0 Mg, -70 mV: the IC50 is K_d(-70) = 0.71 uM (Gilling 2009), whatever the Hill coefficient.
    CHECK_THAT(ok.output, Catch::Contains("apparent IC50 0.71 uM"));
    const auto bad = run_ketaplast("pharmacology block --agent ketamin", dir.file("log"));
    CHECK(bad.exit_code == 2);
    CHECK_THAT(bad.output, Catch::Contains("known: ketamine, esketamine"));
    CHECK(run_ketaplast("pharmacology block --mg-mM -1", dir.file("log")).exit_code == 2);
}

TEST_CASE("cli: every shipped config validates", "[cli][integration]") {
    // New experiment files are covered without editing this test.
    test::TempDir dir("cli_all_configs");
    int count = 0;
    for (const auto& entry : fs::directory_iterator(test::source_path("configs"))) {
        if (entry.path().extension() != ".toml") continue;
        ++count;
        const auto r = run_ketaplast("validate " + quoted(entry.path().string()), dir.file("log"));
        INFO(entry.path().string() << ": " << r.output);
        CHECK(r.exit_code == 0);
    }
    CHECK(count >= 4);
}

TEST_CASE("cli: OMP_THREAD_LIMIT below --threads still runs", "[cli][integration]") {
    test::TempDir dir("thread_limit");
    const std::string cmd = "OMP_THREAD_LIMIT=1 \"" + std::string(KETAPLAST_BINARY) + "\" run " +
                            quoted(test::source_path("configs/single_neuron.toml")) + " --threads 2 --out " +
                            quoted(dir.file("out")) + " > " + quoted(dir.file("log")) + " 2>&1";
    const int status = std::system(cmd.c_str());
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(fs::exists(dir.file("out/summary.json")));
}

TEST_CASE("cli: a full disk ends the run with exit 1 and leaves no partial files", "[cli][integration]") {
    // ulimit -f (1 KiB blocks) makes writes beyond 300 KiB fail as on a full disk; SIGXFSZ ignored so
    // the write returns an error instead of killing the process.
#if defined(__SANITIZE_ADDRESS__)
    WARN("skipped under AddressSanitizer: its reports and shadow memory do not mix with a file-size limit");
    return;
#endif
    test::TempDir dir("disk_full");
    const std::string cmd =
        "sh -c 'trap \"\" XFSZ; ulimit -f 300; exec \"" + std::string(KETAPLAST_BINARY) + "\" run " +
        quoted(test::source_path("configs/coba.toml")) +
        " --threads 2 --set simulation.duration_ms=15000 --set recording.reports=[] --out " +
        quoted(dir.file("out")) + "' > " + quoted(dir.file("log")) + " 2>&1";
    const int status = std::system(cmd.c_str());
    INFO(test::read_file(dir.file("log")));
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    CHECK_THAT(test::read_file(dir.file("log")), Catch::Contains("disk full"));
    for (const auto& entry : fs::directory_iterator(dir.file("out"))) {
        INFO(entry.path().string());
        CHECK(entry.path().extension() != ".tmp");
        CHECK(entry.path().filename() != "summary.json");
    }
}

TEST_CASE("cli: sweep runs a grid, one point by --index, and collects the table", "[cli][integration]") {
    test::TempDir dir("sweep");
    const std::string config = quoted(test::source_path("configs/single_neuron.toml"));
    const std::string grid = " --param populations.neuron.params.C_pF=400,500 --param simulation.seed=1,2";
    const auto all =
        run_ketaplast("sweep " + config + grid + " --out " + quoted(dir.file("all")), dir.file("log"));
    REQUIRE(all.exit_code == 0);
    const std::string table = test::read_file(dir.file("all/sweep.csv"));
    CHECK_THAT(table, Catch::StartsWith("index,populations.neuron.params.C_pF,simulation.seed,status"));
    CHECK_THAT(table, Catch::Contains("\n3,500,2,completed,")); // last parameter varies fastest
    CHECK(fs::exists(dir.file("all/point_3/summary.json")));
    // A SLURM-array style run: one point, then --collect builds the table (missing points marked).
    const auto one = run_ketaplast("sweep " + config + grid + " --index 2 --out " + quoted(dir.file("array")),
                                   dir.file("log"));
    REQUIRE(one.exit_code == 0);
    CHECK(fs::exists(dir.file("array/point_2/summary.json")));
    CHECK_FALSE(fs::exists(dir.file("array/point_1")));
    const auto collect = run_ketaplast(
        "sweep " + config + grid + " --collect --out " + quoted(dir.file("array")), dir.file("log"));
    REQUIRE(collect.exit_code == 0);
    const std::string partial = test::read_file(dir.file("array/sweep.csv"));
    CHECK_THAT(partial, Catch::Contains("\n2,500,1,completed,"));
    CHECK_THAT(partial, Catch::Contains("\n1,400,2,missing"));
    // --collect labels each point from its own config.toml: a grid given in another order than the one the
    // points ran with is refused (point 2 ran with seed 1; in the reordered grid point 2 has seed 2).
    const auto reordered = run_ketaplast("sweep " + config +
                                             " --param populations.neuron.params.C_pF=400,500 --param "
                                             "simulation.seed=2,1 --collect --out " +
                                             quoted(dir.file("array")),
                                         dir.file("log"));
    CHECK(reordered.exit_code == 2);
    CHECK_THAT(reordered.output,
               Catch::Contains("point_2/config.toml: simulation.seed = 1, but point 2 of the "
                               "sweep has simulation.seed = 2"));
    CHECK(test::read_file(dir.file("array/sweep.csv")) == partial); // the table is left as it was
    // Bad input: index out of range, an unknown key, a value of the wrong type; nothing is written.
    const auto range = run_ketaplast("sweep " + config + grid + " --index 4 --out " + quoted(dir.file("bad")),
                                     dir.file("log"));
    CHECK(range.exit_code == 2);
    CHECK_THAT(range.output, Catch::Contains("out of range") && Catch::Contains("4 points"));
    const auto key = run_ketaplast(
        "sweep " + config + " --param simulation.sed=1,2 --out " + quoted(dir.file("bad")), dir.file("log"));
    CHECK(key.exit_code == 2);
    CHECK_THAT(key.output, Catch::Contains("did you mean 'seed'"));
    const auto type = run_ketaplast("sweep " + config + " --param simulation.duration_ms=100,abc --out " +
                                        quoted(dir.file("bad")),
                                    dir.file("log"));
    CHECK(type.exit_code == 2);
    CHECK_THAT(type.output, Catch::Contains("simulation.duration_ms"));
    CHECK_FALSE(fs::exists(dir.file("bad")));
}

TEST_CASE("cli: --mpi is refused by a build without MPI (or without an MPI launcher)", "[cli][integration]") {
    test::TempDir dir("cli_mpi");
    const std::string config = dir.file("exp.toml");
    test::write_file(config, small_config());
    const auto r = run_ketaplast("run " + quoted(config) + " --out " + quoted(dir.file("out")) + " --mpi",
                                 dir.file("log"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains("--mpi"));
    CHECK_FALSE(std::filesystem::exists(dir.file("out")));
}

TEST_CASE("cli: sweep runaway check stops a point early and marks it in the tables", "[cli][integration]") {
    test::TempDir dir("sweep_runaway");
    const std::string config = dir.file("exp.toml");
    test::write_file(config, small_config());
    // The stim source fires 3 spikes from 2 neurons in [0, 10) ms: 3 / (2 x 0.01 s) = 150 Hz, above a
    // 50 Hz ceiling in the first 10 ms window, so each point stops at 10 ms of its 100 or 200 ms.
    const auto r =
        run_ketaplast("sweep " + quoted(config) +
                          " --param simulation.duration_ms=100,200 --max-rate 50 --runaway-window 10"
                          " --out " +
                          quoted(dir.file("sw")),
                      dir.file("log"));
    CHECK(r.exit_code == 1); // points failed
    const std::string table = test::read_file(dir.file("sw/sweep.csv"));
    // The status holds a comma, so the CSV field is quoted (RFC 4180, libcsv).
    CHECK_THAT(table,
               Catch::Contains("\n0,100,\"runaway: population 'stim' fired at 150 Hz over 0-10 ms, above "
                               "the ceiling of 50 Hz\",0,150,"));
    CHECK_THAT(table, Catch::Contains("\n1,200,\"runaway:"));
    CHECK(fs::exists(dir.file("sw/sweep.h5")));
    const auto summary = nlohmann::json::parse(test::read_file(dir.file("sw/point_1/summary.json")));
    CHECK(summary["simulated_ms"].get<double>() == Approx(10.0).margin(1e-9)); // stopped at the window's end
    // Without a ceiling the same sweep completes.
    const auto ok = run_ketaplast("sweep " + quoted(config) + " --param simulation.duration_ms=100 --out " +
                                      quoted(dir.file("ok")),
                                  dir.file("log"));
    CHECK(ok.exit_code == 0);
    CHECK_THAT(test::read_file(dir.file("ok/sweep.csv")), Catch::Contains("\n0,100,completed,"));
}
