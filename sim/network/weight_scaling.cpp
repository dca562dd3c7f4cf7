#include "sim/network/weight_scaling.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace ketaplast {

void for_each_projection_synapse(
    Network& net, std::size_t projection,
    const std::function<void(SynapseShard&, std::size_t, std::uint32_t, std::uint32_t)>& f) {
    for (auto& worker : net.shards)
        for (SynapseShard& shard : worker) {
            const std::uint32_t first_target =
                net.populations[shard.population].first_gid + shard.local_begin;
            const std::uint32_t sources = std::uint32_t(shard.source_segments.size()) - 1;
            for (std::uint32_t s = 0; s < sources; ++s) {
                std::size_t k = shard.source_synapses[s];
                for (std::uint32_t g = shard.source_segments[s]; g < shard.source_segments[s + 1]; ++g) {
                    const SynapseSegment& seg = shard.segments[g];
                    if (seg.projection != projection) {
                        k += seg.count;
                        continue;
                    }
                    for (std::uint32_t j = 0; j < seg.count; ++j, ++k)
                        f(shard, k, s, first_target + shard.target[k]);
                }
            }
        }
}

void scale_projection_weights(Network& net, std::size_t projection, double factor) {
    if (!(factor > 0.0) || !std::isfinite(factor))
        throw std::invalid_argument("scale_projection_weights: factor " + std::to_string(factor) +
                                    " (expected > 0 and finite)");
    if (factor == 1.0) return;
    bool quantized = false;
    for (auto& worker : net.shards)
        for (SynapseShard& shard : worker)
            quantized = quantized || shard.quantized;
    if (quantized) { // every shard of a run has the same storage
        WeightScale& scale = net.weight_scales.at(projection);
        scale.base = float(double(scale.base) * factor);
        scale.step = float(double(scale.step) * factor);
        return;
    }
    const float f = float(factor);
    for_each_projection_synapse(
        net, projection,
        [&](SynapseShard& shard, std::size_t k, std::uint32_t, std::uint32_t) { shard.weight[k] *= f; });
}

WeightSum projection_weight_sum(Network& net, std::size_t projection) {
    // Shards hold their targets in partition order: sort by (target, source) first, so the sum is the same
    // for every thread count (multiple synapses of one pair sit in one shard, in build order,
    // which stable_sort keeps). Float weights add exactly in double while their range spans less than
    // ~2^(53-24-log2 n); the sort makes the result independent of the partition beyond that too.
    struct Entry {
        std::uint32_t target, source;
        double weight;
    };
    std::vector<Entry> entries;
    for_each_projection_synapse(
        net, projection, [&](SynapseShard& shard, std::size_t k, std::uint32_t s, std::uint32_t t) {
            entries.push_back({t, s,
                               shard.quantized
                                   ? double(net.weight_scales[projection].decode(shard.weight_code[k]))
                                   : double(shard.weight[k])});
        });
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
        return std::tie(a.target, a.source) < std::tie(b.target, b.source);
    });
    WeightSum out;
    for (const Entry& e : entries) {
        out.sum += e.weight;
        ++out.count;
        if (e.weight != 0.0) ++out.nonzero;
    }
    return out;
}

} // namespace ketaplast
