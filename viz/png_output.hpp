// The 3-D picture as PNG: saving a render window, the population colours (as in the 2-D pictures).
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

} // namespace ketaplast::viz
