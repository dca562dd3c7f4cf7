// Long-term plasticity through the whole engine (models/stdp.hpp, sim/network/plasticity.hpp): the STDP
// window (T24), the pair rule against the closed-form sum of exponentials, the triplet rule against a direct
// event-by-event implementation written here, thread-count invariance, and bad input.
//
// Protocol: `pre` spike_times neurons project plastically (one_to_one) onto `post` LIF neurons; `kick`
// spike_times neurons force each post neuron to fire (200 nS, one_to_one). The expected weights are
// computed from the spike times the run recorded, so the test does not depend on the post latency.
#include "core/error.hpp"
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/io/hdf5_file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

using namespace ketaplast;
using namespace ketaplast::test;

namespace {

std::string list(const std::vector<double>& v) {
    std::ostringstream s;
    s << "[";
    for (std::size_t i = 0; i < v.size(); ++i)
        s << (i ? ", " : "") << v[i];
    s << "]";
    return s.str();
}

// pre[i], kick[i]: spike times (ms) of pair i. `plasticity`: the inline table.
std::string protocol(const std::vector<std::vector<double>>& pre,
                     const std::vector<std::vector<double>>& kick, const std::string& plasticity,
                     double duration_ms, double w0 = 1.0) {
    std::ostringstream s;
    s << "[simulation]\ndt_ms = 0.1\nduration_ms = " << duration_ms << "\n";
    auto source = [&](const char* name, const std::vector<std::vector<double>>& times) {
        s << "[[populations]]\nname = \"" << name << "\"\nsize = " << times.size()
          << "\nmodel = \"spike_times\"\nspike_times_ms = [";
        for (std::size_t i = 0; i < times.size(); ++i)
            s << (i ? ", " : "") << list(times[i]);
        s << "]\n";
    };
    source("pre", pre);
    source("kick", kick);
    s << "[[populations]]\nname = \"post\"\nsize = " << pre.size()
      << "\nmodel = \"lif_cond\"\nreceptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }\n"
      << "[[projections]]\nname = \"plastic\"\nsource = \"pre\"\ntarget = \"post\"\nreceptor = \"AMPA\"\n"
      << "rule = \"one_to_one\"\nweight_nS = " << w0 << "\ndelay_ms = 1.0\nplasticity = " << plasticity
      << "\n"
      << "[[projections]]\nname = \"drive\"\nsource = \"kick\"\ntarget = \"post\"\nreceptor = \"AMPA\"\n"
      << "rule = \"one_to_one\"\nweight_nS = 200.0\ndelay_ms = 1.0\n"
      << "[recording]\nedges = true\n";
    return s.str();
}

struct Outcome {
    std::vector<std::vector<double>> pre, post; // recorded spike times per pair
    std::vector<double> weight;                 // final weight per pair (edges.h5, by target)
};

Outcome run_protocol(const std::string& config, int threads = 1) {
    TempDir dir("stdp");
    Experiment exp = load_experiment_from_string(config, "stdp.toml");
    run_experiment(exp, {dir.path(), threads, false});
    Outcome out;
    h5::File spikes = h5::File::open_read(dir.file("spikes.h5"));
    const std::size_t n = exp.populations[0].size;
    for (const char* pop : {"pre", "post"}) {
        h5::Object g = spikes.open_group("spikes").open_group(pop);
        const auto ids = g.read_u64("node_ids");
        const auto t = g.read_doubles("timestamps");
        auto& per = std::string(pop) == "pre" ? out.pre : out.post;
        per.assign(n, {});
        for (std::size_t k = 0; k < ids.size(); ++k)
            per[ids[k]].push_back(t[k]);
    }
    h5::File edges = h5::File::open_read(dir.file("edges.h5"));
    h5::Object e = edges.open_group("edges").open_group("plastic");
    const auto target = e.read_u64("target_node_id");
    const auto w = e.open_group("0").read_doubles("syn_weight");
    out.weight.assign(n, 0.0);
    for (std::size_t k = 0; k < w.size(); ++k)
        out.weight[target[k]] = w[k];
    return out;
}

// Independent implementation of the trace rules (docs/science.md §6.1, §6.2) on sorted events: at equal times
// pre before post (the engine's documented order). Double precision, exact exponentials.
double direct_rule(const std::vector<double>& pre, const std::vector<double>& post, double w, double w_max,
                   double tau_plus, double tau_minus, double tau_x, double tau_y, double A2p, double A3p,
                   double A2m, double A3m, bool nearest, bool multiplicative) {
    struct Event {
        double t;
        int kind; // 0 pre, 1 post
    };
    std::vector<Event> events;
    for (double t : pre)
        events.push_back({t, 0});
    for (double t : post)
        events.push_back({t, 1});
    std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
        return a.t < b.t - 1e-9 || (std::fabs(a.t - b.t) < 1e-9 && a.kind < b.kind);
    });
    double r1 = 0, r2 = 0, o1 = 0, o2 = 0, t_pre = -1e9, t_post = -1e9;
    auto decayed = [](double v, double dt, double tau) { return tau > 0 ? v * std::exp(-dt / tau) : 0.0; };
    for (const Event& ev : events) {
        if (ev.kind == 0) {
            const double o1_now = decayed(o1, ev.t - t_post, tau_minus);
            const double r2_before = decayed(r2, ev.t - t_pre, tau_x);
            const double amount = o1_now * (A2m + A3m * r2_before);
            w = std::clamp(w - (multiplicative ? w : w_max) * amount, 0.0, w_max);
            const double r1_now = decayed(r1, ev.t - t_pre, tau_plus);
            r1 = nearest ? 1.0 : r1_now + 1.0;
            r2 = nearest ? 1.0 : r2_before + 1.0;
            t_pre = ev.t;
        } else {
            const double r1_now = decayed(r1, ev.t - t_pre, tau_plus);
            const double o2_before = decayed(o2, ev.t - t_post, tau_y);
            const double amount = r1_now * (A2p + A3p * o2_before);
            w = std::clamp(w + (multiplicative ? w_max - w : w_max) * amount, 0.0, w_max);
            const double o1_now = decayed(o1, ev.t - t_post, tau_minus);
            o1 = nearest ? 1.0 : o1_now + 1.0;
            o2 = nearest ? 1.0 : o2_before + 1.0;
            t_post = ev.t;
        }
    }
    return w;
}

} // namespace

