// Scaling a network down while keeping its mean inputs (the standard compensation of the Potjans &
// Diesmann 2014 NEST example, after van Albada, Helias & Diesmann 2015, PLoS Comput Biol 11:e1004490).
#pragma once

#include "sim/config/experiment.hpp"

#include <toml++/toml.h>

namespace ketaplast {

// With [network] indegree_scale = s < 1 (it defaults to `scale`; sizes and in-degrees were already
// multiplied while loading):
//  - synaptic weights and Poisson-drive weights are divided by sqrt(s), so the input fluctuations keep
//    their size, and the number of drive inputs is multiplied by s;
//  - each target population gets a DC current for the mean input lost:
//      I_dc += 1e-3 tau_syn (1 - sqrt(s)) [ sum_proj w K_full nu_source + w_ext K_ext_full nu_ext ]
//    (pA; tau_syn in ms, rates in Hz), with nu_source the source's reference_rate_Hz.
// The compensation is defined for current-based receptors; a conductance-based target, or a source
// without reference_rate_Hz, is an error naming the key.
void apply_network_scale(Experiment& experiment, const toml::table& root);

// Multiply every value a distribution can take by `factor` > 0.
Distribution scaled(const Distribution& d, double factor);

} // namespace ketaplast
