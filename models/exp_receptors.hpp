// The synaptic receptors of a point-neuron population (docs/science.md §2.1, §2.3), exactly integrated.
//
// exponential:  dg/dt = -g / tau,  g += w at spike arrival (AMPA tau 2 ms, GABA_A 5-10 ms).
// nmda:         g = a - h with da/dt = -a / tau_decay, dh/dt = -h / tau_rise, both += w N at arrival, so a
//               single event gives the dual exponential w N (e^{-t/tau_d} - e^{-t/tau_r}) with peak w (N
//               normalises the peak to 1); the channel current is g B(V) (V - E) with the Mg2+ block
//               B(V) = 1 / (1 + [Mg] / (K0 exp(slope V))) evaluated at the start of the step.
// Drug block of NMDA channels (docs/science.md §3.2, kinetic; the default): per neuron and receptor pool, the
// fraction b_d of channels holding drug d. With x the agonist-bound fraction of the pool, B(V) the
// Mg2+-free fraction and F = 1 - sum_d b_d. x saturates: with u = g / g_max (the gating relative to the
// pool's summed weight; one spike on every synapse gives u = 1 at its peak), x = u / (1 + u) + tonic, at
// most 1 -- the steady-state occupancy of receptors bound by each release and freed with the gating's
// decay (s = nu p tau / (1 + nu p tau)), so one release binds at most half of a synapse's receptors and
// busy synapses approach, never reach, full occupancy (channels keep closing, and trapping keeps acting).
//   db_d/dt = x_e k_on(V) D_d B(V) F - [x_e k_off(V) + k_closed (1 - x)] b_d,   x_e = x + access (1 - x)
// and when receptors deactivate (x falls by dx) a fraction p_escape dx of the blocked ones releases the
// drug: b_d *= (1 - p_escape)^dx. The drug enters only a bound, Mg-free (open) pore; closed channels keep
// it (trapping) except for a slow egress k_closed; drugs with closed access also bind resting receptors.
// Over one step each b_d is updated exactly with x, V and the other drugs frozen (rates <= ~10 per s, so
// the splitting error per 0.1-ms step is < 1e-6). The conducting conductance is g F B(V).
// kinetic:      Destexhe-Mainen-Sejnowski two-state receptors (models/kinetic_receptor.hpp), advanced by
//               advance_kinetic (every model's update calls it after its kernel); g is the summed w r,
//               times the Mg2+ block if Mg_block (then is_nmda: readouts as NMDA, no drug block).
// Exact update over a step: each exponential by its propagator exp(-dt/tau), precomputed
// (docs/science.md §1.3). For conductance receptors the current is g (E_rev - V); for current receptors g is
// a current (pA).
#pragma once

#include "core/aligned_array.hpp"
#include "core/fastmath.hpp"
#include "models/kinetic_receptor.hpp"
#include "models/neuron_group.hpp"

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

// Peak of e^{-t/tau_d} - e^{-t/tau_r}, at t_peak = tau_d tau_r / (tau_d - tau_r) ln(tau_d / tau_r).
inline double dual_exponential_peak(double tau_rise_ms, double tau_decay_ms) {
    const double t_peak =
        tau_decay_ms * tau_rise_ms / (tau_decay_ms - tau_rise_ms) * std::log(tau_decay_ms / tau_rise_ms);
    return std::exp(-t_peak / tau_decay_ms) - std::exp(-t_peak / tau_rise_ms);
}

// Neurons are updated in chunks small enough that per-chunk scratch arrays stay in L1; sum_conductances
// takes at most this many neurons at a time.
constexpr std::uint32_t kUpdateChunk = 256;

