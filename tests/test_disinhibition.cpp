// The disinhibition experiment (issue 4; docs/science.md §5.4, T29-T31) on the circuit of
// configs/dose_response.toml, and the analyses it relies on (gamma power, the ISN probe).
#include "sim/analysis/network_analysis.hpp"
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/io/hdf5_file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <sstream>

using namespace ketaplast;

namespace {

// Mean of a 1-ms-binned rate over the last 10 s of the k-th 20-s bath step (the kinetic block of the PV
// cells' GluN2C/2D pool settles in ~10 s at 1 uM in 1 mM Mg2+).
double step_mean_Hz(const std::vector<double>& rate, std::size_t k) {
    const auto first = rate.begin() + std::ptrdiff_t(k * 20000 + 10000);
    return std::accumulate(first, first + 10000, 0.0) / 10000.0;
}

} // namespace

TEST_CASE("gamma power of a population rate: a 40 Hz sinusoid against its analytic power", "[analysis]") {
    // r(t) = 10 + 4 sin(2 pi 40 t) Hz in 1-ms bins: the band power (30-80 Hz) of a sinusoid of amplitude A
    // is A^2 / 2 = 8 Hz^2 times the Hann window's power loss, sum(w^2)/n = 3/8, and all of the 1-100 Hz
    // power lies in the band. 2 %: spectral leakage of the Hann window outside 30-80 Hz is < 1e-3.
    std::vector<double> rate(4000);
    const double pi = std::acos(-1.0);
    for (std::size_t k = 0; k < rate.size(); ++k)
        rate[k] = 10.0 + 4.0 * std::sin(2.0 * pi * 40.0 * double(k) * 1e-3);
    const auto w = gamma_power(rate, 1.0, 2000.0);
    REQUIRE(w.size() == 2);
    CHECK(w[0].power_Hz2 == Approx(8.0 * 3.0 / 8.0).epsilon(0.02));
    CHECK(w[0].relative == Approx(1.0).epsilon(0.01));
    CHECK(w[1].start_ms == 2000.0);
    // A 10 Hz rhythm is outside the band.
    for (std::size_t k = 0; k < rate.size(); ++k)
        rate[k] = 10.0 + 4.0 * std::sin(2.0 * pi * 10.0 * double(k) * 1e-3);
    CHECK(gamma_power(rate, 1.0, 2000.0)[0].relative < 0.01);
    CHECK(gamma_power(rate, 10.0, 2000.0).empty()); // 10-ms bins cannot resolve 80 Hz
}

TEST_CASE("the ISN probe reads a paradoxical response from the rates", "[analysis]") {
    std::vector<double> rate(300, 20.0);
    for (std::size_t k = 100; k < 200; ++k)
        rate[k] = 15.0; // the probed interneurons fire less while depolarised: paradoxical
    const IsnResult isn = isn_probe(rate, 1.0, 100.0, 100.0, 30.0);
    CHECK(isn.rate_before_Hz == 20.0);
    CHECK(isn.rate_during_Hz == 15.0);
    CHECK(isn.paradoxical);
    CHECK_FALSE(isn_probe(rate, 1.0, 100.0, 100.0, -30.0).paradoxical);
}

TEST_CASE("ketamine in the disinhibition circuit: PV down, pyramidal up, glutamate up then down, gamma up "
          "(T29-T31)",
          "[disinhibition][integration]") {
    // configs/dose_response.toml with three 20-s bath steps: 0, 1 uM (sub-anaesthetic) and 300 uM
    // (beyond anaesthetic). Means over the last 10 s of each step (the kinetic block of the PV cells'
    // GluN2C/2D pool settles in ~10 s at 1 uM in 1 mM Mg2+).
    test::TempDir dir("disinhibition");
    const Experiment exp = load_experiment(test::source_path("configs/dose_response.toml"),
                                           {parse_override("drugs.0.bath_uM=[0.0, 1.0, 300.0]"),
                                            parse_override("simulation.duration_ms=60000")});
    run_experiment(exp, {dir.path(), 2, false});
    h5::File f = h5::File::open_read(dir.file("timeseries.h5"));
    h5::Object rates = f.open_group("population_rate_Hz");
    const auto E = rates.read_doubles("pyramidal"), I = rates.read_doubles("PV");
    const double E0 = step_mean_Hz(E, 0), E1 = step_mean_Hz(E, 1), I0 = step_mean_Hz(I, 0),
                 I1 = step_mean_Hz(I, 1);
    INFO("pyramidal " << E0 << " -> " << E1 << " Hz, PV " << I0 << " -> " << I1 << " Hz");
    // T29 (Homayoun & Moghaddam 2007): interneurons down >= 30 %, pyramidal cells up >= 50 %, magnitudes
    // +-50 %: accepted E +25..+75 %, I -15..-45 %. (Measured: +34 %, -27 %.)
    CHECK(E1 / E0 - 1.0 > 0.25);
    CHECK(E1 / E0 - 1.0 < 0.75);
    CHECK(I1 / I0 - 1.0 < -0.15);
    CHECK(I1 / I0 - 1.0 > -0.45);
    // Order (T29: the interneuron fall first, the pyramidal rise after a delay): not in this default regime,
    // where both reach half of their change in the same second after a step; it appears in the low-rate
    // regime with depressing inhibition (the next test; docs/experiments.md). T30 (Moghaddam et al. 1997):
    // release (pyramidal spikes x release probability, per neuron) rises at sub-anaesthetic block and falls
    // back to <= baseline at high block: an inverted U.
    h5::Object glu = f.open_group("glutamate").open_group("column");
    const auto t = glu.read_doubles("time_ms"), release = glu.read_doubles("release_per_ms_per_neuron");
    auto release_step = [&](int k) {
        double s = 0;
        int n = 0;
        for (std::size_t j = 0; j < t.size(); ++j)
            if (t[j] >= k * 20000 + 10000 && t[j] < (k + 1) * 20000) s += release[j], ++n;
        return s / n;
    };
    INFO("release " << release_step(0) << " -> " << release_step(1) << " -> " << release_step(2));
    CHECK(release_step(1) > 1.2 * release_step(0));
    CHECK(release_step(2) <= release_step(0));
    // T31: gamma (30-80 Hz) power of the pyramidal population rate rises with sub-anaesthetic block.
    h5::Object gamma = f.open_group("gamma").open_group("pyramidal");
    const auto gt = gamma.read_doubles("time_ms"), gp = gamma.read_doubles("power_30_80_Hz2");
    double g0 = 0, g1 = 0;
    for (std::size_t j = 0; j < gt.size(); ++j) {
        if (gt[j] >= 10000 && gt[j] < 20000) g0 += gp[j];
        if (gt[j] >= 30000 && gt[j] < 40000) g1 += gp[j];
    }
    INFO("gamma " << g0 << " -> " << g1);
    CHECK(g1 > g0);
}

