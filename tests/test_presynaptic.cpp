// Presynaptic dynamics applied at spike delivery (sim/network/presynaptic_state.hpp): Tsodyks-Markram
// short-term plasticity (docs/science.md §5.1, targets T18-T20) and Brunel-Wang saturating NMDA gating (§2.1,
// T23), measured through the engine's real delivery path: a spike_times source onto one neuron, the engine
// advanced step by step, the receptor's conductance read from the model state.
#include "core/error.hpp"
#include "models/exp_receptors.hpp"
#include "models/nmda_saturation.hpp"
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/engine/engine.hpp"
#include "sim/io/hdf5_file.hpp"
#include "sim/network/network.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

using namespace ketaplast;
using namespace ketaplast::test;

namespace {

constexpr double kDt = 0.1;

// One spike_times source (spikes at `times_ms`) onto one lif_cond neuron through `receptor_line` (the
// receptor, named R) with weight 1 nS, delay 1 ms, and `projection_extra` added to the projection.
std::string single_synapse_config(const std::vector<double>& times_ms, const std::string& receptor_line,
                                  const std::string& projection_extra, double duration_ms) {
    std::ostringstream t;
    t.precision(17);
    t << "[simulation]\ndt_ms = " << kDt << "\nduration_ms = " << duration_ms << "\n";
    t << "[[populations]]\nname = \"src\"\nsize = 1\nmodel = \"spike_times\"\nspike_times_ms = [[";
    for (std::size_t k = 0; k < times_ms.size(); ++k)
        t << (k ? ", " : "") << times_ms[k];
    t << "]]\n[[populations]]\nname = \"cell\"\nsize = 1\nmodel = \"lif_cond\"\n";
    // The cell never fires (V stays below the 0 mV reversal): we watch its synaptic conductance only.
    t << "params = { V_th_mV = 100.0 }\n" << receptor_line << "\n";
    t << "[[projections]]\nname = \"syn\"\nsource = \"src\"\ntarget = \"cell\"\nreceptor = \"R\"\n"
         "rule = \"all_to_all\"\nweight_nS = 1.0\ndelay_ms = 1.0\n"
      << projection_extra << "\n";
    return t.str();
}

// A regular train: n spikes at rate_Hz from 10 ms on, on the time grid.
std::vector<double> train(double rate_Hz, int n) {
    std::vector<double> times;
    for (int k = 0; k < n; ++k)
        times.push_back(10.0 + std::round(k * 1000.0 / rate_Hz / kDt) * kDt);
    return times;
}

// The conductance jump each spike delivers, read through the engine. A spike at t is emitted by step
// round(t/dt) - 1 and with a delay of 10 steps is added at the end of step round(t/dt) + 9; the exponential
// receptor decays by its float propagator d first, so the delivered weight is g_after - d g_before.
std::vector<double> delivered_jumps(const std::vector<double>& times_ms, const std::string& projection_extra,
                                    double tau_ms = 2.0) {
    const std::string receptor = "receptors.R = { tau_ms = " + std::to_string(tau_ms) + ", E_rev_mV = 0.0 }";
    const double duration = times_ms.back() + 20.0;
    Experiment exp = load_experiment_from_string(
        single_synapse_config(times_ms, receptor, projection_extra, duration), "stp.toml");
    Network net = build_network(exp, 1);
    Engine engine(exp, net, 1);
    const float decay = float(std::exp(-kDt / tau_ms));
    float* g = net.populations[1].group->state("g_R_nS");
    std::vector<double> jumps;
    for (double t : times_ms) {
        const std::int64_t arrival = std::llround(t / kDt) - 1 + 10;
        engine.run(arrival, {});
        const float before = g[0];
        engine.run(arrival + 1, {});
        jumps.push_back(double(g[0] - before * decay));
    }
    return jumps;
}

// Expected Tsodyks-Markram amplitudes of a regular train with interval D, from the closed-form
// recursion between spikes (written here independently of models/short_term_plasticity.hpp):
//   u_1 = U, x_1 = 1;  A_n = u_n x_n;
//   x_{n+1} = 1 - (1 - x_n (1 - u_n)) e^{-D/tau_rec};
//   u_{n+1} = U (depressing) or u_n e^{-D/tau_F} + U (1 - u_n e^{-D/tau_F}) (facilitating).
std::vector<double> tm_expected(double U, double tau_rec, double tau_fac, double D, int n) {
    std::vector<double> A;
    double u = U, x = 1.0;
    for (int k = 0; k < n; ++k) {
        A.push_back(u * x);
        x = 1.0 - (1.0 - x * (1.0 - u)) * std::exp(-D / tau_rec);
        if (tau_fac > 0) {
            const double decayed = u * std::exp(-D / tau_fac);
            u = decayed + U * (1.0 - decayed);
        }
    }
    return A;
}

// Fine-step (RK4, h = 1 us) integration of the Brunel-Wang equations for spikes arriving at `arrivals_ms`
// (x += 1 at each), sampled every dt from t = 0: dx/dt = -x/tau_r, ds/dt = -s/tau_d + alpha x (1 - s).
std::vector<double> bw_reference(const std::vector<double>& arrivals_ms, double t_end_ms, double alpha = 0.5,
                                 double tau_r = 2.0, double tau_d = 100.0) {
    const int sub = 100; // h = dt / 100 = 1 us
    const double h = kDt / sub;
    auto f = [&](double x, double s, double& dx, double& ds) {
        dx = -x / tau_r;
        ds = -s / tau_d + alpha * x * (1.0 - s);
    };
    std::vector<double> out;
    double x = 0, s = 0;
    std::size_t next = 0;
    const auto samples = std::size_t(std::llround(t_end_ms / kDt));
    for (std::size_t n = 0; n < samples; ++n) {
        while (next < arrivals_ms.size() && std::llround(arrivals_ms[next] / kDt) == std::int64_t(n)) {
            x += 1.0;
            ++next;
        }
        out.push_back(s);
        for (int k = 0; k < sub; ++k) {
            double k1x, k1s, k2x, k2s, k3x, k3s, k4x, k4s;
            f(x, s, k1x, k1s);
            f(x + 0.5 * h * k1x, s + 0.5 * h * k1s, k2x, k2s);
            f(x + 0.5 * h * k2x, s + 0.5 * h * k2s, k3x, k3s);
            f(x + h * k3x, s + h * k3s, k4x, k4s);
            x += h / 6 * (k1x + 2 * k2x + 2 * k3x + k4x);
            s += h / 6 * (k1s + 2 * k2s + 2 * k3s + k4s);
        }
    }
    return out;
}

// The engine's NMDA conductance of a cell receiving `times_ms` (weight 1 nS, delay 1 ms) through an
// nmda_saturating receptor, sampled every dt from the first spike's arrival on: sample j is the state at
// t = j dt after the first arrival (the same grid as bw_reference with the first arrival at 0).
std::vector<double> bw_engine(const std::vector<double>& times_ms, double t_end_ms) {
    const std::string receptor =
        "receptors.R = { tau_ms = 100.0, tau_rise_ms = 2.0, E_rev_mV = 0.0, shape = \"nmda_saturating\", "
        "alpha_per_ms = 0.5 }";
    const double duration = times_ms.front() + 2.0 + t_end_ms;
    Experiment exp =
        load_experiment_from_string(single_synapse_config(times_ms, receptor, "", duration), "bw.toml");
    Network net = build_network(exp, 1);
    Engine engine(exp, net, 1);
    float* g = net.populations[1].group->state("g_R_nS");
    // First arrival: emitted in step round(t/dt) - 1, added at the end of step round(t/dt) + 9, so the
    // state after that step (engine.step() = round(t/dt) + 10) is t = 0 after arrival.
    std::int64_t step = std::llround(times_ms.front() / kDt) + 10;
    std::vector<double> out;
    const auto samples = std::size_t(std::llround(t_end_ms / kDt));
    for (std::size_t j = 0; j < samples; ++j) {
        engine.run(step + std::int64_t(j), {});
        out.push_back(double(g[0]));
    }
    return out;
}

std::string config_error(const std::string& text) {
    try {
        load_experiment_from_string(text, "bad.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    FAIL("the config was accepted, but should have been refused");
    return "";
}

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

// Delivered weights are float (the weight times a float multiplier) and recovered from float conductances
// of order the weight: relative errors ~1e-7 per operation, so 1e-5 of the 1 nS weight is a safe bound
// that is still far below any modelling difference (the amplitudes change by >= 1e-2 from spike to spike).
constexpr double kJumpTol = 1e-5;

TEST_CASE("T18: a depressing synapse (U 0.5, tau_rec 800 ms) at 20 Hz follows the TM recursion",
          "[presynaptic][stp]") {
    const int n = 20;
    const auto jumps = delivered_jumps(train(20.0, n), "stp = { U = 0.5, tau_rec_ms = 800.0 }");
    const auto expected = tm_expected(0.5, 800.0, 0.0, 50.0, n);
    REQUIRE(jumps.size() == expected.size());
    for (int k = 0; k < n; ++k) {
        INFO("spike " << k);
        CHECK(jumps[k] == Approx(expected[k]).margin(kJumpTol));
    }
    // The steady state of the recursion (docs/science.md §5.1): A_inf / A_1 = (1 - e^{-D/tau}) / (1 - (1-U)
    // e^{-D/tau}). The recursion contracts by (1 - U) e^{-D/tau} = 0.47 per spike, so after 20 spikes it is
    // there to 1e-6.
    const double E = std::exp(-50.0 / 800.0);
    CHECK(jumps.back() / jumps.front() == Approx((1 - E) / (1 - 0.5 * E)).margin(1e-4));
    CHECK(jumps[0] == Approx(0.5).margin(kJumpTol)); // a rested synapse releases U
}

TEST_CASE("T19: a facilitating synapse (U 0.03, tau_rec 130, tau_F 530 ms) at 20 Hz follows the TM recursion",
          "[presynaptic][stp]") {
    const int n = 20;
    const auto jumps =
        delivered_jumps(train(20.0, n), "stp = { U = 0.03, tau_rec_ms = 130.0, tau_fac_ms = 530.0 }");
    const auto expected = tm_expected(0.03, 130.0, 530.0, 50.0, n);
    for (int k = 0; k < n; ++k) {
        INFO("spike " << k);
        CHECK(jumps[k] == Approx(expected[k]).margin(kJumpTol));
    }
    // Facilitation: the amplitudes grow over the first spikes (TPM 1998 Fig. 1 shape) — a ratio well
    // beyond the tolerance, so a depressing or static synapse fails here.
    CHECK(jumps[4] > 2.0 * jumps[0]);
}

TEST_CASE("T20: a depressing synapse's transmitted rate saturates near 1/(U tau_rec) = 2.5 Hz",
          "[presynaptic][stp]") {
    // Transmitted rate in units of the rested response: f A_inf / A_1. With A_inf from the recursion's
    // fixed point it is f (1 - E) / (1 - (1 - U) E), E = e^{-1/(f tau_rec)}, which tends to 1/(U tau_rec)
    // as f grows (docs/science.md §5.1).
    const double U = 0.5, tau_rec = 800.0;
    std::vector<double> rate;
    for (double f : {1.0, 10.0, 40.0, 100.0}) {
        const int n = f < 5 ? 12 : 60; // enough spikes to converge: contraction (1-U)E <= 0.5 per spike
        const auto jumps = delivered_jumps(train(f, n), "stp = { U = 0.5, tau_rec_ms = 800.0 }");
        const double E = std::exp(-1000.0 / f / tau_rec);
        const double predicted = f * (1 - E) / (1 - (1 - U) * E);
        const double measured = f * jumps.back() / jumps.front();
        INFO("rate " << f << " Hz: transmitted " << measured << " Hz, predicted " << predicted);
        // 1e-4 relative: jump tolerance 1e-5 over the smallest steady-state jump 0.012 (100 Hz) gives 8e-4 of
        // it at most; measured differences are ~1e-6.
        CHECK(measured == Approx(predicted).epsilon(1e-3));
        rate.push_back(measured);
    }
    const double limit = 1.0 / (U * tau_rec * 1e-3); // 2.5 Hz
    CHECK(rate[0] < 0.4 * limit);                    // 1 Hz: still transmitted almost fully (0.83 Hz)
    CHECK(rate[3] == Approx(limit).epsilon(0.03));   // 100 Hz: 2.45 Hz, within 3 % of the limit
    CHECK(rate[3] / rate[2] < 1.05);                 // 40 -> 100 Hz (x2.5 input): < 5 % more transmitted
    CHECK(rate[3] < limit);                          // the limit is approached from below
}

TEST_CASE("a projection without stp delivers its weight unchanged", "[presynaptic][stp]") {
    const auto jumps = delivered_jumps(train(100.0, 5), "");
    for (double j : jumps)
        CHECK(j == Approx(1.0).margin(kJumpTol));
}

TEST_CASE("T23: the Brunel-Wang jump k0 is the exact tail amplitude of a single spike's s",
          "[presynaptic][nmda]") {
    const BrunelWangParams p{0.5, 2.0, 100.0};
    const double k0 = brunel_wang_k0(p);
    const auto s = bw_reference({0.0}, 200.0);
    // At t = 60 ms x = e^{-30} has gone, so s(t) e^{t/tau_d} is the tail amplitude; RK4 at 1 us is exact to
    // ~1e-12 here, so 1e-7 only allows for the float-free double arithmetic.
    CHECK(s[600] * std::exp(60.0 / 100.0) == Approx(k0).epsilon(1e-7));
    // With tau_d -> infinity k0 -> 1 - e^{-alpha tau_r} (no decay during the rise): 0.632 for X = 1. The
    // decay during the rise raises it by ~eps (the series' first-order term).
    CHECK(k0 > 1 - std::exp(-1.0));
    CHECK(k0 < 1 - std::exp(-1.0) + 0.05);
    // A second spike while s is high: the jump is k0 - (1 - e^{-X}) s(t-), exact in the tail again when the
    // first spike's x has decayed (200 ms apart: e^{-100}).
    const auto two = bw_reference({0.0, 200.0}, 400.0);
    const double s_before = k0 * std::exp(-200.0 / 100.0);
    const double tail_after = two[3000] * std::exp(100.0 / 100.0);
    CHECK(tail_after == Approx(s_before + k0 - (1 - std::exp(-1.0)) * s_before).epsilon(1e-7));
}

TEST_CASE("T23: a single spike through an nmda_saturating receptor against the fine-step BW equations",
          "[presynaptic][nmda]") {
    const double t_end = 300.0;
    const auto exact = bw_reference({0.0}, t_end);
    const auto engine = bw_engine({10.0}, t_end);
    REQUIRE(exact.size() == engine.size());
    const auto peak_exact = std::max_element(exact.begin(), exact.end());
    const auto peak_engine = std::max_element(engine.begin(), engine.end());
    double max_err = 0, max_tail_err = 0;
    for (std::size_t j = 0; j < exact.size(); ++j) {
        max_err = std::max(max_err, std::fabs(engine[j] - exact[j]));
        if (j * kDt >= 20.0) max_tail_err = std::max(max_tail_err, std::fabs(engine[j] - exact[j]));
    }
    const double peak = *peak_exact;
    INFO("exact peak " << peak << " at " << (peak_exact - exact.begin()) * kDt << " ms; engine peak "
                       << *peak_engine << " at " << (peak_engine - engine.begin()) * kDt << " ms; max error "
                       << max_err / peak << " of the peak, after 20 ms " << max_tail_err / peak);
    // After 20 ms (10 tau_r) the dual exponential's rise term is e^{-10} = 5e-5 of it: the engine follows
    // the exact tail to float precision plus that residue, 1e-3 of the peak.
    CHECK(max_tail_err < 1e-3 * peak);
    // The rise: the dual exponential rises with tau_r while the exact s rises faster at first (ds/dt =
    // alpha = 0.5 / ms at t = 0; the dual exponential's slope is k0 (1/tau_r - 1/tau_d) = 0.32 / ms).
    // Measured: the largest error is 0.129 of the peak (0.076), in the first ~2 ms; the peak is 0.59184
    // exact at 7.1 ms and 0.9 % lower, 0.9 ms later, in the engine. The bounds are those numbers rounded up:
    // they document the approximation (docs/models.md) and catch any change in it.
    CHECK(max_err < 0.14 * peak);
    CHECK(*peak_engine == Approx(peak).epsilon(0.015));
    CHECK(std::fabs((peak_engine - engine.begin()) - (peak_exact - exact.begin())) * kDt < 1.5);
}

TEST_CASE("Brunel-Wang trains at 10, 40 and 100 Hz: the event-driven scheme against the BW equations",
          "[presynaptic][nmda]") {
    // Measured (docs/models.md): the largest error over the train is the rise transient after a spike,
    // 0.110 / 0.089 / 0.082 of the exact maximum at 10 / 40 / 100 Hz; the mean of s over the last 200 ms,
    // where saturation matters most (exact 0.466 / 0.790 / 0.907), is within 0.42 % / 0.30 % / 0.08 %,
    // because the jump gives the exact tail. The bounds are those values rounded up.
    struct Case {
        double rate_Hz, max_err, mean_err;
    };
    for (const Case c : {Case{10.0, 0.12, 0.006}, Case{40.0, 0.10, 0.005}, Case{100.0, 0.09, 0.002}}) {
        const auto times = train(c.rate_Hz, int(std::lround(c.rate_Hz * 0.5)));
        std::vector<double> arrivals;
        for (double t : times)
            arrivals.push_back(t - times.front());
        const double t_end = arrivals.back() + 100.0;
        const auto exact = bw_reference(arrivals, t_end);
        const auto engine = bw_engine(times, t_end);
        double max_err = 0, peak = 0, mean_exact = 0, mean_engine = 0;
        const std::size_t last = std::size_t(std::llround(arrivals.back() / kDt));
        const std::size_t first = last - 2000;
        for (std::size_t j = 0; j < exact.size(); ++j) {
            max_err = std::max(max_err, std::fabs(engine[j] - exact[j]));
            peak = std::max(peak, exact[j]);
            if (j >= first && j < last) {
                mean_exact += exact[j];
                mean_engine += engine[j];
            }
        }
        const double mean_rel = std::fabs(mean_engine - mean_exact) / mean_exact;
        INFO(c.rate_Hz << " Hz: exact max " << peak << ", max error " << max_err / peak
                       << " of it; mean over the last 200 ms " << mean_exact / 2000 << " exact, "
                       << mean_engine / 2000 << " engine (" << mean_rel << " relative)");
        CHECK(max_err < c.max_err * peak);
        CHECK(mean_rel < c.mean_err);
        // Saturation is real: the mean stays below 1 (s <= 1) at every rate.
        CHECK(mean_engine / 2000 < 1.0);
    }
}

TEST_CASE("spikes with short-term plasticity and saturating NMDA are bit-identical for 1, 2 and 3 threads",
          "[presynaptic][engine][integration]") {
    // A COBA-like network with Poisson drive, depressing E->E, facilitating E->I, and saturating NMDA on
    // both, so every presynaptic path runs with sources and targets split across threads.
    const std::string config = R"(
[simulation]
dt_ms = 0.1
duration_ms = 300.0
seed = 5
[[populations]]
name = "E"
size = 400
model = "lif_cond"
params = { C_pF = 200.0, g_leak_nS = 10.0, E_leak_mV = -60.0, V_th_mV = -50.0, V_reset_mV = -60.0, t_ref_ms = 5.0 }
receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }
receptors.NMDA = { tau_ms = 100.0, tau_rise_ms = 2.0, E_rev_mV = 0.0, shape = "nmda_saturating" }
receptors.GABA_A = { tau_ms = 10.0, E_rev_mV = -80.0 }
poisson_drive = { receptor = "AMPA", rate_Hz = 10.0, inputs = 100, weight_nS = 1.5 }
[[populations]]
name = "I"
size = 100
model = "lif_cond"
params = { C_pF = 200.0, g_leak_nS = 10.0, E_leak_mV = -60.0, V_th_mV = -50.0, V_reset_mV = -60.0, t_ref_ms = 5.0 }
receptors.AMPA = { tau_ms = 5.0, E_rev_mV = 0.0 }
receptors.NMDA = { tau_ms = 100.0, tau_rise_ms = 2.0, E_rev_mV = 0.0, shape = "nmda_saturating" }
receptors.GABA_A = { tau_ms = 10.0, E_rev_mV = -80.0 }
poisson_drive = { receptor = "AMPA", rate_Hz = 10.0, inputs = 100, weight_nS = 1.5 }
[[projections]]
name = "EE"
source = "E"
target = "E"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.05
weight_nS = 3.0
delay_ms = 1.0
stp = { U = 0.5, tau_rec_ms = 800.0 }
[[projections]]
name = "EI"
source = "E"
target = "I"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.05
weight_nS = 3.0
delay_ms = 1.0
stp = { U = 0.03, tau_rec_ms = 130.0, tau_fac_ms = 530.0 }
[[projections]]
name = "EE_NMDA"
source = "E"
target = "E"
receptor = "NMDA"
rule = "fixed_probability"
probability = 0.05
weight_nS = 1.0
delay_ms = 1.0
[[projections]]
name = "EI_NMDA"
source = "E"
target = "I"
receptor = "NMDA"
rule = "fixed_probability"
probability = 0.05
weight_nS = 1.0
delay_ms = 1.0
[[projections]]
name = "IE"
source = "I"
target = "E"
receptor = "GABA_A"
rule = "fixed_probability"
probability = 0.1
weight_nS = 10.0
delay_ms = 1.0
)";
    std::vector<Spikes> runs;
    for (int threads : {1, 2, 3}) {
        TempDir dir("presyn_threads");
        Experiment exp = load_experiment_from_string(config, "presyn.toml");
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
    // The dynamics act: without short-term plasticity the same network fires differently.
    TempDir dir("presyn_off");
    std::string off = config;
    for (const std::string stp : {"stp = { U = 0.5, tau_rec_ms = 800.0 }",
                                  "stp = { U = 0.03, tau_rec_ms = 130.0, tau_fac_ms = 530.0 }"})
        off.erase(off.find(stp), stp.size());
    run_experiment(load_experiment_from_string(off, "presyn_off.toml"), {dir.path(), 2, false});
    CHECK(read_spikes(dir.path(), "E").ids != runs[0].ids);
}

TEST_CASE("checkpoint arrays name the presynaptic state and restore into every worker", "[presynaptic]") {
    const std::string config =
        single_synapse_config(train(20.0, 3), "receptors.R = { tau_ms = 2.0, E_rev_mV = 0.0 }",
                              "stp = { U = 0.5, tau_rec_ms = 800.0 }", 200.0);
    Experiment exp = load_experiment_from_string(config, "ckpt.toml");
    Network net = build_network(exp, 2);
    auto arrays = net.presynaptic.arrays();
    REQUIRE(arrays.size() == 3);
    CHECK(arrays[0].name == "presynaptic.syn.u");
    CHECK(arrays[1].name == "presynaptic.syn.x");
    CHECK(arrays[2].name == "presynaptic.syn.last_spike_step");
    CHECK(arrays[1].size == 1);
    // A restored x = 0.25 (last spike at step 10^6) must be what every worker uses for the next spike:
    // the released fraction is U x = 0.125 whichever worker delivers.
    arrays[1].data[0] = 0.25;
    arrays[2].data[0] = 1e6;
    net.presynaptic.copy_to_all_workers();
    for (std::uint32_t w = 0; w < 2; ++w) {
        // a spike at the restored last step (interval 0, no recovery) releases U x from each replica
        const float f = net.presynaptic.on_spike(w, 1000000, 0)[0];
        CHECK(f == Approx(0.125).margin(1e-7));
    }
}

TEST_CASE("presynaptic config keys are validated", "[presynaptic][config]") {
    const auto base = [](const std::string& receptor, const std::string& extra) {
        return single_synapse_config({10.0}, receptor, extra, 50.0);
    };
    const std::string ampa = "receptors.R = { tau_ms = 2.0, E_rev_mV = 0.0 }";
    CHECK_THAT(config_error(base(ampa, "stp = { U = 0.0, tau_rec_ms = 800.0 }")),
               Catch::Contains("projections.syn.stp.U") && Catch::Contains("(0, 1]"));
    CHECK_THAT(config_error(base(ampa, "stp = { U = 1.5, tau_rec_ms = 800.0 }")),
               Catch::Contains("projections.syn.stp.U"));
    CHECK_THAT(config_error(base(ampa, "stp = { U = 0.5, tau_rec_ms = 0.0 }")),
               Catch::Contains("projections.syn.stp.tau_rec_ms"));
    CHECK_THAT(config_error(base(ampa, "stp = { U = 0.5 }")),
               Catch::Contains("tau_rec_ms") && Catch::Contains("missing"));
    CHECK_THAT(config_error(base(ampa, "stp = { U = 0.5, tau_rec_ms = 800.0, tau_fac_ms = -1.0 }")),
               Catch::Contains("projections.syn.stp.tau_fac_ms"));
    CHECK_THAT(config_error(base(ampa, "stp = { U = 0.5, tau_rec_ms = 800.0, tau_F_ms = 5.0 }")),
               Catch::Contains("tau_F_ms") && Catch::Contains("unknown key"));
    CHECK_THAT(config_error(base(ampa, "stp = 0.5")), Catch::Contains("projections.syn.stp"));
    const std::string bw =
        "receptors.R = { tau_ms = 100.0, E_rev_mV = 0.0, shape = \"nmda_saturating\", alpha_per_ms = 0.5 }";
    CHECK_THAT(config_error(base(bw, "stp = { U = 0.5, tau_rec_ms = 800.0 }")),
               Catch::Contains("projections.syn.stp") && Catch::Contains("nmda_saturating"));
    CHECK_THAT(
        config_error(base("receptors.R = { tau_ms = 100.0, E_rev_mV = 0.0, shape = \"nmda_saturating\", "
                          "alpha_per_ms = 0.0 }",
                          "")),
        Catch::Contains("alpha_per_ms"));
    CHECK_THAT(config_error(base("receptors.R = { tau_ms = 100.0, E_rev_mV = 0.0, alpha_per_ms = 0.5 }", "")),
               Catch::Contains("alpha_per_ms") && Catch::Contains("unknown key"));
    CHECK_THAT(config_error(base("receptors.R = { tau_ms = 100.0, tau_rise_ms = 50.0, E_rev_mV = 0.0, "
                                 "shape = \"nmda_saturating\", alpha_per_ms = 5.0 }",
                                 "")),
               Catch::Contains("exceeds 100"));
    std::string drive = base(bw, "");
    drive.replace(drive.find("[[projections]]"), 0,
                  "poisson_drive = { receptor = \"R\", rate_Hz = 5.0, inputs = 10, weight_nS = 1.0 }\n");
    CHECK_THAT(config_error(drive),
               Catch::Contains("poisson_drive.receptor") && Catch::Contains("nmda_saturating"));
    // STP onto a current-based receptor is meaningful (TPM 1998 is current-based): accepted.
    std::string cuba = base(ampa, "stp = { U = 0.5, tau_rec_ms = 800.0 }");
    cuba.replace(cuba.find("model = \"lif_cond\""), 18, "model = \"lif_curr_exp\"");
    cuba.replace(cuba.find("params = { V_th_mV = 100.0 }"), 28, "");
    cuba.replace(cuba.find(", E_rev_mV = 0.0 }"), 18, " }");
    cuba.replace(cuba.find("weight_nS"), 9, "weight_pA");
    CHECK_NOTHROW(load_experiment_from_string(cuba, "cuba.toml"));
    // ... but not with a scaled-down in-degree, whose DC compensation assumes the full weight per spike.
    std::string scaled = cuba;
    scaled.replace(scaled.find("[[populations]]"), 0, "[network]\nindegree_scale = 0.5\n");
    scaled.replace(scaled.find("model = \"spike_times\""), 0, "reference_rate_Hz = 5.0\n");
    scaled.replace(scaled.find("rule = \"all_to_all\""), 19, "rule = \"fixed_indegree\"\nindegree = 1");
    CHECK_THAT(config_error(scaled),
               Catch::Contains("projections.syn.stp") && Catch::Contains("indegree_scale"));
}

TEST_CASE("configs/short_term_plasticity.toml: depression, facilitation and recovery in the reports",
          "[presynaptic][integration]") {
    TempDir dir("stp_config");
    run_experiment(load_experiment(source_path("configs/short_term_plasticity.toml")),
                   {dir.path(), 2, false});
    h5::File f = h5::File::open_read(dir.file("report_g_AMPA_nS.h5"));
    // The g_AMPA_nS report holds one sample per step: the jumps of g are g[k+1] - d g[k].
    auto jumps = [&](const std::string& population) {
        const auto data = f.open_group("report").open_group(population).read_doubles("data");
        const double d = double(float(std::exp(-kDt / 2.0)));
        std::vector<double> out;
        for (std::size_t k = 1; k + 1 < data.size(); ++k) {
            const double jump = data[k] - d * data[k - 1];
            if (jump > 0.01) out.push_back(jump);
        }
        return out;
    };
    // The closed-form recursion (tm_expected) for the 20 Hz train, then the test spike 500 ms after the
    // tenth: x recovers as 1 - (1 - x) e^{-500/800}.
    const auto pyramid = jumps("pyramid");
    REQUIRE(pyramid.size() == 11);
    const auto A = tm_expected(0.5, 800.0, 0.0, 50.0, 10);
    double x = A[9] / 0.5 * (1 - 0.5); // x after the tenth spike
    x = 1 - (1 - x) * std::exp(-500.0 / 800.0);
    // Conductances are float of order 5 nS: 1e-4 nS covers their rounding (~5e-7) with a wide margin.
    CHECK(pyramid[9] == Approx(10.0 * A[9]).margin(1e-4));
    CHECK(pyramid[10] == Approx(10.0 * 0.5 * x).margin(1e-4));
    const auto interneuron = jumps("interneuron");
    REQUIRE(interneuron.size() == 11);
    const auto F = tm_expected(0.03, 130.0, 530.0, 50.0, 10); // grows 4.58-fold
    CHECK(interneuron[9] / interneuron[0] == Approx(F[9] / F[0]).epsilon(1e-4));
}
