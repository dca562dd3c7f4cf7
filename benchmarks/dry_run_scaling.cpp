// Dry-run scaling estimate: what one MPI rank of a large run holds and receives, without the machines.
//
//   ketaplast_dry_run CONFIG [--ranks 16,128,1024] [--set key=value ...] [--summary RUN/summary.json]
//
// For each rank count R, builds the network as ranks 0, R/2 and R-1 of R inside this process (the dry-run
// communicator, sim/parallel/communicator.hpp: each builds only the synapses onto its own neurons, exactly as
// in a real run) and reports per rank: synapses and their bytes (payload and the per-source index of each
// shard), the replicated per-neuron state (model state, ring buffers, presynaptic state), and the
// traffic of the spike exchange per time step. Every rank receives every spike (MPI_Allgatherv of 8-byte
// records) plus one 8-byte header per rank and exchange interval, so the bytes received per step are
//     8 * sum_p N_p * rate_p * dt  +  8 * R / D
// with the population rates of a run (--summary) or, for the microcircuit's populations, the NEST
// reference rates (Potjans & Diesmann 2014 as in NEST's example, network_params.py full_mean_rates).
// Output: one JSON object per (R, rank) line on stdout, and a Markdown table.
#include "core/error.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/network/network.hpp"
#include "sim/parallel/communicator.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

using namespace ketaplast;

