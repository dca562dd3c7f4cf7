// The extracellular glutamate pool (models/glutamate.hpp, docs/science.md §5.3) against its equations.
#include "models/glutamate.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace ketaplast;

namespace {

// Independent reference: forward Euler with a 1e-4 ms step (error O(h / tau) ~ 1e-5 relative).
double euler_level(const GlutamatePoolSpec& s, double G, double release, double t_ms) {
    const double h = 1e-4;
    for (long k = 0; k < std::lround(t_ms / h); ++k) {
        const double excess = G - s.basal_uM;
        const double clear =
            s.clearance == GlutamatePoolSpec::Clearance::linear
                ? excess / s.tau_clear_ms
                : s.V_max_uM_per_ms * std::max(0.0, excess) / (s.K_m_uM + std::max(0.0, excess));
        G += h * (s.uM_per_vesicle * release - clear);
    }
    return G;
}

} // namespace

TEST_CASE("ambient glutamate rests at its basal level, within the measured range (T21)", "[glutamate]") {
    GlutamatePoolSpec spec;
    GlutamatePool pool(spec);
    pool.advance(1000.0, 0.0);
    // T21: ambient 25-90 nM (Herman & Jahr 2007; Cavelier & Attwell 2005); default basal 50 nM.
    CHECK(pool.level_uM() == Approx(0.05).margin(1e-12));
    CHECK(pool.level_uM() >= 0.025);
    CHECK(pool.level_uM() <= 0.09);
}

TEST_CASE("linear clearance is integrated exactly, saturable clearance agrees with a fine Euler step",
          "[glutamate]") {
    GlutamatePoolSpec linear;
    linear.uM_per_vesicle = 1e-3;
    GlutamatePool a(linear);
    // 20 intervals of 1.5 ms at 2 vesicles/ms/neuron, then 20 without release.
    for (int k = 0; k < 20; ++k)
        a.advance(1.5, 2.0);
    // Steady state G0 + e J tau = 0.05 + 1e-3 2 10 = 0.07 uM; after 30 ms (3 tau) 95 % of the way:
    const double expected = 0.05 + 0.02 * (1.0 - std::exp(-3.0));
    CHECK(a.level_uM() == Approx(expected).epsilon(1e-12)); // exact propagator: rounding only
    CHECK(a.level_uM() == Approx(euler_level(linear, 0.05, 2.0, 30.0)).epsilon(1e-4));
    for (int k = 0; k < 20; ++k)
        a.advance(1.5, 0.0);
    CHECK(a.level_uM() == Approx(0.05 + (expected - 0.05) * std::exp(-3.0)).epsilon(1e-12));

    GlutamatePoolSpec saturable;
    saturable.clearance = GlutamatePoolSpec::Clearance::saturable;
    saturable.uM_per_vesicle = 1e-2;
    saturable.V_max_uM_per_ms = 0.05;
    saturable.K_m_uM = 0.5;
    GlutamatePool b(saturable);
    b.advance(40.0, 3.0);
    // RK4 on 0.05-ms substeps against Euler at 1e-4 ms: Euler's O(h) error dominates (1e-4 relative).
    CHECK(b.level_uM() == Approx(euler_level(saturable, 0.05, 3.0, 40.0)).epsilon(1e-4));
    // Steady state: input = V_max x / (K_m + x) -> x = K_m input / (V_max - input) = 0.5 0.03 / 0.02 = 0.75.
    b.advance(2000.0, 3.0);
    CHECK(b.level_uM() == Approx(0.05 + 0.75).epsilon(1e-6));
}

TEST_CASE("the dialysate proxy low-passes release with its time constant", "[glutamate]") {
    GlutamatePoolSpec spec; // tau_dialysate 2 min (docs/science.md §5.3)
    GlutamatePool pool(spec);
    pool.advance(1.0, 0.0); // the probe starts at the first interval's release (here none)
    CHECK(pool.dialysate_release() == 0.0);
    pool.advance(120000.0, 1.0); // one time constant of constant release
    CHECK(pool.dialysate_release() == Approx(1.0 - std::exp(-1.0)).epsilon(1e-12));
    // The readout's mean release since the last reading: (1 ms x 0 + 120 s x 1) / 120.001 s.
    CHECK(pool.take_mean_release() == Approx(120000.0 / 120001.0).epsilon(1e-12));
    pool.advance(2.0, 3.0);
    CHECK(pool.take_mean_release() == Approx(3.0).epsilon(1e-12));
    CHECK(GlutamatePool::bound_fraction(2.0, 2.0, 1.0) == Approx(0.5));
    CHECK(GlutamatePool::bound_fraction(0.05, 2.0, 1.0) == Approx(0.05 / 2.05));
}
