// NMDA-receptor channel blockers at equilibrium (SCIENCE.md §3.1-3.3): K_d at -70 mV, Hill coefficient,
// voltage dependence delta, molar mass. The kinetic trapping parameters of §3.2 come with the kinetic
// block (issue 3); this table serves the equilibrium form and `ketaplast pharmacology`.
#pragma once

#include "models/nmda_block.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace ketaplast {

struct DrugInfo {
    std::string name;
    ChannelBlocker block;        // K_d(-70 mV, 0 Mg), Hill, delta, V_T
    double molar_mass_g_per_mol; // free base
    std::string source;
};

inline const std::vector<DrugInfo>& builtin_drugs() {
    static const std::vector<DrugInfo> drugs = {
        {"ketamine",
         {0.71, 0.84, 0.79, 25.4},
         237.7,
         "racemic; hGluN1/2A IC50 0.71 uM, nH 0.84, delta 0.79 (Gilling et al. 2009) [V]"},
        {"esketamine",
         {0.71 * 0.6, 0.84, 0.79, 25.4},
         237.7,
         "S-ketamine; IC50 ~0.6 x racemic if R is 4.7x weaker (Ebert 1997 Ki via SCIENCE.md) [D from V2]"},
        {"arketamine",
         {0.71 / 0.35, 0.84, 0.79, 25.4},
         237.7,
         "R-ketamine; k_on ~0.35 x racemic (SCIENCE.md 3.2) [D from V2]"},
        {"norketamine",
         {0.71 * 6.0, 0.84, 0.79, 25.4},
         223.7,
         "k_on racemic / 6 (range /5-/8), other values as ketamine (SCIENCE.md 3.2) [D from V2, A]"},
        {"hnk_2r6r",
         {46.0, 1.0, 0.3, 25.4},
         239.7,
         "(2R,6R)-HNK; GluN1/2A IC50 46 uM at pH 7.2, weak voltage dependence (Abbott et al. 2020) [V, delta "
         "A]"},
        {"memantine",
         {1.0, 1.0, 0.8, 25.4},
         179.3,
         "hGluN1/2A IC50 ~1 uM at -70 mV (Gilling et al. 2009) [V]; delta 0.8 [M]"},
        {"mk801",
         {0.03, 1.0, 0.9, 25.4},
         221.3,
         "IC50 ~10-40 nM in 0 Mg [M]; delta ~0.9 (Huettner & Bean 1988) [D]"},
    };
    return drugs;
}

inline const DrugInfo& find_drug(const std::string& name) {
    std::string known;
    for (const auto& d : builtin_drugs()) {
        if (d.name == name) return d;
        known += (known.empty() ? "" : ", ") + d.name;
    }
    throw std::invalid_argument("unknown agent '" + name + "' (known: " + known + ")");
}

} // namespace ketaplast
