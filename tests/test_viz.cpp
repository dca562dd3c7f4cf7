// ketaplast-viz (viz/, docs/viz.md): the run reader, the ParaView files read back by VTK's own reader, the
// 3-D picture under Xvfb (population colours, the scale bar), the report's references, and the no-display
// path. The 2-D pictures and the report's content are tested in tests/viz/ (Python). The run is the CTest
// fixture viz_fixture_run: configs/teaching_small.toml shortened to 3 s (ketamine from 1.5 s), made by the
// ketaplast binary of this build (tests/CMakeLists.txt), never a committed output.
#include "sim/io/hdf5_file.hpp"
#include "test_support.hpp"
#include "viz/connectivity.hpp"
#include "viz/network_render.hpp"
#include "viz/run_data.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkDataArray.h>
#include <vtkImageData.h>
#include <vtkPNGReader.h>
#include <vtkPointData.h>
#include <vtkPolyData.h>
#include <vtkSmartPointer.h>
#include <vtkXMLPolyDataReader.h>

#include <cmath>
#include <filesystem>
#include <set>

namespace fs = std::filesystem;
using namespace ketaplast;
using ketaplast::test::read_file;
using ketaplast::test::TempDir;

namespace {

const std::string kRun = KETAPLAST_VIZ_FIXTURE_DIR;

test::CommandResult run_viz(const std::string& prefix, const std::string& args, const std::string& log) {
    const std::string cmd = prefix + " \"" + KETAPLAST_VIZ_BINARY + "\" " + args + " > \"" + log + "\" 2>&1";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(log)};
}

nlohmann::json summary() {
    return nlohmann::json::parse(read_file(kRun + "/summary.json"));
}

vtkSmartPointer<vtkPolyData> read_vtp(const fs::path& path) {
    auto reader = vtkSmartPointer<vtkXMLPolyDataReader>::New();
    reader->SetFileName(path.c_str());
    reader->Update();
    return reader->GetOutput();
}

struct Image {
    int width = 0, height = 0;
    std::vector<std::array<unsigned char, 3>> pixels;
};

Image read_png(const fs::path& path) {
    auto reader = vtkSmartPointer<vtkPNGReader>::New();
    reader->SetFileName(path.c_str());
    reader->Update();
    vtkImageData* image = reader->GetOutput();
    Image out;
    int dims[3];
    image->GetDimensions(dims);
    out.width = dims[0];
    out.height = dims[1];
    const int components = image->GetNumberOfScalarComponents();
    auto* data = static_cast<unsigned char*>(image->GetScalarPointer());
    for (int k = 0; k < dims[0] * dims[1]; ++k)
        out.pixels.push_back({data[k * components], data[k * components + 1], data[k * components + 2]});
    return out;
}

// Pixels within `tolerance` (per channel, 0-255) of a colour. Antialiasing and shading blend colours
// into the background, so only the core of a mark matches exactly; 40 levels accept shaded sphere
// centres and line cores without confusing the Dark2 colours with each other (they differ by > 60).
std::size_t pixels_near(const Image& image, std::array<double, 3> colour, int tolerance = 40) {
    std::size_t n = 0;
    for (const auto& p : image.pixels) {
        bool near = true;
        for (int c = 0; c < 3; ++c)
            near = near && std::abs(int(p[std::size_t(c)]) -
                                    int(std::lround(255 * colour[std::size_t(c)]))) <= tolerance;
        n += near;
    }
    return n;
}

double non_white_fraction(const Image& image) {
    std::size_t n = 0;
    for (const auto& p : image.pixels)
        n += (p[0] < 250 || p[1] < 250 || p[2] < 250);
    return double(n) / double(image.pixels.size());
}

std::size_t distinct_colours(const Image& image) {
    std::set<int> colours;
    for (const auto& p : image.pixels)
        colours.insert(p[0] << 16 | p[1] << 8 | p[2]);
    return colours.size();
}

} // namespace

