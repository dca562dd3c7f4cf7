#include "sim/app/protocol.hpp"

#include "core/error.hpp"
#include "sim/app/progress.hpp"
#include "sim/app/version.hpp"
#include "sim/engine/engine.hpp"
#include "sim/io/checkpoint.hpp"
#include "sim/io/hdf5_file.hpp"
#include "sim/io/recorders.hpp"
#include "sim/io/sonata_circuit.hpp"
#include "sim/network/weight_scaling.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <tuple>

namespace ketaplast {

namespace {

// A potential synapse of a written-back projection: where it is, its weight when built, and its rank in
// the order in which synapses are switched on as the spine density grows (a counter-based hash of
// seed, source, target and projection: the same for any thread count).
struct PotentialSynapse {
    SynapseShard* shard;
    std::size_t k;
    std::size_t projection;
    float base_weight;
    double rank;
    bool active_at_start;
    std::uint32_t source, target; // gids
};

double synapse_rank(std::uint64_t seed, std::uint32_t source, std::uint32_t target, std::size_t projection) {
    const std::uint64_t key[4] = {seed, source, target, projection};
    std::uint64_t h = fnv1a64(key, sizeof(key));
    h ^= h >> 33; // finalise (fnv1a's high bits mix poorly on short keys)
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return double(h >> 11) * 0x1.0p-53;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Per probe: what slow.h5 holds.
struct Row {
    double t_h = 0, rate_Hz = 0, rest_signal = 1, ampa_drive = 1, rest_raw = 0, ampa_raw = 0;
    std::array<double, SlowState::size> state{};
    double strength = 1, gain = 1, scaling = 1, inhibitory = 1, spines = 1, mean_weight = 0,
           total_weight_rel = 1;
    std::uint64_t active = 0, gained = 0, lost = 0;
};
// A row's scalar columns and counts, in the order a checkpoint stores them (then the slow state).
constexpr double Row::*kRowReals[] = {&Row::t_h,
                                      &Row::rate_Hz,
                                      &Row::rest_signal,
                                      &Row::ampa_drive,
                                      &Row::rest_raw,
                                      &Row::ampa_raw,
                                      &Row::strength,
                                      &Row::gain,
                                      &Row::scaling,
                                      &Row::inhibitory,
                                      &Row::spines,
                                      &Row::mean_weight,
                                      &Row::total_weight_rel};
constexpr std::uint64_t Row::*kRowCounts[] = {&Row::active, &Row::gained, &Row::lost};

double quantile(std::vector<double> v, double q) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const double x = q * double(v.size() - 1);
    const std::size_t i = std::size_t(x);
    const double f = x - double(i);
    return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

} // namespace

RunResult run_protocol(const Experiment& exp, Network& net, const ProtocolSession& session) {
    const ProtocolSpec& P = *exp.protocol;
    const std::string& dir = session.dir;
    const int threads = session.threads;
    const bool progress = session.progress, resuming = session.resume != nullptr;
    const auto t_start = session.t_start;
    const double build_s = session.build_s;
    const double dt = exp.simulation.dt_ms;
    const std::int64_t D = net.min_delay_steps;
    // Windows and burn-in in whole exchange intervals (the engine pauses only there).
    const std::int64_t window_steps = (std::int64_t(std::llround(P.window_ms / dt)) + D - 1) / D * D;
    const std::int64_t burn_steps = std::min<std::int64_t>(
        window_steps - D, (std::int64_t(std::llround(P.burn_in_ms / dt)) + D - 1) / D * D);
    const double window_ms = double(window_steps) * dt, burn_ms = double(burn_steps) * dt;
    const double measured_s = double(window_steps - burn_steps) * dt * 1e-3;
    const Population& pop = net.populations[P.population_index];

    SpikeRecorder spikes(net, dir, dt, exp.recording.spikes, resuming);
    RateRecorder rates(net, exp.recording.rate_bin_ms, dt);
    Engine engine(exp, net, threads);
    SlowLayer layer(P.slow);

    // Potential synapses of the written-back projections; the initial spine density switches off those
    // above it (a stressed network starts with fewer active E->E synapses).
    std::vector<PotentialSynapse> synapses;
    for (std::size_t proj : P.projection_indices)
        for_each_projection_synapse(
            net, proj, [&](SynapseShard& shard, std::size_t k, std::uint32_t s, std::uint32_t t) {
                synapses.push_back({&shard, k, proj, shard.quantized ? 0.0f : shard.weight[k],
                                    synapse_rank(exp.simulation.seed, s, t, proj), true, s, t});
            });
    // One order whatever the thread partition (shards hold their targets in partition order): by
    // projection, target, source, then as built. The elements rule keys its random draws on the index, and
    // the sums below add in this order, so both are thread-count invariant.
    std::stable_sort(
        synapses.begin(), synapses.end(), [](const PotentialSynapse& a, const PotentialSynapse& b) {
            return std::tie(a.projection, a.target, a.source) < std::tie(b.projection, b.target, b.source);
        });
    double threshold =
        P.structural ? std::min(1.0, P.slow.initial_spine_density / P.potential_spine_density) : 1.0;
    std::uint64_t active = 0;
    for (auto& syn : synapses) {
        syn.active_at_start = syn.rank < threshold;
        if (syn.active_at_start)
            ++active;
        else
            syn.shard->weight[syn.k] = 0.0f;
    }
    auto weight_of = [&](const PotentialSynapse& syn) {
        return syn.shard->quantized
                   ? double(net.weight_scales[syn.projection].decode(syn.shard->weight_code[syn.k]))
                   : double(syn.shard->weight[syn.k]);
    };
    // Per-neuron synaptic elements (structural_rule = "elements"): the same potential synapses, with their
    // distances for the pairing kernel.
    const bool elements_rule = P.structural && P.structural_rule == ProtocolSpec::StructuralRule::elements;
    std::optional<SynapticElements> elements;
    if (elements_rule) {
        auto position = [&](std::uint32_t gid) {
            const Population& pp = net.populations[net.population_of(gid)];
            const std::uint32_t i = gid - pp.first_gid;
            return std::array<double, 3>{pp.x_um[i], pp.y_um[i], pp.z_um[i]};
        };
        std::vector<SynapticElements::Synapse> list;
        list.reserve(synapses.size());
        for (const auto& syn : synapses) {
            const auto a = position(syn.source), b = position(syn.target);
            const double d = std::sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                                       (a[2] - b[2]) * (a[2] - b[2]));
            list.push_back({syn.source, syn.target, float(d), syn.active_at_start});
        }
        elements.emplace(std::move(list), net.total_neurons, P.elements, exp.simulation.seed);
    }
    const std::uint64_t active_start = active;
    std::vector<std::uint32_t> neuron_c0, neuron_c1;
    std::vector<double> neuron_rate_Hz(net.total_neurons, 0.0);

