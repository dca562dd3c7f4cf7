#include "viz/run_data.hpp"

#include "core/error.hpp"
#include "sim/io/hdf5_file.hpp"

#include <algorithm>
#include <fstream>

namespace ketaplast::viz {

namespace fs = std::filesystem;

namespace {

// Names of the links in a group, in HDF5's name order (sorted), as h5py lists them.
std::vector<std::string> children(hid_t group) {
    std::vector<std::string> names;
    H5G_info_t info{};
    if (H5Gget_info(group, &info) < 0) return names;
    for (hsize_t k = 0; k < info.nlinks; ++k) {
        const ssize_t len =
            H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, nullptr, 0, H5P_DEFAULT);
        if (len <= 0) continue;
        std::string name(std::size_t(len) + 1, '\0');
        H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, k, name.data(), name.size(), H5P_DEFAULT);
        name.resize(std::size_t(len));
        names.push_back(name);
    }
    return names;
}

// Dimensions of a dataset (empty when it cannot be opened).
std::vector<hsize_t> dims_of(hid_t loc, const std::string& name) {
    h5::Handle d(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) return {};
    h5::Handle space(H5Dget_space(d.id()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.id());
    std::vector<hsize_t> dims(std::size_t(std::max(rank, 0)));
    if (rank > 0) H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr);
    return dims;
}

