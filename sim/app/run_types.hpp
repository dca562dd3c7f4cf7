// What a run is asked for and what it reports: the options of `ketaplast run` / `resume` and their result.
// Apart from sim/app/run.hpp so that the run variants it dispatches to (sim/app/protocol.hpp) need not
// include it.
#pragma once

#include <string>

namespace ketaplast {

struct RunOptions {
    std::string output_dir; // required
    int threads = 0;        // 0: experiment's simulation.threads, else OpenMP default
    bool progress = false;  // progress bar/lines on stderr
    // Write RUN_DIR/checkpoint.h5 every this many ms (rounded up to whole exchange intervals); 0: the
    // experiment's [output] checkpoint_every_ms.
    double checkpoint_every_ms = 0;
    // SIGINT/SIGTERM finish the exchange interval, write a checkpoint, close the files and return
    // (RunResult::signal set). Handlers are installed for the duration of the call.
    bool handle_signals = false;
    // > 0: stop at this time (rounded up to an exchange boundary) with a checkpoint, as if paused; the
    // run continues with resume_run.
    double stop_at_ms = 0;
    // Runaway check (sweeps): > 0 stops the run when any population's mean rate over a window of
    // runaway_window_ms (rounded up to whole exchange intervals) exceeds this ceiling; the outputs so far
    // are written with status "runaway: ...". (Non-finite state always stops a run: NumericalError.)
    double max_rate_Hz = 0;
    double runaway_window_ms = 100;
};

struct ResumeOptions {
    std::string run_dir;            // a run directory holding checkpoint.h5
    int threads = 0;                // 0: the thread count of the checkpointed run
    double until_ms = 0;            // > 0: stop there (checkpoint, like a pause) or run on past the duration
    double checkpoint_every_ms = 0; // 0: as the checkpointed run
    bool progress = false;
    bool handle_signals = false;
};

struct RunResult {
    std::string output_dir;
    std::string status;    // "completed", "failed: ...", "runaway: ...", "interrupted" or "paused"
    int signal = 0;        // the signal that interrupted the run (checkpoint written), else 0
    bool paused = false;   // stopped at --until before the end (checkpoint written)
    double stopped_ms = 0; // where an interrupted or paused run can be resumed from
};

} // namespace ketaplast
