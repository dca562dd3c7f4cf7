#include "sim/io/recorders.hpp"

#include "sim/analysis/network_analysis.hpp"

#include "core/error.hpp"
#include "models/registry.hpp"
#include "sim/io/checkpoint.hpp"
#include "sim/io/sonata_circuit.hpp"
#include "sim/parallel/communicator.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace ketaplast {

void commit_file(const std::string& dir, const std::string& name) {
    std::error_code ec;
    std::filesystem::rename(dir + "/" + name + ".tmp", dir + "/" + name, ec);
    if (ec) throw RunError("cannot finalise " + dir + "/" + name + ": " + ec.message());
}

void write_nodes(const Network& net, const std::string& dir) {
    h5::File file = h5::File::create(dir + "/nodes.h5.tmp");
    write_sonata_header(file);
    h5::Object nodes = file.group("nodes");
    for (std::size_t p = 0; p < net.populations.size(); ++p) {
        const auto& pop = net.populations[p];
        h5::Object g = nodes.group(pop.spec->name);
        g.attribute("model", pop.spec->model);
        // One node type per population (node_types.csv: model_type, model_template, model_name).
        const std::vector<std::int64_t> type(pop.size, node_type_id(p)), group_id(pop.size, 0);
        std::vector<std::int64_t> group_index(pop.size);
        std::vector<std::uint64_t> node_id(pop.size);
        for (std::uint32_t i = 0; i < pop.size; ++i)
            group_index[i] = node_id[i] = i;
        g.write("node_type_id", type);
        g.write("node_id", node_id);
        g.write("node_group_id", group_id);
        g.write("node_group_index", group_index);
        h5::Object attributes = g.group("0");
        attributes.write("x", std::vector<float>(pop.x_um.begin(), pop.x_um.end()), "um");
        attributes.write("y", std::vector<float>(pop.y_um.begin(), pop.y_um.end()), "um");
        attributes.write("z", std::vector<float>(pop.z_um.begin(), pop.z_um.end()), "um");
    }
    file.close();
    commit_file(dir, "nodes.h5");
}

namespace {

// SONATA index of one side: for each node, the ranges of edge ids that have it on that side.
void write_index(h5::Object& group, const std::vector<std::uint64_t>& node_of_edge, std::uint64_t n_nodes) {
    std::vector<std::uint64_t> order(node_of_edge.size());
    for (std::uint64_t e = 0; e < order.size(); ++e)
        order[e] = e;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint64_t a, std::uint64_t b) { return node_of_edge[a] < node_of_edge[b]; });
    std::vector<std::uint64_t> node_ranges(2 * n_nodes, 0), ranges;
    for (std::uint64_t k = 0; k < order.size();) {
        const std::uint64_t node = node_of_edge[order[k]];
        node_ranges[2 * node] = ranges.size() / 2;
        while (k < order.size() && node_of_edge[order[k]] == node) {
            const std::uint64_t first = order[k];
            std::uint64_t last = first + 1;
            ++k;
            while (k < order.size() && node_of_edge[order[k]] == node && order[k] == last)
                ++last, ++k;
            ranges.push_back(first);
            ranges.push_back(last);
        }
        node_ranges[2 * node + 1] = ranges.size() / 2;
    }
    group.write_u64_matrix("node_id_to_ranges", node_ranges, n_nodes, 2);
    group.write_u64_matrix("range_to_edge_id", ranges, ranges.size() / 2, 2);
}

} // namespace

std::vector<std::vector<EdgeRecord>> collect_edges(const Experiment& exp, const Network& net) {
    using Edge = EdgeRecord;
    std::vector<std::vector<Edge>> per_projection(exp.projections.size());
    for (const auto& worker : net.shards)
        for (const auto& shard : worker)
            for (std::uint32_t s = 0; s < net.total_neurons; ++s) {
                const std::uint32_t source_pop = net.population_of(s);
                shard.for_each_synapse(s, net.weight_scales,
                                       [&](std::uint16_t t, float w, std::uint16_t delay, std::uint8_t,
                                           std::uint16_t projection) {
                                           per_projection[projection].push_back(
                                               {s - net.populations[source_pop].first_gid,
                                                std::uint64_t(shard.local_begin) + t, w,
                                                float(delay * exp.simulation.dt_ms)});
                                       });
            }
    for (auto& list : per_projection)
        std::stable_sort(list.begin(), list.end(),
                         [](const Edge& a, const Edge& b) { return a.target < b.target; });
    // MPI: every synapse lives on its target's rank and ranks own ascending target blocks, so the ranks'
    // lists concatenated in rank order are the one-process order.
    if (net.comm && net.comm->distributed())
        for (auto& list : per_projection)
            list = net.comm->gather_vector(list);
    return per_projection;
}