TEST_CASE("viz: the synapses that changed most", "[viz]") {
    const auto [up, down] = viz::extreme_changes({0.0f, 2.0f, -1.0f, 3.0f, -4.0f, 0.5f}, 2);
    CHECK(up == std::vector<std::size_t>{3, 1});
    CHECK(down == std::vector<std::size_t>{4, 2});
}

TEST_CASE("viz: the reader agrees with summary.json", "[viz]") {
    const nlohmann::json s = summary();
    const viz::RunData run = viz::load_run(kRun);
    REQUIRE(run.nodes.size() == s["populations"].size());
    std::size_t neurons = 0;
    for (const viz::NodePopulation& n : run.nodes) {
        const auto& p = s["populations"][n.name];
        REQUIRE(n.size() == p["size"].get<std::size_t>());
        neurons += n.size();
        // The mean of per-neuron rates from spikes.h5 equals the simulator's own population rate
        // (spike_count / (size x simulated s)); both are sums of integers divided by the same numbers,
        // so they agree to rounding (1e-12 relative).
        double mean = 0;
        for (double r : n.rate_Hz)
            mean += r;
        mean /= double(n.size());
        CHECK(mean == Approx(p["mean_rate_Hz"].get<double>()).epsilon(1e-12));
        CHECK(n.spike_ids.size() == p["spike_count"].get<std::size_t>());
    }
    CHECK(run.point_count() == neurons);
    CHECK(run.edge_count() == s["memory"]["synapse_count"].get<std::size_t>());
    CHECK(run.edges.size() == 6);
    REQUIRE(run.frames.size() == 1); // no snapshots.h5: one frame, the final edges.h5 weights
    CHECK(viz::weight_change(run).empty());
    CHECK(run.simulated_ms == Approx(3000.0));
}

TEST_CASE("viz: without a display, everything but the 3-D picture is written and the exit code is 0",
          "[viz]") {
    TempDir out("viz_nodisplay");
    const auto result = run_viz("env -u DISPLAY", "report \"" + kRun + "\" --out \"" + out.path() + "\"",
                                out.file("log.txt"));
    INFO(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("No 3-D picture of the network: DISPLAY is not set") != std::string::npos);
    CHECK(result.output.find("xvfb-run -a") != std::string::npos);
    for (const char* f : {"neurons.vtp", "synapses_0000.vtp", "network.pvd", "report.html", "story.png",
                          "raster.png", "rates.png", "nmda.png"})
        CHECK(fs::exists(out.file(f)));
    CHECK_FALSE(fs::exists(out.file("network.png")));
    const std::string html = read_file(out.file("report.html"));
    CHECK(html.find("The chain at a glance") != std::string::npos);
    CHECK(html.find("No 3-D picture of the network") != std::string::npos);

    // A display that does not exist is refused the same way, not by a crash inside VTK.
    const auto bad = run_viz("DISPLAY=:4321", "pictures \"" + kRun + "\" --out \"" + out.path() + "\"",
                             out.file("log2.txt"));
    INFO(bad.output);
    CHECK(bad.exit_code == 0);
    CHECK(bad.output.find("cannot open X display ':4321'") != std::string::npos);
}

