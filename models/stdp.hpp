// Spike-timing-dependent plasticity: pair-based (Song, Miller & Abbott 2000) and triplet (Pfister &
// Gerstner 2006) rules, in one trace form (docs/science.md §6.1, §6.2; docs/plasticity.md).
//
// Presynaptic traces r1 (tau_plus_ms), r2 (tau_x_ms); postsynaptic traces o1 (tau_minus_ms), o2 (tau_y_ms);
// each decays exponentially and jumps at its neuron's spikes (+1 all-to-all; set to 1 nearest-spike).
//   pre spike:  w -= scale_minus(w) * o1 * (A2_minus + A3_minus * r2(t - eps)),  then r1, r2 jump
//   post spike: w += scale_plus(w)  * r1 * (A2_plus  + A3_plus  * o2(t - eps)),  then o1, o2 jump
// additive (Song et al. 2000):         scale_plus = scale_minus = w_max, then clip to [w_min, w_max]
// multiplicative (soft bounds; Rubin, Lee & Sompolinsky 2001; Gutig et al. 2003 with mu = 1):
//                                      scale_plus = w_max - w, scale_minus = w - w_min
// The pair rule is the special case A3_plus = A3_minus = 0 (Song's A+ = A2_plus, A- = A2_minus). The A
// values are in units of w_max (Song et al. 2000's convention), so a rule's parameters do not depend on
// the receptor's weight units.
//
// Timing: spike times at the somata (Bi & Poo 1998's Delta t = t_post - t_pre); transmission delays do not
// enter the rule. Within one time step, pre spikes act before post spikes (Brian2's default order), so a
// pre and a post spike in the same step count as post after pre (Delta t = 0: potentiation).
#pragma once

#include "models/calcium_rule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

struct StdpRule {
    // calcium: the Graupner-Brunel rule (models/calcium_rule.hpp); its weights are w_min + rho (w_max -
    // w_min) and the trace fields below are unused.
    enum class Kind : std::uint8_t { pair, triplet, calcium } kind = Kind::pair;
    CalciumRule calcium;
    enum class Bounds : std::uint8_t { additive, multiplicative } bounds = Bounds::additive;
    bool nearest_spike = false; // traces are set to 1 at a spike instead of incremented
    double tau_plus_ms = 20.0, tau_minus_ms = 20.0;
    double tau_x_ms = 0.0, tau_y_ms = 0.0; // triplet traces (0: unused)
    double A2_plus = 0.005, A3_plus = 0.0, A2_minus = 0.00525, A3_minus = 0.0;
    double w_min = 0.0, w_max = 1.0; // nS

    // Weight after a presynaptic spike that finds the postsynaptic trace o1 and, just before its own jump,
    // its trace r2.
    float depress(float w, double o1, double r2) const {
        return depress_by(w, o1 * (A2_minus + A3_minus * r2));
    }
    // Weight after a postsynaptic spike that finds the presynaptic trace r1 and, just before its own jump,
    // its trace o2.
    float potentiate(float w, double r1, double o2) const {
        return potentiate_by(w, r1 * (A2_plus + A3_plus * o2));
    }
    // The same with the factor in brackets already multiplied in (amount >= 0).
    float depress_by(float w, double amount) const {
        const double scale = bounds == Bounds::additive ? w_max : double(w) - w_min;
        return float(std::clamp(double(w) - scale * amount, w_min, w_max));
    }
    float potentiate_by(float w, double amount) const {
        const double scale = bounds == Bounds::additive ? w_max : w_max - double(w);
        return float(std::clamp(double(w) + scale * amount, w_min, w_max));
    }
    // A trace's value after its neuron's spike, given its decayed value just before.
    double jump(double before) const { return nearest_spike ? 1.0 : before + 1.0; }
};

// Named triplet parameter sets (science.md §6.2; Pfister & Gerstner 2006, Table 4, as recalled there [M]).
// The values of A2_plus / A3_plus for the visual-cortex all-to-all set disagree between docs/science.md's
// recollection of PG2006 (5e-10 / 6.2e-3) and NESTML's stdp_triplet default (7.5e-10 / 9.3e-3 [V]);
// both are offered ("visual_cortex_all_to_all" = science.md, "visual_cortex_all_to_all_nestml" = NESTML),
// the former is the default until PG2006 Table 4 is checked (docs/plasticity.md).
struct TripletSet {
    const char* name;
    double tau_plus_ms, tau_minus_ms, tau_x_ms, tau_y_ms;
    double A2_plus, A3_plus, A2_minus, A3_minus;
    bool nearest_spike;
};

inline const std::vector<TripletSet>& triplet_sets() {
    static const std::vector<TripletSet> sets = {
        {"visual_cortex_all_to_all", 16.8, 33.7, 101.0, 125.0, 5e-10, 6.2e-3, 7e-3, 2.3e-4, false},
        {"visual_cortex_all_to_all_nestml", 16.8, 33.7, 101.0, 125.0, 7.5e-10, 9.3e-3, 7e-3, 2.3e-4, false},
        {"visual_cortex_nearest_spike", 16.8, 33.7, 714.0, 40.0, 8.8e-11, 5.3e-2, 6.6e-3, 3.1e-3, true},
        {"hippocampal_culture_all_to_all", 16.8, 33.7, 946.0, 27.0, 6.1e-3, 6.7e-3, 1.6e-3, 1.4e-3, false},
        // Minimal model: no r2 (A3_minus = 0), so tau_x is irrelevant; any positive value.
        {"minimal_visual_all_to_all", 16.8, 33.7, 101.0, 114.0, 0.0, 6.5e-3, 7.1e-3, 0.0, false},
    };
    return sets;
}

// Decay factor exp(-n dt / tau) of a trace n steps after its last jump: a table for the common short
// gaps (the same expression as the direct computation, so both give identical values), exp beyond.
class TraceDecay {
  public:
    TraceDecay() = default;
    TraceDecay(double tau_ms, double dt_ms) : tau_ms_(tau_ms), dt_ms_(dt_ms) {
        table_.resize(kTable);
        for (std::size_t n = 0; n < kTable; ++n)
            table_[n] = tau_ms > 0.0 ? std::exp(-double(n) * dt_ms / tau_ms) : (n == 0 ? 1.0 : 0.0);
    }
    double operator()(std::int64_t steps) const {
        if (steps < std::int64_t(kTable)) return table_[std::size_t(steps)];
        return tau_ms_ > 0.0 ? std::exp(-double(steps) * dt_ms_ / tau_ms_) : 0.0;
    }

  private:
    static constexpr std::size_t kTable = 4096;
    double tau_ms_ = 1.0, dt_ms_ = 0.1;
    std::vector<double> table_;
};

} // namespace ketaplast
