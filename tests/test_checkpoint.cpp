// Checkpoint and resume (sim/io/checkpoint.hpp, sim/app/run.cpp): a run stopped at a checkpoint and resumed,
// with the same or another thread count, writes exactly the outputs of a run that never stopped; broken,
// foreign and other-version checkpoints are refused with a clear message before anything is touched.
// The CLI side (SIGTERM, a process killed while writing a checkpoint) runs the real binary.
#include "core/error.hpp"
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/io/checkpoint.hpp"
#include "sim/io/hdf5_file.hpp"
#include "sim/network/network.hpp"
#include "test_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <hdf5.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

using namespace ketaplast;
using namespace ketaplast::test;
namespace fs = std::filesystem;

namespace {

// A small recurrent network with everything that carries state: two neuron models (LIF, AdEx with its
// adaptation current and refractory counters), AMPA/NMDA/GABA_A receptors with delays 1-3 ms (input in
// flight in the ring buffers at every exchange boundary), a Poisson drive, a PK-driven ketamine dose on
// a 20 ms slow clock (so ticks fall between checkpoints), a bath drug, a spike_times source with spikes
// just before, at and after the 124 ms pause, state reports at two intervals that do not divide the
// exchange interval, and population rates.
std::string network_config(double duration_ms) {
    return R"([simulation]
dt_ms = 0.1
duration_ms = )" +
           std::to_string(duration_ms) + R"(
seed = 7

[[drugs]]
agent = "ketamine"
pk = { model = "domino", weight_kg = 70.0, unbound_fraction = 0.6, boluses = ["2@0"], infusions = ["1@0+10"], step_ms = 20.0 }

[[drugs]]
agent = "memantine"
bath_uM = 1.0

[[populations]]
name = "E"
size = 80
model = "lif_cond"
params = { t_ref_ms = 2.0 }
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }
receptors.NMDA = { shape = "nmda", tau_rise_ms = 2.0, tau_ms = 100.0, E_rev_mV = 0.0, Mg_mM = 1.0 }
receptors.GABA_A = { tau_ms = 5.0, E_rev_mV = -70.0 }
poisson_drive = { receptor = "AMPA", rate_Hz = 5.0, inputs = 400, weight_nS = 2.3 }

[[populations]]
name = "I"
size = 20
model = "adex_cond"
params = { t_ref_ms = 1.0 }
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }
receptors.NMDA = { shape = "nmda", tau_rise_ms = 2.0, tau_ms = 100.0, E_rev_mV = 0.0, Mg_mM = 1.0 }
receptors.GABA_A = { tau_ms = 5.0, E_rev_mV = -70.0 }
poisson_drive = { receptor = "AMPA", rate_Hz = 5.0, inputs = 300, weight_nS = 4.0 }

[[populations]]
name = "stim"
size = 2
model = "spike_times"
spike_times_ms = [[10.0, 123.9, 124.0, 124.1, 200.0], [50.0, 124.0]]

[[projections]]
name = "stimE"
source = "stim"
target = "E"
receptor = "AMPA"
rule = "all_to_all"
weight_nS = 5.0
delay_ms = 1.0

[[projections]]
name = "EE_NMDA"
source = "E"
target = "E"
receptor = "NMDA"
rule = "fixed_probability"
probability = 0.2
weight_nS = 0.3
delay_ms = { dist = "uniform", low = 1.0, high = 3.0 }

[[projections]]
name = "EE_AMPA"
source = "E"
target = "E"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.2
weight_nS = 0.5
delay_ms = 1.5

[[projections]]
name = "EI"
source = "E"
target = "I"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.3
weight_nS = 0.8
delay_ms = 1.0

[[projections]]
name = "IE"
source = "I"
target = "E"
receptor = "GABA_A"
rule = "fixed_probability"
probability = 0.4
weight_nS = 2.0
delay_ms = 1.0

[recording]
rate_bin_ms = 5.0
reports = [ { population = "E", variables = ["V_m_mV", "g_NMDA_nS"], neurons = [0, 3, 7], interval_ms = 0.5 },
            { population = "I", variables = ["V_m_mV", "w_pA"], neurons = [1], interval_ms = 0.3 } ]
)";
}

// Every numeric dataset of an HDF5 file, by path, as doubles (exact for the floats and the integers
// below 2^53 that the outputs hold).
std::map<std::string, std::vector<double>> numeric_datasets(const std::string& path) {
    h5::silence_errors();
    std::map<std::string, std::vector<double>> out;
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    REQUIRE(file >= 0);
    std::vector<std::string> names;
    H5Ovisit(
        file, H5_INDEX_NAME, H5_ITER_NATIVE,
        [](hid_t, const char* name, const H5O_info_t* info, void* data) -> herr_t {
            if (info->type == H5O_TYPE_DATASET) static_cast<std::vector<std::string>*>(data)->push_back(name);
            return 0;
        },
        &names);
    for (const auto& name : names) {
        const hid_t d = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
        const hid_t type = H5Dget_type(d);
        const H5T_class_t cls = H5Tget_class(type);
        if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
            const hid_t space = H5Dget_space(d);
            std::vector<double> values(std::size_t(H5Sget_simple_extent_npoints(space)));
            if (!values.empty()) H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
            out[name] = values;
            H5Sclose(space);
        }
        H5Tclose(type);
        H5Dclose(d);
    }
    H5Fclose(file);
    return out;
}