TEST_CASE("viz: .vtp files read back by VTK with the network's counts and arrays", "[viz]") {
    TempDir out("viz_vtp");
    const auto result = run_viz("env -u DISPLAY", "export \"" + kRun + "\" --out \"" + out.path() + "\"",
                                out.file("log.txt"));
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    const nlohmann::json s = summary();
    std::size_t neurons = 0;
    for (const auto& [name, p] : s["populations"].items())
        neurons += p["size"].get<std::size_t>();
    const auto synapse_count = s["memory"]["synapse_count"].get<vtkIdType>();

    vtkSmartPointer<vtkPolyData> cells = read_vtp(out.file("neurons.vtp"));
    CHECK(cells->GetNumberOfPoints() == vtkIdType(neurons));
    CHECK(cells->GetNumberOfVerts() == vtkIdType(neurons));
    CHECK(cells->GetNumberOfLines() == 0);
    for (const char* a : {"population", "node_id", "rate_Hz"})
        CHECK(cells->GetPointData()->GetArray(a) != nullptr);

    vtkSmartPointer<vtkPolyData> synapses = read_vtp(out.file("synapses_0000.vtp"));
    CHECK(synapses->GetNumberOfPoints() == vtkIdType(neurons));
    CHECK(synapses->GetNumberOfLines() == synapse_count);
    for (const char* a : {"projection", "weight", "delay_ms"})
        CHECK(synapses->GetCellData()->GetArray(a) != nullptr);
    CHECK(synapses->GetCellData()->GetArray("weight_change") == nullptr); // one frame: no change

    // Independent check of one projection against edges.h5 and nodes.h5 read here with the HDF5
    // wrapper: the first line of projection "PV_PV_GABA" joins the positions of its source and target
    // and carries its weight. Projections are stored in name order, PV_PV_GABA first.
    h5::File edges = h5::File::open_read(kRun + "/edges.h5");
    h5::Object ii = edges.open_group("edges").open_group("PV_PV_GABA");
    const auto source = ii.read_u64("source_node_id");
    const auto target = ii.read_u64("target_node_id");
    const auto weight = ii.open_group("0").read_doubles("syn_weight");
    REQUIRE(!source.empty());
    h5::File nodes = h5::File::open_read(kRun + "/nodes.h5");
    h5::Object pv = nodes.open_group("nodes").open_group("PV").open_group("0");
    const auto x = pv.read_doubles("x"), y = pv.read_doubles("y"), z = pv.read_doubles("z");
    vtkNew<vtkIdList> ends;
    synapses->GetLines()->GetCellAtId(0, ends);
    REQUIRE(ends->GetNumberOfIds() == 2);
    double a[3], b[3];
    synapses->GetPoint(ends->GetId(0), a);
    synapses->GetPoint(ends->GetId(1), b);
    // float32 positions written and read back as float32: exact.
    CHECK(a[0] == x[source[0]]);
    CHECK(a[1] == y[source[0]]);
    CHECK(a[2] == z[source[0]]);
    CHECK(b[0] == x[target[0]]);
    CHECK(b[2] == z[target[0]]);
    CHECK(synapses->GetCellData()->GetArray("weight")->GetTuple1(0) == weight[0]);
    CHECK(synapses->GetCellData()->GetArray("projection")->GetTuple1(0) == 0);

    const std::string pvd = read_file(out.file("network.pvd"));
    CHECK(pvd.find("file=\"neurons.vtp\"") != std::string::npos);
    CHECK(pvd.find("file=\"synapses_0000.vtp\"") != std::string::npos);
}