void write_edges(const Experiment& exp, const Network& net, const std::string& dir) {
    const auto per_projection = collect_edges(exp, net);
    if (net.comm && !net.comm->root()) return; // the root writes the gathered edges
    h5::File file = h5::File::create(dir + "/edges.h5.tmp");
    write_sonata_header(file);
    h5::Object edges = file.group("edges");
    for (std::size_t p = 0; p < exp.projections.size(); ++p) {
        const auto& list = per_projection[p];
        const ProjectionSpec& proj = exp.projections[p];
        h5::Object g = edges.group(proj.name);
        std::vector<std::uint64_t> source, target, group_index;
        std::vector<std::int64_t> type(list.size(), edge_type_id(p)), group_id(list.size(), 0);
        std::vector<float> weight, delay;
        for (std::uint64_t e = 0; e < list.size(); ++e) {
            source.push_back(list[e].source);
            target.push_back(list[e].target);
            group_index.push_back(e);
            weight.push_back(list[e].weight);
            delay.push_back(list[e].delay_ms);
        }
        g.write("source_node_id", source);
        g.attribute_on("source_node_id", "node_population", proj.source);
        g.write("target_node_id", target);
        g.attribute_on("target_node_id", "node_population", proj.target);
        g.write("edge_type_id", type);
        g.write("edge_group_id", std::vector<std::int64_t>(list.size(), 0));
        g.write("edge_group_index", group_index);
        h5::Object attributes = g.group("0");
        const bool conductance =
            builtin_models().find(exp.populations[proj.target_index].model)->receptor_kind ==
            ReceptorKind::conductance;
        attributes.write("syn_weight", weight, conductance ? "nS" : "pA");
        attributes.write("delay", delay, "ms");
        h5::Object indices = g.group("indices");
        h5::Object t2s = indices.group("target_to_source");
        write_index(t2s, target, exp.populations[proj.target_index].size);
        h5::Object s2t = indices.group("source_to_target");
        write_index(s2t, source, exp.populations[proj.source_index].size);
    }
    file.close();
    commit_file(dir, "edges.h5");
}

// ---------------------------------------------------------------------------------------------

SpikeRecorder::SpikeRecorder(const Network& net, const std::string& dir, double dt_ms, bool enabled,
                             bool resume)
    : net_(net), dir_(dir), dt_ms_(dt_ms), enabled_(enabled), counts_(net.populations.size(), 0),
      neuron_counts_(net.total_neurons, 0) {
    if (!enabled_ || resume) return;
    file_ = h5::File::create(dir + "/spikes.h5.tmp");
    write_sonata_header(file_);
    h5::Object spikes = file_.group("spikes");
    for (const auto& pop : net.populations) {
        PerPopulation p;
        p.group = spikes.group(pop.spec->name);
        p.group.sorting_attribute(2); // by_time
        p.timestamps = p.group.appendable("timestamps", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, 8192, "ms");
        p.node_ids = p.group.appendable("node_ids", H5T_STD_U64LE, H5T_NATIVE_UINT64, 1, 8192);
        pops_.push_back(std::move(p));
    }
}

void SpikeRecorder::add(const std::vector<SpikeRecord>& spikes) {
    for (const auto& s : spikes) {
        const std::uint32_t p = net_.population_of(s.gid);
        ++counts_[p];
        ++neuron_counts_[s.gid];
        if (!enabled_) continue;
        pops_[p].t_buffer.push_back(double(s.step + 1) * dt_ms_);
        pops_[p].id_buffer.push_back(s.gid - net_.populations[p].first_gid);
    }
    if (enabled_) {
        buffered_ += spikes.size();
        if (buffered_ >= (1u << 20)) flush();
    }
}

void SpikeRecorder::flush() {
    for (auto& p : pops_) {
        p.timestamps.append(p.t_buffer);
        p.node_ids.append(p.id_buffer);
        p.t_buffer.clear();
        p.id_buffer.clear();
    }
    buffered_ = 0;
}

