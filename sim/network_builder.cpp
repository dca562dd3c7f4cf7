// Builds the network: populations (model state, initial values, positions, ring buffers), the
// partition over workers, and every worker's synapse shards in parallel.
//
// Synapse construction is two passes over the same counter-based draws, so no temporary list of
// all synapses is ever held: pass 1 counts synapses per source, pass 2 regenerates them and writes
// target and weight straight into their final place; then each source's synapses are ordered by
// (receptor, delay) with a stable counting sort into segments.
#include "core/error.hpp"
#include "sim/connectivity.hpp"
#include "sim/network.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ketaplast {

namespace {

void place_positions(Population& pop, std::uint64_t seed) {
    const PositionSpec& p = pop.spec->positions;
    const std::uint32_t n = pop.size;
    pop.x_um.resize(n);
    pop.y_um.resize(n);
    pop.z_um.resize(n);
    if (p.layout == PositionSpec::Layout::grid) {
        // Smallest cubic-ish grid with >= n points filling the box, neurons in x-fastest order.
        const std::uint32_t side = std::max<std::uint32_t>(1, std::uint32_t(std::ceil(std::cbrt(double(n)) - 1e-9)));
        const std::uint32_t nx = side, ny = side, nz = (n + nx * ny - 1) / (nx * ny);
        for (std::uint32_t i = 0; i < n; ++i) {
            const std::uint32_t ix = i % nx, iy = (i / nx) % ny, iz = i / (nx * ny);
            pop.x_um[i] = float(p.origin_um[0] + (ix + 0.5) * p.extent_um[0] / nx);
            pop.y_um[i] = float(p.origin_um[1] + (iy + 0.5) * p.extent_um[1] / ny);
            pop.z_um[i] = float(p.origin_um[2] + (iz + 0.5) * p.extent_um[2] / nz);
        }
        return;
    }
    for (std::uint32_t i = 0; i < n; ++i) {
        RandomStream rng(seed, RandomPurpose::position, pop.index, i);
        if (p.layout == PositionSpec::Layout::random_box) {
            pop.x_um[i] = float(p.origin_um[0] + rng.uniform() * p.extent_um[0]);
            pop.y_um[i] = float(p.origin_um[1] + rng.uniform() * p.extent_um[1]);
            pop.z_um[i] = float(p.origin_um[2] + rng.uniform() * p.extent_um[2]);
        } else {  // column: uniform in a disc (radius sqrt(u)), uniform in depth (z down from origin)
            const double r = p.radius_um * std::sqrt(rng.uniform()), phi = 2.0 * M_PI * rng.uniform();
            pop.x_um[i] = float(p.origin_um[0] + r * std::cos(phi));
            pop.y_um[i] = float(p.origin_um[1] + r * std::sin(phi));
            pop.z_um[i] = float(p.origin_um[2] - (p.depth_um[0] + rng.uniform() * (p.depth_um[1] - p.depth_um[0])));
        }
    }
}

// FNV-1a: a stable 32-bit hash (std::hash differs between standard libraries).
std::uint32_t stable_hash(const std::string& text) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : text) h = (h ^ c) * 16777619u;
    return h;
}

void set_initial_state(Population& pop, std::uint64_t seed) {
    for (const auto& name : pop.group->state_names()) {
        const auto it = pop.spec->initial.find(name);
        if (it == pop.spec->initial.end()) continue;
        float* values = pop.group->state(name);
        // Keyed by population and variable name, so adding a receptor does not change other draws.
        const std::uint32_t tag = stable_hash(pop.spec->name + "/" + name);
        for (std::uint32_t i = 0; i < pop.size; ++i) {
            RandomStream rng(seed, RandomPurpose::initial_state, tag, i);
            values[i] = float(it->second.draw(rng));
        }
    }
}

struct ShardBuilder {
    const Experiment& exp;
    const std::vector<Population>& pops;
    std::uint32_t total_neurons;
    double dt_ms;
    const std::vector<std::vector<std::uint32_t>>& target_counts;  // per projection (fixed_total_number)

