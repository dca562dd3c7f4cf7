// The `ketaplast` command line: run, resume, validate, info, models, sweep, pharmacology.
// Exit codes: 0 success, 2 bad input (config, arguments, files), 1 failure during the run, 128 + signal
// after SIGINT/SIGTERM (a checkpoint was written; `ketaplast resume` continues).
#include "core/error.hpp"
#include "models/registry.hpp"
#include "sim/app/pharmacology.hpp"
#include "sim/app/run.hpp"
#include "sim/app/sweep.hpp"
#include "sim/app/version.hpp"
#include "sim/config/config_loader.hpp"
#include "sim/engine/engine.hpp"
#include "sim/parallel/communicator.hpp"

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

namespace {

using namespace ketaplast;

std::vector<Override> parse_overrides(const std::vector<std::string>& sets) {
    std::vector<Override> out;
    for (const auto& s : sets)
        out.push_back(parse_override(s));
    return out;
}

// An interrupted or paused run: where it stopped and how to continue. Exit 128 + signal after a signal.
int report_stop(const RunResult& result) {
    if (world().root())
        fmt::print(
            "{} at t = {} ms; checkpoint written to {}/checkpoint.h5\nresume with: ketaplast resume {}\n",
            result.status, result.stopped_ms, result.output_dir, result.output_dir);
    return result.signal ? 128 + result.signal : 0;
}

int command_run(const std::string& config, const std::string& out, const std::vector<std::string>& sets,
                int threads, std::optional<std::int64_t> seed, double checkpoint_every_ms, double until_ms) {
    auto overrides = parse_overrides(sets);
    if (seed) overrides.push_back({"simulation.seed", std::to_string(*seed)});
    const Experiment exp = load_experiment(config, overrides);
    RunOptions options;
    options.output_dir = out.empty() ? exp.output_dir : out;
    options.threads = threads;
    options.progress = true;
    options.checkpoint_every_ms = checkpoint_every_ms;
    options.handle_signals = true;
    options.stop_at_ms = until_ms;
    const RunResult result = run_experiment(exp, options);
    if (result.signal || result.paused) return report_stop(result);
    if (world().root()) fmt::print("{}: {} -> {}\n", config, result.status, result.output_dir);
    return 0;
}

int command_resume(const std::string& run_dir, int threads, double until_ms, double checkpoint_every_ms) {
    ResumeOptions options;
    options.run_dir = run_dir;
    options.threads = threads;
    options.until_ms = until_ms;
    options.checkpoint_every_ms = checkpoint_every_ms;
    options.progress = true;
    options.handle_signals = true;
    const RunResult result = resume_run(options);
    if (result.signal || result.paused) return report_stop(result);
    if (world().root()) fmt::print("{}: {} (resumed)\n", result.output_dir, result.status);
    return 0;
}

int command_validate(const std::string& config, const std::vector<std::string>& sets) {
    const Experiment exp = load_experiment(config, parse_overrides(sets));
    std::size_t neurons = 0;
    for (const auto& p : exp.populations)
        neurons += p.size;
    fmt::print("{}: valid ({} populations, {} neurons, {} projections, {} ms at dt = {} ms)\n", config,
               exp.populations.size(), neurons, exp.projections.size(), exp.simulation.duration_ms,
               exp.simulation.dt_ms);
    return 0;
}

int command_info(const std::string& dir) {
    const std::string path = dir + "/summary.json";
    std::ifstream in(path);
    if (!in && std::filesystem::exists(dir + "/checkpoint.h5")) {
        fmt::print("run        {}\nstatus     interrupted or paused (checkpoint.h5, no outputs yet)\n"
                   "resume with: ketaplast resume {}\n",
                   dir, dir);
        return 0;
    }
    if (!in) throw InputError(path + ": not found (is '" + dir + "' a Ketaplast run directory?)");
    nlohmann::json s;
    try {
        in >> s;
    } catch (const std::exception& e) {
        throw InputError(path + ": not valid JSON (" + e.what() + ")");
    }
    fmt::print("run        {}\n", dir);
    fmt::print("config     {}\n", s.value("config", "?"));
    if (s.contains("description")) fmt::print("about      {}\n", s.value("description", ""));
    fmt::print("status     {}\n", s.value("status", "?"));
    fmt::print("simulated  {} ms at dt = {} ms, seed {}, {} threads\n", s.value("simulated_ms", 0.0),
               s.value("dt_ms", 0.0), s.value("seed", 0), s.value("threads", 0));
    // Drug time (the experiment's clock) runs drug_time_scale times faster than network time: doses and
    // the drugs' peak times are given in drug time.
    const double scale = s.value("drug_time_scale", 1.0);
    if (scale > 1.0)
        fmt::print("drug time  {:.4g} min (the drug clock runs {:g}x faster than network time)\n",
                   s.value("simulated_ms", 0.0) * scale / 60000.0, scale);
    fmt::print("\n{:<16} {:<16} {:>10} {:>12} {:>10} {:>14}\n", "population", "model", "neurons", "spikes",
               "rate Hz", "synapses in");
    for (auto& [name, p] : s["populations"].items())
        fmt::print("{:<16} {:<16} {:>10} {:>12} {:>10.3f} {:>14}\n", name, p.value("model", "?"),
                   p.value("size", 0), p.value("spike_count", 0), p.value("mean_rate_Hz", 0.0),
                   p.value("synapses_in", 0));
    if (s.contains("drugs")) {
        const char* at = scale > 1.0 ? "drug min" : "at min";
        fmt::print("\n{:<16} {:<24} {:<20} {:>11} {:>9} {:>10} {:>12} {:>10}\n", "species", "role", "source",
                   "max plasma", "ng/mL", at, "max free uM", at);
        for (const auto& d : s["drugs"])
            fmt::print("{:<16} {:<24} {:<20} {:>11.4f} {:>9.2f} {:>10.2f} {:>12.4f} {:>10.2f}\n",
                       d.value("agent", "?"), d.value("role", "drug"), d.value("source", "?"),
                       d.value("max_plasma_uM", 0.0), d.value("max_plasma_ng_per_mL", 0.0),
                       d.value("time_of_max_plasma_ms", 0.0) * scale / 60000.0, d.value("max_free_uM", 0.0),
                       d.value("time_of_max_free_ms", 0.0) * scale / 60000.0);
    }
    if (s.contains("nmda_pools")) {
        fmt::print("\n{:<24} {:>10} {:>10} {:>10} {:>14}   (NMDA pools at {:.0f} ms)\n", "pool", "blocked",
                   "trapped", "open", "current pA", s["nmda_pools"][0].value("t_ms", 0.0));
        for (const auto& p : s["nmda_pools"])
            fmt::print("{:<24} {:>10.4f} {:>10.4f} {:>10.5f} {:>14.3f}\n",
                       p.value("population", "?") + "/" + p.value("receptor", "?"),
                       p.value("drug_blocked_fraction", 0.0), p.value("trapped_fraction", 0.0),
                       p.value("open_fraction", 0.0), p.value("current_pA", 0.0));
    }
    if (s.contains("isn_probe")) {
        const auto& p = s["isn_probe"];
        fmt::print("\nISN probe  +{} pA into {}: {:.2f} -> {:.2f} Hz: {}\n", p.value("current_pA", 0.0),
                   p.value("population", "?"), p.value("rate_before_Hz", 0.0), p.value("rate_during_Hz", 0.0),
                   p.value("inhibition_stabilized", false)
                       ? "paradoxical fall: inhibition-stabilised"
                       : "no paradoxical fall: not inhibition-stabilised");
    }
    if (s.contains("gamma")) {
        fmt::print("\ngamma power (30-80 Hz of the population rate), first and last window:\n");
        for (auto& [name, g] : s["gamma"].items())
            fmt::print("  {:<16} {:8.3f} -> {:8.3f} Hz^2 (relative {:.2f} -> {:.2f})\n", name,
                       g.value("first_power_Hz2", 0.0), g.value("last_power_Hz2", 0.0),
                       g.value("first_relative", 0.0), g.value("last_relative", 0.0));
    }
    if (s.contains("glutamate")) {
        for (auto& [name, g] : s["glutamate"].items())
            fmt::print(
                "\nglutamate  {}: level {:.4f} uM first, peak {:.4f}, last {:.4f}; dialysate {:.4f} -> "
                "{:.4f} vesicles/ms/neuron\n",
                name, g.value("first_level_uM", 0.0), g.value("peak_level_uM", 0.0),
                g.value("last_level_uM", 0.0), g.value("first_dialysate", 0.0),
                g.value("last_dialysate", 0.0));
    }
    if (s.contains("ampa_nmda_charge_ratio")) {
        fmt::print("AMPA/NMDA charge ratio:");
        for (auto& [name, v] : s["ampa_nmda_charge_ratio"].items())
            fmt::print(" {} {:.3f};", name, v.get<double>());
        fmt::print("\n");
    }
    if (s.contains("concentration_response")) {
        fmt::print(
            "\nconcentration-response (inhibition of the NMDA current at the end of each bath step)\n");
        for (const auto& r : s["concentration_response"]) {
            fmt::print("{:<12} {:<24}", r.value("agent", "?"),
                       r.value("population", "?") + "/" + r.value("receptor", "?"));
            const auto conc = r["conc_uM"].get<std::vector<double>>();
            const auto inh = r["inhibition"].get<std::vector<double>>();
            for (std::size_t k = 0; k < conc.size(); ++k)
                fmt::print(" {:g} uM: {:.1f} %;", conc[k], 100.0 * inh[k]);
            if (r.contains("IC50_uM"))
                fmt::print("  IC50 {:.3g} uM, Hill {:.2f}", r.value("IC50_uM", 0.0), r.value("hill", 0.0));
            fmt::print("\n");
        }
    }
    if (s.contains("timing")) {
        const auto& t = s["timing"];
        fmt::print("\ntime       build {:.2f} s, simulate {:.2f} s, write {:.2f} s, total {:.2f} s; "
                   "wall/simulated time {:.3f}\n",
                   t.value("build_s", 0.0), t.value("simulate_s", 0.0), t.value("write_s", 0.0),
                   t.value("total_s", 0.0), t.value("real_time_factor", 0.0));
    }
    if (s.contains("memory")) {
        const auto& m = s["memory"];
        fmt::print("memory     peak {:.1f} MB; {} synapses, {:.2f} bytes per synapse\n",
                   m.value("peak_rss_MB", 0.0), m.value("synapse_count", 0),
                   m.value("bytes_per_synapse", 0.0));
    }
    fmt::print("\nfiles     ");
    for (const char* f : {"spikes.h5", "timeseries.h5", "nodes.h5", "edges.h5", "snapshots.h5", "config.toml",
                          "summary.json", "checkpoint.h5"})
        if (std::filesystem::exists(dir + "/" + f)) fmt::print(" {}", f);
    std::vector<std::string> reports; // report_<variable>.h5, one per recorded variable (sorted)
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (const std::string name = entry.path().filename().string();
            name.rfind("report_", 0) == 0 && entry.path().extension() == ".h5")
            reports.push_back(name);
    std::sort(reports.begin(), reports.end());
    for (const std::string& name : reports)
        fmt::print(" {}", name);
    fmt::print("\n");
    return 0;
}

int command_models() {
    for (const auto& m : builtin_models().all()) {
        fmt::print("{}  ({})\n  {}\n", m.name, m.kind == ModelKind::neuron ? "neuron" : "spike source",
                   m.description);
        for (const auto& p : m.params)
            fmt::print("    {:<14} default {:<10g} range {:<22} {}\n", p.key, p.default_value, p.range_text(),
                       p.meaning);
    }
    return 0;
}

} // namespace

