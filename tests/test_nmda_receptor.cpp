// The NMDA receptor of the conductance-based neurons: dual-exponential gating with its peak at the
// weight, and the Mg2+ block acting on the membrane (docs/science.md §2.1, §2.3), through the model a run
// uses; plus its config keys.
#include "models/drugs.hpp"
#include "models/exp_receptors.hpp"
#include "models/nmda_block.hpp"
#include "models/pharmacokinetics.hpp"
#include "models/registry.hpp"
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/io/hdf5_file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

using namespace ketaplast;

namespace {

ReceptorSpec nmda(double tau_rise, double tau_decay) {
    ReceptorSpec r;
    r.name = "NMDA";
    r.shape = ReceptorShape::nmda;
    r.tau_rise_ms = tau_rise;
    r.tau_ms = tau_decay;
    r.E_rev_mV = 0.0;
    return r;
}

struct Cell {
    std::unique_ptr<NeuronGroup> group;
    std::vector<float> input{0.0f};
    std::vector<const float*> ptrs;
    Cell(double dt, const ReceptorSpec& r) {
        GroupSetup setup;
        setup.size = 1;
        setup.dt_ms = dt;
        setup.params = ParamValues::defaults(builtin_models().find("lif_cond")->params);
        setup.params.set("V_th_mV", 100.0); // never spikes: we watch the subthreshold dynamics
        setup.receptors = {r};
        group = builtin_models().find("lif_cond")->create(setup);
        ptrs.push_back(input.data());
    }
    void step(std::int64_t n, double dt) {
        StepContext ctx;
        ctx.step = n;
        ctx.dt_ms = dt;
        std::vector<std::uint32_t> spikes;
        group->update(ctx, 0, 1, ptrs.data(), spikes);
        input[0] = 0.0f;
    }
};

} // namespace

TEST_CASE("NMDA gating is a dual exponential peaking at the weight", "[nmda]") {
    // Brunel & Wang time constants (rise 2 ms, decay 100 ms). A weight w arriving at the end of step 0
    // gives g(t) = w N (e^{-t/100} - e^{-t/2}) with t from then, N = 1 / peak; exact propagators, so only
    // float rounding remains (1e-5 relative).
    const double dt = 0.1, w = 0.8;
    Cell cell(dt, nmda(2.0, 100.0));
    cell.input[0] = float(w);
    cell.step(0, dt);
    const double N = 1.0 / (std::exp(-2.0 * 100.0 / 98.0 * std::log(50.0) / 100.0) -
                            std::exp(-2.0 * 100.0 / 98.0 * std::log(50.0) / 2.0));
    double peak = 0;
    for (int k = 1; k <= 3000; ++k) {
        cell.step(k, dt);
        const double t = k * dt;
        const double expected = w * N * (std::exp(-t / 100.0) - std::exp(-t / 2.0));
        REQUIRE(cell.group->state("g_NMDA_nS")[0] == Approx(expected).margin(1e-5 * w));
        peak = std::max(peak, double(cell.group->state("g_NMDA_nS")[0]));
    }
    // The peak time t_p = 2 * 100 / 98 ln 50 = 7.98 ms falls between grid points: within 0.01 % of w.
    CHECK(peak == Approx(w).epsilon(1e-4));
}