nlohmann::json summary_without_timing(const std::string& dir) {
    auto s = nlohmann::json::parse(read_file(dir + "/summary.json"));
    for (const char* k : {"timing", "profile", "memory", "threads"})
        s.erase(k);
    if (s.contains("engine")) s["engine"].erase("synaptic_events_per_s");
    return s;
}

// The output files of a run: the fixed ones and one SONATA report file per recorded variable.
std::vector<std::string> output_files(const std::string& dir) {
    std::vector<std::string> names{"spikes.h5", "timeseries.h5", "nodes.h5",
                                   "edges.h5",  "snapshots.h5",  "slow.h5"};
    for (const auto& entry : fs::directory_iterator(dir))
        if (const std::string n = entry.path().filename().string();
            n.rfind("report_", 0) == 0 && entry.path().extension() == ".h5")
            names.push_back(n);
    return names;
}

// The outputs of two runs are the same, bit for bit (every dataset exactly equal), apart from timing.
void require_same_outputs(const std::string& a, const std::string& b) {
    REQUIRE(output_files(a).size() == output_files(b).size());
    for (const std::string& name : output_files(a)) {
        INFO(name);
        REQUIRE(fs::exists(a + "/" + name) == fs::exists(b + "/" + name));
        if (!fs::exists(a + "/" + name)) continue;
        const auto x = numeric_datasets(a + "/" + name), y = numeric_datasets(b + "/" + name);
        REQUIRE(x.size() == y.size());
        for (const auto& [key, values] : x) {
            INFO(key);
            REQUIRE(y.count(key) == 1);
            CHECK(values == y.at(key)); // exact: bit-identical continuation
        }
    }
    CHECK(summary_without_timing(a) == summary_without_timing(b));
    CHECK(read_file(a + "/config.toml") == read_file(b + "/config.toml"));
    CHECK(!fs::exists(b + "/checkpoint.h5")); // a completed run has nothing left to resume
}

std::size_t spike_count(const std::string& dir) {
    const auto s = nlohmann::json::parse(read_file(dir + "/summary.json"));
    std::size_t n = 0;
    for (const auto& p : s["populations"])
        n += p["spike_count"].get<std::size_t>();
    return n;
}

RunResult run(const std::string& dir, double duration_ms, int threads, double stop_at_ms = 0,
              double every_ms = 0, const std::string& extra_recording = "") {
    const Experiment exp =
        load_experiment_from_string(network_config(duration_ms) + extra_recording, "checkpoint_net.toml");
    RunOptions o;
    o.output_dir = dir;
    o.threads = threads;
    o.stop_at_ms = stop_at_ms;
    o.checkpoint_every_ms = every_ms;
    return run_experiment(exp, o);
}

RunResult resume(const std::string& dir, int threads, double until_ms = 0) {
    ResumeOptions o;
    o.run_dir = dir;
    o.threads = threads;
    o.until_ms = until_ms;
    return resume_run(o);
}

std::string file_bytes(const std::string& path) {
    return read_file(path);
}

} // namespace

TEST_CASE("resume gives bit-identical outputs, 1 -> 1 and 1 -> 2 threads", "[checkpoint][integration]") {
    TempDir dir("ckpt_resume");
    const std::string ref = dir.file("ref");
    run(ref, 300.0, 1);
    // Enough activity that a wrong ring buffer, drug clock or refractory counter would change spikes.
    REQUIRE(spike_count(ref) > 500);

    for (int threads : {1, 2}) {
        INFO("resumed with " << threads << " threads");
        const std::string out = dir.file("resumed_" + std::to_string(threads));
        // 123.4 ms rounds up to the next exchange boundary (min delay 1 ms): 124 ms.
        const RunResult paused = run(out, 300.0, 1, 123.4);
        CHECK(paused.paused);
        CHECK(paused.status == "paused");
        CHECK(paused.stopped_ms == Approx(124.0).margin(1e-9));
        CHECK(fs::exists(out + "/checkpoint.h5"));
        CHECK(fs::exists(out + "/spikes.h5.tmp"));
        CHECK(!fs::exists(out + "/spikes.h5"));
        const RunResult done = resume(out, threads);
        CHECK(done.status == "completed");
        require_same_outputs(ref, out);
    }
}

