// `ketaplast pharmacology`: drug curves without a network, for checking parameter sets and teaching.
//   pk     the plasma and effect-site concentration of a dose schedule (IV bolus / infusion, intranasal
//          esketamine, rodent i.p.; repeated sessions), of the drug and its metabolite
//   block  the equilibrium concentration-response of NMDA channel block at a voltage and [Mg2+],
//          with the IC50 found from it
// Both print a table and can write it (pk: CSV, or HDF5 for an .h5 path; block: CSV).
#pragma once

#include "models/pharmacokinetics.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ketaplast {

// A dose of `route`: "DOSE[UNIT]@START[UNIT]" (bolus, nasal, ip) or "DOSE[UNIT]@START[UNIT]+DURATION[UNIT]"
// (infusion). DOSE in mg/kg (default for bolus, infusion, ip) or mg (default and only unit for nasal);
// START in min (default), h or d; DURATION in min (default) or h. E.g. "0.5@0+40", "35mg@0", "84@3d".
DoseSpec parse_dose(const std::string& text, DoseSpec::Route route);

struct PkCurveOptions {
    std::string model = "domino";
    std::optional<double> body_weight_kg; // none: the model's default (70 kg human IV sets, 0.25 rat, 0.025
                                          // mouse; none for esketamine_nasal)
    double fraction_unbound = 0.6;        // docs/science.md §4.1 default
    double metabolite_fraction_unbound = 0.6;
    bool metabolite = true;
    std::vector<DoseSpec> doses;      // one session
    std::vector<double> session_days; // empty: a single session at day 0
    double duration_min = 240.0, step_min = 1.0;
    std::string agent; // "": the model's species (ketamine; esketamine for esketamine_nasal)
};
// The default body weight of a parameter set when none is given (0: none, the set is not weight-scaled).
double default_body_weight_kg(const std::string& model);
int pharmacology_pk(const PkCurveOptions& options, const std::string& out_path);

struct BlockCurveOptions {
    std::string agent = "ketamine";
    double V_mV = -70.0, Mg_mM = 0.0;
};
int pharmacology_block(const BlockCurveOptions& options, const std::string& csv_path);

// The concentration (uM) that halves the Mg-unblocked fraction at V: the apparent IC50.
double apparent_ic50_uM(const std::string& agent, double V_mV, double Mg_mM);

} // namespace ketaplast