TEST_CASE("the NMDA current is blocked by Mg2+ as the membrane equation says", "[nmda]") {
    // A steady NMDA conductance G (time constants so long it does not change) depolarises the
    // Brunel-Wang cell: C dV/dt = -g_L (V - E_L) - G B(V) (V - 0), B from Jahr & Stevens at 1 mM.
    // Reference: RK4 at 1 us in double. The model freezes B over each step (docs/science.md §1.3): error
    // O(dt); at dt = 0.1 ms within 0.05 mV over 40 ms, and 10x closer at dt = 0.01 ms.
    const double G = 60.0, C = 500.0, gL = 25.0, EL = -70.0;
    const MgBlock mg;
    auto f = [&](double V) { return (-gL * (V - EL) - G * mg.unblocked(V) * V) / C; };
    double V = EL;
    for (int k = 0; k < 40000; ++k) {
        const double h = 1e-3, k1 = f(V), k2 = f(V + 0.5 * h * k1), k3 = f(V + 0.5 * h * k2),
                     k4 = f(V + h * k3);
        V += h / 6 * (k1 + 2 * k2 + 2 * k3 + k4);
    }
    double error[2];
    int i = 0;
    for (double dt : {0.1, 0.01}) {
        Cell cell(dt, nmda(1e8, 1e9));
        cell.group->state("g_NMDA_nS")[0] = float(G);
        for (int n = 0; n < int(std::lround(40.0 / dt)); ++n)
            cell.step(n, dt);
        error[i++] = std::fabs(cell.group->state("V_m_mV")[0] - V);
    }
    INFO("reference V(40 ms) = " << V << " mV");
    CHECK(V > -66.0); // the block is partial at rest: G = 60 nS moves V by several mV
    CHECK(error[0] < 0.05);
    CHECK(error[1] < 0.2 * error[0] + 1e-3);
}

TEST_CASE("NMDA receptor keys in configs: subunit presets and refusals", "[nmda][config]") {
    const std::string base = R"(
[simulation]
duration_ms = 1.0
[[populations]]
name = "PV"
size = 2
model = "MODEL"
receptors.NMDA = { tau_ms = 100.0, E_rev_mV = 0.0, shape = "nmda", subunit = "SUBUNIT" }
)";
    auto config = [&](const std::string& model, const std::string& subunit) {
        std::string s = base;
        s.replace(s.find("MODEL"), 5, model);
        s.replace(s.find("SUBUNIT"), 7, subunit);
        if (model == "lif_curr_exp") s.replace(s.find(", E_rev_mV = 0.0"), 16, "");
        return s;
    };
    const Experiment a = load_experiment_from_string(config("lif_cond", "GluN2A/2B"), "a.toml");
    CHECK(a.populations[0].receptors[0].K_Mg0_mM == 3.57);
    CHECK(a.populations[0].receptors[0].tau_rise_ms == 2.0);
    // GluN2C/2D: K0 = 4 x 3.57 mM (fit to the 2C/2D Mg2+ shifts of memantine IC50s, docs/pharmacology.md),
    // so B(-60 mV, 1 mM) = 1 / (1 + 1 / (14.28 e^{-3.72})) = 0.257.
    const Experiment c = load_experiment_from_string(config("lif_cond", "GluN2C/2D"), "c.toml");
    const auto& r = c.populations[0].receptors[0];
    CHECK(MgBlock{r.Mg_mM, r.K_Mg0_mM, r.Mg_slope_per_mV}.unblocked(-60.0) == Approx(0.257).margin(0.001));
    CHECK_THROWS_WITH(load_experiment_from_string(config("lif_curr_exp", "GluN2A/2B"), "b.toml"),
                      Catch::Contains("receptors.NMDA.shape") && Catch::Contains("current-based"));
    CHECK_THROWS_WITH(load_experiment_from_string(config("lif_cond", "GluN2E"), "d.toml"),
                      Catch::Contains("subunit") && Catch::Contains("GluN2C/2D"));
}

TEST_CASE("configs/nmda_synapse.toml: removing Mg2+ unmasks the NMDA current", "[nmda][integration]") {
    // The same input depolarises the cell far more without Mg2+ (B = 1 instead of ~0.05 at rest).
    auto peak = [](const std::string& mg) {
        test::TempDir dir("nmda");
        const Experiment exp = load_experiment(test::source_path("configs/nmda_synapse.toml"),
                                               {{"populations.cell.receptors.NMDA.Mg_mM", mg}});
        run_experiment(exp, {dir.path(), 1, false});
        h5::File f = h5::File::open_read(dir.file("report_V_m_mV.h5"));
        const auto data = f.open_group("report").open_group("cell").read_doubles("data");
        return *std::max_element(data.begin(), data.end());
    };
    const double with_mg = peak("1.0"), without_mg = peak("0.0");
    CHECK(with_mg < -55.0);
    CHECK(without_mg > with_mg + 5.0);
}

