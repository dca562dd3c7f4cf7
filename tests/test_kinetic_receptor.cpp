// The Destexhe-Mainen-Sejnowski two-state receptor (science.md §2.2, target T22; models/kinetic_receptor.hpp)
// against the closed-form two-state solution written out here, independently of the model's aggregated
// update: dr/dt = alpha T (1 - r) - beta r with T = T_max in the pulse. Every test runs the receptor through
// the code a run uses: the `voltage_clamp` model from the registry (ExpReceptors::advance_kinetic), or a
// whole run from a config (thread invariance, checkpoint round trip, timeseries readout, config errors).
#include "core/error.hpp"
#include "models/kinetic_receptor.hpp"
#include "models/registry.hpp"
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/io/hdf5_file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

using namespace ketaplast;
using namespace ketaplast::test;

namespace {

struct Rates {
    const char* name;
    double alpha, beta; // per mM per ms, per ms
};
// docs/science.md §2.2 rate sets (the presets).
const Rates kRates[] = {{"AMPA", 1.1, 0.19}, {"NMDA", 0.072, 0.0066}, {"GABA_A", 5.0, 0.18}};

// Closed form of one synapse (weight 1) released at time 0 from r0: T = T_max for C ms, then 0.
double two_state(double t, double alpha, double beta, double T_max, double C, double r0 = 0.0) {
    if (t <= 0) return r0;
    const double k = alpha * T_max + beta, r_inf = alpha * T_max / k;
    if (t <= C) return r_inf + (r0 - r_inf) * std::exp(-k * t);
    const double r_end = r_inf + (r0 - r_inf) * std::exp(-k * C);
    return r_end * std::exp(-beta * (t - C));
}

// One voltage-clamped cell (V = -70 mV, no Mg2+ block unless asked) with a kinetic receptor whose weights
// sum to `capacity_nS` (the network sets this: the summed weight of the neuron's synapses).
struct Clamped {
    std::unique_ptr<NeuronGroup> cell;
    std::vector<float> input{0.0f};
    std::vector<const float*> inputs;
    std::int64_t step = 0;
    double dt;

    Clamped(const Rates& rates, double dt_ms, double capacity_nS, bool Mg_block = false, double V_mV = -70.0)
        : dt(dt_ms) {
        ReceptorSpec r;
        r.name = rates.name;
        r.shape = ReceptorShape::kinetic;
        r.alpha_per_mM_per_ms = rates.alpha;
        r.beta_per_ms = rates.beta;
        r.Mg_block = Mg_block;
        r.E_rev_mV = 0.0;
        GroupSetup setup;
        setup.size = 1;
        setup.dt_ms = dt_ms;
        setup.params = ParamValues::defaults(builtin_models().find("voltage_clamp")->params);
        setup.params.set("V_hold_mV", V_mV);
        setup.receptors = {r};
        cell = builtin_models().find("voltage_clamp")->create(setup);
        cell->set_nmda_capacity(0, {float(capacity_nS)});
        inputs.push_back(input.data());
    }
    // One step with weight w_nS arriving (its pulse starts at the end of the step, as an exponential
    // receptor's jump would).
    void advance(float w_nS = 0.0f) {
        std::vector<std::uint32_t> spikes;
        StepContext ctx;
        ctx.step = step++;
        ctx.dt_ms = dt;
        input[0] = w_nS;
        cell->update(ctx, 0, 1, inputs.data(), spikes);
    }
    double g_named() {
        for (const auto& n : cell->state_names())
            if (n.rfind("g_", 0) == 0) return cell->state(n)[0];
        return NAN;
    }
    double t_ms() const { return double(step) * dt; } // time at the end of the last step
};

// float32 state: each step multiplies by float-rounded factors (relative error <= 6e-8 each) and adds
// a few terms; over <= 10^4 steps that stays below 1e-3 relative, and the tests below use 2e-4 of the
// peak over <= 3000 steps (measured deviations are ~1e-6).
constexpr double kFloatTolerance = 2e-4;

} // namespace

