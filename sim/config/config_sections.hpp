// The parts of an experiment file, each read and validated by its own file (sim/config_*.cpp);
// sim/config/config_loader.cpp puts them together. Internal to the config loader.
#pragma once

#include "models/parameters.hpp"
#include "models/registry.hpp"
#include "sim/config/experiment.hpp"
#include "sim/config/toml_reader.hpp"

#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace ketaplast::config_detail {

ParamDef range(double min, double max, bool min_inclusive = true, bool max_inclusive = true,
               double def = 0.0);
// Numbers in messages as the user wrote them (0.05, -50), not std::to_string's 0.050000.
std::string number_text(double v);
std::string join(const std::vector<std::string>& items);

PopulationSpec read_population(const toml::table& t, std::size_t index, const std::string& file,
                               const SimulationSpec& sim, const NetworkSpec& net,
                               const std::vector<PopulationSpec>& earlier);

ProjectionSpec read_projection(const toml::table& t, std::size_t index, const std::string& file,
                               const NetworkSpec& network, const SimulationSpec& sim,
                               const std::vector<PopulationSpec>& pops,
                               const std::vector<ProjectionSpec>& earlier);

// projections.<name>.plasticity (sim/config/config_plasticity.cpp); `projection` is the projection's reader
// (for messages about its own keys).
StdpRule read_plasticity(const toml::table& t, TomlReader& projection, const std::string& file,
                         const ProjectionSpec& proj, const PopulationSpec& target,
                         const ModelInfo* target_model, const NetworkSpec& network);

// [[glutamate]] pools (after populations: sources and regions name them); also resolves the receptors'
// glutamate_pool references.
std::vector<GlutamatePoolSpec> read_glutamate(TomlReader& root, const std::string& file,
                                              std::vector<PopulationSpec>& pops);

// [protocol] with its [protocol.slow] parameters and [[protocol.sampling]] probe times (after everything it
// names: populations, projections, [network], [output]).
std::optional<ProtocolSpec> read_protocol(TomlReader& root, const Experiment& exp);

} // namespace ketaplast::config_detail