// T29's order (docs/experiments.md, "The regime where the order appears"): the dose_response circuit with
// pyramidal cells at ~1 Hz (the fluctuation-driven regime of many cortical pyramidal cells in vivo) and
// depressing basket-cell synapses (Gupta et al. 2000, class F2: U 0.25, tau_rec 706 ms, tau_F 21 ms; weights
// x33 so that the depressed synapses inhibit about as much as the static ones did). Both make the pyramidal
// rise convex in the PV fall: at every concentration the pyramidal cells have made less of their change than
// the PV cells, so under a slowly rising concentration (minutes; docs/experiments.md has the ramps) they
// reach each fraction of it later. Measured here on the concentration-response: 20-s bath steps, means over
// the last 10 s of each (the schedule of docs/experiments.md's regime table). [long]: Release pass only (~1.5
// min); the same circuit runs under the sanitizers in the test above.
TEST_CASE("T29 order: in the low-rate regime with depressing inhibition the pyramidal rise trails the PV "
          "fall at every concentration",
          "[disinhibition][integration][long]") {
    const std::vector<double> bath_uM{0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0};
    std::ostringstream bath;
    for (std::size_t k = 0; k < bath_uM.size(); ++k)
        bath << (k > 0 ? "," : "[") << bath_uM[k];
    bath << ']';
    test::TempDir dir("disinhibition_order");
    const Experiment exp =
        load_experiment(test::source_path("configs/dose_response.toml"),
                        {parse_override("drugs.0.bath_uM=" + bath.str()),
                         parse_override("simulation.duration_ms=" + std::to_string(20000 * bath_uM.size())),
                         parse_override("populations.0.poisson_drive.weight_nS=0.85"),
                         parse_override("populations.2.poisson_drive.weight_nS=0.10"),
                         parse_override("projections.5.stp={U=0.25,tau_rec_ms=706.0,tau_fac_ms=21.0}"),
                         parse_override("projections.5.weight_nS.mean_log=4.2")});
    run_experiment(exp, {dir.path(), 2, false});
    h5::File f = h5::File::open_read(dir.file("timeseries.h5"));
    h5::Object rates = f.open_group("population_rate_Hz");
    const auto E = rates.read_doubles("pyramidal"), I = rates.read_doubles("PV"); // 1-ms bins
    std::vector<double> dE, dI; // relative change at each concentration
    for (std::size_t k = 0; k < bath_uM.size(); ++k) {
        dE.push_back(step_mean_Hz(E, k) / step_mean_Hz(E, 0) - 1.0);
        dI.push_back(step_mean_Hz(I, k) / step_mean_Hz(I, 0) - 1.0);
        INFO(bath_uM[k] << " uM: pyramidal " << step_mean_Hz(E, k) << " Hz, PV " << step_mean_Hz(I, k)
                        << " Hz");
        CHECK(std::isfinite(dE.back()));
    }
    // T29 magnitudes (E >= +50 %, I <= -30 %, +-50 %: E +25..+75 %, I -15..-45 %) at 0.3 uM (index 3).
    // Seeds 1-4 gave E +42..+58 %, I -29..-32 % (baseline 1.0 / 23.3 Hz).
    INFO("at 0.3 uM: pyramidal " << 100 * dE[3] << " %, PV " << 100 * dI[3] << " %");
    CHECK(dE[3] > 0.25);
    CHECK(dE[3] < 0.75);
    CHECK(dI[3] < -0.15);
    CHECK(dI[3] > -0.45);
    // Order: each change as a fraction of its change at 1 uM; the PV fraction leads at 0.2, 0.3, 0.5 uM.
    // Seeds 1-4: lead 0.13-0.24 at 0.2 uM, 0.22-0.27 at 0.3 uM, 0.23-0.27 at 0.5 uM; the default circuit
    // (seeds 1-5): 0.04 / 0.04 / -0.01. The fractions of one seed scatter by about +-0.05 between seeds, so
    // 0.1 is clear of both.
    for (std::size_t k : {2, 3, 4}) {
        const double lead = dI[k] / dI.back() - dE[k] / dE.back();
        INFO(bath_uM[k] << " uM: PV fraction " << dI[k] / dI.back() << ", pyramidal fraction "
                        << dE[k] / dE.back());
        CHECK(lead > 0.1);
    }
}
