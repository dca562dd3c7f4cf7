#include "viz/network_render.hpp"

#include "viz/connectivity.hpp"

#include <vtkActor.h>
#include <vtkActor2D.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkPointData.h>
#include <vtkPoints.h>
#include <vtkPolyDataMapper.h>
#include <vtkPolyDataMapper2D.h>
#include <vtkProperty.h>
#include <vtkProperty2D.h>
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

// A horizontal scale bar of `length_px` pixels at (x_px, y_px) of the window, in display coordinates.
vtkSmartPointer<vtkActor2D> scale_bar(double x_px, double y_px, double length_px) {
    auto points = vtkSmartPointer<vtkPoints>::New();
    points->InsertNextPoint(x_px, y_px, 0.0);
    points->InsertNextPoint(x_px + length_px, y_px, 0.0);
    auto lines = vtkSmartPointer<vtkCellArray>::New();
    const vtkIdType ends[2] = {0, 1};
    lines->InsertNextCell(2, ends);
    auto data = vtkSmartPointer<vtkPolyData>::New();
    data->SetPoints(points);
    data->SetLines(lines);
    auto mapper = vtkSmartPointer<vtkPolyDataMapper2D>::New();
    mapper->SetInputData(data);
    auto actor = vtkSmartPointer<vtkActor2D>::New();
    actor->SetMapper(mapper);
    actor->GetProperty()->SetColor(0.1, 0.1, 0.1);
    actor->GetProperty()->SetLineWidth(4.0f);
    return actor;
}

// A round length (1, 2 or 5 x 10^k) near a fifth of `span`.
double nice_length(double span) {
    const double target = 0.2 * span;
    const double power = std::pow(10.0, std::floor(std::log10(target)));
    for (double step : {5.0, 2.0, 1.0})
        if (step * power <= target) return step * power;
    return power;
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

    // Side view of the column: depth (z) vertical, looking along +y, turned a little for depth cues. A
    // parallel projection keeps one scale everywhere, so the scale bar measures any line in the picture's
    // plane. The network fills the left of the window below the title band; the titles, the population key
    // and the scale bar stand outside it, on an annotation layer underneath.
    constexpr double kNetworkRight = 0.74, kNetworkTop = 0.9;
    renderer->SetViewport(0.0, 0.0, kNetworkRight, kNetworkTop);
    renderer->SetLayer(1);
    vtkCamera* camera = renderer->GetActiveCamera();
    camera->ParallelProjectionOn();
    renderer->ResetCamera();
    double focal[3];
    camera->GetFocalPoint(focal);
    const double distance = camera->GetDistance();
    camera->SetPosition(focal[0], focal[1] - distance, focal[2] + 0.35 * distance);
    camera->SetViewUp(0, 0, 1);
    camera->Azimuth(25);
    renderer->ResetCamera();
    camera->Zoom(1.1);

    auto notes = vtkSmartPointer<vtkRenderer>::New();
    notes->SetBackground(1.0, 1.0, 1.0);
    notes->SetLayer(0);
    notes->AddActor2D(text("Network: " + std::to_string(run.point_count()) + " neurons", 0.02, 0.95, 22,
                           {0.1, 0.1, 0.1}, true));
    notes->AddActor2D(text(subtitle, 0.02, 0.915, 15, {0.25, 0.25, 0.25}));
    double y = kNetworkTop - 0.06;
    for (std::size_t p = 0; p < run.nodes.size(); ++p, y -= 0.035) {
        const NodePopulation& n = run.nodes[p];
        double mean_rate = 0;
        for (double r : n.rate_Hz)
            mean_rate += r;
        mean_rate /= double(std::max<std::size_t>(1, n.size()));
        std::string line = n.name + ": " + std::to_string(n.size()) + " neurons";
        if (run.has_spikes) line += fmt_double(", %.2f Hz", mean_rate);
        notes->AddActor2D(text(line, kNetworkRight + 0.01, y, 16, category_colour(p), true));
    }
    // Scale bar: the parallel scale is half the network viewport's height in µm (positions in µm, nodes.h5).
    const double viewport_height_px = kNetworkTop * double(options.height_px);
    const double um_per_px = 2.0 * camera->GetParallelScale() / viewport_height_px;
    const double bar_um = nice_length(um_per_px * (1.0 - kNetworkRight) * double(options.width_px) * 2.5);
    const double bar_px = bar_um / um_per_px;
    const double bar_x = (kNetworkRight + 0.02) * double(options.width_px), bar_y = 0.06 * options.height_px;
    notes->AddActor2D(scale_bar(bar_x, bar_y, bar_px));
    notes->AddActor2D(
        text(fmt_double("%g \xC2\xB5m", bar_um), kNetworkRight + 0.02, 0.08, 17, {0.1, 0.1, 0.1}, true));

    auto window = vtkSmartPointer<vtkRenderWindow>::New();
    window->SetOffScreenRendering(1);
    window->SetSize(options.width_px, options.height_px);
    window->SetMultiSamples(8);
    window->SetNumberOfLayers(2);
    window->AddRenderer(notes);
    window->AddRenderer(renderer);
    save_png(window, out_dir / "network.png");
    return {"network.png", "The network in 3D",
            "Each dot is a neuron at its position, coloured by population; grey lines are synapses. " +
                subtitle +
                ". Side view of the column (cortical depth vertical) in parallel projection: the bar "
                "measures " +
                fmt_double("%g", bar_um) + " µm in the picture's plane."};
}

} // namespace ketaplast::viz
