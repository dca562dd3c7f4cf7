// Static synapses, stored with their target's owner (DESIGN.md, "The hot loop").
//
// A shard holds the synapses onto up to 65536 consecutive neurons of one population owned by one
// worker. They are grouped by source neuron (CSR over global source ids), and within a source by
// (receptor, delay) in segments, so a synapse is only a 16-bit target offset and a float weight:
// 6 bytes. Delivery of a spike walks the source's segments; every segment writes one ring-buffer
// slot. Each worker writes only to its own neurons: no atomics, and for a given target the order
// of additions is the same for any number of workers (sources in spike order, then projection and
// draw order), so sums are bit-identical.
#pragma once

#include "core/aligned_array.hpp"

#include <cstdint>
#include <vector>

namespace ketaplast {

struct SynapseSegment {
    std::uint32_t begin = 0;  // first synapse (index into the shard's arrays)
    std::uint32_t count = 0;
    std::uint16_t delay_steps = 0;
    std::uint8_t receptor = 0;
};

struct SynapseShard {
    std::uint32_t population = 0;   // target population
    std::uint32_t local_begin = 0;  // first target (population-local id)
    std::uint32_t local_count = 0;  // <= 65536
    std::vector<std::uint32_t> source_segments;  // size N_global + 1: segments of source s
    std::vector<SynapseSegment> segments;
    AlignedArray<std::uint16_t> target;  // offset from local_begin
    AlignedArray<float> weight;          // nS or pA

    std::size_t synapse_count() const { return target.size(); }
    std::size_t bytes() const {
        return source_segments.size() * sizeof(std::uint32_t) + segments.size() * sizeof(SynapseSegment) +
               target.size() * (sizeof(std::uint16_t) + sizeof(float));
    }
};

}  // namespace ketaplast
