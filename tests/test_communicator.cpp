// The communication layer and the rank x thread decomposition (sim/parallel/communicator.hpp,
// sim/parallel/partition.hpp), without MPI: the local and dry-run communicators, and networks built as one
// rank of several. The distributed runs themselves are tested under mpirun (tests/mpi/test_mpi.py, label
// "mpi").
#include "core/error.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/io/recorders.hpp"
#include "sim/network/network.hpp"
#include "sim/parallel/communicator.hpp"
#include "sim/parallel/partition.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace ketaplast;

namespace {
const char* kNetwork = R"([simulation]
dt_ms = 0.1
duration_ms = 10.0
seed = 11

[[populations]]
name = "E"
size = 300
model = "lif_cond"
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }

[[populations]]
name = "I"
size = 77
model = "lif_cond"
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }

[[projections]]
name = "EE"
source = "E"
target = "E"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.1
weight_nS = { dist = "uniform", low = 0.1, high = 0.5 }
delay_ms = { dist = "uniform", low = 1.0, high = 3.0 }

[[projections]]
name = "EI"
source = "E"
target = "I"
receptor = "AMPA"
rule = "fixed_indegree"
indegree = 20
weight_nS = 0.5
delay_ms = 1.0
)";
} // namespace

TEST_CASE("decompose: ranks tile the neurons, each rank's threads tile the rank's block", "[communicator]") {
    const std::vector<std::uint32_t> starts{0, 300, 377};
    const std::uint32_t total = 1000;
    for (std::uint32_t ranks : {1u, 2u, 3u, 4u, 7u})
        for (std::uint32_t threads : {1u, 2u, 3u}) {
            std::uint32_t next = 0;
            for (std::uint32_t r = 0; r < ranks; ++r) {
                const Decomposition d = decompose(starts, total, ranks, r, threads);
                REQUIRE(d.ranks.size() == ranks);
                CHECK(d.ranks[r].begin == next);
                std::uint32_t t_next = d.ranks[r].begin;
                for (const Block& b : d.workers) {
                    CHECK(b.begin == t_next);
                    CHECK(b.end >= b.begin);
                    // Cuts inside a population fall on 16-neuron boundaries from its start.
                    if (b.end != total) {
                        const auto it = std::upper_bound(starts.begin(), starts.end(), b.end) - 1;
                        CHECK((b.end - *it) % kAlignNeurons == 0);
                    }
                    t_next = b.end;
                }
                CHECK(t_next == d.ranks[r].end);
                next = d.ranks[r].end;
            }
            CHECK(next == total);
            // One rank: exactly the one-process thread partition.
            if (ranks == 1) {
                const auto plain = partition_neurons(starts, total, threads);
                const auto d = decompose(starts, total, 1, 0, threads);
                for (std::size_t w = 0; w < threads; ++w) {
                    CHECK(d.workers[w].begin == plain[w].begin);
                    CHECK(d.workers[w].end == plain[w].end);
                }
            }
        }
}

TEST_CASE("network per rank: each rank holds exactly the synapses onto its neurons, the same network",
          "[communicator]") {
    const Experiment exp = load_experiment_from_string(kNetwork, "net.toml");
    const auto whole = collect_edges(exp, build_network(exp, 2, *make_local_communicator()));
    const int ranks = 3;
    std::vector<std::vector<EdgeRecord>> joined(exp.projections.size());
    std::uint64_t synapses = 0;
    for (int r = 0; r < ranks; ++r) {
        auto comm = make_dry_run_communicator(r, ranks);
        const Network net = build_network(exp, 2, *comm);
        CHECK(net.rank == r);
        CHECK(net.ranks == ranks);
        // Targets of this rank's synapses are its own neurons only.
        for (const auto& worker : net.shards)
            for (const auto& shard : worker) {
                const std::uint32_t first = net.populations[shard.population].first_gid + shard.local_begin;
                CHECK(first >= net.rank_blocks[std::size_t(r)].begin);
                CHECK(first + shard.local_count <= net.rank_blocks[std::size_t(r)].end);
            }
        synapses += net.synapse_count();
        // The dry run's gather returns this rank's part: concatenated in rank order, the whole network.
        const auto part = collect_edges(exp, net);
        for (std::size_t p = 0; p < part.size(); ++p)
            joined[p].insert(joined[p].end(), part[p].begin(), part[p].end());
    }
    std::uint64_t whole_count = 0;
    for (std::size_t p = 0; p < whole.size(); ++p) {
        whole_count += whole[p].size();
        REQUIRE(joined[p].size() == whole[p].size());
        for (std::size_t e = 0; e < whole[p].size(); ++e) {
            CHECK(joined[p][e].source == whole[p][e].source);
            CHECK(joined[p][e].target == whole[p][e].target);
            CHECK(joined[p][e].weight == whole[p][e].weight); // the same draw: exact
            CHECK(joined[p][e].delay_ms == whole[p][e].delay_ms);
        }
    }
    CHECK(synapses == whole_count);
    CHECK(whole_count > 0);
}

TEST_CASE("communicators: local exchange is the identity, the dry run counts a real exchange's bytes",
          "[communicator]") {
    const std::vector<SpikeRecord> spikes{{10, 3}, {10, 7}, {12, 1}};
    std::vector<SpikeRecord> all;
    auto local = make_local_communicator();
    CHECK(local->exchange(spikes, 10, kFlagInterrupt, all) == kFlagInterrupt);
    REQUIRE(all.size() == 3);
    CHECK((all[2].step == 12 && all[2].gid == 1));
    CHECK(local->first_message("boom") == "boom");

    // 8 ranks, each assumed to send as many records as this one: sent = one 8-byte header + 3 records of
    // 8 bytes; received = 8 headers + 8 x 3 records (MPI_Allgather + MPI_Allgatherv, own part included).
    auto dry = make_dry_run_communicator(2, 8);
    CHECK(dry->rank() == 2);
    CHECK(dry->size() == 8);
    dry->exchange(spikes, 10, 0, all);
    CHECK(dry->stats().bytes_sent == 8 + 3 * 8);
    CHECK(dry->stats().bytes_received == 8 * 8 + 8 * 3 * 8);
    CHECK_THROWS_AS(make_dry_run_communicator(8, 8), InputError);
}
