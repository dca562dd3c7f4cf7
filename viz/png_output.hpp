// Shared by the network render and the plots: saving a render window as PNG, colours, time axis units.
#pragma once

#include <array>
#include <filesystem>
#include <string>

class vtkRenderWindow;

namespace ketaplast::viz {

// A picture written for the report: file (relative to the output directory), title and caption.
struct Picture {
    std::string file;
    std::string title;
    std::string caption;
};

// Renders the window offscreen and writes it as PNG (under a temporary name, then renamed).
void save_png(vtkRenderWindow* window, const std::filesystem::path& path);

// Categorical colours for populations, projections and series (ColorBrewer "Dark2", Harrower & Brewer
// 2003), RGB in [0, 1]; cycles after eight. Red and blue are kept for strengthened/weakened synapses.
std::array<double, 3> category_colour(std::size_t index);
inline constexpr std::array<double, 3> kStrengthened = {0.84, 0.15, 0.16};
inline constexpr std::array<double, 3> kWeakened = {0.12, 0.47, 0.71};

// A readable time unit for a run of this length: ms up to 2 s, s up to 10 min, min beyond.
struct TimeUnit {
    double ms_per_unit;
    std::string name;
};
TimeUnit time_unit_for(double duration_ms);

} // namespace ketaplast::viz
