// The time loop end to end: delay timing, Poisson sources and drive, step currents, thread-count
// invariance of every spike, and the numerical blow-up stop.
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/engine/engine.hpp"
#include "sim/io/hdf5_file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace ketaplast;
using namespace ketaplast::test;

namespace {

struct Spikes {
    std::vector<std::uint64_t> ids;
    std::vector<double> times;
};

Spikes read_spikes(const std::string& dir, const std::string& population) {
    h5::File f = h5::File::open_read(dir + "/spikes.h5");
    h5::Object g = f.open_group("spikes").open_group(population);
    return {g.read_u64("node_ids"), g.read_doubles("timestamps")};
}

} // namespace

TEST_CASE("a spike arrives exactly one delay after it was emitted", "[engine]") {
    // Source spike at 10.0 ms, delay 1.5 ms: the conductance jumps at 11.5 ms. Reports sample the
    // state at the start of each step, so the sample at 11.5 ms shows w and the one before shows 0.
    TempDir dir("delay");
    const std::string config = R"(
[simulation]
dt_ms = 0.1
duration_ms = 20.0
[[populations]]
name = "src"
size = 1
model = "spike_times"
spike_times_ms = [[10.0]]
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
weight_nS = 3.0
delay_ms = 1.5
[recording]
reports = [ { population = "cell", variables = ["g_AMPA_nS"], interval_ms = 0.1 } ]
)";
    Experiment exp = load_experiment_from_string(config, "delay.toml");
    run_experiment(exp, {dir.path(), 1, false});
    h5::File f = h5::File::open_read(dir.file("report_g_AMPA_nS.h5"));
    const auto g = f.open_group("report").open_group("cell").read_doubles("data");
    REQUIRE(g.size() == 200);
    CHECK(g[114] == 0.0);
    CHECK(g[115] == Approx(3.0));
    CHECK(g[125] == Approx(3.0 * std::exp(-1.0 / 2.0)).epsilon(1e-5));
    const auto src = read_spikes(dir.path(), "src");
    REQUIRE(src.times.size() == 1);
    CHECK(src.times[0] == Approx(10.0));
}

TEST_CASE("Poisson sources fire at their rate and follow a schedule", "[engine]") {
    TempDir dir("poisson");
    const std::string config = R"(
[simulation]
dt_ms = 0.1
duration_ms = 2000.0
seed = 3
[[populations]]
name = "p"
size = 500
model = "poisson_source"
params = { rate_Hz = 20.0 }
rate_schedule = [[1000.0, 5.0]]
[recording]
rate_bin_ms = 1000.0
)";
    Experiment exp = load_experiment_from_string(config, "poisson.toml");
    run_experiment(exp, {dir.path(), 2, false});
    const auto s = read_spikes(dir.path(), "p");
    std::size_t first = 0, second = 0;
    for (double t : s.times)
        (t <= 1000.0 ? first : second)++;
    // Counts are Poisson: 500 x 20 Hz x 1 s = 10000 (sd 100) then 2500 (sd 50); 5 sd bounds. The
    // per-step Bernoulli p = 1 - exp(-rate dt) is exact for the discretised process.
    CHECK(double(first) == Approx(10000.0).margin(500.0));
    CHECK(double(second) == Approx(2500.0).margin(250.0));
    h5::File ts = h5::File::open_read(dir.file("timeseries.h5"));
    const auto rate = ts.open_group("population_rate_Hz").read_doubles("p");
    REQUIRE(rate.size() == 2);
    CHECK(rate[0] == Approx(first / 500.0));
}

TEST_CASE("Poisson drive gives the mean conductance K rate w tau", "[engine]") {
    // Shot noise: <g> = inputs x rate x weight x tau = 100 x 10 Hz x 1 nS x 5 ms = 5 nS. Averaged over
    // 200 neurons x 1000 samples (correlated over tau): se ~ 0.03 nS; tolerance 0.2 nS.
    TempDir dir("drive");
    const std::string config = R"(
[simulation]
dt_ms = 0.1
duration_ms = 1100.0
[[populations]]
name = "cell"
size = 200
model = "lif_cond"
params = { V_th_mV = 100.0 }
receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }
poisson_drive = { receptor = "AMPA", rate_Hz = 10.0, inputs = 100.0, weight_nS = 1.0 }
[recording]
reports = [ { population = "cell", variables = ["g_AMPA_nS"], interval_ms = 1.0 } ]
)";
    Experiment exp = load_experiment_from_string(config, "drive.toml");
    run_experiment(exp, {dir.path(), 2, false});
    h5::File f = h5::File::open_read(dir.file("report_g_AMPA_nS.h5"));
    const auto g = f.open_group("report").open_group("cell").read_doubles("data");
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t i = 100 * 200; i < g.size(); ++i, ++n)
        sum += g[i]; // skip the first 100 ms
    CHECK(sum / double(n) == Approx(5.0).margin(0.2));
}