// All elements of a dataset of any rank, converted by HDF5 to float (row-major).
std::vector<float> read_floats(const h5::Object& group, const std::string& name) {
    h5::Handle d(H5Dopen2(group.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) throw InputError(group.path() + ": missing dataset " + name);
    h5::Handle space(H5Dget_space(d.id()), H5Sclose);
    const hssize_t n = H5Sget_simple_extent_npoints(space.id());
    std::vector<float> out(std::size_t(std::max<hssize_t>(0, n)));
    if (n > 0 && H5Dread(d.id(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
        throw InputError(group.path() + ": cannot read dataset " + name);
    return out;
}

std::string units_of(const h5::Object& group, const std::string& dataset) {
    h5::Handle d(H5Dopen2(group.id(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid() || H5Aexists(d.id(), "units") <= 0) return "";
    std::string units = group.read_string_attribute_of(dataset, "units");
    units.erase(std::find(units.begin(), units.end(), '\0'), units.end());
    return units;
}

double double_attribute(hid_t obj, const std::string& name, double fallback) {
    if (H5Aexists(obj, name.c_str()) <= 0) return fallback;
    h5::Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
    double value = fallback;
    if (!attr.valid() || H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &value) < 0) return fallback;
    return value;
}

void load_nodes(RunData& run) {
    const fs::path path = run.dir / "nodes.h5";
    if (!fs::exists(path))
        throw InputError(path.string() + ": missing (is '" + run.dir.string() +
                         "' a Ketaplast run directory?)");
    h5::File file = h5::File::open_read(path.string());
    h5::Object nodes = file.open_group("nodes");
    for (const std::string& name : children(nodes.id())) {
        h5::Object pop = nodes.open_group(name);
        NodePopulation node;
        node.name = name;
        if (H5Aexists(pop.id(), "model") > 0) {
            node.model = pop.read_string_attribute("model");
            node.model.erase(std::find(node.model.begin(), node.model.end(), '\0'), node.model.end());
        }
        h5::Object group0 = pop.open_group("0");
        node.x_um = read_floats(group0, "x");
        node.y_um = read_floats(group0, "y");
        node.z_um = read_floats(group0, "z");
        if (node.y_um.size() != node.size() || node.z_um.size() != node.size())
            throw InputError(path.string() + ": /nodes/" + name + "/0: x, y and z differ in length");
        node.rate_Hz.assign(node.size(), 0.0);
        run.nodes.push_back(std::move(node));
    }
}

void load_spikes(RunData& run) {
    const fs::path path = run.dir / "spikes.h5";
    if (!fs::exists(path)) return;
    h5::File file = h5::File::open_read(path.string());
    if (!file.exists("spikes")) return;
    h5::Object spikes = file.open_group("spikes");
    const double seconds = run.simulated_ms / 1000.0;
    for (NodePopulation& node : run.nodes) {
        if (!spikes.exists(node.name)) continue;
        h5::Object pop = spikes.open_group(node.name);
        node.spike_times_ms = pop.read_doubles("timestamps");
        node.spike_ids = pop.read_u64("node_ids");
        if (node.spike_ids.size() != node.spike_times_ms.size())
            throw InputError(path.string() + ": /spikes/" + node.name +
                             ": timestamps and node_ids differ in length");
        for (std::uint64_t id : node.spike_ids) {
            if (id >= node.size())
                throw InputError(path.string() + ": /spikes/" + node.name + ": node id " +
                                 std::to_string(id) + " outside the population (size " +
                                 std::to_string(node.size()) + ")");
            node.rate_Hz[id] += 1.0;
        }
        if (seconds > 0)
            for (double& r : node.rate_Hz)
                r /= seconds;
    }
    run.has_spikes = true;
}

std::vector<std::vector<float>> weights_of(const fs::path& path, const std::vector<EdgePopulation>& edges) {
    h5::File file = h5::File::open_read(path.string());
    h5::Object root = file.open_group("edges");
    std::vector<std::vector<float>> weights;
    for (const EdgePopulation& e : edges) {
        h5::Object group0 = root.open_group(e.name).open_group("0");
        weights.push_back(read_floats(group0, "syn_weight"));
        if (weights.back().size() != e.size())
            throw InputError(path.string() + ": /edges/" + e.name + "/0/syn_weight has " +
                             std::to_string(weights.back().size()) + " weights, edges.h5 has " +
                             std::to_string(e.size()) + " edges");
    }
    return weights;
}

void load_edges(RunData& run, const std::vector<fs::path>& extra_edges) {
    const fs::path path = run.dir / "edges.h5";
    if (!fs::exists(path)) return;
    {
        h5::File file = h5::File::open_read(path.string());
        h5::Object root = file.open_group("edges");
        for (const std::string& name : children(root.id())) {
            h5::Object pop = root.open_group(name);
            EdgePopulation e;
            e.name = name;
            e.source_id = pop.read_u64("source_node_id");
            e.target_id = pop.read_u64("target_node_id");
            e.source_population = pop.read_string_attribute_of("source_node_id", "node_population");
            e.target_population = pop.read_string_attribute_of("target_node_id", "node_population");
            for (std::string* s : {&e.source_population, &e.target_population})
                s->erase(std::find(s->begin(), s->end(), '\0'), s->end());
            h5::Object group0 = pop.open_group("0");
            e.weight = read_floats(group0, "syn_weight");
            e.delay_ms = read_floats(group0, "delay");
            e.weight_units = units_of(group0, "syn_weight");
            const std::string where = path.string() + ": /edges/" + name;
            if (e.target_id.size() != e.size() || e.weight.size() != e.size() ||
                e.delay_ms.size() != e.size())
                throw InputError(where + ": source, target, weight and delay differ in length");
            const NodePopulation& src = run.nodes[run.node_index(e.source_population)];
            const NodePopulation& tgt = run.nodes[run.node_index(e.target_population)];
            for (std::size_t k = 0; k < e.size(); ++k)
                if (e.source_id[k] >= src.size() || e.target_id[k] >= tgt.size())
                    throw InputError(where + ": edge " + std::to_string(k) +
                                     " names a node outside its population");
            run.edges.push_back(std::move(e));
        }
    }
    if (!extra_edges.empty()) {
        for (const fs::path& extra : extra_edges) {
            WeightFrame frame;
            frame.label = extra.filename().string();
            frame.weights = weights_of(extra, run.edges);
            h5::File file = h5::File::open_read(extra.string());
            frame.time_ms = double_attribute(file.id(), "time_ms", double(run.frames.size()));
            run.frames.push_back(std::move(frame));
        }
        return;
    }
    const fs::path snapshots = run.dir / "snapshots.h5";
    if (fs::exists(snapshots)) {
        // snapshots.h5 (docs/output.md): /time_ms [S], /edges/<projection>/0/syn_weight [S, E] in edges.h5's
        // edge order. A projection without synapses has no dataset.
        h5::File file = h5::File::open_read(snapshots.string());
        std::vector<double> times = file.read_doubles("time_ms");
        // A protocol's snapshots: their protocol time (the engine time only counts the windows).
        const bool protocol_time = file.exists("protocol_time_h");
        if (protocol_time) {
            const std::vector<double> hours = file.read_doubles("protocol_time_h");
            if (hours.size() != times.size())
                throw InputError(snapshots.string() + ": /protocol_time_h and /time_ms differ in length");
            for (std::size_t s = 0; s < times.size(); ++s)
                times[s] = hours[s] * 3.6e6;
        }
        run.frames.resize(times.size());
        for (std::size_t s = 0; s < times.size(); ++s) {
            run.frames[s].time_ms = times[s];
            run.frames[s].label = protocol_time ? "protocol time" : "snapshot " + std::to_string(s);
            run.frames[s].weights.resize(run.edges.size());
        }
        for (std::size_t p = 0; p < run.edges.size(); ++p) {
            const EdgePopulation& e = run.edges[p];
            const std::string name = "edges/" + e.name + "/0/syn_weight";
            if (!file.exists("edges/" + e.name) || !file.exists(name)) {
                for (WeightFrame& f : run.frames)
                    f.weights[p] = e.weight;
                continue;
            }
            const std::vector<hsize_t> dims = dims_of(file.id(), name);
            if (dims.size() != 2 || dims[0] != times.size() || dims[1] != e.size())
                throw InputError(snapshots.string() + ": /" + name + " is not [" +
                                 std::to_string(times.size()) + ", " + std::to_string(e.size()) +
                                 "] (snapshots x edges of edges.h5)");
            h5::Object group0 = file.open_group("edges").open_group(e.name).open_group("0");
            const std::vector<float> all = read_floats(group0, "syn_weight");
            for (std::size_t s = 0; s < times.size(); ++s)
                run.frames[s].weights[p].assign(all.begin() + std::ptrdiff_t(s * e.size()),
                                                all.begin() + std::ptrdiff_t((s + 1) * e.size()));
        }
        if (!run.frames.empty()) return;
    }
    WeightFrame final_frame;
    // A protocol's engine time only counts its windows: label the end state with protocol time.
    final_frame.time_ms = run.time_axis_end_ms();
    final_frame.label = "edges.h5 (end of run)";
    for (const EdgePopulation& e : run.edges)
        final_frame.weights.push_back(e.weight);
    run.frames.push_back(std::move(final_frame));
}

// The end of the last rate bin of timeseries.h5: the simulated time of a run without summary.json.
double rates_end_ms(const fs::path& dir) {
    const fs::path path = dir / "timeseries.h5";
    if (!fs::exists(path)) return 0.0;
    h5::File file = h5::File::open_read(path.string());
    if (!file.exists("time_ms")) return 0.0;
    const std::vector<double> t = file.read_doubles("time_ms");
    return t.empty() ? 0.0 : t.back() + double_attribute(file.id(), "bin_ms", 0.0);
}

// slow.h5 of a [protocol] run: its length in protocol time.
void load_slow(RunData& run) {
    const fs::path path = run.dir / "slow.h5";
    if (!fs::exists(path)) return;
    h5::File file = h5::File::open_read(path.string());
    if (!file.exists("slow")) throw InputError(path.string() + ": no /slow group (docs/output.md)");
    const h5::Object slow = file.open_group("slow");
    const std::vector<double> t_h = slow.read_doubles("t_h");
    const double hours = double_attribute(slow.id(), "duration_h", t_h.empty() ? 0.0 : t_h.back());
    run.protocol_ms = hours * 3.6e6;
}

} // namespace

std::string RunData::time_text(double t_ms) const {
    char buffer[48];
    if (is_protocol())
        std::snprintf(buffer, sizeof buffer, t_ms < 3.6e8 ? "%.3g h" : "%.0f h", t_ms / 3.6e6);
    else
        std::snprintf(buffer, sizeof buffer, "%.0f ms", t_ms);
    return buffer;
}

std::size_t RunData::node_index(const std::string& population) const {
    for (std::size_t k = 0; k < nodes.size(); ++k)
        if (nodes[k].name == population) return k;
    throw InputError((dir / "nodes.h5").string() + ": no node population '" + population + "'");
}

std::vector<std::size_t> RunData::point_offsets() const {
    std::vector<std::size_t> offsets;
    std::size_t total = 0;
    for (const NodePopulation& n : nodes) {
        offsets.push_back(total);
        total += n.size();
    }
    return offsets;
}

std::size_t RunData::point_count() const {
    std::size_t total = 0;
    for (const NodePopulation& n : nodes)
        total += n.size();
    return total;
}

std::size_t RunData::edge_count() const {
    std::size_t total = 0;
    for (const EdgePopulation& e : edges)
        total += e.size();
    return total;
}

RunData load_run(const fs::path& dir, const std::vector<fs::path>& extra_edges) {
    if (!fs::is_directory(dir)) throw InputError("'" + dir.string() + "' is not a directory");
    RunData run;
    run.dir = dir;
    const fs::path summary = dir / "summary.json";
    if (fs::exists(summary)) {
        std::ifstream in(summary);
        try {
            run.summary = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw InputError(summary.string() + ": not valid JSON (" + e.what() + ")");
        }
    } else {
        run.summary = nlohmann::json::object();
    }
    load_slow(run);
    if (run.summary.contains("simulated_ms") && run.summary["simulated_ms"].is_number())
        run.simulated_ms = run.summary["simulated_ms"].get<double>();
    else
        run.simulated_ms = rates_end_ms(dir);
    load_nodes(run);
    load_spikes(run);
    load_edges(run, extra_edges);
    return run;
}

} // namespace ketaplast::viz