TEST_CASE("drugs in the bath block NMDA receptors exactly as the equilibrium formula", "[nmda]") {
    // The neurons' receptor code (ExpReceptors::sum_conductances, used by every conductance model)
    // against the pure function of docs/science.md §3.3, over voltages: float rounding only (1e-5 relative).
    ReceptorSpec r = nmda(2.0, 100.0);
    r.block = ReceptorSpec::Block::equilibrium;
    const ChannelBlocker ketamine = find_drug("ketamine").block, memantine = find_drug("memantine").block;
    r.blockers = {ketamine, memantine};
    r.blocker_conc_uM = {1.0, 3.0};
    const std::uint32_t n = 61;
    ExpReceptors receptors({r}, n, 0.1, ReceptorKind::conductance);
    std::vector<float> V(n), g_sum(n), gE_sum(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        V[i] = -100.0f + 2.5f * float(i);
        receptors.g(0)[i] = 10.0f;
    }
    receptors.sum_conductances(0, n, V.data(), g_sum.data(), gE_sum.data());
    const MgBlock mg;
    for (std::uint32_t i = 0; i < n; ++i) {
        const double expected = 10.0 * nmda_unblocked_fraction(mg, {ketamine, memantine}, {1.0, 3.0}, V[i]);
        INFO("V = " << V[i]);
        CHECK(g_sum[i] == Approx(expected).epsilon(1e-5));
    }
}

TEST_CASE("[[drugs]] in configs: presets, custom agents and refusals", "[nmda][config]") {
    const std::string pop = R"(
[[populations]]
name = "cell"
size = 1
model = "lif_cond"
receptors.NMDA = { tau_ms = 100.0, E_rev_mV = 0.0, shape = "nmda" }
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }
)";
    auto load = [&](const std::string& drugs) {
        return load_experiment_from_string("[simulation]\nduration_ms = 1.0\n" + drugs + pop, "drugs.toml");
    };
    const Experiment e = load("[[drugs]]\nagent = \"ketamine\"\nbath_uM = 1.0\n");
    const auto& receptors = e.populations[0].receptors;
    const auto& nmda_receptor = receptors[0].shape == ReceptorShape::nmda ? receptors[0] : receptors[1];
    const auto& ampa_receptor = receptors[0].shape == ReceptorShape::nmda ? receptors[1] : receptors[0];
    REQUIRE(nmda_receptor.blockers.size() == 1);
    CHECK(nmda_receptor.blockers[0].K_d_uM_at_minus70 == 0.71); // Gilling et al. 2009
    CHECK(nmda_receptor.blocker_conc_uM[0] == 1.0);
    CHECK(ampa_receptor.blockers.empty()); // AMPA receptors are not blocked
    const Experiment c =
        load("[[drugs]]\nagent = \"custom\"\nbath_uM = 2.0\nK_d_uM = 5.0\nhill = 1.0\ndelta = 0.5\n"
             "k_on_per_uM_per_s = 0.1\nk_off_per_s = 0.5\n");
    CHECK(c.drugs[0].block.K_d_uM_at_minus70 == 5.0);
    CHECK(c.drugs[0].block.k_off_per_s == 0.5);
    CHECK_THROWS_WITH(
        load("[[drugs]]\nagent = \"custom\"\nbath_uM = 2.0\nK_d_uM = 5.0\nhill = 1.0\ndelta = 0.5\n"),
        Catch::Contains("drugs[0].k_on_per_uM_per_s") && Catch::Contains("custom"));
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"ketamine\"\nbath_uM = 1.0\np_escape = 1.0\n"),
                      Catch::Contains("drugs[0].p_escape"));
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"ketamine\"\nbath_uM = [0.1, 1.0]\nbath_step_ms = 1500\n"),
                      Catch::Contains("drugs[0].bath_step_ms") && Catch::Contains("multiple"));
    const Experiment steps =
        load("[[drugs]]\nagent = \"ketamine\"\nbath_uM = [0, 0.1, 1]\nbath_step_ms = 2000\n");
    CHECK(steps.drugs[0].bath_at(0.0) == 0.0);
    CHECK(steps.drugs[0].bath_at(2000.0) == 0.1);
    CHECK(steps.drugs[0].bath_at(1e9) == 1.0);
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"ketamin\"\nbath_uM = 1.0\n"),
                      Catch::Contains("drugs[0].agent") && Catch::Contains("ketamine") &&
                          Catch::Contains("custom"));
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"ketamine\"\nbath_uM = -1.0\n"),
                      Catch::Contains("drugs[0].bath_uM") && Catch::Contains("-1"));
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"custom\"\nbath_uM = 1.0\n"),
                      Catch::Contains("drugs[0].K_d_uM") && Catch::Contains("custom"));
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"ketamine\"\n"), Catch::Contains("drugs[0].bath_uM"));
}