namespace {

std::vector<int> parse_ranks(const std::string& text) {
    std::vector<int> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        out.push_back(std::stoi(item));
    return out;
}

struct RankReport {
    int ranks = 0, rank = 0;
    std::uint32_t neurons = 0;
    std::uint64_t synapses = 0, synapse_bytes = 0, index_bytes = 0, state_bytes = 0, ring_bytes = 0,
                  presynaptic_bytes = 0;
    double build_s = 0;
};

RankReport measure(const Experiment& exp, int ranks, int rank) {
    auto comm = make_dry_run_communicator(rank, ranks);
    const auto t0 = std::chrono::steady_clock::now();
    const Network net = build_network(exp, 1, *comm);
    RankReport r;
    r.build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.ranks = ranks;
    r.rank = rank;
    r.neurons = net.rank_blocks[std::size_t(rank)].end - net.rank_blocks[std::size_t(rank)].begin;
    r.synapses = net.synapse_count();
    r.synapse_bytes = net.synapse_bytes();
    for (const auto& worker : net.shards)
        for (const auto& shard : worker)
            r.index_bytes +=
                (shard.source_segments.size() + shard.source_synapses.size()) * sizeof(std::uint32_t);
    for (const auto& pop : net.populations) {
        r.state_bytes +=
            std::uint64_t(pop.size) * 4 *
            (pop.group->state_names().size() + pop.group->counter_names().size() + 3 /* x,y,z */);
        r.state_bytes += std::uint64_t(pop.size) * 8 * pop.group->state_names_f64().size();
        for (const auto& ring : pop.ring)
            r.ring_bytes += ring.size() * sizeof(float);
    }
    r.presynaptic_bytes = net.presynaptic.bytes();
    return r;
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr << "usage: ketaplast_dry_run CONFIG [--ranks 16,128,1024] [--set key=value ...] "
                     "[--summary RUN/summary.json]\n";
        return 2;
    }
    try {
        const std::string config = argv[1];
        std::vector<int> rank_counts{16, 128, 1024};
        std::vector<Override> overrides;
        std::string summary_path;
        for (int i = 2; i + 1 < argc; i += 2) {
            const std::string key = argv[i], value = argv[i + 1];
            if (key == "--ranks")
                rank_counts = parse_ranks(value);
            else if (key == "--set")
                overrides.push_back(parse_override(value));
            else if (key == "--summary")
                summary_path = value;
            else
                throw InputError("unknown option " + key);
        }
        const Experiment exp = load_experiment(config, overrides);
        // Population rates for the traffic.
        std::map<std::string, double> rate_Hz;
        std::string rate_source;
        if (!summary_path.empty()) {
            std::ifstream in(summary_path);
            if (!in) throw InputError(summary_path + ": cannot open");
            nlohmann::json s;
            in >> s;
            for (auto& [name, p] : s["populations"].items())
                rate_Hz[name] = p.value("mean_rate_Hz", 0.0);
            rate_source = summary_path;
        } else {
            rate_Hz = {{"L23E", 0.903}, {"L23I", 2.965}, {"L4E", 4.414}, {"L4I", 5.876},
                       {"L5E", 7.569},  {"L5I", 8.633},  {"L6E", 1.105}, {"L6I", 7.829}};
            rate_source = "NEST microcircuit reference rates (full_mean_rates)";
        }
        double spikes_per_s = 0;
        for (const auto& pop : exp.populations) {
            const auto it = rate_Hz.find(pop.name);
            if (it == rate_Hz.end())
                throw InputError("no rate for population '" + pop.name +
                                 "': give --summary RUN/summary.json");
            spikes_per_s += double(pop.size) * it->second;
        }
        const double dt_ms = exp.simulation.dt_ms;
        fmt::print(stderr, "rates: {} ({:.0f} spikes/s in all)\n", rate_source, spikes_per_s);
        std::vector<RankReport> reports;
        std::uint32_t min_delay_steps = 0;
        for (int R : rank_counts)
            for (int rank : {0, R / 2, R - 1}) {
                if (rank == R / 2 && (R / 2 == 0 || R / 2 == R - 1)) continue;
                fmt::print(stderr, "building rank {} of {} ...\n", rank, R);
                reports.push_back(measure(exp, R, rank));
                const RankReport& r = reports.back();
                nlohmann::json j = {{"ranks", r.ranks},
                                    {"rank", r.rank},
                                    {"neurons", r.neurons},
                                    {"synapses", r.synapses},
                                    {"synapse_bytes", r.synapse_bytes},
                                    {"synapse_index_bytes", r.index_bytes},
                                    {"replicated_state_bytes", r.state_bytes},
                                    {"ring_bytes", r.ring_bytes},
                                    {"presynaptic_bytes", r.presynaptic_bytes},
                                    {"build_s", r.build_s}};
                std::cout << j.dump() << std::endl;
            }
        // The exchange interval: the smallest delay drawn (same on every rank after the reduction; the
        // dry run builds one rank, so take the smallest of the configured delays' lower bounds).
        double min_delay_ms = 1e9;
        for (const auto& proj : exp.projections)
            min_delay_ms = std::min(min_delay_ms, std::max(proj.delay_ms.lower_bound(), dt_ms));
        min_delay_steps = std::uint32_t(std::max(1L, std::lround(min_delay_ms / dt_ms)));
        const double spikes_per_step = spikes_per_s * dt_ms * 1e-3;
        fmt::print("\n| ranks | rank | neurons | synapses | synapse MB (of which index) | replicated state + "
                   "rings + presynaptic MB | total MB | received B/step | sent B/step |\n");
        fmt::print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        for (const auto& r : reports) {
            const double mb = 1.0 / 1048576.0;
            const double replicated = double(r.state_bytes + r.ring_bytes + r.presynaptic_bytes);
            const double received = 8.0 * spikes_per_step + 8.0 * r.ranks / min_delay_steps;
            const double sent = 8.0 * spikes_per_step / r.ranks + 8.0 / min_delay_steps;
            fmt::print("| {} | {} | {} | {} | {:.1f} ({:.1f}) | {:.1f} + {:.1f} + {:.1f} | {:.1f} | {:.0f} | "
                       "{:.1f} |\n",
                       r.ranks, r.rank, r.neurons, r.synapses, double(r.synapse_bytes) * mb,
                       double(r.index_bytes) * mb, double(r.state_bytes) * mb, double(r.ring_bytes) * mb,
                       double(r.presynaptic_bytes) * mb, (double(r.synapse_bytes) + replicated) * mb,
                       received, sent);
        }
        fmt::print("\nexchange interval D = {} steps ({} ms); {:.1f} spikes per step in all\n",
                   min_delay_steps, min_delay_steps * dt_ms, spikes_per_step);
    } catch (const InputError& e) {
        std::cerr << "ketaplast_dry_run: error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "ketaplast_dry_run: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