TEST_CASE("periodic checkpoints and several pauses do not change the run", "[checkpoint][integration]") {
    TempDir dir("ckpt_pauses");
    const std::string ref = dir.file("ref"), out = dir.file("out");
    run(ref, 300.0, 2);
    // Checkpoints every 7 ms (rounded to whole exchange intervals), paused at 50 ms, resumed on 2 threads
    // to 180 ms, paused again, finished on 1 thread.
    CHECK(run(out, 300.0, 2, 50.0, 7.0).paused);
    CHECK(resume(out, 2, 180.0).paused);
    CHECK(resume(out, 1).status == "completed");
    require_same_outputs(ref, out);
}

TEST_CASE("plastic weights and STDP traces survive checkpoint and resume bit-identically, 1 -> 2 threads",
          "[checkpoint][plasticity][integration]") {
    // The test network plus a triplet-STDP E->E projection and a multiplicative pair rule on the stimulus
    // projection (appended after [recording]: TOML arrays of tables may continue anywhere).
    const std::string plastic = R"(edges = true
snapshot_times_ms = [0, 100, 200, 300]

[[projections]]
name = "EE_plastic"
source = "E"
target = "E"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.2
weight_nS = { dist = "uniform", low = 0.2, high = 0.8 }
delay_ms = 1.5
plasticity = { rule = "stdp_triplet", parameter_set = "hippocampal_culture_all_to_all", w_max_nS = 1.0 }

[[projections]]
name = "stim_plastic"
source = "stim"
target = "E"
receptor = "NMDA"
rule = "all_to_all"
weight_nS = 0.5
delay_ms = 1.0
plasticity = { rule = "stdp_pair", w_max_nS = 1.0, bounds = "multiplicative", A_plus = 0.05, A_minus = 0.05 }

[[projections]]
name = "EE_calcium"
source = "E"
target = "E"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.2
weight_nS = { dist = "uniform", low = 0.2, high = 0.8 }
delay_ms = 1.5
plasticity = { rule = "calcium", parameter_set = "DP", w_max_nS = 1.0, w_min_nS = 0.2 }
)";
    TempDir dir("ckpt_plastic");
    const std::string ref = dir.file("ref"), out = dir.file("out");
    run(ref, 300.0, 1, 0, 0, plastic);
    REQUIRE(spike_count(ref) > 500);
    const auto snapshots = numeric_datasets(ref + "/snapshots.h5");
    const auto& w = snapshots.at("edges/EE_plastic/0/syn_weight");
    const std::size_t n = w.size() / 4;
    REQUIRE(n > 100);
    // The weights change between snapshots (else the round trip would prove nothing).
    CHECK(!std::equal(w.begin(), w.begin() + std::ptrdiff_t(n), w.begin() + std::ptrdiff_t(3 * n)));
    CHECK(run(out, 300.0, 1, 123.4, 0, plastic).paused);
    const auto saved = numeric_datasets(out + "/checkpoint.h5");
    CHECK(saved.count("plasticity/EE_plastic/weight_nS") == 1);
    CHECK(saved.count("plasticity/EE_plastic/pre_r2") == 1);
    CHECK(saved.count("plasticity/stim_plastic/post_o1") == 1);
    CHECK(saved.count("plasticity/EE_calcium/rho") == 1);
    CHECK(saved.count("plasticity/EE_calcium/pending_calcium_step") == 1);
    CHECK(resume(out, 2).status == "completed");
    require_same_outputs(ref, out);
}

TEST_CASE("resume --until past the duration runs on as a longer run would", "[checkpoint][integration]") {
    TempDir dir("ckpt_extend");
    const std::string ref = dir.file("ref"), out = dir.file("out");
    run(ref, 250.0, 1);
    CHECK(run(out, 200.0, 1, 100.0).paused);
    CHECK(resume(out, 1, 250.0).status == "completed");
    // Only the configured duration differs: the saved config says 200 ms; the outputs are the 250 ms run's.
    for (const char* name : {"spikes.h5", "report_V_m_mV.h5", "report_w_pA.h5", "timeseries.h5"}) {
        INFO(name);
        CHECK(numeric_datasets(ref + "/" + name) == numeric_datasets(out + "/" + name));
    }
    CHECK(nlohmann::json::parse(read_file(out + "/summary.json"))["duration_ms"] == 250.0);
}

