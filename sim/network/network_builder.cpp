// Builds the network: populations (model state, initial values, positions, ring buffers), the
// partition over workers, and every worker's synapse shards in parallel.
//
// Synapse construction is two passes over the same counter-based draws, so no temporary list of
// all synapses is ever held: pass 1 counts synapses per source, pass 2 regenerates them and writes
// target and weight straight into their final place; then each source's synapses are ordered by
// (receptor, delay) with a stable counting sort into segments.
#include "core/error.hpp"
#include "sim/network/connectivity.hpp"
#include "sim/network/network.hpp"
#include "sim/parallel/communicator.hpp"

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
        const std::uint32_t side =
            std::max<std::uint32_t>(1, std::uint32_t(std::ceil(std::cbrt(double(n)) - 1e-9)));
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
        } else { // column: uniform in a disc (radius sqrt(u)), uniform in depth (z down from origin)
            const double r = p.radius_um * std::sqrt(rng.uniform()), phi = 2.0 * M_PI * rng.uniform();
            pop.x_um[i] = float(p.origin_um[0] + r * std::cos(phi));
            pop.y_um[i] = float(p.origin_um[1] + r * std::sin(phi));
            pop.z_um[i] =
                float(p.origin_um[2] - (p.depth_um[0] + rng.uniform() * (p.depth_um[1] - p.depth_um[0])));
        }
    }
}

