#include "models/pharmacokinetics.hpp"

#include <unsupported/Eigen/MatrixFunctions>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ketaplast {

std::vector<std::string> pk_models() {
    return {"domino", "clements", "hijazi", "herd", "esketamine_nasal", "rat", "mouse"};
}

bool pk_model_weight_scaled(const std::string& model) {
    return model != "esketamine_nasal";
}

namespace {

// Rodent ketamine [M]: constructed, not a published rodent fit. The dog set of Kaka & Hayton 1980
// (J Pharmacokinet Biopharm 8:193; abstract: V1 542 mL/kg, V2 1940 mL/kg, CL 32.2 mL/min/kg, t1/2 alpha
// 1.95 min, beta 61 min; 62 % of ketamine to norketamine, whose V is 0.61 L/kg and CL 89.4 mL/min/kg)
// [V2 abstract], with every rate constant scaled allometrically by (W_dog / W)^0.25 (W_dog 15 kg [M]):
// x 2.78 for a 0.25-kg rat (beta t1/2 22 min), x 4.95 for a 25-g mouse (12 min) -- the minutes-scale
// elimination of docs/science.md §4.6. k12, k21 follow from the dog's alpha, beta, V1 and CL (k21 = alpha
// beta / k10, k12 = alpha + beta - k10 - k21). Brain equilibration: peak brain levels < 1 min after IV
// in the rat (Cohen et al. 1973) -> ke0 2 per min [A]. i.p.: absorption rate 0.3 per min (Tmax ~ 5-10
// min) and bioavailability 0.5 (portal first pass) [M].
PkParameters rodent(const std::string& name, double W, double reference_kg) {
    PkParameters p;
    p.name = name;
    const double s = std::pow(15.0 / reference_kg, 0.25);
    const double alpha = std::log(2.0) / 1.95, beta = std::log(2.0) / 61.0;
    const double V1_per_kg = 0.542, k10_dog = 0.0322 / V1_per_kg;
    const double k21_dog = alpha * beta / k10_dog, k12_dog = alpha + beta - k10_dog - k21_dog;
    p.V1_L = V1_per_kg * W;
    p.k10 = k10_dog * s, p.k12 = k12_dog * s, p.k21 = k21_dog * s;
    p.ke0 = 2.0;
    p.ka_ip_per_min = 0.3, p.ip_bioavailability = 0.5;
    p.metabolite.fraction_formed = 0.62;
    p.metabolite.V_L = 0.61 * W;
    p.metabolite.CL_L_per_min = 0.0894 * W * s;
    p.metabolite.ke0 = 2.0;
    return p;
}

} // namespace

PkParameters pk_parameters(const std::string& model, double W) {
    PkParameters p;
    p.name = model;
    // Norketamine for the human IV sets: the §4.4 adult values scaled linearly with weight [A].
    p.metabolite.V_L *= W / 70.0;
    p.metabolite.CL_L_per_min *= W / 70.0;
    if (model == "domino") {
        // Domino et al. (opentiva ketamine.py cites PMID 7198883): 3 compartments, V1 0.063 L/kg.
        p.V1_L = 0.063 * W;
        p.k10 = 0.4381, p.k12 = 0.5921, p.k21 = 0.2470, p.k13 = 0.5900, p.k31 = 0.0146;
    } else if (model == "clements") {
        // Clements & Nimmo 1981 (250 ug/kg bolus): 2 compartments, V1 1.7522 L/kg.
        p.V1_L = 1.7522 * W;
        p.k10 = 0.0109, p.k12 = 0.0186, p.k21 = 0.0137;
    } else if (model == "hijazi") {
        // Hijazi et al. 2003 (ICU patients with brain or spinal injury): V1 1.08 L/kg.
        p.V1_L = 1.08 * W;
        p.k10 = 0.0333, p.k12 = 0.0088, p.k21 = 0.0030;
    } else if (model == "herd") {
        // Herd et al. 2007 (children 1-14 y), allometric: V1 38.7 L, CL 90 L/h, Q 215 L/h, V2 102 L at 70 kg.
        const double s = W / 70.0, s34 = std::pow(s, 0.75);
        p.V1_L = 38.7 * s;
        const double CL = 90.0 / 60.0 * s34, Q = 215.0 / 60.0 * s34, V2 = 102.0 * s; // L/min, L
        p.k10 = CL / p.V1_L, p.k12 = Q / p.V1_L, p.k21 = Q / V2;
    } else if (model == "esketamine_nasal") {
        // science.md §4.5 constructed default [A]: 2-compartment disposition V1 120 L, V2 632 L (Vss 752 L,
        // popPK [V]), CL 114 L/h [V], Q 90 L/h; nasal absorption 0.04 per min (middle of 0.03-0.05); the
        // swallowed part absorbed at 0.01 per min after a 15-min lag with 18.6 % bioavailability [V].
        // Noresketamine V 185 L, CL/F 38 L/h (Perez-Ruixo 2021) [V]. Not weight-scaled.
        p = PkParameters{};
        p.name = model;
        p.agent = "esketamine";
        p.weight_scaled = false;
        p.V1_L = 120.0;
        const double CL = 114.0 / 60.0, Q = 90.0 / 60.0, V2 = 632.0;
        p.k10 = CL / p.V1_L, p.k12 = Q / p.V1_L, p.k21 = Q / V2;
        p.ka_nasal_per_min = 0.04, p.ka_gi_per_min = 0.01, p.gi_lag_min = 15.0, p.gi_bioavailability = 0.186;
    } else if (model == "rat") {
        p = rodent(model, W, 0.25);
    } else if (model == "mouse") {
        p = rodent(model, W, 0.025);
    } else {
        std::string known;
        for (const auto& m : pk_models())
            known += (known.empty() ? "" : ", ") + m;
        throw std::invalid_argument("unknown pharmacokinetic model '" + model + "' (known: " + known + ")");
    }
    return p;
}