    std::uint16_t delay_steps(double delay_ms) const {
        return std::uint16_t(std::max<long>(1, std::lround(delay_ms / dt_ms)));
    }

    void build(SynapseShard& shard) const {
        const Population& target_pop = pops[shard.population];
        const std::uint32_t t_begin = shard.local_begin, t_end = shard.local_begin + shard.local_count;
        ConnectScratch scratch;

        // Pass 1: count synapses per source (global id).
        std::vector<std::uint32_t> count(total_neurons + 1, 0);
        for (std::uint32_t p = 0; p < exp.projections.size(); ++p) {
            const ProjectionSpec& proj = exp.projections[p];
            if (proj.target_index != shard.population) continue;
            const Population& source_pop = pops[proj.source_index];
            generate_connections(
                proj, source_pop.size, target_pop.size, t_begin, t_end, exp.simulation.seed, p, scratch,
                [&](std::uint32_t s, std::uint32_t, std::uint32_t, std::uint64_t) { ++count[source_pop.first_gid + s]; },
                &target_counts[p]);
        }
        std::vector<std::uint64_t> start(total_neurons + 1, 0);
        for (std::uint32_t g = 0; g < total_neurons; ++g) start[g + 1] = start[g] + count[g];
        const std::uint64_t n_syn = start[total_neurons];
        if (n_syn > std::numeric_limits<std::uint32_t>::max())
            throw RunError("population '" + target_pop.spec->name + "': more than 2^32 synapses onto one shard");
        shard.target.resize(n_syn);
        shard.weight.resize(n_syn);
        std::vector<std::uint32_t> code(n_syn);  // (receptor << 16) | delay, temporary

        // Pass 2: the same draws again, now written in place.
        std::vector<std::uint64_t> cursor(start.begin(), start.end() - 1);
        for (std::uint32_t p = 0; p < exp.projections.size(); ++p) {
            const ProjectionSpec& proj = exp.projections[p];
            if (proj.target_index != shard.population) continue;
            const Population& source_pop = pops[proj.source_index];
            const std::uint32_t receptor_bits = std::uint32_t(proj.receptor_index) << 16;
            const bool const_weight = proj.weight.is_constant(), const_delay = proj.delay_ms.is_constant();
            const float weight0 = float(proj.weight.value);
            const std::uint16_t delay0 = delay_steps(proj.delay_ms.value);
            generate_connections(
                proj, source_pop.size, target_pop.size, t_begin, t_end, exp.simulation.seed, p, scratch,
                [&](std::uint32_t s, std::uint32_t t, std::uint32_t key_id, std::uint64_t key_index) {
                    const std::uint64_t at = cursor[source_pop.first_gid + s]++;
                    shard.target[at] = std::uint16_t(t - t_begin);
                    float w = weight0;
                    std::uint16_t d = delay0;
                    if (!const_weight) {
                        RandomStream rng(exp.simulation.seed, RandomPurpose::connect_weight, p, key_id, key_index);
                        w = float(proj.weight.draw(rng));
                    }
                    if (!const_delay) {
                        RandomStream rng(exp.simulation.seed, RandomPurpose::connect_delay, p, key_id, key_index);
                        d = delay_steps(proj.delay_ms.draw(rng));
                    }
                    shard.weight[at] = w;
                    code[at] = receptor_bits | d;
                },
                &target_counts[p]);
        }

        // Order each source's synapses by (receptor, delay), stably, and cut them into segments.
        shard.source_segments.assign(total_neurons + 1, 0);
        std::vector<std::uint32_t> order, keys;
        std::vector<std::uint16_t> tmp_target;
        std::vector<float> tmp_weight;
        for (std::uint32_t g = 0; g < total_neurons; ++g) {
            shard.source_segments[g] = std::uint32_t(shard.segments.size());
            const std::uint64_t a = start[g], b = start[g + 1];
            if (a == b) continue;
            bool sorted = true;
            for (std::uint64_t i = a + 1; i < b && sorted; ++i) sorted = code[i - 1] <= code[i];
            if (!sorted) {
                order.resize(b - a);
                std::iota(order.begin(), order.end(), 0u);
                std::stable_sort(order.begin(), order.end(),
                                 [&](std::uint32_t x, std::uint32_t y) { return code[a + x] < code[a + y]; });
                tmp_target.assign(shard.target.begin() + a, shard.target.begin() + b);
                tmp_weight.assign(shard.weight.begin() + a, shard.weight.begin() + b);
                keys.assign(code.begin() + std::ptrdiff_t(a), code.begin() + std::ptrdiff_t(b));
                for (std::uint64_t i = 0; i < b - a; ++i) {
                    shard.target[a + i] = tmp_target[order[i]];
                    shard.weight[a + i] = tmp_weight[order[i]];
                    code[a + i] = keys[order[i]];
                }
            }
            for (std::uint64_t i = a; i < b;) {
                std::uint64_t j = i;
                while (j < b && code[j] == code[i]) ++j;
                shard.segments.push_back({std::uint32_t(i), std::uint32_t(j - i), std::uint16_t(code[i] & 0xffff),
                                          std::uint8_t(code[i] >> 16)});
                i = j;
            }
        }
        shard.source_segments[total_neurons] = std::uint32_t(shard.segments.size());
        shard.segments.shrink_to_fit();
    }
};

}  // namespace

