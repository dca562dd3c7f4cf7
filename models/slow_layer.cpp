#include "models/slow_layer.hpp"

#include <algorithm>
#include <cmath>

namespace ketaplast {

double growth_curve(GrowthCurve curve, double Ca, double eps, double eta, double psi) {
    switch (curve) {
    case GrowthCurve::none:
        return 0.0;
    case GrowthCurve::linear: // NEST growth_curve_linear
        return 1.0 - Ca / eps;
    case GrowthCurve::gaussian: { // NEST growth_curve_gaussian, zeta as derived in docs/science.md §6.8 [D]
        const double xi = 0.5 * (eta + eps), zeta = (eps - eta) / (2.0 * std::sqrt(std::log(2.0)));
        const double x = (Ca - xi) / zeta;
        return 2.0 * std::exp(-x * x) - 1.0;
    }
    case GrowthCurve::sigmoid: // NEST growth_curve_sigmoid
        return 2.0 / (1.0 + std::exp((Ca - eps) / psi)) - 1.0;
    }
    return 0.0;
}

double CalciumTrace::value_at(double t_ms) const {
    return Ca * std::exp(-(t_ms - t_last_ms) / tau_Ca_ms);
}

void CalciumTrace::spike(double t_ms) {
    Ca = value_at(t_ms) + beta_Ca;
    t_last_ms = t_ms;
}

std::string SlowLayerParams::check() const {
    const std::pair<const char*, double> positive[] = {{"tau_rest_min", tau_rest_min},
                                                       {"tau_eEF2K_min", tau_eEF2K_min},
                                                       {"tau_BDNF_min", tau_BDNF_min},
                                                       {"tau_H_h", tau_H_h},
                                                       {"tau_A_min", tau_A_min},
                                                       {"tau_TrkB_min", tau_TrkB_min},
                                                       {"tau_mTOR_min", tau_mTOR_min},
                                                       {"mTOR_slope", mTOR_slope},
                                                       {"tau_P_days", tau_P_days},
                                                       {"spine_lifetime_days", spine_lifetime_days},
                                                       {"initial_spine_density", initial_spine_density},
                                                       {"tau_scaling_h", tau_scaling_h},
                                                       {"tau_Ca_ms", tau_Ca_ms},
                                                       {"beta_Ca", beta_Ca},
                                                       {"step_min", step_min},
                                                       {"Ca_psi", Ca_psi},
                                                       {"tau_exo_min", tau_exo_min},
                                                       {"tau_dwell_min", tau_dwell_min},
                                                       {"tau_slot_h", tau_slot_h},
                                                       {"tau_AMPAR_h", tau_AMPAR_h}};
    for (const auto& [name, v] : positive)
        if (!(v > 0.0) || !std::isfinite(v)) return std::string(name) + " must be > 0";
    if (step_min > std::min({tau_rest_min, tau_eEF2K_min, tau_A_min}))
        return "step_min must not exceed the shortest slow time constant (tau_rest_min, tau_eEF2K_min, "
               "tau_A_min): RK4 would be inaccurate";
    if (!(protein_max > 1.0)) return "protein_max must be > 1";
    if (!(slots_per_receptor > 1.0)) return "slots_per_receptor must be > 1 (free slots at baseline)";
    if (expression == StrengthExpression::trafficking) {
        // The fastest rate of the receptor pools near baseline: exchange plus capture/release,
        // 1/tau_exo + (2 Q0 - 1) / ((Q0 - 1) tau_dwell); RK4 diverges beyond ~2.8 per step, accuracy wants
        // <= 1.
        const double fastest = 1.0 / tau_exo_min + (2.0 * slots_per_receptor - 1.0) /
                                                       ((slots_per_receptor - 1.0) * tau_dwell_min);
        if (step_min * fastest > 1.0)
            return "step_min must be <= " + std::to_string(1.0 / fastest) +
                   " min with strength_expression = \"trafficking\" (tau_exo_min, tau_dwell_min and "
                   "slots_per_receptor set the fastest receptor exchange): RK4 would be inaccurate or "
                   "unstable";
    }
    if (growth == GrowthCurve::gaussian && Ca_target > 0.0 && !(Ca_eta < Ca_target))
        return "Ca_eta must be below Ca_target (gaussian growth curve)";
    if (!(strength_min > 0.0 && strength_min < 1.0 && strength_max > 1.0))
        return "strength bounds need 0 < strength_min < 1 < strength_max";
    return "";
}

double SlowLayerParams::mTOR_activation(double TrkB) const {
    return 1.0 / (1.0 + std::exp(-(TrkB - mTOR_threshold) / mTOR_slope));
}

const std::array<const char*, SlowState::size>& SlowState::names() {
    static const std::array<const char*, size> n = {"rest_signal",   "eEF2K",          "BDNF",
                                                    "A_glu",         "TrkB",           "mTOR",
                                                    "protein",       "spine_density",  "log_bdnf_gain",
                                                    "log_scaling",   "A_reference",    "AMPAR_intracellular",
                                                    "AMPAR_surface", "AMPAR_synaptic", "PSD_slots"};
    return n;
}

SlowLayer::SlowLayer(const SlowLayerParams& p) : p_(p) {
    reset(0.0);
}

void SlowLayer::reset(double baseline_rate_Hz) {
    mTOR0_ = p_.mTOR_activation(1.0);
    rate_target_ = p_.rate_target_Hz > 0.0 ? p_.rate_target_Hz : baseline_rate_Hz;
    Ca_target_ = p_.Ca_target > 0.0 ? p_.Ca_target : Ca(baseline_rate_Hz);
    s_.y = {1.0,
            1.0,
            1.0,
            1.0,
            1.0,
            mTOR0_,
            1.0,
            p_.initial_spine_density,
            0.0,
            0.0,
            1.0,
            1.0,
            1.0,
            1.0,
            p_.slots_per_receptor};
}

std::array<double, SlowState::size> SlowLayer::rhs(const std::array<double, SlowState::size>& y,
                                                   const SlowInputs& in) const {
    const double S = y[0], K = y[1], B = y[2], A = y[3], T = y[4], m = y[5], P = std::max(0.0, y[6]),
                 n = y[7], log_g = y[8], R = y[10];
    std::array<double, SlowState::size> d{};
    d[0] = (in.rest_signal - S) / p_.tau_rest_min;
    d[1] = (S - K) / p_.tau_eEF2K_min;
    d[2] = (1.0 + p_.k_BDNF * std::max(0.0, 1.0 - K - p_.theta_rest) - B) / p_.tau_BDNF_min;
    d[3] = (in.ampa_drive - A) / p_.tau_A_min;
    d[10] = p_.tau_A_adapt_h > 0.0 ? (A - R) / (p_.tau_A_adapt_h * 60.0) : 0.0;
    const double A_rel = p_.tau_A_adapt_h > 0.0 ? A / std::max(R, 1e-9) : A;
    d[4] = (B * (1.0 + p_.kappa_A * (A_rel - 1.0)) - T) / p_.tau_TrkB_min;
    d[5] = (p_.mTOR_activation(T) - m) / p_.tau_mTOR_min;
    const double room = std::max(0.0, (p_.protein_max - P) / (p_.protein_max - 1.0));
    d[6] =
        p_.k_P_per_h / 60.0 * (m - mTOR0_) * (m > mTOR0_ ? room : 1.0) - (P - 1.0) / (p_.tau_P_days * 1440.0);
    const double r_e = 1.0 / (p_.spine_lifetime_days * 1440.0);
    d[7] = r_e * (p_.initial_spine_density * std::pow(P, p_.spine_nu) - n);
    if (p_.growth != GrowthCurve::none && Ca_target_ > 0.0)
        d[7] += p_.growth_per_day / 1440.0 *
                growth_curve(p_.growth, Ca(in.rate_Hz), Ca_target_, p_.Ca_eta, p_.Ca_psi);
    d[8] = (B - 1.0) / (p_.tau_H_h * 60.0) -
           (p_.tau_gain_decay_h > 0 ? log_g / (p_.tau_gain_decay_h * 60.0) : 0);
    d[9] = rate_target_ > 0.0 ? (1.0 - in.rate_Hz / rate_target_) / (p_.tau_scaling_h * 60.0) : 0.0;
    if (p_.expression == SlowLayerParams::StrengthExpression::trafficking) {
        const double I = y[11], E = y[12], Syn = y[13], Q = std::max(y[14], 1e-12);
        const double target = std::pow(P, p_.protein_strength_exponent), Q0 = p_.slots_per_receptor;
        const double k_exo = 1.0 / p_.tau_exo_min, k_out = 1.0 / p_.tau_dwell_min,
                     k_in = k_out * Q0 / (Q0 - 1.0);
        const double capture = k_in * E * std::max(0.0, Q - Syn) / Q - k_out * Syn;
        d[11] = (target - I) / (p_.tau_AMPAR_h * 60.0) + k_exo * (E - I);
        d[12] = k_exo * (I - E) - capture;
        d[13] = capture;
        d[14] = (Q0 * target - Q) / (p_.tau_slot_h * 60.0);
    }
    return d;
}

void SlowLayer::advance(double dt_min, const SlowInputs& in) {
    if (!(dt_min > 0.0)) return;
    const int n = std::max(1, int(std::ceil(dt_min / p_.step_min - 1e-9)));
    const double h = dt_min / n;
    auto& y = s_.y;
    for (int k = 0; k < n; ++k) { // classical RK4
        auto add = [&](const std::array<double, SlowState::size>& a,
                       const std::array<double, SlowState::size>& b, double f) {
            std::array<double, SlowState::size> r;
            for (std::size_t i = 0; i < r.size(); ++i)
                r[i] = a[i] + f * b[i];
            return r;
        };
        const auto k1 = rhs(y, in);
        const auto k2 = rhs(add(y, k1, 0.5 * h), in);
        const auto k3 = rhs(add(y, k2, 0.5 * h), in);
        const auto k4 = rhs(add(y, k3, h), in);
        for (std::size_t i = 0; i < y.size(); ++i)
            y[i] += h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        // The strength factors are bounded (runaway guard); the density cannot go negative.
        const double lo = std::log(p_.strength_min), hi = std::log(p_.strength_max);
        y[8] = std::clamp(y[8], lo, hi);
        y[9] = std::clamp(y[9], lo, hi);
        y[7] = std::max(0.0, y[7]);
        y[6] = std::max(0.0, y[6]);
    }
}

double SlowLayer::bdnf_gain() const {
    return std::exp(s_.y[8]);
}
double SlowLayer::scaling() const {
    return std::exp(s_.y[9]);
}
double SlowLayer::inhibitory_factor() const {
    return std::clamp(std::exp(-p_.inhibitory_scaling_exponent * s_.y[9]), p_.strength_min, p_.strength_max);
}
double SlowLayer::strength_factor() const {
    const double expressed = p_.expression == SlowLayerParams::StrengthExpression::trafficking
                                 ? s_.y[13]
                                 : std::pow(std::max(0.0, s_.y[6]), p_.protein_strength_exponent);
    const double f = bdnf_gain() * scaling() * expressed;
    return std::clamp(f, p_.strength_min, p_.strength_max);
}
double SlowLayer::spine_factor() const {
    return s_.y[7] / p_.initial_spine_density;
}

} // namespace ketaplast