double nasal_bioavailability(double session_mg) {
    return session_mg <= 56.0 + 1e-9 ? 0.54 : 0.51;
}

const char* route_name(DoseSpec::Route route) {
    switch (route) {
    case DoseSpec::Route::bolus:
        return "bolus";
    case DoseSpec::Route::infusion:
        return "infusion";
    case DoseSpec::Route::nasal:
        return "nasal";
    case DoseSpec::Route::ip:
        return "ip";
    }
    return "?";
}

std::vector<DoseSpec> repeat_sessions(const std::vector<DoseSpec>& doses, const std::vector<double>& days) {
    std::vector<DoseSpec> out;
    for (double day : days)
        for (DoseSpec d : doses) {
            d.start_min += day * 1440.0;
            out.push_back(d);
        }
    return out;
}

std::vector<double> weekly_session_days(int weeks, const std::vector<double>& days_of_week) {
    std::vector<double> days;
    for (int w = 0; w < weeks; ++w)
        for (double d : days_of_week)
            days.push_back(7.0 * w + d);
    std::sort(days.begin(), days.end());
    return days;
}

std::string schedule_problem(const PkParameters& p, const std::vector<DoseSpec>& doses, double W) {
    for (const auto& d : doses) {
        const std::string what = std::string(route_name(d.route)) + " dose";
        if (d.per_kg && !(W > 0))
            return what + " in mg/kg needs a body weight (weight_kg in a config, --weight-kg on the command "
                          "line), or give the dose in mg";
        if (d.route == DoseSpec::Route::nasal) {
            if (!(p.ka_nasal_per_min > 0))
                return "the " + p.name + " model has no intranasal route (use model esketamine_nasal)";
            if (d.per_kg)
                return "nasal doses are in mg (" + std::to_string(int(p.device_mg)) + " mg per device)";
            const double devices = d.dose / p.device_mg;
            if (d.dose <= 0 || std::fabs(devices - std::round(devices)) > 1e-9)
                return "a nasal dose must be a whole number of " + std::to_string(int(p.device_mg)) +
                       "-mg devices (e.g. 56 or 84 mg)";
        }
        if (d.route == DoseSpec::Route::ip && !(p.ka_ip_per_min > 0))
            return "the " + p.name + " model has no intraperitoneal route (use model rat or mouse)";
    }
    return "";
}

PkModel::PkModel(const PkParameters& p) : p_(p) {
    generator_.setZero();
    state_.setZero();
    Matrix& G = generator_;
    G(A1, A1) = -(p.k10 + p.k12 + p.k13);
    G(A1, A2) = p.k21;
    G(A1, A3) = p.k31;
    G(A1, rate) = 1.0; // + R
    G(A1, nasal) = p.ka_nasal_per_min;
    G(A1, gut) = p.ka_gi_per_min;
    G(A1, peritoneum) = p.ka_ip_per_min;
    G(A2, A1) = p.k12;
    G(A2, A2) = -p.k21;
    G(A3, A1) = p.k13;
    G(A3, A3) = -p.k31;
    G(Ce, A1) = p.ke0 / p.V1_L; // ke0 Cp
    G(Ce, Ce) = -p.ke0;
    G(nasal, nasal) = -p.ka_nasal_per_min;
    G(gut, gut) = -p.ka_gi_per_min;
    G(peritoneum, peritoneum) = -p.ka_ip_per_min;
    if (p.metabolite_enabled) { // docs/science.md §4.4: f_m k10 A1 forms the metabolite
        const MetaboliteParameters& m = p.metabolite;
        G(A_met, A1) = m.fraction_formed * p.k10;
        G(A_met, A_met) = -m.CL_L_per_min / m.V_L;
        G(Ce_met, A_met) = m.ke0 / m.V_L;
        G(Ce_met, Ce_met) = -m.ke0;
    }
}

