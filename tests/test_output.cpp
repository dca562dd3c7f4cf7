// The layout of every output file, read back: SONATA spikes and reports as libsonata reads them
// (STYLE.md: `sorting` an HDF5 enum, `units` attributes, index_pointers N+1), timeseries.h5,
// summary.json, the resolved config, and no temporary files left.
#include "sim/app/run.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/io/hdf5_file.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>
#include <hdf5.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

using namespace ketaplast;
using namespace ketaplast::test;

namespace {

std::string enum_name_of_sorting(hid_t group) {
    hid_t attr = H5Aopen(group, "sorting", H5P_DEFAULT);
    REQUIRE(attr >= 0);
    hid_t type = H5Aget_type(attr);
    REQUIRE(H5Tget_class(type) == H5T_ENUM);
    std::uint8_t value = 255;
    H5Aread(attr, type, &value);
    char name[32] = {0};
    H5Tenum_nameof(type, &value, name, sizeof name);
    H5Tclose(type);
    H5Aclose(attr);
    return name;
}

} // namespace

TEST_CASE("a run writes SONATA spikes and reports that read back", "[output][integration]") {
    TempDir dir("output");
    Experiment exp = load_experiment(source_path("configs/single_neuron.toml"));
    run_experiment(exp, {dir.path(), 2, false});

    for (const char* name : {"spikes.h5", "report_V_m_mV.h5", "report_g_AMPA_nS.h5", "report_g_GABA_A_nS.h5",
                             "timeseries.h5", "nodes.h5", "summary.json", "config.toml", "node_types.csv",
                             "circuit_config.json", "simulation_config.json", "node_sets.json"})
        CHECK(std::filesystem::exists(dir.file(name)));
    for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
        CHECK(entry.path().extension() != ".tmp");

    // spikes.h5: /spikes/<population>/{timestamps, node_ids}, sorting = by_time, units ms.
    h5::File spikes = h5::File::open_read(dir.file("spikes.h5"));
    h5::Object input = spikes.open_group("spikes").open_group("excitatory_input");
    CHECK(enum_name_of_sorting(input.id()) == "by_time");
    CHECK(input.read_string_attribute_of("timestamps", "units") == "ms");
    const auto times = input.read_doubles("timestamps");
    const auto ids = input.read_u64("node_ids");
    CHECK(times == std::vector<double>{20, 30, 40, 50, 60, 120, 160});
    CHECK(ids == std::vector<std::uint64_t>(7, 0));
    const auto neuron_times = spikes.open_group("spikes").open_group("neuron").read_doubles("timestamps");
    CHECK(std::is_sorted(neuron_times.begin(), neuron_times.end()));
    CHECK(!neuron_times.empty()); // the burst makes the neuron fire

    // One SONATA report per recorded variable, report_<variable>.h5: /report/<population>/data (times x
    // elements, one element per neuron) with the variable's unit, and mapping.
    h5::File reports = h5::File::open_read(dir.file("report_V_m_mV.h5"));
    h5::Object report = reports.open_group("report").open_group("neuron");
    h5::Object mapping = report.open_group("mapping");
    CHECK(mapping.read_u64("node_ids") == std::vector<std::uint64_t>{0});
    CHECK(mapping.read_u64("index_pointers") == std::vector<std::uint64_t>{0, 1}); // N + 1 entries
    CHECK(mapping.read_u64("element_ids") == std::vector<std::uint64_t>{0});
    const auto time = mapping.read_doubles("time");
    REQUIRE(time.size() == 3);
    CHECK(time[0] == 0.0);
    CHECK(time[1] == Approx(200.0));
    CHECK(time[2] == Approx(0.1));
    CHECK(mapping.read_string_attribute_of("time", "units") == "ms");
    CHECK(report.read_string_attribute_of("data", "units") == "mV");
    const auto data = report.read_doubles("data");
    REQUIRE(data.size() == 2000);
    CHECK(data[0] == Approx(-70.0)); // V starts at E_leak
    // The AMPA conductance jumps by 60 nS when the first input spike arrives (20 ms + 1 ms delay).
    h5::File ampa_file = h5::File::open_read(dir.file("report_g_AMPA_nS.h5"));
    h5::Object ampa = ampa_file.open_group("report").open_group("neuron");
    CHECK(ampa.read_string_attribute_of("data", "units") == "nS");
    const auto g_ampa = ampa.read_doubles("data");
    REQUIRE(g_ampa.size() == 2000);
    CHECK(g_ampa[210] == Approx(60.0));
    CHECK(g_ampa[209] == 0.0);

    // timeseries.h5: population rates in bins.
    h5::File ts = h5::File::open_read(dir.file("timeseries.h5"));
    CHECK(ts.read_doubles("time_ms").size() == 200);
    const auto input_rate = ts.open_group("population_rate_Hz").read_doubles("excitatory_input");
    double spikes_from_rate = 0;
    for (double r : input_rate)
        spikes_from_rate += r * 1e-3; // 1 ms bins, one neuron
    CHECK(spikes_from_rate == Approx(7.0));

    // nodes.h5: SONATA nodes with positions (default layout: random in a 100 um box at the origin).
    h5::File nodes = h5::File::open_read(dir.file("nodes.h5"));
    h5::Object input_nodes = nodes.open_group("nodes").open_group("excitatory_input");
    CHECK(input_nodes.read_u64("node_group_index") == std::vector<std::uint64_t>{0});
    const auto x = input_nodes.open_group("0").read_doubles("x");
    REQUIRE(x.size() == 1);
    CHECK(x[0] >= 0.0);
    CHECK(x[0] <= 100.0);
    CHECK(input_nodes.open_group("0").read_string_attribute_of("x", "units") == "um");
    CHECK(input_nodes.read_string_attribute("model") == "spike_times");

    // summary.json and the resolved config.
    const auto summary = nlohmann::json::parse(read_file(dir.file("summary.json")));
    CHECK(summary["status"] == "completed");
    CHECK(summary["populations"]["excitatory_input"]["spike_count"] == 7);
    CHECK(summary["populations"]["excitatory_input"]["mean_rate_Hz"].get<double>() == Approx(35.0));
    CHECK(summary["threads"] == 2);
    CHECK(summary["timing"]["real_time_factor"].get<double>() > 0.0);
    CHECK(summary["memory"]["peak_rss_MB"].get<double>() > 0.0);
    const Experiment again = load_experiment(dir.file("config.toml"));
    CHECK(again.populations.size() == exp.populations.size());
    CHECK(again.projections[0].weight.value == exp.projections[0].weight.value);
}

