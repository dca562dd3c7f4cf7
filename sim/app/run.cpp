#include "sim/app/run.hpp"

#include "sim/analysis/concentration_response.hpp"
#include "sim/analysis/network_analysis.hpp"

#include "core/error.hpp"
#include "sim/app/progress.hpp"
#include "sim/app/protocol.hpp"
#include "sim/app/version.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/engine/engine.hpp"
#include "sim/io/checkpoint.hpp"
#include "sim/io/recorders.hpp"
#include "sim/io/sonata_circuit.hpp"
#include "sim/network/network.hpp"
#include "sim/parallel/communicator.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <omp.h>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace ketaplast {

namespace {

// summary.json: the ISN probe, gamma power per population (first and last windows, and the largest), the
// AMPA/NMDA charge ratio per population (mean receptor currents over the slow-clock samples), and each
// glutamate pool's level and release (first sample, peak, last).
void network_readouts(const Experiment& exp, const Network& net, const RateRecorder& rates,
                      const Engine& engine, std::int64_t steps_done, nlohmann::json& summary) {
    const double bin_ms = double(rates.steps_per_bin()) * exp.simulation.dt_ms;
    if (const auto& probe = exp.recording.isn_probe) {
        const IsnResult r = isn_probe(rates.rate_Hz(probe->population_index, steps_done), bin_ms,
                                      probe->start_ms, probe->duration_ms, probe->current_pA);
        summary["isn_probe"] = {{"population", probe->population},
                                {"current_pA", probe->current_pA},
                                {"rate_before_Hz", r.rate_before_Hz},
                                {"rate_during_Hz", r.rate_during_Hz},
                                {"inhibition_stabilized", r.paradoxical}};
    }
    if (exp.recording.gamma_window_ms > 0)
        for (const auto& pop : net.populations) {
            const auto w =
                gamma_power(rates.rate_Hz(pop.index, steps_done), bin_ms, exp.recording.gamma_window_ms);
            if (w.empty()) continue;
            nlohmann::json g;
            g["window_ms"] = exp.recording.gamma_window_ms;
            g["first_power_Hz2"] = w.front().power_Hz2;
            g["last_power_Hz2"] = w.back().power_Hz2;
            g["first_relative"] = w.front().relative;
            g["last_relative"] = w.back().relative;
            summary["gamma"][pop.spec->name] = g;
        }
    const auto& samples = engine.drug_samples();
    if (samples.empty()) return;
    // AMPA/NMDA charge: receptors named AMPA* and NMDA* (synaptic; extrasynaptic pools are NMDA too).
    std::map<std::string, std::pair<double, double>> charge; // population -> (AMPA, NMDA) summed current
    for (const auto& s : samples)
        for (const auto& r : s.receptors) {
            auto& c = charge[r.population];
            if (r.receptor.rfind("AMPA", 0) == 0) c.first += r.current_mean_pA;
            if (r.receptor.rfind("NMDA", 0) == 0) c.second += r.current_mean_pA;
        }
    for (const auto& [pop, c] : charge)
        if (c.first != 0 && c.second != 0) summary["ampa_nmda_charge_ratio"][pop] = c.first / c.second;
    for (std::size_t p = 0; p < exp.glutamate_pools.size() && p < samples.front().glutamate.size(); ++p) {
        double peak = 0, t_peak = 0;
        for (const auto& s : samples)
            if (s.glutamate[p].level_uM > peak) peak = s.glutamate[p].level_uM, t_peak = s.t_ms;
        summary["glutamate"][exp.glutamate_pools[p].name] = {
            {"first_level_uM", samples.front().glutamate[p].level_uM},
            {"peak_level_uM", peak},
            {"time_of_peak_ms", t_peak},
            {"last_level_uM", samples.back().glutamate[p].level_uM},
            {"first_dialysate", samples.front().glutamate[p].dialysate},
            {"last_dialysate", samples.back().glutamate[p].dialysate}};
    }
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double meminfo_available_MB() {
    std::ifstream in("/proc/meminfo");
    std::string key;
    double kb = 0;
    while (in >> key >> kb) {
        if (key == "MemAvailable:") return kb / 1024.0;
        in.ignore(256, '\n');
    }
    return 0;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

void write_text_atomically(const std::string& dir, const std::string& name, const std::string& text) {
    const std::string tmp = dir + "/" + name + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) throw RunError("cannot write " + tmp);
    }
    commit_file(dir, name);
}

void prepare_output_dir(const std::string& dir) {
    if (dir.empty()) throw InputError("no output directory: give --out DIR or [output] dir in the config");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || !std::filesystem::is_directory(dir))
        throw InputError("output directory '" + dir + "': cannot create it (" +
                         (ec ? ec.message() : std::string("a file of that name exists")) + ")");
    // Probe that files can be created there, before any work.
    const std::string probe = dir + "/.ketaplast_write_probe";
    {
        std::ofstream out(probe);
        if (!out) throw InputError("output directory '" + dir + "': not writable");
    }
    std::filesystem::remove(probe, ec);
}