class ExpReceptors {
  public:
    ExpReceptors() = default;
    // Conductance receptors: state names g_<name>_nS (and for NMDA its rise part h_<name>_nS); current
    // receptors: I_<name>_pA.
    ExpReceptors(const std::vector<ReceptorSpec>& specs, std::uint32_t size, double dt_ms, ReceptorKind kind)
        : specs_(specs), prefix_(kind == ReceptorKind::conductance ? "g_" : "I_"),
          unit_(kind == ReceptorKind::conductance ? "nS" : "pA") {
        for (std::size_t r = 0; r < specs.size(); ++r) {
            const ReceptorSpec& spec = specs[r];
            g_.emplace_back(size, 0.0f);
            decay_.push_back(static_cast<float>(std::exp(-dt_ms / spec.tau_ms)));
            E_rev_mV_.push_back(static_cast<float>(spec.E_rev_mV));
            const bool nmda = spec.shape == ReceptorShape::nmda;
            const bool mg = nmda || (spec.shape == ReceptorShape::kinetic && spec.Mg_block);
            dms_.emplace_back();
            if (spec.shape == ReceptorShape::kinetic) dms_.back() = KineticReceptor(spec, size, dt_ms);
            rise_.emplace_back(nmda ? size : 0, 0.0f);
            decay_rise_.push_back(nmda ? static_cast<float>(std::exp(-dt_ms / spec.tau_rise_ms)) : 0.0f);
            norm_.push_back(
                nmda ? static_cast<float>(1.0 / dual_exponential_peak(spec.tau_rise_ms, spec.tau_ms)) : 1.0f);
            Mg_over_K0_.push_back(mg ? static_cast<float>(spec.Mg_mM / spec.K_Mg0_mM) : 0.0f);
            Mg_slope_.push_back(static_cast<float>(spec.Mg_slope_per_mV));
            // Each blocker's term (D / K_d(V))^n = A exp(-beta V), with K_d(V) = K_d(-70) e^{delta
            // (V+70)/V_T}: A = (D / K_d(-70))^n e^{-n delta 70 / V_T}, beta = n delta / V_T.
            std::vector<float> A, beta;
            for (std::size_t d = 0; nmda && d < spec.blockers.size(); ++d) {
                A.push_back(blocker_A(spec.blockers[d], spec.blocker_conc_uM[d]));
                beta.push_back(
                    float(spec.blockers[d].hill * spec.blockers[d].delta / spec.blockers[d].V_T_mV));
            }
            blocker_A_.push_back(A);
            blocker_beta_.push_back(beta);
            kinetic_.emplace_back();
            if (nmda && spec.block == ReceptorSpec::Block::kinetic) {
                KineticPool& pool = kinetic_.back();
                pool.enabled = true;
                pool.unblocked.resize(size, 1.0f);
                pool.x_previous.resize(size, 0.0f);
                pool.inv_g_max.resize(size, spec.g_max_nS > 0 ? float(1.0 / spec.g_max_nS) : 0.0f);
                pool.g_max.resize(size, float(spec.g_max_nS));
                pool.tonic.resize(size, float(spec.tonic_activation));
                for (std::size_t d = 0; d < spec.blockers.size(); ++d) {
                    const ChannelBlocker& b = spec.blockers[d];
                    KineticDrug drug;
                    drug.blocker = b;
                    // GluN2C/2D pools: affinity K_d x factor, applied to the on-rate.
                    drug.k_on_per_uM_per_step =
                        b.k_on_per_uM_per_s * 1e-3 * dt_ms / (spec.subunit_2CD ? b.K_d_factor_2CD : 1.0);
                    drug.k_off_per_step = b.k_off_per_s * 1e-3 * dt_ms;
                    drug.k_closed_per_step = b.k_off_closed_per_s * 1e-3 * dt_ms;
                    drug.beta_on_per_mV = float(b.on_share * b.delta / b.V_T_mV);
                    drug.beta_off_per_mV = float((1.0 - b.on_share) * b.delta / b.V_T_mV);
                    drug.log_keep = float(std::log1p(-std::min(b.p_escape, 0.999999)));
                    drug.access = float(b.closed_access);
                    drug.blocked.resize(size, 0.0);
                    pool.drugs.push_back(std::move(drug));
                }
                for (std::size_t d = 0; d < spec.blockers.size(); ++d)
                    set_kinetic_concentration(r, d, spec.blocker_conc_uM[d]);
            }
        }
    }

