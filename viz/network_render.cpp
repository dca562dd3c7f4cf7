#include "viz/network_render.hpp"

#include "viz/connectivity.hpp"

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkPointData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkUnsignedCharArray.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace ketaplast::viz {

namespace fs = std::filesystem;

std::pair<std::vector<std::size_t>, std::vector<std::size_t>>
extreme_changes(const std::vector<float>& change, std::size_t count) {
    std::vector<std::size_t> up, down;
    for (std::size_t k = 0; k < change.size(); ++k) {
        if (change[k] > 0) up.push_back(k);
        if (change[k] < 0) down.push_back(k);
    }
    auto keep = [&](std::vector<std::size_t>& v, auto larger) {
        const std::size_t n = std::min(count, v.size());
        std::partial_sort(v.begin(), v.begin() + std::ptrdiff_t(n), v.end(), larger);
        v.resize(n);
    };
    keep(up, [&](std::size_t a, std::size_t b) { return change[a] > change[b]; });
    keep(down, [&](std::size_t a, std::size_t b) { return change[a] < change[b]; });
    return {up, down};
}

namespace {

vtkSmartPointer<vtkTextActor> text(const std::string& s, double x, double y, int size,
                                   std::array<double, 3> colour, bool bold = false) {
    auto actor = vtkSmartPointer<vtkTextActor>::New();
    actor->SetInput(s.c_str());
    actor->GetPositionCoordinate()->SetCoordinateSystemToNormalizedViewport();
    actor->GetPositionCoordinate()->SetValue(x, y);
    actor->GetTextProperty()->SetFontSize(size);
    actor->GetTextProperty()->SetColor(colour.data());
    actor->GetTextProperty()->SetBold(bold);
    return actor;
}

// A line actor over the network's points for the chosen synapses.
vtkSmartPointer<vtkActor> lines_actor(vtkPolyData* synapses, const std::vector<std::size_t>& cells,
                                      std::array<double, 3> colour, double width, double opacity) {
    auto lines = vtkSmartPointer<vtkCellArray>::New();
    vtkCellArray* all = synapses->GetLines();
    auto ids = vtkSmartPointer<vtkIdList>::New();
    for (std::size_t k : cells) {
        all->GetCellAtId(vtkIdType(k), ids);
        lines->InsertNextCell(ids);
    }
    auto data = vtkSmartPointer<vtkPolyData>::New();
    data->SetPoints(synapses->GetPoints());
    data->SetLines(lines);
    auto mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
    mapper->SetInputData(data);
    mapper->ScalarVisibilityOff();
    auto actor = vtkSmartPointer<vtkActor>::New();
    actor->SetMapper(mapper);
    actor->GetProperty()->SetColor(colour.data());
    actor->GetProperty()->SetLineWidth(float(width));
    actor->GetProperty()->SetOpacity(opacity);
    return actor;
}

std::string fmt_double(const char* format, double v) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, v);
    return buffer;
}

} // namespace