TEST_CASE("viz: weight snapshots give a .pvd time series and the change since baseline", "[viz]") {
    // A copy of the run with a snapshots.h5 in the layout of docs/output.md: three frames, the last
    // one with synapse 5 of pyr_pyr_AMPA strengthened by 0.75 nS and synapse 9 weakened by 0.25 nS.
    TempDir dir("viz_snapshots");
    for (const char* f : {"nodes.h5", "edges.h5", "spikes.h5", "timeseries.h5", "summary.json"})
        fs::copy_file(kRun + "/" + f, dir.file(f));
    viz::RunData plain = viz::load_run(dir.path());
    std::size_t projection = 0;
    while (plain.edges[projection].name != "pyr_pyr_AMPA")
        ++projection;
    const std::vector<float> w0 = plain.edges[projection].weight;
    REQUIRE(w0.size() > 10);
    {
        h5::File snap = h5::File::create(dir.file("snapshots.h5"));
        snap.write("time_ms", std::vector<double>{0.0, 1500.0, 3000.0}, "ms");
        h5::Object root = snap.group("edges");
        for (const viz::EdgePopulation& e : plain.edges) {
            std::vector<float> rows;
            for (int s = 0; s < 3; ++s) {
                std::vector<float> w = e.weight;
                if (&e == &plain.edges[projection] && s == 2) {
                    w[5] += 0.75f;
                    w[9] -= 0.25f;
                }
                rows.insert(rows.end(), w.begin(), w.end());
            }
            root.group(e.name).group("0").write_matrix("syn_weight", rows, 3, e.size(), "nS");
        }
    }
    const viz::RunData run = viz::load_run(dir.path());
    REQUIRE(run.frames.size() == 3);
    CHECK(run.frames[1].time_ms == 1500.0);
    const std::vector<float> change = viz::weight_change(run);
    REQUIRE(change.size() == run.edge_count());
    std::size_t first = 0;
    for (std::size_t q = 0; q < projection; ++q)
        first += run.edges[q].size();
    const auto [up, down] = viz::extreme_changes(change, 10);
    CHECK(up == std::vector<std::size_t>{first + 5});
    CHECK(down == std::vector<std::size_t>{first + 9});

    const fs::path out = dir.file("viz");
    fs::create_directories(out);
    viz::write_connectivity(run, out);
    for (const char* f : {"synapses_0000.vtp", "synapses_0001.vtp", "synapses_0002.vtp"})
        CHECK(fs::exists(out / f));
    vtkSmartPointer<vtkPolyData> last = read_vtp(out / "synapses_0002.vtp");
    vtkDataArray* dw = last->GetCellData()->GetArray("weight_change");
    REQUIRE(dw != nullptr);
    // Differences of float32 values, computed in float: 0.75 and 0.25 within float rounding of the sum
    // (weights of a few nS: ulp ~ 5e-7).
    CHECK(dw->GetTuple1(vtkIdType(first + 5)) == Approx(0.75).margin(1e-5));
    CHECK(dw->GetTuple1(vtkIdType(first + 9)) == Approx(-0.25).margin(1e-5));
    CHECK(dw->GetTuple1(vtkIdType(first + 6)) == 0.0);
    CHECK(last->GetCellData()->GetArray("weight")->GetTuple1(vtkIdType(first + 5)) == Approx(w0[5] + 0.75f));
    const std::string pvd = read_file((out / "network.pvd").string());
    CHECK(pvd.find("timestep=\"1500\" part=\"1\" file=\"synapses_0001.vtp\"") != std::string::npos);
}

