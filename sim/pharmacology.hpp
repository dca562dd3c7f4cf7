// `ketaplast pharmacology`: drug curves without a network, for checking parameter sets and teaching.
//   pk     the plasma and effect-site concentration of a dose schedule (bolus / infusion, mg/kg)
//   block  the equilibrium concentration-response of NMDA channel block at a voltage and [Mg2+],
//          with the IC50 found from it
// Both print a table and can write it as CSV.
#pragma once

#include "models/pharmacokinetics.hpp"

#include <string>
#include <vector>

namespace ketaplast {

// "DOSE_mg_per_kg@START_min" (bolus) or "DOSE_mg_per_kg@START_min+DURATION_min" (infusion).
DoseSpec parse_dose(const std::string& text, bool infusion);

struct PkCurveOptions {
    std::string model = "domino";
    double body_weight_kg = 70.0;
    double fraction_unbound = 0.6; // SCIENCE.md §4.1 default
    std::vector<DoseSpec> doses;
    double duration_min = 240.0, step_min = 1.0;
    std::string agent = "ketamine";
};
int pharmacology_pk(const PkCurveOptions& options, const std::string& csv_path);

struct BlockCurveOptions {
    std::string agent = "ketamine";
    double V_mV = -70.0, Mg_mM = 0.0;
};
int pharmacology_block(const BlockCurveOptions& options, const std::string& csv_path);

// The concentration (uM) that halves the Mg-unblocked fraction at V: the apparent IC50.
double apparent_ic50_uM(const std::string& agent, double V_mV, double Mg_mM);

} // namespace ketaplast