// FNV-1a: a stable 32-bit hash (std::hash differs between standard libraries).
std::uint32_t stable_hash(const std::string& text) {
    std::uint32_t h = 2166136261u;
    for (unsigned char c : text)
        h = (h ^ c) * 16777619u;
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
    const std::vector<std::vector<std::uint32_t>>& target_counts; // per projection (fixed_total_number)
    const std::vector<WeightScale>& scales;                       // per projection (uint16 weights)

    std::uint16_t delay_steps(double delay_ms) const {
        return std::uint16_t(
            std::max<long>(1, std::lround(delay_ms / dt_ms))); // half away from zero, as NEST
    }

    void build(SynapseShard& shard) const {
        const Population& target_pop = pops[shard.population];
        const std::uint32_t t_begin = shard.local_begin, t_end = shard.local_begin + shard.local_count;
        const bool quantized = exp.network.weights_uint16;
        shard.quantized = quantized;
        ConnectScratch scratch;

        // Projections onto this population, numbered locally (8 bits in the sort key).
        std::vector<std::uint32_t> local_projections;
        for (std::uint32_t p = 0; p < exp.projections.size(); ++p)
            if (exp.projections[p].target_index == shard.population) local_projections.push_back(p);
        if (local_projections.size() > 256)
            throw InputError("population '" + target_pop.spec->name + "' receives more than 256 projections");

        // Pass 1: count synapses per source (global id).
        std::vector<std::uint32_t> count(total_neurons + 1, 0);
        for (const std::uint32_t p : local_projections) {
            const ProjectionSpec& proj = exp.projections[p];
            const Population& source_pop = pops[proj.source_index];
            generate_connections(
                proj, source_pop.size, target_pop.size, t_begin, t_end, exp.simulation.seed, p, scratch,
                [&](std::uint32_t s, std::uint32_t, std::uint32_t, std::uint64_t) {
                    ++count[source_pop.first_gid + s];
                },
                &target_counts[p]);
        }
        std::vector<std::uint64_t> start(total_neurons + 1, 0);
        for (std::uint32_t g = 0; g < total_neurons; ++g)
            start[g + 1] = start[g] + count[g];
        const std::uint64_t n_syn = start[total_neurons];
        if (n_syn > std::numeric_limits<std::uint32_t>::max())
            throw RunError("population '" + target_pop.spec->name +
                           "': more than 2^32 synapses onto one shard");
        shard.target.resize(n_syn);
        if (quantized)
            shard.weight_code.resize(n_syn);
        else
            shard.weight.resize(n_syn);
        // Sort key, temporary: receptor (8 bits) | local projection (8 bits) | delay (16 bits). Any fixed
        // grouping works; delay lowest keeps the key range of a source small for the counting sort.
        std::vector<std::uint32_t> key(n_syn);

        // Pass 2: the same draws again, now written in place.
        std::vector<std::uint64_t> cursor(start.begin(), start.end() - 1);
        for (std::uint32_t lp = 0; lp < local_projections.size(); ++lp) {
            const std::uint32_t p = local_projections[lp];
            const ProjectionSpec& proj = exp.projections[p];
            const Population& source_pop = pops[proj.source_index];
            const std::uint32_t key_bits = (std::uint32_t(proj.receptor_index) << 24) | (lp << 16);
            const bool const_weight = proj.weight.is_constant(), const_delay = proj.delay_ms.is_constant();
            const std::uint16_t delay0 = delay_steps(proj.delay_ms.value);
            const WeightScale scale = quantized ? scales[p] : WeightScale{};
            generate_connections(
                proj, source_pop.size, target_pop.size, t_begin, t_end, exp.simulation.seed, p, scratch,
                [&](std::uint32_t s, std::uint32_t t, std::uint32_t key_id, std::uint64_t key_index) {
                    const std::uint64_t at = cursor[source_pop.first_gid + s]++;
                    shard.target[at] = std::uint16_t(t - t_begin);
                    double w = proj.weight.value;
                    std::uint16_t d = delay0;
                    if (!const_weight || !const_delay) {
                        // One stream per synapse: weight first, then delay (usually one Philox block).
                        RandomStream rng(exp.simulation.seed, RandomPurpose::connect_value, p, key_id,
                                         key_index);
                        if (!const_weight) w = proj.weight.draw(rng);
                        if (!const_delay) d = delay_steps(proj.delay_ms.draw(rng));
                    }
                    if (quantized)
                        shard.weight_code[at] = encode_weight(scale, w);
                    else
                        shard.weight[at] = float(w);
                    key[at] = key_bits | d;
                },
                &target_counts[p]);
        }

        // Order each source's synapses by key, stably (counting sort over the keys present), and cut
        // them into segments of at most 65535 synapses.
        shard.source_segments.assign(total_neurons + 1, 0);
        shard.source_synapses.assign(total_neurons + 1, 0);
        std::vector<std::uint32_t> order, distinct, offsets;
        std::vector<std::uint16_t> tmp_target, tmp_code;
        std::vector<float> tmp_weight;
        std::vector<std::uint32_t> tmp_key;
        for (std::uint32_t g = 0; g < total_neurons; ++g) {
            shard.source_segments[g] = std::uint32_t(shard.segments.size());
            shard.source_synapses[g] = std::uint32_t(start[g]);
            const std::uint64_t a = start[g], b = start[g + 1], n = b - a;
            if (n == 0) continue;
            bool sorted = true;
            for (std::uint64_t i = a + 1; i < b && sorted; ++i)
                sorted = key[i - 1] <= key[i];
            if (!sorted) {
                // Stable counting sort over [min key, max key] (usually the source's delay range).
                const std::uint32_t lo =
                    *std::min_element(key.begin() + std::ptrdiff_t(a), key.begin() + std::ptrdiff_t(b));
                const std::uint32_t hi =
                    *std::max_element(key.begin() + std::ptrdiff_t(a), key.begin() + std::ptrdiff_t(b));
                const bool dense = hi - lo < 65536;
                if (dense) {
                    offsets.assign(std::size_t(hi - lo) + 2, 0);
                    for (std::uint64_t i = a; i < b; ++i)
                        ++offsets[key[i] - lo + 1];
                } else {
                    distinct.assign(key.begin() + std::ptrdiff_t(a), key.begin() + std::ptrdiff_t(b));
                    std::sort(distinct.begin(), distinct.end());
                    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
                    offsets.assign(distinct.size() + 1, 0);
                }
                auto bucket = [&](std::uint32_t k) {
                    return dense ? std::size_t(k - lo)
                                 : std::size_t(std::lower_bound(distinct.begin(), distinct.end(), k) -
                                               distinct.begin());
                };
                if (!dense)
                    for (std::uint64_t i = a; i < b; ++i)
                        ++offsets[bucket(key[i]) + 1];
                for (std::size_t k = 1; k < offsets.size(); ++k)
                    offsets[k] += offsets[k - 1];
                order.resize(n);
                for (std::uint64_t i = a; i < b; ++i)
                    order[offsets[bucket(key[i])]++] = std::uint32_t(i - a);
                tmp_target.assign(shard.target.begin() + a, shard.target.begin() + b);
                tmp_key.assign(key.begin() + std::ptrdiff_t(a), key.begin() + std::ptrdiff_t(b));
                if (quantized)
                    tmp_code.assign(shard.weight_code.begin() + a, shard.weight_code.begin() + b);
                else
                    tmp_weight.assign(shard.weight.begin() + a, shard.weight.begin() + b);
                for (std::uint64_t i = 0; i < n; ++i) {
                    shard.target[a + i] = tmp_target[order[i]];
                    key[a + i] = tmp_key[order[i]];
                    if (quantized)
                        shard.weight_code[a + i] = tmp_code[order[i]];
                    else
                        shard.weight[a + i] = tmp_weight[order[i]];
                }
            }
            for (std::uint64_t i = a; i < b;) {
                std::uint64_t j = i;
                while (j < b && key[j] == key[i] && j - i < 65535)
                    ++j;
                SynapseSegment seg;
                seg.count = std::uint16_t(j - i);
                seg.delay_steps = std::uint16_t(key[i] & 0xffff);
                seg.projection = std::uint16_t(local_projections[(key[i] >> 16) & 0xff]);
                seg.receptor = std::uint8_t(key[i] >> 24);
                shard.segments.push_back(seg);
                i = j;
            }
        }
        shard.source_segments[total_neurons] = std::uint32_t(shard.segments.size());
        shard.source_synapses[total_neurons] = std::uint32_t(n_syn);
        shard.segments.shrink_to_fit();
    }
};

} // namespace

