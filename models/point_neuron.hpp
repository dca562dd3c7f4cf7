// What every point-neuron model shares: membrane potential, refractory countdown, exponential
// receptors and any extra state arrays (AdEx's w), with their names for initial values and reports,
// and the health check. A model derives from it and implements update() with its own kernel.
#pragma once

#include "core/aligned_array.hpp"
#include "models/exp_receptors.hpp"
#include "models/neuron_group.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace ketaplast {

// Threshold, reset and refractoriness for one neuron, branch-free (masks, so the caller's loop
// vectorises): a non-refractory neuron whose freely integrated V_free reaches V_th spikes, is reset and
// held at V_reset for ref_steps steps. Returns 1 for a spike.
inline std::int32_t threshold_and_reset(float V_free, float V_th, float V_reset, std::int32_t ref_steps,
                                        float& V, std::int32_t& ref) {
    const bool refractory = ref > 0;
    const bool spike = !refractory && V_free >= V_th;
    V = (refractory || spike) ? V_reset : V_free;
    ref = spike ? ref_steps : (refractory ? ref - 1 : 0);
    return spike ? 1 : 0;
}

// Population-local ids of the flagged neurons of a chunk, in increasing order.
inline void collect_spikes(const std::int32_t* fired, std::uint32_t chunk, std::uint32_t n,
                           std::vector<std::uint32_t>& spikes) {
    for (std::uint32_t i = 0; i < n; ++i)
        if (fired[i]) spikes.push_back(chunk + i);
}

class PointNeuron : public NeuronGroup {
  public:
    std::uint32_t size() const override { return size_; }

    std::vector<std::string> state_names() const override {
        std::vector<std::string> names{"V_m_mV"};
        names.insert(names.end(), extra_names_.begin(), extra_names_.end());
        receptors_.append_state_names(names);
        return names;
    }

    float* state(const std::string& name) override {
        if (name == "V_m_mV") return V_m_mV_.data();
        for (std::size_t k = 0; k < extra_names_.size(); ++k)
            if (name == extra_names_[k]) return extra_[k].data();
        return receptors_.state(name);
    }

    std::vector<std::string> state_names_f64() const override {
        std::vector<std::string> names;
        receptors_.append_state_names_f64(names);
        return names;
    }
    double* state_f64(const std::string& name) override { return receptors_.state_f64(name); }

    void set_tonic_activation(std::size_t receptor, std::uint32_t begin, std::uint32_t end,
                              double fraction) override {
        if (receptors_.has_kinetic_block(receptor))
            receptors_.set_tonic_activation(receptor, begin, end, fraction);
    }
    void set_nmda_capacity(std::size_t receptor, const std::vector<float>& g_max_nS) override {
        receptors_.set_capacity(receptor, g_max_nS);
    }
    std::vector<std::string> counter_names() const override { return {"refractory_left_steps"}; }
    std::int32_t* counter(const std::string& name) override {
        return name == "refractory_left_steps" ? refractory_left_.data() : nullptr;
    }

    std::vector<ReceptorReadout> receptor_readout() const override {
        std::vector<std::string> names;
        std::vector<double> terms;
        receptor_readout_terms(0, size_, names, terms);
        std::vector<ReceptorReadout> out;
        if (size_ == 0) return out;
        constexpr std::size_t F = kReceptorReadoutFields;
        for (std::size_t r = 0; r < names.size(); ++r) {
            double g = 0, current = 0,
                   open = 0; // summed from zero in neuron order (as the distributed readout)
            for (std::uint32_t i = 0; i < size_; ++i) {
                g += terms[(r * size_ + i) * F];
                current += terms[(r * size_ + i) * F + 1];
                open += terms[(r * size_ + i) * F + 2];
            }
            out.push_back({names[r], g / size_, current / size_, open / size_});
        }
        return out;
    }
    void receptor_readout_terms(std::uint32_t begin, std::uint32_t end, std::vector<std::string>& receptors,
                                std::vector<double>& terms) const override {
        receptors.clear();
        terms.clear();
        for (std::size_t r = 0; r < receptors_.count(); ++r) {
            receptors.push_back(receptors_.name(r));
            for (std::uint32_t i = begin; i < end; ++i) {
                const double g = receptors_.g(r)[i];
                double current;
                if (receptors_.is_nmda(r))
                    current = receptors_.nmda_readout(r, i, i + 1, V_m_mV_.data()).current_pA;
                else if (receptors_.conductance())
                    current = g * (double(V_m_mV_[i]) - receptors_.E_rev_mV(r));
                else
                    current = -g; // current-based: the variable is an inward-positive current
                const double open = receptors_.is_kinetic(r) ? double(receptors_.open_fraction(r, i))
                                                             : std::numeric_limits<double>::quiet_NaN();
                terms.insert(terms.end(), {g, current, open});
            }
        }
    }

