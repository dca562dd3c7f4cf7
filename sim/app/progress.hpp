// Progress on stderr: a bar with elapsed time, ETA and the real-time factor (wall-clock time / simulated
// time) on a terminal, plain lines (every 10 %) otherwise, so logs of batch jobs stay readable.
#pragma once

#include <chrono>
#include <cstdint>

namespace ketaplast {

class ProgressReporter {
  public:
    ProgressReporter(double dt_ms, std::int64_t first_step, std::int64_t last_step);
    void update(std::int64_t step);
    void finish();

  private:
    double dt_ms_;
    std::int64_t first_, last_;
    bool tty_;
    int last_decile_ = -1;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

} // namespace ketaplast
