// One run, end to end: output directory, network, engine, recorders, summary. Used by the CLI
// and by integration tests (so tests exercise exactly what `ketaplast run` does).
#pragma once

#include "sim/app/run_types.hpp"
#include "sim/config/experiment.hpp"

#include <string>

namespace ketaplast {

// Throws InputError if the output directory cannot be created (before anything is written),
// RunError/NumericalError after writing what was recorded.
RunResult run_experiment(const Experiment& experiment, const RunOptions& options);

// Continue the run in options.run_dir from its checkpoint.h5: spikes and every other output are those of
// a run that never stopped (bit-identical), for any thread count. InputError (nothing written) if the
// checkpoint is missing, damaged, of another format version or another network.
RunResult resume_run(const ResumeOptions& options);

// Peak resident memory of this process so far (VmHWM), MB.
double peak_rss_MB();

} // namespace ketaplast
