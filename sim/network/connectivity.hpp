// Connection rules, generated per target from the target's own random stream (per source for
// fixed_outdegree), so that any worker can build exactly its own part and the network is the same
// for any number of workers (DESIGN.md, "Reproducibility").
#pragma once

#include "core/random.hpp"
#include "sim/config/experiment.hpp"

#include <cstdint>
#include <vector>

namespace ketaplast {

struct ConnectScratch {
    std::vector<std::uint8_t> marked;
    std::vector<std::uint32_t> chosen;
};

// fixed_total_number: how many of the projection's synapses end on each target. A multinomial
// drawn as a chain of conditional binomials from one stream keyed by the projection, so every
// worker computes the same counts (once per projection, before the workers build their shards).
std::vector<std::uint32_t> total_number_counts(const ProjectionSpec& proj, std::uint32_t n_target,
                                               std::uint64_t seed, std::uint32_t projection_index);

// Calls emit(source_local, target_local, key_id, key_index) for every synapse of `proj` onto targets
// [target_begin, target_end) (population-local ids), in a fixed order: for rules generated per
// target, target by target; for fixed_outdegree, source by source. (key_id, key_index) name the synapse for
// its weight and delay draws (target and its k-th synapse, or source and its k-th draw), so those
// draws are also independent of the partition. `scratch` is reused between calls.
template <typename Emit>
void generate_connections(const ProjectionSpec& proj, std::uint32_t n_source, std::uint32_t n_target,
                          std::uint32_t target_begin, std::uint32_t target_end, std::uint64_t seed,
                          std::uint32_t projection_index, ConnectScratch& scratch, Emit&& emit,
                          const std::vector<std::uint32_t>* target_counts = nullptr);

} // namespace ketaplast

#include "sim/network/connectivity_impl.hpp"
