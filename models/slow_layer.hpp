// The slow layer (docs/science.md §6.5, §6.7, §6.8, §9 "L3"): per-population biochemical and structural state
// on a coarse clock (minutes to days), driven by activity statistics measured in spiking windows, and
// giving back slowly varying parameters: a multiplicative E->E strength factor and a relative spine
// (synapse) density. Pure ODE code: no I/O, no network.
//
// Inputs (all normalised to 1 at the baseline window, except the rate):
//   rest_signal   NMDAR Ca2+ entry at rest: the drug-unblocked fraction of the NMDA pool (blockade-at-rest
//                 route, §6.5)
//   ampa_drive    AMPAR activation per pyramidal cell (disinhibition route, §6.7)
//   rate_Hz       population firing rate (homeostatic scaling, §6.5; calcium of structural growth, §6.8)
//
// Equations (time in minutes; every constant is a parameter below, with its tag):
//   tau_rest dS/dt  = rest_signal - S                                   S_rest, low-pass (§6.5)
//   tau_K    dK/dt  = S - K                                             eEF2K activity (§6.5)
//   tau_B    dB/dt  = 1 + k_B max(0, 1 - K - theta_rest) - B            BDNF (§6.5, b0 = 1: baseline 1)
//   tau_A    dA/dt  = ampa_drive - A                                    A_glu, low-pass (§6.7)
//   tau_R    dR/dt  = A - R                                             adaptation of the A_glu route [A]
//   tau_T    dT/dt  = B (1 + kappa_A (A/R - 1)) - T                     TrkB (§6.7)
//   tau_m    dm/dt  = h(T) - m,  h(x) = 1 / (1 + exp(-(x - theta_m)/s_m))   mTOR (§6.7)
//            dP/dt  = k_P (m - h(1)) (P_max - P)/(P_max - 1) - (P - 1)/tau_P   synaptic protein (§6.7;
//                                                                       saturating synthesis [A])
//            dn/dt  = r_e (n0 P^nu - n) + nu_struct G(Ca)               spine density (§6.7, §6.8)
//            d ln g/dt = (B - 1)/tau_H - ln g / tau_g                   BDNF-driven AMPA gain (§6.5)
//            d ln s/dt = (1 - rate/rate_target)/tau_s                   homeostatic scaling (§6.5,
//                                                                       van Rossum, Bi & Turrigiano 2000)
//   E->E strength factor = g s P^kappa_P ; synapse count factor = n / n_initial.
// The formation rate r_e n0 P^nu makes the initial density n0 a steady state at P = 1 (a "stressed"
// network has n0 < 1, lower formation at the same elimination; elimination is unchanged by the drug,
// Phoumthipphavong et al. 2016). The calcium of structural growth is the NEST form (Butz & van Ooyen 2013)
// at its steady state for the window's rate: Ca = beta_Ca rate tau_Ca (tau_Ca = 10 s << the slow clock).
#pragma once

#include <array>
#include <cstddef>
#include <string>

