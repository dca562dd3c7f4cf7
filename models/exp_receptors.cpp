// ExpReceptors::bridge_block: the kinetic drug block carried across a protocol gap
// (models/exp_receptors.hpp).
#include "models/exp_receptors.hpp"

#include <Eigen/Dense>
#include <unsupported/Eigen/MatrixFunctions>

#include <algorithm>
#include <stdexcept>

namespace ketaplast {

void ExpReceptors::bridge_block(std::uint32_t begin, std::uint32_t end, const std::vector<double>& conc_uM,
                                double summed_steps, double gap_steps) {
    if (!averaging_) throw std::logic_error("bridge_block without block-rate averaging");
    if (summed_steps <= 0 || gap_steps <= 0) return;
    const double per_step = 1.0 / summed_steps;
    // Small systems (one row per drug, plus the constant) on the stack.
    constexpr int kMax = 8;
    using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, kMax, kMax>;
    for (auto& pool : kinetic_) {
        if (!pool.enabled) continue;
        const std::size_t n = pool.drugs.size();
        if (n + 1 > std::size_t(kMax))
            throw std::invalid_argument("bridge_block: more than 7 drug species on one NMDA pool");
        std::vector<double> conc(n), escape(n);
        bool any = false;
        for (std::size_t d = 0; d < n; ++d) {
            conc[d] = d < conc_uM.size() ? conc_uM[d] : 0.0;
            escape[d] = -double(pool.drugs[d].log_keep);
            any = any || conc[d] > 0;
            for (std::uint32_t i = begin; i < end && !any; ++i)
                any = pool.drugs[d].blocked[i] != 0.0;
        }
        if (!any) continue; // nothing bound and nothing to bind
        Matrix A(n + 1, n + 1);
        std::vector<double> b(n);
        for (std::uint32_t i = begin; i < end; ++i) {
            const double fall = pool.sum_fall[i] * per_step;
            if (n == 1) { // closed form: b -> b_inf + (b - b_inf) e^{-(a + c) G}
                KineticDrug& drug = pool.drugs[0];
                const double a = drug.sum_on_per_uM[i] * per_step * conc[0];
                const double k = a + drug.sum_off[i] * per_step + escape[0] * fall;
                if (k <= 0) continue;
                const double b_inf = a / k;
                drug.blocked[i] = b_inf + (drug.blocked[i] - b_inf) * std::exp(-k * gap_steps);
                continue;
            }
            // db/dn = a - (a 1^T + diag(c)) b: the affine system as one (n+1) x (n+1) matrix exponential.
            A.setZero();
            for (std::size_t d = 0; d < n; ++d) {
                const KineticDrug& drug = pool.drugs[d];
                const double a = drug.sum_on_per_uM[i] * per_step * conc[d];
                for (std::size_t j = 0; j < n; ++j)
                    A(d, j) = -a;
                A(d, d) -= drug.sum_off[i] * per_step + escape[d] * fall;
                A(d, n) = a;
            }
            const Matrix E = (A * gap_steps).exp();
            for (std::size_t d = 0; d < n; ++d) {
                double v = E(d, n);
                for (std::size_t j = 0; j < n; ++j)
                    v += E(d, j) * pool.drugs[j].blocked[i];
                b[d] = std::max(0.0, v);
            }
            for (std::size_t d = 0; d < n; ++d)
                pool.drugs[d].blocked[i] = b[d];
        }
    }
}

} // namespace ketaplast