void SpikeRecorder::checkpoint(StateArchive& a) {
    if (!a.loading() && enabled_) {
        flush();
        file_.flush();
        rows_.clear();
        for (const auto& p : pops_)
            rows_.push_back(p.timestamps.rows());
    }
    a.vector("recorders/spikes/counts", counts_);
    a.vector("recorders/spikes/rows", rows_);
    if (a.loading() && counts_.size() != net_.populations.size())
        throw InputError(a.path() + ": spike counts for " + std::to_string(counts_.size()) +
                         " populations, the network has " + std::to_string(net_.populations.size()));
    if (a.loading() && rows_.size() != (enabled_ ? net_.populations.size() : 0))
        throw InputError(a.path() + ": spike recording positions do not match this experiment");
}

void SpikeRecorder::reopen() {
    if (!enabled_) return;
    file_ = h5::File::open_rw(dir_ + "/spikes.h5.tmp");
    h5::Object spikes = file_.open_group("spikes");
    pops_.clear();
    for (const auto& pop : net_.populations) {
        PerPopulation p;
        p.group = spikes.open_group(pop.spec->name);
        p.timestamps = p.group.open_appendable("timestamps", H5T_NATIVE_DOUBLE);
        p.node_ids = p.group.open_appendable("node_ids", H5T_NATIVE_UINT64);
        p.timestamps.truncate(rows_[pop.index]);
        p.node_ids.truncate(rows_[pop.index]);
        pops_.push_back(std::move(p));
    }
}

void SpikeRecorder::close_unfinished() {
    if (!enabled_ || !file_.valid_file()) return;
    flush();
    pops_.clear();
    file_.close();
}

void SpikeRecorder::finish() {
    if (!enabled_ || !file_.valid_file()) return;
    flush();
    pops_.clear();
    file_.close();
    commit_file(dir_, "spikes.h5");
}

// ---------------------------------------------------------------------------------------------

StateReporter::StateReporter(const Network& net, const RecordingSpec& spec, const std::string& dir,
                             double dt_ms, std::uint32_t steps_per_exchange, bool resume)
    : net_(net), dir_(dir), dt_ms_(dt_ms), writer_(!net.comm || net.comm->root()) {
    if (spec.reports.empty()) return;
    if (!writer_) resume = true; // no file on the other ranks: they only sample their own neurons
    for (const auto& rs : spec.reports) {
        const Population& pop = net.populations[rs.population_index];
        for (const auto& variable : rs.variables) {
            Report r;
            r.spec = &rs;
            r.variable = variable;
            r.population = pop.index;
            r.first_gid = pop.first_gid;
            r.interval_steps = std::max<std::uint32_t>(1, std::uint32_t(std::lround(rs.interval_ms / dt_ms)));
            r.variables.push_back(pop.group->state(variable));
            r.column_of.assign(pop.size, -1);
            for (std::size_t c = 0; c < rs.neurons.size(); ++c)
                r.column_of[rs.neurons[c]] = std::int32_t(c);
            r.width = rs.neurons.size();
            // Room for a few exchange intervals' rows, and at least ~8 MB so writes are large.
            const std::size_t per_interval = steps_per_exchange / r.interval_steps + 2;
            r.capacity_rows =
                std::max<std::size_t>(2 * per_interval, (8u << 20) / (4 * std::max<std::size_t>(1, r.width)));
            r.buffer.assign(r.capacity_rows * r.width, 0.0f);
            const std::string file = report_file_name(variable);
            const auto known = std::find(file_names_.begin(), file_names_.end(), file);
            r.file = std::size_t(known - file_names_.begin());
            if (known == file_names_.end()) {
                file_names_.push_back(file);
                files_.emplace_back();
                if (!resume) {
                    files_.back() = h5::File::create(dir + "/" + file + ".tmp");
                    write_sonata_header(files_.back());
                    files_.back().group("report");
                }
            }
            if (resume) { // the files and their datasets exist: reopen() opens them
                reports_.push_back(std::move(r));
                continue;
            }
            h5::Object root = files_[r.file].open_group("report");
            if (root.exists(pop.spec->name))
                throw InputError("[recording] reports: " + variable + " of population " + pop.spec->name +
                                 " is recorded twice");
            r.group = root.group(pop.spec->name);
            h5::Object mapping = r.group.group("mapping");
            // One element per neuron: index_pointers has N + 1 entries, node k's column is k (libsonata).
            std::vector<std::uint64_t> node_ids(rs.neurons.begin(), rs.neurons.end()), index_pointers;
            for (std::size_t c = 0; c <= rs.neurons.size(); ++c)
                index_pointers.push_back(c);
            mapping.write("node_ids", node_ids);
            mapping.write("index_pointers", index_pointers);
            mapping.write("element_ids", std::vector<std::uint32_t>(rs.neurons.size(), 0));
            r.data = r.group.appendable(
                "data", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, r.width,
                std::max<std::size_t>(1, (1u << 18) / (4 * std::max<std::size_t>(1, r.width))),
                variable.substr(variable.rfind('_') + 1), /*two_d=*/true);
            reports_.push_back(std::move(r));
        }
    }
}