TEST_CASE("T24: the pair rule gives LTP for post 0..20 ms after pre and LTD for post before pre",
          "[plasticity][stdp]") {
    // One pairing per neuron pair: pre at 100 ms, the post spike driven to 100 + dt_target ms (kick at
    // dt_target - latency; the true timing is taken from the recorded spikes).
    const std::vector<double> offsets = {-20, -15, -10, -5, -2, 2, 5, 10, 15, 20};
    std::vector<std::vector<double>> pre, kick;
    for (double d : offsets) {
        pre.push_back({100.0});
        kick.push_back({100.0 + d - 2.0}); // post fires ~2 ms after its kick (1 ms delay + rise)
    }
    const Outcome o = run_protocol(
        protocol(pre, kick, "{ rule = \"stdp_pair\", w_max_nS = 2.0, A_plus = 0.01, A_minus = 0.0105 }",
                 200.0),
        1);
    int ltp = 0, ltd = 0;
    for (std::size_t i = 0; i < offsets.size(); ++i) {
        REQUIRE(o.post[i].size() == 1);
        const double delta_t = o.post[i][0] - o.pre[i][0];
        INFO("pair " << i << ": post - pre = " << delta_t << " ms, w = " << o.weight[i]);
        // Closed form for one pair: w0 + w_max A+ exp(-dt/tau+) (dt >= 0) or w0 - w_max A- exp(dt/tau-);
        // float weights: one rounding of ~6e-8 relative, so 1e-6 nS is a safe bound.
        const double expected = delta_t >= 0 ? 1.0 + 2.0 * 0.01 * std::exp(-delta_t / 20.0)
                                             : 1.0 - 2.0 * 0.0105 * std::exp(delta_t / 20.0);
        CHECK(o.weight[i] == Approx(expected).margin(1e-6));
        if (std::fabs(delta_t) <= 20.0) {
            if (delta_t > 0) CHECK(o.weight[i] > 1.0);
            if (delta_t < 0) CHECK(o.weight[i] < 1.0);
            ltp += delta_t > 0;
            ltd += delta_t < 0;
        }
    }
    CHECK(ltp >= 4); // the protocol really produced both signs
    CHECK(ltd >= 4);
}