    // Readout of NMDA receptor r over neurons [begin, end) at membrane potentials V (sums over neurons):
    // fraction of channels conducting (free of Mg2+ and drugs), fraction blocked by drugs, of it trapped in
    // closed channels (kinetic block), fraction open (Po x bound x conducting), and the NMDA current
    // g F B (V - E) in pA (outward positive).
    struct NmdaReadout {
        double conducting = 0, drug_blocked = 0, trapped = 0, open = 0, current_pA = 0;
    };
    NmdaReadout nmda_readout(std::size_t r, std::uint32_t begin, std::uint32_t end, const float* V) const {
        NmdaReadout out;
        if (!is_nmda(r)) return out;
        const KineticPool& pool = kinetic_[r];
        for (std::uint32_t i = begin; i < end; ++i) {
            const double mg = Mg_over_K0_[r] * std::exp(-double(Mg_slope_[r]) * V[i]);
            double conducting, blocked, x = 0, g = g_[r][i];
            if (pool.enabled) {
                blocked = 0; // from the fractions themselves (the cached unblocked array is per step)
                for (const auto& drug : pool.drugs)
                    blocked += drug.blocked[i];
                x = bound_fraction(pool, r, i);
                conducting = (1.0 - blocked) / (1.0 + mg);
                out.trapped += blocked * (1.0 - x);
                g += pool.tonic[i] * pool.g_max[i];
            } else {
                double drugs = 0;
                for (std::size_t d = 0; d < blocker_A_[r].size(); ++d)
                    drugs += blocker_A_[r][d] * std::exp(-double(blocker_beta_[r][d]) * V[i]);
                conducting = 1.0 / (1.0 + mg + drugs);
                blocked = drugs * conducting;
            }
            out.conducting += conducting;
            out.drug_blocked += blocked;
            if (is_kinetic(r)) // DMS r is the open fraction itself (no separate Po)
                out.open += dms_[r].open_fraction(i, g_[r][i]) * conducting;
            else
                out.open += specs_[r].open_probability * x * conducting;
            out.current_pA += g * conducting * (V[i] - E_rev_mV_[r]);
        }
        return out;
    }
    const std::string& name(std::size_t r) const { return specs_[r].name; }

    // A drug's concentration changed (slow clock): recompute its term in every NMDA receptor.
    void set_blocker_concentration(std::size_t drug, double conc_uM) {
        for (std::size_t r = 0; r < specs_.size(); ++r) {
            if (is_nmda(r) && drug < blocker_A_[r].size())
                blocker_A_[r][drug] = blocker_A(specs_[r].blockers[drug], conc_uM);
            if (kinetic_[r].enabled && drug < kinetic_[r].drugs.size())
                set_kinetic_concentration(r, drug, conc_uM);
        }
    }

    // The kinetic pool's g_max per neuron (nS): x = min(1, g / g_max + tonic). Ignored when the receptor
    // has its own g_max_nS.
    void set_capacity(std::size_t r, const std::vector<float>& g_max_nS) {
        if (is_kinetic(r)) {
            dms_[r].set_capacity(g_max_nS);
            return;
        }
        KineticPool& pool = kinetic_[r];
        if (!pool.enabled || specs_[r].g_max_nS > 0) return;
        for (std::size_t i = 0; i < pool.g_max.size() && i < g_max_nS.size(); ++i) {
            pool.g_max[i] = g_max_nS[i];
            pool.inv_g_max[i] = g_max_nS[i] > 0 ? 1.0f / g_max_nS[i] : 0.0f;
        }
    }
    bool has_kinetic_block(std::size_t r) const { return kinetic_[r].enabled; }
    // A bath agonist on pool r (slice protocols): the bound fraction added to the synaptic one.
    // Neurons [begin, end) only, so each worker sets its own (ambient glutamate, models/glutamate.hpp).
    void set_tonic_activation(std::size_t r, std::uint32_t begin, std::uint32_t end, double fraction) {
        for (std::uint32_t i = begin; i < end; ++i)
            kinetic_[r].tonic[i] = float(fraction);
    }
    // Fraction of pool r's channels at neuron i holding drug d (kinetic block).
    double drug_blocked(std::size_t r, std::size_t d, std::uint32_t i) const {
        return kinetic_[r].drugs[d].blocked[i];
    }