// --mpi: the user means a distributed run; refuse what would silently run R independent copies or one.
void require_mpi() {
    if (!built_with_mpi())
        throw InputError(
            "--mpi: this ketaplast was built without MPI (configure with -DKETAPLAST_WITH_MPI=ON)");
    if (!launched_by_mpi())
        throw InputError("--mpi: not started by an MPI launcher (mpirun -n N ketaplast ...)");
}

int run_main(int argc, char** argv);

int main(int argc, char** argv) {
    // A build without MPI started as several ranks would run the same experiment several times into the
    // same files: refuse (each process prints once, rank 0 only).
    if (!built_with_mpi()) {
        const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
        if (size && std::atoi(size) > 1) {
            const char* rank = std::getenv("OMPI_COMM_WORLD_RANK");
            if (!rank || std::atoi(rank) == 0)
                std::cerr << "ketaplast: error: started as " << size
                          << " MPI ranks, but this ketaplast was built without MPI "
                             "(configure with -DKETAPLAST_WITH_MPI=ON)\n";
            return 2;
        }
    }
    std::optional<MpiSession> mpi;
    try {
        mpi.emplace(&argc, &argv);
    } catch (const std::exception& e) {
        std::cerr << "ketaplast: MPI: " << e.what() << "\n";
        return 1;
    }
    return run_main(argc, argv);
}