TEST_CASE("pair rule: 20 pairings at 5 Hz match the closed-form sum of exponentials", "[plasticity][stdp]") {
    // All-to-all additive rule without clipping: dw = w_max [A+ sum_{post j, pre i <= j} e^{-(tj-ti)/tau+}
    //                                                     - A- sum_{pre i, post j < i} e^{-(ti-tj)/tau-}].
    std::vector<std::vector<double>> pre(2), kick(2);
    for (int k = 0; k < 20; ++k) {
        pre[0].push_back(100.0 + 200.0 * k); // post ~+8 ms after pre
        kick[0].push_back(106.0 + 200.0 * k);
        pre[1].push_back(100.0 + 200.0 * k); // post ~-8 ms before pre
        kick[1].push_back(90.0 + 200.0 * k);
    }
    const double tau_p = 16.8, tau_m = 33.7, Ap = 0.004, Am = 0.003, w_max = 4.0, w0 = 2.0;
    std::ostringstream rule;
    rule << "{ rule = \"stdp_pair\", w_max_nS = " << w_max << ", A_plus = " << Ap << ", A_minus = " << Am
         << ", tau_plus_ms = " << tau_p << ", tau_minus_ms = " << tau_m << " }";
    const Outcome o = run_protocol(protocol(pre, kick, rule.str(), 4200.0, w0), 1);
    for (int i = 0; i < 2; ++i) {
        REQUIRE(o.post[i].size() == 20);
        double sum = 0;
        for (double tj : o.post[i])
            for (double ti : o.pre[i]) {
                if (ti <= tj + 1e-9) sum += Ap * std::exp(-(tj - ti) / tau_p);
                if (tj < ti - 1e-9) sum -= Am * std::exp(-(ti - tj) / tau_m);
            }
        const double expected = w0 + w_max * sum;
        INFO("pair " << i << " expected " << expected << " got " << o.weight[i]);
        // 40 float roundings of a ~2 nS weight (each <= 1.2e-7 nS) plus the dropped e^{-4096 dt/tau}
        // table tail (exact exp beyond): 1e-5 nS.
        CHECK(o.weight[i] == Approx(expected).margin(1e-5));
        CHECK(std::fabs(o.weight[i] - w0) > 0.05); // the protocol changed the weight substantially
    }
    CHECK(o.weight[0] > w0); // pre-before-post potentiates, post-before-pre depresses
    CHECK(o.weight[1] < w0);
}

TEST_CASE("triplet rule and multiplicative bounds match a direct event-by-event implementation",
          "[plasticity][stdp]") {
    // Irregular trains: pre and kicks at pseudo-random times (a fixed LCG, so the test is reproducible),
    // including bursts that make the triplet terms matter.
    std::vector<std::vector<double>> pre(1), kick(1);
    std::uint32_t x = 12345;
    auto next = [&] {
        x = x * 1664525u + 1013904223u;
        return double(x >> 8) / double(1u << 24);
    };
    for (double t = 20.0; t < 1900.0; t += 5.0 + 60.0 * next())
        pre[0].push_back(std::round(t * 10.0) / 10.0);
    for (double t = 25.0; t < 1900.0; t += 8.0 + 70.0 * next())
        kick[0].push_back(std::round(t * 10.0) / 10.0);
    struct Case {
        std::string set;
        double tp, tm, tx, ty, A2p, A3p, A2m, A3m;
        bool nearest, multiplicative;
    };
    const std::vector<Case> cases = {
        {"hippocampal_culture_all_to_all", 16.8, 33.7, 946, 27, 6.1e-3, 6.7e-3, 1.6e-3, 1.4e-3, false, false},
        {"visual_cortex_nearest_spike", 16.8, 33.7, 714, 40, 8.8e-11, 5.3e-2, 6.6e-3, 3.1e-3, true, false},
        {"visual_cortex_all_to_all", 16.8, 33.7, 101, 125, 5e-10, 6.2e-3, 7e-3, 2.3e-4, false, true},
    };
    for (const Case& c : cases) {
        INFO(c.set << (c.multiplicative ? " multiplicative" : " additive"));
        const std::string rule = "{ rule = \"stdp_triplet\", parameter_set = \"" + c.set +
                                 "\", w_max_nS = 4.0, bounds = \"" +
                                 (c.multiplicative ? "multiplicative" : "additive") + "\" }";
        const Outcome o = run_protocol(protocol(pre, kick, rule, 2000.0, 2.0), 1);
        REQUIRE(o.post[0].size() > 20);
        const double expected = direct_rule(o.pre[0], o.post[0], 2.0, 4.0, c.tp, c.tm, c.tx, c.ty, c.A2p,
                                            c.A3p, c.A2m, c.A3m, c.nearest, c.multiplicative);
        // Float weights rounded after each of ~100 updates (<= 2.4e-7 nS each): 5e-5 nS.
        CHECK(o.weight[0] == Approx(expected).margin(5e-5));
        CHECK(std::fabs(o.weight[0] - 2.0) > 1e-3); // the rule did something
    }
}