    std::vector<double> start_weight(synapses.size());
    double start_total = 0;
    for (std::size_t i = 0; i < synapses.size(); ++i) {
        start_weight[i] = synapses[i].active_at_start ? weight_of(synapses[i]) : 0.0;
        start_total += start_weight[i];
    }

    // AMPA drive: projections onto the population's AMPA receptor.
    std::size_t ampa_index = 0;
    for (std::size_t r = 0; r < pop.spec->receptors.size(); ++r)
        if (pop.spec->receptors[r].name == P.ampa_receptor) ampa_index = r;
    std::vector<std::size_t> ampa_projections;
    for (std::size_t j = 0; j < exp.projections.size(); ++j)
        if (exp.projections[j].target_index == P.population_index &&
            exp.projections[j].receptor_index == ampa_index)
            ampa_projections.push_back(j);

    // The AMPA drive counts glutamate released onto the population (source rate x built weight): the slow
    // layer's own write-back is left out, or strengthening would feed itself through this input. (Taken
    // after the stressed network's silent synapses were switched off: they release nothing.)
    std::vector<double> ampa_weight(exp.projections.size(), 0.0);
    for (std::size_t j : ampa_projections)
        ampa_weight[j] = projection_weight_sum(net, j).sum;
    std::vector<double> times = P.probe_times_min;
    times.push_back(P.duration_h * 60.0); // the final window
    // Weight snapshots (protocol.snapshots): every projection's weights at the probes nearest to the report
    // times, taken at the end of those windows (engine time (k + 1) x window), to snapshots.h5 in edges.h5's
    // column order; switched-off synapses show weight 0.
    std::vector<std::size_t> snapshot_probes;
    if (P.snapshots)
        for (double h : P.report_h) {
            std::size_t best = 0;
            for (std::size_t k = 1; k < times.size(); ++k)
                if (std::fabs(times[k] / 60.0 - h) < std::fabs(times[best] / 60.0 - h)) best = k;
            snapshot_probes.push_back(best);
        }
    std::sort(snapshot_probes.begin(), snapshot_probes.end());
    snapshot_probes.erase(std::unique(snapshot_probes.begin(), snapshot_probes.end()), snapshot_probes.end());
    Experiment snapshot_exp = exp;
    snapshot_exp.recording.snapshot_times_ms.clear();
    std::vector<double> snapshot_t_h;
    for (std::size_t k : snapshot_probes) {
        snapshot_exp.recording.snapshot_times_ms.push_back(double(std::int64_t(k + 1) * window_steps) * dt);
        snapshot_t_h.push_back(times[k] / 60.0);
    }
    WeightSnapshots snapshots(snapshot_exp, net, dir, std::int64_t(times.size()) * window_steps, resuming);
    std::vector<Row> rows;
    double applied = 1.0, applied_inhibitory = 1.0, rest0 = 1.0, ampa0 = 1.0;
    std::uint64_t gained_total = 0, lost_total = 0;