WeightScale weight_scale_for(const Distribution& d) {
    // The range every draw falls in: the distribution's bounds, and for unbounded tails mean +- 8 sd
    // (a draw beyond has probability < 1e-15 and is clamped to the end of the scale).
    double lo = d.lower_bound(), hi = d.upper_bound();
    if (d.kind == Distribution::Kind::normal) {
        lo = std::max(lo, d.mean - 8.0 * d.sd);
        hi = std::min(hi, d.mean + 8.0 * d.sd);
    } else if (d.kind == Distribution::Kind::lognormal) {
        lo = std::max(lo, std::exp(d.mean - 8.0 * d.sd));
        hi = std::min(hi, std::exp(d.mean + 8.0 * d.sd));
    }
    if (d.kind == Distribution::Kind::constant) return {float(d.value), 0.0f};
    return {float(lo), float((hi - lo) / 65535.0)};
}

std::uint16_t encode_weight(const WeightScale& scale, double w) {
    if (scale.step == 0.0f) return 0;
    const double code = std::nearbyint((w - double(scale.base)) / double(scale.step));
    return std::uint16_t(std::clamp(code, 0.0, 65535.0));
}

std::uint64_t Network::synapse_count() const {
    std::uint64_t n = 0;
    for (const auto& worker : shards)
        for (const auto& s : worker)
            n += s.synapse_count();
    return n;
}