void PkModel::advance(double dt_min, double rate_mg_per_min) {
    if (!(dt_min > 0)) return;
    // The rate is carried as a state with zero derivative, so exp(G dt) propagates the inhomogeneous
    // system exactly; the propagator does not depend on the rate (it enters through the state). The cache
    // holds the few step lengths a run uses (the clock step and the pieces around dose events).
    auto it = propagators_.find(dt_min);
    if (it == propagators_.end()) {
        if (propagators_.size() > 64) propagators_.clear();
        const Matrix scaled = generator_ * dt_min;
        it = propagators_.emplace(dt_min, scaled.exp()).first;
    }
    state_[rate] = rate_mg_per_min;
    state_ = it->second * state_;
}

void PkModel::events_of(const DoseSpec& d, double W, std::vector<Event>& out) const {
    const double mg = d.amount_mg(W);
    switch (d.route) {
    case DoseSpec::Route::bolus:
        out.push_back({d.start_min, A1, mg});
        break;
    case DoseSpec::Route::infusion:
        break; // a rate, not an event
    case DoseSpec::Route::ip:
        out.push_back({d.start_min, peritoneum, mg * p_.ip_bioavailability});
        break;
    case DoseSpec::Route::nasal: {
        // science.md §4.5: per device, f_n = (F - F_gi) / (1 - F_gi) is absorbed nasally (completely); the
        // rest is swallowed and F_gi of it reaches the gut depot after the lag, so the session's
        // bioavailability is f_n + (1 - f_n) F_gi = F.
        const int devices = int(std::lround(mg / p_.device_mg));
        const double F = nasal_bioavailability(mg), F_gi = p_.gi_bioavailability;
        const double f_n = (F - F_gi) / (1.0 - F_gi);
        for (int k = 0; k < devices; ++k) {
            const double t = d.start_min + k * p_.device_interval_min;
            out.push_back({t, nasal, f_n * p_.device_mg});
            out.push_back({t + p_.gi_lag_min, gut, (1.0 - f_n) * F_gi * p_.device_mg});
        }
        break;
    }
    }
}

void PkModel::advance_schedule(double t0, double dt, const std::vector<DoseSpec>& doses, double W) {
    constexpr double eps = 1e-9; // min: event times on the step grid count as on it
    const double t1 = t0 + dt;
    std::vector<Event> events;
    std::vector<double> cuts{t0, t1};
    for (const auto& d : doses) {
        std::vector<Event> all;
        events_of(d, W, all);
        for (const auto& e : all)
            if (e.t_min >= t0 - eps && e.t_min < t1 - eps) {
                events.push_back(e);
                cuts.push_back(std::max(t0, e.t_min));
            }
        if (d.route == DoseSpec::Route::infusion)
            for (double t : {d.start_min, d.start_min + d.duration_min})
                if (t > t0 + eps && t < t1 - eps) cuts.push_back(t);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end(), [](double a, double b) { return b - a <= eps; }),
               cuts.end());
    if (cuts.back() < t1) cuts.back() = t1; // the merged last cut is the interval's end
    for (std::size_t k = 0; k + 1 < cuts.size(); ++k) {
        const double a = cuts[k], b = cuts[k + 1];
        for (const auto& e : events) // the events at this cut, then the stretch to the next one
            if (std::fabs(std::max(t0, e.t_min) - a) <= eps) state_[e.compartment] += e.amount_mg;
        double rate_mg = 0.0;
        const double mid = 0.5 * (a + b);
        for (const auto& d : doses)
            if (d.route == DoseSpec::Route::infusion && mid > d.start_min &&
                mid < d.start_min + d.duration_min)
                rate_mg += d.amount_mg(W) / d.duration_min;
        advance(b - a, rate_mg);
    }
}

} // namespace ketaplast
