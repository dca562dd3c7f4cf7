// One run, end to end: output directory, network, engine, recorders, summary. Used by the CLI
// and by integration tests (so tests exercise exactly what `ketaplast run` does).
#pragma once

#include "sim/experiment.hpp"

#include <functional>
#include <string>

namespace ketaplast {

struct RunOptions {
    std::string output_dir; // required
    int threads = 0;        // 0: experiment's simulation.threads, else OpenMP default
    bool progress = false;  // progress bar/lines on stderr
};

struct RunResult {
    std::string output_dir;
    std::string status; // "completed" or "failed: ..."
};

// Throws InputError if the output directory cannot be created (before anything is written),
// RunError/NumericalError after writing what was recorded.
RunResult run_experiment(const Experiment& experiment, const RunOptions& options);

// Peak resident memory of this process so far (VmHWM), MB.
double peak_rss_MB();

} // namespace ketaplast