std::uint64_t Network::synapse_bytes() const {
    std::uint64_t n = 0;
    for (const auto& worker : shards)
        for (const auto& s : worker)
            n += s.bytes();
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

NetworkEstimate estimate_network(const Experiment& exp, std::uint32_t workers) {
    NetworkEstimate e;
    for (const auto& proj : exp.projections) {
        const double ns = exp.populations[proj.source_index].size,
                     nt = exp.populations[proj.target_index].size;
        const double pairs =
            ns * nt - ((proj.source_index == proj.target_index && !proj.autapses) ? nt : 0.0);
        switch (proj.rule) {
        case ConnectionRule::one_to_one:
            e.synapses += nt;
            break;
        case ConnectionRule::all_to_all:
            e.synapses += pairs;
            break;
        case ConnectionRule::fixed_probability:
            e.synapses += proj.probability * pairs;
            break;
        case ConnectionRule::fixed_indegree:
            e.synapses += double(proj.degree) * nt;
            break;
        case ConnectionRule::fixed_outdegree:
            e.synapses += double(proj.degree) * ns;
            break;
        case ConnectionRule::fixed_total_number:
            e.synapses += double(proj.total);
            break;
        }
    }
    // Synapse payload, plus the 4-byte sort key each worker holds for the shard it is building (at most
    // its share of the synapses), plus the ring buffers: one float per neuron, receptor and delay slot.
    const double per_synapse = sizeof(std::uint16_t) + (exp.network.weights_uint16 ? 2 : 4);
    e.bytes = e.synapses * per_synapse + 4.0 * e.synapses / std::max(1u, workers);
    double max_delay_ms = exp.simulation.dt_ms;
    for (const auto& proj : exp.projections) {
        const Distribution& d = proj.delay_ms;
        double upper = d.upper_bound();
        if (d.kind == Distribution::Kind::normal) upper = std::min(upper, d.mean + 10.0 * d.sd);
        if (d.kind == Distribution::Kind::lognormal) upper = std::min(upper, std::exp(d.mean + 10.0 * d.sd));
        max_delay_ms = std::max(max_delay_ms, upper);
    }
    const double slots = std::min(65001.0, max_delay_ms / exp.simulation.dt_ms + 2.0);
    for (const auto& pop : exp.populations)
        e.bytes += 4.0 * slots * double(pop.size) * double(pop.receptors.size());
    return e;
}

// The kinetic drug block needs each neuron's NMDA conductance with every receptor bound (ReceptorSpec):
// the summed weight of its incoming synapses and Poisson drive on each kinetic NMDA receptor. Kinetic
// (DMS) receptors need the same sum: their open fraction and leftover estimate (models/kinetic_receptor.hpp).
// Every target's synapses lie in one shard, visited in source order, so the sums are the same for any worker
// count.
static void assign_nmda_capacities(Network& net, std::uint32_t workers, bool drugs) {
    auto kinetic = [drugs](const ReceptorSpec& r) {
        return (drugs && r.shape == ReceptorShape::nmda && r.block == ReceptorSpec::Block::kinetic &&
                !(r.g_max_nS > 0)) ||
               r.shape == ReceptorShape::kinetic;
    };
    std::vector<std::vector<std::vector<double>>> capacity(net.populations.size());
    bool any = false;
    for (const auto& pop : net.populations) {
        auto& per_receptor = capacity[pop.index];
        per_receptor.resize(pop.spec->receptors.size());
        for (std::size_t r = 0; r < pop.spec->receptors.size(); ++r)
            if (kinetic(pop.spec->receptors[r])) {
                per_receptor[r].assign(pop.size, 0.0);
                any = true;
            }
    }
    if (!any) return;
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(workers))
    for (std::uint32_t w = 0; w < workers; ++w)
        for (const auto& shard : net.shards[w]) {
            auto& per_receptor = capacity[shard.population];
            for (std::uint32_t source = 0; source < net.total_neurons; ++source)
                shard.for_each_synapse(
                    source, net.weight_scales,
                    [&](std::uint16_t target, float weight, auto, std::uint8_t receptor, auto) {
                        if (!per_receptor[receptor].empty())
                            per_receptor[receptor][shard.local_begin + target] += weight;
                    });
        }
    for (auto& pop : net.populations) {
        const auto& drive = pop.spec->poisson_drive;
        for (std::size_t r = 0; r < capacity[pop.index].size(); ++r) {
            auto& sums = capacity[pop.index][r];
            if (sums.empty()) continue;
            const double driven = drive && drive->receptor_index == r ? drive->inputs * drive->weight : 0.0;
            std::vector<float> g_max(pop.size);
            for (std::uint32_t i = 0; i < pop.size; ++i)
                g_max[i] = float(sums[i] + driven);
            pop.group->set_nmda_capacity(r, g_max);
        }
    }
}

