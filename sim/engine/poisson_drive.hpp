// The Poisson background drive: for each neuron and step, a Poisson count of input spikes (the sum of
// `inputs` independent trains) added to a receptor's input slot.
//
// It is the hot spot of Poisson-driven networks (85 % of the full-scale microcircuit's time when drawn
// one neuron at a time), so the random words are made 16 neurons at a time: Philox4x32-10 (Salmon et
// al. 2011) written over arrays of counters, vectorised, giving exactly the words Random123 gives for
// each neuron's stream (checked in tests/test_random.cpp). One Philox block serves 4 consecutive
// steps of a neuron; each count is drawn by inversion of one 32-bit word against the population's
// cumulative Poisson table (exact to 2^-32 in probability).
#pragma once

#include "core/random.hpp"

#include <cstdint>
#include <vector>

namespace ketaplast {

// out[i] = word `word` (0..3) of the first Philox4x32-10 block of the stream (key, id0 + i, sub),
// i.e. RandomStream(key, id0 + i, sub).word(word), for i in [0, n).
void philox_words(const StreamKey& key, std::uint32_t id0, std::uint64_t sub, unsigned word, std::uint32_t n,
                  std::uint32_t* out);

// input[i] += weight x Poisson count for neurons [begin, end) of a population whose neuron 0 has
// global id first_gid, at `step`, with `cdf` = poisson_cdf_table(lambda) (lambda < 30).
void add_poisson_counts(const StreamKey& key, std::uint32_t first_gid, std::int64_t step,
                        const std::vector<double>& cdf, float weight, std::uint32_t begin, std::uint32_t end,
                        float* input);

} // namespace ketaplast
