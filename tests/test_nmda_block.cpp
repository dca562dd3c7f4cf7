// Mg2+ and open-channel block at equilibrium against docs/science.md §2.3 and §8 (T1, T2, T3, T9).
#include "models/drugs.hpp"
#include "models/nmda_block.hpp"

#include <catch2/catch.hpp>

using namespace ketaplast;

TEST_CASE("Jahr-Stevens Mg block at 1 mM (T1, T2)", "[nmda]") {
    const MgBlock mg; // 1 mM, K0 3.57 mM, 0.062 / mV
    // T1: B(-60 mV) = 0.0796 +- 0.0005.
    CHECK(mg.unblocked(-60.0) == Approx(0.0796).margin(0.0005));
    // T2: B(-80/-40/-20/0 mV) = 0.0244 / 0.230 / 0.508 / 0.781, +- 0.5 % relative.
    CHECK(mg.unblocked(-80.0) == Approx(0.0244).epsilon(0.005));
    CHECK(mg.unblocked(-40.0) == Approx(0.230).epsilon(0.005));
    CHECK(mg.unblocked(-20.0) == Approx(0.508).epsilon(0.005));
    CHECK(mg.unblocked(0.0) == Approx(0.781).epsilon(0.005));
    // docs/science.md §2.3 table at 1.2 mM: B(-70) = 0.0373, B(+20) = 0.911 (table rounding: 0.5 %).
    const MgBlock mg12{1.2};
    CHECK(mg12.unblocked(-70.0) == Approx(0.0373).epsilon(0.005));
    CHECK(mg12.unblocked(20.0) == Approx(0.911).epsilon(0.005));
}

TEST_CASE("Mg shifts a competitive blocker's IC50 x17.8 at -66 mV, 1 mM (T3)", "[nmda]") {
    // IC50_app = K_D (1 + [Mg]/K_Mg(V)): find the concentration that halves the Mg-free current fraction
    // by bisection, through the same function a run uses, and compare with K_D(-66).
    const MgBlock mg;
    const ChannelBlocker ketamine = find_drug("ketamine").block; // the drug table's equilibrium constants
    const double V = -66.0;
    const double without = nmda_unblocked_fraction(mg, {}, {}, V);
    double lo = 1e-3, hi = 1e3;
    for (int i = 0; i < 200; ++i) {
        const double mid = std::sqrt(lo * hi);
        (nmda_unblocked_fraction(mg, {ketamine}, {mid}, V) > 0.5 * without ? lo : hi) = mid;
    }
    CHECK(lo / ketamine.K_d_uM(V) == Approx(17.8).epsilon(0.02)); // T3 tolerance +- 2 %
}

TEST_CASE("1 uM ketamine blocks 57 % of channels at -70 mV without Mg (T9)", "[nmda]") {
    // Gilling 2009: IC50 0.71 uM at -70 mV in 0 Mg. The target 0.57 uses their fitted nH 0.84; the drug
    // table's n = 1 (models/drugs.hpp: it keeps T3's Mg shift exact) gives 1 / (1 + 0.71) = 0.585.
    const MgBlock no_mg{0.0};
    const ChannelBlocker ketamine = find_drug("ketamine").block;
    const double blocked = 1.0 - nmda_unblocked_fraction(no_mg, {ketamine}, {1.0}, -70.0);
    CHECK(blocked == Approx(1.0 / 1.71).epsilon(1e-12));
    CHECK(blocked == Approx(0.57).margin(0.05)); // T9 tolerance +- 0.05
    // The same concentration blocks less when depolarised: e-fold of K_d per V_T / delta = 32 mV.
    const double blocked_depolarised = 1.0 - nmda_unblocked_fraction(no_mg, {ketamine}, {1.0}, -38.0);
    CHECK(blocked_depolarised < blocked);
    CHECK(ketamine.K_d_uM(-70.0 + 25.4 / 0.79) == Approx(0.71 * std::exp(1.0)).epsilon(1e-12));

    // T9 in 1 mM Mg at -66 mV (+-0.10; [D] from [V]/[M]): inhibition of the current by 1 uM. 2A/2B (Jahr-
    // Stevens K0 3.57 mM): 0.16 expected; x = 1/K_d(-66) = 1.244 against 1 + Mg/K_Mg = 17.8 gives
    // x / (17.8 + x) = 0.065. The GluN2C/2D pool (K0 4 x 3.57 mM, docs/pharmacology.md): 0.193, inside 2D's
    // 0.25 +- 0.10; 2C's 0.46 would need a Mg shift of ~1.6x against the 6.3-6.7x of the oocyte data that
    // set K0 there, so it is not met (docs/pharmacology.md, "Which numbers win").
    auto inhibition_in_mg = [&](double K0_mM) {
        const MgBlock mg{1.0, K0_mM};
        return 1.0 - nmda_unblocked_fraction(mg, {ketamine}, {1.0}, -66.0) /
                         nmda_unblocked_fraction(mg, {}, {}, -66.0);
    };
    // 0.065 is inside 0.16 +- 0.10 by only 0.005: this T9 row is at the edge of its band, effectively
    // missed (the equilibrium form underestimates block in Mg; docs/pharmacology.md "Which numbers win").
    CHECK(inhibition_in_mg(3.57) == Approx(0.16).margin(0.10));
    CHECK(inhibition_in_mg(3.57) == Approx(0.065).margin(0.001));
    CHECK(inhibition_in_mg(4.0 * 3.57) == Approx(0.25).margin(0.10));
}
