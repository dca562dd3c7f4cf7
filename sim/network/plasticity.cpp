#include "sim/network/plasticity.hpp"

#include "core/error.hpp"
#include "core/random.hpp"
#include "models/neuron_group.hpp"
#include "sim/io/checkpoint.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <optional>
#include <stdexcept>

namespace ketaplast {

namespace {
// "Never spiked": a last-jump step so far in the past that every decay factor is exactly 0 (exp
// underflows), without overflow in step - never.
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min() / 4;
// No pending presynaptic calcium transient.
constexpr std::int64_t kNone = std::numeric_limits<std::int64_t>::max();
} // namespace

PlasticityState::PlasticityState(const Experiment& exp, const std::vector<std::uint32_t>& first_gid,
                                 std::vector<std::vector<SynapseShard>>& shards, std::uint32_t workers) {
    const double dt = exp.simulation.dt_ms;
    dt_ms_ = dt;
    seed_ = exp.simulation.seed;
    const std::size_t n_pops = exp.populations.size();
    slots_from_population_.resize(n_pops);
    receives_.assign(n_pops, 0);
    for (std::size_t p = 0; p < n_pops; ++p)
        population_end_gid_.push_back(first_gid[p] + exp.populations[p].size);
    active_.assign(exp.projections.size(), 0);
    slot_of_projection_.assign(exp.projections.size(), -1);
    for (std::uint32_t p = 0; p < exp.projections.size(); ++p) {
        const ProjectionSpec& proj = exp.projections[p];
        if (!proj.plasticity) continue;
        Slot s;
        s.projection = p;
        s.name = proj.name;
        s.rule = *proj.plasticity;
        s.source_population = std::uint32_t(proj.source_index);
        s.source_first_gid = first_gid[proj.source_index];
        s.source_size = exp.populations[proj.source_index].size;
        s.target_population = std::uint32_t(proj.target_index);
        s.target_first_gid = first_gid[proj.target_index];
        s.target_size = exp.populations[proj.target_index].size;
        s.decay_plus = TraceDecay(s.rule.tau_plus_ms, dt);
        s.decay_minus = TraceDecay(s.rule.tau_minus_ms, dt);
        s.decay_x = TraceDecay(s.rule.tau_x_ms, dt);
        s.decay_y = TraceDecay(s.rule.tau_y_ms, dt);
        s.o1.assign(s.target_size, 0.0);
        s.o2.assign(s.target_size, 0.0);
        s.post_last_step.assign(s.target_size, kNever);
        s.calcium = s.rule.kind == StdpRule::Kind::calcium;
        // The presynaptic calcium delay on the step grid (4.6098 ms -> 4.6 ms at dt = 0.1 ms).
        if (s.calcium) s.D_steps = std::int64_t(std::llround(s.rule.calcium.D_ms / dt));
        slot_of_projection_[p] = std::int32_t(slots_.size());
        slots_from_population_[proj.source_index].push_back(std::uint32_t(slots_.size()));
        receives_[proj.target_index] = 1;
        active_[p] = 1;
        slots_.push_back(std::move(s));
    }
    if (slots_.empty()) return;

    replicas_.resize(workers);
    for (Replica& r : replicas_) {
        for (const Slot& s : slots_)
            r.slots.push_back({std::vector<double>(s.source_size, 0.0),
                               std::vector<double>(s.source_size, 0.0),
                               std::vector<std::int64_t>(s.source_size, kNever)});
        r.depression.assign(exp.projections.size(), 0.0);
    }

    // Initial weights into the bounds, and each worker's target indexes (in parallel: shards are per worker).
    indexes_.resize(workers);
    calcium_.resize(workers);
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(workers))
    for (std::uint32_t w = 0; w < workers; ++w) {
        calcium_[w].resize(shards[w].size());
        for (std::uint32_t si = 0; si < shards[w].size(); ++si) {
            SynapseShard& shard = shards[w][si];
            for (const Slot& s : slots_)
                if (s.calcium && s.target_population == shard.population && calcium_[w][si].c.empty()) {
                    const std::size_t n = shard.synapse_count();
                    CalciumState& cs = calcium_[w][si];
                    cs.c.assign(n, 0.0f);
                    cs.rho.assign(n, 0.0f);
                    cs.pending_amp.assign(n, 0.0f);
                    cs.last_step.assign(n, 0);
                    cs.pending_step.assign(n, kNone);
                }
            for (std::uint32_t k = 0; k < slots_.size(); ++k) {
                const Slot& s = slots_[k];
                if (s.target_population != shard.population) continue;
                TargetIndex index;
                index.slot = k;
                index.shard = si;
                index.population = shard.population;
                index.local_begin = shard.local_begin;
                index.local_count = shard.local_count;
                index.offsets.assign(std::size_t(shard.local_count) + 1, 0);
                // Two passes over the projection's segments: count per target, then fill.
                for (int pass = 0; pass < 2; ++pass) {
                    std::vector<std::uint32_t> cursor;
                    if (pass == 1) {
                        std::partial_sum(index.offsets.begin(), index.offsets.end(), index.offsets.begin());
                        index.synapse.resize(index.offsets.back());
                        index.source.resize(index.offsets.back());
                        cursor.assign(index.offsets.begin(), index.offsets.end() - 1);
                    }
                    for (std::uint32_t i = 0; i < s.source_size; ++i) {
                        const std::uint32_t gid = s.source_first_gid + i;
                        std::uint32_t syn = shard.source_synapses[gid];
                        for (std::uint32_t g = shard.source_segments[gid]; g < shard.source_segments[gid + 1];
                             ++g) {
                            const SynapseSegment& seg = shard.segments[g];
                            if (seg.projection == s.projection)
                                for (std::uint32_t j = 0; j < seg.count; ++j) {
                                    const std::uint32_t t = shard.target[syn + j];
                                    if (pass == 0) {
                                        ++index.offsets[t + 1];
                                        float& weight = shard.weight[syn + j];
                                        weight =
                                            float(std::clamp(double(weight), s.rule.w_min, s.rule.w_max));
                                        // Calcium rule: rho from the initial weight, w = w_min + rho (w_max
                                        // - w_min).
                                        if (s.calcium)
                                            calcium_[w][si].rho[syn + j] =
                                                float((double(weight) - s.rule.w_min) /
                                                      (s.rule.w_max - s.rule.w_min));
                                    } else {
                                        const std::uint32_t at = cursor[t]++;
                                        index.synapse[at] = syn + j;
                                        index.source[at] = i;
                                    }
                                }
                            syn += seg.count;
                        }
                    }
                }
                indexes_[w].push_back(std::move(index));
            }
        }
    }
    for (const auto& worker : indexes_)
        for (const auto& index : worker)
            slots_[index.slot].synapses += index.synapse.size();
}

