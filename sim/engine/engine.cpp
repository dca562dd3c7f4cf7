#include "sim/engine/engine.hpp"

#include "core/random.hpp"
#include "models/pharmacokinetics.hpp"
#include "sim/engine/poisson_drive.hpp"
#include "sim/io/checkpoint.hpp"
#include "sim/parallel/barrier.hpp"
#include "sim/parallel/communicator.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <sstream>

namespace ketaplast {

Engine::Engine(const Experiment& experiment, Network& network, int threads)
    : exp_(experiment), net_(network), threads_(threads) {
    for (const auto& drug : exp_.drugs) {
        if (drug.pk) {
            pk_.emplace_back(PkModel(drug.pk->parameters));
            const auto steps =
                std::max<std::int64_t>(1, std::llround(drug.pk->step_ms / exp_.simulation.dt_ms));
            drug_clock_steps_ = drug_clock_steps_ ? std::min(drug_clock_steps_, steps) : steps;
        } else {
            pk_.emplace_back(std::nullopt);
            const auto steps =
                std::max<std::int64_t>(1, std::llround(drug.sample_ms / exp_.simulation.dt_ms));
            drug_clock_steps_ = drug_clock_steps_ ? std::min(drug_clock_steps_, steps) : steps;
        }
    }
    for (const auto& pop : net_.populations) {
        const auto& drive = pop.spec->poisson_drive;
        const double lambda = drive ? drive->inputs * drive->rate_Hz * exp_.simulation.dt_ms * 1e-3 : 0.0;
        drive_cdf_.push_back(lambda > 0.0 && lambda < 30.0 ? poisson_cdf_table(lambda)
                                                           : std::vector<double>{});
    }
    if (std::size_t(threads_) != net_.blocks.size())
        throw std::logic_error("engine: thread count must equal the network's worker count");
    setup_glutamate();
    // The slow clock also samples glutamate and receptor readouts when there is no drug.
    if (drug_clock_steps_ == 0 && (!exp_.glutamate_pools.empty() || exp_.recording.readout_ms > 0))
        drug_clock_steps_ = std::max<std::int64_t>(
            1, std::llround((exp_.recording.readout_ms > 0 ? exp_.recording.readout_ms : 1000.0) /
                            exp_.simulation.dt_ms));
    if (!net_.plasticity.empty()) {
        // The engine is built on a fresh network (a resumed run loads its state afterwards): these are the
        // initial weights.
        initial_saturation_ = net_.plasticity.saturation(net_.shards);
        const std::int64_t D = net_.min_delay_steps,
                           one_second = std::llround(1000.0 / exp_.simulation.dt_ms);
        plasticity_check_step_ = (one_second + D - 1) / D * D;
    }
}

void Engine::setup_glutamate() {
    const auto& pools = exp_.glutamate_pools;
    if (pools.empty()) return;
    if (pools.size() > 32) throw InputError("at most 32 [[glutamate]] pools");
    // Vesicles per source spike, unless given: the source's synapses onto excitatory (glutamatergic)
    // receptors -- conductance receptors reversing above -30 mV, or positive current weights -- per source
    // neuron, times the release probability.
    const std::size_t P = net_.populations.size();
    std::vector<double> glutamatergic(P, 0.0);
    for (const auto& worker : net_.shards)
        for (const auto& shard : worker) {
            const PopulationSpec& target = *net_.populations[shard.population].spec;
            for (std::uint32_t source = 0; source < net_.total_neurons; ++source) {
                const std::uint32_t first = shard.source_segments[source],
                                    last = shard.source_segments[source + 1];
                if (first == last) continue;
                const std::uint32_t pop = net_.population_of(source);
                for (std::uint32_t s = first; s < last; ++s) {
                    const SynapseSegment& seg = shard.segments[s];
                    const ReceptorSpec& r = target.receptors[seg.receptor];
                    const bool excitatory =
                        net_.populations[shard.population].model->receptor_kind == ReceptorKind::conductance
                            ? r.E_rev_mV > -30.0
                            : exp_.projections[seg.projection].weight.mean > 0;
                    if (excitatory) glutamatergic[pop] += seg.count;
                }
            }
        }
    { // each rank counted its own targets' synapses: sum over ranks (integers, exact)
        std::vector<std::uint64_t> counts(glutamatergic.begin(), glutamatergic.end());
        net_.comm->sum(counts);
        for (std::size_t p = 0; p < P; ++p)
            glutamatergic[p] = double(counts[p]);
    }
    source_pool_mask_.assign(P, 0);
    for (std::size_t p = 0; p < pools.size(); ++p) {
        std::vector<double> vps(P, 0.0);
        for (std::size_t src : pools[p].source_indices) {
            source_pool_mask_[src] |= 1u << p;
            vps[src] = pools[p].vesicles_per_spike > 0
                           ? pools[p].vesicles_per_spike
                           : glutamatergic[src] / std::max(1u, net_.populations[src].size) *
                                 pools[p].release_probability;
        }
        vesicles_per_spike_.push_back(vps);
        double neurons = 0;
        for (std::size_t r : pools[p].region_indices)
            neurons += net_.populations[r].size;
        region_neurons_.push_back(std::max(1.0, neurons));
    }
    glutamate_.resize(std::size_t(threads_));
    for (auto& replica : glutamate_)
        for (GlutamatePoolSpec spec : pools) {
            // The dialysate's time constant is one of experiment (drug) time: compressed with it.
            spec.tau_dialysate_ms /= exp_.simulation.drug_time_scale;
            replica.emplace_back(spec);
        }
}

void Engine::advance_glutamate(std::uint32_t worker, const std::vector<SpikeRecord>& spikes,
                               double interval_ms) {
    if (glutamate_.empty()) return;
    auto& pools = glutamate_[worker];
    // Spikes of the interval per source population (spikes are in (step, gid) order: a linear pass).
    std::vector<std::uint32_t> counts(net_.populations.size(), 0);
    for (const SpikeRecord& spike : spikes) {
        const std::uint32_t pop = net_.population_of(spike.gid);
        if (source_pool_mask_[pop]) ++counts[pop];
    }
    for (std::size_t p = 0; p < pools.size(); ++p) {
        double vesicles = 0;
        for (std::size_t src : exp_.glutamate_pools[p].source_indices)
            vesicles += counts[src] * vesicles_per_spike_[p][src];
        pools[p].advance(interval_ms, vesicles / (interval_ms * region_neurons_[p]));
    }
    // Extrasynaptic receptors of this worker's neurons see the new level from the next interval on.
    const Block block = net_.blocks[worker];
    for (Population& pop : net_.populations) {
        const std::uint32_t lo = std::max(block.begin, pop.first_gid);
        const std::uint32_t hi = std::min(block.end, pop.first_gid + pop.size);
        if (lo >= hi) continue;
        for (std::size_t r = 0; r < pop.spec->receptors.size(); ++r) {
            const ReceptorSpec& receptor = pop.spec->receptors[r];
            if (receptor.glutamate_pool.empty()) continue;
            const double bound =
                GlutamatePool::bound_fraction(pools[receptor.glutamate_pool_index].level_uM(),
                                              receptor.ambient_EC50_uM, receptor.ambient_hill);
            pop.group->set_tonic_activation(r, lo - pop.first_gid, hi - pop.first_gid, bound);
        }
    }
}

double Engine::current_at(const PopulationSpec& spec, std::int64_t step) const {
    const double t_ms = double(step) * exp_.simulation.dt_ms;
    double current = 0.0;
    for (const auto& s : spec.current_steps)
        if (t_ms >= s.start_ms - 1e-9 && t_ms < s.stop_ms - 1e-9) current += s.amplitude_pA;
    return current;
}

void Engine::add_drive(const Population& pop, const PoissonDriveSpec& drive, std::int64_t step,
                       std::uint32_t begin, std::uint32_t end, const std::vector<float*>& inputs) const {
    // Summed input of `inputs` independent Poisson trains: one Poisson count per neuron per step.
    float* in = inputs[drive.receptor_index];
    const double lambda = drive.inputs * drive.rate_Hz * exp_.simulation.dt_ms * 1e-3;
    const float weight = float(drive.weight);
    if (drive.mean_only) { // the DC equivalent: the expected input every step
        const float mean = float(lambda) * weight;
        for (std::uint32_t i = begin; i < end; ++i)
            in[i] += mean;
        return;
    }
    if (lambda <= 0.0) return;
    // One Philox block (4 words) serves 4 consecutive steps of a neuron; each count is drawn by
    // inversion from one 32-bit uniform against the population's cumulative table (exact to 2^-32 in
    // probability; PTRS beyond lambda = 30). The key is computed once per population.
    const StreamKey key(exp_.simulation.seed, RandomPurpose::poisson_drive, pop.index);
    if (lambda < 30.0) {
        add_poisson_counts(key, pop.first_gid, step, drive_cdf_[pop.index], weight, begin, end, in);
        return;
    }
    for (std::uint32_t i = begin; i < end; ++i) { // large means: PTRS, one stream per neuron and step
        RandomStream big(key, pop.first_gid + i, (std::uint64_t(1) << 62) | std::uint64_t(step));
        in[i] += float(big.poisson(lambda)) * weight;
    }
}

bool Engine::drug_due(std::int64_t start) const {
    // A pure function of the interval start, so every worker agrees without communication: the first
    // interval (step 0), and every interval that begins at or after a new clock tick. Not "the first
    // interval of this call": a run continued in pieces (checkpoints, resume) ticks where one long run
    // would.
    if (drug_clock_steps_ == 0) return false;
    const std::int64_t D = net_.min_delay_steps;
    return start == 0 || start == forced_drug_tick_ ||
           start / drug_clock_steps_ != (start - D) / drug_clock_steps_;
}

void Engine::advance_pk(double t_min) {
    for (std::size_t d = 0; d < exp_.drugs.size(); ++d) {
        const DrugApplication& drug = exp_.drugs[d];
        if (drug.pk && pk_[d] && t_min > pk_time_min_)
            pk_[d]->advance_schedule(pk_time_min_, t_min - pk_time_min_, drug.pk->doses,
                                     drug.pk->body_weight_kg);
    }
    pk_time_min_ = std::max(pk_time_min_, t_min);
}

double Engine::species_free_uM(std::size_t k, double t_ms, double* plasma_ng_per_mL,
                               double* effect_ng_per_mL) const {
    const DrugSpecies& species = exp_.species[k];
    const DrugApplication& drug = exp_.drugs[species.drug];
    double free_uM = drug.bath_at(t_ms), plasma = 0.0, effect = 0.0;
    if (drug.pk && pk_[species.drug]) {
        const PkModel& pk = *pk_[species.drug];
        plasma = pk.plasma_ng_per_mL(species.species);
        effect = pk.effect_site_ng_per_mL(species.species);
        free_uM = species.fraction_unbound * effect / species.molar_mass_g_per_mol;
    } else {
        effect = free_uM * species.molar_mass_g_per_mol; // a bath concentration is free and local
    }                                                    // (it may step: bath protocols)
    if (plasma_ng_per_mL) *plasma_ng_per_mL = plasma;
    if (effect_ng_per_mL) *effect_ng_per_mL = effect;
    return free_uM;
}

void Engine::set_block_rate_averaging(bool on) {
    for (auto& pop : net_.populations)
        pop.group->set_block_rate_averaging(on);
    block_sum_start_step_ = step_;
}

void Engine::reset_block_rate_sums() {
    for (auto& pop : net_.populations)
        pop.group->reset_block_rate_sums();
    block_sum_start_step_ = step_;
}

void Engine::bridge_drug_block(double to_ms) {
    // Drug time now (protocols run with drug_time_scale 1). Concentrations at each substep's midpoint,
    // held over it: substeps of at most 30 s, short against the PK's minutes (Domino's fastest
    // distribution half-life ~2 min, docs/science.md §4).
    constexpr double kSubstep_ms = 30000.0;
    const double dt = exp_.simulation.dt_ms;
    const double from_ms = double(step_) * dt + drug_offset_ms_;
    const double summed_steps = double(step_ - block_sum_start_step_);
    if (to_ms <= from_ms || summed_steps <= 0 || exp_.species.empty()) return;
    const int substeps = std::max(1, int(std::ceil((to_ms - from_ms) / kSubstep_ms)));
    const double h_ms = (to_ms - from_ms) / substeps;
    std::vector<double> conc(exp_.species.size());
    for (int s = 0; s < substeps; ++s) {
        const double t_ms = from_ms + (s + 0.5) * h_ms;
        advance_pk(t_ms / 60000.0);
        for (std::size_t k = 0; k < conc.size(); ++k)
            conc[k] = species_free_uM(k, t_ms, nullptr, nullptr);
        // Per neuron, independent: chunks in parallel give the thread count's invariant result. The empty
        // range first checks each pool's limits outside the parallel region (which must not throw).
        constexpr std::uint32_t kChunk = 256;
        for (auto& pop : net_.populations) {
            NeuronGroup& group = *pop.group;
            group.bridge_drug_block(0, 0, conc, summed_steps, h_ms / dt);
            const std::int64_t chunks = (std::int64_t(pop.size) + kChunk - 1) / kChunk;
#pragma omp parallel for num_threads(threads_) schedule(static)
            for (std::int64_t c = 0; c < chunks; ++c) {
                const std::uint32_t begin = std::uint32_t(c) * kChunk;
                group.bridge_drug_block(begin, std::min<std::uint32_t>(pop.size, begin + kChunk), conc,
                                        summed_steps, h_ms / dt);
            }
        }
    }
}

void Engine::update_drugs(std::int64_t step) {
    // Advance each drug's PK to this step's time with its dose schedule, then hand the free effect-site
    // concentration of every species (the drug and its metabolite; exp_.species, the one drug -> blocker
    // mapping) to every NMDA receptor. It is held until the next tick (docs/science.md §9: drug concentration
    // piecewise constant over ~1 s epochs).
    // Experiment time (network time, plus the protocol's offset over skipped gaps); drug (PK) time runs
    // drug_time_scale times faster than network time.
    const double t_ms = double(step) * exp_.simulation.dt_ms + drug_offset_ms_;
    const double t_min =
        (double(step) * exp_.simulation.dt_ms * exp_.simulation.drug_time_scale + drug_offset_ms_) / 60000.0;
    DrugSample sample;
    sample.t_ms = t_ms;
    advance_pk(t_min);
    for (std::size_t k = 0; k < exp_.species.size(); ++k) {
        double plasma = 0.0, effect = 0.0;
        const double free_uM = species_free_uM(k, sample.t_ms, &plasma, &effect);
        for (auto& pop : net_.populations)
            pop.group->set_blocker_concentration(k, free_uM);
        sample.plasma_ng_per_mL.push_back(plasma);
        sample.effect_site_ng_per_mL.push_back(effect);
        sample.free_uM.push_back(free_uM);
    }
    // Ambient glutamate (worker 0's replica; all replicas are equal at a tick) and receptor means.
    if (!glutamate_.empty())
        for (auto& pool :
             glutamate_[0]) // mean release since the last tick (worker 0's replica keeps the sums)
            sample.glutamate.push_back({pool.level_uM(), pool.take_mean_release(), pool.dialysate_release()});
    if (net_.ranks > 1) {
        distributed_receptor_readout(sample);
    } else {
        for (const auto& pop : net_.populations)
            for (const auto& r : pop.group->receptor_readout())
                sample.receptors.push_back(
                    {pop.spec->name, r.receptor, r.g_mean_nS, r.current_mean_pA, r.open_fraction});
    }
    // NMDA pools at this tick: how much of each is conducting, blocked by drugs, and its mean current.
    if (net_.ranks > 1) {
        distributed_nmda_readout(sample);
    } else {
        for (const auto& pop : net_.populations)
            for (const auto& pool : pop.group->nmda_readout())
                sample.pools.push_back({pop.spec->name, pool.receptor, pool.conducting, pool.drug_blocked,
                                        pool.trapped, pool.open, pool.current_pA});
    }
    drug_samples_.push_back(sample);
}

std::vector<double> Engine::sum_population_terms(const Population& pop, std::size_t fields,
                                                 const std::vector<double>& terms, std::size_t groups) {
    // The population means must not depend on the rank count, to the bit: each rank computed the terms
    // of its own neurons one by one (group-major, `fields` per neuron), the root receives them in neuron
    // order (ranks own ascending blocks) and sums them in that order from zero, exactly as the one-process
    // loop over the population does (summing single terms first is exact: 0 + x = x). Empty off the root.
    const std::vector<double> all = net_.comm->gather_vector(terms);
    if (!net_.comm->root()) return {};
    if (all.size() != std::size_t(pop.size) * groups * fields)
        throw std::logic_error("population readout: ranks returned " + std::to_string(all.size()) + " terms");
    std::vector<double> sums(groups * fields, 0.0);
    std::size_t offset = 0;
    for (int r = 0; r < net_.ranks; ++r) {
        const Block b = net_.rank_blocks[std::size_t(r)];
        const std::uint32_t rlo = std::max(b.begin, pop.first_gid),
                            rhi = std::min(b.end, pop.first_gid + pop.size);
        const std::size_t n = rlo < rhi ? rhi - rlo : 0;
        for (std::size_t q = 0; q < groups; ++q)
            for (std::size_t i = 0; i < n; ++i)
                for (std::size_t f = 0; f < fields; ++f)
                    sums[q * fields + f] += all[offset + (q * n + i) * fields + f];
        offset += groups * n * fields;
    }
    return sums;
}

void Engine::distributed_receptor_readout(DrugSample& sample) {
    for (const auto& pop : net_.populations) {
        const Block mine = net_.rank_blocks[std::size_t(net_.rank)];
        const std::uint32_t lo = std::max(mine.begin, pop.first_gid),
                            hi = std::min(mine.end, pop.first_gid + pop.size);
        std::vector<std::string> receptors;
        std::vector<double> terms; // receptor-major, kReceptorReadoutFields per neuron
        constexpr std::size_t F = NeuronGroup::kReceptorReadoutFields;
        pop.group->receptor_readout_terms(lo < hi ? lo - pop.first_gid : 0, lo < hi ? hi - pop.first_gid : 0,
                                          receptors, terms);
        if (receptors.empty() || pop.size == 0) continue;
        const std::vector<double> sums = sum_population_terms(pop, F, terms, receptors.size());
        for (std::size_t q = 0; q < receptors.size(); ++q) {
            if (sums.empty()) {
                sample.receptors.push_back({pop.spec->name, receptors[q], 0, 0, 0});
                continue;
            }
            sample.receptors.push_back({pop.spec->name, receptors[q], sums[q * F] / pop.size,
                                        sums[q * F + 1] / pop.size, sums[q * F + 2] / pop.size});
        }
    }
}

void Engine::distributed_nmda_readout(DrugSample& sample) {
    constexpr std::size_t F = NeuronGroup::kNmdaReadoutFields;
    for (const auto& pop : net_.populations) {
        const Block mine = net_.rank_blocks[std::size_t(net_.rank)];
        const std::uint32_t lo = std::max(mine.begin, pop.first_gid),
                            hi = std::min(mine.end, pop.first_gid + pop.size);
        std::vector<std::string> receptors;
        std::vector<double> terms; // per pool: F per neuron
        pop.group->nmda_readout_terms(lo < hi ? lo - pop.first_gid : 0, lo < hi ? hi - pop.first_gid : 0,
                                      receptors, terms);
        if (receptors.empty() || pop.size == 0) continue;
        const std::vector<double> sums = sum_population_terms(pop, F, terms, receptors.size());
        for (std::size_t q = 0; q < receptors.size(); ++q) {
            if (sums.empty()) {
                sample.pools.push_back({pop.spec->name, receptors[q], 0, 0, 0, 0, 0});
                continue;
            }
            const double* m = sums.data() + q * F;
            const double n = double(pop.size);
            sample.pools.push_back(
                {pop.spec->name, receptors[q], m[0] / n, m[1] / n, m[2] / n, m[3] / n, m[4] / n});
        }
    }
}

namespace {
// Copies every rank's own columns [b, e) of a rows x row_length array (population-local neuron ids) to
// the root, where the array then holds every rank's values.
template <typename T>
void gather_columns(Communicator& comm, const std::vector<Block>& rank_blocks, const Population& pop, T* data,
                    std::size_t rows) {
    auto columns = [&](int r) {
        const Block b = rank_blocks[std::size_t(r)];
        const std::uint32_t lo = std::max(b.begin, pop.first_gid),
                            hi = std::min(b.end, pop.first_gid + pop.size);
        return lo < hi ? Block{lo - pop.first_gid, hi - pop.first_gid} : Block{0, 0};
    };
    const Block mine = columns(comm.rank());
    std::vector<T> packed;
    packed.reserve(rows * (mine.end - mine.begin));
    for (std::size_t row = 0; row < rows; ++row)
        packed.insert(packed.end(), data + row * pop.size + mine.begin, data + row * pop.size + mine.end);
    const std::vector<T> all = comm.gather_vector(packed);
    if (!comm.root()) return;
    std::size_t k = 0;
    for (int r = 0; r < comm.size(); ++r) {
        const Block c = columns(r);
        for (std::size_t row = 0; row < rows; ++row)
            for (std::uint32_t i = c.begin; i < c.end; ++i)
                data[row * pop.size + i] = all[k++];
    }
}
} // namespace

void Engine::gather_state_to_root() {
    if (net_.ranks <= 1) return;
    Communicator& comm = *net_.comm;
    for (Population& pop : net_.populations) {
        for (const auto& name : pop.group->state_names())
            gather_columns(comm, net_.rank_blocks, pop, pop.group->state(name), 1);
        for (const auto& name : pop.group->counter_names())
            gather_columns(comm, net_.rank_blocks, pop, pop.group->counter(name), 1);
        for (const auto& name : pop.group->state_names_f64())
            gather_columns(comm, net_.rank_blocks, pop, pop.group->state_f64(name), 1);
        for (auto& ring : pop.ring)
            gather_columns(comm, net_.rank_blocks, pop, ring.data(), net_.ring_length);
    }
}

std::uint64_t Engine::deliver(std::uint32_t worker, const std::vector<SpikeRecord>& spikes) {
    const std::uint32_t L = net_.ring_length;
    std::uint64_t events = 0;
    // Presynaptic dynamics (sim/network/presynaptic_state.hpp): each spike gives one multiplier per
    // projection with short-term plasticity or saturating NMDA gating, applied to whole segments. Every
    // worker updates its replica of the state for every spike, in (step, gid) order, so it does not depend on
    // the thread count. Projections without dynamics take the unscaled loops: no work per synapse.
    PresynapticState& presyn = net_.presynaptic;
    const bool any_presyn = !presyn.empty();
    const std::uint8_t* scaled = presyn.active();
    // Long-term plasticity (sim/network/plasticity.hpp): plastic segments transmit, then depress; after a
    // step's spikes have been delivered, the step's spikes of this worker's neurons potentiate the plastic
    // synapses onto them (pre before post within a step).
    PlasticityState& plastic = net_.plasticity;
    const bool any_plastic = !plastic.empty();
    const std::uint8_t* is_plastic = plastic.active();
    const Block block = net_.blocks[worker];
    std::size_t step_begin = 0; // first spike of the current step (for the post pass)
    for (std::size_t n = 0; n < spikes.size(); ++n) {
        const SpikeRecord& spike = spikes[n];
        const float* factor = any_presyn ? presyn.on_spike(worker, spike.step, spike.gid) : nullptr;
        const double* depression = any_plastic ? plastic.on_pre(worker, spike.step, spike.gid) : nullptr;
        for (SynapseShard& shard : net_.shards[worker]) {
            Population& pop = net_.populations[shard.population];
            std::uint32_t k = shard.source_synapses[spike.gid];
            const std::uint32_t first = shard.source_segments[spike.gid],
                                last = shard.source_segments[spike.gid + 1];
            for (std::uint32_t s = first; s < last; ++s) {
                const SynapseSegment& seg = shard.segments[s];
                const std::size_t slot = std::size_t((spike.step + seg.delay_steps) % L);
                float* __restrict buffer =
                    pop.ring[seg.receptor].data() + slot * pop.size + shard.local_begin;
                const std::uint16_t* __restrict target = shard.target.data() + k;
                if (any_plastic && is_plastic[seg.projection]) {
                    const float f = any_presyn && scaled[seg.projection] ? factor[seg.projection] : 1.0f;
                    plastic.deliver_and_depress(worker, std::uint32_t(&shard - net_.shards[worker].data()), k,
                                                spike.gid, seg.projection, spike.step,
                                                depression[seg.projection], f, shard.local_begin, target,
                                                shard.weight.data() + k, seg.count, buffer);
                } else if (any_presyn && scaled[seg.projection]) {
                    const float f = factor[seg.projection];
                    if (shard.quantized) {
                        const std::uint16_t* __restrict code = shard.weight_code.data() + k;
                        const WeightScale scale = net_.weight_scales[seg.projection];
                        for (std::uint32_t j = 0; j < seg.count; ++j)
                            buffer[target[j]] += (scale.base + scale.step * float(code[j])) * f;
                    } else {
                        const float* __restrict weight = shard.weight.data() + k;
                        for (std::uint32_t j = 0; j < seg.count; ++j)
                            buffer[target[j]] += weight[j] * f;
                    }
                } else if (shard.quantized) {
                    const std::uint16_t* __restrict code = shard.weight_code.data() + k;
                    const WeightScale scale = net_.weight_scales[seg.projection];
                    for (std::uint32_t j = 0; j < seg.count; ++j)
                        buffer[target[j]] += scale.base + scale.step * float(code[j]);
                } else {
                    const float* __restrict weight = shard.weight.data() + k;
                    for (std::uint32_t j = 0; j < seg.count; ++j)
                        buffer[target[j]] += weight[j];
                }
                k += seg.count;
                events += seg.count;
            }
        }
        // The post-spike hook: at the end of each step's spikes, potentiation by this worker's neurons.
        if (any_plastic && (n + 1 == spikes.size() || spikes[n + 1].step != spike.step)) {
            for (std::size_t m = step_begin; m <= n; ++m) {
                const std::uint32_t gid = spikes[m].gid;
                if (gid >= block.begin && gid < block.end && plastic.receives(gid))
                    plastic.on_post(worker, spikes[m].step, gid, net_.shards[worker]);
            }
            step_begin = n + 1;
        }
    }
    return events;
}

void Engine::run(std::int64_t until, const EngineRecorders& rec,
                 const std::function<void(std::int64_t, std::int64_t)>& progress) {
    // Runaway plasticity: stop at the first exchange boundary after 1 s of simulated time (a run in pieces
    // stops there too, so the check does not depend on how a run is split).
    if (!net_.plasticity.empty() && step_ < plasticity_check_step_ && until >= plasticity_check_step_) {
        run_loop(plasticity_check_step_, rec, progress);
        if (step_ < plasticity_check_step_) return; // stopped by a signal
        check_plasticity();
    }
    if (until > step_) run_loop(until, rec, progress);
}

void Engine::check_plasticity() const {
    // With bounded weights nothing overflows, but learning rates far too large for the activity drive
    // most weights to a bound within a second, after which the rule only flips synapses between bounds:
    // stop when more than half of the synapses that started inside the bounds have reached one.
    const auto now = net_.plasticity.saturation(net_.shards);
    for (std::size_t k = 0; k < now.size(); ++k) {
        const auto& start = initial_saturation_[k];
        const std::uint64_t inside = start.synapses - start.at_bound;
        const std::uint64_t reached = now[k].at_bound > start.at_bound ? now[k].at_bound - start.at_bound : 0;
        if (inside > 0 && 2 * reached > inside) {
            std::ostringstream msg;
            msg << "runaway plasticity in projection '" << net_.plasticity.name(now[k].projection)
                << "': " << reached << " of its " << inside
                << " synapses that started inside [w_min_nS, w_max_nS] reached a bound within the first "
                << double(plasticity_check_step_) * exp_.simulation.dt_ms
                << " ms (the learning rates of projections." << net_.plasticity.name(now[k].projection)
                << ".plasticity are too large for this activity: lower A_plus/A_minus or A2_*/A3_*)";
            throw NumericalError(msg.str());
        }
    }
}

void Engine::run_loop(std::int64_t until, const EngineRecorders& rec,
                      const std::function<void(std::int64_t, std::int64_t)>& progress) {
    const std::int64_t D = net_.min_delay_steps;
    const std::uint32_t L = net_.ring_length;
    const double dt = exp_.simulation.dt_ms;
    // Health checks about once per simulated millisecond.
    const std::int64_t check_every = std::max<std::int64_t>(1, std::llround(1.0 / (dt * double(D))));

    // Spikes of each worker, double-buffered by interval parity: during interval i workers append to
    // buffer i % 2 and, after the barrier, everyone reads all workers' buffers i % 2 while the next
    // interval already writes the other one. One barrier per interval is enough (without MPI).
    std::vector<std::vector<SpikeRecord>> local[2] = {
        std::vector<std::vector<SpikeRecord>>(std::size_t(threads_)),
        std::vector<std::vector<SpikeRecord>>(std::size_t(threads_))};
    std::vector<std::string> problems[2] = {std::vector<std::string>(std::size_t(threads_)),
                                            std::vector<std::string>(std::size_t(threads_))};
    const std::int64_t start_step = step_;
    std::int64_t stopped_at = until;
    bool stopped = false;
    std::uint64_t exchanged = 0, events = 0;

    std::vector<PhaseTimes> times(static_cast<std::size_t>(threads_));
    SpinSleepBarrier barrier(threads_);
    using clock = std::chrono::steady_clock;
    auto seconds = [](clock::time_point a, clock::time_point b) {
        return std::chrono::duration<double>(b - a).count();
    };

    // Writes (HDF5) that fail inside the parallel region must not terminate the process: worker 0 stores
    // the message for the next interval's stop decision (read by everyone after the next barrier), and
    // it is thrown after the region.
    std::string io_error[2];
    bool interrupt[2] = {false, false};
    // MPI: this rank's merged spikes, every rank's after the exchange (written by worker 0 between the
    // two barriers of an interval), and the OR of the ranks' flags.
    const bool distributed = net_.ranks > 1;
    std::vector<SpikeRecord> rank_spikes, exchanged_spikes;
    std::uint32_t exchange_flags[2] = {0, 0};
    std::string comm_error;
    double comm_s = 0;
    std::int64_t interrupted_at = -1;
    // Every worker owns a block: the team must have exactly threads_ threads (OMP_THREAD_LIMIT or
    // OMP_DYNAMIC could give fewer, and the barrier would wait forever).
    omp_set_dynamic(0);
    int team_size = threads_;

#pragma omp parallel num_threads(threads_) reduction(+ : exchanged, events)
    {
        if (omp_get_num_threads() != threads_) {
#pragma omp single
            team_size = omp_get_num_threads();
        }
        const std::uint32_t w = std::uint32_t(omp_get_thread_num());
        PhaseTimes& my = times[w];
        clock::time_point t0 = clock::now(), t1;
        const Block block = net_.blocks[w];
        std::vector<std::uint32_t> fired;
        std::vector<float*> inputs;
        std::vector<SpikeRecord> merged;
        std::int64_t interval = 0;

        for (std::int64_t start = start_step; start < until && omp_get_num_threads() == threads_;
             start += D, ++interval) {
            const std::int64_t stop_step = std::min(start + D, until);
            if (drug_due(start)) { // the slow clock: one thread updates drugs while the others wait
#pragma omp barrier
#pragma omp single
                update_drugs(start);
            }
            const int parity = int(interval & 1);
            auto& mine = local[parity][w];
            mine.clear(); // read by everyone two intervals ago, before the last barrier
            for (std::int64_t m = start; m < stop_step; ++m) {
                if (rec.reports) rec.reports->sample(m, block.begin, block.end);
                const std::size_t slot = std::size_t(m % L);
                for (Population& pop : net_.populations) {
                    const std::uint32_t lo = std::max(block.begin, pop.first_gid);
                    const std::uint32_t hi = std::min(block.end, pop.first_gid + pop.size);
                    if (lo >= hi) continue;
                    const std::uint32_t b = lo - pop.first_gid, e = hi - pop.first_gid;
                    inputs.clear();
                    for (auto& ring : pop.ring)
                        inputs.push_back(ring.data() + slot * pop.size);

                    if (const auto& drive = pop.spec->poisson_drive) {
                        t1 = clock::now();
                        my.update_s += seconds(t0, t1);
                        add_drive(pop, *drive, m, b, e, inputs);
                        t0 = clock::now();
                        my.drive_s += seconds(t1, t0);
                    }

                    StepContext ctx;
                    ctx.step = m;
                    ctx.dt_ms = dt;
                    ctx.current_pA =
                        pop.spec->dc_pA + (pop.spec->current_steps.empty() ? 0.0 : current_at(*pop.spec, m));
                    ctx.seed = exp_.simulation.seed;
                    ctx.population = pop.index;
                    ctx.first_gid = pop.first_gid;
                    fired.clear();
                    pop.group->update(ctx, b, e, inputs.data(), fired);
                    for (std::uint32_t i : fired)
                        mine.push_back({m, pop.first_gid + i});
                    for (float* in : inputs)
                        std::memset(in + b, 0, sizeof(float) * (e - b));
                }
            }
            if ((start / D) % check_every == 0 || stop_step == until) {
                for (Population& pop : net_.populations) {
                    const std::uint32_t lo = std::max(block.begin, pop.first_gid);
                    const std::uint32_t hi = std::min(block.end, pop.first_gid + pop.size);
                    if (lo >= hi) continue;
                    const std::int64_t bad = pop.group->find_invalid(lo - pop.first_gid, hi - pop.first_gid);
                    if (bad >= 0 && problems[parity][w].empty()) {
                        std::ostringstream msg;
                        msg << "numerical blow-up in population '" << pop.spec->name << "', neuron " << bad
                            << " (state not finite or |V| > 10^4 mV) at t = " << double(stop_step) * dt
                            << " ms";
                        const auto names = pop.group->state_names();
                        if (!names.empty()) {
                            msg << " (";
                            for (std::size_t v = 0; v < names.size(); ++v)
                                msg << (v ? ", " : "") << names[v] << " = "
                                    << pop.group->state(names[v])[bad];
                            msg << ")";
                        }
                        problems[parity][w] = msg.str();
                    }
                }
            }
            // A stop request (signal) is read by one thread and, like `problems`, seen by all after the
            // barrier, so every worker leaves after the same interval.
            if (w == 0) interrupt[parity] = stop_flag_ && stop_flag_->load(std::memory_order_relaxed);
            t1 = clock::now();
            my.update_s += seconds(t0, t1);
            // The exchange point. (MPI: one thread gathers the ranks' spikes here, then a second barrier.)
            barrier.wait();
            t0 = clock::now();
            my.wait_s += seconds(t1, t0);

            // This interval's spikes in (step, gid) order: workers own ascending gid blocks.
            auto merge_workers = [&](std::vector<SpikeRecord>& out) {
                out.clear();
                std::vector<std::size_t> cursors(std::size_t(threads_), 0);
                for (std::int64_t m = start; m < stop_step; ++m)
                    for (int t = 0; t < threads_; ++t) {
                        const auto& l = local[parity][std::size_t(t)];
                        auto& c = cursors[std::size_t(t)];
                        while (c < l.size() && l[c].step == m)
                            out.push_back(l[c++]);
                    }
            };
            // Every worker sees the same stop decision: the problems of this interval's parity. The
            // interval's spikes are still recorded, so the files cover everything that was simulated.
            bool stop = !io_error[parity].empty();
            for (const auto& p : problems[parity])
                stop = stop || !p.empty();
            if (distributed) {
                // MPI: one thread merges this rank's workers' spikes and exchanges them with the other
                // ranks (with the stop flags), the others wait at a second barrier; then every worker
                // takes the merged spikes of all ranks, in (step, gid) order as on one process.
                if (w == 0) {
                    const auto tx = clock::now();
                    merge_workers(rank_spikes);
                    const std::uint32_t flags = (stop && !io_error[parity].empty() ? kFlagIoError : 0u) |
                                                (stop && io_error[parity].empty() ? kFlagProblem : 0u) |
                                                (interrupt[parity] ? kFlagInterrupt : 0u);
                    try {
                        exchange_flags[parity] =
                            net_.comm->exchange(rank_spikes, start, flags, exchanged_spikes);
                    } catch (const std::exception& e) { // MPI failures end the job (main: abort)
                        comm_error = e.what();
                        exchange_flags[parity] = kFlagIoError;
                    }
                    interrupt[parity] = (exchange_flags[parity] & kFlagInterrupt) != 0;
                    comm_s += seconds(tx, clock::now());
                }
                barrier.wait();
                merged = exchanged_spikes;
                stop = (exchange_flags[parity] & (kFlagProblem | kFlagIoError)) != 0;
            } else {
                merge_workers(merged);
            }
            if (stop) {
                if (w == 0) {
                    stopped = true;
                    stopped_at = stop_step;
                    try {
                        if (rec.spikes) rec.spikes->add(merged);
                        if (rec.rates) rec.rates->add(merged);
                    } catch (const std::exception& e) {
                        io_error[1 - parity] = e.what();
                    }
                }
                break;
            }
            events += deliver(w, merged);
            advance_glutamate(w, merged, double(stop_step - start) * dt);
            t1 = clock::now();
            my.deliver_s += seconds(t0, t1);
            if (w == 0) {
                exchanged += merged.size();
                try {
                    if (rec.spikes) rec.spikes->add(merged);
                    if (rec.rates) rec.rates->add(merged);
                } catch (const std::exception& e) {
                    io_error[1 - parity] = e.what();
                }
                if (progress) progress(stop_step, until);
            }
            // Report buffers are written by every worker: flush them only with everyone stopped.
            if (rec.reports && rec.reports->flush_due(stop_step)) {
#pragma omp barrier
#pragma omp single
                try {
                    rec.reports->flush_if_needed(stop_step);
                } catch (const std::exception& e) {
                    io_error[1 - parity] = e.what();
                }
            }
            t0 = clock::now();
            my.exchange_s += seconds(t1, t0);
            if (interrupt[parity] && stop_step < until) {
                if (w == 0) interrupted_at = stop_step;
                break;
            }
        }
    }
    for (const auto& t : times) {
        phase_.update_s += t.update_s / threads_;
        phase_.drive_s += t.drive_s / threads_;
        phase_.deliver_s += t.deliver_s / threads_;
        phase_.wait_s += t.wait_s / threads_;
        phase_.exchange_s += t.exchange_s;
    }
    spikes_exchanged_ += exchanged;
    if (distributed) {
        // Every rank's stop decision was the same; now also every rank's message and counters.
        if (!comm_error.empty()) throw RunError("MPI exchange: " + comm_error);
        events = net_.comm->sum(events);
        phase_.communicate_s += comm_s;
        std::string local_io, local_problem;
        for (const auto& e : io_error)
            if (!e.empty() && local_io.empty()) local_io = e;
        for (const auto& buffer : problems)
            for (const auto& p : buffer)
                if (!p.empty() && local_problem.empty()) local_problem = p;
        if (stopped) {
            const std::string io = net_.comm->first_message(local_io),
                              problem = net_.comm->first_message(local_problem);
            step_ = stopped_at;
            synaptic_events_ += events;
            if (!io.empty()) throw RunError("writing output: " + io);
            throw NumericalError(problem);
        }
    }
    synaptic_events_ += events;
    if (team_size != threads_)
        throw RunError("OpenMP started " + std::to_string(team_size) + " threads instead of the " +
                       std::to_string(threads_) +
                       " the network was partitioned for (OMP_THREAD_LIMIT?); "
                       "run with --threads " +
                       std::to_string(team_size));
    step_ = stopped ? stopped_at : (interrupted_at >= 0 ? interrupted_at : until);
    for (const auto& e : io_error)
        if (!e.empty()) throw RunError("writing output: " + e);
    for (const auto& buffer : problems)
        for (const auto& p : buffer)
            if (!p.empty()) throw NumericalError(p);
}

void Engine::checkpoint_state(StateArchive& a) {
    // Neurons: every named state array of every model, generically (models add state by naming it).
    for (Population& pop : net_.populations) {
        const std::string base = "neurons/" + pop.spec->name + "/";
        for (const auto& name : pop.group->state_names())
            a.array(base + name, pop.group->state(name), pop.size);
        for (const auto& name : pop.group->counter_names())
            a.array(base + name, pop.group->counter(name), pop.size);
        for (const auto& name : pop.group->state_names_f64()) // the kinetic drug block
            a.array(base + name, pop.group->state_f64(name), pop.size);
        // Ring buffers: input in flight (every slot; slots already read are zero). Indexed by
        // population-local neuron, so independent of the thread partition.
        for (std::size_t r = 0; r < pop.ring.size(); ++r)
            a.array("rings/" + pop.spec->name + "/" + std::to_string(r), pop.ring[r].data(),
                    pop.ring[r].size());
    }
    // The clock (the Poisson drive and Poisson sources are counter-based: keyed by step, no other state),
    // and the counters reported in summary.json.
    a.value("engine/step", step_);
    if (a.loading() && (step_ < 0 || step_ % net_.min_delay_steps != 0))
        throw InputError(a.path() + ": engine/step " + std::to_string(step_) +
                         " is not an exchange boundary");
    a.value("engine/spikes_exchanged", spikes_exchanged_);
    a.value("engine/synaptic_events", synaptic_events_);
    // Engine-side arrays (presynaptic STP/saturation state, plastic weights): one line each here.
    for (const NamedArray& array : net_.presynaptic.arrays())
        a.array("engine/" + array.name, array.data, array.size);
    if (a.loading()) net_.presynaptic.copy_to_all_workers();
    // Ambient glutamate: worker 0's replica (all are equal at an exchange boundary), copied to all.
    for (std::size_t p = 0; p < exp_.glutamate_pools.size(); ++p) {
        GlutamatePool& pool = glutamate_[0][p];
        const std::string base = "glutamate/" + exp_.glutamate_pools[p].name + "/";
        a.array(base + "state", pool.state(), GlutamatePool::kStateSize);
        if (a.loading())
            for (auto& replica : glutamate_)
                replica[p] = pool;
    }
    // Plastic weights and STDP traces (partition-independent order, so resume may change thread count).
    if (!net_.plasticity.empty()) net_.plasticity.checkpoint(a, net_.shards);

    // The drug slow clock: each PK model's state and the time it has reached; the samples so far (they
    // go to timeseries.h5 at the end).
    a.value("drugs/pk_time_min", pk_time_min_);
    for (std::size_t d = 0; d < pk_.size(); ++d) {
        if (!pk_[d]) continue;
        std::vector<double> state = pk_[d]->state_vector();
        a.vector("drugs/pk_state/" + std::to_string(d), state);
        if (a.loading()) pk_[d]->set_state_vector(state);
    }
    std::uint64_t samples = drug_samples_.size();
    a.value("drugs/samples", samples);
    // Per sample: each species' plasma, effect-site and free concentration; each NMDA pool's fractions.
    constexpr std::size_t kPoolFields = 5; // conducting, drug_blocked, trapped, open, current_pA
    std::vector<double> t, plasma, effect, free, pools;
    std::vector<std::string> pool_names;
    if (!a.loading())
        for (const auto& s : drug_samples_) {
            t.push_back(s.t_ms);
            plasma.insert(plasma.end(), s.plasma_ng_per_mL.begin(), s.plasma_ng_per_mL.end());
            effect.insert(effect.end(), s.effect_site_ng_per_mL.begin(), s.effect_site_ng_per_mL.end());
            free.insert(free.end(), s.free_uM.begin(), s.free_uM.end());
            for (const auto& p : s.pools)
                pools.insert(pools.end(), {p.conducting, p.drug_blocked, p.trapped, p.open, p.current_pA});
            if (pool_names.empty())
                for (const auto& p : s.pools)
                    pool_names.insert(pool_names.end(), {p.population, p.receptor});
        }
    a.vector("drugs/t_ms", t);
    a.vector("drugs/plasma_ng_per_mL", plasma);
    a.vector("drugs/effect_site_ng_per_mL", effect);
    a.vector("drugs/free_uM", free);
    a.vector("drugs/pools", pools);
    a.strings("drugs/pool_names", pool_names);
    // Glutamate and receptor readouts of each sample (fixed counts per sample).
    std::vector<double> glutamate, receptors;
    std::vector<std::string> receptor_names;
    if (!a.loading())
        for (const auto& s : drug_samples_) {
            for (const auto& g : s.glutamate)
                glutamate.insert(glutamate.end(), {g.level_uM, g.release, g.dialysate});
            for (const auto& r : s.receptors)
                receptors.insert(receptors.end(), {r.g_mean, r.current_mean_pA, r.open_fraction});
            if (receptor_names.empty())
                for (const auto& r : s.receptors)
                    receptor_names.insert(receptor_names.end(), {r.population, r.receptor});
        }
    a.vector("drugs/glutamate", glutamate);
    a.vector("drugs/receptors", receptors);
    a.strings("drugs/receptor_names", receptor_names);
    if (!a.loading()) return;
    const std::size_t n_species = exp_.species.size(), n_pools = pool_names.size() / 2;
    if (t.size() != samples || plasma.size() != samples * n_species || effect.size() != samples * n_species ||
        free.size() != samples * n_species || pools.size() != samples * n_pools * kPoolFields)
        throw InputError(a.path() + ": drug samples are inconsistent with this experiment's drugs");
    drug_samples_.clear();
    auto slice = [](const std::vector<double>& v, std::size_t k, std::size_t n) {
        return std::vector<double>(v.begin() + std::ptrdiff_t(k * n),
                                   v.begin() + std::ptrdiff_t((k + 1) * n));
    };
    for (std::size_t k = 0; k < samples; ++k) {
        DrugSample s;
        s.t_ms = t[k];
        s.plasma_ng_per_mL = slice(plasma, k, n_species);
        s.effect_site_ng_per_mL = slice(effect, k, n_species);
        s.free_uM = slice(free, k, n_species);
        for (std::size_t q = 0; q < n_pools; ++q) {
            const double* f = pools.data() + kPoolFields * (k * n_pools + q);
            s.pools.push_back({pool_names[2 * q], pool_names[2 * q + 1], f[0], f[1], f[2], f[3], f[4]});
        }
        const std::size_t n_glu = exp_.glutamate_pools.size(), n_rec = receptor_names.size() / 2;
        if (glutamate.size() != samples * n_glu * 3 || receptors.size() != samples * n_rec * 3)
            throw InputError(a.path() + ": glutamate/receptor samples are inconsistent with this experiment");
        for (std::size_t q = 0; q < n_glu; ++q) {
            const double* f = glutamate.data() + 3 * (k * n_glu + q);
            s.glutamate.push_back({f[0], f[1], f[2]});
        }
        for (std::size_t q = 0; q < n_rec; ++q) {
            const double* f = receptors.data() + 3 * (k * n_rec + q);
            s.receptors.push_back({receptor_names[2 * q], receptor_names[2 * q + 1], f[0], f[1], f[2]});
        }
        drug_samples_.push_back(std::move(s));
    }
    // The receptors hold the concentration of the last tick until the next one: hand them exactly the
    // value the uninterrupted run handed them (this also re-activates the kinetic block of a drug whose
    // channels are still blocked).
    if (!drug_samples_.empty())
        for (std::size_t k = 0; k < n_species; ++k)
            for (auto& pop : net_.populations)
                pop.group->set_blocker_concentration(k, drug_samples_.back().free_uM[k]);
}

} // namespace ketaplast