TEST_CASE("a checkpoint holds every named state array of every population", "[checkpoint]") {
    TempDir dir("ckpt_layout");
    const std::string out = dir.file("out");
    run(out, 300.0, 1, 60.0);
    const Experiment exp = load_experiment_from_string(network_config(300.0), "checkpoint_net.toml");
    const Network net = build_network(exp, 1);
    h5::silence_errors();
    const h5::File f = h5::File::open_read(out + "/checkpoint.h5");
    for (const auto& pop : net.populations) {
        if (pop.group->state_names().empty()) continue; // spike sources: the step is their state
        const h5::Object g = f.open_group("neurons").open_group(pop.spec->name);
        std::vector<std::string> names = pop.group->state_names();
        for (const auto& c : pop.group->counter_names())
            names.push_back(c);
        CHECK(std::find(names.begin(), names.end(), "refractory_left_steps") != names.end());
        for (const auto& name : names) {
            INFO(pop.spec->name << "/" << name);
            CHECK(g.element_count(name) == std::int64_t(pop.size));
        }
        const h5::Object rings = f.open_group("rings").open_group(pop.spec->name);
        for (std::size_t r = 0; r < pop.ring.size(); ++r)
            CHECK(rings.element_count(std::to_string(r)) == std::int64_t(pop.ring[r].size()));
    }
    const h5::Object header = f.open_group("header");
    std::int64_t version = 0, step = 0;
    header.read_raw("format_version", H5T_NATIVE_INT64, &version, 1);
    header.read_raw("step", H5T_NATIVE_INT64, &step, 1);
    CHECK(version == kCheckpointFormatVersion);
    CHECK(step == 600); // 60 ms at dt 0.1 ms
    // The PK state and the ticks so far: the 20 ms drug clock ticked at 0, 20 and 40 ms.
    CHECK(f.open_group("drugs").read_doubles("t_ms") == std::vector<double>{0.0, 20.0, 40.0});
}

TEST_CASE("[output] checkpoint_every_ms sets the period, rounded up to whole exchange intervals",
          "[checkpoint][config]") {
    TempDir dir("ckpt_config");
    // 6.5 ms = 65 steps; the exchange interval is the minimum delay, 1 ms = 10 steps: 70 steps.
    const Experiment exp = load_experiment_from_string(
        network_config(300.0) + "\n[output]\ncheckpoint_every_ms = 6.5\n", "checkpoint_net.toml");
    CHECK(exp.checkpoint_every_ms == 6.5);
    RunOptions o;
    o.output_dir = dir.file("out");
    o.threads = 1;
    o.stop_at_ms = 30.0;
    CHECK(run_experiment(exp, o).paused);
    h5::silence_errors();
    const h5::File f = h5::File::open_read(dir.file("out") + "/checkpoint.h5");
    std::int64_t every = 0;
    f.open_group("header").read_raw("checkpoint_every_steps", H5T_NATIVE_INT64, &every, 1);
    CHECK(every == 70);
    CHECK_THROWS_WITH(
        load_experiment_from_string(network_config(300.0) + "\n[output]\ncheckpoint_every_ms = -1\n",
                                    "checkpoint_net.toml"),
        Catch::Contains("checkpoint_every_ms"));
}

namespace {

// Overwrite one int64 dataset of a checkpoint and its checksum, as another version would have written it.
void rewrite_int(const std::string& path, const std::string& dataset, std::int64_t value) {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    const hid_t d = H5Dopen2(file, dataset.c_str(), H5P_DEFAULT);
    REQUIRE(d >= 0);
    H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value);
    const std::int64_t sum = std::int64_t(fnv1a64(&value, sizeof value));
    const hid_t a = H5Aopen(d, "fnv1a64", H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &sum);
    H5Aclose(a);
    H5Dclose(d);
    H5Fclose(file);
}

// Flip one value of a float dataset without updating its checksum (a damaged file).
void damage_float(const std::string& path, const std::string& dataset) {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    const hid_t d = H5Dopen2(file, dataset.c_str(), H5P_DEFAULT);
    REQUIRE(d >= 0);
    const hid_t space = H5Dget_space(d);
    std::vector<float> v(std::size_t(H5Sget_simple_extent_npoints(space)));
    H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    v[3] += 1.0f;
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(file);
}

void require_refused(const std::string& dir, const std::string& message) {
    const std::string spikes_before = file_bytes(dir + "/spikes.h5.tmp");
    try {
        resume(dir, 1);
        FAIL("resume accepted a bad checkpoint");
    } catch (const InputError& e) {
        CHECK_THAT(e.what(), Catch::Contains("checkpoint.h5") && Catch::Contains(message));
    }
    // Nothing was touched: the interrupted run's files are as they were, no output appeared.
    CHECK(file_bytes(dir + "/spikes.h5.tmp") == spikes_before);
    CHECK(!fs::exists(dir + "/spikes.h5"));
    CHECK(!fs::exists(dir + "/summary.json"));
}

} // namespace

