#include "sim/partition.hpp"

#include <algorithm>

namespace ketaplast {

std::vector<Block> partition_neurons(const std::vector<std::uint32_t>& population_starts, std::uint32_t total,
                                     std::uint32_t workers) {
    std::vector<Block> blocks(workers);
    std::uint32_t previous = 0;
    for (std::uint32_t w = 0; w < workers; ++w) {
        std::uint32_t cut = std::uint32_t((std::uint64_t(total) * (w + 1)) / workers);
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

} // namespace ketaplast
