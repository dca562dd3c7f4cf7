// Structural plasticity by synaptic elements (Butz & van Ooyen 2013; NEST's structural plasticity; science.md
// §6.8), on a fixed set of potential synapses: each neuron has dendritic elements (spines) z_d and axonal
// elements (boutons) z_a that grow with its calcium,
//   dz/dt = nu G(Ca),   Ca = beta_Ca r tau_Ca (the trace's steady state for the neuron's rate r),
// with G a NEST growth curve (models/slow_layer.hpp: linear, gaussian, sigmoid; zero at the set point).
// At each connectivity update: a neuron whose element count fell below its bound (active) synapses loses
// the difference, chosen at random; then free dendritic and free axonal elements are paired at random into
// synapses among the inactive potential ones, a candidate at distance d accepted with probability
// exp(-d^2 / (2 sigma^2)) (distance-aware pairing; sigma = 0: any distance).
// Ketamine coupling (docs/science.md §6.8 [A]): the slow layer's synaptic protein P (§6.7) raises spine
// formation as in its spine equation (formation x P^nu, elimination unchanged, lifetime tau_spine), per
// neuron:  dz_d/dt = nu_d G(Ca) + z_d (P^nu - 1) / tau_spine,  and the same for boutons (z_a, nu_a):
// BDNF-TrkB signalling is pre- and postsynaptic, and a spine needs a free bouton to pair with. The protein of
// the driving population is used for both ends (E->E). Protein synthesis thus biases growth while elimination
// stays calcium-driven; at P = 1 the rule is Butz & van Ooyen's.
// Element counts start half an element above the bound synapses (floor(z) = bound: the start is a steady
// state that half an element of growth either way does not disturb). Deterministic: the random choices come
// from a counter-based hash of (seed, synapse, update), so they do not depend on threads or ranks.
#pragma once

#include "models/slow_layer.hpp"

#include <cstdint>
#include <vector>

namespace ketaplast {

struct SynapticElementsParams {
    GrowthCurve growth = GrowthCurve::linear;
    double nu_dend_per_day = 2.0;      // elements per neuron per day at G = 1 [A]: a synapse in ~12 h
    double nu_axon_per_day = 2.0;      // [A]
    double Ca_eta = 0.0, Ca_psi = 0.1; // gaussian eta, sigmoid psi (the set point eps is given per update)
    double tau_Ca_ms = 10000.0;        // NEST docs example [V]
    double beta_Ca = 0.001;            // NEST docs example [V]
    double sigma_um = 0.0;             // distance kernel of pairing; 0: none
    double protein_nu = 3.0;           // nu of P^nu (the slow layer's spine_nu) [A]
    double spine_lifetime_days = 7.0;  // tau_spine (the slow layer's spine_lifetime_days) [A]
};

class SynapticElements {
  public:
    struct Synapse {
        std::uint32_t source = 0, target = 0; // neuron indices (any numbering below the neuron count)
        float distance_um = 0;
        bool active = false;
    };
    struct Change {
        std::vector<std::size_t> on, off; // synapse indices switched on and off
    };

    SynapticElements(std::vector<Synapse> synapses, std::uint32_t neurons, const SynapticElementsParams& p,
                     std::uint64_t seed);

    // Grow every neuron's elements for dt_min at its rate (rate_Hz[neuron]; neurons that are neither a
    // source nor a target are ignored) towards the calcium set point Ca_target, with synaptic protein
    // `protein` (1 = baseline), then delete and pair. The synapses' active flags are updated.
    Change update(const std::vector<double>& rate_Hz, double Ca_target, double dt_min, double protein);

    const std::vector<Synapse>& synapses() const { return synapses_; }
    double dendritic_elements(std::uint32_t neuron) const { return z_dend_[neuron]; }
    double axonal_elements(std::uint32_t neuron) const { return z_axon_[neuron]; }
    std::uint32_t bound_dendritic(std::uint32_t neuron) const { return bound_dend_[neuron]; }
    std::uint32_t bound_axonal(std::uint32_t neuron) const { return bound_axon_[neuron]; }
    // The calcium trace's steady state for the neuron's rate (NEST form, models/slow_layer.hpp).
    double Ca(double rate_Hz) const { return CalciumTrace{p_.tau_Ca_ms, p_.beta_Ca}.steady_state(rate_Hz); }

    // Everything update() changes (checkpoints of protocol runs): the element counts, the bound counts, the
    // synapses' active flags and the update counter that keys the random draws.
    struct State {
        std::uint64_t updates = 0;
        std::vector<double> z_dend, z_axon;
        std::vector<std::uint32_t> bound_dend, bound_axon, active;
    };
    State state() const;
    // Sizes must match this instance (the same synapses and neurons): std::invalid_argument otherwise.
    void set_state(const State& s);

  private:
    double uniform(std::size_t synapse, std::uint64_t purpose) const;
    void remove_excess(std::vector<std::vector<std::size_t>>& lists, const std::vector<double>& z,
                       std::vector<std::uint32_t>& bound, bool dendritic, Change& change);

    SynapticElementsParams p_;
    std::uint64_t seed_, updates_ = 0;
    std::vector<Synapse> synapses_;
    std::vector<std::vector<std::size_t>> incoming_, outgoing_; // synapse indices per neuron
    std::vector<double> z_dend_, z_axon_;
    std::vector<std::uint32_t> bound_dend_, bound_axon_;
};

} // namespace ketaplast