// Outputs of an earlier run in the same directory would sit beside this run's files and mislead:
// remove exactly the files Ketaplast writes (nothing else in the directory is touched).
void remove_previous_outputs(const std::string& dir) {
    std::error_code ec;
    for (const char* name :
         {"spikes.h5", "timeseries.h5", "nodes.h5", "edges.h5", "snapshots.h5", "summary.json", "config.toml",
          "checkpoint.h5", "slow.h5", "node_types.csv", "edge_types.csv", "circuit_config.json",
          "simulation_config.json", "node_sets.json"}) {
        std::filesystem::remove(dir + "/" + name, ec);
        std::filesystem::remove(dir + "/" + std::string(name) + ".tmp", ec);
    }
    // The state reports: report_<variable>.h5, one per recorded variable.
    std::vector<std::filesystem::path> reports;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("report_", 0) == 0 &&
            (name.size() > 3 && (name.substr(name.size() - 3) == ".h5" ||
                                 (name.size() > 7 && name.substr(name.size() - 7) == ".h5.tmp"))))
            reports.push_back(entry.path());
    }
    for (const auto& path : reports)
        std::filesystem::remove(path, ec);
}

void remove_temporaries(const std::string& dir) {
    std::error_code ec;
    for (const char* name : {"spikes.h5.tmp", "timeseries.h5.tmp", "nodes.h5.tmp", "edges.h5.tmp",
                             "snapshots.h5.tmp", "summary.json.tmp", "config.toml.tmp", "slow.h5.tmp"})
        std::filesystem::remove(dir + "/" + name, ec);
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("report_", 0) == 0 && name.size() > 7 && name.substr(name.size() - 7) == ".h5.tmp")
            std::filesystem::remove(entry.path(), ec);
    }
}

} // namespace

double peak_rss_MB() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

