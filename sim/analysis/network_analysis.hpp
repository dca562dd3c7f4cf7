// Analyses of population activity written with a run (docs/output.md): gamma-band power of the population
// rate over time (docs/science.md §5.4, T31) and the inhibition-stabilisation probe (§5.4).
#pragma once

#include <cstdint>
#include <vector>

namespace ketaplast {

// Power of the population rate (Hz) in 30-80 Hz, per window: the rate signal of each window (bins of
// bin_ms, at most 5 ms so that 80 Hz is resolved) minus its mean, Hann-windowed, through an FFT (Eigen's
// kissfft); band power = sum of the one-sided periodogram over 30-80 Hz (Hz^2), relative = that over
// 1-100 Hz (or up to Nyquist).
struct GammaWindow {
    double start_ms = 0, power_Hz2 = 0, relative = 0;
};
std::vector<GammaWindow> gamma_power(const std::vector<double>& rate_Hz, double bin_ms, double window_ms);

// The paradoxical-response test: the probed population's mean rate before and during the extra current.
// An inhibition-stabilised network answers a depolarising current into its interneurons with a fall in
// their rate (Tsodyks et al. 1997; Ozeki et al. 2009).
struct IsnResult {
    double rate_before_Hz = 0, rate_during_Hz = 0;
    bool paradoxical = false;
};
IsnResult isn_probe(const std::vector<double>& rate_Hz, double bin_ms, double start_ms, double duration_ms,
                    double current_pA);

} // namespace ketaplast
