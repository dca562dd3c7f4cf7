// Static synapses, stored with their target's owner (DESIGN.md, "The hot loop").
//
// A shard holds the synapses onto up to 65536 consecutive neurons of one population owned by one
// worker. They are grouped by source neuron (CSR over global source ids), and within a source by
// (receptor, projection, delay) in segments, so a synapse is only a 16-bit target offset and its
// weight: a float (6 bytes), or with [network] weight_storage = "uint16" a 16-bit code on the
// projection's linear scale (4 bytes; w = base + step * code, step chosen so the rounding error is
// at most step/2, reported in summary.json as memory.weight_rounding_max). Delivery of a spike walks the
// source's segments; each segment writes one ring-buffer slot. Each worker writes only to its own neurons: no
// atomics, and for a given target the order of additions is the same for any number of workers (sources in
// spike order, then projection and draw order), so sums are bit-identical.
#pragma once

#include "core/aligned_array.hpp"

#include <cstdint>
#include <vector>

namespace ketaplast {

struct SynapseSegment {
    std::uint16_t count = 0; // synapses in the segment (long runs are split)
    std::uint16_t delay_steps = 0;
    std::uint16_t projection = 0; // index of the projection (its weight scale)
    std::uint8_t receptor = 0;
    std::uint8_t unused = 0;
};
static_assert(sizeof(SynapseSegment) == 8);

// Linear 16-bit weight code of one projection: w = base + step * code.
struct WeightScale {
    float base = 0.0f, step = 0.0f;
    float decode(std::uint16_t code) const { return base + step * float(code); }
};

struct SynapseShard {
    std::uint32_t population = 0;  // target population
    std::uint32_t local_begin = 0; // first target (population-local id)
    std::uint32_t local_count = 0; // <= 65536
    bool quantized = false;        // weights as 16-bit codes (weight_code) instead of floats (weight)
    std::vector<std::uint32_t> source_segments; // size N_global + 1: segments of source s
    std::vector<std::uint32_t> source_synapses; // size N_global + 1: first synapse of source s
    std::vector<SynapseSegment> segments;
    AlignedArray<std::uint16_t> target;      // offset from local_begin
    AlignedArray<float> weight;              // nS or pA (float storage)
    AlignedArray<std::uint16_t> weight_code; // (uint16 storage)

    std::size_t synapse_count() const { return target.size(); }
    std::size_t bytes() const {
        return (source_segments.size() + source_synapses.size()) * sizeof(std::uint32_t) +
               segments.size() * sizeof(SynapseSegment) + target.size() * sizeof(std::uint16_t) +
               weight.size() * sizeof(float) + weight_code.size() * sizeof(std::uint16_t);
    }

    // Calls f(target_offset, weight, delay_steps, receptor, projection) for each synapse of a source.
    template <typename F>
    void for_each_synapse(std::uint32_t source, const std::vector<WeightScale>& scales, F&& f) const {
        std::uint32_t k = source_synapses[source];
        for (std::uint32_t s = source_segments[source]; s < source_segments[source + 1]; ++s) {
            const SynapseSegment& seg = segments[s];
            for (std::uint32_t j = 0; j < seg.count; ++j, ++k)
                f(target[k], quantized ? scales[seg.projection].decode(weight_code[k]) : weight[k],
                  seg.delay_steps, seg.receptor, seg.projection);
        }
    }
};

} // namespace ketaplast