TEST_CASE("viz: the 3-D picture under xvfb-run has real content, and the report references only existing "
          "files",
          "[viz]") {
    const std::string xvfb = KETAPLAST_XVFB_RUN;
    REQUIRE_FALSE(xvfb.empty()); // xvfb-run is missing: ./dev installs it (Debian package xvfb)
    TempDir out("viz_png");
    const auto result = run_viz("\"" + xvfb + "\" -a", "report \"" + kRun + "\" --out \"" + out.path() + "\"",
                                out.file("log.txt"));
    INFO(result.output);
    REQUIRE(result.exit_code == 0);

    const viz::RunData run = viz::load_run(kRun);
    const std::size_t pv = run.node_index("PV"), pyr = run.node_index("pyramidal");
    // Network: both population colours drawn as dots (40 and 160 neurons of ~10 px diameter: several
    // hundred pixels each at least), shading gives many colours, and the picture is not mostly blank.
    const Image network = read_png(out.file("network.png"));
    CHECK(network.width == 1000);
    CHECK(network.height == 800);
    CHECK(pixels_near(network, viz::category_colour(pv)) > 300);
    CHECK(pixels_near(network, viz::category_colour(pyr)) > 1000);
    CHECK(distinct_colours(network) > 100);
    CHECK(non_white_fraction(network) > 0.05);
    CHECK(non_white_fraction(network) < 0.95);
    // The scale bar: a dark 4-px line in the key column right of the network (x > 74 % of the width), at
    // 6 % of the height from the bottom; its label stands above it (from 8 %), the population key higher.
    std::size_t bar = 0;
    for (int row = int(0.05 * network.height); row < int(0.07 * network.height); ++row)
        for (int col = int(0.74 * network.width); col < network.width; ++col) {
            const auto& p = network.pixels[std::size_t(row) * std::size_t(network.width) + std::size_t(col)];
            bar += p[0] < 70 && p[1] < 70 && p[2] < 70;
        }
    CHECK(bar > 4 * 40); // at least 40 px long (the bar is about half the key column, ~130 px)
    CHECK(result.output.find("(3-D)") != std::string::npos);

    // The report: every src/href is an embedded PNG or a file next to the report.
    const std::string html = read_file(out.file("report.html"));
    // (Scanned by hand: libstdc++'s recursive std::regex overflows the stack on a long data URI.)
    std::vector<std::string> targets;
    for (const std::string attribute : {"src=\"", "href=\""})
        for (std::size_t at = html.find(attribute); at != std::string::npos;
             at = html.find(attribute, at + 1)) {
            const std::size_t begin = at + attribute.size();
            targets.push_back(html.substr(begin, html.find('"', begin) - begin));
        }
    std::size_t images = 0, links = 0;
    for (const std::string& target : targets) {
        if (target.rfind("data:image/png;base64,", 0) == 0) {
            ++images;
            CHECK(target.substr(22, 8) == "iVBORw0K"); // base64 of the PNG signature \x89PNG\r\n
            continue;
        }
        ++links;
        INFO(target);
        CHECK(target.find("://") == std::string::npos); // nothing from a server
        CHECK(fs::exists(out.file(target)));
    }
    CHECK(images >= 8); // network.png and the 2-D pictures
    CHECK(links >= 3);
    CHECK(html.find("The network in 3D") != std::string::npos);
    CHECK(html.find("completed") != std::string::npos);
}

TEST_CASE("viz: a directory that is not a run is refused with exit code 2", "[viz]") {
    TempDir dir("viz_bad");
    const auto missing = run_viz("", "export \"" + dir.file("nope") + "\"", dir.file("log.txt"));
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("is not a directory") != std::string::npos);
    const auto empty = run_viz("", "export \"" + dir.path() + "\"", dir.file("log2.txt"));
    CHECK(empty.exit_code == 2);
    CHECK(empty.output.find("nodes.h5: missing") != std::string::npos);
    CHECK_FALSE(fs::exists(dir.file("viz/neurons.vtp")));
}

// A [protocol] run (fixture viz_protocol_fixture_run: ketamine_week on 200 E / 50 I for 6 h): the reader
// takes the snapshots' protocol times, and the report opens with the week picture instead of the story,
// raster and rates, whose engine time no protocol-time axis can show (its content: tests/viz/).
TEST_CASE("viz: a protocol run is read in protocol time and drawn as the week picture", "[viz]") {
    const std::string dir = kRun + "_protocol";
    const viz::RunData run = viz::load_run(dir);
    REQUIRE(run.is_protocol());
    CHECK(run.protocol_ms == Approx(6.0 * 3.6e6));
    CHECK(run.time_axis_end_ms() == run.protocol_ms);
    REQUIRE(run.frames.size() == 3); // report_h = [0, 2, 6]
    CHECK(run.frames[1].time_ms == Approx(2.0 * 3.6e6));
    CHECK(run.frames[2].time_ms == Approx(6.0 * 3.6e6));

    TempDir out("viz_protocol");
    const auto result =
        run_viz("env -u DISPLAY", "report \"" + dir + "\" --out \"" + out.path() + "\"", out.file("log.txt"));
    INFO(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK_FALSE(fs::exists(out.file("story.png")));
    CHECK_FALSE(fs::exists(out.file("raster.png")));
    CHECK(fs::exists(out.file("week.png")));
    const std::string html = read_file(out.file("report.html"));
    CHECK(html.find("From the dose to the synapses") != std::string::npos);
}
