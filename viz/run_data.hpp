// What the ParaView files and the 3-D picture need from a run directory (docs/output.md): nodes.h5,
// spikes.h5 (per-neuron rates), edges.h5, snapshots.h5 and summary.json, as plain arrays. No VTK here, so
// the reader can be tested without a display; missing optional files give empty members. The 2-D pictures
// and the report read the run themselves (viz/python/run_files.py).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ketaplast::viz {

// One node population (nodes.h5), with per-neuron firing rates from spikes.h5.
struct NodePopulation {
    std::string name;
    std::string model;
    std::vector<float> x_um, y_um, z_um;
    std::vector<double> rate_Hz;        // spikes / simulated seconds; 0 when spikes.h5 is absent
    std::vector<double> spike_times_ms; // spikes.h5 timestamps (empty without spikes.h5)
    std::vector<std::uint64_t> spike_ids;
    std::size_t size() const { return x_um.size(); }
};

// One edge population (edges.h5), population-local node ids.
struct EdgePopulation {
    std::string name;
    std::string source_population, target_population;
    std::vector<std::uint64_t> source_id, target_id;
    std::vector<float> weight;   // edges.h5 syn_weight: the final weights
    std::vector<float> delay_ms; // edges.h5 delay
    std::string weight_units;    // "nS" or "pA"
    std::size_t size() const { return source_id.size(); }
};

// The weights of every projection at one time. Frames come from snapshots.h5 (rows of
// /edges/<projection>/0/syn_weight at /time_ms), from extra edges files given on the command line, or,
// by default, the single frame of edges.h5 at the end of the run. Frame 0 is the baseline for
// "change since baseline"; with one frame there is no change to show.
struct WeightFrame {
    double time_ms = 0.0;
    std::string label;                       // where the frame came from
    std::vector<std::vector<float>> weights; // [projection index in RunData::edges][edge]
};

struct RunData {
    std::filesystem::path dir;
    nlohmann::json summary;    // summary.json ({} when absent)
    double simulated_ms = 0.0; // summary.json simulated_ms, else the end of the last rate bin
    std::vector<NodePopulation> nodes;
    bool has_spikes = false;
    std::vector<EdgePopulation> edges; // empty without edges.h5
    std::vector<WeightFrame> frames;   // empty without edges.h5
    // A [protocol] run (slow.h5, docs/slow_layer.md): its length in protocol time. Its snapshots are in
    // protocol time; spikes are in engine time (the windows concatenated).
    double protocol_ms = 0.0;
    bool is_protocol() const { return protocol_ms > 0.0; }
    // The end of the time axis of the run's time series: protocol time for protocols, else simulated_ms.
    double time_axis_end_ms() const { return is_protocol() ? protocol_ms : simulated_ms; }
    // A time of a frame or series as a label: protocol hours ("12 h", "1.5 h") for protocols, else ms.
    std::string time_text(double t_ms) const;

    // Index of a node population by name; throws InputError when absent.
    std::size_t node_index(const std::string& population) const;
    // First point of each population in the concatenated point list (populations in `nodes` order).
    std::vector<std::size_t> point_offsets() const;
    std::size_t point_count() const;
    std::size_t edge_count() const;
};

// Reads a run directory. nodes.h5 is required (it is always written); everything else is optional.
// Extra edges files (edges.h5 layout), when given, replace the default frames: frame k = extra_edges[k].
// Throws InputError naming the file and object on a malformed file.
RunData load_run(const std::filesystem::path& dir,
                 const std::vector<std::filesystem::path>& extra_edges = {});

} // namespace ketaplast::viz
