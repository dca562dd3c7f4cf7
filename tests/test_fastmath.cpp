#include "core/fastmath.hpp"

#include <catch2/catch.hpp>

#include <cmath>

using namespace ketaplast;

TEST_CASE("exp_approx matches std::exp to float precision", "[fastmath]") {
    // Over the range the membrane and AdEx updates use (exponents -87..88), the relative error must
    // stay within a few float ulps (2e-7 ~ 1.7 ulp), the accuracy of the Cephes expf it follows.
    double worst = 0;
    for (double x = -87.0; x <= 88.0; x += 0.001) {
        const double exact = std::exp(double(float(x)));
        const double rel = std::fabs(double(exp_approx(float(x))) - exact) / exact;
        worst = std::max(worst, rel);
    }
    CHECK(worst < 2.5e-7);
    CHECK(exp_approx(0.0f) == 1.0f);
}

TEST_CASE("exp_approx clamps instead of overflowing", "[fastmath]") {
    CHECK(std::isfinite(exp_approx(1000.0f)));
    CHECK(exp_approx(-1000.0f) >= 0.0f);
    CHECK(exp_approx(-1000.0f) < 1e-37f);
}
