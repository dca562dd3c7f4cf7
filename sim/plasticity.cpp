#include "sim/plasticity.hpp"

#include "sim/checkpoint.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>

namespace ketaplast {

namespace {
// "Never spiked": a last-jump step so far in the past that every decay factor is exactly 0 (exp
// underflows), without overflow in step - never.
constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::min() / 4;
} // namespace

PlasticityState::PlasticityState(const Experiment& exp, const std::vector<std::uint32_t>& first_gid,
                                 std::vector<std::vector<SynapseShard>>& shards, std::uint32_t workers) {
    const double dt = exp.simulation.dt_ms;
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
#pragma omp parallel for schedule(dynamic, 1) num_threads(int(workers))
    for (std::uint32_t w = 0; w < workers; ++w) {
        for (std::uint32_t si = 0; si < shards[w].size(); ++si) {
            SynapseShard& shard = shards[w][si];
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

void PlasticityState::deliver_and_depress(std::uint32_t projection, std::int64_t step,
                                          double depression_per_o1, float f, std::uint32_t local_begin,
                                          const std::uint16_t* target, float* weight, std::uint32_t count,
                                          float* buffer) const {
    const Slot& s = slots_[std::size_t(slot_of_projection_[projection])];
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
        const std::int64_t since = step - s.post_last_step[t];
        const double o2_before = s.o2[t] * s.decay_y(since);
        float* weight = worker_shards[index.shard].weight.data();
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
    const Slot& s = slots_[k];
    std::vector<std::pair<std::uint32_t, float*>> refs; // (target, weight)
    for (auto& worker : shards)
        for (auto& shard : worker) {
            if (shard.population != s.target_population) continue;
            for (std::uint32_t i = 0; i < s.source_size; ++i) {
                const std::uint32_t gid = s.source_first_gid + i;
                std::uint32_t syn = shard.source_synapses[gid];
                for (std::uint32_t g = shard.source_segments[gid]; g < shard.source_segments[gid + 1]; ++g) {
                    const SynapseSegment& seg = shard.segments[g];
                    if (seg.projection == s.projection)
                        for (std::uint32_t j = 0; j < seg.count; ++j)
                            refs.emplace_back(shard.local_begin + shard.target[syn + j],
                                              &shard.weight[syn + j]);
                    syn += seg.count;
                }
            }
        }
    std::stable_sort(refs.begin(), refs.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<float*> out;
    out.reserve(refs.size());
    for (const auto& [t, w] : refs)
        out.push_back(w);
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

void scale_projection_weights(std::vector<std::vector<SynapseShard>>& shards,
                              std::vector<WeightScale>& scales, const PlasticityState& plasticity,
                              std::uint32_t projection, double factor) {
    if (!(factor > 0.0)) throw std::invalid_argument("scale_projection_weights: factor must be > 0");
    const bool plastic = !plasticity.empty() && plasticity.active()[projection];
    const StdpRule* rule = plastic ? &plasticity.rule(projection) : nullptr;
    bool quantized = false;
    for (auto& worker : shards)
        for (auto& shard : worker) {
            if (shard.quantized) {
                quantized = true;
                continue;
            }
            std::uint32_t k = 0;
            for (const SynapseSegment& seg : shard.segments) {
                if (seg.projection == projection)
                    for (std::uint32_t j = 0; j < seg.count; ++j) {
                        double w = double(shard.weight[k + j]) * factor;
                        if (rule) w = std::clamp(w, rule->w_min, rule->w_max);
                        shard.weight[k + j] = float(w);
                    }
                k += seg.count;
            }
        }
    // 16-bit codes: w = base + step * code, so scaling base and step scales every weight exactly.
    if (quantized && projection < scales.size()) {
        scales[projection].base = float(double(scales[projection].base) * factor);
        scales[projection].step = float(double(scales[projection].step) * factor);
    }
}

} // namespace ketaplast