TEST_CASE("T22: one 1 mM x 1 ms pulse follows the closed-form two-state solution (AMPA, NMDA, GABA_A)",
          "[kinetic]") {
    for (const Rates& rates : kRates)
        for (double dt : {0.1, 0.01}) { // production step and the converged reference step (science.md §1.3)
            INFO(rates.name << ", dt = " << dt);
            const double w = 2.0; // nS
            Clamped c(rates, dt, w);
            // Released in step 0: the pulse runs from t = dt to dt + 1 ms.
            c.advance(float(w));
            const double peak = w * two_state(1.0, rates.alpha, rates.beta, 1.0, 1.0);
            const double horizon = std::string(rates.name) == "NMDA" ? 300.0 : 30.0;
            double max_dev = 0, max_g = 0;
            while (c.t_ms() < horizon) {
                c.advance();
                const double ref = w * two_state(c.t_ms() - dt, rates.alpha, rates.beta, 1.0, 1.0);
                max_dev = std::max(max_dev, std::fabs(c.g_named() - ref));
                max_g = std::max(max_g, c.g_named());
            }
            CHECK(max_dev < kFloatTolerance * peak);
            CHECK(max_g == Approx(peak).epsilon(kFloatTolerance));
            // The open fraction readout is g over the summed weight.
            const auto readout = c.cell->receptor_readout();
            REQUIRE(readout.size() == 1);
            CHECK(readout[0].open_fraction == Approx(c.g_named() / w).epsilon(1e-6));
        }
    // The derived numbers of science.md §2.2 (docs/models.md): r after one pulse, and the decay tau 1 / beta.
    CHECK(two_state(1.0, 1.1, 0.19, 1.0, 1.0) == Approx(0.6180).epsilon(1e-4));
    CHECK(two_state(1.0, 0.072, 0.0066, 1.0, 1.0) == Approx(0.06924).epsilon(1e-4));
    CHECK(two_state(1.0, 5.0, 0.18, 1.0, 1.0) == Approx(0.9598).epsilon(1e-4));
}

TEST_CASE("T22: a train of one synapse is exact, including releases onto its leftover r", "[kinetic]") {
    for (const Rates& rates : kRates) {
        INFO(rates.name);
        const double dt = 0.1, w = 1.5;
        Clamped c(rates, dt, w); // one synapse: the off population is its own leftover
        // Releases every 3 ms (20 steps), 8 of them; reference: chain the closed form pulse by pulse.
        const int period = 30, pulses = 8;
        double r = 0, max_dev = 0, max_ref = 0;
        for (int n = 0; n < pulses * period + 600; ++n) {
            const bool release = n % period == 0 && n / period < pulses;
            // Reference at the end of step n: the pulse of a release in step m covers (m+1)dt .. (m+11)dt.
            c.advance(release ? float(w) : 0.0f);
            const int last = std::min(n / period, pulses - 1) * period; // the last release step <= n
            const double since = double(n - last) * dt;                 // time since its pulse began
            if (n % period == 0 && n / period < pulses && n > 0) {
                // r is the leftover of the previous pulse at this release: from the previous release
                const double prev_since = double(period) * dt;
                r = two_state(prev_since, rates.alpha, rates.beta, 1.0, 1.0, r);
            }
            const double ref = w * two_state(since, rates.alpha, rates.beta, 1.0, 1.0, r);
            max_dev = std::max(max_dev, std::fabs(c.g_named() - ref));
            max_ref = std::max(max_ref, ref);
        }
        CHECK(max_dev < kFloatTolerance * max_ref);
        CHECK(max_ref > 0.0);
    }
}

TEST_CASE("T22: overlapping pulses of different synapses sum, each from rest", "[kinetic]") {
    // Synapse 1 (1 nS) released in step 0, synapse 2 (2 nS) in step 4: their pulses overlap for 0.6 ms.
    // Both start from rest, so the sum of two single-synapse closed forms is the exact reference. Then both
    // at once (one ring slot, 3 nS): the same as one synapse of 3 nS.
    for (const Rates& rates : kRates) {
        INFO(rates.name);
        const double dt = 0.1;
        Clamped c(rates, dt, 3.0);
        double max_dev = 0, peak = 0;
        for (int n = 0; n < 400; ++n) {
            c.advance(n == 0 ? 1.0f : n == 4 ? 2.0f : 0.0f);
            const double ref = 1.0 * two_state(double(n) * dt, rates.alpha, rates.beta, 1.0, 1.0) +
                               2.0 * two_state(double(n - 4) * dt, rates.alpha, rates.beta, 1.0, 1.0);
            max_dev = std::max(max_dev, std::fabs(c.g_named() - ref));
            peak = std::max(peak, ref);
        }
        CHECK(max_dev < kFloatTolerance * peak);

        Clamped both(rates, dt, 3.0);
        both.advance(3.0f);
        for (int n = 1; n < 100; ++n) {
            both.advance();
            CHECK(both.g_named() == Approx(3.0 * two_state(double(n) * dt, rates.alpha, rates.beta, 1.0, 1.0))
                                        .epsilon(kFloatTolerance));
        }
    }
}

