// Pharmacokinetics of an infused or injected drug: a mammillary compartment model with an effect site
// (SCIENCE.md §4.1):
//
//   dA1/dt = R(t) - (k10 + k12 + k13) A1 + k21 A2 + k31 A3
//   dA2/dt = k12 A1 - k21 A2,   dA3/dt = k13 A1 - k31 A3,   Cp = A1 / V1
//   dCe/dt = ke0 (Cp - Ce)
//
// Amounts in mg, volumes in L, rates per minute; Cp in mg/L = ug/mL (x 1000 -> ng/mL). The system is
// linear with a piecewise-constant input, so each interval is integrated exactly: the matrix
// exponential of the generator augmented with the constant infusion rate (Eigen's MatrixFunctions),
// computed once per step length and reused.
//
// Parameter sets for racemic ketamine (SCIENCE.md §4.2, as encoded in opentiva's ketamine.py):
// Domino (3 compartments, the default), Clements & Nimmo 1981, Hijazi 2003 (2 compartments, per kg),
// Herd 2007 (2 compartments, allometric in body weight).
#pragma once

#include <Eigen/Dense>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ketaplast {

struct PkParameters {
    std::string name;
    double V1_L = 0;                                    // central volume for the given body weight
    double k10 = 0, k12 = 0, k21 = 0, k13 = 0, k31 = 0; // per minute
    double ke0 = 0.65; // per minute; SCIENCE.md §4.2 default (opentiva's 1-min time to peak effect)
};

// The named racemic-ketamine sets for a body weight (kg). Throws std::invalid_argument for an unknown
// name (the message lists the known ones).
PkParameters ketamine_pk(const std::string& model, double body_weight_kg);
std::vector<std::string> ketamine_pk_models();

// One administration: an instantaneous bolus, or a constant-rate infusion over a duration.
struct DoseSpec {
    enum class Route { bolus, infusion } route = Route::infusion;
    double dose_mg_per_kg = 0, start_min = 0, duration_min = 0;
};

class PkModel {
  public:
    explicit PkModel(const PkParameters& parameters);

    // Advance by dt_min with a constant infusion rate (mg/min) into the central compartment.
    void advance(double dt_min, double rate_mg_per_min);
    // An instantaneous bolus into the central compartment.
    void bolus(double dose_mg) { state_[0] += dose_mg; }

    double plasma_mg_per_L() const { return state_[0] / p_.V1_L; }
    double effect_site_mg_per_L() const { return state_[3]; }
    const PkParameters& parameters() const { return p_; }

    // The complete dynamic state (compartment amounts, effect site, last rate), for checkpoints: a
    // restored model continues bit-identically (the propagators are recomputed from the same numbers).
    std::vector<double> state_vector() const { return {state_.data(), state_.data() + state_.size()}; }
    void set_state_vector(const std::vector<double>& values) {
        if (values.size() != std::size_t(state_.size()))
            throw std::invalid_argument("PK state: " + std::to_string(values.size()) + " values, expected " +
                                        std::to_string(state_.size()));
        for (Eigen::Index i = 0; i < state_.size(); ++i)
            state_[i] = values[std::size_t(i)];
    }

    // Advance over [t0, t0 + dt) of a dose schedule: boluses starting in the interval are given at its
    // start, infusions contribute their rate for the part of the interval they cover (exact when the
    // schedule's times lie on the step grid).
    void advance_schedule(double t0_min, double dt_min, const std::vector<DoseSpec>& doses,
                          double body_weight_kg);

  private:
    PkParameters p_;
    Eigen::Matrix<double, 5, 5> generator_; // (A1, A2, A3, Ce, rate) -> derivatives; rate is constant
    Eigen::Matrix<double, 5, 1> state_;
    std::map<double, Eigen::Matrix<double, 5, 5>> propagators_; // exp(G dt) by dt
};

} // namespace ketaplast