TEST_CASE("overrides are saved in the resolved config", "[output]") {
    TempDir dir("resolved");
    Experiment exp =
        load_experiment(source_path("configs/single_neuron.toml"),
                        {{"simulation.duration_ms", "50"}, {"populations.neuron.params.C_pF", "250.0"}});
    run_experiment(exp, {dir.path(), 1, false});
    const Experiment saved = load_experiment(dir.file("config.toml"));
    CHECK(saved.simulation.duration_ms == 50.0);
    CHECK(saved.populations[0].params.get("C_pF") == 250.0);
}

TEST_CASE("edges.h5 holds every synapse in SONATA edge layout with consistent indices",
          "[output][integration]") {
    TempDir dir("edges");
    Experiment exp = load_experiment(
        source_path("configs/coba.toml"),
        {{"simulation.duration_ms", "1"}, {"recording.edges", "true"}, {"recording.reports", "[]"}});
    run_experiment(exp, {dir.path(), 2, false});
    const auto summary = nlohmann::json::parse(read_file(dir.file("summary.json")));
    h5::File f = h5::File::open_read(dir.file("edges.h5"));
    std::uint64_t total = 0;
    for (const auto& proj : exp.projections) {
        INFO(proj.name);
        h5::Object g = f.open_group("edges").open_group(proj.name);
        const auto source = g.read_u64("source_node_id"), target = g.read_u64("target_node_id");
        REQUIRE(source.size() == target.size());
        total += source.size();
        CHECK(g.read_string_attribute_of("source_node_id", "node_population") == proj.source);
        CHECK(g.read_string_attribute_of("target_node_id", "node_population") == proj.target);
        const auto weight = g.open_group("0").read_doubles("syn_weight");
        REQUIRE(weight.size() == source.size());
        for (double w : weight)
            REQUIRE(w == Approx(proj.weight.value));
        CHECK(std::is_sorted(target.begin(), target.end()));
        // Indices: every range of a node's index holds edges of that node, and all its edges are covered.
        for (const char* side : {"target_to_source", "source_to_target"}) {
            const auto& of_edge = std::string(side) == "target_to_source" ? target : source;
            h5::Object index = g.open_group("indices").open_group(side);
            const auto node_ranges = index.read_u64("node_id_to_ranges"),
                       ranges = index.read_u64("range_to_edge_id");
            std::uint64_t covered = 0;
            for (std::uint64_t node = 0; 2 * node < node_ranges.size(); ++node)
                for (std::uint64_t r = node_ranges[2 * node]; r < node_ranges[2 * node + 1]; ++r)
                    for (std::uint64_t e = ranges[2 * r]; e < ranges[2 * r + 1]; ++e, ++covered)
                        REQUIRE(of_edge[e] == node);
            CHECK(covered == source.size());
        }
    }
    CHECK(total == summary["memory"]["synapse_count"].get<std::uint64_t>());
}
