// Presynaptic dynamics applied at spike delivery, per projection: Tsodyks-Markram short-term plasticity
// (models/short_term_plasticity.hpp) and Brunel-Wang saturating NMDA gating (models/nmda_saturation.hpp).
//
// Both depend only on the spike train of the source neuron, so the state is kept per (projection, source
// neuron) and all synapses of one source in a projection share it (the standard presynaptic
// approximation: one terminal state per axon rather than per bouton). At each spike the state is advanced
// exactly from the source's previous spike and gives one multiplier per projection, which scales the
// weights of that spike's synapses in the projection:
//   Tsodyks-Markram: the released fraction u x;
//   Brunel-Wang:     the jump of the source's gating s, times the peak of the dual exponential so that the
//                    target's peak-normalised "nmda" receptor (rise tau_r, decay tau_d) gets a decay part
//                    that jumps by exactly w Delta s (its tail is then w s(t), as in the BW equations).
//
// Determinism: every worker sees every spike of an exchange interval in the same (step, gid) order
// (sim/engine/engine.cpp), so each worker keeps its own replica of the state and updates it for all spikes:
// the replicas stay identical, no worker waits for another, and the multipliers do not depend on the thread
// count. The work is a few exp() per spike and projection with dynamics, done once per worker; projections
// without dynamics cost nothing (one flag test per synapse segment, none per synapse).
//
// Checkpoints: arrays() names worker 0's replica (name, pointer, size), all doubles; after writing restored
// values into them, call copy_to_all_workers().
#pragma once

#include "models/nmda_saturation.hpp"
#include "models/short_term_plasticity.hpp"
#include "sim/config/experiment.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

// A named state array, for checkpoints: name, pointer, element count.
struct NamedArray {
    std::string name;
    double* data = nullptr;
    std::size_t size = 0;
};

class PresynapticState {
  public:
    PresynapticState() = default;
    // population_first_gid[p]: global id of population p's neuron 0 (size = number of populations).
    PresynapticState(const Experiment& experiment, const std::vector<std::uint32_t>& population_first_gid,
                     std::uint32_t workers);

    bool empty() const { return slots_.empty(); }
    // Does projection p scale its spikes (per projection; indexed like experiment.projections)?
    const std::uint8_t* active() const { return active_.data(); }

    // Worker w: the spike of `gid` emitted in step `step` updates w's replica of every projection leaving
    // gid's population that has dynamics; returns the per-projection multipliers (valid for active
    // projections until the next call by the same worker).
    const float* on_spike(std::uint32_t worker, std::int64_t step, std::uint32_t gid);

    // The state of worker 0 (equal to every worker's between exchange intervals), for checkpoints:
    //   presynaptic.<projection>.u, .x, .last_spike_step   (Tsodyks-Markram)
    //   presynaptic.<projection>.s, .last_spike_step       (Brunel-Wang)
    // indexed by the source neuron (population-local id). last_spike_step is an exact integer step.
    std::vector<NamedArray> arrays();
    // After restoring arrays(): make every worker's replica equal to worker 0's.
    void copy_to_all_workers();

    std::size_t bytes() const;

  private:
    enum class Kind : std::uint8_t { tsodyks_markram, brunel_wang };
    struct Slot {
        std::uint32_t projection = 0;
        std::string name;
        Kind kind = Kind::tsodyks_markram;
        TsodyksMarkramParams tm;
        BrunelWangJump bw;
        double bw_scale = 1.0; // peak of the target receptor's dual exponential
        std::uint32_t first_gid = 0, size = 0;
    };
    // One worker's copy: per slot, the state variables (u, x or s) and the last spike step.
    struct Replica {
        std::vector<std::vector<double>> a, b, last_step; // TM: a = u, b = x; BW: a = s, b unused
        std::vector<float> factor;                        // per projection
    };

    std::vector<Slot> slots_;
    std::vector<std::vector<std::uint32_t>> slots_of_population_;
    std::vector<std::uint32_t> population_end_gid_;
    std::vector<std::uint8_t> active_;
    std::vector<Replica> replicas_;
    double dt_ms_ = 0.1;
};

} // namespace ketaplast