TEST_CASE("asynchronous synapses: the shared-leftover estimate against per-synapse kinetics", "[kinetic]") {
    // 20 synapses of 1 nS, each a Poisson train (fixed seed), for 2 s. Reference: every synapse's r by its
    // own closed form, released on the same steps (a second release within a running pulse restarts it from
    // the present r, as NEURON's per-synapse mechanisms do). The model estimates a releasing synapse's
    // leftover as the off population's mean per weight (models/kinetic_receptor.hpp), which is exact for
    // AMPA and GABA_A whenever 1 / beta (5 ms) is short against a synapse's interval, and for NMDA
    // (1 / beta = 150 ms) spreads leftovers: we bound the error of the mean conductance over time.
    struct Case {
        Rates rates;
        double rate_Hz, max_rel_error, max_abs_error;
    };
    // Measured (this seed), error of the time-averaged conductance / time-averaged |error|, relative to the
    // mean conductance: AMPA 10 Hz 1.4 % / 4.0 %, GABA_A 40 Hz 2.4 % / 6.8 %, NMDA 5 Hz 0.4 % / 0.9 %, NMDA
    // 20 Hz 0.5 % / 0.7 %. Synapses from rest (r0 = 0, the DMS independent-synapse form, used without a
    // capacity) give 4.5 %, 21 %, 5.9 % and 21 %. Bounds: ~1.7x the measured values (other seeds), and the
    // estimate must beat r0 = 0 in every case.
    const Case cases[] = {{kRates[0], 10.0, 0.025, 0.07},
                          {kRates[2], 40.0, 0.04, 0.11},
                          {kRates[1], 5.0, 0.01, 0.015},
                          {kRates[1], 20.0, 0.01, 0.015}};
    for (const Case& cs : cases) {
        double error_of_estimate = 0;
        for (bool from_rest : {false, true}) {
            INFO(cs.rates.name << " at " << cs.rate_Hz << " Hz per synapse"
                               << (from_rest ? ", from rest" : ""));
            const double dt = 0.1;
            const int S = 20, steps = 20000, K = 10;
            Clamped c(cs.rates, dt, from_rest ? 0.0 : double(S));
            std::mt19937_64 rng(12345);
            std::bernoulli_distribution fire(cs.rate_Hz * dt * 1e-3);
            const double k = cs.rates.alpha + cs.rates.beta, r_inf = cs.rates.alpha / k;
            std::vector<double> r(S, 0.0);
            std::vector<int> in_pulse(S, 0); // steps of the pulse left
            double sum_model = 0, sum_ref = 0, sum_abs_dev = 0;
            for (int n = 0; n < steps; ++n) {
                // Reference: advance each synapse over step n with its pulse state, then start this step's
                // pulses.
                float w = 0;
                for (int s = 0; s < S; ++s) {
                    if (in_pulse[s] > 0) {
                        r[s] = r_inf + (r[s] - r_inf) * std::exp(-k * dt);
                        --in_pulse[s];
                    } else {
                        r[s] *= std::exp(-cs.rates.beta * dt);
                    }
                    if (fire(rng)) {
                        in_pulse[s] = K;
                        w += 1.0f;
                    }
                }
                c.advance(w);
                double ref = 0;
                for (double x : r)
                    ref += x;
                sum_model += c.g_named();
                sum_ref += ref;
                sum_abs_dev += std::fabs(c.g_named() - ref);
            }
            const double rel_mean = std::fabs(sum_model - sum_ref) / sum_ref;
            const double rel_abs = sum_abs_dev / sum_ref;
            INFO("mean conductance error " << rel_mean << ", mean |error| " << rel_abs);
            CHECK(sum_ref > 0.0);
            if (!from_rest) {
                CHECK(rel_mean < cs.max_rel_error);
                CHECK(rel_abs < cs.max_abs_error);
                error_of_estimate = rel_mean;
            } else {
                CHECK(rel_mean > error_of_estimate);
            }
        }
    }
}

