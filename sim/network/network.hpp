// The instantiated network: populations with their model state, ring buffers and positions, the
// partition of neurons over workers, and each worker's synapse shards.
#pragma once

#include "core/aligned_array.hpp"
#include "models/registry.hpp"
#include "sim/config/experiment.hpp"
#include "sim/network/plasticity.hpp"
#include "sim/network/presynaptic_state.hpp"
#include "sim/network/synapse_store.hpp"
#include "sim/parallel/partition.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ketaplast {

class Communicator;

struct Population {
    const PopulationSpec* spec = nullptr;
    const ModelInfo* model = nullptr;
    std::uint32_t index = 0;
    std::uint32_t first_gid = 0;
    std::uint32_t size = 0;
    std::unique_ptr<NeuronGroup> group;
    // Ring buffers, one per receptor: ring_length slots x size neurons, slot = step % ring_length.
    std::vector<AlignedArray<float>> ring;
    AlignedArray<float> x_um, y_um, z_um;
};

struct Network {
    std::vector<Population> populations;
    std::uint32_t total_neurons = 0;
    std::vector<Block> blocks; // one per worker (thread) of this rank
    // MPI: every rank's block of neurons (rank_blocks[rank] is this rank's, split into `blocks`). Neuron
    // state and ring buffers are allocated for all neurons on every rank (O(N), small next to synapses)
    // but only the rank's own are updated; synapses exist only for the rank's targets.
    std::vector<Block> rank_blocks{Block{}};
    int rank = 0, ranks = 1;
    Communicator* comm = nullptr;                  // the ranks' communicator (never null after build_network)
    std::vector<std::vector<SynapseShard>> shards; // per worker
    std::vector<WeightScale> weight_scales;        // per projection (uint16 weight storage)
    double max_weight_rounding = 0.0;              // largest |w - decoded w| bound over projections
    std::uint32_t min_delay_steps = 1, max_delay_steps = 1;
    std::uint32_t ring_length = 2;
    bool has_synapses = false;
    // Short-term plasticity and saturating NMDA gating: per (projection, source) state applied at spike
    // delivery (empty when no projection has presynaptic dynamics).
    PresynapticState presynaptic;
    // Long-term plasticity (STDP) of plastic projections: traces and target indexes
    // (sim/network/plasticity.hpp).
    PlasticityState plasticity;

    std::uint64_t synapse_count() const;
    std::uint64_t synapse_bytes() const;
    std::uint64_t synapses_into(std::uint32_t population) const;
    // Population of a global id.
    std::uint32_t population_of(std::uint32_t gid) const;
};

// Build everything a run needs. `workers` threads each build their own shards in parallel. With several
// ranks, each builds only the synapses onto its own neurons (collective: every rank calls it).
Network build_network(const Experiment& experiment, std::uint32_t workers);
Network build_network(const Experiment& experiment, std::uint32_t workers, Communicator& comm);

// The 16-bit weight scale of a projection's weight distribution, and encoding onto it.
WeightScale weight_scale_for(const Distribution& weight);
std::uint16_t encode_weight(const WeightScale& scale, double w);

// Expected synapse count and bytes before building (for the memory check): synapses, the construction's
// temporary sort keys for `workers` workers, and ring buffers.
struct NetworkEstimate {
    double synapses = 0;
    double bytes = 0;
};
NetworkEstimate estimate_network(const Experiment& experiment, std::uint32_t workers);

} // namespace ketaplast
