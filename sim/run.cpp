#include "sim/run.hpp"

#include "sim/concentration_response.hpp"

#include "core/error.hpp"
#include "sim/engine.hpp"
#include "sim/network.hpp"
#include "sim/progress.hpp"
#include "sim/recorders.hpp"
#include "sim/version.hpp"

#include <nlohmann/json.hpp>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>

namespace ketaplast {

namespace {

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
    for (const char* name : {"spikes.h5", "reports.h5", "timeseries.h5", "nodes.h5", "edges.h5",
                             "summary.json", "config.toml"}) {
        std::filesystem::remove(dir + "/" + name, ec);
        std::filesystem::remove(dir + "/" + std::string(name) + ".tmp", ec);
    }
}

void remove_temporaries(const std::string& dir) {
    std::error_code ec;
    for (const char* name : {"spikes.h5.tmp", "reports.h5.tmp", "timeseries.h5.tmp", "nodes.h5.tmp",
                             "edges.h5.tmp", "summary.json.tmp", "config.toml.tmp"})
        std::filesystem::remove(dir + "/" + name, ec);
}

} // namespace

double peak_rss_MB() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
    return 0;
}

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

    // Refuse networks that cannot fit, before allocating anything.
    const NetworkEstimate estimate = estimate_network(exp, std::uint32_t(threads));
    const double available_MB = meminfo_available_MB();
    if (available_MB > 0 && estimate.bytes / 1048576.0 > 0.9 * available_MB)
        throw InputError("network too large: about " + std::to_string(std::llround(estimate.synapses)) +
                         " synapses need about " + std::to_string(std::llround(estimate.bytes / 1048576.0)) +
                         " MB, but only " + std::to_string(std::llround(available_MB)) + " MB are available");
    prepare_output_dir(dir);

    remove_previous_outputs(dir);

    const auto t_start = std::chrono::steady_clock::now();
    Network net = build_network(exp, std::uint32_t(threads));
    const double build_s = seconds_since(t_start);

    const double dt = exp.simulation.dt_ms;
    const std::int64_t total_steps = std::llround(exp.simulation.duration_ms / dt);
    std::string status = "completed";
    double simulate_s = 0, write_s = 0;
    std::int64_t steps_done = 0;
    std::optional<NumericalError> numerical;
    try {
        SpikeRecorder spikes(net, dir, dt, exp.recording.spikes);
        StateReporter reports(net, exp.recording, dir, dt, net.min_delay_steps);
        RateRecorder rates(net, exp.recording.rate_bin_ms, dt);
        Engine engine(exp, net, threads);
        ProgressReporter bar(dt, 0, total_steps);
        const auto t_sim = std::chrono::steady_clock::now();
        try {
            engine.run(total_steps, {&spikes, reports.empty() ? nullptr : &reports, &rates},
                       options.progress ? std::function<void(std::int64_t, std::int64_t)>(
                                              [&](std::int64_t s, std::int64_t) { bar.update(s); })
                                        : nullptr);
        } catch (const NumericalError& e) {
            numerical = e;
            status = std::string("failed: ") + e.what();
        }
        if (options.progress) bar.finish();
        simulate_s = seconds_since(t_sim);
        steps_done = engine.step();

        const auto t_write = std::chrono::steady_clock::now();
        spikes.finish();
        reports.finish(steps_done);
        rates.write(dir, steps_done, exp.species, engine.drug_samples());
        write_nodes(net, dir);
        if (exp.recording.edges) write_edges(exp, net, dir);
        write_text_atomically(dir, "config.toml", exp.resolved_toml);

        nlohmann::json summary;
        summary["ketaplast_version"] = KETAPLAST_VERSION;
        summary["status"] = status;
        summary["config"] = exp.config_path;
        summary["seed"] = exp.simulation.seed;
        summary["threads"] = threads;
        summary["dt_ms"] = dt;
        summary["duration_ms"] = exp.simulation.duration_ms;
        summary["simulated_ms"] = double(steps_done) * dt;
        const double simulated_s = double(steps_done) * dt * 1e-3;
        for (const auto& pop : net.populations) {
            nlohmann::json p;
            p["model"] = pop.spec->model;
            p["size"] = pop.size;
            p["spike_count"] = spikes.count(pop.index);
            p["mean_rate_Hz"] =
                simulated_s > 0 ? double(spikes.count(pop.index)) / (pop.size * simulated_s) : 0.0;
            p["synapses_in"] = net.synapses_into(pop.index);
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
            for (const auto& pool : concentration_response(drug, k, engine.drug_samples())) {
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
        const std::uint64_t n_syn = net.synapse_count(), syn_bytes = net.synapse_bytes();
        summary["memory"] = {{"peak_rss_MB", peak_rss_MB()},
                             {"synapse_count", n_syn},
                             {"synapse_bytes", syn_bytes},
                             {"bytes_per_synapse", n_syn ? double(syn_bytes) / double(n_syn) : 0.0},
                             {"weight_storage", exp.network.weights_uint16 ? "uint16" : "float32"},
                             {"weight_rounding_max", net.max_weight_rounding}};
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
        write_text_atomically(dir, "summary.json", summary.dump(2) + "\n");
    } catch (...) {
        remove_temporaries(dir);
        throw;
    }
    if (numerical) throw *numerical;
    return {dir, status};
}

} // namespace ketaplast
