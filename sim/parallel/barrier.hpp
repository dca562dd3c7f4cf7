// The engine's exchange barrier: spin briefly, then sleep until released.
//
// Why not `#pragma omp barrier`: libgomp spin-waits for a long time (GOMP_SPINCOUNT) before sleeping.
// With every core busy (a batch node shared with another job, a laptop running a browser) a
// spinning thread keeps its core while the thread everyone waits for is descheduled, and each
// barrier costs a scheduler time slice: measured here, a 10 s COBA run with 2 threads took 26 s
// instead of 0.7 s next to another process (sched_yield did not help: 10 s). Sleeping on the
// atomic (futex) after a short spin keeps the fast path (the other thread usually arrives within
// microseconds) and hands the core to the thread that is late when cores are oversubscribed.
#pragma once

#include <atomic>

namespace ketaplast {

class SpinSleepBarrier {
  public:
    explicit SpinSleepBarrier(int threads) : threads_(threads) {}

    void wait() {
        const unsigned generation = generation_.load(std::memory_order_acquire);
        if (arrived_.fetch_add(1, std::memory_order_acq_rel) == threads_ - 1) {
            arrived_.store(0, std::memory_order_relaxed);
            generation_.fetch_add(1, std::memory_order_acq_rel); // releases everyone's writes
            generation_.notify_all();
            return;
        }
        for (unsigned spins = 0; spins < 4000; ++spins) {
            if (generation_.load(std::memory_order_acquire) != generation) return;
#if defined(__x86_64__)
            __builtin_ia32_pause();
#endif
        }
        while (generation_.load(std::memory_order_acquire) == generation)
            generation_.wait(generation);
    }

  private:
    const int threads_;
    alignas(64) std::atomic<int> arrived_{0};
    alignas(64) std::atomic<unsigned> generation_{0};
};

} // namespace ketaplast
