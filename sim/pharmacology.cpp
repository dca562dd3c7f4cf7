#include "sim/pharmacology.hpp"

#include "core/error.hpp"
#include "models/drugs.hpp"
#include "models/pharmacokinetics.hpp"

#include <fmt/core.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace ketaplast {

DoseSpec parse_dose(const std::string& text, bool infusion) {
    const std::string form = infusion ? "DOSE@START+DURATION (mg/kg, min, min), e.g. 0.5@0+40"
                                      : "DOSE@START (mg/kg, min), e.g. 0.5@0";
    DoseSpec d;
    d.route = infusion ? DoseSpec::Route::infusion : DoseSpec::Route::bolus;
    char at = 0, plus = 0;
    std::istringstream in(text);
    if (!(in >> d.dose_mg_per_kg >> at >> d.start_min) || at != '@')
        throw InputError("dose '" + text + "': expected " + form);
    if (infusion && (!(in >> plus >> d.duration_min) || plus != '+'))
        throw InputError("infusion '" + text + "': expected " + form);
    std::string rest;
    if (in >> rest)
        throw InputError("dose '" + text + "': unexpected '" + rest + "' (expected " + form + ")");
    if (d.dose_mg_per_kg < 0) throw InputError("dose '" + text + "': the dose must not be negative");
    if (d.start_min < 0) throw InputError("dose '" + text + "': the start time must not be negative");
    if (infusion && !(d.duration_min > 0))
        throw InputError("infusion '" + text + "': the duration must be > 0 min");
    return d;
}

int pharmacology_pk(const PkCurveOptions& o, const std::string& csv_path) {
    if (!(o.body_weight_kg > 0)) throw InputError("--weight-kg: body weight must be > 0 kg");
    if (!(o.step_min > 0) || !(o.duration_min > 0))
        throw InputError("--step-min and --duration-min must be > 0");
    if (o.fraction_unbound <= 0 || o.fraction_unbound > 1)
        throw InputError("--unbound: fraction must be in (0, 1]");
    PkParameters params;
    try {
        params = ketamine_pk(o.model, o.body_weight_kg);
    } catch (const std::invalid_argument& e) {
        throw InputError(std::string("--model: ") + e.what());
    }
    const DrugInfo& drug = find_drug(o.agent);
    PkModel pk(params);
    std::ostringstream table;
    table << "time_min,plasma_ng_per_mL,plasma_uM,effect_site_ng_per_mL,effect_site_free_uM\n";
    auto row = [&](double t) {
        const double cp = pk.plasma_mg_per_L() * 1000.0, ce = pk.effect_site_mg_per_L() * 1000.0;
        table << fmt::format("{:g},{:.4f},{:.5f},{:.4f},{:.5f}\n", t, cp, cp / drug.molar_mass_g_per_mol, ce,
                             o.fraction_unbound * ce / drug.molar_mass_g_per_mol);
    };
    row(0.0);
    const long steps = std::lround(o.duration_min / o.step_min);
    for (long n = 0; n < steps; ++n) {
        const double t0 = double(n) * o.step_min, t1 = t0 + o.step_min;
        pk.advance_schedule(t0, o.step_min, o.doses, o.body_weight_kg);
        row(t1);
    }
    fmt::print("# {} pharmacokinetics ({} model, {} kg, fraction unbound {:g}); concentrations of {}\n",
               o.agent, o.model, o.body_weight_kg, o.fraction_unbound, o.agent);
    fmt::print("{}", table.str());
    if (!csv_path.empty()) {
        std::ofstream out(csv_path);
        if (!(out << table.str())) throw InputError("--out: cannot write '" + csv_path + "'");
    }
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