TEST_CASE("a PK dose schedule drives the drug concentration at the receptors on a slow clock", "[nmda][pk]") {
    // 0.5 mg/kg over 2 min, 3 min simulated, 1-s clock: the recorded plasma and free effect-site
    // concentrations equal an independent PkModel stepped over the same 1-s grid (same equations,
    // exact steps: float-free double arithmetic, 1e-9 relative).
    test::TempDir dir("pk_run");
    const std::string config = R"(
[simulation]
dt_ms = 0.1
duration_ms = 180000.0
[[drugs]]
agent = "ketamine"
pk = { model = "domino", weight_kg = 70.0, infusions = ["0.5@0+2"], step_ms = 1000.0 }
[[populations]]
name = "cell"
size = 2
model = "lif_cond"
receptors.NMDA = { tau_ms = 100.0, E_rev_mV = 0.0, shape = "nmda" }
[recording]
spikes = false
rate_bin_ms = 1000.0
)";
    const Experiment exp = load_experiment_from_string(config, "pk.toml");
    run_experiment(exp, {dir.path(), 2, false});
    h5::File f = h5::File::open_read(dir.file("timeseries.h5"));
    h5::Object g = f.open_group("drugs").open_group("0_ketamine");
    const auto t = g.read_doubles("time_ms"), plasma = g.read_doubles("plasma_ng_per_mL"),
               free = g.read_doubles("free_uM");
    REQUIRE(t.size() == 180);
    PkModel reference(pk_parameters("domino", 70.0));
    const std::vector<DoseSpec> doses = exp.drugs[0].pk->doses;
    for (std::size_t k = 0; k < t.size(); ++k) {
        CHECK(t[k] == Approx(1000.0 * double(k)));
        if (k > 0) reference.advance_schedule(double(k - 1) / 60.0, 1.0 / 60.0, doses, 70.0);
        INFO("tick " << k);
        CHECK(plasma[k] == Approx(reference.plasma_mg_per_L() * 1000.0).epsilon(1e-9));
        CHECK(free[k] == Approx(0.6 * reference.effect_site_mg_per_L() * 1000.0 / 237.7).epsilon(1e-9));
    }
    CHECK(free[120] > free[10]);    // rising during the infusion
    CHECK(free[179] < plasma[179]); // sanity: uM vs ng/mL scale
}

