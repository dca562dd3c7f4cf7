// The time loop.
//
// Schedule (one OpenMP team; each worker owns a contiguous block of neurons and the synapses onto
// them; see sim/network/synapse_store.hpp):
//
//   repeat, one exchange interval = min_delay steps at a time:
//     every worker, for each step of the interval, for each population it owns neurons of:
//         sample state reports -> add Poisson drive -> model update -> collect spikes -> clear slot
//     one barrier (spike lists are double-buffered by interval parity, so no second one is needed)
//     every worker: merge all workers' spikes of the interval in (step, gid) order, deliver them into
//                   its own neurons' ring buffers (weights scaled by presynaptic dynamics, updated in
//                   that order on the worker's replica: sim/network/presynaptic_state.hpp; plastic synapses
//                   are depressed as they transmit, and after each step's spikes the worker's own
//                   neurons that fired potentiate their plastic inputs: sim/network/plasticity.hpp); worker 0
//                   also records spikes and rates
//     [rarely, when report buffers are half full: barrier, one thread writes them, barrier]
//   MPI (net.ranks > 1): after the barrier one thread merges the rank's spikes and exchanges them with
//   the other ranks (sim/parallel/communicator.hpp: counts and stop flags, then MPI_Allgatherv of compact
//   records), then a second barrier; every worker then delivers all ranks' spikes in (step, gid) order,
//   so the sums into a target's ring slot are the same for any rank x thread decomposition.
//
// Nothing delivered in an interval is read within it: every delay is >= min_delay steps. Sums into a
// ring slot happen in the same order for any number of workers, so runs are bit-identical for any
// thread count.
#pragma once

#include "core/error.hpp"
#include "sim/config/experiment.hpp"
#include "sim/io/recorders.hpp"
#include "sim/network/network.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace ketaplast {

class StateArchive;

// A numerical blow-up: which population, neuron and time.
class NumericalError : public RunError {
  public:
    using RunError::RunError;
};

// Where the wall time of the time loop goes (per thread, averaged over threads; exchange is the
// serial part: merging spikes, recording, progress).
struct PhaseTimes {
    double update_s = 0, drive_s = 0, deliver_s = 0, wait_s = 0, exchange_s = 0;
    double communicate_s = 0; // MPI: inside the ranks' spike exchange (part of wait_s of the others)
};

struct EngineRecorders {
    SpikeRecorder* spikes = nullptr;
    StateReporter* reports = nullptr;
    RateRecorder* rates = nullptr;
};

class Engine {
  public:
    Engine(const Experiment& experiment, Network& network, int threads);

    // Advance to step `until` (exclusive). progress(step_done, until) is called from one thread
    // between intervals. Throws NumericalError after stopping at the first invalid state. Calling run
    // repeatedly with increasing `until` at exchange boundaries (multiples of min_delay_steps) gives the
    // same result as one call. With a stop flag set (SIGINT/SIGTERM), it returns at the end of the
    // current exchange interval with every spike of it delivered; step() says where.
    void run(std::int64_t until, const EngineRecorders& recorders,
             const std::function<void(std::int64_t, std::int64_t)>& progress = {});

    std::int64_t step() const { return step_; }
    int threads() const { return threads_; }
    std::uint64_t spikes_exchanged() const { return spikes_exchanged_; } // spikes of all populations
    std::uint64_t synaptic_events() const { return synaptic_events_; }   // spike x synapse deliveries
    const PhaseTimes& phase_times() const { return phase_; }
    const std::vector<DrugSample>& drug_samples() const { return drug_samples_; }

    // Protocols with spiking windows (sim/app/protocol.cpp): the drug clock reads step * dt + offset_ms, so a
    // window simulated at engine step s stands for protocol time offset_ms + s * dt (PK advances through the
    // gaps). The next exchange interval ticks the drug clock whatever its step.
    void set_drug_clock_offset(double offset_ms) {
        drug_offset_ms_ = offset_ms;
        forced_drug_tick_ = step_;
    }

    // Tick the drug clock now (between run calls): a sample of the drug and NMDA pools at the current
    // step, e.g. at the end of a protocol window. No-op without drugs.
    void tick_drugs() {
        if (drug_clock_steps_) update_drugs(step_);
    }

