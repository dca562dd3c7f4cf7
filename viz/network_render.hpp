// The 3D network as a PNG: neurons coloured by population, synapses as faint lines, and the synapses
// that changed most since the first weight frame drawn thick (red: strengthened, blue: weakened).
#pragma once

#include "viz/png_output.hpp"
#include "viz/run_data.hpp"

#include <filesystem>

namespace ketaplast::viz {

struct NetworkPictureOptions {
    int width_px = 1000, height_px = 800;
    std::size_t highlight_count = 40;         // strongest changes of each sign to draw thick
    std::size_t max_background_edges = 20000; // faint lines drawn (an even subsample beyond this)
};

// Writes network.png into out_dir; needs a display (display_problem() == "").
Picture render_network(const RunData& run, const std::filesystem::path& out_dir,
                       const NetworkPictureOptions& options = {});

// Indices (into the concatenated edge list) of the `count` largest positive and the `count` most negative
// entries of `change`, largest magnitude first; zero changes are never chosen.
std::pair<std::vector<std::size_t>, std::vector<std::size_t>>
extreme_changes(const std::vector<float>& change, std::size_t count);

} // namespace ketaplast::viz
