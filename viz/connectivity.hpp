// The network as VTK poly data for ParaView (docs/viz.md): neurons.vtp (neurons as points and vertex
// cells), synapses_<k>.vtp (the same points, synapses as lines with the weights of frame k) and
// network.pvd, a time series over the weight frames with the two files as parts.
#pragma once

#include "viz/run_data.hpp"

#include <vtkPolyData.h>
#include <vtkSmartPointer.h>

#include <filesystem>
#include <vector>

namespace ketaplast::viz {

// Points of every node population in RunData::nodes order, with point data population (int, index into
// the field-data string array population_names), node_id (population-local) and rate_Hz; one vertex
// cell per neuron.
vtkSmartPointer<vtkPolyData> make_neurons(const RunData& run);

// The same points and point data, one line per synapse (all projections, in edges.h5 order) with cell
// data projection (index into field data projection_names), weight (frame `frame`), delay_ms and, when
// there are at least two frames, weight_change = weight(frame) - weight(frame 0).
vtkSmartPointer<vtkPolyData> make_synapses(const RunData& run, std::size_t frame);

// weight(last frame) - weight(frame 0) per synapse, all projections concatenated; empty with fewer
// than two frames.
std::vector<float> weight_change(const RunData& run);

void write_vtp(vtkPolyData* data, const std::filesystem::path& path);

// Writes neurons.vtp, synapses_<k>.vtp for every frame and network.pvd into out_dir (synapses only with
// edges.h5); returns the paths written.
std::vector<std::filesystem::path> write_connectivity(const RunData& run,
                                                      const std::filesystem::path& out_dir);

} // namespace ketaplast::viz