const double* PlasticityState::on_pre(std::uint32_t worker, std::int64_t step, std::uint32_t gid) {
    Replica& r = replicas_[worker];
    const std::size_t pop =
        std::size_t(std::upper_bound(population_end_gid_.begin(), population_end_gid_.end(), gid) -
                    population_end_gid_.begin());
    for (const std::uint32_t k : slots_from_population_[pop]) {
        const Slot& s = slots_[k];
        if (s.calcium) continue; // no presynaptic traces: the transient is per synapse
        PreTraces& pre = r.slots[k];
        const std::uint32_t i = gid - s.source_first_gid;
        const std::int64_t since = step - pre.last_step[i];
        const double r2_before = pre.r2[i] * s.decay_x(since);
        r.depression[s.projection] = s.rule.A2_minus + s.rule.A3_minus * r2_before;
        pre.r1[i] = s.rule.jump(pre.r1[i] * s.decay_plus(since));
        pre.r2[i] = s.rule.jump(r2_before);
        pre.last_step[i] = step;
    }
    return r.depression.data();
}

void PlasticityState::bind_neurons(const Experiment& exp, const std::vector<NeuronGroup*>& groups) {
    for (Slot& s : slots_) {
        if (!s.calcium || s.rule.calcium.nmda_receptor.empty()) continue;
        const PopulationSpec& pop = exp.populations[s.target_population];
        const std::string& name = s.rule.calcium.nmda_receptor;
        const auto r = std::find_if(pop.receptors.begin(), pop.receptors.end(),
                                    [&](const ReceptorSpec& x) { return x.name == name; });
        NeuronGroup* group = groups[s.target_population];
        if (r == pop.receptors.end() || !group || !group->state("V_m_mV"))
            throw std::logic_error("projections." + s.name + ".plasticity.nmda_receptor: population '" +
                                   pop.name + "' has no NMDA receptor '" + name +
                                   "' with a membrane potential V_m_mV");
        s.V_mV = group->state("V_m_mV");
        s.blocked.clear();
        for (std::size_t d = 0;; ++d) {
            const double* b = group->state_f64("blocked_" + name + "_" + std::to_string(d));
            if (!b) break;
            s.blocked.push_back(b);
        }
        s.Mg_over_K0 = r->Mg_mM / r->K_Mg0_mM;
        s.Mg_slope_per_mV = r->Mg_slope_per_mV;
        s.inv_B_ref = 1.0 + s.Mg_over_K0 * std::exp(-s.Mg_slope_per_mV * s.rule.calcium.V_ref_mV);
    }
}