std::string report_file_name(const std::string& variable) {
    return "report_" + variable + ".h5";
}

void StateReporter::sample(std::int64_t step, std::uint32_t gid_begin, std::uint32_t gid_end) {
    for (auto& r : reports_) {
        if (step % r.interval_steps != 0) continue;
        const std::int64_t row = step / r.interval_steps - r.first_buffered_row;
        const std::uint32_t lo = std::max(gid_begin, r.first_gid) - r.first_gid;
        const std::uint32_t hi =
            std::min<std::uint32_t>(gid_end, r.first_gid + std::uint32_t(r.column_of.size()));
        if (hi <= r.first_gid) continue;
        const std::size_t n_vars = r.variables.size();
        float* out = r.buffer.data() + std::size_t(row) * r.width;
        for (std::uint32_t i = lo; i < hi - r.first_gid; ++i) {
            const std::int32_t c = r.column_of[i];
            if (c < 0) continue;
            for (std::size_t v = 0; v < n_vars; ++v)
                out[std::size_t(c) * n_vars + v] = r.variables[v][i];
        }
    }
}

void StateReporter::write_rows(Report& r, std::int64_t rows) {
    if (rows <= 0) return;
    if (net_.comm && net_.comm->distributed()) {
        // MPI (collective: every rank writes the same rows at the same time): each rank sampled only its
        // own neurons' columns; the root takes every column from the rank that owns its neuron.
        const std::size_t n_vars = r.variables.size(), n_cols = r.width / std::max<std::size_t>(1, n_vars);
        auto owner = [&](std::size_t c) {
            const std::uint32_t gid = r.first_gid + std::uint32_t(r.spec->neurons[c]);
            int k = 0;
            while (net_.rank_blocks[std::size_t(k)].end <= gid)
                ++k;
            return k;
        };
        std::vector<float> mine;
        for (std::int64_t row = 0; row < rows; ++row)
            for (std::size_t c = 0; c < n_cols; ++c)
                if (owner(c) == net_.rank) {
                    const float* v = r.buffer.data() + std::size_t(row) * r.width + c * n_vars;
                    mine.insert(mine.end(), v, v + n_vars);
                }
        const std::vector<float> all = net_.comm->gather_vector(mine);
        if (writer_) {
            std::size_t k = 0;
            for (int rank = 0; rank < net_.ranks; ++rank)
                for (std::int64_t row = 0; row < rows; ++row)
                    for (std::size_t c = 0; c < n_cols; ++c)
                        if (owner(c) == rank)
                            for (std::size_t v = 0; v < n_vars; ++v)
                                r.buffer[std::size_t(row) * r.width + c * n_vars + v] = all[k++];
        }
    }
    if (writer_) r.data.append_raw(r.buffer.data(), std::size_t(rows) * r.width);
    r.first_buffered_row += rows;
}

std::int64_t StateReporter::pending_rows(const Report& r, std::int64_t next_step) {
    // Rows sampled so far: steps 0..next_step-1 with step % interval == 0, less those already written.
    return (next_step + r.interval_steps - 1) / r.interval_steps - r.first_buffered_row;
}

bool StateReporter::half_full(const Report& r, std::int64_t next_step) {
    return pending_rows(r, next_step) + std::int64_t(r.capacity_rows / 2) >= std::int64_t(r.capacity_rows);
}

bool StateReporter::flush_due(std::int64_t next_step) const {
    for (const auto& r : reports_)
        if (half_full(r, next_step)) return true;
    return false;
}

void StateReporter::flush_if_needed(std::int64_t next_step) {
    for (auto& r : reports_)
        if (half_full(r, next_step)) write_rows(r, pending_rows(r, next_step));
}