TEST_CASE("§5.2: the 1 mM x 1 ms square pulse stands for the measured cleft transient", "[kinetic]") {
    // The cleft glutamate transient of Clements et al. 1992 (peak 1.1 mM, decay tau 1.2 ms; T21 cleft part)
    // drives the AMPA two-state scheme, integrated here with a fine exact-exponential step (T frozen over
    // 1e-4 ms: error O(dt) ~ 1e-4 relative). The equivalence chosen: the peak open fraction of the square
    // pulse is within 10 % of the transient's (0.618 vs 0.567: +9 %); the integral of r (the charge at fixed
    // V) is smaller by the ratio of transmitter integrals (1.0 vs 1.32 mM ms), within 25 % (3.63 vs 4.57
    // ms: -21 %). The model's square-pulse response (dt = 0.01) supplies the square side.
    const double alpha = 1.1, beta = 0.19, h = 1e-4;
    double r = 0, peak_transient = 0, charge_transient = 0;
    for (double t = 0; t < 100.0; t += h) {
        const double T = 1.1 * std::exp(-t / 1.2), k = alpha * T + beta, r_inf = alpha * T / k;
        r = r_inf + (r - r_inf) * std::exp(-k * h);
        peak_transient = std::max(peak_transient, r);
        charge_transient += r * h;
    }
    Clamped c(kRates[0], 0.01, 1.0);
    c.advance(1.0f);
    double peak_square = 0, charge_square = 0;
    while (c.t_ms() < 100.0) {
        c.advance();
        peak_square = std::max(peak_square, c.g_named());
        charge_square += c.g_named() * 0.01;
    }
    INFO("peak square " << peak_square << " vs transient " << peak_transient << "; charge " << charge_square
                        << " vs " << charge_transient << " ms");
    CHECK(peak_square == Approx(peak_transient).epsilon(0.10));
    CHECK(charge_square == Approx(charge_transient).epsilon(0.25));
    CHECK(peak_transient == Approx(0.5668).epsilon(1e-3)); // the fine integration itself (python check)
}

TEST_CASE("NMDA preset: the kinetic conductance carries the Mg2+ block", "[kinetic]") {
    // Voltage clamp: I_syn = g B(V) (V - E) with B = 1 / (1 + [Mg]/3.57 e^{-0.062 V}) (science.md §2.3), the
    // conductance of the step start.
    for (double V : {-70.0, -20.0, 40.0}) {
        INFO("V = " << V);
        Clamped c(kRates[1], 0.1, 1.0, true, V);
        c.advance(1.0f);
        for (int n = 0; n < 20; ++n)
            c.advance();
        const double g = c.g_named();
        c.advance();
        const double B = 1.0 / (1.0 + 1.0 / 3.57 * std::exp(-0.062 * V));
        // exp_approx in the model's block: relative error < 1e-5 (test_fastmath).
        CHECK(c.cell->state("I_syn_pA")[0] == Approx(g * B * V).epsilon(1e-4));
        const auto pools = c.cell->nmda_readout();
        REQUIRE(pools.size() == 1);
        CHECK(pools[0].conducting == Approx(B).epsilon(1e-5));
    }
}

// ---------------------------------------------------------------------------------------------------
// Whole runs.

namespace {

std::string network_config(double duration_ms, const std::string& extra = "") {
    return R"([simulation]
dt_ms = 0.1
duration_ms = )" +
           std::to_string(duration_ms) +
           R"(
seed = 11

[[populations]]
name = "E"
size = 60
model = "lif_cond"
params = { t_ref_ms = 2.0 }
receptors.AMPA = { shape = "kinetic", preset = "AMPA" }
receptors.NMDA = { shape = "kinetic", preset = "NMDA" }
receptors.GABA_A = { shape = "kinetic", preset = "GABA_A", E_rev_mV = -70.0 }
poisson_drive = { receptor = "AMPA", rate_Hz = 5.0, inputs = 400, weight_nS = 0.5 }

[[populations]]
name = "I"
size = 15
model = "lif_cond"
params = { t_ref_ms = 1.0 }
receptors.AMPA = { shape = "kinetic", preset = "AMPA" }
receptors.GABA_A = { tau_ms = 5.0, E_rev_mV = -70.0 }
poisson_drive = { receptor = "AMPA", rate_Hz = 5.0, inputs = 300, weight_nS = 0.5 }

[[projections]]
name = "EE_AMPA"
source = "E"
target = "E"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.2
weight_nS = 0.3
delay_ms = { dist = "uniform", low = 1.0, high = 3.0 }

[[projections]]
name = "EE_NMDA"
source = "E"
target = "E"
receptor = "NMDA"
rule = "fixed_probability"
probability = 0.2
weight_nS = 0.2
delay_ms = 1.5

[[projections]]
name = "EI"
source = "E"
target = "I"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.3
weight_nS = 0.5
delay_ms = 1.0

[[projections]]
name = "IE"
source = "I"
target = "E"
receptor = "GABA_A"
rule = "fixed_probability"
probability = 0.4
weight_nS = 1.0
delay_ms = 1.0

[recording]
readout_ms = 10.0
reports = [ { population = "E", variables = ["V_m_mV", "g_AMPA_nS", "g_NMDA_nS"], neurons = [0, 5], interval_ms = 0.5 } ]
)" + extra;
}

