#include "models/pharmacokinetics.hpp"

#include <unsupported/Eigen/MatrixFunctions>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ketaplast {

std::vector<std::string> ketamine_pk_models() {
    return {"domino", "clements", "hijazi", "herd"};
}

PkParameters ketamine_pk(const std::string& model, double W) {
    PkParameters p;
    p.name = model;
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
    } else {
        std::string known;
        for (const auto& m : ketamine_pk_models())
            known += (known.empty() ? "" : ", ") + m;
        throw std::invalid_argument("unknown pharmacokinetic model '" + model + "' (known: " + known + ")");
    }
    return p;
}

PkModel::PkModel(const PkParameters& p) : p_(p) {
    generator_.setZero();
    state_.setZero();
    // rows: dA1, dA2, dA3, dCe, d(rate) = 0
    generator_(0, 0) = -(p.k10 + p.k12 + p.k13);
    generator_(0, 1) = p.k21;
    generator_(0, 2) = p.k31;
    generator_(0, 4) = 1.0; // + R
    generator_(1, 0) = p.k12;
    generator_(1, 1) = -p.k21;
    generator_(2, 0) = p.k13;
    generator_(2, 2) = -p.k31;
    generator_(3, 0) = p.ke0 / p.V1_L; // ke0 Cp
    generator_(3, 3) = -p.ke0;
}

void PkModel::advance(double dt_min, double rate_mg_per_min) {
    // The rate is carried as a fifth state with zero derivative, so exp(G dt) propagates the inhomogeneous
    // system exactly; the propagator does not depend on the rate (it enters through the state).
    auto it = propagators_.find(dt_min);
    if (it == propagators_.end()) {
        const Eigen::Matrix<double, 5, 5> scaled = generator_ * dt_min;
        it = propagators_.emplace(dt_min, scaled.exp()).first;
    }
    state_[4] = rate_mg_per_min;
    state_ = it->second * state_;
}

void PkModel::advance_schedule(double t0, double dt, const std::vector<DoseSpec>& doses, double W) {
    const double t1 = t0 + dt;
    double rate = 0.0; // mg/min
    for (const auto& d : doses) {
        if (d.route == DoseSpec::Route::bolus) {
            if (d.start_min >= t0 - 1e-9 && d.start_min < t1 - 1e-9) bolus(d.dose_mg_per_kg * W);
            continue;
        }
        const double overlap = std::min(t1, d.start_min + d.duration_min) - std::max(t0, d.start_min);
        if (overlap > 0) rate += d.dose_mg_per_kg * W / d.duration_min * (overlap / dt);
    }
    advance(dt, rate);
}

} // namespace ketaplast
