// Pharmacokinetics of a dosed drug and its metabolite: a mammillary compartment model with absorption
// depots, an effect site, and a parent -> metabolite link (docs/science.md §4.1, §4.4, §4.5):
//
//   dA1/dt = R(t) + ka_n N + ka_gi G + ka_ip P - (k10 + k12 + k13) A1 + k21 A2 + k31 A3
//   dA2/dt = k12 A1 - k21 A2,   dA3/dt = k13 A1 - k31 A3,   Cp = A1 / V1
//   dN/dt = -ka_n N (nasal depot),  dG/dt = -ka_gi G (gut, after a lag),  dP/dt = -ka_ip P (peritoneum)
//   dCe/dt = ke0 (Cp - Ce)
//   dA_M/dt = f_m k10 A1 - (CL_M / V_M) A_M,   C_M = A_M / V_M,   dCe_M/dt = ke0_M (C_M - Ce_M)
//
// Amounts in mg, volumes in L, rates per minute; concentrations in mg/L = ug/mL (x 1000 -> ng/mL). f_m is
// a mass fraction, as the §4.4 equation is written. The system is linear with piecewise-constant input,
// so each interval is integrated exactly: the matrix exponential of the generator augmented with the
// constant infusion rate (Eigen's MatrixFunctions). Doses that enter a depot or the central compartment
// at an instant (bolus, device, i.p. injection, the swallowed part after its lag) are given at their
// exact times: advance_schedule() splits an interval at every dose event inside it.
//
// Parameter sets (pk_parameters):
//   domino (default), clements, hijazi, herd  racemic ketamine, IV (docs/science.md §4.2, opentiva)
//   esketamine_nasal   the constructed intranasal esketamine model of docs/science.md §4.5 [A]
//   rat, mouse         rodent ketamine, IV or i.p., constructed [M] (docs/pharmacology.md)
// Each carries the norketamine metabolite (§4.4).
#pragma once

#include <Eigen/Dense>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ketaplast {

// Norketamine formed from the parent (docs/science.md §4.4): one compartment plus an effect site.
struct MetaboliteParameters {
    std::string agent = "norketamine"; // the drug-table entry whose potency it has
    double fraction_formed = 0.8;      // f_m [V2]
    double V_L = 185.0;                // [V abstract, Perez-Ruixo 2021, noresketamine]
    double CL_L_per_min = 38.0 / 60.0; // [V abstract, idem]
    double ke0 = 0.65;                 // per minute [A]: as the parent
};

struct PkParameters {
    std::string name;
    std::string agent = "ketamine";                     // the species the set describes
    double V1_L = 0;                                    // central volume for the given body weight
    double k10 = 0, k12 = 0, k21 = 0, k13 = 0, k31 = 0; // per minute
    double ke0 = 0.65;         // per minute; science.md §4.2 default (opentiva's 1-min time to peak effect)
    bool weight_scaled = true; // volumes and clearances depend on the body weight given

    // Intranasal devices (docs/science.md §4.5); ka_nasal_per_min = 0: the route is not available.
    double ka_nasal_per_min = 0, ka_gi_per_min = 0, gi_lag_min = 0, gi_bioavailability = 0;
    double device_mg = 28.0, device_interval_min = 5.0;
    // Intraperitoneal injection (rodents); ka_ip_per_min = 0: the route is not available.
    double ka_ip_per_min = 0, ip_bioavailability = 0;

    bool metabolite_enabled = true;
    MetaboliteParameters metabolite;
};

// The named parameter sets for a body weight (kg; ignored by sets that are not weight-scaled). Throws
// std::invalid_argument for an unknown name (the message lists the known ones).
PkParameters pk_parameters(const std::string& model, double body_weight_kg);
std::vector<std::string> pk_models();
// Whether the set needs a body weight (its volumes scale with it).
bool pk_model_weight_scaled(const std::string& model);

// Absolute bioavailability of one intranasal session of `session_mg` (docs/science.md §4.5, popPK):
// 54 % for up to 56 mg, 51 % above [V abstract; the step between the two doses is an assumption, A].
double nasal_bioavailability(double session_mg);