TEST_CASE("[[drugs]] pk keys are validated", "[nmda][config]") {
    const std::string pop = R"(
[[populations]]
name = "cell"
size = 1
model = "lif_cond"
receptors.NMDA = { tau_ms = 100.0, E_rev_mV = 0.0, shape = "nmda" }
)";
    auto load = [&](const std::string& drugs) {
        return load_experiment_from_string("[simulation]\nduration_ms = 1.0\n" + drugs + pop, "pk.toml");
    };
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"ketamine\"\nbath_uM = 1.0\npk = { weight_kg = 70.0, "
                           "infusions = [\"0.5@0+40\"] }\n"),
                      Catch::Contains("either bath_uM") && Catch::Contains("or pk"));
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"ketamine\"\npk = { weight_kg = 70.0 }\n"),
                      Catch::Contains("drugs[0].pk.infusions") && Catch::Contains("missing"));
    CHECK_THROWS_WITH(load("[[drugs]]\nagent = \"ketamine\"\npk = { infusions = [\"0.5@0+40\"] }\n"),
                      Catch::Contains("drugs[0].pk.weight_kg"));
    CHECK_THROWS_WITH(
        load("[[drugs]]\nagent = \"ketamine\"\npk = { weight_kg = 70.0, infusions = [\"-0.5@0+40\"] }\n"),
        Catch::Contains("drugs[0].pk.infusions") && Catch::Contains("negative"));
    CHECK_THROWS_WITH(
        load("[[drugs]]\nagent = \"memantine\"\npk = { weight_kg = 70.0, infusions = [\"0.5@0+40\"] }\n"),
        Catch::Contains("memantine") && Catch::Contains("bath_uM"));
}

TEST_CASE("configs/pk_infusion.toml gives the Domino plasma level at the end of the infusion (T15)",
          "[pk][integration]") {
    // docs/science.md T15: 0.5 mg/kg over 40 min, Domino model: Cp(40 min) = 240 ng/mL = 1.01 uM, +- 1 %.
    test::TempDir dir("pk_infusion");
    const Experiment exp = load_experiment(test::source_path("configs/pk_infusion.toml"));
    run_experiment(exp, {dir.path(), 1, false});
    h5::File f = h5::File::open_read(dir.file("timeseries.h5"));
    h5::Object g = f.open_group("drugs").open_group("0_ketamine");
    const auto t = g.read_doubles("time_ms"), plasma = g.read_doubles("plasma_ng_per_mL");
    REQUIRE(t.size() == 3600);
    CHECK(t[2400] == Approx(40.0 * 60000.0));
    CHECK(plasma[2400] == Approx(240.0).epsilon(0.01));
    CHECK(plasma[2400] / 237.7 == Approx(1.01).epsilon(0.01));
    const std::string summary = test::read_file(dir.file("summary.json"));
    CHECK_THAT(summary, Catch::Contains("\"drugs\""));
    // Per-pool readout at the end of the infusion: the cells rest at -70 mV, so the conducting fraction is
    // the equilibrium formula at the recorded free concentration (float coefficients: 1e-5 relative).
    const double free = g.read_doubles("free_uM")[2400];
    const ChannelBlocker ketamine = find_drug("ketamine").block;
    // The norketamine formed from it (science.md §4.4) blocks too, with its own potency and concentration.
    const double free_nk = f.open_group("drugs").open_group("0_norketamine").read_doubles("free_uM")[2400];
    const ChannelBlocker norketamine = find_drug("norketamine").block;
    REQUIRE(free_nk > 0.05);
    h5::Object nmda = f.open_group("nmda");
    const double pyr =
        nmda.open_group("pyramidal").open_group("NMDA").read_doubles("conducting_fraction")[2400];
    const double inh =
        nmda.open_group("interneuron").open_group("NMDA").read_doubles("conducting_fraction")[2400];
    CHECK(pyr ==
          Approx(nmda_unblocked_fraction(MgBlock{1.0, 3.57}, {ketamine, norketamine}, {free, free_nk}, -70.0))
              .epsilon(1e-5));
    CHECK(inh == Approx(nmda_unblocked_fraction(MgBlock{1.0, 4 * 3.57}, {ketamine, norketamine},
                                                {free, free_nk}, -70.0))
                     .epsilon(1e-5));
    // Weakly Mg-blocked GluN2C/2D pools lose more of their current to ketamine (docs/science.md §3.4-3.5).
    const double pyr0 =
        nmda.open_group("pyramidal").open_group("NMDA").read_doubles("conducting_fraction")[0];
    const double inh0 =
        nmda.open_group("interneuron").open_group("NMDA").read_doubles("conducting_fraction")[0];
    CHECK(1.0 - inh / inh0 > 2.0 * (1.0 - pyr / pyr0));
}