    // Checkpoints (at probe starts, ProtocolSession): the protocol's own state beside the engine's. One
    // function walks it for saving and loading (StateArchive).
    std::uint64_t next_probe = 0;
    auto protocol_state = [&](StateArchive& a) {
        a.value("protocol/next_probe", next_probe);
        // The rows measured so far: doubles and counts per row, flattened.
        constexpr std::size_t kScalars = std::size(kRowReals), kReals = kScalars + SlowState::size,
                              kCounts = std::size(kRowCounts);
        std::uint64_t n_rows = rows.size();
        a.value("protocol/rows", n_rows);
        std::vector<double> reals;
        std::vector<std::uint64_t> counts;
        if (!a.loading())
            for (const Row& r : rows) {
                for (auto field : kRowReals)
                    reals.push_back(r.*field);
                reals.insert(reals.end(), r.state.begin(), r.state.end());
                for (auto field : kRowCounts)
                    counts.push_back(r.*field);
            }
        a.vector("protocol/row_values", reals);
        a.vector("protocol/row_counts", counts);
        if (a.loading()) {
            if (n_rows == 0 || reals.size() != n_rows * kReals || counts.size() != n_rows * kCounts ||
                next_probe != n_rows || next_probe >= times.size())
                throw InputError(a.path() + ": protocol rows are inconsistent with this protocol");
            rows.assign(n_rows, Row{});
            for (std::size_t i = 0; i < n_rows; ++i) {
                Row& r = rows[i];
                const double* v = reals.data() + i * kReals;
                for (std::size_t f = 0; f < kScalars; ++f)
                    r.*kRowReals[f] = v[f];
                std::copy(v + kScalars, v + kReals, r.state.begin());
                for (std::size_t f = 0; f < kCounts; ++f)
                    r.*kRowCounts[f] = counts[i * kCounts + f];
            }
            // The baseline (rate target, calcium set point) from the first window, as the first run set it.
            layer.reset(rows.front().rate_Hz);
        }
        a.array("protocol/slow_state", layer.state().y.data(), SlowState::size);
        a.value("protocol/applied_strength", applied);
        a.value("protocol/applied_inhibitory", applied_inhibitory);
        a.value("protocol/rest0", rest0);
        a.value("protocol/ampa0", ampa0);
        a.value("protocol/gained_total", gained_total);
        a.value("protocol/lost_total", lost_total);
        a.value("protocol/active", active);
        a.value("protocol/threshold", threshold);
        if (elements) {
            SynapticElements::State e;
            if (!a.loading()) e = elements->state();
            a.value("protocol/elements/updates", e.updates);
            a.vector("protocol/elements/z_dend", e.z_dend);
            a.vector("protocol/elements/z_axon", e.z_axon);
            a.vector("protocol/elements/bound_dend", e.bound_dend);
            a.vector("protocol/elements/bound_axon", e.bound_axon);
            a.vector("protocol/elements/active", e.active);
            if (a.loading()) try {
                    elements->set_state(e);
                } catch (const std::invalid_argument& err) {
                    throw InputError(a.path() + ": " + err.what());
                }
        }
        // The written-back and inhibitory projections' weights (scaled and switched in place), in an order
        // that does not depend on the thread partition: by target, then as built (sources ascending).
        std::vector<std::size_t> scaled = P.projection_indices;
        scaled.insert(scaled.end(), P.inhibitory_projection_indices.begin(),
                      P.inhibitory_projection_indices.end());
        for (std::size_t proj : scaled) {
            const std::string base = "protocol/weights/" + exp.projections[proj].name;
            if (exp.network.weights_uint16) { // scaling moves the code's base and step (weight_scaling.cpp)
                a.value(base + "/scale_base", net.weight_scales.at(proj).base);
                a.value(base + "/scale_step", net.weight_scales.at(proj).step);
                continue;
            }
            std::vector<std::pair<std::uint32_t, float*>> refs;
            for_each_projection_synapse(
                net, proj, [&](SynapseShard& shard, std::size_t k, std::uint32_t, std::uint32_t target) {
                    refs.emplace_back(target, &shard.weight[k]);
                });
            std::stable_sort(refs.begin(), refs.end(),
                             [](const auto& x, const auto& y) { return x.first < y.first; });
            std::vector<float> w(refs.size());
            if (!a.loading())
                for (std::size_t i = 0; i < refs.size(); ++i)
                    w[i] = *refs[i].second;
            a.array(base + "/weight", w.data(), w.size());
            if (a.loading())
                for (std::size_t i = 0; i < refs.size(); ++i)
                    *refs[i].second = w[i];
        }
    };
    // Everything a checkpoint holds besides its header, walked the same way for saving and loading.
    auto run_state = [&](StateArchive& a) {
        engine.checkpoint_state(a);
        if (!a.loading() && checkpoint_fault_due()) ::raise(SIGKILL); // test hook: killed half-way through
        spikes.checkpoint(a);
        rates.checkpoint(a);
        snapshots.checkpoint(a);
        protocol_state(a);
    };
    auto write_checkpoint = [&](std::size_t k) {
        next_probe = k;
        write_checkpoint_file(dir, [&](StateArchive& a) {
            session.write_header(a, engine.step());
            run_state(a);
        });
    };
    if (resuming) {
        StateArchive& a = *session.resume;
        run_state(a);
        a.close();
        const double at_ms = times[next_probe] * 60000.0;
        if (session.pause_at_ms >= 0 && session.pause_at_ms <= at_ms)
            throw InputError(fmt::format("--until {} ms: the checkpoint is already at {} ms of protocol time",
                                         session.pause_at_ms, at_ms));
        // Only now, with everything read and checked, are the interrupted run's files touched.
        spikes.reopen();
        snapshots.reopen();
    }
    const std::size_t first_probe = resuming ? std::size_t(next_probe) : 0;

