#include "sim/analysis/concentration_response.hpp"

#include <cmath>

namespace ketaplast {

HillFit fit_hill(const std::vector<double>& conc, const std::vector<double>& inhibition) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    for (std::size_t k = 0; k < conc.size(); ++k) {
        const double y = inhibition[k];
        if (!(conc[k] > 0) || !(y > 0.02 && y < 0.98)) continue;
        const double lx = std::log(conc[k]), ly = std::log(y / (1.0 - y));
        sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
        ++n;
    }
    HillFit fit;
    if (n < 2 || sxx * n - sx * sx <= 0) return fit;
    fit.hill = (n * sxy - sx * sy) / (n * sxx - sx * sx);
    const double intercept = (sy - fit.hill * sx) / n; // = -n ln IC50
    fit.IC50 = std::exp(-intercept / fit.hill);
    fit.valid = std::isfinite(fit.IC50) && fit.hill > 0;
    return fit;
}

std::vector<PoolResponse> concentration_response(const DrugApplication& drug, std::size_t drug_index,
                                                 const std::vector<DrugSample>& samples) {
    std::vector<PoolResponse> out;
    if (drug.bath_steps_uM.size() < 2 || drug.bath_steps_uM.front() != 0.0 || samples.empty()) return out;
    const std::size_t pools = samples.front().pools.size();
    for (std::size_t p = 0; p < pools; ++p) {
        PoolResponse r;
        r.population = samples.front().pools[p].population;
        r.receptor = samples.front().pools[p].receptor;
        double control_pA = 0;
        for (std::size_t k = 0; k < drug.bath_steps_uM.size(); ++k) {
            // The last sample inside step k (samples are taken at the start of each clock tick).
            const double end_ms = double(k + 1) * drug.bath_step_ms;
            const DrugSample* last = nullptr;
            for (const auto& s : samples)
                if (s.t_ms < end_ms - 1e-9 && s.t_ms >= double(k) * drug.bath_step_ms - 1e-9) last = &s;
            if (!last || last->free_uM[drug_index] != drug.bath_steps_uM[k]) break; // run ended earlier
            const double current = last->pools[p].current_pA;
            if (k == 0) control_pA = current;
            r.conc_uM.push_back(drug.bath_steps_uM[k]);
            r.inhibition.push_back(control_pA != 0 ? 1.0 - current / control_pA : 0.0);
            r.blocked_fraction.push_back(last->pools[p].drug_blocked);
        }
        r.fit = fit_hill(r.conc_uM, r.inhibition);
        out.push_back(r);
    }
    return out;
}

} // namespace ketaplast
