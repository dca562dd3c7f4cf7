// ketaplast-viz: pictures of a run directory (docs/viz.md). A separate program so the simulator never
// links VTK (DESIGN.md); it reads only the run's files.
//
//   ketaplast-viz export   RUN_DIR [--out DIR]   .vtp/.pvd for ParaView (needs no display)
//   ketaplast-viz pictures RUN_DIR [--out DIR]   the same, and the PNG pictures and plots
//   ketaplast-viz report   RUN_DIR [--out DIR]   the same, and report.html
//
// PNGs need an X server (Debian's VTK renders through GLX only): without one, the data files (and the
// report, without pictures) are written, the reason is printed and the exit code is still 0.
#include "core/error.hpp"
#include "viz/connectivity.hpp"
#include "viz/display.hpp"
#include "viz/network_render.hpp"
#include "viz/plots.hpp"
#include "viz/report.hpp"
#include "viz/run_data.hpp"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <iostream>

namespace fs = std::filesystem;
using namespace ketaplast;
using namespace ketaplast::viz;

namespace {

struct Options {
    std::string run_dir;
    std::string out_dir;
    std::vector<std::string> edges;
};

int execute(const std::string& command, const Options& o) {
    std::vector<fs::path> extra_edges(o.edges.begin(), o.edges.end());
    const RunData run = load_run(o.run_dir, extra_edges);
    const fs::path out = o.out_dir.empty() ? fs::path(o.run_dir) / "viz" : fs::path(o.out_dir);
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec) throw InputError("cannot create output directory '" + out.string() + "': " + ec.message());

    const std::vector<fs::path> data_files = write_connectivity(run, out);
    std::cout << "ketaplast-viz: wrote " << data_files.size() << " ParaView files (network.pvd, .vtp) to "
              << out.string() << "\n";
    if (command == "export") return 0;

    std::vector<Picture> pictures;
    std::string note;
    const std::string problem = display_problem();
    if (problem.empty()) {
        pictures = render_plots(run, out);
        // The story (drug, block, rates) or a protocol's week opens the report when there is one, then the
        // network.
        const bool story_first = !pictures.empty() && (pictures.front().file == "story.png" ||
                                                       pictures.front().file == "week.png");
        pictures.insert(pictures.begin() + (story_first ? 1 : 0), render_network(run, out));
        std::cout << "ketaplast-viz: wrote " << pictures.size() << " PNG pictures to " << out.string()
                  << "\n";
    } else {
        note = "No pictures: " + problem +
               ". VTK renders only through X; run under a virtual X server, e.g. "
               "'xvfb-run -a ketaplast-viz " +
               command + " " + o.run_dir + "'.";
        std::cout << "ketaplast-viz: " << note << " The ParaView files were written.\n";
    }
    if (command == "report") {
        const fs::path report = write_report(run, pictures, data_files, out, note);
        std::cout << "ketaplast-viz: wrote " << report.string() << "\n";
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"ketaplast-viz: ParaView files, pictures and a report of a Ketaplast run directory"};
    app.require_subcommand(1);
    Options options;
    std::string chosen;
    for (const auto& [name, help] : std::vector<std::pair<std::string, std::string>>{
             {"export", "write neurons.vtp, synapses_<k>.vtp and network.pvd (no display needed)"},
             {"pictures", "export, and render the network and the plots as PNG (needs X; use xvfb-run -a)"},
             {"report", "pictures, and a self-contained report.html"}}) {
        CLI::App* sub = app.add_subcommand(name, help);
        sub->add_option("RUN_DIR", options.run_dir, "run directory written by ketaplast run")->required();
        sub->add_option("--out", options.out_dir, "output directory (default RUN_DIR/viz)");
        sub->add_option("--edges", options.edges,
                        "weight frames from these edges.h5-layout files, in order (default: snapshots.h5 if "
                        "present, else edges.h5)");
        sub->callback([&chosen, name = name] { chosen = name; });
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    try {
        return execute(chosen, options);
    } catch (const InputError& e) {
        std::cerr << "ketaplast-viz: error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "ketaplast-viz: failed: " << e.what() << "\n";
        return 1;
    }
}
