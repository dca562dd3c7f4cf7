#include "sim/app/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace ketaplast {

ProgressReporter::ProgressReporter(double dt_ms, std::int64_t first_step, std::int64_t last_step)
    : dt_ms_(dt_ms), first_(first_step), last_(last_step), tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void ProgressReporter::update(std::int64_t step) {
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double fraction = last_ > first_ ? double(step - first_) / double(last_ - first_) : 1.0;
    const double simulated_s = double(step - first_) * dt_ms_ * 1e-3;
    const double rtf = simulated_s > 0 ? elapsed / simulated_s : 0.0;
    const double eta = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
    if (tty_) {
        if (std::chrono::duration<double>(now - last_draw_).count() < 0.2 && step < last_) return;
        last_draw_ = now;
        const int width = 30, filled = int(fraction * width);
        std::fprintf(stderr, "\r[%.*s%*s] %5.1f%%  t = %.0f ms  elapsed %.1f s  ETA %.1f s  wall/sim %.2f ",
                     filled, "##############################", width - filled, "", 100.0 * fraction,
                     double(step) * dt_ms_, elapsed, eta, rtf);
        std::fflush(stderr);
    } else {
        const int decile = int(fraction * 10.0 + 1e-9);
        if (decile == last_decile_) return;
        last_decile_ = decile;
        std::fprintf(stderr,
                     "progress %3d%%  t = %.0f ms  elapsed %.1f s  ETA %.1f s  wall/simulated time %.2f\n",
                     decile * 10, double(step) * dt_ms_, elapsed, eta, rtf);
    }
}

void ProgressReporter::finish() {
    if (tty_) std::fprintf(stderr, "\n");
}

} // namespace ketaplast
