// Voltage-dependent block of NMDA receptor channels: Mg2+ and open-channel blockers at equilibrium
// (SCIENCE.md §2.3, §3.3). Pure functions of V (mV) and concentrations; the kinetic trapping scheme of
// §3.2 builds on the same K(V) forms.
#pragma once

#include <cmath>
#include <vector>

namespace ketaplast {

// Woodhull block: B(V) = 1 / (1 + [Mg]/K_Mg(V)), K_Mg(V) = K0 exp(slope V). The Jahr & Stevens (1990)
// form is K0 = 3.57 mM, slope = 0.062 per mV (zδF/RT; δ ~ 0.8 at 22-35 °C), as in Brunel & Wang 2001.
struct MgBlock {
    double Mg_mM = 1.0;
    double K0_mM = 3.57;
    double slope_per_mV = 0.062;

    double K_Mg_mM(double V_mV) const { return K0_mM * std::exp(slope_per_mV * V_mV); }
    // Fraction of channels not blocked by Mg2+.
    double unblocked(double V_mV) const { return 1.0 / (1.0 + Mg_mM / K_Mg_mM(V_mV)); }
};

// An open-channel blocker at equilibrium: K_d(V) = K_d(-70 mV) exp(delta (V + 70) / V_T), with a Hill
// coefficient n (SCIENCE.md §3.3; ketamine: K_d(-70) = 0.71 uM, n = 0.84, delta = 0.79, Gilling 2009).
struct ChannelBlocker {
    double K_d_uM_at_minus70 = 0.71;
    double hill = 1.0;
    double delta = 0.79;
    double V_T_mV = 25.4; // RT/F at 22 °C (26.7 mV at 37 °C)

    double K_d_uM(double V_mV) const { return K_d_uM_at_minus70 * std::exp(delta * (V_mV + 70.0) / V_T_mV); }
    // (D / K_d(V))^n: the blocker's term beside 1 and [Mg]/K_Mg in the equilibrium partition.
    double occupancy_ratio(double conc_uM, double V_mV) const {
        return conc_uM <= 0.0 ? 0.0 : std::pow(conc_uM / K_d_uM(V_mV), hill);
    }
};

// Fraction of NMDA channels free of Mg2+ and of every blocker, at equilibrium with competitive block
// (one pore, one blocker at a time): 1 / (1 + [Mg]/K_Mg(V) + sum_d (D_d / K_d(V))^n_d).
inline double nmda_unblocked_fraction(const MgBlock& mg, const std::vector<ChannelBlocker>& blockers,
                                      const std::vector<double>& conc_uM, double V_mV) {
    double denominator = 1.0 + mg.Mg_mM / mg.K_Mg_mM(V_mV);
    for (std::size_t d = 0; d < blockers.size(); ++d)
        denominator += blockers[d].occupancy_ratio(conc_uM[d], V_mV);
    return 1.0 / denominator;
}

} // namespace ketaplast