std::uint64_t Network::synapse_count() const {
    std::uint64_t n = 0;
    for (const auto& worker : shards)
        for (const auto& s : worker) n += s.synapse_count();
    return n;
}

std::uint64_t Network::synapse_bytes() const {
    std::uint64_t n = 0;
    for (const auto& worker : shards)
        for (const auto& s : worker) n += s.bytes();
    return n;
}

std::uint64_t Network::synapses_into(std::uint32_t population) const {
    std::uint64_t n = 0;
    for (const auto& worker : shards)
        for (const auto& s : worker)
            if (s.population == population) n += s.synapse_count();
    return n;
}

std::uint32_t Network::population_of(std::uint32_t gid) const {
    for (std::uint32_t p = 0; p < populations.size(); ++p)
        if (gid < populations[p].first_gid + populations[p].size) return p;
    return std::uint32_t(populations.size());
}

NetworkEstimate estimate_network(const Experiment& exp) {
    NetworkEstimate e;
    for (const auto& proj : exp.projections) {
        const double ns = exp.populations[proj.source_index].size, nt = exp.populations[proj.target_index].size;
        switch (proj.rule) {
        case ConnectionRule::one_to_one: e.synapses += nt; break;
        case ConnectionRule::all_to_all: e.synapses += ns * nt; break;
        case ConnectionRule::fixed_probability: e.synapses += proj.probability * ns * nt; break;
        case ConnectionRule::fixed_indegree: e.synapses += double(proj.degree) * nt; break;
        case ConnectionRule::fixed_outdegree: e.synapses += double(proj.degree) * ns; break;
        case ConnectionRule::fixed_total_number: e.synapses += double(proj.total); break;
        }
    }
    e.bytes = e.synapses * (sizeof(std::uint16_t) + sizeof(float));
    return e;
}

