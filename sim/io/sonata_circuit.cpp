#include "sim/io/sonata_circuit.hpp"

#include "core/error.hpp"
#include "models/registry.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace ketaplast {

namespace {

void write_text(const std::string& dir, const std::string& name, const std::string& text) {
    const std::string tmp = dir + "/" + name + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary);
        if (!(out << text)) throw RunError("cannot write " + tmp);
    }
    std::error_code ec;
    std::filesystem::rename(tmp, dir + "/" + name, ec);
    if (ec) throw RunError("cannot finalise " + dir + "/" + name + ": " + ec.message());
}

bool is_source(const std::string& model) {
    const ModelInfo* info = builtin_models().find(model);
    return info && info->kind == ModelKind::source;
}

} // namespace

void write_sonata_header(h5::File& file) {
    file.attribute_u32("magic", {0x0A7A});
    file.attribute_u32("version", {0, 1});
}

void write_sonata_description(const Experiment& exp, const std::string& dir, bool with_edges) {
    // SONATA's CSV dialect: columns separated by spaces; names here are identifiers (no spaces, no quotes).
    std::string node_types = "node_type_id population model_type model_template model_name\n";
    for (std::size_t p = 0; p < exp.populations.size(); ++p) {
        const PopulationSpec& pop = exp.populations[p];
        // Spike sources are SONATA's "virtual" nodes (inputs, not simulated); neurons are point neurons whose
        // model is named by Ketaplast's model registry (docs/models.md).
        const bool source = is_source(pop.model);
        node_types += std::to_string(node_type_id(p)) + " " + pop.name + " " +
                      (source ? "virtual NULL " : "point_neuron ketaplast:" + pop.model + " ") + pop.model +
                      "\n";
    }
    write_text(dir, "node_types.csv", node_types);
    nlohmann::json nodes = {{"nodes_file", "$BASE_DIR/nodes.h5"},
                            {"node_types_file", "$BASE_DIR/node_types.csv"}};
    nlohmann::json circuit = {{"version", 2},
                              {"target_simulator", "Ketaplast"},
                              {"manifest", {{"$BASE_DIR", "."}}},
                              {"node_sets_file", "$BASE_DIR/node_sets.json"},
                              {"networks", {{"nodes", {nodes}}, {"edges", nlohmann::json::array()}}}};
    if (with_edges) {
        std::string edge_types = "edge_type_id projection receptor model_template\n";
        for (std::size_t p = 0; p < exp.projections.size(); ++p) {
            const ProjectionSpec& proj = exp.projections[p];
            edge_types += std::to_string(edge_type_id(p)) + " " + proj.name + " " + proj.receptor + " " +
                          (proj.stp ? "ketaplast:tsodyks_markram" : "ketaplast:static") + "\n";
        }
        write_text(dir, "edge_types.csv", edge_types);
        circuit["networks"]["edges"].push_back(
            {{"edges_file", "$BASE_DIR/edges.h5"}, {"edge_types_file", "$BASE_DIR/edge_types.csv"}});
    }
    write_text(dir, "circuit_config.json", circuit.dump(2) + "\n");

    nlohmann::json node_sets = nlohmann::json::object();
    for (const PopulationSpec& pop : exp.populations)
        node_sets[pop.name] = {{"population", pop.name}};
    write_text(dir, "node_sets.json", node_sets.dump(2) + "\n");

    nlohmann::json reports = nlohmann::json::object();
    for (const StateReportSpec& r : exp.recording.reports)
        for (const std::string& variable : r.variables) {
            const std::string unit = variable.substr(variable.rfind('_') + 1);
            reports[r.population + "_" + variable] = {{"cells", r.population},
                                                      {"variable_name", variable},
                                                      {"sections", "soma"},
                                                      {"type", "compartment"},
                                                      {"start_time", 0.0},
                                                      {"end_time", exp.simulation.duration_ms},
                                                      {"dt", r.interval_ms},
                                                      {"unit", unit},
                                                      {"file_name", "report_" + variable + ".h5"}};
        }
    nlohmann::json simulation = {
        {"version", 2},
        {"manifest", {{"$BASE_DIR", "."}, {"$OUTPUT_DIR", "."}}},
        {"network", "$BASE_DIR/circuit_config.json"},
        {"node_sets_file", "$BASE_DIR/node_sets.json"},
        {"target_simulator", "Ketaplast"},
        {"run",
         {{"tstop", exp.simulation.duration_ms},
          {"dt", exp.simulation.dt_ms},
          {"random_seed", exp.simulation.seed}}},
        {"output",
         {{"output_dir", "$OUTPUT_DIR"}, {"spikes_file", "spikes.h5"}, {"spikes_sort_order", "by_time"}}},
        {"reports", reports}};
    write_text(dir, "simulation_config.json", simulation.dump(2) + "\n");
}

} // namespace ketaplast
