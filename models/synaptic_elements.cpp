#include "models/synaptic_elements.hpp"

#include "core/random.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace ketaplast {

SynapticElements::SynapticElements(std::vector<Synapse> synapses, std::uint32_t neurons,
                                   const SynapticElementsParams& p, std::uint64_t seed)
    : p_(p), seed_(seed), synapses_(std::move(synapses)), incoming_(neurons), outgoing_(neurons),
      z_dend_(neurons, 0.0), z_axon_(neurons, 0.0), bound_dend_(neurons, 0), bound_axon_(neurons, 0) {
    if (p_.growth == GrowthCurve::none)
        throw std::invalid_argument("synaptic elements need a growth curve (linear, gaussian or sigmoid)");
    for (std::size_t s = 0; s < synapses_.size(); ++s) {
        const Synapse& syn = synapses_[s];
        if (syn.source >= neurons || syn.target >= neurons)
            throw std::invalid_argument("synaptic elements: synapse endpoint beyond the neuron count");
        incoming_[syn.target].push_back(s);
        outgoing_[syn.source].push_back(s);
        if (syn.active) {
            ++bound_dend_[syn.target];
            ++bound_axon_[syn.source];
        }
    }
    for (std::uint32_t i = 0; i < neurons; ++i) {
        z_dend_[i] = incoming_[i].empty() ? 0.0 : bound_dend_[i] + 0.5;
        z_axon_[i] = outgoing_[i].empty() ? 0.0 : bound_axon_[i] + 0.5;
    }
}

SynapticElements::State SynapticElements::state() const {
    State s{updates_, z_dend_, z_axon_, bound_dend_, bound_axon_, {}};
    s.active.reserve(synapses_.size());
    for (const Synapse& syn : synapses_)
        s.active.push_back(syn.active ? 1u : 0u);
    return s;
}

void SynapticElements::set_state(const State& s) {
    const std::size_t n = z_dend_.size();
    if (s.z_dend.size() != n || s.z_axon.size() != n || s.bound_dend.size() != n ||
        s.bound_axon.size() != n || s.active.size() != synapses_.size())
        throw std::invalid_argument("synaptic elements: the saved state is for another network (" +
                                    std::to_string(s.active.size()) + " synapses, " +
                                    std::to_string(s.z_dend.size()) + " neurons; expected " +
                                    std::to_string(synapses_.size()) + ", " + std::to_string(n) + ")");
    updates_ = s.updates;
    z_dend_ = s.z_dend;
    z_axon_ = s.z_axon;
    bound_dend_ = s.bound_dend;
    bound_axon_ = s.bound_axon;
    for (std::size_t i = 0; i < synapses_.size(); ++i)
        synapses_[i].active = s.active[i] != 0;
}

double SynapticElements::uniform(std::size_t synapse, std::uint64_t purpose) const {
    const std::uint64_t h = mix64(seed_ ^ mix64(mix64(std::uint64_t(synapse)) ^ (updates_ << 2 | purpose)));
    return double(h >> 11) * 0x1.0p-53;
}

void SynapticElements::remove_excess(std::vector<std::vector<std::size_t>>& lists,
                                     const std::vector<double>& z, std::vector<std::uint32_t>& bound,
                                     bool dendritic, Change& change) {
    std::vector<std::pair<double, std::size_t>> active;
    for (std::size_t i = 0; i < lists.size(); ++i) {
        const auto keep = std::uint32_t(std::floor(z[i]));
        if (bound[i] <= keep) continue;
        active.clear();
        for (std::size_t s : lists[i])
            if (synapses_[s].active) active.push_back({uniform(s, dendritic ? 0 : 1), s});
        std::sort(active.begin(), active.end());
        for (std::size_t r = 0; r < active.size() && bound[i] > keep; ++r) {
            Synapse& syn = synapses_[active[r].second];
            syn.active = false;
            --bound_dend_[syn.target];
            --bound_axon_[syn.source];
            change.off.push_back(active[r].second);
        }
    }
}

SynapticElements::Change SynapticElements::update(const std::vector<double>& rate_Hz, double Ca_target,
                                                  double dt_min, double protein) {
    const double days = dt_min / 1440.0;
    const double protein_drive =
        (std::pow(std::max(protein, 0.0), p_.protein_nu) - 1.0) / p_.spine_lifetime_days;
    for (std::size_t i = 0; i < z_dend_.size(); ++i) {
        if (incoming_[i].empty() && outgoing_[i].empty()) continue;
        const double G = growth_curve(p_.growth, Ca(i < rate_Hz.size() ? rate_Hz[i] : 0.0), Ca_target,
                                      p_.Ca_eta, p_.Ca_psi);
        if (!incoming_[i].empty())
            z_dend_[i] =
                std::max(0.0, z_dend_[i] + (p_.nu_dend_per_day * G + z_dend_[i] * protein_drive) * days);
        if (!outgoing_[i].empty())
            z_axon_[i] =
                std::max(0.0, z_axon_[i] + (p_.nu_axon_per_day * G + z_axon_[i] * protein_drive) * days);
    }
    Change change;
    // Deletion: a neuron with fewer elements than bound synapses loses the difference (spines first, then
    // boutons, each at random among the neuron's active synapses).
    remove_excess(incoming_, z_dend_, bound_dend_, true, change);
    remove_excess(outgoing_, z_axon_, bound_axon_, false, change);
    // Pairing: inactive candidates in random order, each accepted with the distance kernel's probability.
    // A synapse removed in this update is not a candidate (a deletion at one end frees an element at the
    // other, which must not re-pair the same synapse: it would be both switched off and on).
    std::vector<char> removed(synapses_.size(), 0);
    for (std::size_t s : change.off)
        removed[s] = 1;
    std::vector<std::pair<double, std::size_t>> candidates;
    for (std::size_t s = 0; s < synapses_.size(); ++s) {
        const Synapse& syn = synapses_[s];
        if (syn.active || removed[s]) continue;
        if (std::floor(z_dend_[syn.target]) <= bound_dend_[syn.target]) continue;
        if (std::floor(z_axon_[syn.source]) <= bound_axon_[syn.source]) continue;
        if (p_.sigma_um > 0) {
            const double d = syn.distance_um / p_.sigma_um;
            if (uniform(s, 2) >= std::exp(-0.5 * d * d)) continue;
        }
        candidates.push_back({uniform(s, 3), s});
    }
    std::sort(candidates.begin(), candidates.end());
    for (const auto& [u, s] : candidates) {
        Synapse& syn = synapses_[s];
        if (std::floor(z_dend_[syn.target]) <= bound_dend_[syn.target]) continue;
        if (std::floor(z_axon_[syn.source]) <= bound_axon_[syn.source]) continue;
        syn.active = true;
        ++bound_dend_[syn.target];
        ++bound_axon_[syn.source];
        change.on.push_back(s);
    }
    ++updates_;
    return change;
}

} // namespace ketaplast
