// ketaplast-viz: pictures of a run directory (docs/viz.md). A separate program so the simulator never
// links VTK; it reads only the run's files.
//
//   ketaplast-viz export   RUN_DIR [--out DIR]   .vtp/.pvd for ParaView
//   ketaplast-viz pictures RUN_DIR [--out DIR]   the same, the 3-D network.png and the 2-D pictures
//   ketaplast-viz report   RUN_DIR [--out DIR]   the same, and report.html
//
// VTK writes the ParaView files and renders the 3-D picture; the 2-D pictures and the report are drawn by
// viz/python/draw.py (matplotlib, Agg backend) under Debian's /usr/bin/python3, headless. Debian's VTK 9.1
// renders only through X (GLX): without an X server the 3-D picture is skipped with a message naming
// DISPLAY and xvfb-run, everything else is written and the exit code is 0.
#include "core/error.hpp"
#include "viz/connectivity.hpp"
#include "viz/display.hpp"
#include "viz/network_render.hpp"
#include "viz/run_data.hpp"

#include <CLI/CLI.hpp>

#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
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

extern "C" char** environ;

// Runs viz/python/draw.py (KETAPLAST_VIZ_PYTHON_DIR overrides where it is) with Debian's interpreter and
// returns its exit code: 0 done, 2 bad input, anything else a failure.
int run_draw(const std::vector<std::string>& args) {
    const char* dir = std::getenv("KETAPLAST_VIZ_PYTHON_DIR");
    const fs::path script = fs::path(dir && *dir ? dir : KETAPLAST_VIZ_PYTHON_DIR) / "draw.py";
    if (!fs::exists(script)) throw RunError("the drawing script " + script.string() + " is missing");
    std::vector<std::string> all{KETAPLAST_PYTHON, script.string()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : all)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::cout.flush();
    pid_t pid = 0;
    if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
        throw RunError(std::string("cannot start ") + KETAPLAST_PYTHON +
                       " (Debian package python3-matplotlib)");
    int status = 0;
    if (waitpid(pid, &status, 0) < 0) throw RunError("lost the drawing process");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

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

    std::vector<std::string> args{command, o.run_dir, out.string()};
    if (!o.edges.empty()) {
        args.push_back("--edges");
        args.insert(args.end(), o.edges.begin(), o.edges.end());
    }
    const std::string problem = display_problem();
    if (problem.empty()) {
        const Picture network = render_network(run, out);
        std::cout << "ketaplast-viz: wrote " << (out / network.file).string() << " (3-D)\n";
        args.insert(args.end(), {"--network-caption", network.caption});
    } else {
        fs::remove(out / "network.png", ec); // never show a picture of another run
        const std::string note = "No 3-D picture of the network: " + problem +
                                 ". Debian's VTK renders only through X; run under a virtual X server, e.g. "
                                 "'xvfb-run -a ketaplast-viz " +
                                 command + " " + o.run_dir +
                                 "', or open network.pvd in ParaView. The 2-D pictures and the ParaView "
                                 "files were written.";
        std::cout << "ketaplast-viz: " << note << "\n";
        args.insert(args.end(), {"--note", note});
    }
    return run_draw(args);
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"ketaplast-viz: ParaView files, pictures and a report of a Ketaplast run directory"};
    app.require_subcommand(1);
    Options options;
    std::string chosen;
    for (const auto& [name, help] : std::vector<std::pair<std::string, std::string>>{
             {"export", "write neurons.vtp, synapses_<k>.vtp and network.pvd (no display needed)"},
             {"pictures", "export, and the pictures as PNG (the 3-D network needs X: xvfb-run -a)"},
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