TEST_CASE("damaged, foreign and other-version checkpoints are refused before anything is written",
          "[checkpoint][errors]") {
    TempDir dir("ckpt_bad");
    const std::string base = dir.file("base");
    run(base, 300.0, 1, 60.0);
    auto copy = [&](const std::string& name) {
        const std::string to = dir.file(name);
        fs::copy(base, to, fs::copy_options::recursive);
        return to;
    };

    SECTION("truncated file") {
        const std::string d = copy("truncated");
        fs::resize_file(d + "/checkpoint.h5", fs::file_size(d + "/checkpoint.h5") / 2);
        require_refused(d, "damaged or truncated");
    }
    SECTION("a flipped value fails its checksum") {
        const std::string d = copy("flipped");
        damage_float(d + "/checkpoint.h5", "neurons/E/V_m_mV");
        require_refused(d, "/neurons/E/V_m_mV fails its checksum");
    }
    SECTION("not HDF5 at all") {
        const std::string d = copy("garbage");
        write_file(d + "/checkpoint.h5", "not a checkpoint\n");
        require_refused(d, "damaged or truncated");
    }
    SECTION("another format version") {
        const std::string d = copy("version");
        rewrite_int(d + "/checkpoint.h5", "header/format_version", kCheckpointFormatVersion + 1);
        require_refused(d, "format version " + std::to_string(kCheckpointFormatVersion + 1));
    }
    SECTION("a checkpoint of another network in this run directory") {
        const std::string other = dir.file("other");
        const Experiment exp = load_experiment_from_string(network_config(300.0), "checkpoint_net.toml",
                                                           {{"populations.E.size", "60"}});
        RunOptions o;
        o.output_dir = other;
        o.threads = 1;
        o.stop_at_ms = 60.0;
        run_experiment(exp, o);
        const std::string d = copy("foreign");
        fs::copy_file(other + "/checkpoint.h5", d + "/checkpoint.h5", fs::copy_options::overwrite_existing);
        require_refused(d, "belongs to another experiment");
    }
    SECTION("no checkpoint") {
        const std::string d = copy("none");
        fs::remove(d + "/checkpoint.h5");
        require_refused(d, "no checkpoint");
    }
}

// ---------------------------------------------------------------------------------------------------
// The binary: signals and a process killed while writing a checkpoint.