    // Bridging the gaps of a [protocol] (sim/app/protocol.cpp; docs/slow_layer.md): the kinetic block relaxes
    // over seconds to minutes, far slower than the gating fluctuates (NMDA decay ~100 ms), so across a gap
    // without a network it follows the rates averaged over the last window (separation of time scales):
    //   db_d/dt = <a_d> D_d(t) (1 - sum_j b_j) - <c_d> b_d
    // with <a_d> the mean binding rate per uM (x_e k_on(V) B(V)), <c_d> the mean unbinding rate (x_e
    // k_off(V) + k_closed (1 - x)) plus the escape on deactivation (-ln(1 - p_escape) times the mean fall of
    // x per step). While averaging is on, advance_block sums these per neuron; bridge_block integrates the
    // equation exactly over `gap_steps` steps at concentrations conc_uM (per drug, held), using the sums of
    // the last `summed_steps` steps.
    void set_block_rate_averaging(bool on) {
        averaging_ = on;
        reset_block_rate_sums();
    }
    void reset_block_rate_sums() {
        for (auto& pool : kinetic_) {
            if (!pool.enabled) continue;
            pool.sum_fall.assign(averaging_ ? pool.unblocked.size() : 0, 0.0);
            for (auto& drug : pool.drugs) {
                drug.sum_on_per_uM.assign(averaging_ ? drug.blocked.size() : 0, 0.0);
                drug.sum_off.assign(averaging_ ? drug.blocked.size() : 0, 0.0);
            }
        }
    }
    void bridge_block(std::uint32_t begin, std::uint32_t end, const std::vector<double>& conc_uM,
                      double summed_steps, double gap_steps);

