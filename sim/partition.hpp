// Which worker (thread, and later MPI rank x thread) owns which neurons.
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

} // namespace ketaplast
