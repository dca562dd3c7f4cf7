// projections.<name>.plasticity: the long-term plasticity rule of a projection (docs/science.md §6.1-§6.3;
// models/stdp.hpp, models/calcium_rule.hpp; docs/plasticity.md and docs/config.md for the keys).
#include "sim/config/config_sections.hpp"

#include "core/error.hpp"
#include "models/registry.hpp"

#include <algorithm>

namespace ketaplast::config_detail {

StdpRule read_plasticity(const toml::table& t, TomlReader& projection, const std::string& file,
                         const ProjectionSpec& proj, const PopulationSpec& target,
                         const ModelInfo* target_model, const NetworkSpec& network) {
    TomlReader r(t, projection.key_path("plasticity"), file);
    const std::string rule = r.choice("rule", {"stdp_pair", "stdp_triplet", "calcium"}, "");
    // Where a rule can act. The rules model glutamatergic, NMDA-receptor-dependent plasticity (Bi & Poo
    // 1998: both LTP and LTD need NMDA receptors; docs/science.md §6.1), with bounds that are conductances:
    // - current-based receptors are refused: a current weight is signed and has no reversal potential, so
    //   the bounds [w_min, w_max] could silently turn an inhibitory synapse excitatory;
    // - inhibitory receptors (reversal potential below -40 mV: GABA_A at -70/-80 mV) are refused: the
    //   STDP windows and parameter sets were measured at excitatory synapses.
    if (target_model->receptor_kind != ReceptorKind::conductance)
        r.fail("rule", "population '" + target.name + "' (" + target.model +
                           ") has current-based receptors; STDP is defined here for conductance receptors "
                           "only (glutamatergic synapses with weights in nS)");
    const ReceptorSpec& receptor = target.receptors[proj.receptor_index];
    if (receptor.E_rev_mV < -40.0)
        r.fail("rule", "receptor '" + proj.receptor + "' of '" + target.name + "' reverses at " +
                           number_text(receptor.E_rev_mV) +
                           " mV: an inhibitory receptor; spike-timing rules apply to excitatory "
                           "(glutamatergic) synapses only");
    if (network.weights_uint16)
        r.fail("rule", "network.weight_storage = \"uint16\" stores static weights as 16-bit codes; plastic "
                       "weights need float32 storage (remove weight_storage or set it to \"float32\")");

    StdpRule s;
    const ParamDef tau_range = range(0.0, 1e7, false, true);
    // A learning rate is the weight change per spike pair in units of w_max: 1 or more would move a weight
    // across its whole range in one pairing.
    const ParamDef rate_range = range(0.0, 1.0, true, false);
    if (rule == "stdp_pair") {
        s.kind = StdpRule::Kind::pair;
        // Song, Miller & Abbott (2000), values as in docs/science.md §6.1.
        s.A2_plus = r.number("A_plus", range(0.0, 1.0, true, false, 0.005));
        s.A2_minus = r.number("A_minus", range(0.0, 1.0, true, false, 0.00525));
        s.tau_plus_ms = r.number("tau_plus_ms", range(0.0, 1e7, false, true, 20.0));
        s.tau_minus_ms = r.number("tau_minus_ms", range(0.0, 1e7, false, true, 20.0));
        s.nearest_spike =
            r.choice("interaction", {"all_to_all", "nearest_spike"}, "all_to_all") == "nearest_spike";
    } else if (rule == "calcium") {
        s.kind = StdpRule::Kind::calcium;
        std::vector<std::string> names;
        for (const auto& set : calcium_rule_sets())
            names.push_back(set.name);
        // The cortical-slices set by default: there neither C_pre nor C_post alone reaches theta_p, so
        // potentiation needs pre-post coincidence and NMDA receptors (docs/science.md §6.3).
        const std::string set_name = r.choice("parameter_set", names, "cortical_slices");
        const CalciumRuleSet& set =
            *std::find_if(calcium_rule_sets().begin(), calcium_rule_sets().end(),
                          [&](const CalciumRuleSet& x) { return set_name == x.name; });
        CalciumRule& c = s.calcium;
        const ParamDef positive = range(0.0, 1e7, false, true);
        const ParamDef non_negative = range(0.0, 1e7, true, true);
        c.tau_Ca_ms = r.optional_number("tau_Ca_ms", positive).value_or(set.tau_Ca_ms);
        c.C_pre = r.optional_number("C_pre", non_negative).value_or(set.C_pre);
        c.C_post = r.optional_number("C_post", non_negative).value_or(set.C_post);
        c.theta_d = r.optional_number("theta_d", positive).value_or(set.theta_d);
        c.theta_p = r.optional_number("theta_p", positive).value_or(set.theta_p);
        c.gamma_d = r.optional_number("gamma_d", positive).value_or(set.gamma_d);
        c.gamma_p = r.optional_number("gamma_p", positive).value_or(set.gamma_p);
        c.sigma = r.optional_number("sigma", non_negative).value_or(set.sigma);
        c.tau_ms = 1000.0 * r.optional_number("tau_s", positive).value_or(set.tau_s);
        c.D_ms = r.optional_number("D_ms", range(0.0, 1e4, true, true)).value_or(set.D_ms);
        c.double_well = r.boolean("double_well", true);
        c.V_ref_mV = r.number("V_ref_mV", range(-150.0, 50.0, true, true, -70.0));
        // NMDA coupling: the target's first NMDA receptor unless named ("" switches it off).
        std::string first_nmda;
        for (const ReceptorSpec& rec : target.receptors)
            if (rec.shape == ReceptorShape::nmda) {
                first_nmda = rec.name;
                break;
            }
        c.nmda_receptor = r.string("nmda_receptor", first_nmda);
        if (!c.nmda_receptor.empty()) {
            const auto it = std::find_if(target.receptors.begin(), target.receptors.end(),
                                         [&](const ReceptorSpec& x) { return x.name == c.nmda_receptor; });
            if (it == target.receptors.end() || it->shape != ReceptorShape::nmda)
                r.fail("nmda_receptor", "population '" + target.name + "' has no NMDA receptor '" +
                                            c.nmda_receptor +
                                            "' (its C_pre is the NMDA-mediated calcium entry; "
                                            "\"\" switches the coupling off)");
        }
        s.w_max = r.required_number("w_max_nS", range(0.0, 1e6, false, true));
        // w_min (the DOWN state) from the set's ratio b = w1 / w0 unless given.
        s.w_min = r.number("w_min_nS", range(0.0, 1e6, true, true, s.w_max / set.b));
    } else {
        s.kind = StdpRule::Kind::triplet;
        std::vector<std::string> names;
        for (const auto& set : triplet_sets())
            names.push_back(set.name);
        const std::string set_name = r.choice("parameter_set", names, "visual_cortex_all_to_all");
        const TripletSet& set = *std::find_if(triplet_sets().begin(), triplet_sets().end(),
                                              [&](const TripletSet& x) { return set_name == x.name; });
        s.tau_plus_ms = r.optional_number("tau_plus_ms", tau_range).value_or(set.tau_plus_ms);
        s.tau_minus_ms = r.optional_number("tau_minus_ms", tau_range).value_or(set.tau_minus_ms);
        s.tau_x_ms = r.optional_number("tau_x_ms", tau_range).value_or(set.tau_x_ms);
        s.tau_y_ms = r.optional_number("tau_y_ms", tau_range).value_or(set.tau_y_ms);
        s.A2_plus = r.optional_number("A2_plus", rate_range).value_or(set.A2_plus);
        s.A3_plus = r.optional_number("A3_plus", rate_range).value_or(set.A3_plus);
        s.A2_minus = r.optional_number("A2_minus", rate_range).value_or(set.A2_minus);
        s.A3_minus = r.optional_number("A3_minus", rate_range).value_or(set.A3_minus);
        s.nearest_spike = r.choice("interaction", {"all_to_all", "nearest_spike"},
                                   set.nearest_spike ? "nearest_spike" : "all_to_all") == "nearest_spike";
    }
    if (s.kind != StdpRule::Kind::calcium) {
        s.bounds = r.choice("bounds", {"additive", "multiplicative"}, "additive") == "multiplicative"
                       ? StdpRule::Bounds::multiplicative
                       : StdpRule::Bounds::additive;
        s.w_max = r.required_number("w_max_nS", range(0.0, 1e6, false, true));
        s.w_min = r.number("w_min_nS", range(0.0, 1e6, true, true, 0.0));
    }
    if (s.w_min >= s.w_max)
        r.fail("w_min_nS",
               "w_min_nS = " + number_text(s.w_min) + " must be below w_max_nS = " + number_text(s.w_max));
    // Initial weights: a constant must lie in the bounds; draws of a distribution are clipped to them
    // (sim/network/plasticity.cpp), but its mean must lie inside.
    const double w0 = proj.weight.expected();
    if (w0 < s.w_min || w0 > s.w_max)
        projection.fail("weight_nS", "initial weight " + number_text(w0) +
                                         " nS is outside the plasticity bounds [" + number_text(s.w_min) +
                                         ", " + number_text(s.w_max) +
                                         "] (plasticity.w_min_nS, "
                                         "w_max_nS)");
    r.finish();
    return s;
}

} // namespace ketaplast::config_detail
