// `ketaplast sweep`: a grid (or a list) of parameter points over one experiment, each run into its own
// directory, and a combined table of their summaries. `--index N` runs one point (SLURM array jobs:
// `--index $SLURM_ARRAY_TASK_ID`), `--collect` builds the table from the points' summaries afterwards.
#pragma once

#include "sim/config/config_loader.hpp"

#include <string>
#include <vector>

namespace ketaplast {

struct SweepParameter {
    std::string key;
    std::vector<std::string> values; // TOML value texts
};

// "key=v1,v2,..." (values may not contain commas; use a list file for such values).
SweepParameter parse_sweep_parameter(const std::string& text);
// A CSV file: a header of keys, then one point per line.
std::vector<std::vector<Override>> read_sweep_list(const std::string& path);
// The cartesian product, the last parameter varying fastest.
std::vector<std::vector<Override>> expand_grid(const std::vector<SweepParameter>& parameters);

struct SweepOptions {
    std::string config, out_dir;
    std::vector<std::vector<Override>> points;
    std::vector<Override> common; // --set applied to every point
    long index = -1;              // -1: every point
    int threads = 0;
    bool collect_only = false;
    // Runaway checks: a point whose population rate exceeds max_rate_Hz over a window of
    // runaway_window_ms is stopped early and marked "runaway" in the table (0: no ceiling). Points
    // with non-finite state stop at once and are marked "failed".
    double max_rate_Hz = 0;
    double runaway_window_ms = 100;
};

// Validates every point first (exit 2 on bad input, before any output), runs, and writes
// <out>/sweep.csv and the same table as <out>/sweep.h5. Returns the number of failed or runaway points.
// MPI: every point runs on all ranks; rank 0 prints and writes the table.
int run_sweep(const SweepOptions& options);

} // namespace ketaplast