double PlasticityState::pre_amplitude(const Slot& s, std::uint32_t t) const {
    const CalciumRule& cr = s.rule.calcium;
    if (!s.V_mV) return cr.C_pre;
    double free_fraction = 1.0;
    for (const double* b : s.blocked)
        free_fraction -= b[t];
    const double B = 1.0 / (1.0 + s.Mg_over_K0 * std::exp(-s.Mg_slope_per_mV * double(s.V_mV[t])));
    return cr.C_pre * std::max(0.0, free_fraction) * B * s.inv_B_ref;
}

void PlasticityState::advance(const Slot& s, CalciumState& cs, std::size_t pos, std::int64_t to_step,
                              float& weight, std::uint32_t source_gid, std::uint32_t target_gid,
                              int kind) const {
    const CalciumRule& cr = s.rule.calcium;
    const double h_ms = double(to_step - cs.last_step[pos]) * dt_ms_;
    if (h_ms <= 0.0) return;
    const double c0 = cs.c[pos], rho0 = cs.rho[pos];
    // The noise stream of this synapse and event: keyed on identities only (thread-invariant).
    std::optional<RandomStream> stream;
    auto normal = [&]() {
        if (!stream) {
            const std::uint64_t key_seed =
                mix64(seed_ ^ ((std::uint64_t(target_gid) + 1) * 0x9E3779B97F4A7C15ull));
            stream.emplace(StreamKey(key_seed, RandomPurpose::plasticity_noise, s.projection), source_gid,
                           std::uint64_t(to_step) * 2 + std::uint64_t(kind));
        }
        return cr.sigma > 0.0 ? stream->normal() : 0.0;
    };
    const double rho = cr.advance(rho0, c0, h_ms, normal);
    cs.rho[pos] = float(rho);
    cs.c[pos] = float(c0 * std::exp(-h_ms / cr.tau_Ca_ms));
    cs.last_step[pos] = to_step;
    // w = w0 + rho (w1 - w0) (Graupner & Brunel 2012), kept within [w0, w1] (rho leaves [0, 1] slightly
    // under noise). A multiplicative scaling of the weights from outside would be replaced at the synapse's
    // next calcium event: the protocol's write-back refuses plastic projections
    // (sim/config/config_protocol.cpp).
    (void)rho0;
    weight = float(std::clamp(s.rule.w_min + double(cs.rho[pos]) * (s.rule.w_max - s.rule.w_min),
                              s.rule.w_min, s.rule.w_max));
}