void StateReporter::checkpoint(StateArchive& a, std::int64_t next_step) {
    std::vector<std::int64_t> rows;
    if (!a.loading() && !reports_.empty()) {
        for (auto& r : reports_) {
            write_rows(r, pending_rows(r, next_step));
            rows.push_back(r.first_buffered_row);
        }
        if (writer_)
            for (const h5::File& f : files_)
                f.flush();
    }
    a.vector("recorders/reports/rows", rows);
    if (!a.loading()) return;
    if (rows.size() != reports_.size())
        throw InputError(a.path() + ": state report positions do not match this experiment's reports");
    for (std::size_t k = 0; k < rows.size(); ++k)
        reports_[k].first_buffered_row = rows[k];
}

void StateReporter::write_pending(std::int64_t next_step) {
    for (auto& r : reports_)
        write_rows(r, pending_rows(r, next_step));
}

void StateReporter::reopen() {
    if (reports_.empty() || !writer_) return;
    for (std::size_t f = 0; f < files_.size(); ++f)
        files_[f] = h5::File::open_rw(dir_ + "/" + file_names_[f] + ".tmp");
    for (auto& r : reports_) {
        r.group = files_[r.file].open_group("report").open_group(r.spec->population);
        r.data = r.group.open_appendable("data", H5T_NATIVE_FLOAT);
        r.data.truncate(std::uint64_t(r.first_buffered_row));
    }
}

void StateReporter::close_unfinished(std::int64_t next_step) {
    if (reports_.empty()) return;
    for (auto& r : reports_)
        write_rows(r, pending_rows(r, next_step));
    reports_.clear();
    if (writer_)
        for (h5::File& f : files_)
            f.close();
}

void StateReporter::finish(std::int64_t end_step) {
    if (reports_.empty()) return;
    for (auto& r : reports_) {
        const std::int64_t sampled = (end_step + r.interval_steps - 1) / r.interval_steps;
        write_rows(r, pending_rows(r, end_step));
        if (!writer_) continue;
        h5::Object mapping = r.group.open_group("mapping");
        const double dt = r.interval_steps * dt_ms_;
        mapping.write("time", std::vector<double>{0.0, double(sampled) * dt, dt}, "ms");
    }
    reports_.clear();
    if (!writer_) return;
    for (std::size_t f = 0; f < files_.size(); ++f) {
        files_[f].close();
        commit_file(dir_, file_names_[f]);
    }
}

// ---------------------------------------------------------------------------------------------

RateRecorder::RateRecorder(const Network& net, double bin_ms, double dt_ms, double drug_time_scale)
    : net_(net), bin_ms_(bin_ms), dt_ms_(dt_ms),
      steps_per_bin_(std::max<std::int64_t>(1, std::llround(bin_ms / dt_ms))),
      drug_time_scale_(drug_time_scale) {
    // No preallocation: a week-long protocol would reserve all its bins up front.
    counts_.assign(net.populations.size(), {});
}

void RateRecorder::add(const std::vector<SpikeRecord>& spikes) {
    for (const auto& s : spikes) {
        const std::uint32_t p = net_.population_of(s.gid);
        const std::size_t bin = std::size_t(s.step / steps_per_bin_);
        if (bin >= counts_[p].size()) counts_[p].resize(bin + 1, 0);
        ++counts_[p][bin];
    }
}

void RateRecorder::checkpoint(StateArchive& a) {
    for (std::size_t p = 0; p < counts_.size(); ++p)
        a.vector("recorders/rates/" + net_.populations[p].spec->name, counts_[p]);
}