namespace {

// SIGINT/SIGTERM: the handler only sets flags (async-signal-safe); the engine polls `stop_requested`
// once per exchange interval. SA_RESETHAND: a second signal ends the process at once.
std::atomic<bool> stop_requested{false};
volatile sig_atomic_t stop_signal = 0;

extern "C" void on_stop_signal(int sig) {
    stop_signal = sig;
    stop_requested.store(true);
}

class SignalGuard {
  public:
    explicit SignalGuard(bool install) : installed_(install) {
        stop_requested.store(false);
        stop_signal = 0;
        if (!installed_) return;
        struct sigaction sa {};
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~SignalGuard() {
        if (!installed_) return;
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;

  private:
    bool installed_;
    struct sigaction old_int_ {
    }, old_term_{};
};

// The connectivity's identity, independent of the thread partition: an order-independent sum of a hash
// of every synapse (source, target, delay, receptor, projection), plus the populations. Weights are left
// out: they become state once they are plastic (checkpointed as such).
std::uint64_t network_fingerprint(const Network& net) {
    auto mix = [](std::uint64_t x) { // splitmix64 finaliser
        x ^= x >> 30;
        x *= 0xbf58476d1ce4e5b9ull;
        x ^= x >> 27;
        x *= 0x94d049bb133111ebull;
        return x ^ (x >> 31);
    };
    std::uint64_t h =
        mix(net.total_neurons) ^ mix(net.min_delay_steps + (std::uint64_t(net.ring_length) << 32));
    for (const auto& pop : net.populations) {
        h = fnv1a64(pop.spec->name.data(), pop.spec->name.size(), h);
        h = fnv1a64(pop.spec->model.data(), pop.spec->model.size(), h);
        h = mix(h ^ pop.size);
    }
    std::uint64_t sum = 0;
    for (const auto& worker : net.shards)
        for (const auto& shard : worker)
            for (std::uint32_t s = 0; s < net.total_neurons; ++s)
                shard.for_each_synapse(
                    s, net.weight_scales,
                    [&](std::uint16_t t, float, std::uint16_t delay, std::uint8_t receptor,
                        std::uint16_t projection) {
                        const std::uint64_t target =
                            net.populations[shard.population].first_gid + shard.local_begin + t;
                        sum += mix((std::uint64_t(s) << 32 | target) ^
                                   mix(std::uint64_t(delay) | std::uint64_t(receptor) << 16 |
                                       std::uint64_t(projection) << 24));
                    });
    // MPI: each rank hashed its own synapses; the sum (mod 2^64) over ranks is order-independent.
    if (net.comm) sum = net.comm->sum(sum);
    return mix(h ^ sum);
}

// Runs `check` on every rank; if it throws InputError on any, every rank throws the first message (in
// rank order), so a check that can differ between ranks (memory, file system) never leaves ranks waiting.
template <typename F>
void on_every_rank(Communicator& comm, F&& check) {
    std::string message;
    try {
        check();
    } catch (const InputError& e) {
        message = e.what();
    }
    if (comm.distributed()) message = comm.first_message(message);
    if (!message.empty()) throw InputError(message);
}

std::uint64_t text_hash(const std::string& text) {
    return fnv1a64(text.data(), text.size());
}

// The header of every checkpoint (resume_run checks it before anything else): format and program version,
// the experiment (resolved TOML, path, hash), the network's fingerprint, the step and the run's shape.
void write_checkpoint_header(StateArchive& a, const Experiment& exp, std::uint64_t fingerprint,
                             std::int64_t step, int threads, int ranks, std::int64_t every_steps,
                             std::int64_t total_steps) {
    std::int64_t version = kCheckpointFormatVersion, n_threads = threads, n_ranks = ranks;
    std::string ketaplast = KETAPLAST_VERSION, toml = exp.resolved_toml, path = exp.config_path;
    std::uint64_t config_hash = text_hash(exp.resolved_toml);
    a.value("header/format_version", version);
    a.text("header/ketaplast_version", ketaplast);
    a.text("header/config_toml", toml);
    a.text("header/config_path", path);
    a.value("header/config_hash", config_hash);
    a.value("header/network_fingerprint", fingerprint);
    a.value("header/step", step);
    a.value("header/threads", n_threads);
    a.value("header/ranks", n_ranks);
    a.value("header/checkpoint_every_steps", every_steps);
    a.value("header/total_steps", total_steps);
}

// Checkpoint steps: whole exchange intervals, so a checkpoint always falls on an exchange boundary.
std::int64_t checkpoint_steps(double every_ms, double dt_ms, std::int64_t D) {
    if (every_ms <= 0) return 0;
    const std::int64_t steps = std::max<std::int64_t>(1, std::llround(every_ms / dt_ms));
    return (steps + D - 1) / D * D;
}

// What one session of a run (fresh or resumed) needs besides the experiment and network.
struct Session {
    std::string dir;
    int threads = 1;
    bool progress = false;
    bool handle_signals = false;
    std::int64_t every_steps = 0;   // checkpoint period, a multiple of min_delay_steps; 0: none
    std::int64_t total_steps = 0;   // end of the run
    std::int64_t pause_step = -1;   // stop here with a checkpoint (resume --until), or -1
    double max_rate_Hz = 0;         // runaway ceiling (RunOptions), 0: none
    std::int64_t runaway_steps = 0; // its window, a multiple of min_delay_steps
    StateArchive* resume = nullptr;
    std::chrono::steady_clock::time_point t_start;
    double build_s = 0;
};

RunResult execute(const Experiment& exp, Network& net, const Session& session) {
    Communicator& comm = *net.comm;
    const bool root = comm.root(); // writes every output file (ranks' data are gathered to it)
    const std::string& dir = session.dir;
    const int threads = session.threads;
    const double dt = exp.simulation.dt_ms;
    const std::int64_t total_steps = session.total_steps;
    const double build_s = session.build_s;
    const auto t_start = session.t_start;
    SignalGuard signals(session.handle_signals);
    std::string status = "completed";
    RunResult result{dir, status};
    double simulate_s = 0, write_s = 0;
    std::int64_t steps_done = 0;
    std::optional<NumericalError> numerical;
    const bool resuming = session.resume != nullptr;
    try {
        SpikeRecorder spikes(net, dir, dt, root && exp.recording.spikes, resuming);
        StateReporter reports(net, exp.recording, dir, dt, net.min_delay_steps, resuming);
        RateRecorder rates(net, exp.recording.rate_bin_ms, dt, exp.simulation.drug_time_scale);
        rates.set_gamma_window(exp.recording.gamma_window_ms);
        WeightSnapshots snapshots(exp, net, dir, total_steps, resuming);
        Engine engine(exp, net, threads);
        engine.set_stop_flag(&stop_requested);
        std::uint64_t fingerprint = 0;
        if (resuming) {
            // Every rank loads the whole checkpoint (the state of all neurons; each then updates its own),
            // whatever the rank and thread counts that wrote it.
            StateArchive& a = *session.resume;
            a.value("header/network_fingerprint", fingerprint);
            engine.checkpoint_state(a);
            if (root) spikes.checkpoint(a);
            reports.checkpoint(a, engine.step());
            if (root) rates.checkpoint(a);
            snapshots.checkpoint(a);
            a.close();
            // Only now, with everything read and checked, are the interrupted run's files touched.
            spikes.reopen();
            reports.reopen();
            snapshots.reopen();
        }
        auto write_checkpoint = [&] {
            if (fingerprint == 0) fingerprint = network_fingerprint(net);
            // MPI: the root gathers every rank's neurons and report columns and writes the one file.
            engine.gather_state_to_root();
            if (!root) {
                reports.write_pending(engine.step());
                comm.barrier();
                return;
            }
            write_checkpoint_file(dir, [&](StateArchive& a) {
                write_checkpoint_header(a, exp, fingerprint, engine.step(), threads, comm.size(),
                                        session.every_steps, total_steps);
                engine.checkpoint_state(a);
                if (checkpoint_fault_due()) ::raise(SIGKILL); // test hook: killed half-way through
                spikes.checkpoint(a);
                reports.checkpoint(a, engine.step());
                rates.checkpoint(a);
                snapshots.checkpoint(a);
            });
            comm.barrier();
        };

        ProgressReporter bar(dt, engine.step(), total_steps);
        const auto t_sim = std::chrono::steady_clock::now();
        const std::int64_t end_step =
            session.pause_step >= 0 ? std::min(session.pause_step, total_steps) : total_steps;
        bool stopped_early = false;
        // Runaway check: spike counts per population at the start of the current window (the root's
        // recorder counts every spike; its verdict is shared so that every rank stops together).
        std::vector<std::uint64_t> window_counts(net.populations.size(), 0);
        for (std::size_t p = 0; p < window_counts.size(); ++p)
            window_counts[p] = spikes.count(p);
        std::int64_t window_start = engine.step();
        auto runaway = [&]() -> std::string {
            std::string verdict;
            const double window_s = double(engine.step() - window_start) * dt * 1e-3;
            if (root && window_s > 0)
                for (const auto& pop : net.populations) {
                    const double rate =
                        double(spikes.count(pop.index) - window_counts[pop.index]) / (pop.size * window_s);
                    if (verdict.empty() && rate > session.max_rate_Hz)
                        verdict =
                            fmt::format("population '{}' fired at {:.4g} Hz over {:g}-{:g} ms, above the "
                                        "ceiling of {:g} Hz",
                                        pop.spec->name, rate, double(window_start) * dt,
                                        double(engine.step()) * dt, session.max_rate_Hz);
                }
            for (std::size_t p = 0; p < window_counts.size(); ++p)
                window_counts[p] = spikes.count(p);
            window_start = engine.step();
            return comm.distributed() ? comm.first_message(verdict) : verdict;
        };
        try {
            while (true) {
                // Pieces of the time loop end at checkpoints, snapshots and the end; the engine runs
                // them as one (Engine::run).
                snapshots.take_due(engine.step());
                if (engine.step() >= end_step) break;
                std::int64_t next = std::min(end_step, snapshots.next_step());
                if (session.every_steps > 0)
                    next = std::min(next, (engine.step() / session.every_steps + 1) * session.every_steps);
                if (session.max_rate_Hz > 0)
                    next =
                        std::min(next, (engine.step() / session.runaway_steps + 1) * session.runaway_steps);
                engine.run(
                    next,
                    {root ? &spikes : nullptr, reports.empty() ? nullptr : &reports, root ? &rates : nullptr},
                    session.progress ? std::function<void(std::int64_t, std::int64_t)>(
                                           [&](std::int64_t s, std::int64_t) { bar.update(s); })
                                     : nullptr);
                if (engine.step() < next) { // a signal: stop at this exchange boundary
                    stopped_early = true;
                    result.signal = int(stop_signal);
                    break;
                }
                if (session.every_steps > 0 && next % session.every_steps == 0 && next < end_step)
                    write_checkpoint();
                if (session.max_rate_Hz > 0 && next % session.runaway_steps == 0) {
                    const std::string verdict = runaway();
                    if (!verdict.empty()) {
                        status = "runaway: " + verdict;
                        break;
                    }
                }
            }
            if (!stopped_early && end_step < total_steps) {
                stopped_early = true;
                result.paused = true;
            }
        } catch (const NumericalError& e) {
            numerical = e;
            status = std::string("failed: ") + e.what();
        }
        if (session.progress) bar.finish();
        simulate_s = seconds_since(t_sim);
        steps_done = engine.step();

        if (stopped_early) {
            // Interrupted or paused: a checkpoint at this exchange boundary, the files closed unfinished
            // (still .tmp; resume reopens them).
            write_checkpoint();
            spikes.close_unfinished();
            reports.close_unfinished(steps_done);
            snapshots.close_unfinished();
            result.status = result.paused ? "paused" : "interrupted";
            result.stopped_ms = double(steps_done) * dt;
            return result;
        }

        const auto t_write = std::chrono::steady_clock::now();
        // Collective parts first (report columns, edges, reductions), then the root writes.
        spikes.finish();
        reports.finish(steps_done);
        snapshots.finish();
        if (exp.recording.edges) write_edges(exp, net, dir);
        std::vector<std::uint64_t> totals{net.synapse_count(), net.synapse_bytes()};
        for (const auto& pop : net.populations)
            totals.push_back(net.synapses_into(pop.index));
        comm.sum(totals);
        std::vector<double> peaks{peak_rss_MB()};
        comm.max(peaks);
        if (!root) {
            comm.barrier(); // the root's files are complete when every rank returns
            if (numerical) throw *numerical;
            result.status = status;
            return result;
        }
        std::vector<std::string> glutamate_names;
        for (const auto& pool : exp.glutamate_pools)
            glutamate_names.push_back(pool.name);
        rates.write(dir, steps_done, exp.species, engine.drug_samples(), glutamate_names);
        write_nodes(net, dir);
        write_sonata_description(exp, dir, exp.recording.edges);
        write_text_atomically(dir, "config.toml", exp.resolved_toml);
        nlohmann::json summary;
        summary["ketaplast_version"] = KETAPLAST_VERSION;
        summary["status"] = status;
        summary["config"] = exp.config_path;
        summary["seed"] = exp.simulation.seed;
        summary["threads"] = threads;
        summary["ranks"] = comm.size();
        summary["dt_ms"] = dt;
        summary["duration_ms"] = exp.simulation.duration_ms;
        summary["drug_time_scale"] = exp.simulation.drug_time_scale;
        if (!exp.simulation.description.empty()) summary["description"] = exp.simulation.description;
        summary["simulated_ms"] = double(steps_done) * dt;
        const double simulated_s = double(steps_done) * dt * 1e-3;
        for (const auto& pop : net.populations) {
            nlohmann::json p;
            p["model"] = pop.spec->model;
            p["size"] = pop.size;
            p["spike_count"] = spikes.count(pop.index);
            p["mean_rate_Hz"] =
                simulated_s > 0 ? double(spikes.count(pop.index)) / (pop.size * simulated_s) : 0.0;
            p["synapses_in"] = totals[2 + pop.index];
            summary["populations"][pop.spec->name] = p;
        }
        // Per species (each drug, and the metabolite of a dosed drug): peaks of the recorded series.
        for (std::size_t k = 0; k < exp.species.size(); ++k) {
            const DrugSpecies& sp = exp.species[k];
            const DrugApplication& drug = exp.drugs[sp.drug];
            double max_plasma = 0, max_free = 0, t_max_ms = 0, t_max_plasma_ms = 0;
            for (const auto& sample : engine.drug_samples()) {
                if (sample.plasma_ng_per_mL[k] > max_plasma) {
                    max_plasma = sample.plasma_ng_per_mL[k];
                    t_max_plasma_ms = sample.t_ms;
                }
                if (sample.free_uM[k] > max_free) {
                    max_free = sample.free_uM[k];
                    t_max_ms = sample.t_ms;
                }
            }
            summary["drugs"].push_back({{"agent", sp.agent},
                                        {"series", sp.series_name()},
                                        {"role", sp.species == 0 ? "drug" : "metabolite of " + drug.agent},
                                        {"source", drug.pk ? "pk:" + drug.pk->model : "bath"},
                                        {"max_plasma_ng_per_mL", max_plasma},
                                        {"max_plasma_uM", max_plasma / sp.molar_mass_g_per_mol},
                                        {"time_of_max_plasma_ms", t_max_plasma_ms},
                                        {"max_free_uM", max_free},
                                        {"time_of_max_free_ms", t_max_ms}});
            // Only on voltage-clamped cells: in a spiking network the activity, and with it the current,
            // changes with the drug, so the current ratio is not a block measurement.
            for (const auto& pool : concentration_response(drug, k, engine.drug_samples())) {
                const auto it =
                    std::find_if(exp.populations.begin(), exp.populations.end(),
                                 [&](const PopulationSpec& p) { return p.name == pool.population; });
                if (it == exp.populations.end() || it->model != "voltage_clamp") continue;
                nlohmann::json r = {{"agent", sp.agent},
                                    {"population", pool.population},
                                    {"receptor", pool.receptor},
                                    {"conc_uM", pool.conc_uM},
                                    {"inhibition", pool.inhibition},
                                    {"blocked_fraction", pool.blocked_fraction}};
                if (pool.fit.valid) r["IC50_uM"] = pool.fit.IC50, r["hill"] = pool.fit.hill;
                summary["concentration_response"].push_back(r);
            }
        }
        network_readouts(exp, net, rates, engine, steps_done, summary);
        // NMDA pools at the last drug-clock tick: mean fractions blocked, trapped and open, and current.
        if (!engine.drug_samples().empty())
            for (const auto& pool : engine.drug_samples().back().pools)
                summary["nmda_pools"].push_back({{"population", pool.population},
                                                 {"receptor", pool.receptor},
                                                 {"t_ms", engine.drug_samples().back().t_ms},
                                                 {"drug_blocked_fraction", pool.drug_blocked},
                                                 {"trapped_fraction", pool.trapped},
                                                 {"open_fraction", pool.open},
                                                 {"conducting_fraction", pool.conducting},
                                                 {"current_pA", pool.current_pA}});
        write_s = seconds_since(t_write);
        const double total_s = seconds_since(t_start);
        summary["timing"] = {{"build_s", build_s},
                             {"simulate_s", simulate_s},
                             {"write_s", write_s},
                             {"total_s", total_s},
                             {"real_time_factor", simulated_s > 0 ? simulate_s / simulated_s : 0.0}};
        const std::uint64_t n_syn = totals[0], syn_bytes = totals[1];
        summary["memory"] = {{"peak_rss_MB", peaks[0]}, // the largest over ranks
                             {"synapse_count", n_syn},
                             {"synapse_bytes", syn_bytes},
                             {"bytes_per_synapse", n_syn ? double(syn_bytes) / double(n_syn) : 0.0},
                             {"weight_storage", exp.network.weights_uint16 ? "uint16" : "float32"},
                             {"weight_rounding_max", net.max_weight_rounding}};
        if (!net.plasticity.empty()) { // STDP: target indexes and traces, on top of synapse_bytes
            const std::uint64_t n_plastic = net.plasticity.synapse_count();
            summary["memory"]["plastic_synapse_count"] = n_plastic;
            summary["memory"]["plasticity_bytes"] = net.plasticity.bytes();
            summary["memory"]["extra_bytes_per_plastic_synapse"] =
                n_plastic ? double(net.plasticity.bytes()) / double(n_plastic) : 0.0;
        }
        const PhaseTimes& ph = engine.phase_times();
        summary["profile"] = {{"neuron_update_s", ph.update_s},
                              {"poisson_drive_s", ph.drive_s},
                              {"spike_delivery_s", ph.deliver_s},
                              {"barrier_wait_s", ph.wait_s},
                              {"exchange_and_recording_s", ph.exchange_s},
                              {"note",
                               "per-thread means over the time loop; exchange_and_recording_s is serial (one "
                               "thread) and the others wait for it"}};
        summary["engine"] = {
            {"min_delay_steps", net.min_delay_steps},
            {"max_delay_steps", net.max_delay_steps},
            {"spikes_exchanged", engine.spikes_exchanged()},
            {"synaptic_events", engine.synaptic_events()},
            {"synaptic_events_per_s", simulate_s > 0 ? double(engine.synaptic_events()) / simulate_s : 0.0}};
        const CommunicationStats& cs = comm.stats();
        summary["communication"] = {{"communicator", comm.name()},
                                    {"ranks", comm.size()},
                                    {"exchanges", cs.exchanges},
                                    {"bytes_sent_rank0", cs.bytes_sent},
                                    {"bytes_received_rank0", cs.bytes_received},
                                    {"exchange_s_rank0", engine.phase_times().communicate_s}};
        write_text_atomically(dir, "summary.json", summary.dump(2) + "\n");
        // The outputs are final: a checkpoint of this run has nothing left to resume.
        std::error_code ec;
        std::filesystem::remove(dir + "/checkpoint.h5", ec);
        std::filesystem::remove(dir + "/checkpoint.h5.tmp", ec);
        comm.barrier();
    } catch (...) {
        // An interrupted or paused run keeps its .tmp files for resume; anything else cleans up.
        if (root && !std::filesystem::exists(dir + "/checkpoint.h5")) remove_temporaries(dir);
        throw;
    }
    if (numerical) throw *numerical;
    result.status = status;
    return result;
}

// What a protocol run needs from its caller, fresh or resumed; pause_at_ms <= 0: no pause (protocol time).
ProtocolSession protocol_session(const std::string& dir, int threads, bool progress,
                                 double checkpoint_every_ms, double pause_at_ms, const Session& session) {
    ProtocolSession ps;
    ps.dir = dir;
    ps.threads = threads;
    ps.progress = progress;
    ps.checkpoint_every_ms = checkpoint_every_ms;
    ps.pause_at_ms = pause_at_ms > 0 ? pause_at_ms : -1.0;
    ps.t_start = session.t_start;
    ps.build_s = session.build_s;
    return ps;
}

// A [protocol] run (sim/app/protocol.hpp), fresh or resumed: checkpoints at probe starts, times in protocol
// time. Its header keeps the checkpoint period in steps of dt of protocol time.
RunResult execute_protocol(const Experiment& exp, Network& net, ProtocolSession session, bool handle_signals,
                           StateArchive* resume) {
    SignalGuard signals(handle_signals);
    session.stop = &stop_requested;
    session.signal = &stop_signal;
    session.resume = resume;
    const double dt = exp.simulation.dt_ms;
    const std::int64_t every_steps = std::llround(session.checkpoint_every_ms / dt),
                       total_steps = std::llround(exp.simulation.duration_ms / dt);
    std::uint64_t fingerprint = 0;
    session.write_header = [&](StateArchive& a, std::int64_t step) {
        if (fingerprint == 0) fingerprint = network_fingerprint(net);
        write_checkpoint_header(a, exp, fingerprint, step, session.threads, 1, every_steps, total_steps);
    };
    try {
        return run_protocol(exp, net, session);
    } catch (...) {
        if (!std::filesystem::exists(session.dir + "/checkpoint.h5")) remove_temporaries(session.dir);
        throw;
    }
}

} // namespace

RunResult run_experiment(const Experiment& exp, const RunOptions& options) {
    const std::string dir = options.output_dir;
    int threads = options.threads > 0 ? options.threads : exp.simulation.threads;
    if (threads <= 0) {
        // Default: all cores, but a thread per ~1000 neurons at most: below that the per-interval barrier
        // costs more than the work it shares (a 3-cell voltage-clamp protocol ran 400x slower on 2
        // threads of a busy machine than on 1).
        std::uint64_t neurons = 0;
        for (const auto& pop : exp.populations)
            neurons += pop.size;
        threads = int(std::max<std::uint64_t>(
            1, std::min<std::uint64_t>(std::uint64_t(omp_get_max_threads()), neurons / 1000)));
    }
    // Never partition for more threads than OpenMP may start (OMP_THREAD_LIMIT).
    threads = std::max(1, std::min(threads, omp_get_thread_limit()));

    Communicator& comm = world();
    // Refuse networks that cannot fit, before allocating anything. MPI: each rank holds about 1/ranks of
    // the synapses; ranks sharing a node share its memory, so this is a lower bound there.
    // The protocol's write-back (weights, structure, per-neuron elements) reads every synapse in one
    // process; distributing it needs reductions over ranks that are not written.
    if (exp.protocol && comm.distributed())
        throw InputError(
            "a [protocol] run is single-process for now: run it without mpirun (threads are fine)");
    on_every_rank(comm, [&] {
        const NetworkEstimate estimate = estimate_network(exp, std::uint32_t(threads));
        const double available_MB = meminfo_available_MB(),
                     need_MB = estimate.bytes / 1048576.0 / comm.size();
        if (available_MB > 0 && need_MB > 0.9 * available_MB)
            throw InputError("network too large: about " + std::to_string(std::llround(estimate.synapses)) +
                             " synapses need about " + std::to_string(std::llround(need_MB)) + " MB" +
                             (comm.distributed() ? " per rank" : "") + ", but only " +
                             std::to_string(std::llround(available_MB)) + " MB are available");
        if (comm.root()) {
            prepare_output_dir(dir);
            remove_previous_outputs(dir);
        }
    });
    Session session;
    session.t_start = std::chrono::steady_clock::now();
    Network net = build_network(exp, std::uint32_t(threads), comm);
    session.build_s = seconds_since(session.t_start);
    if (exp.protocol) {
        ProtocolSession ps = protocol_session(dir, threads, options.progress,
                                              options.checkpoint_every_ms > 0 ? options.checkpoint_every_ms
                                                                              : exp.checkpoint_every_ms,
                                              options.stop_at_ms, session);
        if (ps.checkpoint_every_ms > 0 || options.handle_signals || ps.pause_at_ms >= 0)
            write_text_atomically(dir, "config.toml", exp.resolved_toml);
        return execute_protocol(exp, net, ps, options.handle_signals, nullptr);
    }
    session.dir = dir;
    session.threads = threads;
    session.progress = options.progress;
    session.handle_signals = options.handle_signals;
    session.total_steps = std::llround(exp.simulation.duration_ms / exp.simulation.dt_ms);
    session.every_steps = checkpoint_steps(options.checkpoint_every_ms > 0 ? options.checkpoint_every_ms
                                                                           : exp.checkpoint_every_ms,
                                           exp.simulation.dt_ms, net.min_delay_steps);
    if (options.max_rate_Hz > 0) {
        const std::int64_t D = net.min_delay_steps,
                           w = std::max<std::int64_t>(
                               1, std::llround(options.runaway_window_ms / exp.simulation.dt_ms));
        session.max_rate_Hz = options.max_rate_Hz;
        session.runaway_steps = (w + D - 1) / D * D;
    }
    if (options.stop_at_ms > 0) {
        const std::int64_t D = net.min_delay_steps,
                           stop = std::llround(options.stop_at_ms / exp.simulation.dt_ms);
        session.pause_step = (stop + D - 1) / D * D;
    }
    // The run directory names its experiment from the start (a checkpoint is checked against it).
    if (comm.root() && (session.every_steps > 0 || session.handle_signals || session.pause_step >= 0))
        write_text_atomically(dir, "config.toml", exp.resolved_toml);
    session.progress = options.progress && comm.root();
    return execute(exp, net, session);
}

RunResult resume_run(const ResumeOptions& options) {
    const std::string dir = options.run_dir;
    const std::string path = dir + "/checkpoint.h5";
    if (!std::filesystem::is_directory(dir)) throw InputError(dir + ": not a directory");
    if (!std::filesystem::exists(path))
        throw InputError(path +
                         ": no checkpoint (the run completed, or never wrote one; see --checkpoint-every)");
    StateArchive a = StateArchive::load_from(path);
    if (!a.has("header/format_version"))
        throw InputError(path + ": not a Ketaplast checkpoint (no header/format_version)");
    std::int64_t version = 0, step = 0, saved_threads = 0, every = 0, total = 0;
    a.value("header/format_version", version);
    if (version != kCheckpointFormatVersion)
        throw InputError(path + ": checkpoint format version " + std::to_string(version) +
                         ", this ketaplast (" + KETAPLAST_VERSION + ") reads version " +
                         std::to_string(kCheckpointFormatVersion));
    std::string ketaplast, toml, config_path;
    std::uint64_t config_hash = 0;
    a.text("header/ketaplast_version", ketaplast);
    if (ketaplast != KETAPLAST_VERSION)
        throw InputError(path + ": written by ketaplast " + ketaplast + ", this is " + KETAPLAST_VERSION +
                         " (bit-identical continuation needs the same version)");
    a.text("header/config_toml", toml);
    a.text("header/config_path", config_path);
    a.value("header/config_hash", config_hash);
    a.value("header/step", step);
    a.value("header/threads", saved_threads);
    a.value("header/checkpoint_every_steps", every);
    a.value("header/total_steps", total);
    if (text_hash(toml) != config_hash)
        throw InputError(path + ": header/config_toml fails its hash (damaged)");
    const std::string run_config = dir + "/config.toml";
    if (!std::filesystem::exists(run_config))
        throw InputError(run_config + ": missing (not the run directory this checkpoint belongs to)");
    if (text_hash(read_text(run_config)) != config_hash)
        throw InputError(path + ": the checkpoint belongs to another experiment than " + run_config +
                         " (config hashes differ); refusing to mix two runs");

    Experiment exp = load_experiment_from_string(toml, config_path);
    int threads = options.threads > 0 ? options.threads : int(saved_threads);
    threads = std::max(1, std::min(threads, omp_get_thread_limit()));
    Session session;
    session.t_start = std::chrono::steady_clock::now();
    Network net = build_network(exp, std::uint32_t(threads), world());
    session.build_s = seconds_since(session.t_start);
    std::uint64_t fingerprint = 0;
    a.value("header/network_fingerprint", fingerprint);
    if (network_fingerprint(net) != fingerprint)
        throw InputError(path +
                         ": the network built from the checkpoint's config differs from the checkpointed "
                         "one (another version of the network builder?)");
    const double dt = exp.simulation.dt_ms;
    if (exp.protocol) { // protocol time: --until pauses at a probe, never runs past protocol.duration_h
        const ProtocolSession ps = protocol_session(
            dir, threads, options.progress,
            options.checkpoint_every_ms > 0 ? options.checkpoint_every_ms : double(every) * dt,
            options.until_ms, session);
        return execute_protocol(exp, net, ps, options.handle_signals, &a);
    }
    session.dir = dir;
    session.threads = threads;
    session.progress = options.progress && world().root();
    session.handle_signals = options.handle_signals;
    session.total_steps = total;
    // An earlier resume may have extended the run past the configured duration (--until).
    if (total != std::llround(exp.simulation.duration_ms / dt))
        exp.simulation.duration_ms = double(total) * dt;
    session.every_steps = options.checkpoint_every_ms > 0
                              ? checkpoint_steps(options.checkpoint_every_ms, dt, net.min_delay_steps)
                              : every;
    if (options.until_ms > 0) {
        std::int64_t until = std::llround(options.until_ms / dt);
        if (until <= step)
            throw InputError("--until " + std::to_string(options.until_ms) +
                             " ms: the checkpoint is already at " + std::to_string(double(step) * dt) +
                             " ms");
        if (until > total) {
            session.total_steps = until; // run on past the configured duration
            exp.simulation.duration_ms = double(until) * dt;
        } else if (until < total) {
            const std::int64_t D = net.min_delay_steps; // pauses fall on exchange boundaries
            session.pause_step = std::min(total, (until + D - 1) / D * D);
        }
    }
    session.resume = &a;
    return execute(exp, net, session);
}

} // namespace ketaplast
