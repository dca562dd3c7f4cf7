// Long-term plasticity of projections at spike delivery: pair and triplet STDP (models/stdp.hpp) and the
// Graupner-Brunel calcium rule (models/calcium_rule.hpp).
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
// order that all workers see (as sim/network/presynaptic_state.hpp). Every weight therefore sees the same
// operations in the same order for any thread count.
//
// Calcium rule (per synapse, event-driven): each synapse keeps its calcium c and efficacy rho as of its
// last calcium event, and at most one pending presynaptic transient (arrival step t_pre + D, amplitude
// C_pre,eff fixed when the spike is delivered). Any event on a synapse first applies a pending transient
// that is due, advancing rho exactly to it (CalciumRule::advance), then advances to the event itself. A
// presynaptic spike while a transient is still pending (presynaptic rate above 1/D: 73 Hz for the DP set,
// 217 Hz for the cortical-slices set) merges the older one into the newer (its decayed amplitude is added
// at the newer arrival), dropping the older one's calcium between the two arrivals. C_pre,eff = C_pre (1 -
// f_block) B_Mg(V) / B_Mg(V_ref) with the target's membrane potential and the drug-blocked fraction of its
// NMDA pool at delivery (up to one exchange interval after the spike). Noise: Philox keyed on (seed,
// projection, target gid; source gid, event step), so the same for any thread count; synapses of one
// source onto one target (multapses) get the same calcium and the same noise.
//
// Checkpoints: arrays() names the weights (in a partition-independent order: by target, then source, then
// storage order) and the traces; after restoring them call restored().
#pragma once

#include "models/stdp.hpp"
#include "sim/config/experiment.hpp"
#include "sim/network/synapse_store.hpp"
#include "sim/parallel/partition.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

class StateArchive;
class NeuronGroup;

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
    // worker, shard (index among the worker's shards) and first (position of the segment's first synapse
    // in the shard) locate per-synapse state of the calcium rule; source_gid keys its noise.
    void deliver_and_depress(std::uint32_t worker, std::uint32_t shard, std::uint32_t first,
                             std::uint32_t source_gid, std::uint32_t projection, std::int64_t step,
                             double depression_per_o1, float f, std::uint32_t local_begin,
                             const std::uint16_t* target, float* weight, std::uint32_t count, float* buffer);

    // Calcium rule with NMDA coupling: the target populations' membrane potentials and drug-blocked
    // fractions (groups by population index; call once after the network is built, before running).
    void bind_neurons(const Experiment& experiment, const std::vector<NeuronGroup*>& groups);

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
        // Calcium rule: presynaptic delay in steps, the target's V and blocked fractions (NMDA coupling),
        // B_Mg parameters and 1 / B_Mg(V_ref).
        bool calcium = false;
        std::int64_t D_steps = 0;
        const float* V_mV = nullptr;
        std::vector<const double*> blocked;
        double Mg_over_K0 = 0, Mg_slope_per_mV = 0, inv_B_ref = 1;
    };
    // Per-synapse state of the calcium rule, parallel to one shard's arrays (empty if the shard has no
    // calcium-rule synapses).
    struct CalciumState {
        std::vector<float> c, rho, pending_amp;
        std::vector<std::int64_t> last_step, pending_step;
    };
    // Advance synapse `pos` to `to_step` (rho and c; weight follows rho). kind: 0 presynaptic arrival,
    // 1 postsynaptic spike (part of the noise key).
    void advance(const Slot& s, CalciumState& cs, std::size_t pos, std::int64_t to_step, float& weight,
                 std::uint32_t source_gid, std::uint32_t target_gid, int kind) const;
    // Apply a pending presynaptic transient of synapse pos due at or before `step`.
    void flush(const Slot& s, CalciumState& cs, std::size_t pos, std::int64_t step, float& weight,
               std::uint32_t source_gid, std::uint32_t target_gid) const;
    // C_pre,eff for population-local target t.
    double pre_amplitude(const Slot& s, std::uint32_t t) const;
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
    struct Position {
        std::uint32_t worker, shard, synapse;
    };
    std::vector<Position> positions_in_order(std::size_t k,
                                             std::vector<std::vector<SynapseShard>>& shards) const;

    std::vector<Slot> slots_;
    std::vector<std::int32_t> slot_of_projection_;                  // -1: static
    std::vector<std::vector<std::uint32_t>> slots_from_population_; // by source population
    std::vector<std::uint8_t> receives_;                            // by population
    std::vector<std::uint32_t> population_end_gid_;
    std::vector<std::uint8_t> active_;
    std::vector<Replica> replicas_;
    std::vector<std::vector<TargetIndex>> indexes_;  // per worker
    std::vector<std::vector<CalciumState>> calcium_; // per worker, per shard
    double dt_ms_ = 0.1;
    std::uint64_t seed_ = 1;
};

} // namespace ketaplast