void RateRecorder::write(const std::string& dir, std::int64_t steps_done,
                         const std::vector<DrugSpecies>& species, const std::vector<DrugSample>& drug_samples,
                         const std::vector<std::string>& glutamate_names) const {
    const std::size_t bins = std::size_t((steps_done + steps_per_bin_ - 1) / steps_per_bin_);
    h5::File file = h5::File::create(dir + "/timeseries.h5.tmp");
    std::vector<double> time_ms;
    for (std::size_t b = 0; b < bins; ++b)
        time_ms.push_back(double(b) * double(steps_per_bin_) * dt_ms_);
    file.write("time_ms", time_ms, "ms");
    file.attribute("bin_ms", double(steps_per_bin_) * dt_ms_);
    h5::Object rates = file.group("population_rate_Hz");
    for (std::size_t p = 0; p < counts_.size(); ++p) {
        std::vector<float> rate(bins);
        for (std::size_t b = 0; b < bins; ++b) {
            const std::int64_t steps_in_bin =
                std::min<std::int64_t>(steps_per_bin_, steps_done - std::int64_t(b) * steps_per_bin_);
            const std::uint32_t count = b < counts_[p].size() ? counts_[p][b] : 0;
            rate[b] = float(count / (double(net_.populations[p].size) * steps_in_bin * dt_ms_ * 1e-3));
        }
        rates.write(net_.populations[p].spec->name, rate, "Hz");
    }
    if (!species.empty()) {
        h5::Object drugs = file.group("drugs");
        for (std::size_t k = 0; k < species.size(); ++k) {
            const DrugSpecies& sp = species[k];
            h5::Object g = drugs.group(sp.series_name());
            g.attribute("agent", sp.agent);
            g.attribute("role", sp.species == 0 ? "drug" : "metabolite");
            g.attribute("drug_index", std::int64_t(sp.drug));
            g.attribute("unbound_fraction", sp.fraction_unbound);
            g.attribute("molar_mass_g_per_mol", sp.molar_mass_g_per_mol);
            std::vector<double> t, plasma, plasma_uM, effect, effect_uM, free;
            for (const auto& s : drug_samples) {
                t.push_back(s.t_ms);
                plasma.push_back(s.plasma_ng_per_mL[k]);
                plasma_uM.push_back(s.plasma_ng_per_mL[k] / sp.molar_mass_g_per_mol);
                effect.push_back(s.effect_site_ng_per_mL[k]);
                effect_uM.push_back(s.effect_site_ng_per_mL[k] / sp.molar_mass_g_per_mol);
                free.push_back(s.free_uM[k]);
            }
            g.write("time_ms", t, "ms");
            std::vector<double> drug_time_min;
            for (double t_ms : t)
                drug_time_min.push_back(t_ms * drug_time_scale_ / 60000.0);
            g.write("drug_time_min", drug_time_min, "min");
            g.write("plasma_ng_per_mL", plasma, "ng/mL");
            g.write("plasma_uM", plasma_uM, "uM");
            g.write("effect_site_ng_per_mL", effect, "ng/mL");
            g.write("effect_site_uM", effect_uM, "uM");
            g.write("free_uM", free, "uM");
        }
        if (!drug_samples.empty() && !drug_samples.front().pools.empty()) {
            h5::Object nmda = file.group("nmda");
            for (std::size_t k = 0; k < drug_samples.front().pools.size(); ++k) {
                const auto& first = drug_samples.front().pools[k];
                h5::Object pop = nmda.exists(first.population) ? nmda.open_group(first.population)
                                                               : nmda.group(first.population);
                h5::Object g = pop.group(first.receptor);
                std::vector<double> t, conducting, blocked, trapped, open, current;
                for (const auto& s : drug_samples) {
                    t.push_back(s.t_ms);
                    conducting.push_back(s.pools[k].conducting);
                    blocked.push_back(s.pools[k].drug_blocked);
                    trapped.push_back(s.pools[k].trapped);
                    open.push_back(s.pools[k].open);
                    current.push_back(s.pools[k].current_pA);
                }
                g.write("time_ms", t, "ms");
                g.write("conducting_fraction", conducting);
                g.write("drug_blocked_fraction", blocked);
                g.write("trapped_fraction", trapped);
                g.write("open_fraction", open);
                g.write("current_pA", current, "pA");
            }
        }
    }
    write_slow_readouts(file, glutamate_names, drug_samples);
    if (gamma_window_ms_ > 0) {
        h5::Object gamma = file.group("gamma");
        for (std::size_t p = 0; p < counts_.size(); ++p) {
            const auto windows =
                gamma_power(rate_Hz(p, steps_done), double(steps_per_bin_) * dt_ms_, gamma_window_ms_);
            std::vector<double> t, power, relative;
            for (const auto& w : windows) {
                t.push_back(w.start_ms);
                power.push_back(w.power_Hz2);
                relative.push_back(w.relative);
            }
            h5::Object g = gamma.group(net_.populations[p].spec->name);
            g.write("time_ms", t, "ms");
            g.write("power_30_80_Hz2", power, "Hz^2");
            g.write("relative_power", relative);
        }
    }
    file.close();
    commit_file(dir, "timeseries.h5");
}

