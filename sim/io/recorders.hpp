// What a run records, outside the models (DESIGN.md: recording is not the models' business).
//
// - SpikeRecorder: every spike, per population, to spikes.h5 in SONATA layout
//   (/spikes/<population>/{timestamps [ms], node_ids}, `sorting` = by_time).
// - StateReporter: chosen state variables of chosen neurons every k steps, one SONATA report per variable
//   (report_<variable>.h5: /report/<population>/data with its unit, mapping/{node_ids, index_pointers,
//   element_ids, time}; one element per neuron).
// - RateRecorder: population rates in bins, to timeseries.h5.
// Files are written under "<name>.tmp" and renamed when complete, so no reader sees a half file.
#pragma once

#include "sim/config/experiment.hpp"
#include "sim/io/hdf5_file.hpp"
#include "sim/network/network.hpp"
#include "sim/parallel/spike_record.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace ketaplast {

class StateArchive;

class SpikeRecorder {
  public:
    // resume: the file of an interrupted run is reopened by reopen() after checkpoint() has loaded.
    SpikeRecorder(const Network& net, const std::string& dir, double dt_ms, bool enabled,
                  bool resume = false);
    void add(const std::vector<SpikeRecord>& spikes); // in time order
    void finish();                                    // flush, close, rename
    std::uint64_t count(std::size_t population) const { return counts_[population]; }
    // Spikes of each neuron so far (by gid; protocols' per-neuron rates). Not checkpointed (restart at 0
    // on resume): protocols use only differences within one window, and checkpoint at probe starts.
    const std::vector<std::uint32_t>& neuron_counts() const { return neuron_counts_; }

    // Checkpoint: saving writes the buffered spikes and flushes the file, then records how many rows
    // each population's datasets hold; loading reads those numbers. reopen() then opens the .tmp file
    // of the interrupted run and cuts its datasets back to them.
    void checkpoint(StateArchive& a);
    void reopen();
    void close_unfinished(); // flush and close the .tmp file without renaming (an interrupted run)

  private:
    void flush();
    std::vector<std::uint64_t> rows_;
    const Network& net_;
    std::string dir_;
    double dt_ms_;
    bool enabled_;
    h5::File file_;
    struct PerPopulation {
        h5::Object group;
        h5::AppendableDataset timestamps, node_ids;
        std::vector<double> t_buffer;
        std::vector<std::uint64_t> id_buffer;
    };
    std::vector<PerPopulation> pops_;
    std::vector<std::uint64_t> counts_;
    std::vector<std::uint32_t> neuron_counts_;
    std::size_t buffered_ = 0;
};

class StateReporter {
  public:
    StateReporter(const Network& net, const RecordingSpec& spec, const std::string& dir, double dt_ms,
                  std::uint32_t steps_per_exchange, bool resume = false);
    bool empty() const { return reports_.empty(); }
    // Called by each worker for its own neurons [gid_begin, gid_end) before the update of `step`.
    void sample(std::int64_t step, std::uint32_t gid_begin, std::uint32_t gid_end);
    // Whether the buffers are half full after steps [0, next_step): the same answer on every thread.
    bool flush_due(std::int64_t next_step) const;
    // Called by one thread while the others wait: writes the buffered rows.
    void flush_if_needed(std::int64_t next_step);
    void finish(std::int64_t end_step);

    // As SpikeRecorder: saving writes every buffered row up to next_step and flushes; the rows written
    // so far are the reporter's position.
    void checkpoint(StateArchive& a, std::int64_t next_step);
    void reopen();
    void close_unfinished(std::int64_t next_step);
    // MPI ranks other than the root, where the root saves checkpoint(): the same collective writes.
    void write_pending(std::int64_t next_step);