Network build_network(const Experiment& exp, std::uint32_t workers) {
    return build_network(exp, workers, world());
}

Network build_network(const Experiment& exp, std::uint32_t workers, Communicator& comm) {
    Network net;
    net.comm = &comm;
    net.rank = comm.rank();
    net.ranks = comm.size();
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
            for (double t : times)
                steps.push_back(std::max<std::int64_t>(0, std::llround(t / dt) - 1));
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

    // Partition (ranks, then this rank's threads), then shards: per worker, per population it touches, per
    // 65536 neurons. A rank builds only its own workers' shards: connectivity is drawn per target.
    const Decomposition decomposition =
        decompose(starts, net.total_neurons, std::uint32_t(net.ranks), std::uint32_t(net.rank), workers);
    net.rank_blocks = decomposition.ranks;
    net.blocks = decomposition.workers;
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
            target_counts[p] =
                total_number_counts(exp.projections[p], exp.populations[exp.projections[p].target_index].size,
                                    exp.simulation.seed, std::uint32_t(p));
    if (exp.network.weights_uint16)
        for (const auto& proj : exp.projections) {
            net.weight_scales.push_back(weight_scale_for(proj.weight));
            net.max_weight_rounding =
                std::max(net.max_weight_rounding, 0.5 * double(net.weight_scales.back().step));
        }
    const ShardBuilder builder{exp, net.populations, net.total_neurons, dt, target_counts, net.weight_scales};
    std::string error;
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(workers))
    for (std::uint32_t w = 0; w < workers; ++w) {
        try {
            for (auto& shard : net.shards[w])
                builder.build(shard);
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
    // Over all ranks: every rank exchanges at the same interval and sizes its rings alike.
    std::vector<std::uint32_t> lo{min_delay}, hi{max_delay};
    comm.min(lo);
    comm.max(hi);
    min_delay = lo[0];
    max_delay = hi[0];
    net.has_synapses = max_delay > 0;
    // Without synapses, exchange every 1 ms (only recording happens at exchange points).
    if (!net.has_synapses)
        min_delay = max_delay = std::max<std::uint32_t>(1, std::uint32_t(std::lround(1.0 / dt)));
    net.min_delay_steps = min_delay;
    net.max_delay_steps = max_delay;
    // Slots in use at a delivery: the steps after the interval up to (last step + max delay).
    net.ring_length = max_delay + 1;
    for (auto& pop : net.populations)
        for (std::size_t r = 0; r < pop.spec->receptors.size(); ++r)
            pop.ring.emplace_back(std::size_t(net.ring_length) * pop.size, 0.0f);
    net.presynaptic = PresynapticState(exp, starts, workers);
    // Plastic weights start clipped to their bounds, before the kinetic block sums them.
    net.plasticity = PlasticityState(exp, starts, net.shards, workers);
    if (!net.plasticity.empty()) { // the calcium rule reads V and the NMDA block of its targets
        std::vector<NeuronGroup*> groups;
        for (auto& pop : net.populations)
            groups.push_back(pop.group.get());
        net.plasticity.bind_neurons(exp, groups);
    }

    assign_nmda_capacities(net, workers, !exp.drugs.empty()); // no-op without kinetic receptors or drugs
    return net;
}

} // namespace ketaplast
