// Tsodyks-Markram short-term plasticity of transmitter release (docs/science.md §5.1; Tsodyks, Pawelzik &
// Markram 1998, Neural Comput 10:821, the "TPM 1998" form; Markram, Wang & Tsodyks 1998, PNAS 95:5323).
//
//   x: fraction of resources recovered, dx/dt = (1 - x) / tau_rec between spikes
//   u: utilisation (facilitating synapses only), du/dt = -u / tau_F between spikes
//   at a spike:  facilitating: u := u + U (1 - u); depressing: u = U always
//                released fraction r = u x;  x := x - r
//
// The released fraction multiplies the synaptic weight: the postsynaptic receptor's own decay plays the
// part of the "active" state y of TPM 1998 (its tau_in), so x recovers directly, which is the limit
// tau_in << tau_rec (3 ms vs 800 ms in the TPM 1998 pyramidal synapse). Between spikes both equations are
// linear with constant coefficients, so the update from one spike to the next is exact:
//   x(t + D) = 1 - (1 - x) e^{-D/tau_rec},   u(t + D) = u e^{-D/tau_F}.
// Plain double arithmetic, no vectorisation: it runs once per spike, not per synapse.
#pragma once

#include <cmath>

namespace ketaplast {

struct TsodyksMarkramParams {
    double U = 0.5;          // utilisation increment (release probability of a rested synapse), (0, 1]
    double tau_rec_ms = 800; // recovery of resources
    double tau_fac_ms = 0;   // decay of facilitation; 0: a depressing synapse (u = U, no facilitation)
    bool facilitating() const { return tau_fac_ms > 0; }
};

// State of one presynaptic terminal (or of all terminals of one source, which share it). A rested
// synapse: x = 1, u = 0 (u is only used by facilitating synapses).
struct TsodyksMarkramState {
    double u = 0.0, x = 1.0;
};

// e^{-a} for a >= 0, without the slow underflow path of exp() for long intervals (a source silent for
// thousands of time constants): below e^{-700} the factor no longer changes x or u in double precision.
inline double decay_factor(double a) {
    return a < 700.0 ? std::exp(-a) : 0.0;
}

// Advance the state over the interval since the previous spike (exactly), apply the spike and return the
// released fraction u x that scales this spike's weight. The first spike of a rested synapse releases U.
inline double tsodyks_markram_spike(const TsodyksMarkramParams& p, TsodyksMarkramState& s,
                                    double interval_ms) {
    s.x = 1.0 - (1.0 - s.x) * decay_factor(interval_ms / p.tau_rec_ms);
    double u = p.U;
    if (p.facilitating()) {
        s.u *= decay_factor(interval_ms / p.tau_fac_ms);
        s.u += p.U * (1.0 - s.u);
        u = s.u;
    }
    const double released = u * s.x;
    s.x -= released;
    return released;
}

} // namespace ketaplast
