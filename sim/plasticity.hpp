// Long-term plasticity of projections at spike delivery: pair and triplet STDP (models/stdp.hpp).
//
// Where the work happens (all event-driven; nothing per synapse or per neuron per step):
// - Traces are per neuron, stored as (value just after the last jump, step of that jump) and decayed on
//   demand with TraceDecay: presynaptic traces r1, r2 per (projection, source neuron), postsynaptic traces
//   o1, o2 per (projection, target neuron).
// - A presynaptic spike walks its own synapses anyway (delivery): each plastic synapse transmits its
//   weight, then is depressed with its target's o1 (Engine::deliver calls deliver_and_depress()).
// - A postsynaptic spike must reach the synapses onto its neuron, which are stored by source. Each worker
//   keeps, per shard and plastic projection, a target -> synapse index (CSR by target: the synapse's
//   position in the shard and its source), built once; potentiation walks that list. Chosen over NEST's
//   post-spike history consumed at the next pre spike because it is exact for sources that stay silent
//   for any time (a history must be kept until every source has spiked again, or cut, which loses
//   potentiation), needs no per-entry access counts, and costs 8 bytes per plastic synapse.
// - Order within a time step (Brian2's): pre spikes first (transmit, depress, jump r1 and r2), then post
//   spikes (potentiate with r1 including the step's pre spikes, jump o1 and o2).
//
// Determinism and threads: the synapses onto a neuron, its postsynaptic traces and its target index belong
// to the worker that owns the neuron, which alone changes them. Presynaptic traces depend only on the
// source's spikes: every worker keeps a replica and updates it for every spike, in the merged (step, gid)
// order that all workers see (as sim/presynaptic_state.hpp). Every weight therefore sees the same operations
// in the same order for any thread count.
//
// Checkpoints: arrays() names the weights (in a partition-independent order: by target, then source, then
// storage order) and the traces; after restoring them call restored().
#pragma once

#include "models/stdp.hpp"
#include "sim/experiment.hpp"
#include "sim/partition.hpp"
#include "sim/synapse_store.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

class StateArchive;

class PlasticityState {
  public:
    PlasticityState() = default;
    // After the shards are built: clips the initial weights of plastic projections to their bounds and
    // builds the target indexes.
    PlasticityState(const Experiment& experiment, const std::vector<std::uint32_t>& population_first_gid,
                    std::vector<std::vector<SynapseShard>>& shards, std::uint32_t workers);

    bool empty() const { return slots_.empty(); }
    // Is projection p plastic (indexed like experiment.projections)?
    const std::uint8_t* active() const { return active_.data(); }

    // Worker w, presynaptic spike of `gid` in `step`: for every plastic projection leaving gid's
    // population, the depression per unit o1, A2_minus + A3_minus r2(t - eps); then r1 and r2 jump. The
    // returned array (per projection) stays valid until the worker's next call.
    const double* on_pre(std::uint32_t worker, std::int64_t step, std::uint32_t gid);

    // Delivery of one segment of plastic synapses of projection p in `step`: each synapse adds its weight
    // (times the presynaptic factor f) to the ring slot `buffer` (indexed by target offset), then is
    // depressed by depression_per_o1 x o1 of its target. local_begin: the shard's first target.
    void deliver_and_depress(std::uint32_t projection, std::int64_t step, double depression_per_o1, float f,
                             std::uint32_t local_begin, const std::uint16_t* target, float* weight,
                             std::uint32_t count, float* buffer) const;

    // Worker w, after the step's presynaptic spikes: a spike of `gid` (owned by w, inside `block`)
    // potentiates the plastic synapses onto it, then its o1 and o2 jump.
    void on_post(std::uint32_t worker, std::int64_t step, std::uint32_t gid,
                 std::vector<SynapseShard>& worker_shards);
    // Does gid's population receive a plastic projection? (cheap test before on_post)
    bool receives(std::uint32_t gid) const;

    // Checkpoint: weights, traces and their last-jump steps of every plastic projection.
    void checkpoint(StateArchive& a, std::vector<std::vector<SynapseShard>>& shards);

    // Synapses of each plastic projection, and how many are within 1% of the range from a bound.
    struct Saturation {
        std::uint32_t projection = 0;
        std::uint64_t synapses = 0, at_bound = 0;
    };
    std::vector<Saturation> saturation(const std::vector<std::vector<SynapseShard>>& shards) const;
    const std::string& name(std::uint32_t projection) const;
    const StdpRule& rule(std::uint32_t projection) const;

    std::size_t bytes() const;           // traces, replicas and target indexes
    std::uint64_t synapse_count() const; // plastic synapses

  private:
    struct Slot {
        std::uint32_t projection = 0;
        std::string name;
        StdpRule rule;
        std::uint32_t source_population = 0, source_first_gid = 0, source_size = 0;
        std::uint32_t target_population = 0, target_first_gid = 0, target_size = 0;
        TraceDecay decay_plus, decay_minus, decay_x, decay_y;
        // Postsynaptic traces, by population-local target id (each worker touches only its neurons).
        std::vector<double> o1, o2;
        std::vector<std::int64_t> post_last_step;
        std::uint64_t synapses = 0;
    };
    struct PreTraces { // one worker's replica, per slot
        std::vector<double> r1, r2;
        std::vector<std::int64_t> last_step;
    };
    struct Replica {
        std::vector<PreTraces> slots;
        std::vector<double> depression; // per projection
    };
    // Synapses of one plastic projection in one shard, by target (CSR).
    struct TargetIndex {
        std::uint32_t slot = 0, shard = 0; // shard: index among the worker's shards
        std::uint32_t population = 0, local_begin = 0, local_count = 0;
        std::vector<std::uint32_t> offsets; // local_count + 1
        std::vector<std::uint32_t> synapse; // position in the shard's arrays
        std::vector<std::uint32_t> source;  // population-local source id
    };
    // Pointers to every weight of slot k, by target, then source, then storage order.
    std::vector<float*> weights_in_order(std::size_t k, std::vector<std::vector<SynapseShard>>& shards) const;

    std::vector<Slot> slots_;
    std::vector<std::int32_t> slot_of_projection_;                  // -1: static
    std::vector<std::vector<std::uint32_t>> slots_from_population_; // by source population
    std::vector<std::uint8_t> receives_;                            // by population
    std::vector<std::uint32_t> population_end_gid_;
    std::vector<std::uint8_t> active_;
    std::vector<Replica> replicas_;
    std::vector<std::vector<TargetIndex>> indexes_; // per worker
};

// Multiplies every weight of projection `projection` by `factor` (> 0): the hook for slower processes
// (homeostatic scaling, the BDNF layer). Plastic weights stay within their bounds (clipped); 16-bit weight
// codes are scaled exactly by scaling the projection's code scale. Call between Engine::run calls (not
// while the engine runs). Thread-count independent: the same operation on every synapse.
void scale_projection_weights(std::vector<std::vector<SynapseShard>>& shards,
                              std::vector<WeightScale>& scales, const PlasticityState& plasticity,
                              std::uint32_t projection, double factor);

} // namespace ketaplast