// One administration.
//   bolus     IV, instantaneous;                  dose in mg/kg (or mg)
//   infusion  IV, constant rate over duration;    dose in mg/kg (or mg)
//   nasal     a session of devices (device_mg each, device_interval_min apart); dose in mg
//   ip        intraperitoneal injection;          dose in mg/kg (or mg)
struct DoseSpec {
    enum class Route { bolus, infusion, nasal, ip } route = Route::infusion;
    double dose = 0; // mg/kg if per_kg, else mg
    bool per_kg = true;
    double start_min = 0, duration_min = 0;
    double amount_mg(double body_weight_kg) const { return per_kg ? dose * body_weight_kg : dose; }
};
const char* route_name(DoseSpec::Route route);

// Every dose repeated at each session day (start + day x 1440 min), in order: a schedule of repeated
// sessions, e.g. days {0, 3, 7, 10, ...} for twice weekly.
std::vector<DoseSpec> repeat_sessions(const std::vector<DoseSpec>& doses, const std::vector<double>& days);
// Session days of `weeks` weeks on the given days of the week (0-6): e.g. 4 weeks on {0, 3}.
std::vector<double> weekly_session_days(int weeks, const std::vector<double>& days_of_week);

// Why a schedule cannot be given through a parameter set (a route it lacks, a nasal dose that is not a
// whole number of devices, mg/kg without a body weight), or "" if it can. body_weight_kg <= 0: none.
std::string schedule_problem(const PkParameters& parameters, const std::vector<DoseSpec>& doses,
                             double body_weight_kg);

class PkModel {
  public:
    // State layout: amounts (mg) and effect-site concentrations (mg/L); the last entry is the infusion
    // rate, carried as a state with zero derivative.
    enum Index { A1, A2, A3, Ce, nasal, gut, peritoneum, A_met, Ce_met, rate, size };

    explicit PkModel(const PkParameters& parameters);

    // Advance by dt_min with a constant infusion rate (mg/min) into the central compartment.
    void advance(double dt_min, double rate_mg_per_min);
    // An instantaneous bolus into the central compartment, or an amount into a depot.
    void bolus(double dose_mg) { state_[A1] += dose_mg; }
    void add(Index compartment, double amount_mg) { state_[compartment] += amount_mg; }

    double plasma_mg_per_L() const { return state_[A1] / p_.V1_L; }
    double effect_site_mg_per_L() const { return state_[Ce]; }
    double metabolite_plasma_mg_per_L() const { return state_[A_met] / p_.metabolite.V_L; }
    double metabolite_effect_site_mg_per_L() const { return state_[Ce_met]; }
    double amount_mg(Index i) const { return state_[i]; }
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

    // Species: 0 the parent, 1 the metabolite (if enabled). Concentrations in ng/mL.
    std::size_t species_count() const { return p_.metabolite_enabled ? 2 : 1; }
    const std::string& species_agent(std::size_t s) const { return s == 0 ? p_.agent : p_.metabolite.agent; }
    double plasma_ng_per_mL(std::size_t s) const {
        return 1000.0 * (s == 0 ? plasma_mg_per_L() : metabolite_plasma_mg_per_L());
    }
    double effect_site_ng_per_mL(std::size_t s) const {
        return 1000.0 * (s == 0 ? effect_site_mg_per_L() : metabolite_effect_site_mg_per_L());
    }

    // Advance over [t0, t0 + dt) of a dose schedule, exactly: the interval is split at every dose event
    // inside it (instantaneous doses at their times, infusion starts and ends). Events at t0 + dt belong
    // to the next interval.
    void advance_schedule(double t0_min, double dt_min, const std::vector<DoseSpec>& doses,
                          double body_weight_kg);

  private:
    using Matrix = Eigen::Matrix<double, size, size>;
    using Vector = Eigen::Matrix<double, size, 1>;
    struct Event {
        double t_min;
        Index compartment;
        double amount_mg;
    };
    void events_of(const DoseSpec& dose, double body_weight_kg, std::vector<Event>& out) const;
    PkParameters p_;
    Matrix generator_;
    Vector state_;
    std::map<double, Matrix> propagators_; // exp(G dt) by dt
};

} // namespace ketaplast