    std::vector<NmdaPoolReadout> nmda_readout() const override {
        std::vector<NmdaPoolReadout> out;
        for (std::size_t r = 0; r < receptors_.count(); ++r) {
            if (!receptors_.is_nmda(r) || size_ == 0) continue;
            const auto sums = receptors_.nmda_readout(r, 0, size_, V_m_mV_.data());
            out.push_back({receptors_.name(r), sums.conducting / size_, sums.drug_blocked / size_,
                           sums.trapped / size_, sums.open / size_, sums.current_pA / size_});
        }
        return out;
    }

    void nmda_readout_terms(std::uint32_t begin, std::uint32_t end, std::vector<std::string>& receptors,
                            std::vector<double>& terms) const override {
        receptors.clear();
        terms.clear();
        for (std::size_t r = 0; r < receptors_.count(); ++r) {
            if (!receptors_.is_nmda(r) || size_ == 0) continue;
            receptors.push_back(receptors_.name(r));
            for (std::uint32_t i = begin; i < end; ++i) {
                const auto t = receptors_.nmda_readout(r, i, i + 1, V_m_mV_.data());
                terms.insert(terms.end(), {t.conducting, t.drug_blocked, t.trapped, t.open, t.current_pA});
            }
        }
    }

    void set_blocker_concentration(std::size_t drug, double conc_uM) override {
        receptors_.set_blocker_concentration(drug, conc_uM);
    }
    void set_block_rate_averaging(bool on) override { receptors_.set_block_rate_averaging(on); }
    void reset_block_rate_sums() override { receptors_.reset_block_rate_sums(); }
    using NeuronGroup::bridge_drug_block;
    void bridge_drug_block(std::uint32_t begin, std::uint32_t end, const std::vector<double>& conc_uM,
                           double summed_steps, double gap_steps) override {
        receptors_.bridge_block(begin, end, conc_uM, summed_steps, gap_steps);
    }

    // A neuron whose V or extra state is not finite, or whose V ran beyond 10^4 mV.
    std::int64_t find_invalid(std::uint32_t begin, std::uint32_t end) const override {
        for (std::uint32_t i = begin; i < end; ++i) {
            bool bad = !std::isfinite(V_m_mV_[i]) || std::fabs(V_m_mV_[i]) > 1e4f;
            for (const auto& x : extra_)
                bad = bad || !std::isfinite(x[i]);
            if (bad) return i;
        }
        return -1;
    }

  protected:
    PointNeuron(const GroupSetup& setup, ReceptorKind kind, float V_initial_mV,
                std::vector<std::string> extra_names = {})
        : size_(setup.size), V_m_mV_(setup.size, V_initial_mV), refractory_left_(setup.size, 0),
          receptors_(setup.receptors, setup.size, setup.dt_ms, kind), extra_names_(std::move(extra_names)) {
        for (std::size_t k = 0; k < extra_names_.size(); ++k)
            extra_.emplace_back(setup.size, 0.0f);
    }

    std::uint32_t size_;
    AlignedArray<float> V_m_mV_;
    AlignedArray<std::int32_t> refractory_left_; // steps still clamped at V_reset
    ExpReceptors receptors_;
    std::vector<std::string> extra_names_;
    std::vector<AlignedArray<float>> extra_;
};

} // namespace ketaplast