  private:
    struct Report {
        const StateReportSpec* spec;
        std::uint32_t population, first_gid;
        std::uint32_t interval_steps;
        std::vector<const float*> variables;
        std::vector<std::int32_t> column_of; // population-local id -> node column, or -1
        std::size_t width;                   // nodes x variables
        std::vector<float> buffer;           // rows x width
        std::size_t capacity_rows;
        std::int64_t first_buffered_row = 0; // row index (step / interval) of buffer row 0
        std::int64_t rows_sampled = 0;
        std::string variable; // one variable per report (SONATA: one report file per recorded variable)
        std::size_t file;     // index into files_
        h5::Object group;
        h5::AppendableDataset data;
    };
    void write_rows(Report& r, std::int64_t rows);
    static std::int64_t pending_rows(const Report& r, std::int64_t next_step);
    static bool half_full(const Report& r, std::int64_t next_step);
    std::vector<Report> reports_;
    const Network& net_;
    std::string dir_;
    double dt_ms_;
    bool writer_; // the root rank (MPI) or the only process: the one that writes the report files
    std::vector<std::string> file_names_; // report_<variable>.h5, one per recorded variable
    std::vector<h5::File> files_;
};

// The report file of a recorded state variable: report_<variable>.h5 (e.g. report_V_m_mV.h5).
std::string report_file_name(const std::string& variable);

// Drug concentrations at a slow-clock tick, per species of the experiment (Experiment::species: each
// drug, and the metabolite of a dosed drug).
struct DrugSample {
    double t_ms = 0;
    std::vector<double> plasma_ng_per_mL, effect_site_ng_per_mL, free_uM;
    // Per NMDA pool (population, receptor), in a fixed order: population means at the tick.
    struct Pool {
        std::string population, receptor;
        double conducting = 0, drug_blocked = 0, trapped = 0, open = 0, current_pA = 0;
    };
    std::vector<Pool> pools;
    // Per [[glutamate]] pool: extracellular level (uM), release (vesicles per ms per neuron of the
    // region, over the last interval) and the dialysate proxy (release low-passed, same unit).
    struct Glutamate {
        double level_uM = 0, release = 0, dialysate = 0;
    };
    std::vector<Glutamate> glutamate;
    // Per neuron population and receptor: mean conductance (or current variable), mean current and, for
    // kinetic (DMS) receptors, the mean open fraction (NaN for other shapes).
    struct Receptor {
        std::string population, receptor;
        double g_mean = 0, current_mean_pA = 0, open_fraction = 0;
    };
    std::vector<Receptor> receptors;
};

class RateRecorder {
  public:
    RateRecorder(const Network& net, double bin_ms, double dt_ms, double drug_time_scale = 1.0); // bins grow
    // The spike counts per bin of population p so far (analysis: gamma power, ISN probe).
    const std::vector<std::uint32_t>& counts(std::size_t p) const { return counts_[p]; }
    // Population p's mean rate per bin (Hz) over the first steps_done steps.
    std::vector<double> rate_Hz(std::size_t p, std::int64_t steps_done) const;
    // With a window > 0, write() adds /gamma/<population>/{time_ms, power_30_80_Hz2, relative_power}.
    void set_gamma_window(double window_ms) { gamma_window_ms_ = window_ms; }
    std::int64_t steps_per_bin() const { return steps_per_bin_; }
    void add(const std::vector<SpikeRecord>& spikes);
    void checkpoint(StateArchive& a); // the bin counts so far
    // Writes timeseries.h5: /time_ms (bin starts) and /population_rate_Hz/<population>; with drugs also,
    // per species (a drug, or the metabolite of a dosed drug), /drugs/<drug>_<agent>/{time_ms,
    // plasma_ng_per_mL, plasma_uM, effect_site_ng_per_mL, effect_site_uM, free_uM} and, per NMDA pool,
    // /nmda/<population>/<receptor>/{time_ms, conducting_fraction, drug_blocked_fraction, trapped_fraction,
    // open_fraction, current_pA} at
    // the drug clock's ticks (docs/output.md).
    void write(const std::string& dir, std::int64_t steps_done, const std::vector<DrugSpecies>& species = {},
               const std::vector<DrugSample>& drug_samples = {},
               const std::vector<std::string>& glutamate_names = {}) const;
    // /glutamate/<pool>/{time_ms, level_uM, release_per_ms_per_neuron, dialysate_release_per_ms_per_neuron}
    // and /receptors/<population>/<receptor>/{time_ms, g_mean, current_mean_pA[, open_fraction for kinetic
    // receptors]} at the slow clock's ticks.
    void write_slow_readouts(h5::File& file, const std::vector<std::string>& glutamate_names,
                             const std::vector<DrugSample>& samples) const;