Picture render_network(const RunData& run, const fs::path& out_dir, const NetworkPictureOptions& options) {
    auto renderer = vtkSmartPointer<vtkRenderer>::New();
    renderer->SetBackground(1.0, 1.0, 1.0);

    // Neurons: points drawn as shaded spheres, coloured by population (direct RGB scalars).
    vtkSmartPointer<vtkPolyData> neurons = make_neurons(run);
    auto colours = vtkSmartPointer<vtkUnsignedCharArray>::New();
    colours->SetName("colour");
    colours->SetNumberOfComponents(3);
    colours->SetNumberOfTuples(neurons->GetNumberOfPoints());
    vtkIdType point = 0;
    for (std::size_t p = 0; p < run.nodes.size(); ++p) {
        const std::array<double, 3> c = category_colour(p);
        for (std::size_t i = 0; i < run.nodes[p].size(); ++i, ++point)
            for (int k = 0; k < 3; ++k)
                colours->SetComponent(point, k, std::round(255.0 * c[std::size_t(k)]));
    }
    neurons->GetPointData()->SetScalars(colours);
    auto neuron_mapper = vtkSmartPointer<vtkPolyDataMapper>::New();
    neuron_mapper->SetInputData(neurons);
    neuron_mapper->SetColorModeToDirectScalars();
    neuron_mapper->SetScalarModeToUsePointData();
    auto neuron_actor = vtkSmartPointer<vtkActor>::New();
    neuron_actor->SetMapper(neuron_mapper);
    // Fewer neurons, bigger dots: about 10 px for 200 neurons, never below 3 px.
    const double size_px =
        std::clamp(140.0 / std::sqrt(double(std::max<std::size_t>(1, run.point_count()))), 3.0, 14.0);
    neuron_actor->GetProperty()->SetPointSize(float(size_px));
    neuron_actor->GetProperty()->SetRenderPointsAsSpheres(true);
    renderer->AddActor(neuron_actor);

    std::string subtitle = "no edges.h5: synapses not shown (set [recording] edges = true)";
    if (!run.edges.empty()) {
        vtkSmartPointer<vtkPolyData> synapses = make_synapses(run, run.frames.size() - 1);
        const std::size_t n_edges = run.edge_count();
        std::vector<std::size_t> background;
        const std::size_t stride =
            std::max<std::size_t>(1, (n_edges + options.max_background_edges - 1) /
                                         std::max<std::size_t>(1, options.max_background_edges));
        for (std::size_t k = 0; k < n_edges; k += stride)
            background.push_back(k);
        // Faint enough that a few thousand overlapping lines stay grey, not black.
        const double opacity =
            std::clamp(60.0 / double(std::max<std::size_t>(1, background.size())), 0.03, 0.4);
        renderer->AddActor(lines_actor(synapses, background, {0.35, 0.35, 0.35}, 1.0, opacity));
        const std::vector<float> change = weight_change(run);
        const auto [up, down] = extreme_changes(change, options.highlight_count);
        if (!up.empty()) renderer->AddActor(lines_actor(synapses, up, kStrengthened, 3.0, 0.9));
        if (!down.empty()) renderer->AddActor(lines_actor(synapses, down, kWeakened, 3.0, 0.9));
        if (run.frames.size() < 2)
            subtitle =
                std::to_string(n_edges) + " synapses (grey); one weight frame, so no change to highlight";
        else if (up.empty() && down.empty())
            subtitle = std::to_string(n_edges) + " synapses (grey); no weight changed between " +
                       run.time_text(run.frames.front().time_ms) + " and " +
                       run.time_text(run.frames.back().time_ms);
        else
            subtitle = std::to_string(n_edges) + " synapses (grey); the " + std::to_string(up.size()) +
                       " most strengthened (red) and " + std::to_string(down.size()) +
                       " most weakened (blue) between " + run.time_text(run.frames.front().time_ms) +
                       " and " + run.time_text(run.frames.back().time_ms);
    }

    // Side view of the column: depth (z) vertical, looking along +y, turned a little for depth cues.
    renderer->ResetCamera();
    vtkCamera* camera = renderer->GetActiveCamera();
    double focal[3];
    camera->GetFocalPoint(focal);
    const double distance = camera->GetDistance();
    camera->SetPosition(focal[0], focal[1] - distance, focal[2] + 0.35 * distance);
    camera->SetViewUp(0, 0, 1);
    camera->Azimuth(25);
    renderer->ResetCamera();
    camera->Zoom(1.1);

    renderer->AddActor2D(text("Network: " + std::to_string(run.point_count()) + " neurons", 0.02, 0.95, 22,
                              {0.1, 0.1, 0.1}, true));
    renderer->AddActor2D(text(subtitle, 0.02, 0.915, 15, {0.25, 0.25, 0.25}));
    double y = 0.03 + 0.035 * double(run.nodes.size() - 1);
    for (std::size_t p = 0; p < run.nodes.size(); ++p, y -= 0.035) {
        const NodePopulation& n = run.nodes[p];
        double mean_rate = 0;
        for (double r : n.rate_Hz)
            mean_rate += r;
        mean_rate /= double(std::max<std::size_t>(1, n.size()));
        std::string line = n.name + ": " + std::to_string(n.size()) + " neurons";
        if (run.has_spikes) line += fmt_double(", %.2f Hz", mean_rate);
        renderer->AddActor2D(text(line, 0.02, y, 17, category_colour(p), true));
    }

    auto window = vtkSmartPointer<vtkRenderWindow>::New();
    window->SetOffScreenRendering(1);
    window->SetSize(options.width_px, options.height_px);
    window->SetMultiSamples(8);
    window->AddRenderer(renderer);
    save_png(window, out_dir / "network.png");
    return {"network.png", "The network in 3D",
            "Each dot is a neuron at its position (µm), coloured by population; grey lines are synapses. " +
                subtitle + "."};
}

} // namespace ketaplast::viz
