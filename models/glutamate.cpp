#include "models/glutamate.hpp"

#include <algorithm>
#include <cmath>

namespace ketaplast {

void GlutamatePool::advance(double interval_ms, double release) {
    last_release_ = release;
    const double input = spec_.uM_per_vesicle * release; // uM per ms
    if (spec_.clearance == GlutamatePoolSpec::Clearance::linear) {
        // Exact for a constant input: G -> G0 + input tau + (G - G0 - input tau) e^{-t/tau}.
        const double tau = spec_.tau_clear_ms, target = spec_.basal_uM + input * tau;
        level_uM_ = target + (level_uM_ - target) * std::exp(-interval_ms / tau);
    } else {
        // Michaelis–Menten: classical RK4 on substeps of at most 0.05 ms (the fastest relaxation,
        // K_m / V_max, is >= ~1 ms for transporter parameters, so the error is < 1e-8 relative).
        const int n = std::max(1, int(std::ceil(interval_ms / 0.05)));
        const double h = interval_ms / n;
        auto rate = [&](double G) {
            const double excess = std::max(0.0, G - spec_.basal_uM);
            return input - spec_.V_max_uM_per_ms * excess / (spec_.K_m_uM + excess);
        };
        for (int k = 0; k < n; ++k) {
            const double k1 = rate(level_uM_), k2 = rate(level_uM_ + 0.5 * h * k1),
                         k3 = rate(level_uM_ + 0.5 * h * k2), k4 = rate(level_uM_ + h * k3);
            level_uM_ += h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4);
        }
    }
    // The dialysate proxy starts at the first interval's release (a probe inserted into tissue at rest),
    // then low-passes it.
    if (started_ == 0) dialysate_ = release, started_ = 1;
    dialysate_ = release + (dialysate_ - release) * std::exp(-interval_ms / spec_.tau_dialysate_ms);
    release_sum_ += release * interval_ms;
    release_time_ms_ += interval_ms;
}

double GlutamatePool::bound_fraction(double G, double EC50, double hill) {
    if (G <= 0) return 0.0;
    const double r = std::pow(G / EC50, hill);
    return r / (1.0 + r);
}

} // namespace ketaplast
