// The concentration-response measurement of a bath protocol (`bath_uM = [...]` with `bath_step_ms`): for
// each NMDA pool, the inhibition of its current at the end of each concentration step (when the block has
// had the whole step to equilibrate) relative to the drug-free step, and the Hill fit
//   inhibition = 1 / (1 + (IC50 / D)^n)
// by least squares on logit(inhibition) = n (ln D - ln IC50) over the points between 2 % and 98 %, as one
// would analyse a slice or oocyte recording (Gilling et al. 2009).
#pragma once

#include "sim/io/recorders.hpp"

#include <string>
#include <vector>

namespace ketaplast {

struct HillFit {
    double IC50 = 0, hill = 0;
    bool valid = false; // at least two points inside (2 %, 98 %)
};
HillFit fit_hill(const std::vector<double>& conc, const std::vector<double>& inhibition);

struct PoolResponse {
    std::string population, receptor;
    std::vector<double> conc_uM, inhibition, blocked_fraction;
    HillFit fit;
};

// One entry per NMDA pool; empty unless `drug` has a bath protocol starting at 0 uM.
std::vector<PoolResponse> concentration_response(const DrugApplication& drug, std::size_t drug_index,
                                                 const std::vector<DrugSample>& samples);

} // namespace ketaplast