RunResult run(const std::string& dir, double duration_ms, int threads, double stop_at_ms = 0) {
    const Experiment exp = load_experiment_from_string(network_config(duration_ms), "kinetic_net.toml");
    RunOptions o;
    o.output_dir = dir;
    o.threads = threads;
    o.stop_at_ms = stop_at_ms;
    return run_experiment(exp, o);
}

std::vector<double> dataset(const std::string& file, const std::string& name) {
    return h5::File::open_read(file).read_doubles(name);
}

void require_same(const std::string& a, const std::string& b) {
    for (const char* name : {"/receptors/E/AMPA/open_fraction", "/receptors/E/NMDA/open_fraction",
                             "/receptors/E/GABA_A/open_fraction", "/receptors/I/AMPA/open_fraction",
                             "/receptors/E/NMDA/g_mean", "/population_rate_Hz/E", "/population_rate_Hz/I"}) {
        INFO(name);
        CHECK(dataset(a + "/timeseries.h5", name) == dataset(b + "/timeseries.h5", name));
    }
    for (const char* name : {"/spikes/E/timestamps", "/spikes/E/node_ids", "/spikes/I/timestamps"}) {
        INFO(name);
        CHECK(dataset(a + "/spikes.h5", name) == dataset(b + "/spikes.h5", name));
    }
}

} // namespace

TEST_CASE("kinetic receptors in a network: open fractions recorded, thread-invariant, checkpoint round trip",
          "[kinetic][integration]") {
    TempDir dir("kinetic_net");
    const std::string one = dir.file("one"), two = dir.file("two"), resumed = dir.file("resumed");
    REQUIRE(run(one, 200.0, 1).status == "completed");
    REQUIRE(run(two, 200.0, 2).status == "completed");
    const auto open = dataset(one + "/timeseries.h5", "/receptors/E/AMPA/open_fraction");
    const auto t = dataset(one + "/timeseries.h5", "/receptors/E/AMPA/time_ms");
    REQUIRE(open.size() == t.size());
    REQUIRE(open.size() >= 10);
    // AMPA activation is a fraction, and the drive keeps some receptors open.
    for (double x : open) {
        CHECK(x >= 0.0);
        CHECK(x <= 1.0);
    }
    CHECK(*std::max_element(open.begin(), open.end()) > 0.0);
    // Exponential receptors have no open fraction.
    CHECK_FALSE(h5::File::open_read(one + "/timeseries.h5").exists("/receptors/I/GABA_A/open_fraction"));
    require_same(one, two);

    // Pause at 97.3 ms (pulses in flight: delays 1-3 ms, pulses 1 ms), resume on 2 threads.
    const RunResult paused = run(resumed, 200.0, 1, 97.3);
    REQUIRE(paused.paused);
    ResumeOptions o;
    o.run_dir = resumed;
    o.threads = 2;
    REQUIRE(resume_run(o).status == "completed");
    require_same(one, resumed);
}