Network build_network(const Experiment& exp, std::uint32_t workers) {
    Network net;
    const double dt = exp.simulation.dt_ms;
    std::vector<std::uint32_t> starts;
    for (std::uint32_t p = 0; p < exp.populations.size(); ++p) {
        const PopulationSpec& spec = exp.populations[p];
        Population pop;
        pop.spec = &spec;
        pop.model = builtin_models().find(spec.model);
        pop.index = p;
        pop.first_gid = net.total_neurons;
        pop.size = spec.size;
        starts.push_back(net.total_neurons);
        if (std::uint64_t(net.total_neurons) + spec.size > std::numeric_limits<std::uint32_t>::max() / 2)
            throw InputError("network too large: more than 2^31 neurons");
        net.total_neurons += spec.size;

        GroupSetup setup;
        setup.size = spec.size;
        setup.dt_ms = dt;
        setup.params = spec.params;
        setup.receptors = spec.receptors;
        // A spike at time t is emitted by the step that ends at t: step round(t/dt) - 1.
        for (const auto& times : spec.spike_times_ms) {
            std::vector<std::int64_t> steps;
            for (double t : times) steps.push_back(std::max<std::int64_t>(0, std::llround(t / dt) - 1));
            std::sort(steps.begin(), steps.end());
            setup.spike_steps.push_back(steps);
        }
        for (const auto& [t_ms, rate] : spec.rate_schedule)
            setup.rate_schedule_Hz.emplace_back(std::llround(t_ms / dt), rate);
        pop.group = pop.model->create(setup);
        set_initial_state(pop, exp.simulation.seed);
        place_positions(pop, exp.simulation.seed);
        net.populations.push_back(std::move(pop));
    }

    // Partition, then shards: per worker, per population it touches, per 65536 neurons.
    net.blocks = partition_neurons(starts, net.total_neurons, workers);
    net.shards.resize(workers);
    for (std::uint32_t w = 0; w < workers; ++w) {
        for (const auto& pop : net.populations) {
            if (pop.model->kind != ModelKind::neuron) continue;
            const std::uint32_t lo = std::max(net.blocks[w].begin, pop.first_gid);
            const std::uint32_t hi = std::min(net.blocks[w].end, pop.first_gid + pop.size);
            for (std::uint32_t g = lo; g < hi; g += 65536) {
                SynapseShard shard;
                shard.population = pop.index;
                shard.local_begin = g - pop.first_gid;
                shard.local_count = std::min<std::uint32_t>(65536, hi - g);
                net.shards[w].push_back(std::move(shard));
            }
        }
    }
    // Per-target counts of fixed_total_number projections, computed once and shared by the workers.
    std::vector<std::vector<std::uint32_t>> target_counts(exp.projections.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(workers))
    for (std::size_t p = 0; p < exp.projections.size(); ++p)
        if (exp.projections[p].rule == ConnectionRule::fixed_total_number)
            target_counts[p] = total_number_counts(exp.projections[p], exp.populations[exp.projections[p].target_index].size,
                                                   exp.simulation.seed, std::uint32_t(p));
    const ShardBuilder builder{exp, net.populations, net.total_neurons, dt, target_counts};
    std::string error;
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(workers))
    for (std::uint32_t w = 0; w < workers; ++w) {
        try {
            for (auto& shard : net.shards[w]) builder.build(shard);
        } catch (const std::exception& e) {
#pragma omp critical
            error = e.what();
        }
    }
    if (!error.empty()) throw RunError("building synapses: " + error);

    // Delays actually drawn (not the distributions' bounds) set the exchange interval and ring length.
    std::uint32_t min_delay = std::numeric_limits<std::uint32_t>::max(), max_delay = 0;
    for (const auto& worker : net.shards)
        for (const auto& shard : worker)
            for (const auto& seg : shard.segments) {
                min_delay = std::min<std::uint32_t>(min_delay, seg.delay_steps);
                max_delay = std::max<std::uint32_t>(max_delay, seg.delay_steps);
            }
    // (MPI: these become an allreduce over ranks.)
    net.has_synapses = max_delay > 0;
    // Without synapses, exchange every 1 ms (only recording happens at exchange points).
    if (!net.has_synapses) min_delay = max_delay = std::max<std::uint32_t>(1, std::uint32_t(std::lround(1.0 / dt)));
    net.min_delay_steps = min_delay;
    net.max_delay_steps = max_delay;
    // Slots in use at a delivery: the steps after the interval up to (last step + max delay).
    net.ring_length = max_delay + 1;
    for (auto& pop : net.populations)
        for (std::size_t r = 0; r < pop.spec->receptors.size(); ++r)
            pop.ring.emplace_back(std::size_t(net.ring_length) * pop.size, 0.0f);

    return net;
}

}  // namespace ketaplast