void PlasticityState::flush(const Slot& s, CalciumState& cs, std::size_t pos, std::int64_t step,
                            float& weight, std::uint32_t source_gid, std::uint32_t target_gid) const {
    if (cs.pending_step[pos] > step) return;
    advance(s, cs, pos, cs.pending_step[pos], weight, source_gid, target_gid, 0);
    cs.c[pos] += cs.pending_amp[pos];
    cs.pending_step[pos] = kNone;
    cs.pending_amp[pos] = 0.0f;
}

void PlasticityState::deliver_and_depress(std::uint32_t worker, std::uint32_t shard, std::uint32_t first,
                                          std::uint32_t source_gid, std::uint32_t projection,
                                          std::int64_t step, double depression_per_o1, float f,
                                          std::uint32_t local_begin, const std::uint16_t* target,
                                          float* weight, std::uint32_t count, float* buffer) {
    const Slot& s = slots_[std::size_t(slot_of_projection_[projection])];
    if (s.calcium) {
        CalciumState& cs = calcium_[worker][shard];
        const std::int64_t arrival = step + s.D_steps;
        const double decay_per_step = std::exp(-dt_ms_ / s.rule.calcium.tau_Ca_ms);
        for (std::uint32_t j = 0; j < count; ++j) {
            const std::uint16_t t = target[j];
            buffer[t] += weight[j] * f;
            const std::size_t pos = std::size_t(first) + j;
            const std::uint32_t local = local_begin + t;
            const std::uint32_t target_gid = s.target_first_gid + local;
            flush(s, cs, pos, step, weight[j], source_gid, target_gid);
            const double amp = pre_amplitude(s, local);
            if (cs.pending_step[pos] == kNone) {
                cs.pending_step[pos] = arrival;
                cs.pending_amp[pos] = float(amp);
            } else { // still pending (rate above 1/D): merge into the newer transient
                cs.pending_amp[pos] =
                    float(double(cs.pending_amp[pos]) *
                              std::pow(decay_per_step, double(arrival - cs.pending_step[pos])) +
                          amp);
                cs.pending_step[pos] = arrival;
            }
        }
        return;
    }
    const double* o1 = s.o1.data() + local_begin;
    const std::int64_t* last = s.post_last_step.data() + local_begin;
    for (std::uint32_t j = 0; j < count; ++j) {
        const std::uint16_t t = target[j];
        buffer[t] += weight[j] * f;
        const double trace = o1[t] * s.decay_minus(step - last[t]);
        if (trace != 0.0) weight[j] = s.rule.depress_by(weight[j], trace * depression_per_o1);
    }
}

bool PlasticityState::receives(std::uint32_t gid) const {
    const std::size_t pop =
        std::size_t(std::upper_bound(population_end_gid_.begin(), population_end_gid_.end(), gid) -
                    population_end_gid_.begin());
    return pop < receives_.size() && receives_[pop];
}

void PlasticityState::on_post(std::uint32_t worker, std::int64_t step, std::uint32_t gid,
                              std::vector<SynapseShard>& worker_shards) {
    const Replica& r = replicas_[worker];
    for (const TargetIndex& index : indexes_[worker]) {
        Slot& s = slots_[index.slot];
        if (s.target_population != index.population || gid < s.target_first_gid) continue;
        const std::uint32_t t = gid - s.target_first_gid;
        if (t < index.local_begin || t >= index.local_begin + index.local_count) continue;
        float* weight = worker_shards[index.shard].weight.data();
        if (s.calcium) { // calcium rule: every synapse onto t gets its transient C_post
            CalciumState& cs = calcium_[worker][index.shard];
            const std::uint32_t local = t - index.local_begin;
            for (std::uint32_t e = index.offsets[local]; e < index.offsets[local + 1]; ++e) {
                const std::uint32_t pos = index.synapse[e];
                const std::uint32_t source_gid = s.source_first_gid + index.source[e];
                flush(s, cs, pos, step, weight[pos], source_gid, gid);
                advance(s, cs, pos, step, weight[pos], source_gid, gid, 1);
                cs.c[pos] += float(s.rule.calcium.C_post);
            }
            continue;
        }
        const std::int64_t since = step - s.post_last_step[t];
        const double o2_before = s.o2[t] * s.decay_y(since);
        const PreTraces& pre = r.slots[index.slot];
        const std::uint32_t local = t - index.local_begin;
        for (std::uint32_t e = index.offsets[local]; e < index.offsets[local + 1]; ++e) {
            const std::uint32_t i = index.source[e];
            const double r1 = pre.r1[i] * s.decay_plus(step - pre.last_step[i]);
            if (r1 != 0.0)
                weight[index.synapse[e]] = s.rule.potentiate(weight[index.synapse[e]], r1, o2_before);
        }
        s.o1[t] = s.rule.jump(s.o1[t] * s.decay_minus(since));
        s.o2[t] = s.rule.jump(o2_before);
        s.post_last_step[t] = step;
    }
}

