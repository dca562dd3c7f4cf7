#include "sim/app/pharmacology.hpp"

#include "core/error.hpp"
#include "models/drugs.hpp"
#include "models/pharmacokinetics.hpp"
#include "sim/io/hdf5_file.hpp"

#include <fmt/core.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace ketaplast {

namespace {

// A number followed by an optional unit from `units` (the first is the default); the value is returned
// in the default unit. Throws InputError naming the dose text.
double quantity(const std::string& text, const std::string& part, const std::string& what,
                const std::vector<std::pair<std::string, double>>& units, bool* unit_given = nullptr,
                std::string* unit = nullptr) {
    std::size_t used = 0;
    double v = 0;
    try {
        v = std::stod(part, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0) throw InputError("dose '" + text + "': " + what + " '" + part + "' is not a number");
    std::string u = part.substr(used);
    u.erase(0, u.find_first_not_of(" \t"));
    u.erase(u.find_last_not_of(" \t") + 1);
    if (!std::isfinite(v)) throw InputError("dose '" + text + "': " + what + " must be finite");
    if (unit_given) *unit_given = !u.empty();
    if (u.empty()) u = units.front().first;
    for (const auto& [name, factor] : units)
        if (u == name) {
            if (unit) *unit = name;
            return v * factor;
        }
    std::string known;
    for (const auto& [name, factor] : units)
        known += (known.empty() ? "" : ", ") + name;
    throw InputError("dose '" + text + "': unknown unit '" + u + "' for the " + what + " (known: " + known +
                     ")");
}

} // namespace

DoseSpec parse_dose(const std::string& text, DoseSpec::Route route) {
    using Route = DoseSpec::Route;
    const bool infusion = route == Route::infusion, nasal = route == Route::nasal;
    const std::string form = infusion ? "DOSE@START+DURATION (mg/kg, min, min), e.g. 0.5@0+40"
                             : nasal  ? "DOSE@START (mg in 28-mg devices, min), e.g. 84@0 or 56@3d"
                                      : "DOSE@START (mg/kg, min), e.g. 0.5@0";
    DoseSpec d;
    d.route = route;
    const auto at = text.find('@');
    if (at == std::string::npos) throw InputError("dose '" + text + "': expected " + form);
    const auto plus = text.find('+', at);
    if (infusion != (plus != std::string::npos)) throw InputError("dose '" + text + "': expected " + form);
    std::string unit;
    bool unit_given = false;
    const std::vector<std::pair<std::string, double>> mass =
        nasal ? std::vector<std::pair<std::string, double>>{{"mg", 1.0}}
              : std::vector<std::pair<std::string, double>>{{"mg/kg", 1.0}, {"mg", 1.0}};
    d.dose = quantity(text, text.substr(0, at), "dose", mass, &unit_given, &unit);
    d.per_kg = unit == "mg/kg";
    d.start_min =
        quantity(text, text.substr(at + 1, plus == std::string::npos ? std::string::npos : plus - at - 1),
                 "start time", {{"min", 1.0}, {"h", 60.0}, {"d", 1440.0}});
    if (infusion)
        d.duration_min = quantity(text, text.substr(plus + 1), "duration", {{"min", 1.0}, {"h", 60.0}});
    if (d.dose < 0) throw InputError("dose '" + text + "': the dose must not be negative");
    if (d.start_min < 0) throw InputError("dose '" + text + "': the start time must not be negative");
    if (infusion && !(d.duration_min > 0))
        throw InputError("infusion '" + text + "': the duration must be > 0 min");
    if (nasal && !(d.dose > 0)) throw InputError("nasal dose '" + text + "': the dose must be > 0 mg");
    return d;
}

double default_body_weight_kg(const std::string& model) {
    if (model == "rat") return 0.25;    // [A] an adult rat, the weight the rodent set is scaled to
    if (model == "mouse") return 0.025; // [A] an adult mouse
    return pk_model_weight_scaled(model) ? 70.0 : 0.0;
}

int pharmacology_pk(const PkCurveOptions& o, const std::string& out_path) {
    if (o.body_weight_kg && !(*o.body_weight_kg > 0 && *o.body_weight_kg <= 1000))
        throw InputError("--weight-kg: body weight must be in (0, 1000] kg");
    if (!(o.step_min > 0) || !(o.duration_min > 0))
        throw InputError("--step-min and --duration-min must be > 0");
    if (o.fraction_unbound <= 0 || o.fraction_unbound > 1)
        throw InputError("--unbound: fraction must be in (0, 1]");
    if (o.metabolite_fraction_unbound <= 0 || o.metabolite_fraction_unbound > 1)
        throw InputError("--metabolite-unbound: fraction must be in (0, 1]");
    if (o.doses.empty())
        throw InputError("pharmacology pk: give at least one dose (--infusion, --bolus, --nasal, --ip)");
    for (double day : o.session_days)
        if (!(day >= 0)) throw InputError("--session-days: days must be >= 0");
    PkParameters params;
    try {
        params = pk_parameters(o.model, 1.0); // validates the name before the weight is looked at
    } catch (const std::invalid_argument& e) {
        throw InputError(std::string("--model: ") + e.what());
    }
    const double W = o.body_weight_kg ? *o.body_weight_kg : default_body_weight_kg(o.model);
    params = pk_parameters(o.model, W);
    params.metabolite_enabled = o.metabolite;
    const std::vector<DoseSpec> doses =
        o.session_days.empty() ? o.doses : repeat_sessions(o.doses, o.session_days);
    const std::string problem = schedule_problem(params, doses, W);
    if (!problem.empty()) throw InputError("pharmacology pk: " + problem);
    const std::string agent = o.agent.empty() ? params.agent : o.agent;
    find_drug(agent); // unknown agents are refused here (std::invalid_argument -> --agent)
    params.agent = agent;

    PkModel pk(params);
    const std::size_t S = pk.species_count();
    std::vector<double> molar(S), fu(S);
    for (std::size_t s = 0; s < S; ++s) {
        molar[s] = find_drug(pk.species_agent(s)).molar_mass_g_per_mol;
        fu[s] = s == 0 ? o.fraction_unbound : o.metabolite_fraction_unbound;
    }
    // Columns per species: plasma and effect site (total) in ng/mL and uM, and the free effect-site
    // concentration fu * Ce in uM (what the receptors see).
    const char* columns[] = {"plasma_ng_per_mL", "plasma_uM", "effect_site_ng_per_mL", "effect_site_uM",
                             "free_uM"};
    std::vector<double> time;
    std::vector<std::vector<std::vector<double>>> series(S, std::vector<std::vector<double>>(5));
    auto sample = [&](double t) {
        time.push_back(t);
        for (std::size_t s = 0; s < S; ++s) {
            const double cp = pk.plasma_ng_per_mL(s), ce = pk.effect_site_ng_per_mL(s);
            const double values[] = {cp, cp / molar[s], ce, ce / molar[s], fu[s] * ce / molar[s]};
            for (int c = 0; c < 5; ++c)
                series[s][c].push_back(values[c]);
        }
    };
    sample(0.0);
    const long steps = std::lround(o.duration_min / o.step_min);
    for (long n = 0; n < steps; ++n) {
        const double t0 = double(n) * o.step_min;
        pk.advance_schedule(t0, o.step_min, doses, W);
        sample(t0 + o.step_min);
    }

    std::ostringstream table;
    table << "time_min";
    for (std::size_t s = 0; s < S; ++s)
        for (const char* c : columns)
            table << "," << pk.species_agent(s) << "_" << c;
    table << "\n";
    for (std::size_t k = 0; k < time.size(); ++k) {
        table << fmt::format("{:g}", time[k]);
        for (std::size_t s = 0; s < S; ++s)
            for (int c = 0; c < 5; ++c)
                table << (c % 2 == 0 ? fmt::format(",{:.4f}", series[s][c][k])
                                     : fmt::format(",{:.6f}", series[s][c][k]));
        table << "\n";
    }
    fmt::print("# {} pharmacokinetics ({} model{}, fraction unbound {:g}{}); {} doses\n", agent, o.model,
               W > 0 ? fmt::format(", {:g} kg", W) : std::string(), o.fraction_unbound,
               S > 1 ? fmt::format(", metabolite {} unbound {:g}", pk.species_agent(1), fu[1])
                     : std::string(),
               doses.size());
    fmt::print("{}", table.str());
    if (out_path.empty()) return 0;
    const bool h5 =
        out_path.size() > 3 && (out_path.substr(out_path.size() - 3) == ".h5" ||
                                (out_path.size() > 5 && out_path.substr(out_path.size() - 5) == ".hdf5"));
    if (!h5) {
        std::ofstream out(out_path);
        if (!(out << table.str())) throw InputError("--out: cannot write '" + out_path + "'");
        return 0;
    }
    // HDF5: /time_min and one group per species, /<agent>/{plasma_ng_per_mL, ...} (docs/pharmacology.md).
    h5::File file = [&] {
        try {
            return h5::File::create(out_path);
        } catch (const std::exception& e) {
            throw InputError("--out: cannot write '" + out_path + "' (" + e.what() + ")");
        }
    }();
    file.write("time_min", time, "min");
    file.attribute("model", o.model);
    file.attribute("body_weight_kg", W);
    const char* units[] = {"ng/mL", "uM", "ng/mL", "uM", "uM"};
    for (std::size_t s = 0; s < S; ++s) {
        h5::Object g = file.group(pk.species_agent(s));
        g.attribute("role", s == 0 ? "parent" : "metabolite");
        g.attribute("unbound_fraction", fu[s]);
        g.attribute("molar_mass_g_per_mol", molar[s]);
        for (int c = 0; c < 5; ++c)
            g.write(columns[c], series[s][c], units[c]);
    }
    file.close();
    return 0;
}

double apparent_ic50_uM(const std::string& agent, double V_mV, double Mg_mM) {
    const DrugInfo& drug = find_drug(agent);
    const MgBlock mg{Mg_mM};
    const double none = nmda_unblocked_fraction(mg, {}, {}, V_mV);
    double lo = 1e-6, hi = 1e6;
    for (int i = 0; i < 200; ++i) {
        const double mid = std::sqrt(lo * hi);
        (nmda_unblocked_fraction(mg, {drug.block}, {mid}, V_mV) > 0.5 * none ? lo : hi) = mid;
    }
    return std::sqrt(lo * hi);
}

int pharmacology_block(const BlockCurveOptions& o, const std::string& csv_path) {
    if (o.Mg_mM < 0) throw InputError("--mg-mM: [Mg2+] must not be negative");
    const DrugInfo& drug = find_drug(o.agent);
    const MgBlock mg{o.Mg_mM};
    const double none = nmda_unblocked_fraction(mg, {}, {}, o.V_mV);
    std::ostringstream table;
    table << "conc_uM,fraction_blocked_by_drug,fraction_conducting\n";
    for (int k = 0; k <= 60; ++k) {
        const double conc = std::pow(10.0, -3.0 + 0.1 * k); // 1 nM .. 1 mM
        const double open = nmda_unblocked_fraction(mg, {drug.block}, {conc}, o.V_mV);
        table << fmt::format("{:.6g},{:.5f},{:.5f}\n", conc, 1.0 - open / none, open);
    }
    const double ic50 = apparent_ic50_uM(o.agent, o.V_mV, o.Mg_mM);
    fmt::print(
        "# {} block at {:g} mV, [Mg2+] {:g} mM: apparent IC50 {:.4g} uM (K_d {:.4g} uM at this V; {})\n",
        o.agent, o.V_mV, o.Mg_mM, ic50, drug.block.K_d_uM(o.V_mV), drug.source);
    fmt::print("{}", table.str());
    if (!csv_path.empty()) {
        std::ofstream out(csv_path);
        if (!(out << table.str())) throw InputError("--out: cannot write '" + csv_path + "'");
    }
    return 0;
}

} // namespace ketaplast
