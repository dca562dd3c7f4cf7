#include "sim/analysis/network_analysis.hpp"

#include <unsupported/Eigen/FFT>

#include <cmath>
#include <complex>

namespace ketaplast {

std::vector<GammaWindow> gamma_power(const std::vector<double>& rate, double bin_ms, double window_ms) {
    std::vector<GammaWindow> out;
    const auto n = std::size_t(std::llround(window_ms / bin_ms));
    if (bin_ms > 5.0 || n < 16) return out;
    Eigen::FFT<double> fft;
    const double fs_Hz = 1000.0 / bin_ms, df = fs_Hz / double(n), pi = std::acos(-1.0);
    for (std::size_t start = 0; start + n <= rate.size(); start += n) {
        double mean = 0;
        for (std::size_t k = 0; k < n; ++k)
            mean += rate[start + k];
        mean /= double(n);
        std::vector<double> x(n);
        for (std::size_t k = 0; k < n; ++k)
            x[k] = (rate[start + k] - mean) * 0.5 * (1.0 - std::cos(2.0 * pi * double(k) / double(n - 1)));
        std::vector<std::complex<double>> X;
        fft.fwd(X, x);
        double band = 0, total = 0;
        for (std::size_t k = 1; k < n / 2; ++k) {
            const double f = double(k) * df, p = std::norm(X[k]) / double(n) / fs_Hz * 2.0;
            if (f >= 1.0 && f <= 100.0) total += p * df;
            if (f >= 30.0 && f <= 80.0) band += p * df;
        }
        out.push_back({double(start) * bin_ms, band, total > 0 ? band / total : 0.0});
    }
    return out;
}

IsnResult isn_probe(const std::vector<double>& rate, double bin_ms, double start_ms, double duration_ms,
                    double current_pA) {
    auto mean = [&](double from_ms, double to_ms) {
        const auto a = std::size_t(std::llround(from_ms / bin_ms)),
                   b = std::size_t(std::llround(to_ms / bin_ms));
        double s = 0;
        std::size_t n = 0;
        for (std::size_t k = a; k < b && k < rate.size(); ++k, ++n)
            s += rate[k];
        return n ? s / double(n) : 0.0;
    };
    IsnResult r;
    r.rate_before_Hz = mean(start_ms - duration_ms, start_ms);
    r.rate_during_Hz = mean(start_ms, start_ms + duration_ms);
    r.paradoxical =
        current_pA > 0 ? r.rate_during_Hz < r.rate_before_Hz : r.rate_during_Hz > r.rate_before_Hz;
    return r;
}

} // namespace ketaplast
