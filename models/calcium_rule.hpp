// The calcium-based plasticity rule of Graupner & Brunel (2012, PNAS 109:3991), docs/science.md §6.3,
// docs/plasticity.md.
//
//   dc/dt = -c / tau_Ca + C_pre sum_pre delta(t - t_pre - D) + C_post sum_post delta(t - t_post)
//   tau drho/dt = -rho (1 - rho)(rho* - rho) + gamma_p (1 - rho) Theta(c - theta_p)
//                 - gamma_d rho Theta(c - theta_d) + sigma sqrt(tau) sqrt(Theta(c-theta_p) +
//                 Theta(c-theta_d)) xi
//   w = w0 + rho (w1 - w0)
//
// Event-driven and exact between calcium events: after an event c decays as c0 e^{-t/tau_Ca}, so it stays
// above a threshold theta for exactly tau_Ca ln(c0 / theta). While above one or both thresholds, rho
// without the cubic term is an Ornstein-Uhlenbeck process with constant coefficients, integrated exactly
// (mean and variance of the propagator); the cubic double-well term is then applied over the whole
// interval by its closed-form solution (rho* = 1/2: with u = rho - 1/2, v = 1/u^2 obeys the linear
// equation dv/dt = -(v - 4)/(2 tau), so v(t) = 4 + (v0 - 4) e^{-t/(2 tau)}). The split (drive, then the
// double well) has an error of order (t_above / tau)^2 relative to the drift: t_above is at most tens of
// ms and tau 34-690 s, so < 1e-6 per event. Below both thresholds there is no noise (the sqrt(Theta)
// factor), so nothing random happens between events.
//
// The noise convention is that of the authors' analytic formula (synapticChange.py; the PNAS correction,
// as in the Brian2 example): the stationary variance of rho under the drive is
// sigma^2 (Theta_p + Theta_d) / (2 (gamma_p Theta_p + gamma_d Theta_d)).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace ketaplast {

// Parameter sets from the authors' repository (docs/science.md §6.3 table [V]).
struct CalciumRuleSet {
    const char* name;
    double tau_Ca_ms, C_pre, C_post, theta_d, theta_p, gamma_d, gamma_p, sigma, tau_s, rho_star, D_ms, beta,
        b;
};

inline const std::vector<CalciumRuleSet>& calcium_rule_sets() {
    static const std::vector<CalciumRuleSet> sets = {
        {"cortical_slices", 22.6936, 0.5617539, 1.23964, 1.0, 1.3, 331.909, 725.085, 3.3501, 346.3615, 0.5,
         4.6098, 0.5, 5.40988},
        {"DP", 20.0, 1.0, 2.0, 1.0, 1.3, 200.0, 321.808, 2.8284, 150.0, 0.5, 13.7, 0.5, 5.0},
        {"hippocampal_slices", 48.8373, 1.0, 0.275865, 1.0, 1.3, 313.0965, 1645.59, 9.1844, 688.355, 0.5,
         18.8008, 0.7, 5.28145},
        {"hippocampal_cultures", 11.9536, 0.58156, 1.76444, 1.0, 1.3, 61.141, 113.6545, 2.5654, 33.7596, 0.5,
         10.0, 0.5, 36.0263},
    };
    return sets;
}

struct CalciumRule {
    double tau_Ca_ms = 22.6936, C_pre = 0.5617539, C_post = 1.23964;
    double theta_d = 1.0, theta_p = 1.3, gamma_d = 331.909, gamma_p = 725.085;
    double sigma = 3.3501, tau_ms = 346361.5, D_ms = 4.6098;
    bool double_well = true; // the cubic term (false: the pure drive, as the analytic protocol formula)
    // NMDA coupling (docs/science.md §6.3 "How NMDA blockade enters"): C_pre,eff = C_pre (1 - f_block)
    // B_Mg(V) / B_Mg(V_ref), from the target's NMDA pool `nmda_receptor` ("" = no coupling).
    std::string nmda_receptor;
    double V_ref_mV = -70.0;

    // rho after h_ms from an event that left calcium c0 (no event in between). normal(): standard normal
    // draws, called at most twice and only while c is above a threshold.
    template <typename Normal>
    double advance(double rho, double c0, double h_ms, Normal&& normal) const {
        if (!(h_ms > 0.0)) return rho;
        const bool p_high = theta_p >= theta_d;
        const double theta_high = p_high ? theta_p : theta_d, theta_low = p_high ? theta_d : theta_p;
        if (c0 > theta_low) {
            const double t_high =
                c0 > theta_high ? std::min(h_ms, tau_Ca_ms * std::log(c0 / theta_high)) : 0.0;
            const double t_low = std::min(h_ms, tau_Ca_ms * std::log(c0 / theta_low));
            if (t_high > 0.0) rho = drive(rho, t_high, 1.0, 1.0, normal());
            if (t_low > t_high)
                rho = drive(rho, t_low - t_high, p_high ? 0.0 : 1.0, p_high ? 1.0 : 0.0, normal());
        }
        return double_well ? well(rho, h_ms) : rho;
    }

    // Exact OU step over h with Theta_p = on_p, Theta_d = on_d (0 or 1), z a standard normal.
    double drive(double rho, double h_ms, double on_p, double on_d, double z) const {
        const double gp = gamma_p * on_p, gd = gamma_d * on_d;
        const double rate = (gp + gd) / tau_ms, mean = gp / (gp + gd);
        const double e = std::exp(-rate * h_ms);
        const double var = sigma * sigma * (on_p + on_d) / tau_ms * (1.0 - e * e) / (2.0 * rate);
        return mean + (rho - mean) * e + std::sqrt(var) * z;
    }

    // Closed-form double-well relaxation over h for rho* = 1/2 (see the header comment).
    double well(double rho, double h_ms) const {
        const double u = rho - 0.5;
        if (u == 0.0) return rho;
        const double v = 4.0 + (1.0 / (u * u) - 4.0) * std::exp(-h_ms / (2.0 * tau_ms));
        return 0.5 + std::copysign(1.0 / std::sqrt(v), u);
    }
};

} // namespace ketaplast