  private:
    const Network& net_;
    double bin_ms_, dt_ms_;
    std::int64_t steps_per_bin_;
    double drug_time_scale_ = 1.0;
    double gamma_window_ms_ = 0.0;
    std::vector<std::vector<std::uint32_t>> counts_; // per population, per bin
};

// nodes.h5 in SONATA node layout: /nodes/<population>/{node_type_id, node_group_id, node_group_index} and
// /nodes/<population>/0/{x, y, z} (um, the neurons' positions), model_type and model attributes. The
// network's structure for pictures and analysis (viz/ reads only files).
void write_nodes(const Network& net, const std::string& dir);

// edges.h5 in SONATA edge layout, one edge population per projection (named after it):
// source_node_id / target_node_id (population-local, with node_population attributes), edge_type_id,
// edge_group_id, edge_group_index, 0/{syn_weight (nS or pA), delay (ms)}, and the indices
// indices/{target_to_source, source_to_target}/{node_id_to_ranges, range_to_edge_id} as libsonata reads
// them. Edges are ordered by target.
void write_edges(const Experiment& exp, const Network& net, const std::string& dir);

// Every synapse of each projection in edges.h5's order (by target; for one target by source, then as
// stored), which does not depend on the thread or rank partition. MPI: collective, the lists are on the
// root (empty elsewhere); write_edges too (the root writes).
struct EdgeRecord {
    std::uint64_t source, target; // population-local
    float weight;                 // nS or pA
    float delay_ms;
};
std::vector<std::vector<EdgeRecord>> collect_edges(const Experiment& exp, const Network& net);

// Weight snapshots ([recording] snapshot_times_ms): the weights of every projection at chosen times, to
// snapshots.h5: /time_ms (when each was taken: the first exchange boundary at or after the requested
// time), /requested_time_ms, and /edges/<projection>/0/syn_weight, snapshots x edges (float32, nS or pA),
// whose column k is edge k of edges.h5's population <projection> (edges.h5 is written with it).
class WeightSnapshots {
  public:
    WeightSnapshots(const Experiment& exp, const Network& net, const std::string& dir,
                    std::int64_t total_steps, bool resume = false);
    bool empty() const { return steps_.empty(); }
    // Step of the next snapshot not taken yet, or INT64_MAX.
    std::int64_t next_step() const;
    // Take every snapshot due at `step` (call at exchange boundaries, before the step's update).
    void take_due(std::int64_t step);
    void checkpoint(StateArchive& a);
    void reopen();
    void close_unfinished();
    // An extra one-value-per-snapshot dataset (e.g. the protocol time of each), written by the root.
    void add_column(const std::string& name, const std::vector<double>& values, const std::string& unit);
    void finish();

  private:
    const Experiment& exp_;
    const Network& net_;
    std::string dir_;
    std::vector<std::int64_t> steps_; // per requested time
    std::size_t taken_ = 0;
    bool writer_ = true; // the root rank (MPI) or the only process
    h5::File file_;
    h5::AppendableDataset time_, requested_;
    std::vector<h5::AppendableDataset> weights_; // per projection
    // Calcium-rule projections: the efficacy rho of every synapse, (w - w_min) / (w_max - w_min) of the
    // snapshot's weight (models/stdp.hpp: the rule stores w = w_min + rho (w_max - w_min)); empty otherwise.
    std::vector<h5::AppendableDataset> rho_;
    bool has_rho(std::size_t projection) const;
};

// "<dir>/<name>.tmp" -> "<dir>/<name>"
void commit_file(const std::string& dir, const std::string& name);

} // namespace ketaplast