std::vector<double> RateRecorder::rate_Hz(std::size_t p, std::int64_t steps_done) const {
    const std::size_t bins = std::size_t((steps_done + steps_per_bin_ - 1) / steps_per_bin_);
    std::vector<double> rate(bins, 0.0);
    for (std::size_t b = 0; b < bins; ++b) {
        const std::int64_t steps_in_bin =
            std::min<std::int64_t>(steps_per_bin_, steps_done - std::int64_t(b) * steps_per_bin_);
        const std::uint32_t count = b < counts_[p].size() ? counts_[p][b] : 0;
        rate[b] = count / (double(net_.populations[p].size) * double(steps_in_bin) * dt_ms_ * 1e-3);
    }
    return rate;
}

void RateRecorder::write_slow_readouts(h5::File& file, const std::vector<std::string>& glutamate_names,
                                       const std::vector<DrugSample>& samples) const {
    if (samples.empty()) return;
    std::vector<double> t;
    for (const auto& s : samples)
        t.push_back(s.t_ms);
    if (!glutamate_names.empty() && samples.front().glutamate.size() == glutamate_names.size()) {
        h5::Object glu = file.group("glutamate");
        for (std::size_t p = 0; p < glutamate_names.size(); ++p) {
            std::vector<double> level, release, dialysate;
            for (const auto& s : samples) {
                level.push_back(s.glutamate[p].level_uM);
                release.push_back(s.glutamate[p].release);
                dialysate.push_back(s.glutamate[p].dialysate);
            }
            h5::Object g = glu.group(glutamate_names[p]);
            g.write("time_ms", t, "ms");
            g.write("level_uM", level, "uM");
            g.write("release_per_ms_per_neuron", release, "1/ms");
            g.write("dialysate_release_per_ms_per_neuron", dialysate, "1/ms");
        }
    }
    if (!samples.front().receptors.empty()) {
        h5::Object rec = file.group("receptors");
        for (std::size_t k = 0; k < samples.front().receptors.size(); ++k) {
            const auto& first = samples.front().receptors[k];
            h5::Object pop =
                rec.exists(first.population) ? rec.open_group(first.population) : rec.group(first.population);
            h5::Object g = pop.group(first.receptor);
            std::vector<double> mean_g, current, open;
            for (const auto& s : samples) {
                mean_g.push_back(s.receptors[k].g_mean);
                current.push_back(s.receptors[k].current_mean_pA);
                open.push_back(s.receptors[k].open_fraction);
            }
            g.write("time_ms", t, "ms");
            g.write("g_mean", mean_g, "nS");
            g.write("current_mean_pA", current, "pA");
            // Kinetic (DMS) receptors: the open fraction r ("AMPA activation"); NaN for the other shapes.
            if (!std::isnan(first.open_fraction)) g.write("open_fraction", open);
        }
    }
}

} // namespace ketaplast

// ---------------------------------------------------------------------------------------------