    // Advance the kinetic drug block of every NMDA pool over one step for neurons [begin, end) (at most
    // kUpdateChunk), with the membrane potentials V of those neurons at the start of the step and the
    // receptors' gating as it is before this step's decay. Call before sum_conductances.
    void advance_block(std::uint32_t begin, std::uint32_t end, const float* __restrict V) {
        const std::uint32_t n = end - begin;
        for (std::size_t r = 0; r < kinetic_.size(); ++r) {
            KineticPool& pool = kinetic_[r];
            if (!pool.enabled || (!pool.any_drug && !averaging_)) continue;
            alignas(64) float x[kUpdateChunk], mg_free[kUpdateChunk], V_plus_70[kUpdateChunk];
            alignas(64) double free_fraction[kUpdateChunk];
            const float* __restrict g = g_[r].data() + begin;
            const float* __restrict inv_g_max = pool.inv_g_max.data() + begin;
            float* __restrict x_previous = pool.x_previous.data() + begin;
            const float mg = Mg_over_K0_[r], minus_slope = -Mg_slope_[r];
            const float* __restrict tonic = pool.tonic.data() + begin;
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                const float u = g[i] * inv_g_max[i];
                x[i] = std::min(1.0f, u / (1.0f + u) + tonic[i]);
                mg_free[i] = 1.0f / (1.0f + mg * exp_approx(minus_slope * V[i]));
                V_plus_70[i] = V[i] + 70.0f;
                free_fraction[i] = 1.0;
            }
            for (auto& drug : pool.drugs)
                for (std::uint32_t i = 0; i < n; ++i)
                    free_fraction[i] -= drug.blocked[begin + i];
            if (averaging_) sum_block_rates(pool, begin, n, x, mg_free, V_plus_70);
            for (auto& drug : pool.drugs) {
                if (!drug.active) continue;
                double* __restrict b = drug.blocked.data() + begin;
                const float on = float(drug.k_on_per_uM_per_step * drug.conc_uM),
                            off = float(drug.k_off_per_step), closed = float(drug.k_closed_per_step),
                            access = drug.access, minus_beta_on = -drug.beta_on_per_mV,
                            beta_off = drug.beta_off_per_mV, log_keep = drug.log_keep;
#pragma omp simd
                for (std::uint32_t i = 0; i < n; ++i) {
                    const float x_e = x[i] + access * (1.0f - x[i]);
                    const float a = x_e * on * exp_approx(minus_beta_on * V_plus_70[i]) * mg_free[i];
                    const float c = x_e * off * exp_approx(beta_off * V_plus_70[i]) + closed * (1.0f - x[i]);
                    const float k = a + c;
                    // 1 - e^{-k}: Taylor below 0.01 (error < k^4/24 relative), where the float subtraction
                    // would lose the small rates (MK-801 unblocks at 2e-8 per step).
                    const float relax =
                        k < 0.01f ? k * (1.0f - k * (0.5f - k * (1.0f / 6.0f))) : 1.0f - exp_approx(-k);
                    const double others_free = free_fraction[i] + b[i]; // 1 - sum of the other drugs
                    const double b_inf = k > 0.0f ? double(a) * others_free / double(k) : b[i];
                    double b_new = b[i] + (b_inf - b[i]) * double(relax);
                    // Escape on deactivation: (1 - p_escape)^dx for a fall dx of the bound fraction.
                    const float fall = std::max(0.0f, x_previous[i] - x[i]);
                    b_new *= double(exp_approx(log_keep * fall));
                    free_fraction[i] = others_free - b_new;
                    b[i] = b_new;
                }
            }
            float* __restrict unblocked = pool.unblocked.data() + begin;
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                unblocked[i] = float(free_fraction[i]);
                x_previous[i] = x[i];
            }
        }
    }

    std::size_t count() const {
        return g_.size();
    }
    bool conductance() const {
        return unit_ == "nS";
    }
    float* g(std::size_t r) {
        return g_[r].data();
    }
    const float* g(std::size_t r) const {
        return g_[r].data();
    }
    float E_rev_mV(std::size_t r) const {
        return E_rev_mV_[r];
    }
    // NMDA-like: the conductance carries the Mg2+ block (the nmda shapes, and kinetic ones with Mg_block).
    bool is_nmda(std::size_t r) const {
        return specs_[r].shape == ReceptorShape::nmda || (is_kinetic(r) && specs_[r].Mg_block);
    }
    bool is_kinetic(std::size_t r) const {
        return specs_[r].shape == ReceptorShape::kinetic;
    }
    // Open fraction of kinetic receptor r at neuron i: g over the neuron's summed weight on it.
    float open_fraction(std::size_t r, std::uint32_t i) const {
        return dms_[r].open_fraction(i, g_[r][i]);
    }

    // Advance the kinetic (DMS) receptors of neurons [begin, end) over step `step` and start the pulses of
    // this step's input: the counterpart of decay_and_add, which leaves them alone. No-op without them.
    void advance_kinetic(std::uint32_t begin, std::uint32_t end, const float* const* input,
                         std::int64_t step) {
        for (std::size_t r = 0; r < g_.size(); ++r)
            if (is_kinetic(r)) dms_[r].advance(begin, end, input[r], step, g_[r].data());
    }

    // Sum of conductances and of conductance x reversal over [begin, end), written at out[0..); NMDA
    // conductances are weighted by their Mg2+ block at the membrane potential V (neurons [begin, end)).
    void sum_conductances(std::uint32_t begin, std::uint32_t end, const float* __restrict V,
                          float* __restrict g_sum, float* __restrict gE_sum) const {
        const std::uint32_t n = end - begin;
        for (std::uint32_t i = 0; i < n; ++i)
            g_sum[i] = gE_sum[i] = 0.0f;
        for (std::size_t r = 0; r < g_.size(); ++r) {
            const float* __restrict g = g_[r].data() + begin;
            const float E = E_rev_mV_[r];
            if (is_nmda(r)) {
                const float mg = Mg_over_K0_[r], minus_slope = -Mg_slope_[r];
                const std::vector<float>& A = blocker_A_[r];
                const std::vector<float>& beta = blocker_beta_[r];
                const KineticPool& pool = kinetic_[r];
                if (pool.enabled) {
                    // Kinetic block: the drug-free fraction from advance_block, Mg2+ at equilibrium.
                    const float* __restrict unblocked = pool.unblocked.data() + begin;
                    const float* __restrict g_max = pool.g_max.data() + begin;
                    const float* __restrict tonic = pool.tonic.data() + begin;
#pragma omp simd
                    for (std::uint32_t i = 0; i < n; ++i) {
                        const float gb = (g[i] + tonic[i] * g_max[i]) * unblocked[i] /
                                         (1.0f + mg * exp_approx(minus_slope * V[i]));
                        g_sum[i] += gb;
                        gE_sum[i] += gb * E;
                    }
                } else if (A.empty()) {
#pragma omp simd
                    for (std::uint32_t i = 0; i < n; ++i) {
                        const float gb = g[i] / (1.0f + mg * exp_approx(minus_slope * V[i]));
                        g_sum[i] += gb;
                        gE_sum[i] += gb * E;
                    }
                } else {
                    // Mg2+ and drugs compete for the pore (docs/science.md §3.3); denominators per neuron.
                    alignas(64) float denominator[kUpdateChunk];
#pragma omp simd
                    for (std::uint32_t i = 0; i < n; ++i)
                        denominator[i] = 1.0f + mg * exp_approx(minus_slope * V[i]);
                    for (std::size_t d = 0; d < A.size(); ++d) {
                        const float a = A[d], minus_b = -beta[d];
#pragma omp simd
                        for (std::uint32_t i = 0; i < n; ++i)
                            denominator[i] += a * exp_approx(minus_b * V[i]);
                    }
#pragma omp simd
                    for (std::uint32_t i = 0; i < n; ++i) {
                        const float gb = g[i] / denominator[i];
                        g_sum[i] += gb;
                        gE_sum[i] += gb * E;
                    }
                }
                continue;
            }
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                g_sum[i] += g[i];
                gE_sum[i] += g[i] * E;
            }
        }
    }

    // Decay over one step, then add this step's arriving input.
    void decay_and_add(std::uint32_t begin, std::uint32_t end, const float* const* input) {
        for (std::size_t r = 0; r < g_.size(); ++r) {
            if (is_kinetic(r)) continue; // advance_kinetic
            float* __restrict g = g_[r].data();
            const float* __restrict in = input[r];
            const float d = decay_[r];
            if (specs_[r].shape == ReceptorShape::nmda) {
                // g = a - h: a = g + h decays with tau_decay, h with tau_rise; both jump by N w.
                float* __restrict h = rise_[r].data();
                const float dr = decay_rise_[r], N = norm_[r];
#pragma omp simd
                for (std::uint32_t i = begin; i < end; ++i) {
                    const float a = (g[i] + h[i]) * d + N * in[i];
                    h[i] = h[i] * dr + N * in[i];
                    g[i] = a - h[i];
                }
                continue;
            }
#pragma omp simd
            for (std::uint32_t i = begin; i < end; ++i)
                g[i] = g[i] * d + in[i];
        }
    }

    // Kinetic pools also have bound_<name>: the agonist-bound fraction x of the last step (escape on
    // deactivation compares with it).
    void append_state_names(std::vector<std::string>& names) const {
        for (const auto& spec : specs_)
            names.push_back(prefix_ + spec.name + "_" + unit_);
        for (const auto& spec : specs_)
            if (spec.shape == ReceptorShape::nmda) names.push_back("h_" + spec.name + "_" + unit_);
        for (std::size_t r = 0; r < specs_.size(); ++r)
            if (kinetic_[r].enabled) names.push_back("bound_" + specs_[r].name);
        for (std::size_t r = 0; r < specs_.size(); ++r)
            if (is_kinetic(r)) dms_[r].append_state_names(specs_[r].name, unit_, names);
    }
    float* state(const std::string& name) {
        for (std::size_t r = 0; r < specs_.size(); ++r) {
            if (name == prefix_ + specs_[r].name + "_" + unit_) return g_[r].data();
            if (specs_[r].shape == ReceptorShape::nmda && name == "h_" + specs_[r].name + "_" + unit_)
                return rise_[r].data();
            if (kinetic_[r].enabled && name == "bound_" + specs_[r].name)
                return kinetic_[r].x_previous.data();
            if (is_kinetic(r))
                if (float* p = dms_[r].state(specs_[r].name, unit_, name)) return p;
        }
        return nullptr;
    }

    // Double-precision state (the kinetic block fractions: a float could not hold their per-step changes,
    // e.g. 1e-8 for 0.1 uM ketamine under Mg2+): blocked_<receptor>_<drug index>.
    void append_state_names_f64(std::vector<std::string>& names) const {
        for (std::size_t r = 0; r < specs_.size(); ++r)
            for (std::size_t d = 0; d < kinetic_[r].drugs.size(); ++d)
                names.push_back("blocked_" + specs_[r].name + "_" + std::to_string(d));
    }
    double* state_f64(const std::string& name) {
        for (std::size_t r = 0; r < specs_.size(); ++r)
            for (std::size_t d = 0; d < kinetic_[r].drugs.size(); ++d)
                if (name == "blocked_" + specs_[r].name + "_" + std::to_string(d))
                    return kinetic_[r].drugs[d].blocked.data();
        return nullptr;
    }

  private:
    struct KineticDrug {
        ChannelBlocker blocker;
        double conc_uM = 0;
        bool active = false; // a concentration was ever > 0 (until then nothing to integrate)
        double k_on_per_uM_per_step = 0, k_off_per_step = 0, k_closed_per_step = 0;
        float beta_on_per_mV = 0, beta_off_per_mV = 0, log_keep = 0, access = 0;
        AlignedArray<double> blocked;
        std::vector<double> sum_on_per_uM, sum_off; // per neuron, while averaging (bridge_block)
    };
    struct KineticPool {
        bool enabled = false, any_drug = false;
        AlignedArray<float> tonic; // per neuron (a bath agonist, or ambient glutamate)
        AlignedArray<float> unblocked, x_previous, g_max, inv_g_max;
        std::vector<KineticDrug> drugs;
        std::vector<double> sum_fall; // per neuron: summed fall of x, while averaging
    };

    // advance_block's summing for bridge_block: the rates of the step about to be taken (x, V as it sees
    // them; drugs present or not), and the fall of x since the last step.
    void sum_block_rates(KineticPool& pool, std::uint32_t begin, std::uint32_t n, const float* x,
                         const float* mg_free, const float* V_plus_70) {
        for (auto& drug : pool.drugs) {
            double* __restrict on_sum = drug.sum_on_per_uM.data() + begin;
            double* __restrict off_sum = drug.sum_off.data() + begin;
            const float on = float(drug.k_on_per_uM_per_step), off = float(drug.k_off_per_step),
                        closed = float(drug.k_closed_per_step), access = drug.access,
                        minus_beta_on = -drug.beta_on_per_mV, beta_off = drug.beta_off_per_mV;
#pragma omp simd
            for (std::uint32_t i = 0; i < n; ++i) {
                const float x_e = x[i] + access * (1.0f - x[i]);
                on_sum[i] += double(x_e * on * exp_approx(minus_beta_on * V_plus_70[i]) * mg_free[i]);
                off_sum[i] +=
                    double(x_e * off * exp_approx(beta_off * V_plus_70[i]) + closed * (1.0f - x[i]));
            }
        }
        double* __restrict fall_sum = pool.sum_fall.data() + begin;
        const float* __restrict x_previous = pool.x_previous.data() + begin;
#pragma omp simd
        for (std::uint32_t i = 0; i < n; ++i)
            fall_sum[i] += double(std::max(0.0f, x_previous[i] - x[i]));
    }
    bool averaging_ = false;

    void set_kinetic_concentration(std::size_t r, std::size_t d, double conc_uM) {
        KineticDrug& drug = kinetic_[r].drugs[d];
        drug.conc_uM = conc_uM;
        // Active once present, or while channels still hold it (e.g. restored from a checkpoint).
        bool bound = false;
        for (std::size_t i = 0; i < drug.blocked.size() && !bound && !drug.active; ++i)
            bound = drug.blocked[i] != 0.0;
        if (conc_uM > 0 || bound) drug.active = kinetic_[r].any_drug = true;
    }
    float bound_fraction(const KineticPool& pool, std::size_t r, std::uint32_t i) const {
        const float u = g_[r][i] * pool.inv_g_max[i];
        return std::min(1.0f, u / (1.0f + u) + pool.tonic[i]);
    }

    static float blocker_A(const ChannelBlocker& b, double conc_uM) {
        if (conc_uM <= 0.0) return 0.0f;
        return float(std::pow(conc_uM / b.K_d_uM_at_minus70, b.hill) *
                     std::exp(-b.hill * b.delta * 70.0 / b.V_T_mV));
    }

    std::vector<ReceptorSpec> specs_;
    std::string prefix_, unit_;
    std::vector<AlignedArray<float>> g_;
    std::vector<float> decay_;
    std::vector<float> E_rev_mV_;
    // NMDA only (empty/zero for exponential receptors)
    std::vector<AlignedArray<float>> rise_;
    std::vector<float> decay_rise_, norm_, Mg_over_K0_, Mg_slope_;
    std::vector<std::vector<float>> blocker_A_, blocker_beta_;
    std::vector<KineticPool> kinetic_; // per receptor (enabled for NMDA pools with kinetic block)
    std::vector<KineticReceptor> dms_; // per receptor (used by kinetic-shape receptors)
};

} // namespace ketaplast