int run_main(int argc, char** argv) {
    Communicator& comm = world();
    CLI::App app{"Ketaplast: spiking networks, NMDA-receptor drugs and plasticity"};
    app.set_version_flag("--version", std::string("ketaplast ") + KETAPLAST_VERSION);
    app.require_subcommand(1);

    std::string config, out, run_dir;
    std::vector<std::string> sets;
    int threads = 0;
    std::int64_t seed = -1;

    auto* run = app.add_subcommand("run", "run an experiment");
    run->add_option("config", config, "experiment file (TOML)")->required();
    run->add_option("--out,-o", out, "output directory (default: [output] dir of the config)");
    run->add_option("--set", sets,
                    "override a config value: key=value (repeatable), e.g. simulation.duration_ms=500");
    run->add_option("--threads,-t", threads, "OpenMP threads (default: simulation.threads, else all cores)")
        ->check(CLI::Range(1, 4096));
    run->add_option("--seed", seed, "random seed (overrides simulation.seed)")->check(CLI::NonNegativeNumber);
    double checkpoint_every_ms = 0, until_ms = 0;
    run->add_option("--checkpoint-every", checkpoint_every_ms,
                    "write RUN_DIR/checkpoint.h5 every T ms of simulated time (overrides "
                    "output.checkpoint_every_ms; a [protocol]: protocol time, at probe starts)")
        ->check(CLI::PositiveNumber);
    run->add_option(
           "--until", until_ms,
           "stop at T ms with a checkpoint (e.g. a batch job's time slice; a [protocol]: at the first "
           "probe at or after T ms of protocol time); continue with resume")
        ->check(CLI::PositiveNumber);

    bool use_mpi = false;
    run->add_flag("--mpi", use_mpi, "require a distributed run (an MPI build started by mpirun/srun)");

    auto* resume = app.add_subcommand("resume", "continue an interrupted run from its checkpoint.h5");
    resume->add_option("run_dir", run_dir, "output directory of the interrupted run")->required();
    resume
        ->add_option("--until", until_ms,
                     "stop at T ms with a checkpoint (before the end) or run on to T ms (past it)")
        ->check(CLI::PositiveNumber);
    resume->add_option("--threads,-t", threads, "OpenMP threads (default: as the checkpointed run)")
        ->check(CLI::Range(1, 4096));
    resume
        ->add_option("--checkpoint-every", checkpoint_every_ms,
                     "checkpoint period in ms (default: as the checkpointed run)")
        ->check(CLI::PositiveNumber);

    resume->add_flag("--mpi", use_mpi, "require a distributed run (an MPI build started by mpirun/srun)");

    auto* validate = app.add_subcommand("validate", "check an experiment file without running it");
    validate->add_option("config", config, "experiment file (TOML)")->required();
    validate->add_option("--set", sets, "override a config value: key=value (repeatable)");

    auto* info = app.add_subcommand("info", "summarise a run directory");
    info->add_option("run_dir", run_dir, "output directory of a run")->required();

    auto* models = app.add_subcommand("models", "list the models and their parameters");

    auto* sweep = app.add_subcommand("sweep", "run a grid or list of parameter points of one experiment");
    std::vector<std::string> sweep_params;
    std::string sweep_list;
    long sweep_index = -1;
    bool sweep_collect = false;
    sweep->add_option("config", config, "experiment file (TOML)")->required();
    sweep->add_option("--param", sweep_params, "key=v1,v2,... (repeatable; the grid is their product)");
    sweep->add_option("--list", sweep_list, "CSV file: a header of keys, one point per line");
    sweep->add_option("--out,-o", out, "sweep directory (point_<i>/ and sweep.csv)")->required();
    sweep->add_option("--index", sweep_index, "run only point N (e.g. $SLURM_ARRAY_TASK_ID)");
    sweep->add_flag("--collect", sweep_collect, "only build sweep.csv from the points' summaries");
    sweep->add_option("--set", sets, "override for every point: key=value (repeatable)");
    sweep->add_option("--threads,-t", threads, "OpenMP threads per point")->check(CLI::Range(1, 4096));
    double max_rate_Hz = 0, runaway_window_ms = 100;
    sweep
        ->add_option(
            "--max-rate", max_rate_Hz,
            "runaway check: stop a point when a population's rate exceeds HZ over a window, and mark "
            "it 'runaway' in the table")
        ->check(CLI::PositiveNumber);
    sweep->add_option("--runaway-window", runaway_window_ms, "the runaway check's window in ms (default 100)")
        ->check(CLI::PositiveNumber);
    sweep->add_flag("--mpi", use_mpi, "require a distributed run: every point runs on all ranks");

    auto* pharmacology =
        app.add_subcommand("pharmacology", "drug curves without a network (PK, channel block)");
    pharmacology->require_subcommand(1);
    PkCurveOptions pk_options;
    std::vector<std::string> infusions, boluses, nasal_doses, ip_doses;
    std::vector<double> session_days, days_of_week;
    int session_weeks = 0;
    bool no_metabolite = false;
    std::string pk_out, block_out;
    auto* pk = pharmacology->add_subcommand(
        "pk", "plasma and effect-site concentration of a dose schedule, drug and metabolite");
    pk->add_option("--model", pk_options.model,
                   "domino (default), clements, hijazi, herd (IV racemic ketamine); esketamine_nasal; rat, "
                   "mouse (IV or i.p.)");
    pk->add_option("--weight-kg", pk_options.body_weight_kg,
                   "body weight (default 70 for the human IV sets, 0.25 rat, 0.025 mouse)");
    pk->add_option("--agent", pk_options.agent, "the dosed species (default: the model's)");
    pk->add_option("--unbound", pk_options.fraction_unbound,
                   "unbound fraction for the free concentration (0.6)");
    pk->add_option("--metabolite-unbound", pk_options.metabolite_fraction_unbound,
                   "unbound fraction of norketamine (0.6)");
    pk->add_flag("--no-metabolite", no_metabolite, "leave out the norketamine metabolite");
    pk->add_option("--infusion", infusions,
                   "IV DOSE@START+DURATION in mg/kg, min, min (repeatable), e.g. 0.5@0+40");
    pk->add_option("--bolus", boluses, "IV DOSE@START in mg/kg, min (repeatable); '35mg@0' for mg");
    pk->add_option("--nasal", nasal_doses,
                   "intranasal DOSE@START in mg (28-mg devices 5 min apart), e.g. 84@0");
    pk->add_option("--ip", ip_doses, "intraperitoneal DOSE@START in mg/kg, min (rat, mouse)");
    pk->add_option("--session-days", session_days, "repeat the doses on these days, e.g. 0,3,7,10")
        ->delimiter(',');
    pk->add_option("--weeks", session_weeks, "repeat the doses for N weeks on --days-of-week");
    pk->add_option("--days-of-week", days_of_week, "days (0-6) of each week with a session, e.g. 0,3")
        ->delimiter(',');
    pk->add_option("--duration-min", pk_options.duration_min, "time covered (default 240)");
    pk->add_option("--step-min", pk_options.step_min, "table step (default 1; the integration is exact)");
    pk->add_option("--out", pk_out, "also write the table: CSV, or HDF5 for a .h5 path");
    BlockCurveOptions block_options;
    auto* block =
        pharmacology->add_subcommand("block", "equilibrium NMDA channel block vs concentration, and IC50");
    block->add_option("--agent", block_options.agent,
                      "ketamine (default), esketamine, arketamine, norketamine, "
                      "hnk_2r6r, memantine, mk801");
    block->add_option("--voltage-mV", block_options.V_mV, "membrane potential (default -70)");
    block->add_option("--mg-mM", block_options.Mg_mM, "[Mg2+]o (default 0)");
    block->add_option("--out", block_out, "also write the table as CSV");

    // CLI11 reports an unknown first word only as "A subcommand is required"; name it instead.
    if (argc > 1 && argv[1][0] != '-') {
        const std::string command = argv[1];
        std::string known;
        bool found = false;
        for (const CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
            known += (known.empty() ? "" : ", ") + sub->get_name();
            found = found || sub->get_name() == command;
        }
        if (!found) {
            std::cerr << "ketaplast: error: unknown command '" << command << "' (known: " << known
                      << "; see ketaplast --help)\n";
            return 2;
        }
    }

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (!comm.root()) return e.get_exit_code() == 0 ? 0 : 2; // every rank parses alike: print once
        const int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }

    // Errors. Bad input (config, command line, checkpoint) and numerical blow-ups are found alike on every
    // rank (each loads the same files; the engine agrees on stops): rank 0 prints, every rank exits with
    // the code. Anything else may have happened on one rank only (a failed write on the root): that rank
    // prints and ends the whole job (MPI_Abort), so no rank waits forever for it.
    auto fail = [&](const std::exception& e, int code, bool collective) {
        const std::string prefix = code == 2 ? "ketaplast: error: " : "ketaplast: run failed: ";
        if (!comm.distributed() || collective) {
            if (comm.root()) std::cerr << prefix << e.what() << "\n";
            return code;
        }
        std::cerr << prefix << "(rank " << comm.rank() << ") " << e.what() << "\n" << std::flush;
        comm.abort(code);
        return code; // not reached
    };
    try {
        if (use_mpi) require_mpi();
        if (run->parsed())
            return command_run(config, out, sets, threads,
                               seed >= 0 ? std::optional<std::int64_t>(seed) : std::nullopt,
                               checkpoint_every_ms, until_ms);
        if (resume->parsed()) return command_resume(run_dir, threads, until_ms, checkpoint_every_ms);
        if (validate->parsed()) return command_validate(config, sets);
        if (info->parsed()) return command_info(run_dir);
        if (models->parsed()) return command_models();
        if (sweep->parsed()) {
            SweepOptions o;
            o.config = config;
            o.out_dir = out;
            o.index = sweep_index;
            o.threads = threads;
            o.collect_only = sweep_collect;
            o.max_rate_Hz = max_rate_Hz;
            o.runaway_window_ms = runaway_window_ms;
            o.common = parse_overrides(sets);
            if (!sweep_list.empty() && !sweep_params.empty())
                throw InputError("sweep: give --param or --list, not both");
            if (!sweep_list.empty()) {
                o.points = read_sweep_list(sweep_list);
            } else {
                std::vector<SweepParameter> parameters;
                for (const auto& p : sweep_params)
                    parameters.push_back(parse_sweep_parameter(p));
                o.points = expand_grid(parameters);
                if (parameters.empty()) o.points.clear();
            }
            const int failed = run_sweep(o);
            if (comm.root())
                fmt::print("{}: sweep of {} points -> {}{}\n", config, o.points.size(), out,
                           failed ? " (" + std::to_string(failed) + " failed)" : std::string());
            return failed ? 1 : 0;
        }
        if (pk->parsed()) {
            for (const auto& i : infusions)
                pk_options.doses.push_back(parse_dose(i, DoseSpec::Route::infusion));
            for (const auto& b : boluses)
                pk_options.doses.push_back(parse_dose(b, DoseSpec::Route::bolus));
            for (const auto& n : nasal_doses)
                pk_options.doses.push_back(parse_dose(n, DoseSpec::Route::nasal));
            for (const auto& i : ip_doses)
                pk_options.doses.push_back(parse_dose(i, DoseSpec::Route::ip));
            pk_options.metabolite = !no_metabolite;
            if (session_weeks != 0 || !days_of_week.empty()) {
                if (!session_days.empty())
                    throw InputError("pharmacology pk: give --session-days or --weeks with --days-of-week, "
                                     "not both");
                if (session_weeks <= 0 || days_of_week.empty())
                    throw InputError("--weeks must be >= 1 and --days-of-week non-empty (e.g. --weeks 4 "
                                     "--days-of-week 0,3)");
                for (double d : days_of_week)
                    if (!(d >= 0 && d < 7)) throw InputError("--days-of-week: days are 0-6");
                session_days = weekly_session_days(session_weeks, days_of_week);
            }
            pk_options.session_days = session_days;
            try {
                return pharmacology_pk(pk_options, pk_out);
            } catch (const std::invalid_argument& e) {
                throw InputError(std::string("--agent: ") + e.what());
            }
        }
        if (block->parsed()) {
            try {
                return pharmacology_block(block_options, block_out);
            } catch (const std::invalid_argument& e) {
                throw InputError(std::string("--agent: ") + e.what());
            }
        }
    } catch (const InputError& e) {
        return fail(e, 2, true);
    } catch (const NumericalError& e) {
        return fail(e, 1, true);
    } catch (const std::exception& e) {
        return fail(e, 1, false);
    }
    return 0;
}
