#include "sim/network/presynaptic_state.hpp"

#include "models/exp_receptors.hpp"

#include <algorithm>

namespace ketaplast {

PresynapticState::PresynapticState(const Experiment& exp, const std::vector<std::uint32_t>& first_gid,
                                   std::uint32_t workers)
    : dt_ms_(exp.simulation.dt_ms) {
    const std::size_t n_pops = exp.populations.size();
    slots_of_population_.resize(n_pops);
    for (std::size_t p = 0; p < n_pops; ++p)
        population_end_gid_.push_back(first_gid[p] + exp.populations[p].size);
    active_.assign(exp.projections.size(), 0);
    for (std::uint32_t p = 0; p < exp.projections.size(); ++p) {
        const ProjectionSpec& proj = exp.projections[p];
        const ReceptorSpec& receptor = exp.populations[proj.target_index].receptors[proj.receptor_index];
        const bool saturating = receptor.shape == ReceptorShape::nmda && receptor.saturation_alpha_per_ms > 0;
        if (!proj.stp && !saturating) continue;
        Slot slot;
        slot.projection = p;
        slot.name = proj.name;
        slot.first_gid = first_gid[proj.source_index];
        slot.size = exp.populations[proj.source_index].size;
        if (proj.stp) { // the config refuses STP onto a saturating receptor
                        // (sim/config/config_projections.cpp)
            slot.kind = Kind::tsodyks_markram;
            slot.tm = *proj.stp;
        } else {
            slot.kind = Kind::brunel_wang;
            slot.bw = BrunelWangJump(
                BrunelWangParams{receptor.saturation_alpha_per_ms, receptor.tau_rise_ms, receptor.tau_ms});
            slot.bw_scale = dual_exponential_peak(receptor.tau_rise_ms, receptor.tau_ms);
        }
        slots_of_population_[proj.source_index].push_back(std::uint32_t(slots_.size()));
        slots_.push_back(slot);
        active_[p] = 1;
    }
    if (slots_.empty()) return;
    replicas_.resize(workers);
    for (Replica& r : replicas_) {
        for (const Slot& slot : slots_) {
            // A rested terminal: u = 0, x = 1 (TM); s = 0 (BW). The first spike's interval then does not
            // matter.
            const bool tm = slot.kind == Kind::tsodyks_markram;
            r.a.emplace_back(slot.size, 0.0);
            r.b.emplace_back(tm ? slot.size : 0, 1.0);
            r.last_step.emplace_back(slot.size, 0.0);
        }
        r.factor.assign(exp.projections.size(), 1.0f);
    }
}

const float* PresynapticState::on_spike(std::uint32_t worker, std::int64_t step, std::uint32_t gid) {
    Replica& r = replicas_[worker];
    const std::size_t pop =
        std::size_t(std::upper_bound(population_end_gid_.begin(), population_end_gid_.end(), gid) -
                    population_end_gid_.begin());
    for (const std::uint32_t k : slots_of_population_[pop]) {
        const Slot& slot = slots_[k];
        const std::uint32_t i = gid - slot.first_gid;
        const double interval_ms = (double(step) - r.last_step[k][i]) * dt_ms_;
        r.last_step[k][i] = double(step);
        if (slot.kind == Kind::tsodyks_markram) {
            TsodyksMarkramState s{r.a[k][i], r.b[k][i]};
            r.factor[slot.projection] = float(tsodyks_markram_spike(slot.tm, s, interval_ms));
            r.a[k][i] = s.u;
            r.b[k][i] = s.x;
        } else {
            r.factor[slot.projection] = float(slot.bw.spike(r.a[k][i], interval_ms) * slot.bw_scale);
        }
    }
    return r.factor.data();
}

std::vector<NamedArray> PresynapticState::arrays() {
    std::vector<NamedArray> out;
    if (replicas_.empty()) return out;
    Replica& r = replicas_[0];
    for (std::size_t k = 0; k < slots_.size(); ++k) {
        const std::string prefix = "presynaptic." + slots_[k].name + ".";
        const std::size_t n = slots_[k].size;
        if (slots_[k].kind == Kind::tsodyks_markram) {
            out.push_back({prefix + "u", r.a[k].data(), n});
            out.push_back({prefix + "x", r.b[k].data(), n});
        } else {
            out.push_back({prefix + "s", r.a[k].data(), n});
        }
        out.push_back({prefix + "last_spike_step", r.last_step[k].data(), n});
    }
    return out;
}

void PresynapticState::copy_to_all_workers() {
    for (std::size_t w = 1; w < replicas_.size(); ++w) {
        replicas_[w].a = replicas_[0].a;
        replicas_[w].b = replicas_[0].b;
        replicas_[w].last_step = replicas_[0].last_step;
    }
}

std::size_t PresynapticState::bytes() const {
    std::size_t total = 0;
    for (const Replica& r : replicas_)
        for (std::size_t k = 0; k < r.a.size(); ++k)
            total += (r.a[k].size() + r.b[k].size() + r.last_step[k].size()) * sizeof(double);
    return total;
}

} // namespace ketaplast
