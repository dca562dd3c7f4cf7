// Which worker (MPI rank x thread) owns which neurons.
//
// Neurons have global ids 0..N-1, populations are contiguous id ranges in config order. Each worker
// owns one contiguous block of global ids, balanced by count. Block boundaries are aligned to
// kAlignNeurons relative to their population's start, so a block's neurons start on a cache line
// (no false sharing between threads) and vector loops see the same alignment for any worker count.
#pragma once

#include <cstdint>
#include <vector>

namespace ketaplast {

constexpr std::uint32_t kAlignNeurons = 16; // one 64-byte line of floats

struct Block {
    std::uint32_t begin = 0, end = 0; // global ids [begin, end)
};

// Split [0, total) into `workers` blocks. population_starts: first global id of each population
// (sorted, starting with 0), used for alignment.
std::vector<Block> partition_neurons(const std::vector<std::uint32_t>& population_starts, std::uint32_t total,
                                     std::uint32_t workers);
// Split the range [range.begin, range.end) the same way (an MPI rank's neurons over its threads).
std::vector<Block> partition_range(const std::vector<std::uint32_t>& population_starts, Block range,
                                   std::uint32_t workers);

// Two levels (MPI ranks, then each rank's threads): the ranks' blocks split [0, total) as
// partition_neurons(ranks); rank r's threads split the rank's block.
struct Decomposition {
    std::vector<Block> ranks;   // one per rank
    std::vector<Block> workers; // this rank's threads
};
Decomposition decompose(const std::vector<std::uint32_t>& population_starts, std::uint32_t total,
                        std::uint32_t ranks, std::uint32_t rank, std::uint32_t workers);

} // namespace ketaplast