TEST_CASE("COBA with STDP on E->E: spikes and plastic weights are bit-identical for 1, 2 and 3 threads",
          "[plasticity][integration]") {
    std::vector<std::vector<double>> spikes, weights;
    for (int threads : {1, 2, 3}) {
        TempDir dir("stdp_threads");
        Experiment exp = load_experiment(source_path("configs/coba_stdp.toml"),
                                         {{"simulation.duration_ms", "300"},
                                          {"recording.reports", "[]"},
                                          {"recording.snapshot_times_ms", "[0.0, 150.0]"}});
        run_experiment(exp, {dir.path(), threads, false});
        h5::File f = h5::File::open_read(dir.file("spikes.h5"));
        spikes.push_back(f.open_group("spikes").open_group("E").read_doubles("timestamps"));
        h5::File e = h5::File::open_read(dir.file("edges.h5"));
        weights.push_back(e.open_group("edges").open_group("EE").open_group("0").read_doubles("syn_weight"));
        h5::File s = h5::File::open_read(dir.file("snapshots.h5"));
        const auto snap = s.open_group("edges").open_group("EE").open_group("0").read_doubles("syn_weight");
        // The snapshot at 150 ms differs from the one at 0 (the weights are changing).
        const std::size_t n = weights.back().size();
        REQUIRE(snap.size() == 2 * n);
        CHECK(!std::equal(snap.begin(), snap.begin() + std::ptrdiff_t(n), snap.begin() + std::ptrdiff_t(n)));
    }
    REQUIRE(spikes[0].size() > 1000);
    for (std::size_t r = 1; r < spikes.size(); ++r) {
        CHECK(spikes[r] == spikes[0]);
        CHECK(weights[r] == weights[0]);
    }
}