namespace ketaplast {

// Calcium-dependent growth of synaptic elements (Butz & van Ooyen 2013; NEST nestkernel/growth_curve.h).
// dz/dt = nu * growth(Ca): linear 1 - Ca/eps; gaussian 2 exp(-((Ca - xi)/zeta)^2) - 1 with xi = (eta +
// eps)/2, zeta = (eps - eta)/(2 sqrt(ln 2)) (zero at Ca = eta and Ca = eps, science.md §6.8 [D]); sigmoid
// 2/(1 + exp((Ca - eps)/psi)) - 1.
enum class GrowthCurve { none, linear, gaussian, sigmoid };
double growth_curve(GrowthCurve curve, double Ca, double eps, double eta, double psi);

// The intracellular calcium trace of structural plasticity, NEST form: dCa/dt = -Ca/tau_Ca + beta_Ca sum
// delta(t - t_spike). Event-driven (exact): decay between spikes, jump at a spike.
struct CalciumTrace {
    double tau_Ca_ms = 10000.0; // NEST docs example [V]
    double beta_Ca = 0.001;     // NEST docs example [V]
    double Ca = 0.0;
    double t_last_ms = 0.0;
    void spike(double t_ms);
    double value_at(double t_ms) const;
    // The mean over a long regular or Poisson train of rate r: beta_Ca r tau_Ca (T26: 5 Hz -> 0.05).
    double steady_state(double rate_Hz) const { return beta_Ca * rate_Hz * tau_Ca_ms * 1e-3; }
};

struct SlowLayerParams {
    // Blockade-at-rest route (docs/science.md §6.5; all [A]: the magnitudes are calibrated, not measured).
    double tau_rest_min = 1.0;  // S_rest low-pass, §6.5 [A]
    double tau_eEF2K_min = 5.0; // eEF2K, §6.5 "tau_K ~ 5 min" [A]
    double tau_BDNF_min = 30.0; // BDNF translation, §6.5 "30-60 min" [A]; 30 so mTOR is back by ~2 h (T32)
    double k_BDNF = 2.5;        // BDNF gain per unit eEF2K drop [A]: 30 % S_rest drop for 40 min -> +20-40 %
                                // AMPA weight at 1-2 h (docs/science.md §6.5 calibration target)
    double theta_rest = 0.0;    // eEF2K drop below which BDNF does not respond [A] (0: linear, §6.5)
    double tau_H_h = 2.0;       // AMPA gain, §6.5 "tau_H ~ 1-3 h" [A]
    double tau_gain_decay_h = 24.0; // return of the BDNF-driven gain (AMPAR turnover) [A]; 0: none
    // BDNF-TrkB-mTOR -> protein -> spines (docs/science.md §6.7).
    double tau_A_min = 5.0; // A_glu low-pass, §6.7 [A]
    double kappa_A = 0.5; // weight of the disinhibition route on TrkB [A]; 1 let the loop AMPA drive -> mTOR
                          // -> protein -> strength -> rate run away in configs/ketamine_week.toml
    // Adaptation of the disinhibition route [A]: TrkB sees the AMPA drive relative to its own slow average R
    // (tau_R), i.e. a glutamate *surge*, not a sustained level. Without it (0) the loop AMPA drive -> TrkB ->
    // mTOR -> protein -> strength -> rate -> AMPA drive has positive DC gain: the week run's E rate climbed
    // 19 -> 30 Hz in 6 h after the drug was gone, and window noise was amplified by it (docs/slow_layer.md).
    // mTOR activation by ketamine is transient (Li et al. 2010: back by ~2 h) although the drive can stay.
    double tau_A_adapt_h = 2.0;
    double tau_TrkB_min = 10.0;       // §6.7 [A]
    double tau_mTOR_min = 15.0;       // §6.7 "~30 min" [A]; 15 so mTOR is back by ~2 h (T32, Li et al. 2010)
    double mTOR_threshold = 1.15;     // h(x) threshold "above baseline" (TrkB units) [A]
    double mTOR_slope = 0.1;          // h(x) slope [A]; 0.05 amplified window noise (docs/slow_layer.md)
    double k_P_per_h = 0.25;          // protein synthesis per unit mTOR above baseline [A], calibrated to T32
    double tau_P_days = 4.0;          // §6.7 "2-4 days" [A]
    double protein_max = 2.0;         // synthesis saturates at this level (translation capacity) [A]
    double spine_nu = 3.0;            // formation ~ P^nu [A]: density +10-30 % from day 1 to 2 weeks (T32)
    double spine_lifetime_days = 7.0; // 1/r_e: spine turnover [A]; persistence ~1-2 weeks (T32, T35)
    double initial_spine_density = 1.0;     // n0, relative to a healthy network (stressed < 1) [A]
    double protein_strength_exponent = 0.5; // strength ~ P^kappa_P (GluA1/PSD-95 set slots, §6.6) [A]
    // How protein becomes strength. protein_power: the factor P^kappa_P at once. trafficking: AMPA receptors
    // per synapse (science.md §6.6), a three-pool model per population in baseline units -- intracellular I,
    // extrasynaptic surface E, synaptic S bound to PSD slots Q:
    //   dI/dt = (P^kappa_P - I) / tau_AMPAR + k_exo (E - I)            synthesis follows protein, exo = endo
    //   dE/dt = k_exo (I - E) - k_in E (Q - S) / Q + k_out S            capture into free slots, release
    //   dS/dt = k_in E (Q - S) / Q - k_out S
    //   dQ/dt = (Q0 P^kappa_P - Q) / tau_slot                           slots set by synaptic protein
    // with k_out = 1/tau_dwell, k_in = k_out Q0 / (Q0 - 1) (S = 1 is the baseline, occupancy 1/Q0), and
    // strength ~ S. The steady state is S = P^kappa_P (every pool and the slots scale together), so the
    // calibrations hold; the time course adds capture (minutes), slot turnover (hours) and receptor turnover
    // (a day) between protein and strength.
    enum class StrengthExpression {
        protein_power,
        trafficking
    } expression = StrengthExpression::protein_power;
    double tau_exo_min = 20.0;       // recycling / exocytosis, §6.6 "10-30 min" [M]
    double tau_dwell_min = 5.0;      // synaptic dwell, §6.6 "1-10 min" [M]
    double tau_slot_h = 3.0;         // PSD slot turnover, §6.6 "hours" [M]
    double tau_AMPAR_h = 24.0;       // receptor synthesis/degradation turnover [A] (as tau_gain_decay_h)
    double slots_per_receptor = 2.0; // Q0: slots per synaptic receptor at baseline (occupancy 0.5) [A]
    // Homeostatic synaptic scaling (docs/science.md §6.5; van Rossum, Bi & Turrigiano 2000 form).
    double tau_scaling_h = 60.0; // 48 h at rate 0 -> exp(48/60) = 2.2x (T33, Wierenga et al. 2005) [A]
    double rate_target_Hz = 0.0; // 0: the baseline window's rate
    // Inhibitory synapses onto the population scale the other way (Kilman, van Rossum & Turrigiano 2002:
    // the 2-day activity block that scales mEPSCs up scales mIPSCs down; T33 "mIPSC down"): factor
    // scaling^(-gamma). gamma [A]: 0.5 gives -33 % at 48 h of block against +120 % excitatory (Kilman report
    // a smaller mIPSC and ~50 % fewer GABA_A-receptor-positive sites; the exact ratio is not in the
    // abstract).
    double inhibitory_scaling_exponent = 0.5;
    // Structural growth (docs/science.md §6.8; off by default).
    GrowthCurve growth = GrowthCurve::none;
    double growth_per_day = 0.0; // nu, spine density units per day [A]
    double Ca_target = 0.0;      // eps; 0: the baseline's Ca (homeostatic set point)
    double Ca_eta = 0.0;         // eta (gaussian)
    double Ca_psi = 0.1;         // psi (sigmoid), Ca units
    double tau_Ca_ms = 10000.0;  // NEST docs example [V]
    double beta_Ca = 0.001;      // NEST docs example [V]
    // Bounds of the strength factors (a runaway guard, not biology).
    double strength_min = 0.05, strength_max = 20.0;
    // Integration step of the slow clock (RK4).
    double step_min = 0.5;

