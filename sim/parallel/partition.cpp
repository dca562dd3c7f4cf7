#include "sim/parallel/partition.hpp"

#include <algorithm>

namespace ketaplast {

std::vector<Block> partition_neurons(const std::vector<std::uint32_t>& population_starts, std::uint32_t total,
                                     std::uint32_t workers) {
    return partition_range(population_starts, {0, total}, workers);
}

std::vector<Block> partition_range(const std::vector<std::uint32_t>& population_starts, Block range,
                                   std::uint32_t workers) {
    std::vector<Block> blocks(workers);
    const std::uint32_t total = range.end;
    std::uint32_t previous = range.begin;
    for (std::uint32_t w = 0; w < workers; ++w) {
        std::uint32_t cut =
            range.begin + std::uint32_t((std::uint64_t(range.end - range.begin) * (w + 1)) / workers);
        if (w + 1 < workers) {
            // Align the cut relative to the start of the population it falls in.
            const auto it = std::upper_bound(population_starts.begin(), population_starts.end(), cut);
            const std::uint32_t pop_start = it == population_starts.begin() ? 0 : *(it - 1);
            cut = pop_start + ((cut - pop_start) / kAlignNeurons) * kAlignNeurons;
            cut = std::max(cut, previous);
        } else {
            cut = total;
        }
        blocks[w] = {previous, cut};
        previous = cut;
    }
    return blocks;
}

Decomposition decompose(const std::vector<std::uint32_t>& population_starts, std::uint32_t total,
                        std::uint32_t ranks, std::uint32_t rank, std::uint32_t workers) {
    Decomposition d;
    d.ranks = partition_neurons(population_starts, total, ranks);
    d.workers = partition_range(population_starts, d.ranks[rank], workers);
    return d;
}

} // namespace ketaplast