TEST_CASE("plasticity keys are validated: clear errors naming the key", "[plasticity][config]") {
    const std::vector<std::vector<double>> pre = {{10.0}}, kick = {{20.0}};
    auto error_of = [&](const std::string& rule, const std::string& extra = "") {
        try {
            load_experiment_from_string(protocol(pre, kick, rule, 100.0) + extra, "bad.toml");
        } catch (const InputError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    using Catch::Matchers::Contains;
    CHECK_THAT(error_of("{ rule = \"stdp_pair\", w_max_nS = 2.0, tau_plus_ms = -5.0 }"),
               Contains("bad.toml") && Contains("plasticity.tau_plus_ms") && Contains("outside"));
    CHECK_THAT(error_of("{ rule = \"stdp_triplet\", w_max_nS = 2.0, tau_y_ms = 0.0 }"),
               Contains("plasticity.tau_y_ms"));
    CHECK_THAT(error_of("{ rule = \"stdp_pair\", w_max_nS = 2.0, w_min_nS = 3.0 }"),
               Contains("plasticity.w_min_nS") && Contains("below w_max_nS"));
    CHECK_THAT(error_of("{ rule = \"stdp_pair\", w_max_nS = 2.0, A_plus = 1.5 }"),
               Contains("plasticity.A_plus"));
    CHECK_THAT(error_of("{ rule = \"stdp_pair\" }"), Contains("plasticity.w_max_nS") && Contains("missing"));
    CHECK_THAT(error_of("{ rule = \"stdp_pair\", w_max_nS = 0.5 }"),
               Contains("weight_nS") && Contains("outside the plasticity bounds"));
    CHECK_THAT(error_of("{ rule = \"stdp_quadruplet\", w_max_nS = 2.0 }"), Contains("plasticity.rule"));
    // Calcium rule: the NMDA pool named for C_pre must exist on the target; thresholds positive.
    CHECK_THAT(error_of("{ rule = \"calcium\", w_max_nS = 2.0, nmda_receptor = \"NMDA\" }"),
               Contains("plasticity.nmda_receptor") && Contains("no NMDA receptor"));
    CHECK_THAT(error_of("{ rule = \"calcium\", w_max_nS = 2.0, theta_p = -1.0 }"),
               Contains("plasticity.theta_p"));
    CHECK_THAT(error_of("{ rule = \"calcium\", w_max_nS = 2.0, parameter_set = \"visual\" }"),
               Contains("plasticity.parameter_set"));
    CHECK_THAT(error_of("{ rule = \"stdp_pair\", w_max_nS = 2.0, A_pluss = 0.1 }"), Contains("A_plus"));
    CHECK_THAT(
        error_of("{ rule = \"stdp_pair\", w_max_nS = 2.0 }", "[network]\nweight_storage = \"uint16\"\n"),
        Contains("float32"));
    // An inhibitory receptor: the same protocol onto a GABA_A receptor.
    std::string gaba = protocol(pre, kick, "{ rule = \"stdp_pair\", w_max_nS = 2.0 }", 100.0);
    gaba.replace(gaba.find("receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }"), 49,
                 "receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }\nreceptors.GABA_A = { tau_ms = 5.0, "
                 "E_rev_mV = -70.0 }");
    gaba.replace(gaba.find("receptor = \"AMPA\""), 17, "receptor = \"GABA_A\"");
    try {
        load_experiment_from_string(gaba, "gaba.toml");
        FAIL("no error");
    } catch (const InputError& e) {
        CHECK_THAT(std::string(e.what()), Contains("plasticity.rule") && Contains("inhibitory"));
    }
}

TEST_CASE("cli: learning rates that saturate most weights within 1 s stop the run (exit 1)",
          "[plasticity][cli]") {
    TempDir dir("stdp_runaway");
    std::vector<std::vector<double>> pre(20), kick(20);
    for (int i = 0; i < 20; ++i)
        for (int k = 0; k < 20; ++k) {
            pre[std::size_t(i)].push_back(50.0 + 40.0 * k);
            kick[std::size_t(i)].push_back(53.0 + 40.0 * k);
        }
    write_file(
        dir.file("runaway.toml"),
        protocol(pre, kick, "{ rule = \"stdp_pair\", w_max_nS = 2.0, A_plus = 0.6, A_minus = 0.0 }", 3000.0));
    const auto r =
        run_ketaplast("run " + dir.file("runaway.toml") + " --out " + dir.file("out"), dir.file("log"));
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, Catch::Matchers::Contains("runaway plasticity in projection 'plastic'") &&
                             Catch::Matchers::Contains("A_plus"));
}

// ---- Graupner-Brunel calcium rule (models/calcium_rule.hpp, docs/science.md §6.3) ----

namespace {

// n_pre sources per plastic projection ("down": starting at w_min, "up": at w_max), all firing at
// pre_ms; one post LIF neuron forced to fire by a kick at kick_ms. `rule`: the plasticity inline table
// without w_max_nS. `post_extra`: extra receptor / drug lines.
std::string calcium_protocol(std::uint32_t n_pre, const std::vector<double>& pre_ms,
                             const std::vector<double>& kick_ms, const std::string& rule, double duration_ms,
                             const std::string& post_receptors, const std::string& extra) {
    std::ostringstream s;
    s << "[simulation]\ndt_ms = 0.1\nduration_ms = " << duration_ms << "\n" << extra;
    for (const char* name : {"pre_down", "pre_up"}) {
        s << "[[populations]]\nname = \"" << name << "\"\nsize = " << n_pre
          << "\nmodel = \"spike_times\"\nspike_times_ms = [";
        for (std::uint32_t i = 0; i < n_pre; ++i)
            s << (i ? ", " : "") << list(pre_ms);
        s << "]\n";
    }
    s << "[[populations]]\nname = \"kick\"\nsize = 1\nmodel = \"spike_times\"\nspike_times_ms = ["
      << list(kick_ms) << "]\n"
      << "[[populations]]\nname = \"post\"\nsize = 1\nmodel = \"lif_cond\"\n"
      << "receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }\n"
      << post_receptors;
    // Weights tiny (w_max 2 pS) so the plastic inputs never make the post neuron fire.
    for (const char* name : {"down", "up"})
        s << "[[projections]]\nname = \"" << name << "\"\nsource = \"pre_" << name
          << "\"\ntarget = \"post\"\nreceptor = \"AMPA\"\nrule = \"all_to_all\"\nweight_nS = "
          << (std::string(name) == "down" ? "0.0004" : "0.002") << "\ndelay_ms = 1.0\nplasticity = { " << rule
          << ", w_max_nS = 0.002, w_min_nS = 0.0004 }\n";
    s << "[[projections]]\nname = \"drive\"\nsource = \"kick\"\ntarget = \"post\"\nreceptor = \"AMPA\"\n"
      << "rule = \"one_to_one\"\nweight_nS = 200.0\ndelay_ms = 1.0\n"
      << "[recording]\nedges = true\n";
    return s.str();
}

struct CalciumOutcome {
    std::vector<double> post_ms;
    std::vector<double> down, up; // final weights of each projection
};

CalciumOutcome run_calcium(const std::string& config, int threads = 1) {
    TempDir dir("calcium");
    Experiment exp = load_experiment_from_string(config, "calcium.toml");
    run_experiment(exp, {dir.path(), threads, false});
    CalciumOutcome out;
    h5::File spikes = h5::File::open_read(dir.file("spikes.h5"));
    out.post_ms = spikes.open_group("spikes").open_group("post").read_doubles("timestamps");
    h5::File edges = h5::File::open_read(dir.file("edges.h5"));
    out.down = edges.open_group("edges").open_group("down").open_group("0").read_doubles("syn_weight");
    out.up = edges.open_group("edges").open_group("up").open_group("0").read_doubles("syn_weight");
    return out;
}

double fraction_above(const std::vector<double>& w, double mid) {
    return double(std::count_if(w.begin(), w.end(), [&](double x) { return x > mid; })) / double(w.size());
}

// Graupner & Brunel (2012) analytic protocol prediction, written from the paper's formulas (docs/science.md
// §6.3): the fractions of time alpha_d, alpha_p that c spends above the thresholds are measured on a fine
// grid (1 us) from the actual pre and post spike times of each pairing, independently of the engine's
// closed-form crossing times.
struct Analytic {
    double alpha_d, alpha_p, up, down, change;
};
Analytic analytic_protocol(const std::vector<double>& pre, const std::vector<double>& post, double T_s,
                           double tauCa, double Cpre, double Cpost, double thd, double thp, double gd,
                           double gp, double sigma, double tau_s, double D, double beta, double b) {
    double above_d = 0, above_p = 0;
    const double h = 0.001; // ms
    for (std::size_t k = 0; k < pre.size(); ++k) {
        const double t0 = std::min(pre[k] + D, post[k]);
        for (double t = t0; t < t0 + 400.0; t += h) {
            const double c = (t >= pre[k] + D ? Cpre * std::exp(-(t - pre[k] - D) / tauCa) : 0.0) +
                             (t >= post[k] ? Cpost * std::exp(-(t - post[k]) / tauCa) : 0.0);
            above_d += c > thd ? h : 0.0;
            above_p += c > thp ? h : 0.0;
        }
    }
    Analytic a;
    a.alpha_d = above_d / (T_s * 1000.0);
    a.alpha_p = above_p / (T_s * 1000.0);
    const double Gp = gp * a.alpha_p, Gd = gd * a.alpha_d;
    const double rho_bar = Gp / (Gp + Gd), s2 = (a.alpha_p + a.alpha_d) * sigma * sigma / (Gp + Gd);
    const double tau_eff = tau_s / (Gp + Gd);
    auto transition = [&](double rho0) { // probability of ending on the other side of rho* = 0.5
        const double x = -(0.5 - rho_bar + (rho_bar - rho0) * std::exp(-T_s / tau_eff)) /
                         std::sqrt(s2 * (1.0 - std::exp(-2.0 * T_s / tau_eff)));
        return rho0 == 0.0 ? (1.0 + std::erf(x)) / 2.0 : (1.0 - std::erf(x)) / 2.0;
    };
    a.up = transition(0.0);
    a.down = transition(1.0);
    a.change =
        ((beta * (1.0 - a.up) + (1.0 - beta) * a.down) + (beta * a.up + (1.0 - beta) * (1.0 - a.down)) * b) /
        (beta + (1.0 - beta) * b);
    return a;
}

} // namespace

TEST_CASE("T25: Graupner-Brunel DP set, 60 pairs at 1 Hz, matches the analytic protocol formula",
          "[plasticity][calcium]") {
    const std::uint32_t n = 800;
    std::vector<double> pre, kick;
    for (int k = 0; k < 60; ++k) {
        pre.push_back(100.0 + 1000.0 * k);
        kick.push_back(100.0 + 1000.0 * k + 8.0); // post ~10 ms after pre (1 ms delay + latency)
    }
    // double_well = false: the analytic formula neglects the cubic term during the protocol, so the
    // engine is compared with exactly the process the formula describes.
    const std::string rule = "rule = \"calcium\", parameter_set = \"DP\", double_well = false";
    const CalciumOutcome out = run_calcium(calcium_protocol(n, pre, kick, rule, 60500.0, "", ""));
    REQUIRE(out.post_ms.size() == 60);
    const Analytic a = analytic_protocol(pre, out.post_ms, 60.0, 20.0, 1.0, 2.0, 1.0, 1.3, 200.0, 321.808,
                                         2.8284, 150.0, 13.7, 0.5, 5.0);
    const double mid = 0.5 * (0.0004 + 0.002);
    const double up = fraction_above(out.down, mid), down = 1.0 - fraction_above(out.up, mid);
    INFO("alpha_d " << a.alpha_d << " alpha_p " << a.alpha_p << " predicted UP " << a.up << " DOWN " << a.down
                    << " change " << a.change << "; measured UP " << up << " DOWN " << down);
    // The transitions are intermediate (the test is sensitive to drift and noise alike).
    REQUIRE(a.up > 0.3);
    REQUIRE(a.up < 0.8);
    // Tolerance: binomial sampling error sqrt(p (1 - p) / 800) <= 0.018, x 3.5 = 0.062; plus the
    // formula's averaging of the drive over the protocol (each pairing moves rho by ~6 % of the distance
    // to its target; the exactly composed per-pairing maps give 0.648 / 0.318 instead of 0.643 / 0.312,
    // computed separately): 0.01. Measured: 0.634 / 0.305.
    CHECK(up == Approx(a.up).margin(0.072));
    CHECK(down == Approx(a.down).margin(0.072));
    const double change =
        ((0.5 * (1 - up) + 0.5 * down) + (0.5 * up + 0.5 * (1 - down)) * 5.0) / (0.5 + 0.5 * 5.0);
    CHECK(change == Approx(a.change).margin(0.072 * 4.0 / 3.0)); // the change is linear in UP, DOWN
}

TEST_CASE("T24: NMDA-receptor block abolishes the calcium rule's pairing potentiation (cortical slices)",
          "[plasticity][calcium]") {
    const std::uint32_t n = 400;
    std::vector<double> pre, kick;
    for (int k = 0; k < 60; ++k) {
        pre.push_back(20000.0 + 1000.0 * k);
        kick.push_back(20000.0 + 1000.0 * k + 3.0); // post ~5 ms after pre
    }
    // The post neuron's NMDA pool: tonic agonist on a tiny conductance, so the drug's use-dependent block
    // settles during the first 20 s without changing the neuron's potential.
    const std::string nmda =
        "receptors.NMDA = { shape = \"nmda\", tau_ms = 100.0, E_rev_mV = 0.0, Mg_mM = 1.0, "
        "g_max_nS = 0.01, tonic_activation = 1.0 }\n";
    const std::string rule = "rule = \"calcium\"";
    auto drug = [](const char* agent) {
        return std::string("[[drugs]]\nagent = \"") + agent +
               "\"\nbath_uM = [10.0]\nbath_step_ms = 100000.0\n";
    };
    const CalciumOutcome control = run_calcium(calcium_protocol(n, pre, kick, rule, 80500.0, nmda, ""));
    const CalciumOutcome ketamine =
        run_calcium(calcium_protocol(n, pre, kick, rule, 80500.0, nmda, drug("ketamine")));
    const CalciumOutcome mk801 =
        run_calcium(calcium_protocol(n, pre, kick, rule, 80500.0, nmda, drug("mk801")));
    for (const CalciumOutcome* o : {&control, &ketamine, &mk801})
        REQUIRE(o->post_ms.size() == 60);
    const double mid = 0.5 * (0.0004 + 0.002);
    auto mean_weight = [&](const CalciumOutcome& o) { // over both projections: beta = 0.5
        double m = 0;
        for (std::size_t i = 0; i < n; ++i)
            m += (o.down[i] + o.up[i]) / (2.0 * n);
        return m;
    };
    const double up_control = fraction_above(control.down, mid),
                 up_ketamine = fraction_above(ketamine.down, mid), up_mk801 = fraction_above(mk801.down, mid);
    INFO("DOWN->UP without drug " << up_control << ", 10 uM ketamine " << up_ketamine << ", 10 uM MK-801 "
                                  << up_mk801
                                  << "; mean weight / initial mean: " << mean_weight(control) / mid << ", "
                                  << mean_weight(ketamine) / mid << ", " << mean_weight(mk801) / mid);
    // Without drug: the analytic formula gives ~0.30 DOWN->UP at +5 ms (docs/plasticity.md); 400 synapses
    // resolve it to +-0.023, so > 0.15 is far outside chance. Mean weight over both projections (beta = 0.5)
    // rises: net potentiation.
    CHECK(up_control > 0.15);
    CHECK(mean_weight(control) > mid);
    // 10 uM ketamine leaves part of the pool unblocked at -70 mV in 1 mM Mg (C_pre,eff ~ half of C_pre):
    // the net potentiation is gone (mean weight below its start) and transitions up fall at least 3-fold.
    CHECK(mean_weight(ketamine) < mid);
    CHECK(up_ketamine < up_control / 3.0);
    // MK-801 blocks (almost) every channel: pre + post calcium stays below theta_p, so no synapse goes up
    // (the noise acts only above a threshold, and the depression-only drive pulls rho down).
    CHECK(up_mk801 == 0.0);
    CHECK(mean_weight(mk801) < mid);
}

TEST_CASE("calcium rule: weights are bit-identical for 1, 2 and 3 threads",
          "[plasticity][calcium][integration]") {
    std::vector<std::vector<double>> weights;
    for (int threads : {1, 2, 3}) {
        TempDir dir("calcium_threads");
        Experiment exp =
            load_experiment(source_path("configs/coba_stdp.toml"),
                            {{"simulation.duration_ms", "300"},
                             {"recording.reports", "[]"},
                             {"recording.snapshot_times_ms", "[0.0, 150.0]"},
                             {"projections.0.plasticity",
                              "{ rule = \"calcium\", parameter_set = \"DP\", w_max_nS = 12.0 }"}});
        run_experiment(exp, {dir.path(), threads, false});
        h5::File e = h5::File::open_read(dir.file("edges.h5"));
        weights.push_back(e.open_group("edges").open_group("EE").open_group("0").read_doubles("syn_weight"));
        // The snapshots carry the calcium rule's efficacy beside the weight: rho = (w - w_min) / (w_max -
        // w_min) (float32 of a double quotient: 1e-6), inside [0, 1].
        h5::File s = h5::File::open_read(dir.file("snapshots.h5"));
        const h5::Object ee = s.open_group("edges").open_group("EE").open_group("0");
        const auto w = ee.read_doubles("syn_weight"), rho = ee.read_doubles("rho");
        const StdpRule& rule = *exp.projections[0].plasticity;
        REQUIRE(rho.size() == w.size());
        REQUIRE(rho.size() == 2 * weights.back().size()); // two snapshots x edges
        for (std::size_t k = 0; k < rho.size(); ++k) {
            CHECK(rho[k] == Approx((w[k] - rule.w_min) / (rule.w_max - rule.w_min)).margin(1e-6));
            CHECK(rho[k] >= 0.0);
            CHECK(rho[k] <= 1.0);
        }
        CHECK_FALSE(s.open_group("edges").open_group("EI").open_group("0").exists("rho")); // static
    }
    std::size_t changed = 0;
    for (double w : weights[0])
        changed += w != 6.0 ? 1 : 0;
    REQUIRE(changed > 100); // the rule acted
    for (std::size_t r = 1; r < weights.size(); ++r)
        CHECK(weights[r] == weights[0]);
}
