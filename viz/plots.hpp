// 2-D plots of a run as PNGs (VTK charts rendered offscreen): spike raster, population rates, drug
// concentrations, NMDA block per pool, any other timeseries.h5 group (glutamate, AMPA activation, ...)
// and the weight distribution of each projection at the first and last weight frame. Plots whose data
// are absent are skipped. All need a display (display_problem() == "").
#pragma once

#include "viz/png_output.hpp"
#include "viz/run_data.hpp"

#include <filesystem>
#include <vector>

namespace ketaplast::viz {

struct PlotOptions {
    int width_px = 1000, height_px = 450;
    std::size_t max_raster_neurons = 400; // raster rows shown (a proportional share of each population)
    std::size_t max_rate_points = 400;    // rate bins are averaged in groups down to this many points
    std::size_t max_weight_plots = 8;     // projections with most synapses first
    std::size_t histogram_bins = 40;
};

std::vector<Picture> render_plots(const RunData& run, const std::filesystem::path& out_dir,
                                  const PlotOptions& options = {});

// Histogram helper, also used by the tests: counts of `values` in `bins` equal bins over [lo, hi]
// (hi inclusive).
std::vector<std::size_t> histogram(const std::vector<float>& values, double lo, double hi, std::size_t bins);

// Means of consecutive groups of `group` values (the last group may be shorter).
std::vector<double> average_groups(const std::vector<double>& values, std::size_t group);

} // namespace ketaplast::viz