namespace {

// Runs ketaplast with `args` in a child process (stdout+stderr to log); returns its pid.
pid_t spawn_ketaplast(const std::vector<std::string>& args, const std::string& log) {
    // Everything is allocated before fork: the child of a multi-threaded process only calls
    // async-signal-safe functions until execv.
    std::vector<char*> argv{const_cast<char*>(KETAPLAST_BINARY)};
    for (const auto& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(KETAPLAST_BINARY, argv.data());
        _exit(127);
    }
    return pid;
}

// Sets an environment variable for the children spawned in its scope; unsets it on every way out, so that
// a failed REQUIRE cannot leave it to the tests that follow in the same process.
struct ScopedEnv {
    const char* name;
    ScopedEnv(const char* n, const char* value) : name(n) { setenv(n, value, 1); }
    ~ScopedEnv() { unsetenv(name); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
};

int wait_exit(pid_t pid, int& signal_out) {
    int status = 0;
    waitpid(pid, &status, 0);
    signal_out = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Sends SIGTERM to `pid` once the file `started` exists (the run's time loop is under way) and `settle`
// has passed, waits for it and reads its log.
struct Stopped {
    int code = 0, signal = 0;
    std::string log;
};
Stopped terminate_when_started(pid_t pid, const std::string& started, std::chrono::milliseconds settle,
                               const std::string& log_file) {
    for (int i = 0; i < 2000 && !fs::exists(started); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(settle);
    kill(pid, SIGTERM);
    Stopped out;
    out.code = wait_exit(pid, out.signal);
    out.log = read_file(log_file);
    return out;
}

} // namespace

TEST_CASE("cli: SIGTERM checkpoints and exits 143, then resume finishes bit-identically",
          "[cli][checkpoint][integration]") {
    TempDir dir("ckpt_sigterm");
    // Long enough (20 s simulated, about a second of wall time) that the signal arrives mid-run.
    const std::string config = dir.file("net.toml");
    write_file(config, network_config(20000.0));
    const std::string ref = dir.file("ref"), out = dir.file("out");
    REQUIRE(run_ketaplast("run \"" + config + "\" --out \"" + ref + "\" --threads 1", dir.file("ref.log"))
                .exit_code == 0);

    const pid_t pid = spawn_ketaplast({"run", config, "--out", out, "--threads", "2"}, dir.file("run.log"));
    // Wait until the time loop has started (its spike file exists), then ask it to stop.
    const Stopped stopped = terminate_when_started(pid, out + "/spikes.h5.tmp",
                                                   std::chrono::milliseconds(100), dir.file("run.log"));
    INFO(stopped.log);
    if (stopped.code == 0) {
        WARN("the run finished before the signal arrived; nothing to test on this machine");
        return;
    }
    CHECK(stopped.signal == 0); // exited by itself, after writing the checkpoint
    CHECK(stopped.code == 143);
    CHECK_THAT(stopped.log, Catch::Contains("interrupted at t = ") && Catch::Contains("ketaplast resume"));
    CHECK(fs::exists(out + "/checkpoint.h5"));
    CHECK(!fs::exists(out + "/checkpoint.h5.tmp"));
    CHECK(!fs::exists(out + "/spikes.h5"));

    const auto resumed = run_ketaplast("resume \"" + out + "\" --threads 1", dir.file("resume.log"));
    INFO(resumed.output);
    CHECK(resumed.exit_code == 0);
    require_same_outputs(ref, out);
}

namespace {

// configs/ketamine_week.toml shrunk for checkpoint tests: 200 E / 50 I for 12 h, probes every 30 min to
// 2 h, then 2-hourly; `rule` is the structural rule (per-neuron elements carry their own state).
Experiment week_protocol(const std::string& rule) {
    std::vector<Override> o = {{"populations.E.size", "200"},
                               {"populations.I.size", "50"},
                               {"protocol.duration_h", "12.0"},
                               {"protocol.sampling", "[{until_h = 2.0, every_min = 30.0}, {until_h = 12.0, "
                                                     "every_min = 120.0}]"},
                               {"protocol.report_h", "[0.0, 2.0, 12.0]"},
                               {"protocol.structural_rule", "\"" + rule + "\""}};
    if (rule == "elements") o.push_back({"protocol.slow.growth_curve", "\"linear\""});
    return load_experiment(source_path("configs/ketamine_week.toml"), o);
}

} // namespace

TEST_CASE("a protocol paused at a probe and resumed on 2 threads writes exactly the uninterrupted outputs",
          "[checkpoint][protocol][integration]") {
    for (const std::string rule : {"spine_density", "elements"}) {
        INFO("structural rule " << rule);
        TempDir dir("ckpt_protocol_" + rule);
        const std::string ref = dir.file("ref"), out = dir.file("out");
        const Experiment exp = week_protocol(rule);
        RunOptions o;
        o.output_dir = ref;
        o.threads = 1;
        REQUIRE(run_experiment(exp, o).status == "completed");
        // The week's drug and strengthening must be under way at the pause, or a lost piece of state (drug
        // block, slow layer, write-back) could not show.
        const auto summary = nlohmann::json::parse(read_file(ref + "/summary.json"));
        REQUIRE(summary["strengthening"]["peak_total_weight_ratio"].get<double>() > 1.02);

        // Paused at 1.2 h of protocol time: at the next probe start, 1.5 h (inside the post-infusion rise).
        o.output_dir = out;
        o.stop_at_ms = 1.2 * 3.6e6;
        const RunResult paused = run_experiment(exp, o);
        CHECK(paused.paused);
        CHECK(paused.status == "paused");
        CHECK(paused.stopped_ms == Approx(1.5 * 3.6e6).margin(1e-6));
        CHECK(fs::exists(out + "/checkpoint.h5"));
        CHECK(!fs::exists(out + "/slow.h5"));
        CHECK_THROWS_WITH(resume(out, 1, 1.0 * 3.6e6), Catch::Contains("already at 5400000 ms"));
        // Resumed on 2 threads with periodic checkpoints every 3 h along the way.
        ResumeOptions r;
        r.run_dir = out;
        r.threads = 2;
        r.checkpoint_every_ms = 3.0 * 3.6e6;
        CHECK(resume_run(r).status == "completed");
        require_same_outputs(ref, out);
    }
}

namespace {

// The shrunk week of week_protocol from the command line (about 3 s in a Release build): the reference
// run's shell command line into `ref`, and the argument list of a run into `out` (for spawn_ketaplast).
struct WeekCommand {
    std::string ref_command;
    std::vector<std::string> args;
};
WeekCommand week_command(const std::string& ref, const std::string& out) {
    const std::vector<std::string> sets = {
        "populations.E.size=200", "populations.I.size=50", "protocol.duration_h=12",
        "protocol.sampling=[{until_h = 2.0, every_min = 30.0}, {until_h = 12.0, every_min = 120.0}]",
        "protocol.report_h=[0.0, 2.0, 12.0]"};
    const std::string config = source_path("configs/ketamine_week.toml");
    WeekCommand c{"run \"" + config + "\" --out \"" + ref + "\" --threads 1",
                  {"run", config, "--out", out, "--threads", "1"}};
    for (const auto& set : sets) {
        c.ref_command += " --set '" + set + "'";
        c.args.insert(c.args.end(), {"--set", set});
    }
    return c;
}

} // namespace

TEST_CASE("cli: SIGTERM stops a protocol at its next probe with a checkpoint, resume finishes it exactly",
          "[cli][checkpoint][protocol][integration]") {
    TempDir dir("ckpt_protocol_sigterm");
    const std::string ref = dir.file("ref"), out = dir.file("out");
    const WeekCommand week = week_command(ref, out);
    REQUIRE(run_ketaplast(week.ref_command, dir.file("ref.log")).exit_code == 0);
    const pid_t pid = spawn_ketaplast(week.args, dir.file("run.log"));
    // The snapshot file is opened when the probes start.
    const Stopped stopped = terminate_when_started(pid, out + "/snapshots.h5.tmp",
                                                   std::chrono::milliseconds(300), dir.file("run.log"));
    INFO(stopped.log);
    if (stopped.code == 0) {
        WARN("the protocol finished before the signal arrived; nothing to test on this machine");
        return;
    }
    CHECK(stopped.signal == 0);
    CHECK(stopped.code == 143);
    CHECK_THAT(stopped.log, Catch::Contains("interrupted at t = ") && Catch::Contains("ketaplast resume"));
    CHECK(fs::exists(out + "/checkpoint.h5"));
    CHECK(!fs::exists(out + "/slow.h5"));
    const auto resumed = run_ketaplast("resume \"" + out + "\" --threads 2", dir.file("resume.log"));
    INFO(resumed.output);
    CHECK(resumed.exit_code == 0);
    require_same_outputs(ref, out);
}

TEST_CASE("cli: a protocol killed while writing a periodic checkpoint resumes from the previous one, pauses "
          "again and finishes exactly",
          "[cli][checkpoint][protocol][integration]") {
    TempDir dir("ckpt_protocol_kill");
    const std::string ref = dir.file("ref"), out = dir.file("out");
    WeekCommand week = week_command(ref, out);
    REQUIRE(run_ketaplast(week.ref_command, dir.file("ref.log")).exit_code == 0);

    // Probes at 0, 0.5, 1, 1.5, 2 h, then 4, 6, 8, 10, 12 h; a checkpoint at the first probe of each 2-h
    // period: 2 h, 4 h, then 6 h, which is killed (SIGKILL) half-way through writing.
    week.args.insert(week.args.end(), {"--checkpoint-every", "7200000"});
    const pid_t pid = [&] {
        const ScopedEnv abort_in_third("KETAPLAST_TEST_ABORT_IN_CHECKPOINT", "3");
        return spawn_ketaplast(week.args, dir.file("run.log"));
    }();
    int sig = 0;
    wait_exit(pid, sig);
    CHECK(sig == SIGKILL);
    CHECK(fs::exists(out + "/checkpoint.h5.tmp")); // the half-written 6-h one
    REQUIRE(fs::exists(out + "/checkpoint.h5"));   // the 4-h one, complete
    CHECK(!fs::exists(out + "/slow.h5"));
    {
        h5::silence_errors();
        const h5::File f = h5::File::open_read(out + "/checkpoint.h5");
        std::uint64_t next_probe = 0;
        f.open_group("protocol").read_raw("next_probe", H5T_NATIVE_UINT64, &next_probe, 1);
        CHECK(next_probe == 5); // the 4-h probe (0-based), where the periodic checkpoint was taken
    }

    // From the periodic checkpoint: a second pause (--until 7 h: the 8-h probe), on 2 threads, then the rest.
    const auto paused =
        run_ketaplast("resume \"" + out + "\" --threads 2 --until 25200000", dir.file("r1.log"));
    INFO(paused.output);
    CHECK(paused.exit_code == 0);
    CHECK_THAT(paused.output, Catch::Contains("paused at t = 28800000 ms"));
    CHECK(!fs::exists(out + "/checkpoint.h5.tmp"));
    CHECK(!fs::exists(out + "/slow.h5"));
    const auto resumed = run_ketaplast("resume \"" + out + "\" --threads 1", dir.file("r2.log"));
    INFO(resumed.output);
    CHECK(resumed.exit_code == 0);
    require_same_outputs(ref, out);
    CHECK(!fs::exists(out + "/checkpoint.h5"));
}

TEST_CASE("cli: a process killed while writing a checkpoint leaves the previous one resumable",
          "[cli][checkpoint][integration]") {
    TempDir dir("ckpt_kill");
    const std::string config = dir.file("net.toml");
    write_file(config, network_config(300.0));
    const std::string ref = dir.file("ref"), out = dir.file("out");
    REQUIRE(run_ketaplast("run \"" + config + "\" --out \"" + ref + "\" --threads 2", dir.file("ref.log"))
                .exit_code == 0);

    // Checkpoints at 50, 100, 150 ms; the third is killed (SIGKILL) half-way through writing it.
    const pid_t pid = [&] {
        const ScopedEnv abort_in_third("KETAPLAST_TEST_ABORT_IN_CHECKPOINT", "3");
        return spawn_ketaplast({"run", config, "--out", out, "--threads", "1", "--checkpoint-every", "50"},
                               dir.file("run.log"));
    }();
    int sig = 0;
    wait_exit(pid, sig);
    CHECK(sig == SIGKILL);
    CHECK(fs::exists(out + "/checkpoint.h5.tmp")); // the half-written one
    REQUIRE(fs::exists(out + "/checkpoint.h5"));   // the last complete one (100 ms)
    {
        h5::silence_errors();
        const h5::File f = h5::File::open_read(out + "/checkpoint.h5");
        std::int64_t step = 0;
        f.open_group("header").read_raw("step", H5T_NATIVE_INT64, &step, 1);
        CHECK(step == 1000);
    }

    const auto resumed = run_ketaplast("resume \"" + out + "\" --threads 2", dir.file("resume.log"));
    INFO(resumed.output);
    CHECK(resumed.exit_code == 0);
    require_same_outputs(ref, out);
    CHECK(!fs::exists(out + "/checkpoint.h5.tmp"));
}

TEST_CASE("cli: resume of a damaged checkpoint is bad input (exit 2) naming the file", "[cli][checkpoint]") {
    TempDir dir("ckpt_cli_bad");
    const std::string out = dir.file("out");
    run(out, 300.0, 1, 60.0);
    fs::resize_file(out + "/checkpoint.h5", 1000);
    const auto r = run_ketaplast("resume \"" + out + "\"", dir.file("log"));
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.output, Catch::Contains(out + "/checkpoint.h5") && Catch::Contains("damaged or truncated"));
    const auto none = run_ketaplast("resume \"" + dir.file("nowhere") + "\"", dir.file("log"));
    CHECK(none.exit_code == 2);
}

// ---------------------------------------------------------------------------------------------------
// Weight snapshots ([recording] snapshot_times_ms -> snapshots.h5).

TEST_CASE("weight snapshots: one row per requested time, columns are edges.h5's edges, any thread count",
          "[checkpoint][snapshots][integration]") {
    TempDir dir("snapshots");
    const std::string times = "snapshot_times_ms = [0, 33.3, 100, 100, 300]\n";
    const std::string one = dir.file("one"), two = dir.file("two");
    run(one, 300.0, 1, 0, 0, times);
    run(two, 300.0, 2, 0, 0, times);
    const auto a = numeric_datasets(one + "/snapshots.h5");
    CHECK(a == numeric_datasets(two + "/snapshots.h5")); // the edge order does not depend on the partition
    // Taken at the first exchange boundary (1 ms) at or after each time; 100 ms twice.
    CHECK(a.at("time_ms") == std::vector<double>{0, 34, 100, 100, 300});
    CHECK(a.at("requested_time_ms") == std::vector<double>{0, 33.3, 100, 100, 300});
    const auto edges = numeric_datasets(one + "/edges.h5");
    for (const char* projection : {"stimE", "EE_NMDA", "EE_AMPA", "EI", "IE"}) {
        INFO(projection);
        const auto& final_weights = edges.at(std::string("edges/") + projection + "/0/syn_weight");
        const auto& rows = a.at(std::string("edges/") + projection + "/0/syn_weight");
        REQUIRE(!final_weights.empty());
        REQUIRE(rows.size() == 5 * final_weights.size());
        // Static weights: every snapshot equals the final weights of edges.h5, column by column.
        for (std::size_t k = 0; k < 5; ++k)
            CHECK(std::vector<double>(rows.begin() + std::ptrdiff_t(k * final_weights.size()),
                                      rows.begin() + std::ptrdiff_t((k + 1) * final_weights.size())) ==
                  final_weights);
    }
}

TEST_CASE("weight snapshots continue across a resume without repeats or gaps",
          "[checkpoint][snapshots][integration]") {
    TempDir dir("snapshots_resume");
    const std::string times = "snapshot_times_ms = [0, 50, 50.2, 120, 300]\n";
    const std::string ref = dir.file("ref"), out = dir.file("out");
    run(ref, 300.0, 1, 0, 0, times);
    // Paused exactly at a snapshot's step (50 ms): it is taken once, by the resumed run.
    CHECK(run(out, 300.0, 1, 50.0, 0, times).paused);
    CHECK(resume(out, 2).status == "completed");
    require_same_outputs(ref, out);
    CHECK(numeric_datasets(out + "/snapshots.h5").at("time_ms") == std::vector<double>{0, 50, 51, 120, 300});
}

TEST_CASE("snapshot times outside the run or out of order are config errors", "[snapshots][config]") {
    CHECK_THROWS_WITH(
        load_experiment_from_string(network_config(300.0) + "snapshot_times_ms = [10, 400]\n", "x.toml"),
        Catch::Contains("snapshot_times_ms") && Catch::Contains("outside the run"));
    CHECK_THROWS_WITH(
        load_experiment_from_string(network_config(300.0) + "snapshot_times_ms = [20, 10]\n", "x.toml"),
        Catch::Contains("snapshot_times_ms") && Catch::Contains("increasing order"));
    CHECK_THROWS_WITH(
        load_experiment_from_string(network_config(300.0) + "snapshot_times_ms = [\"a\"]\n", "x.toml"),
        Catch::Contains("snapshot_times_ms") && Catch::Contains("expected numbers"));
}
