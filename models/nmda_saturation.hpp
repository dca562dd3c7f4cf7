// Brunel-Wang saturating NMDA gating, event-driven (docs/science.md §2.1; Brunel & Wang 2001, J Comput
// Neurosci 11:63; Wang 2002, Neuron 36:955):
//
//   dx/dt = -x / tau_r + sum_k delta(t - t_k),   ds/dt = -s / tau_d + alpha x (1 - s)
//   (tau_r 2 ms, tau_d 100 ms, alpha 0.5 / ms); postsynaptic conductance sum_j w_ij s_j(t).
//
// s_j depends only on the spike train of source j, so it is kept per source and updated only at its
// spikes, as NEST's iaf_bw_2001 does (NEST 3.8, models/iaf_bw_2001.cpp, pre_run_hook and update):
// between spikes s is followed as a pure exponential decay with tau_d, and at a spike it jumps by
//
//   Delta s = k0 - (1 - e^{-alpha tau_r}) s(t-),   k0 = X^eps gamma(1 - eps, X),  X = alpha tau_r,
//                                                   eps = tau_r / tau_d,  gamma the lower incomplete gamma.
//
// Why this is exact in the tail: for a spike at t = 0, x = e^{-t/tau_r} and the s equation is linear in
// s, so s(t) = s(0) / Phi(t) + s_single(t) with Phi(t) = exp(t/tau_d + X (1 - e^{-t/tau_r})). For
// t >> tau_r, 1 / Phi -> e^{-X} e^{-t/tau_d} and s_single(t) -> k0 e^{-t/tau_d}, where (substituting
// v = X e^{-t'/tau_r}) k0 = int_0^inf alpha e^{-t'/tau_r + t'/tau_d} e^{-X e^{-t'/tau_r}} dt'
// = X^eps gamma(1 - eps, X). So the jump reproduces the exact amplitude of the exponential tail of s after
// the spike, provided the x of earlier spikes has decayed (its residue is e^{-D/tau_r}: 0.7 % at 100 Hz).
// What the jump does not carry is the ~tau_r rise of s; the postsynaptic NMDA receptor supplies it as a
// dual exponential with tau_rise = tau_r (sim/network/presynaptic_state.hpp). The error of the whole scheme
// against a fine-step integration of the BW equations is measured in tests/test_presynaptic.cpp and
// given in docs/models.md.
#pragma once

#include <cmath>
#include <stdexcept>

namespace ketaplast {

struct BrunelWangParams {
    double alpha_per_ms = 0.5;
    double tau_rise_ms = 2.0;    // tau_r of x
    double tau_decay_ms = 100.0; // tau_d of s
};

// k0 = X^eps gamma(1 - eps, X) = X e^{-X} sum_{n>=0} X^n / (a (a+1) ... (a+n)), a = 1 - eps (the series
// of the lower incomplete gamma, Abramowitz & Stegun 6.5.29). For eps -> 0 it is 1 - e^{-X}.
inline double brunel_wang_k0(const BrunelWangParams& p) {
    const double X = p.alpha_per_ms * p.tau_rise_ms;
    const double a = 1.0 - p.tau_rise_ms / p.tau_decay_ms;
    if (!(X > 0.0) || !(X <= 100.0) || !(a > 0.0))
        throw std::invalid_argument("brunel_wang_k0: needs 0 < alpha tau_rise <= 100, tau_rise < tau_decay");
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 10000 && term > 1e-18 * sum; ++n) {
        term *= X / (a + n);
        sum += term;
    }
    return X * std::exp(-X) * sum;
}

// Per-spike jump of one source's s: Delta s = k0 + k1 s(t-), with k1 = -(1 - e^{-X}).
struct BrunelWangJump {
    double k0 = 0.0, k1 = 0.0, tau_decay_ms = 100.0;
    BrunelWangJump() = default;
    explicit BrunelWangJump(const BrunelWangParams& p)
        : k0(brunel_wang_k0(p)), k1(std::expm1(-p.alpha_per_ms * p.tau_rise_ms)),
          tau_decay_ms(p.tau_decay_ms) {}

    // Decay s over the interval since the source's previous spike, apply the spike, return the jump.
    double spike(double& s, double interval_ms) const {
        const double a = interval_ms / tau_decay_ms;
        s *= a < 700.0 ? std::exp(-a) : 0.0; // (no slow underflow path for long-silent sources)
        const double jump = k0 + k1 * s;
        s += jump;
        return jump;
    }
};

} // namespace ketaplast
