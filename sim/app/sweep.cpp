#include "sim/app/sweep.hpp"

#include "core/error.hpp"
#include "sim/app/run.hpp"
#include "sim/engine/engine.hpp"
#include "sim/io/csv_table.hpp"
#include "sim/io/hdf5_file.hpp"
#include "sim/parallel/communicator.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ketaplast {

SweepParameter parse_sweep_parameter(const std::string& text) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
        throw InputError("--param '" + text + "': expected key=v1,v2,... e.g. simulation.seed=1,2,3");
    SweepParameter p;
    p.key = text.substr(0, eq);
    std::stringstream values(text.substr(eq + 1));
    for (std::string v; std::getline(values, v, ',');) {
        if (v.empty()) throw InputError("--param '" + text + "': empty value in the list");
        p.values.push_back(v);
    }
    return p;
}

std::vector<std::vector<Override>> read_sweep_list(const std::string& path) {
    const std::vector<std::vector<std::string>> rows = read_csv(path);
    if (rows.empty()) throw InputError(path + ": empty sweep list (expected a header of keys)");
    const auto& keys = rows.front();
    std::vector<std::vector<Override>> points;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        const auto& values = rows[r];
        if (values.size() != keys.size())
            throw InputError(path + ": row " + std::to_string(r + 1) + ": " + std::to_string(values.size()) +
                             " values for " + std::to_string(keys.size()) + " keys");
        std::vector<Override> point;
        for (std::size_t k = 0; k < keys.size(); ++k)
            point.push_back({keys[k], values[k]});
        points.push_back(point);
    }
    if (points.empty()) throw InputError(path + ": no points after the header");
    return points;
}

std::vector<std::vector<Override>> expand_grid(const std::vector<SweepParameter>& parameters) {
    std::vector<std::vector<Override>> points{{}};
    for (const auto& p : parameters) {
        std::vector<std::vector<Override>> next;
        for (const auto& point : points)
            for (const auto& v : p.values) {
                auto extended = point;
                extended.push_back({p.key, v});
                next.push_back(extended);
            }
        points = next;
    }
    return points;
}

namespace {

std::string point_dir(const std::string& out, std::size_t i) {
    return out + "/point_" + std::to_string(i);
}

// The point's parameter values as its own saved config.toml holds them. A directory whose config differs
// from the grid's point (a reordered or changed grid at --collect) is an error naming both values; a
// point without config.toml (never run) keeps the grid's values.
std::vector<std::string> point_labels(const SweepOptions& o, std::size_t i) {
    std::vector<std::string> labels;
    const std::string path = point_dir(o.out_dir, i) + "/config.toml";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        for (const auto& ov : o.points[i])
            labels.push_back(ov.value);
        return labels;
    }
    std::stringstream text;
    text << in.rdbuf();
    for (const auto& ov : o.points[i]) {
        std::string found;
        if (!config_holds(text.str(), path, ov, found))
            throw InputError(path + ": " + ov.key + " = " + found + ", but point " + std::to_string(i) +
                             " of the sweep has " + ov.key + " = " + ov.value +
                             " (the grid or list differs from the one the points were run with)");
        labels.push_back(found);
    }
    return labels;
}