    ProgressReporter bar(60000.0, std::int64_t(times[first_probe]),
                         std::int64_t(std::ceil(P.duration_h * 60.0)));
    const auto t_sim = std::chrono::steady_clock::now();
    std::string status = "completed";
    engine.set_block_rate_averaging(P.bridge_block);
    try {
        for (std::size_t k = first_probe; k < times.size(); ++k) {
            const double t_min = times[k];
            const bool resumed_here = resuming && k == first_probe; // bridged before the checkpoint
            // The kinetic drug block relaxes over seconds to minutes: carry it through the gap under the last
            // window's mean rates, or the block measured in a short window lags the concentration and depends
            // on the window's length (docs/slow_layer.md).
            if (k > 0 && P.bridge_block && !resumed_here) engine.bridge_drug_block(t_min * 60000.0);
            engine.set_drug_clock_offset(t_min * 60000.0 - double(engine.step()) * dt);
            engine.reset_block_rate_sums();
            // Checkpoints: here, at a probe start, between the gap and the window (never at the baseline).
            if (k > 0 && !resumed_here) {
                const double at_ms = t_min * 60000.0, every = session.checkpoint_every_ms;
                const bool stop = session.stop && session.stop->load();
                if (stop || (session.pause_at_ms >= 0 && at_ms >= session.pause_at_ms)) {
                    write_checkpoint(k);
                    if (progress) bar.finish();
                    spikes.close_unfinished();
                    snapshots.close_unfinished();
                    RunResult stopped{dir, stop ? "interrupted" : "paused"};
                    stopped.paused = !stop;
                    stopped.signal = stop && session.signal ? int(*session.signal) : 0;
                    stopped.stopped_ms = at_ms;
                    return stopped;
                }
                // The period comes back from a checkpoint header as steps x dt, which can differ from the
                // configured value in the last bit: a relative 1e-9 keeps a boundary probe on its side.
                auto period = [every](double t_ms) { return std::floor(t_ms / every * (1.0 + 1e-9)); };
                if (every > 0 && period(at_ms) > period(times[k - 1] * 60000.0)) write_checkpoint(k);
            }
            std::vector<std::uint64_t> c0(net.populations.size()), c1(net.populations.size());
            engine.run(engine.step() + burn_steps, {&spikes, nullptr, &rates});
            for (std::size_t p = 0; p < c0.size(); ++p)
                c0[p] = spikes.count(p);
            if (elements_rule) neuron_c0 = spikes.neuron_counts();
            const std::size_t sample0 = engine.drug_samples().size();
            engine.run(engine.step() + window_steps - burn_steps, {&spikes, nullptr, &rates});
            for (std::size_t p = 0; p < c1.size(); ++p)
                c1[p] = spikes.count(p);
            if (elements_rule) {
                neuron_c1 = spikes.neuron_counts();
                for (std::size_t g = 0; g < neuron_rate_Hz.size(); ++g)
                    neuron_rate_Hz[g] = double(neuron_c1[g] - neuron_c0[g]) / measured_s;
            }
            engine.tick_drugs(); // the NMDA pool at the window's end (windows shorter than the drug clock)
            auto rate_of = [&](std::size_t p) {
                return double(c1[p] - c0[p]) / (double(net.populations[p].size) * measured_s);
            };
            Row row;
            row.t_h = t_min / 60.0;
            row.rate_Hz = rate_of(P.population_index);
            // Rest signal: the NMDA pool's fraction not blocked by drugs, averaged over the measured part.
            double unblocked = 0;
            int n = 0;
            const auto& samples = engine.drug_samples();
            for (std::size_t s = sample0; s < samples.size(); ++s)
                for (const auto& pool : samples[s].pools)
                    if (pool.population == P.population && pool.receptor == P.nmda_receptor) {
                        unblocked += 1.0 - pool.drug_blocked;
                        ++n;
                    }
            row.rest_raw = n ? unblocked / n : 1.0;
            for (std::size_t j : ampa_projections)
                row.ampa_raw += rate_of(exp.projections[j].source_index) * ampa_weight[j];
            if (k == 0) {
                rest0 = row.rest_raw > 0 ? row.rest_raw : 1.0;
                ampa0 = row.ampa_raw > 0 ? row.ampa_raw : 1.0;
                layer.reset(row.rate_Hz);
            }
            row.rest_signal = row.rest_raw / rest0;
            row.ampa_drive = ampa_projections.empty() ? 1.0 : row.ampa_raw / ampa0;
            row.state = layer.state().y;
            row.strength = layer.strength_factor();
            row.gain = layer.bdnf_gain();
            row.scaling = layer.scaling();
            row.inhibitory = P.inhibitory_projection_indices.empty() ? 1.0 : layer.inhibitory_factor();
            row.spines = elements_rule ? (active_start ? double(active) / double(active_start) : 1.0)
                                       : layer.spine_factor();
            double total = 0;
            for (const auto& syn : synapses)
                total += weight_of(syn);
            row.active = active;
            row.mean_weight = active ? total / double(active) : 0.0;
            row.total_weight_rel = start_total > 0 ? total / start_total : 1.0;
            row.gained = gained_total;
            row.lost = lost_total;
            rows.push_back(row);
            snapshots.take_due(engine.step());
            if (k + 1 == times.size()) break;

            // The slow clock to the next probe, with this window's statistics held.
            layer.advance(times[k + 1] - t_min, {row.rest_signal, row.ampa_drive, row.rate_Hz});
            // Write-back: strength as a ratio (keeps whatever else changed single weights), then structure.
            const double factor = layer.strength_factor();
            for (std::size_t proj : P.projection_indices)
                scale_projection_weights(net, proj, factor / applied);
            applied = factor;
            // Inhibitory inputs scale the other way (Kilman et al. 2002); no structural change on them.
            const double inhibitory = layer.inhibitory_factor();
            for (std::size_t proj : P.inhibitory_projection_indices)
                scale_projection_weights(net, proj, inhibitory / applied_inhibitory);
            applied_inhibitory = inhibitory;
            if (elements_rule) {
                const auto change = elements->update(neuron_rate_Hz, layer.Ca_target(), times[k + 1] - t_min,
                                                     layer.state().y[6]);
                for (std::size_t s : change.off) {
                    synapses[s].shard->weight[synapses[s].k] = 0.0f;
                    ++lost_total;
                    --active;
                }
                for (std::size_t s : change.on) {
                    synapses[s].shard->weight[synapses[s].k] =
                        float(double(synapses[s].base_weight) * applied);
                    ++gained_total;
                    ++active;
                }
            } else if (P.structural) {
                const double next = std::min(1.0, layer.state().y[7] / P.potential_spine_density);
                for (auto& syn : synapses) {
                    const bool was = syn.rank < threshold, now = syn.rank < next;
                    if (!was && now) {
                        syn.shard->weight[syn.k] = float(double(syn.base_weight) * applied);
                        ++gained_total;
                        ++active;
                    } else if (was && !now) {
                        syn.shard->weight[syn.k] = 0.0f;
                        ++lost_total;
                        --active;
                    }
                }
                threshold = next;
            }
            if (progress) bar.update(std::int64_t(times[k + 1]));
        }
    } catch (const NumericalError& e) {
        status = std::string("failed: ") + e.what();
    }
    if (progress) bar.finish();
    const double simulate_s = seconds_since(t_sim);