TEST_CASE("the kinetic state arrays are named state (checkpointed, reportable)", "[kinetic]") {
    Clamped c(kRates[0], 0.1, 1.0);
    const auto names = c.cell->state_names();
    for (const char* n :
         {"g_AMPA_nS", "on_AMPA_nS", "pulse_W_AMPA_0_nS", "pulse_W_AMPA_9_nS", "pulse_R0_AMPA_9_nS"}) {
        INFO(n);
        CHECK(std::find(names.begin(), names.end(), n) != names.end());
        CHECK(c.cell->state(n) != nullptr);
    }
    CHECK(std::find(names.begin(), names.end(), "pulse_W_AMPA_10_nS") == names.end());
    // Restoring the arrays mid-pulse restores the trajectory (what a checkpoint does).
    Clamped a(kRates[0], 0.1, 2.0), b(kRates[0], 0.1, 2.0);
    a.advance(1.0f);
    a.advance();
    a.advance(1.0f);
    for (const auto& n : names)
        std::copy_n(a.cell->state(n), 1, b.cell->state(n));
    b.step = a.step;
    for (int n = 0; n < 50; ++n) {
        a.advance(n == 3 ? 0.5f : 0.0f);
        b.advance(n == 3 ? 0.5f : 0.0f);
        CHECK(a.g_named() == b.g_named());
    }
}

TEST_CASE("kinetic receptor config errors name the key and the reason", "[kinetic][config]") {
    auto error_of = [](const std::string& receptor, const std::string& extra = "", double dt = 0.1) {
        const std::string text = "[simulation]\ndt_ms = " + std::to_string(dt) +
                                 "\nduration_ms = 10.0\nseed = 1\n" + extra +
                                 "[[populations]]\nname = \"E\"\nsize = 2\nmodel = \"lif_cond\"\n"
                                 "receptors.X = " +
                                 receptor + "\n";
        try {
            load_experiment_from_string(text, "bad.toml");
        } catch (const ConfigError& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    // The valid forms load.
    CHECK(error_of("{ shape = \"kinetic\", preset = \"AMPA\" }") == "accepted");
    CHECK(error_of("{ shape = \"kinetic\", alpha_per_mM_per_ms = 2.0, beta_per_ms = 0.5, E_rev_mV = 0.0 }") ==
          "accepted");
    CHECK(error_of("{ shape = \"kinetic\", preset = \"AMPA\", C_dur_ms = 0.25 }", "", 0.05) == "accepted");

    const std::string e1 = error_of("{ shape = \"kinetic\", preset = \"AMPA\", C_dur_ms = 0.25 }");
    CHECK_THAT(e1, Catch::Contains("bad.toml:") && Catch::Contains("C_dur_ms") &&
                       Catch::Contains("whole number") && Catch::Contains("2.5 steps"));
    const std::string e2 = error_of("{ shape = \"kinetic\", beta_per_ms = 0.5, E_rev_mV = 0.0 }");
    CHECK_THAT(e2, Catch::Contains("alpha_per_mM_per_ms") && Catch::Contains("missing"));
    const std::string e3 = error_of("{ shape = \"kinetic\", preset = \"AMPA\", tau_ms = 2.0 }");
    CHECK_THAT(e3, Catch::Contains("tau_ms") && Catch::Contains("beta_per_ms"));
    const std::string e4 = error_of("{ shape = \"kinetic\", preset = \"AMPA\", beta_per_ms = -1.0 }");
    CHECK_THAT(e4, Catch::Contains("beta_per_ms"));
    const std::string e5 = error_of("{ shape = \"kinetic\", preset = \"AMPAR\" }");
    CHECK_THAT(e5, Catch::Contains("preset") && Catch::Contains("did you mean \"AMPA\""));
    const std::string e6 = error_of("{ shape = \"kinetic\", alpha_per_mM_per_ms = 2.0, beta_per_ms = 0.5 }");
    CHECK_THAT(e6, Catch::Contains("E_rev_mV") && Catch::Contains("missing"));
    // Drugs do not block kinetic NMDA receptors: refused, not ignored.
    const std::string e7 = error_of("{ shape = \"kinetic\", preset = \"NMDA\" }",
                                    "[[drugs]]\nagent = \"ketamine\"\nbath_uM = 1.0\n");
    CHECK_THAT(e7, Catch::Contains("drugs") && Catch::Contains("receptor 'X'") && Catch::Contains("kinetic"));
    // The Mg2+ block needs a conductance.
    const std::string text =
        "[simulation]\ndt_ms = 0.1\nduration_ms = 10.0\nseed = 1\n[[populations]]\nname = "
        "\"E\"\nsize = 2\nmodel = \"lif_curr_exp\"\nreceptors.X = { shape = \"kinetic\", "
        "preset = \"NMDA\" }\n";
    try {
        load_experiment_from_string(text, "bad.toml");
        FAIL("accepted");
    } catch (const ConfigError& e) {
        CHECK_THAT(std::string(e.what()), Catch::Contains("preset") && Catch::Contains("current-based"));
    }
}