void write_table(const SweepOptions& o) {
    std::ostringstream csv;
    std::vector<std::string> populations;
    // The same table as HDF5 (sweep.h5): one dataset per column, strings for the keys' values.
    std::vector<std::vector<std::string>> key_values(o.points.front().size());
    std::vector<std::string> statuses;
    std::vector<std::vector<double>> rates;
    std::vector<double> simulate_s;
    // Header from the first point that finished.
    for (std::size_t i = 0; i < o.points.size() && populations.empty(); ++i) {
        std::ifstream in(point_dir(o.out_dir, i) + "/summary.json");
        if (!in) continue;
        nlohmann::json s;
        in >> s;
        for (auto& [name, _] : s["populations"].items())
            populations.push_back(name);
    }
    std::vector<std::string> header{"index"};
    for (const auto& ov : o.points.front())
        header.push_back(ov.key);
    header.push_back("status");
    for (const auto& p : populations)
        header.push_back("rate_" + p + "_Hz");
    header.push_back("simulate_s");
    csv << csv_line(header);
    rates.resize(populations.size());
    for (std::size_t i = 0; i < o.points.size(); ++i) {
        const std::vector<std::string> labels = point_labels(o, i);
        std::vector<std::string> row{std::to_string(i)};
        row.insert(row.end(), labels.begin(), labels.end());
        for (std::size_t k = 0; k < labels.size() && k < key_values.size(); ++k)
            key_values[k].push_back(labels[k]);
        std::ifstream in(point_dir(o.out_dir, i) + "/summary.json");
        if (!in) {
            row.push_back("missing");
            row.resize(header.size());
            csv << csv_line(row);
            statuses.push_back("missing");
            for (auto& r : rates)
                r.push_back(std::nan(""));
            simulate_s.push_back(std::nan(""));
            continue;
        }
        nlohmann::json s;
        in >> s;
        const std::string status = s.value("status", "?");
        row.push_back(status);
        statuses.push_back(status);
        for (std::size_t k = 0; k < populations.size(); ++k) {
            const double rate = s["populations"][populations[k]].value("mean_rate_Hz", 0.0);
            row.push_back(fmt::format("{}", rate));
            rates[k].push_back(rate);
        }
        row.push_back(fmt::format("{}", s["timing"].value("simulate_s", 0.0)));
        csv << csv_line(row);
        simulate_s.push_back(s["timing"].value("simulate_s", 0.0));
    }
    {
        h5::File file = h5::File::create(o.out_dir + "/sweep.h5.tmp");
        std::vector<std::int64_t> index(o.points.size());
        for (std::size_t i = 0; i < index.size(); ++i)
            index[i] = std::int64_t(i);
        file.write("index", index);
        h5::Object params = file.group("parameters");
        for (std::size_t k = 0; k < key_values.size(); ++k)
            params.write_strings(o.points.front()[k].key, key_values[k]);
        file.write_strings("status", statuses);
        h5::Object rate_group = file.group("mean_rate_Hz");
        for (std::size_t k = 0; k < populations.size(); ++k)
            rate_group.write(populations[k], rates[k], "Hz");
        file.write("simulate_s", simulate_s, "s");
        file.close();
    }
    std::filesystem::rename(o.out_dir + "/sweep.h5.tmp", o.out_dir + "/sweep.h5");
    const std::string tmp = o.out_dir + "/sweep.csv.tmp";
    {
        std::ofstream out(tmp);
        if (!(out << csv.str())) throw RunError("cannot write " + tmp);
    }
    std::filesystem::rename(tmp, o.out_dir + "/sweep.csv");
}

} // namespace

int run_sweep(const SweepOptions& o) {
    if (o.points.empty()) throw InputError("sweep: no points (give --param key=v1,v2 or --list FILE)");
    if (o.index >= long(o.points.size()) || o.index < -1)
        throw InputError("--index " + std::to_string(o.index) + " is out of range: the sweep has " +
                         std::to_string(o.points.size()) + " points (0 .. " +
                         std::to_string(o.points.size() - 1) + ")");
    // Validate every point before any output, so a bad value is reported at once.
    std::vector<Experiment> experiments;
    for (const auto& point : o.points) {
        auto overrides = o.common;
        overrides.insert(overrides.end(), point.begin(), point.end());
        experiments.push_back(load_experiment(o.config, overrides));
    }
    if (o.out_dir.empty()) throw InputError("sweep: give --out DIR");
    std::error_code ec;
    std::filesystem::create_directories(o.out_dir, ec);
    if (ec) throw InputError("--out '" + o.out_dir + "': cannot create it (" + ec.message() + ")");
    int failed = 0;
    if (!o.collect_only) {
        for (std::size_t i = 0; i < o.points.size(); ++i) {
            if (o.index >= 0 && std::size_t(o.index) != i) continue;
            std::string label;
            for (const auto& ov : o.points[i])
                label += (label.empty() ? "" : " ") + ov.key + "=" + ov.value;
            const bool root = world().root();
            if (root) fmt::print(stderr, "sweep point {} of {}: {}\n", i, o.points.size(), label);
            try {
                RunOptions run;
                run.output_dir = point_dir(o.out_dir, i);
                run.threads = o.threads;
                run.max_rate_Hz = o.max_rate_Hz;
                run.runaway_window_ms = o.runaway_window_ms;
                const RunResult result = run_experiment(experiments[i], run);
                if (result.status.rfind("runaway", 0) == 0) { // stopped early, marked in the table
                    if (root) fmt::print(stderr, "sweep point {} stopped: {}\n", i, result.status);
                    ++failed;
                }
            } catch (const InputError&) {
                throw;
            } catch (const std::exception& e) { // a diverging point is marked, the sweep goes on
                // (MPI: only blow-ups are known to every rank; anything else ends the job in main.)
                if (world().distributed() && !dynamic_cast<const NumericalError*>(&e)) throw;
                if (root) fmt::print(stderr, "sweep point {} failed: {}\n", i, e.what());
                ++failed;
            }
        }
    }
    if (o.index < 0 && world().root()) write_table(o);
    return failed;
}

} // namespace ketaplast
