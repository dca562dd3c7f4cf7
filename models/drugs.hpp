// NMDA-receptor channel blockers (docs/science.md §3.1-3.3): for each agent the equilibrium constants (K_d at
// -70 mV in 0 Mg, Hill coefficient, voltage dependence delta) used by the quick equilibrium form and by
// `ketaplast pharmacology block`, and the kinetic trapping constants used by default in runs
// (models/exp_receptors.hpp): macroscopic on/off rates per agonist-bound receptor at -70 mV, escape on
// deactivation, slow egress from closed channels, access to closed receptors, GluN2C/2D selectivity.
// Every number names its source and docs/science.md tag; docs/pharmacology.md explains the choices.
#pragma once

#include "models/nmda_block.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace ketaplast {

struct DrugInfo {
    std::string name;
    ChannelBlocker block;
    double molar_mass_g_per_mol; // free base (docs/science.md §0)
    std::string source;
};

namespace drug_table {

// Equilibrium part: K_d(-70 mV, 0 Mg) in uM, Hill coefficient, delta (V_T = 25.4 mV, 22 °C).
inline ChannelBlocker equilibrium(double K_d_uM, double hill, double delta) {
    ChannelBlocker b;
    b.K_d_uM_at_minus70 = K_d_uM;
    b.hill = hill;
    b.delta = delta;
    b.V_T_mV = 25.4;
    return b;
}

// Kinetic part: macroscopic k_on (per uM per s) and k_off (per s) at -70 mV with saturating agonist.
inline ChannelBlocker kinetic(ChannelBlocker b, double k_on_per_uM_per_s, double k_off_per_s) {
    b.k_on_per_uM_per_s = k_on_per_uM_per_s;
    b.k_off_per_s = k_off_per_s;
    return b;
}

// Ketamine (racemic). Gilling et al. 2009 report, for hGluN1/2A at -70 mV, IC50 0.71 uM and macroscopic
// k_on 0.15 +- 0.05 per uM per s, k_off 0.22 +- 0.05 per s, whose ratio (1.47 uM) is twice the IC50. We take
// rates within their errors that reproduce both: k_on 0.19, k_off 0.15 -> K_d 0.79 uM, tau_on 2.9 s at
// 1 uM and 0.49 s at 10 uM (T4, T5). "Fully trapped" (Gilling): no escape on deactivation; the 14 % lost in
// 120 s without agonist (Mealing et al. 1999: 86 % retained) is slow egress from closed channels,
// -ln(0.86) / 120 s = 1.26e-3 per s [D]. Equilibrium Hill coefficient 1, not Gilling's fitted 0.84
// (docs/science.md §3.3 allows "0.84 (or 1)"): in the competitive partition 1 / (1 + Mg/K_Mg + (D/K_d)^n) a
// drug term with n != 1 shifts the IC50 by (1 + Mg/K_Mg)^(1/n) -- x30.8 at -66 mV in 1 mM Mg instead of T3's
// x17.8 -- and the kinetic scheme the runs use is one-site (n = 1), so both forms now agree on the shift.
inline ChannelBlocker ketamine() {
    ChannelBlocker b = kinetic(equilibrium(0.71, 1.0, 0.79), 0.19, 0.15);
    b.k_off_closed_per_s = 1.26e-3;
    return b;
}
inline ChannelBlocker scaled_on(ChannelBlocker b, double k_on_factor, double K_d_eq_uM) {
    b.k_on_per_uM_per_s *= k_on_factor;
    b.K_d_uM_at_minus70 = K_d_eq_uM;
    return b;
}

} // namespace drug_table