    // Protocol gaps (sim/app/protocol.cpp): while averaging is on, every kinetic NMDA pool sums its block
    // rates per neuron (reset_block_rate_sums starts a new sum, e.g. at a window's start); bridge_drug_block
    // carries the drug block from the drug clock's present time to drug time to_ms without a network, under
    // the rates averaged since the last reset and the PK's concentrations (ExpReceptors::bridge_block).
    void set_block_rate_averaging(bool on);
    void reset_block_rate_sums();
    void bridge_drug_block(double to_ms);

    // Polled by one thread once per exchange interval (a signal handler may set it).
    void set_stop_flag(const std::atomic<bool>* flag) { stop_flag_ = flag; }

    // Save or restore (a.loading()) the complete dynamic state of the engine and the network at an
    // exchange boundary: neuron state (every state_names() and counter_names() array), ring buffers,
    // drug slow clock and PK state, counters. Engine-side state added later (presynaptic
    // short-term-plasticity or saturation arrays, plastic weights and traces) needs one a.array(...) line
    // here.
    void checkpoint_state(StateArchive& a);
    // MPI: copy every rank's own neurons' state and ring buffers to the root (collective), before the
    // root saves a checkpoint. (Every rank loads a checkpoint whole.)
    void gather_state_to_root();

  private:
    double current_at(const PopulationSpec& spec, std::int64_t step) const;
    void add_drive(const Population& pop, const PoissonDriveSpec& drive, std::int64_t step,
                   std::uint32_t begin, std::uint32_t end, const std::vector<float*>& inputs) const;
    void distributed_nmda_readout(DrugSample& sample);
    void distributed_receptor_readout(DrugSample& sample);
    std::vector<double> sum_population_terms(const Population& pop, std::size_t fields,
                                             const std::vector<double>& terms, std::size_t groups);
    std::uint64_t deliver(std::uint32_t worker, const std::vector<SpikeRecord>& spikes);
    void run_loop(std::int64_t until, const EngineRecorders& recorders,
                  const std::function<void(std::int64_t, std::int64_t)>& progress);
    // Runaway plasticity check after the first simulated second (NumericalError).
    void check_plasticity() const;
    std::vector<PlasticityState::Saturation> initial_saturation_;
    std::int64_t plasticity_check_step_ = 0;

    const Experiment& exp_;
    Network& net_;
    int threads_;
    std::int64_t step_ = 0;
    std::uint64_t spikes_exchanged_ = 0;
    std::uint64_t synaptic_events_ = 0;
    PhaseTimes phase_;
    std::vector<std::vector<double>> drive_cdf_; // per population: Poisson drive's cumulative table
    // The drug slow clock: PK models of the drugs with a dose schedule, advanced to the tick times.
    bool drug_due(std::int64_t interval_start) const;
    void update_drugs(std::int64_t step);
    void advance_pk(double t_min);
    double species_free_uM(std::size_t species, double t_ms, double* plasma_ng_per_mL,
                           double* effect_ng_per_mL) const;
    std::int64_t block_sum_start_step_ = 0;
    std::vector<std::optional<PkModel>> pk_;
    // Ambient glutamate (models/glutamate.hpp): one replica of every pool per worker, each advanced from
    // the same merged spikes after every interval, so no barrier is needed and every worker sets the
    // extrasynaptic activation of its own neurons. Worker 0's replica is the one recorded.
    void setup_glutamate();
    void advance_glutamate(std::uint32_t worker, const std::vector<SpikeRecord>& spikes, double interval_ms);
    std::vector<std::vector<GlutamatePool>> glutamate_;   // [worker][pool]
    std::vector<std::vector<double>> vesicles_per_spike_; // [pool][source population]
    std::vector<double> region_neurons_;                  // [pool]
    std::vector<std::uint32_t> source_pool_mask_;         // [population]: bit p = source of pool p
    std::vector<std::uint32_t> spike_counts_scratch_;
    std::int64_t drug_clock_steps_ = 0; // 0: no drug needs a clock
    double pk_time_min_ = 0.0;
    double drug_offset_ms_ = 0.0;        // protocol windows: drug time = step * dt + offset
    std::int64_t forced_drug_tick_ = -1; // an interval start that ticks the drug clock (window start)
    std::vector<DrugSample> drug_samples_;
    const std::atomic<bool>* stop_flag_ = nullptr;
};

} // namespace ketaplast