namespace ketaplast {

WeightSnapshots::WeightSnapshots(const Experiment& exp, const Network& net, const std::string& dir,
                                 std::int64_t total_steps, bool resume)
    : exp_(exp), net_(net), dir_(dir) {
    const auto& times = exp.recording.snapshot_times_ms;
    if (times.empty()) return;
    // Weights can only be read between exchange intervals: the first boundary at or after the time.
    const std::int64_t D = net.min_delay_steps;
    for (double t : times) {
        const std::int64_t step = std::llround(t / exp.simulation.dt_ms);
        steps_.push_back(std::min(total_steps, (step + D - 1) / D * D));
    }
    writer_ = !net.comm || net.comm->root();
    if (resume) return; // reopen() opens the file
    if (!writer_) {     // collect_edges is collective (MPI): the other ranks take part, the root writes
        collect_edges(exp, net);
        return;
    }
    file_ = h5::File::create(dir + "/snapshots.h5.tmp");
    time_ = file_.appendable("time_ms", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, 64, "ms");
    requested_ = file_.appendable("requested_time_ms", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1, 64, "ms");
    h5::Object edges = file_.group("edges");
    const auto per_projection = collect_edges(exp, net);
    for (std::size_t p = 0; p < exp.projections.size(); ++p) {
        const ProjectionSpec& proj = exp.projections[p];
        const bool conductance =
            builtin_models().find(exp.populations[proj.target_index].model)->receptor_kind ==
            ReceptorKind::conductance;
        h5::Object group = edges.group(proj.name).group("0");
        weights_.emplace_back();
        rho_.emplace_back();
        if (per_projection[p].empty())
            continue; // no synapses, no columns: no dataset (HDF5 cannot chunk width 0)
        weights_.back() = group.appendable("syn_weight", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT,
                                           per_projection[p].size(), 1, conductance ? "nS" : "pA",
                                           /*two_d=*/true);
        if (has_rho(p))
            rho_.back() = group.appendable("rho", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, per_projection[p].size(),
                                           1, "", /*two_d=*/true);
    }
}

bool WeightSnapshots::has_rho(std::size_t projection) const {
    const auto& rule = exp_.projections[projection].plasticity;
    return rule && rule->kind == StdpRule::Kind::calcium && rule->w_max > rule->w_min;
}

std::int64_t WeightSnapshots::next_step() const {
    return taken_ < steps_.size() ? steps_[taken_] : std::numeric_limits<std::int64_t>::max();
}

void WeightSnapshots::take_due(std::int64_t step) {
    if (taken_ >= steps_.size() || steps_[taken_] > step) return;
    const auto per_projection = collect_edges(exp_, net_);
    if (!writer_) {
        while (taken_ < steps_.size() && steps_[taken_] <= step)
            ++taken_;
        return;
    }
    for (; taken_ < steps_.size() && steps_[taken_] <= step; ++taken_) {
        time_.append(std::vector<double>{double(step) * exp_.simulation.dt_ms});
        requested_.append(std::vector<double>{exp_.recording.snapshot_times_ms[taken_]});
        for (std::size_t p = 0; p < per_projection.size(); ++p) {
            std::vector<float> w;
            w.reserve(per_projection[p].size());
            for (const auto& e : per_projection[p])
                w.push_back(e.weight);
            // A projection without synapses has rows of width 0: nothing to append.
            if (w.empty()) continue;
            weights_[p].append(w);
            if (has_rho(p)) {
                const StdpRule& rule = *exp_.projections[p].plasticity;
                for (float& x : w)
                    x = float((double(x) - rule.w_min) / (rule.w_max - rule.w_min));
                rho_[p].append(w);
            }
        }
    }
}

void WeightSnapshots::checkpoint(StateArchive& a) {
    std::uint64_t taken = taken_;
    if (!a.loading() && !steps_.empty() && writer_) file_.flush();
    a.value("recorders/snapshots/taken", taken);
    if (a.loading()) {
        if (taken > steps_.size())
            throw InputError(a.path() + ": more weight snapshots taken than this experiment asks for");
        taken_ = std::size_t(taken);
    }
}

void WeightSnapshots::reopen() {
    if (steps_.empty() || !writer_) return;
    file_ = h5::File::open_rw(dir_ + "/snapshots.h5.tmp");
    time_ = file_.open_appendable("time_ms", H5T_NATIVE_DOUBLE);
    requested_ = file_.open_appendable("requested_time_ms", H5T_NATIVE_DOUBLE);
    time_.truncate(taken_);
    requested_.truncate(taken_);
    h5::Object edges = file_.open_group("edges");
    weights_.clear();
    rho_.clear();
    for (std::size_t p = 0; p < exp_.projections.size(); ++p) {
        h5::Object group = edges.open_group(exp_.projections[p].name).open_group("0");
        weights_.emplace_back();
        rho_.emplace_back();
        if (!group.exists("syn_weight")) continue; // a projection without synapses
        weights_.back() = group.open_appendable("syn_weight", H5T_NATIVE_FLOAT);
        weights_.back().truncate(taken_);
        if (has_rho(p)) {
            rho_.back() = group.open_appendable("rho", H5T_NATIVE_FLOAT);
            rho_.back().truncate(taken_);
        }
    }
}

void WeightSnapshots::close_unfinished() {
    if (steps_.empty() || !file_.valid_file()) return;
    weights_.clear();
    rho_.clear();
    time_ = {};
    requested_ = {};
    file_.close();
}

void WeightSnapshots::add_column(const std::string& name, const std::vector<double>& values,
                                 const std::string& unit) {
    if (steps_.empty() || !file_.valid_file()) return;
    // A run that stopped early (failed, interrupted) took fewer snapshots than planned: the column
    // has one value per snapshot actually in the file.
    const std::size_t n = std::min(values.size(), taken_);
    file_.write(name, std::vector<double>(values.begin(), values.begin() + std::ptrdiff_t(n)), unit);
}

void WeightSnapshots::finish() {
    if (steps_.empty() || !file_.valid_file()) return;
    weights_.clear();
    rho_.clear();
    time_ = {};
    requested_ = {};
    file_.close();
    commit_file(dir_, "snapshots.h5");
}

} // namespace ketaplast
