// Voltage-dependent block of NMDA receptor channels: Mg2+ and open-channel blockers at equilibrium
// (docs/science.md §2.3, §3.3). Pure functions of V (mV) and concentrations; the kinetic trapping scheme of
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
// coefficient n (science.md §3.3; ketamine: K_d(-70) = 0.71 uM, n = 1 (fitted 0.84; models/drugs.hpp says
// why), delta = 0.79, Gilling 2009).
struct ChannelBlocker {
    double K_d_uM_at_minus70 = 0.71;
    double hill = 1.0;
    double delta = 0.79;
    double V_T_mV = 25.4; // RT/F at 22 °C (26.7 mV at 37 °C)

    // Kinetic trapping block (docs/science.md §3.2; models/exp_receptors.hpp). Macroscopic rates per
    // agonist-bound receptor at -70 mV, as measured with saturating agonist (Gilling et al. 2009); K_d of
    // the kinetic scheme is k_off / k_on. delta is split between the rates: k_on(V) = k_on e^{-delta_on
    // (V+70)/V_T}, k_off(V) = k_off e^{+delta_off (V+70)/V_T}, delta_on = on_share delta.
    double k_on_per_uM_per_s = 0.19;
    double k_off_per_s = 0.15;
    double on_share = 0.5;         // delta_on / delta (docs/science.md §3.2 default split: half each)
    double p_escape = 0.0;         // probability a blocked channel loses the drug when it deactivates
    double k_off_closed_per_s = 0; // slow egress from closed (trapped) channels
    double closed_access = 0;      // binding to closed receptors, as a fraction of the open-channel rates
    double K_d_factor_2CD = 1.0;   // affinity at GluN2C/2D receptors relative to 2A/2B (K_d x factor)

    double K_d_uM(double V_mV) const { return K_d_uM_at_minus70 * std::exp(delta * (V_mV + 70.0) / V_T_mV); }
    double k_on_at(double V_mV) const {
        return k_on_per_uM_per_s * std::exp(-on_share * delta * (V_mV + 70.0) / V_T_mV);
    }
    double k_off_at(double V_mV) const {
        return k_off_per_s * std::exp((1.0 - on_share) * delta * (V_mV + 70.0) / V_T_mV);
    }
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