TEST_CASE("step currents drive the f-I curve through the whole engine", "[engine]") {
    // 800 pA into the Brunel-Wang cell (V_inf = -38 mV) between 100 and 600 ms: interval
    // t_ref + tau ln((V_inf - V_reset)/(V_inf - V_th)) = 2 + 20 ln(17/12) = 8.966 ms.
    TempDir dir("steps");
    const std::string config = R"(
[simulation]
dt_ms = 0.1
duration_ms = 700.0
[[populations]]
name = "cell"
size = 3
model = "lif_cond"
current_steps = [ { start_ms = 100.0, stop_ms = 600.0, amplitude_pA = 800.0 } ]
)";
    Experiment exp = load_experiment_from_string(config, "steps.toml");
    run_experiment(exp, {dir.path(), 1, false});
    const auto s = read_spikes(dir.path(), "cell");
    std::vector<double> t0;
    for (std::size_t k = 0; k < s.ids.size(); ++k)
        if (s.ids[k] == 0) t0.push_back(s.times[k]);
    REQUIRE(t0.size() > 10);
    CHECK(t0.front() > 100.0);
    CHECK(t0.back() <= 600.1);
    const double isi = (t0.back() - t0[1]) / double(t0.size() - 2);
    CHECK(std::fabs(isi - (2.0 + 20.0 * std::log(17.0 / 12.0))) < 0.1); // within one step
}

TEST_CASE("COBA spikes are bit-identical for 1, 2 and 3 threads", "[engine][integration]") {
    std::vector<Spikes> runs;
    for (int threads : {1, 2, 3}) {
        TempDir dir("threads");
        Experiment exp = load_experiment(source_path("configs/coba.toml"),
                                         {{"simulation.duration_ms", "300"}, {"recording.reports", "[]"}});
        run_experiment(exp, {dir.path(), threads, false});
        Spikes s = read_spikes(dir.path(), "E"), i = read_spikes(dir.path(), "I");
        s.ids.insert(s.ids.end(), i.ids.begin(), i.ids.end());
        s.times.insert(s.times.end(), i.times.begin(), i.times.end());
        runs.push_back(s);
    }
    REQUIRE(runs[0].ids.size() > 1000);
    for (std::size_t r = 1; r < runs.size(); ++r) {
        CHECK(runs[r].ids == runs[0].ids);
        CHECK(runs[r].times == runs[0].times);
    }
}

TEST_CASE("a numerical blow-up stops the run naming population, neuron and time", "[engine]") {
    TempDir dir("blowup");
    const std::string config = R"(
[simulation]
dt_ms = 0.1
duration_ms = 100.0
[[populations]]
name = "ok"
size = 20
model = "lif_cond"
[[populations]]
name = "bad"
size = 20
model = "adex_cond"
params = { V_peak_mV = 60.0, a_nS = -1000.0, tau_w_ms = 0.001, b_pA = 0.0 }
initial.V_m_mV = { dist = "uniform", low = -70.0, high = -40.0 }
)";
    Experiment exp = load_experiment_from_string(config, "blowup.toml");
    try {
        run_experiment(exp, {dir.path(), 2, false});
        FAIL("expected a numerical error");
    } catch (const NumericalError& e) {
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::Contains("population 'bad'"));
        CHECK_THAT(msg, Catch::Contains("neuron"));
        CHECK_THAT(msg, Catch::Contains("t = "));
    }
    // What was recorded is written, and the summary says the run failed.
    CHECK(std::filesystem::exists(dir.file("spikes.h5")));
    CHECK_THAT(read_file(dir.file("summary.json")), Catch::Contains("\"failed"));
}

TEST_CASE("a network that cannot fit in memory is refused before anything is built", "[engine]") {
    // 300,000 x 300,000 all-to-all = 9e10 synapses, ~540 GB: refused with the estimate, exit code 2
    // class (InputError), and no output directory is created.
    TempDir dir("toolarge");
    const std::string config = R"(
[simulation]
duration_ms = 1.0
[[populations]]
name = "A"
size = 300000
model = "lif_cond"
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }
[[projections]]
source = "A"
target = "A"
receptor = "AMPA"
rule = "all_to_all"
weight_nS = 1.0
delay_ms = 1.0
)";
    Experiment exp = load_experiment_from_string(config, "toolarge.toml");
    const std::string out = dir.file("out");
    try {
        run_experiment(exp, {out, 1, false});
        FAIL("expected the network to be refused");
    } catch (const InputError& e) {
        const std::string msg = e.what();
        CHECK_THAT(msg, Catch::Contains("network too large"));
        CHECK_THAT(msg, Catch::Contains("89999700000 synapses"));
        CHECK_THAT(msg, Catch::Contains("MB"));
    }
    CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("the reduced microcircuit's spikes are bit-identical for 1 and 3 threads",
          "[engine][integration]") {
    // Exercises what COBA does not: Poisson drive, fixed_total_number, drawn weights and delays, 16-bit
    // weights, current-based neurons, eight populations split unevenly between threads.
    std::vector<Spikes> runs;
    for (int threads : {1, 3}) {
        TempDir dir("mc_threads");
        Experiment exp = load_experiment(source_path("configs/microcircuit.toml"),
                                         {{"network.scale", "0.05"}, {"simulation.duration_ms", "200"}});
        run_experiment(exp, {dir.path(), threads, false});
        Spikes all;
        for (const char* pop : {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I"}) {
            const Spikes s = read_spikes(dir.path(), pop);
            all.ids.insert(all.ids.end(), s.ids.begin(), s.ids.end());
            all.times.insert(all.times.end(), s.times.begin(), s.times.end());
        }
        runs.push_back(all);
    }
    REQUIRE(runs[0].ids.size() > 500);
    CHECK(runs[1].ids == runs[0].ids);
    CHECK(runs[1].times == runs[0].times);
}
