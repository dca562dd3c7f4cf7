// Multi-time-scale runs (docs/science.md §9, "bridging by sampling"): a [protocol] alternates short spiking
// windows with slow-clock integration, so a week of drug, signalling and structural dynamics costs minutes.
//
//   for each probe time t_k (protocol time; 0 = drug time 0):
//     the engine simulates one window (window_ms) with the drug clock at t_k + (time into the window)
//     (PK advanced through the gap without a network: Engine::set_drug_clock_offset)
//     after burn_in_ms, the window's statistics are measured: the population's rate, the drug-unblocked
//     fraction of its NMDA pool (rest signal), the AMPA drive onto it (sum over AMPA projections of source
//     rate x summed weight); the first window is the baseline that normalises them
//     the slow layer (models/slow_layer.hpp) integrates from t_k to t_{k+1} with these inputs held
//     the factors are written back: the projections' weights scaled by the change of the strength factor
//     (sim/network/weight_scaling.hpp), and synapses switched on or off to follow the spine density
//   a last window at the end measures the final state.
// The network runs on continuously in engine time (the windows are concatenated: spikes.h5 and the rates
// in timeseries.h5 are in that time); drug samples in timeseries.h5 and slow.h5 are in protocol time.
#pragma once

#include "sim/app/run_types.hpp"
#include "sim/config/experiment.hpp"
#include "sim/network/network.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <functional>

namespace ketaplast {

class StateArchive;

// Checkpoints of a protocol run fall at probe starts (after the gap before the probe has been bridged,
// before its window): the state there is the engine's at an exchange boundary plus the slow layer, the
// written-back weights and synapses, the per-neuron elements and the rows measured so far. Times are
// protocol time (ms).
struct ProtocolSession {
    std::string dir;
    int threads = 1;
    bool progress = false;
    double checkpoint_every_ms = 0; // a checkpoint at the first probe after each multiple; 0: none
    double pause_at_ms = -1;        // stop with a checkpoint at the first probe at or after this; < 0: none
    const std::atomic<bool>* stop = nullptr;            // set by SIGINT/SIGTERM: checkpoint at the next probe
    const volatile std::sig_atomic_t* signal = nullptr; // which signal
    StateArchive* resume = nullptr; // the checkpoint to continue from (header already checked)
    // Writes the run's checkpoint header (format, version, config, network fingerprint, step, threads).
    std::function<void(StateArchive&, std::int64_t step)> write_header;
    std::chrono::steady_clock::time_point t_start;
    double build_s = 0;
};

// Runs exp.protocol on the built network into session.dir (prepared and emptied by run_experiment):
// spikes.h5, timeseries.h5, slow.h5, nodes.h5, config.toml, summary.json; or, when stopped or paused,
// checkpoint.h5 (RunResult::paused / signal; stopped_ms is protocol time).
RunResult run_protocol(const Experiment& exp, Network& net, const ProtocolSession& session);

} // namespace ketaplast