inline const std::vector<DrugInfo>& builtin_drugs() {
    using namespace drug_table;
    static const std::vector<DrugInfo> drugs = [] {
        std::vector<DrugInfo> d;
        d.push_back({"ketamine", ketamine(), 237.7,
                     "racemic; IC50 0.71 uM (nH 0.84 fitted, 1 here), delta 0.79, k_on/k_off within the "
                     "errors of Gilling et al. "
                     "2009 [V]; closed-channel egress from Mealing et al. 1999 [D]"});
        // S-ketamine: [3H]MK-801 Ki 0.30 vs 1.4 uM for R (Ebert 1997, via science.md): k_on x 1.65, IC50 x
        // 0.6.
        d.push_back({"esketamine", scaled_on(ketamine(), 1.65, 0.71 * 0.6), 237.7,
                     "S-ketamine; k_on 1.65 x racemic, IC50 0.6 x (Ebert 1997 Ki ratio) [D from V2]"});
        d.push_back({"arketamine", scaled_on(ketamine(), 0.35, 0.71 / 0.35), 237.7,
                     "R-ketamine; k_on 0.35 x racemic (R/S ~4.7, Ebert 1997) [D from V2]"});
        d.push_back({"norketamine", scaled_on(ketamine(), 1.0 / 6.0, 0.71 * 6.0), 223.7,
                     "k_on racemic / 6 (Ki ratio ~8, range 5-8; Ebert 1997, Salat 2015) [D from V2, A]"});
        {
            // (2R,6R)-HNK: GluN1/2A IC50 46 uM at pH 7.2, weak voltage dependence, inhibits resting receptors
            // (Abbott et al. 2020) -> binding to closed receptors at the open-channel rates [A].
            ChannelBlocker b = kinetic(equilibrium(46.0, 1.0, 0.3), 0.015, 0.7);
            b.closed_access = 1.0;
            d.push_back(
                {"hnk_2r6r", b, 239.7,
                 "(2R,6R)-HNK; IC50 46 uM, 10x slower onset, resting-receptor block (Abbott et al. 2020) "
                 "[V]; delta 0.3 and closed access [A]"});
        }
        {
            // Memantine: macroscopic k_on 0.32 per uM per s, k_off 0.53 per s, IC50 ~1 uM (Gilling 2009); 1/6
            // of blocked channels release the drug on closure (Blanpied et al. 1997); the same closed-channel
            // egress as ketamine [A]. GluN2C/2D: oocyte IC50s 0.9/0.4 (2A/2B) vs 0.3/0.3 uM (2C/2D) in 0 Mg
            // [V2] -> K_d x 0.46 at 2C/2D.
            ChannelBlocker b = kinetic(equilibrium(1.0, 1.0, 0.8), 0.32, 0.53);
            b.p_escape = 1.0 / 6.0;
            b.k_off_closed_per_s = 1.26e-3;
            b.K_d_factor_2CD = 0.3 / 0.65;
            d.push_back(
                {"memantine", b, 179.3,
                 "IC50 ~1 uM, k_on 0.32, k_off 0.53 (Gilling et al. 2009) [V]; escape 1/6 on closure "
                 "(Blanpied et al. 1997) [V]; delta 0.8 [M]; 2C/2D selectivity from oocyte IC50s [V2]"});
        }
        {
            // MK-801: open-channel k_on ~1e7 per M per s [M] x Po 0.4; recovery with agonist present tau 90
            // min at -75 mV and 2 min at +30 mV (Huettner & Bean 1988): voltage dependence on k_off only,
            // e-fold per 105 mV / ln(45) = 27.6 mV -> delta 0.92, k_off(-75) = 1/5400 s -> k_off(-70) 2.22e-4
            // per s [D].
            ChannelBlocker b = kinetic(equilibrium(0.03, 1.0, 0.9), 4.0, 2.22e-4);
            b.delta = 0.92;
            b.on_share = 0.0;
            d.push_back({"mk801", b, 221.3,
                         "IC50 ~10-40 nM in 0 Mg [M]; k_on ~1e7 /M/s open [M]; unblock tau 90 min at -75 mV, "
                         "2 min at +30 mV (Huettner & Bean 1988) [V]; fully trapped"});
        }
        return d;
    }();
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