std::vector<float*> PlasticityState::weights_in_order(std::size_t k,
                                                      std::vector<std::vector<SynapseShard>>& shards) const {
    std::vector<float*> out;
    for (const Position& p : positions_in_order(k, shards))
        out.push_back(&shards[p.worker][p.shard].weight[p.synapse]);
    return out;
}

std::vector<PlasticityState::Position>
PlasticityState::positions_in_order(std::size_t k, std::vector<std::vector<SynapseShard>>& shards) const {
    const Slot& s = slots_[k];
    std::vector<std::pair<std::uint32_t, Position>> refs; // (target, position)
    for (std::uint32_t w = 0; w < shards.size(); ++w)
        for (std::uint32_t si = 0; si < shards[w].size(); ++si) {
            const SynapseShard& shard = shards[w][si];
            if (shard.population != s.target_population) continue;
            for (std::uint32_t i = 0; i < s.source_size; ++i) {
                const std::uint32_t gid = s.source_first_gid + i;
                std::uint32_t syn = shard.source_synapses[gid];
                for (std::uint32_t g = shard.source_segments[gid]; g < shard.source_segments[gid + 1]; ++g) {
                    const SynapseSegment& seg = shard.segments[g];
                    if (seg.projection == s.projection)
                        for (std::uint32_t j = 0; j < seg.count; ++j)
                            refs.emplace_back(shard.local_begin + shard.target[syn + j],
                                              Position{w, si, syn + j});
                    syn += seg.count;
                }
            }
        }
    std::stable_sort(refs.begin(), refs.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Position> out;
    out.reserve(refs.size());
    for (const auto& [t, p] : refs)
        out.push_back(p);
    return out;
}

void PlasticityState::checkpoint(StateArchive& a, std::vector<std::vector<SynapseShard>>& shards) {
    for (std::size_t k = 0; k < slots_.size(); ++k) {
        Slot& s = slots_[k];
        const std::string base = "plasticity/" + s.name + "/";
        const std::vector<float*> refs = weights_in_order(k, shards);
        std::vector<float> weights(refs.size());
        if (!a.loading())
            for (std::size_t e = 0; e < refs.size(); ++e)
                weights[e] = *refs[e];
        a.array(base + "weight_nS", weights.data(), weights.size());
        if (a.loading())
            for (std::size_t e = 0; e < refs.size(); ++e)
                *refs[e] = weights[e];
        if (s.calcium) { // per-synapse calcium state, in the same order as the weights
            const std::vector<Position> pos = positions_in_order(k, shards);
            const std::size_t n = pos.size();
            std::vector<float> c(n), rho(n), amp(n);
            std::vector<std::int64_t> last(n), pending(n);
            if (!a.loading())
                for (std::size_t e = 0; e < n; ++e) {
                    const CalciumState& cs = calcium_[pos[e].worker][pos[e].shard];
                    c[e] = cs.c[pos[e].synapse];
                    rho[e] = cs.rho[pos[e].synapse];
                    amp[e] = cs.pending_amp[pos[e].synapse];
                    last[e] = cs.last_step[pos[e].synapse];
                    pending[e] = cs.pending_step[pos[e].synapse];
                }
            a.array(base + "calcium", c.data(), n);
            a.array(base + "rho", rho.data(), n);
            a.array(base + "pending_calcium", amp.data(), n);
            a.array(base + "calcium_last_step", last.data(), n);
            a.array(base + "pending_calcium_step", pending.data(), n);
            if (a.loading())
                for (std::size_t e = 0; e < n; ++e) {
                    CalciumState& cs = calcium_[pos[e].worker][pos[e].shard];
                    cs.c[pos[e].synapse] = c[e];
                    cs.rho[pos[e].synapse] = rho[e];
                    cs.pending_amp[pos[e].synapse] = amp[e];
                    cs.last_step[pos[e].synapse] = last[e];
                    cs.pending_step[pos[e].synapse] = pending[e];
                }
            continue;
        }
        a.array(base + "post_o1", s.o1.data(), s.o1.size());
        a.array(base + "post_o2", s.o2.data(), s.o2.size());
        a.array(base + "post_last_spike_step", s.post_last_step.data(), s.post_last_step.size());
        PreTraces& pre = replicas_[0].slots[k]; // every replica is equal between exchange intervals
        a.array(base + "pre_r1", pre.r1.data(), pre.r1.size());
        a.array(base + "pre_r2", pre.r2.data(), pre.r2.size());
        a.array(base + "pre_last_spike_step", pre.last_step.data(), pre.last_step.size());
    }
    if (a.loading())
        for (std::size_t w = 1; w < replicas_.size(); ++w)
            replicas_[w].slots = replicas_[0].slots;
}

std::vector<PlasticityState::Saturation>
PlasticityState::saturation(const std::vector<std::vector<SynapseShard>>& shards) const {
    std::vector<Saturation> out;
    for (const Slot& s : slots_)
        out.push_back({s.projection, 0, 0});
    const auto& indexes = indexes_;
    for (std::size_t w = 0; w < indexes.size(); ++w)
        for (const TargetIndex& index : indexes[w]) {
            const Slot& s = slots_[index.slot];
            // The calcium rule is bistable by design (rho -> 0 or 1) and bounded by construction: its
            // synapses are not counted as saturated (no runaway check).
            if (s.calcium) {
                out[index.slot].synapses += index.synapse.size();
                continue;
            }
            const double margin = 0.01 * (s.rule.w_max - s.rule.w_min);
            const float* weight = shards[w][index.shard].weight.data();
            Saturation& sat = out[index.slot];
            for (const std::uint32_t k : index.synapse) {
                const double x = weight[k];
                sat.synapses += 1;
                sat.at_bound += (x <= s.rule.w_min + margin || x >= s.rule.w_max - margin) ? 1 : 0;
            }
        }
    return out;
}

const std::string& PlasticityState::name(std::uint32_t projection) const {
    return slots_.at(std::size_t(slot_of_projection_.at(projection))).name;
}

const StdpRule& PlasticityState::rule(std::uint32_t projection) const {
    return slots_.at(std::size_t(slot_of_projection_.at(projection))).rule;
}

std::size_t PlasticityState::bytes() const {
    std::size_t total = 0;
    for (const Slot& s : slots_)
        total +=
            (s.o1.size() + s.o2.size()) * sizeof(double) + s.post_last_step.size() * sizeof(std::int64_t);
    for (const Replica& r : replicas_)
        for (const PreTraces& p : r.slots)
            total += (p.r1.size() + p.r2.size()) * sizeof(double) + p.last_step.size() * sizeof(std::int64_t);
    for (const auto& worker : calcium_)
        for (const CalciumState& cs : worker)
            total += (cs.c.size() + cs.rho.size() + cs.pending_amp.size()) * sizeof(float) +
                     (cs.last_step.size() + cs.pending_step.size()) * sizeof(std::int64_t);
    for (const auto& worker : indexes_)
        for (const TargetIndex& index : worker)
            total +=
                (index.offsets.size() + index.synapse.size() + index.source.size()) * sizeof(std::uint32_t);
    return total;
}

std::uint64_t PlasticityState::synapse_count() const {
    std::uint64_t n = 0;
    for (const Slot& s : slots_)
        n += s.synapses;
    return n;
}

} // namespace ketaplast