    // Reasons a parameter set is unusable ("" if fine): the config reader names the key.
    std::string check() const;
    double mTOR_activation(double TrkB) const; // h
};

struct SlowInputs {
    double rest_signal = 1.0;
    double ampa_drive = 1.0;
    double rate_Hz = 0.0;
};

struct SlowState {
    static constexpr std::size_t size = 15;
    // S_rest, eEF2K, BDNF, A_glu, TrkB, mTOR, protein, spine density, ln(BDNF gain), ln(scaling), A_glu
    // reference (adaptation), AMPAR pools I, E, S and slots Q (trafficking; held at baseline otherwise)
    std::array<double, size> y{};
    double& rest() { return y[0]; }
    double& eEF2K() { return y[1]; }
    double& BDNF() { return y[2]; }
    double& A_glu() { return y[3]; }
    double& TrkB() { return y[4]; }
    double& mTOR() { return y[5]; }
    double& protein() { return y[6]; }
    double& spines() { return y[7]; }
    double& log_gain() { return y[8]; }
    double& log_scaling() { return y[9]; }
    double& A_reference() { return y[10]; }
    double& synaptic_AMPAR() { return y[13]; }
    static const std::array<const char*, size>& names();
};

class SlowLayer {
  public:
    explicit SlowLayer(const SlowLayerParams& p);
    // The baseline steady state (every signal 1, density n0, factors 1); `baseline_rate_Hz` becomes the
    // scaling target (unless rate_target_Hz is set) and sets the calcium set point (unless Ca_target is).
    void reset(double baseline_rate_Hz);
    // Integrate dt_min minutes with the inputs held constant (zero-order hold between windows).
    void advance(double dt_min, const SlowInputs& in);

    const SlowState& state() const { return s_; }
    SlowState& state() { return s_; }
    const SlowLayerParams& params() const { return p_; }
    double rate_target_Hz() const { return rate_target_; }
    double Ca_target() const { return Ca_target_; }
    double Ca(double rate_Hz) const { return p_.beta_Ca * rate_Hz * p_.tau_Ca_ms * 1e-3; }
    // Multiplicative factor on E->E weights relative to the start, and the bounded parts of it.
    double strength_factor() const;
    double bdnf_gain() const;
    double scaling() const;
    // The factor on inhibitory synapses onto the population: scaling()^(-inhibitory_scaling_exponent).
    double inhibitory_factor() const;
    // Spine (synapse) density relative to the start.
    double spine_factor() const;

  private:
    std::array<double, SlowState::size> rhs(const std::array<double, SlowState::size>& y,
                                            const SlowInputs& in) const;
    SlowLayerParams p_;
    SlowState s_;
    double mTOR0_ = 0, rate_target_ = 0, Ca_target_ = 0;
};

} // namespace ketaplast