    // Outputs.
    spikes.finish();
    rates.write(dir, engine.step(), exp.species, engine.drug_samples());
    write_nodes(net, dir);
    if (!snapshots.empty()) {
        snapshots.add_column("protocol_time_h", snapshot_t_h, "h");
        snapshots.finish();
    }
    if (!snapshots.empty() || exp.recording.edges) write_edges(exp, net, dir);
    write_sonata_description(exp, dir, !snapshots.empty() || exp.recording.edges);
    {
        h5::File file = h5::File::create(dir + "/slow.h5.tmp");
        h5::Object g = file.group("slow");
        auto column = [&](auto get) {
            std::vector<double> v;
            for (const auto& r : rows)
                v.push_back(get(r));
            return v;
        };
        auto count_column = [&](auto get) {
            std::vector<std::uint64_t> v;
            for (const auto& r : rows)
                v.push_back(get(r));
            return v;
        };
        g.write("t_h", column([](const Row& r) { return r.t_h; }), "h");
        for (std::size_t i = 0; i < SlowState::size; ++i)
            g.write(SlowState::names()[i], column([i](const Row& r) { return r.state[i]; }));
        g.write("strength_factor", column([](const Row& r) { return r.strength; }));
        g.write("bdnf_gain", column([](const Row& r) { return r.gain; }));
        g.write("scaling", column([](const Row& r) { return r.scaling; }));
        g.write("inhibitory_factor", column([](const Row& r) { return r.inhibitory; }));
        g.write("spine_factor", column([](const Row& r) { return r.spines; }));
        g.write("input_rest_signal", column([](const Row& r) { return r.rest_signal; }));
        g.write("input_ampa_drive", column([](const Row& r) { return r.ampa_drive; }));
        g.write("rate_Hz", column([](const Row& r) { return r.rate_Hz; }), "Hz");
        g.write("nmda_unblocked_fraction", column([](const Row& r) { return r.rest_raw; }));
        g.write("mean_weight", column([](const Row& r) { return r.mean_weight; }));
        g.write("total_weight_relative", column([](const Row& r) { return r.total_weight_rel; }));
        g.write("active_synapses", count_column([](const Row& r) { return r.active; }));
        g.write("synapses_gained", count_column([](const Row& r) { return r.gained; }));
        g.write("synapses_lost", count_column([](const Row& r) { return r.lost; }));
        g.attribute("population", P.population);
        g.attribute("projections", fmt::format("{}", fmt::join(P.projections, ",")));
        g.attribute("inhibitory_projections", fmt::format("{}", fmt::join(P.inhibitory_projections, ",")));
        g.attribute("window_ms", window_ms);
        g.attribute("burn_in_ms", burn_ms);
        g.attribute("acceleration", double(times.back()) * 60000.0 / (double(engine.step()) * dt));
        g.attribute("duration_h", P.duration_h);
        g.attribute("potential_spine_density", P.potential_spine_density);
        g.attribute("initial_spine_density", P.slow.initial_spine_density);
        file.close();
        commit_file(dir, "slow.h5");
    }
    {
        std::ofstream out(dir + "/config.toml.tmp", std::ios::binary);
        out << exp.resolved_toml;
    }
    commit_file(dir, "config.toml");

