// The SONATA circuit and simulation description of a run directory (SONATA developer guide: "Tying it all
// together", "Representing Simulations"): node_types.csv and edge_types.csv (one type per population and per
// projection), circuit_config.json (nodes.h5 and edges.h5 with their type files), simulation_config.json (the
// run's time step, duration, seed, output files and reports) and node_sets.json (one node set per
// population), so that SONATA readers (libsonata, bmtk, NEST's SONATA reader) find everything from one file.
#pragma once

#include "sim/config/experiment.hpp"
#include "sim/io/hdf5_file.hpp"

#include <string>

namespace ketaplast {

// SONATA's required file attributes: `magic` (uint32 0x0A7A) and `version` (uint32 [2]) on the root group.
void write_sonata_header(h5::File& file);

// node_type_id of population p, edge_type_id of projection p: their indices in the config (unique per file).
inline std::int64_t node_type_id(std::size_t population) {
    return std::int64_t(population);
}
inline std::int64_t edge_type_id(std::size_t projection) {
    return std::int64_t(projection);
}

// Writes node_types.csv, edge_types.csv (with edges), circuit_config.json, node_sets.json and
// simulation_config.json into dir, each under a temporary name renamed when complete.
void write_sonata_description(const Experiment& exp, const std::string& dir, bool with_edges);

} // namespace ketaplast
