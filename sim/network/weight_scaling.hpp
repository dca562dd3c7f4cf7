// Slow write-back into the synapse store: scale a projection's weights, and switch single synapses on or off
// (structural plasticity on a fixed set of potential synapses). Shared by the slow layer
// (sim/app/protocol.cpp) and plastic rules: a multiplicative factor leaves whatever a rule did to single
// weights in place.
//
//   float weights:   every weight of the projection is multiplied by the factor (rounding: one float
//                    multiplication per weight).
//   uint16 weights:  the projection's WeightScale (base and step) is multiplied instead, so every decoded
//                    weight is scaled exactly and no code changes.
//
// Call only between Engine::run calls (never while the engine delivers spikes).
#pragma once

#include "sim/network/network.hpp"

#include <cstdint>
#include <functional>

namespace ketaplast {

// Multiply every weight of projection `projection` by `factor` (> 0 and finite; std::invalid_argument
// otherwise).
void scale_projection_weights(Network& net, std::size_t projection, double factor);

// Every synapse of a projection, in a thread-partition-independent description: f(shard, k, source gid,
// target gid) with k the synapse's index in the shard's arrays. Visits shards in worker order.
void for_each_projection_synapse(
    Network& net, std::size_t projection,
    const std::function<void(SynapseShard&, std::size_t k, std::uint32_t source, std::uint32_t target)>& f);

// The sum and count of a projection's (decoded) weights held by this process, added in (target, source)
// order: the same for every thread count (under MPI each rank sums its own shards).
struct WeightSum {
    double sum = 0;
    std::uint64_t count = 0, nonzero = 0;
};
WeightSum projection_weight_sum(Network& net, std::size_t projection);

} // namespace ketaplast