    nlohmann::json summary;
    summary["ketaplast_version"] = KETAPLAST_VERSION;
    summary["status"] = status;
    summary["config"] = exp.config_path;
    summary["seed"] = exp.simulation.seed;
    summary["threads"] = threads;
    summary["dt_ms"] = dt;
    summary["simulated_ms"] = double(engine.step()) * dt;
    for (const auto& p : net.populations) {
        const double s = double(engine.step()) * dt * 1e-3;
        summary["populations"][p.spec->name] = {
            {"model", p.spec->model},
            {"size", p.size},
            {"spike_count", spikes.count(p.index)},
            {"mean_rate_Hz", s > 0 ? double(spikes.count(p.index)) / (p.size * s) : 0.0},
            {"synapses_in", net.synapses_into(p.index)}};
    }
    summary["protocol"] = {{"duration_h", P.duration_h},
                           {"probes", rows.size()},
                           {"window_ms", window_ms},
                           {"burn_in_ms", burn_ms},
                           {"bridge_block", P.bridge_block},
                           {"structural_rule", elements_rule ? "elements" : "spine_density"},
                           {"acceleration", double(times.back()) * 60000.0 / (double(engine.step()) * dt)},
                           {"population", P.population},
                           {"projections", P.projections},
                           {"inhibitory_projections", P.inhibitory_projections},
                           {"structural", P.structural},
                           {"baseline_rate_Hz", rows.empty() ? 0.0 : rows.front().rate_Hz},
                           {"rate_target_Hz", layer.rate_target_Hz()}};
    // Strengthening: per synapse of the written-back projections, end against start.
    std::vector<double> dw, rel;
    std::uint64_t gained = 0, lost = 0;
    double end_total = 0;
    for (std::size_t i = 0; i < synapses.size(); ++i) {
        const double w = weight_of(synapses[i]);
        const bool now = elements ? elements->synapses()[i].active : synapses[i].rank < threshold;
        end_total += w;
        if (synapses[i].active_at_start && now) {
            dw.push_back(w - start_weight[i]);
            if (start_weight[i] != 0.0) rel.push_back(w / start_weight[i]);
        }
        if (!synapses[i].active_at_start && now) ++gained;
        if (synapses[i].active_at_start && !now) ++lost;
    }
    double mean_dw = 0, mean_rel = 0;
    for (double x : dw)
        mean_dw += x / double(dw.size());
    for (double x : rel)
        mean_rel += x / double(rel.size());
    nlohmann::json strengthening = {
        {"projections", P.projections},
        {"synapses_potential", synapses.size()},
        {"synapses_active_start", std::count_if(synapses.begin(), synapses.end(),
                                                [](const PotentialSynapse& s) { return s.active_at_start; })},
        {"synapses_active_end", active},
        {"synapses_gained", gained},
        {"synapses_lost", lost},
        {"synapses_gained_events", gained_total},
        {"synapses_lost_events", lost_total},
        {"mean_weight_change", mean_dw},
        {"mean_weight_ratio", mean_rel},
        {"weight_change_quantiles",
         {{"q05", quantile(dw, 0.05)},
          {"q25", quantile(dw, 0.25)},
          {"median", quantile(dw, 0.5)},
          {"q75", quantile(dw, 0.75)},
          {"q95", quantile(dw, 0.95)}}},
        {"total_weight_ratio", start_total > 0 ? end_total / start_total : 1.0},
        {"note",
         "weights of synapses active at start and end (change = end - start, in the projection's weight "
         "unit); total_weight_ratio = summed E->E weight (strength x synapse count) end / start"}};
    // Peak and time course at the report times.
    if (!rows.empty()) {
        auto peak = std::max_element(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
            return a.total_weight_rel < b.total_weight_rel;
        });
        strengthening["peak_total_weight_ratio"] = peak->total_weight_rel;
        strengthening["time_of_peak_h"] = peak->t_h;
        // Onset: the first probe at which the summed weight is up by >= 10 %.
        for (const auto& r : rows)
            if (r.total_weight_rel >= 1.1) {
                strengthening["onset_h"] = r.t_h;
                break;
            }
        // Persistence (T35): hours from the peak until the rise above baseline has halved, for the summed
        // weight and for the synapse count; absent if it has not halved by the end of the run.
        auto half_gone_h = [&](auto value) {
            const auto top = std::max_element(
                rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return value(a) < value(b); });
            const double rise = value(*top) - 1.0;
            nlohmann::json out = {{"peak", value(*top)}, {"peak_t_h", top->t_h}};
            if (rise > 0)
                for (auto it = top; it != rows.end(); ++it)
                    if (value(*it) - 1.0 < 0.5 * rise) {
                        out["half_gone_after_peak_h"] = it->t_h - top->t_h;
                        break;
                    }
            return out;
        };
        strengthening["persistence"] = {
            {"total_weight", half_gone_h([](const Row& r) { return r.total_weight_rel; })},
            {"synapse_count", half_gone_h([&](const Row& r) {
                 return active_start ? double(r.active) / double(active_start) : 1.0;
             })}};
        for (double h : P.report_h) {
            const auto it = std::min_element(rows.begin(), rows.end(), [h](const Row& a, const Row& b) {
                return std::fabs(a.t_h - h) < std::fabs(b.t_h - h);
            });
            summary["timepoints"].push_back({{"t_h", it->t_h},
                                             {"rate_Hz", it->rate_Hz},
                                             {"rest_signal", it->rest_signal},
                                             {"BDNF", it->state[2]},
                                             {"mTOR", it->state[5]},
                                             {"protein", it->state[6]},
                                             {"spine_factor", it->spines},
                                             {"strength_factor", it->strength},
                                             {"inhibitory_factor", it->inhibitory},
                                             {"total_weight_ratio", it->total_weight_rel},
                                             {"active_synapses", it->active}});
        }
    }
    summary["strengthening"] = strengthening;
    summary["timing"] = {
        {"build_s", build_s}, {"simulate_s", simulate_s}, {"total_s", seconds_since(t_start)}};
    {
        std::ofstream out(dir + "/summary.json.tmp", std::ios::binary);
        out << summary.dump(2) << "\n";
        if (!out) throw RunError("cannot write " + dir + "/summary.json.tmp");
    }
    commit_file(dir, "summary.json");
    // The outputs are final (completed, or failed with a numerical error a deterministic resume would
    // repeat): a checkpoint of this run has nothing left to resume.
    std::error_code ec;
    std::filesystem::remove(dir + "/checkpoint.h5", ec);
    std::filesystem::remove(dir + "/checkpoint.h5.tmp", ec);
    RunResult result{dir, status};
    if (status != "completed") throw NumericalError(status.substr(8));
    return result;
}

} // namespace ketaplast
