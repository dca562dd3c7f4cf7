// One spike as the engine exchanges and records it (between ranks: sim/parallel/communicator.hpp; into files:
// sim/io/recorders.hpp).
#pragma once

#include <cstdint>

namespace ketaplast {

struct SpikeRecord {
    std::int64_t step; // the spike happened at the end of this step: t = (step + 1) dt
    std::uint32_t gid;
};

} // namespace ketaplast
