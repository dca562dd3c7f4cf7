// Communication between ranks, behind one small interface (after Arbor's distributed_context,
// arbor/distributed_context.hpp): a local implementation (one rank, no MPI), an MPI one
// (sim/parallel/communicator_mpi.cpp, compiled only with -DKETAPLAST_WITH_MPI=ON) and a dry run that lays
// out N ranks inside one process to measure what one rank holds and receives.
//
// Every call is collective: all ranks call it in the same order (from one thread per rank: the MPI
// implementation asks for MPI_THREAD_SERIALIZED). Called once per exchange interval or less, so a
// virtual call costs nothing measurable.
#pragma once

#include "sim/parallel/spike_record.hpp"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace ketaplast {

// Flags piggy-backed on every spike exchange, OR-ed over ranks: every rank takes the same stop decision
// after the same interval.
enum ExchangeFlag : std::uint32_t {
    kFlagProblem = 1,   // a numerical blow-up on some rank
    kFlagInterrupt = 2, // SIGINT/SIGTERM seen by some rank
    kFlagIoError = 4,   // an output write failed on the root
};

// Bytes this rank sent and received, and how long it spent inside the exchange (wall time).
struct CommunicationStats {
    std::uint64_t exchanges = 0, bytes_sent = 0, bytes_received = 0;
    double exchange_s = 0;
};

class Communicator {
  public:
    virtual ~Communicator() = default;
    virtual int rank() const = 0;
    virtual int size() const = 0;
    virtual std::string name() const = 0; // "local", "mpi", "dry-run"
    bool root() const { return rank() == 0; }
    bool distributed() const { return size() > 1; }

    // The spike exchange of one interval: `local` holds this rank's spikes in (step, gid) order (steps in
    // [interval_start, interval_start + 65536)); `all` receives every rank's, in (step, gid) order (ranks
    // own ascending gid ranges). Returns the OR of every rank's flags. Records travel compactly as one
    // 64-bit word: step offset in the interval (high 32 bits) and gid (low 32 bits).
    virtual std::uint32_t exchange(const std::vector<SpikeRecord>& local, std::int64_t interval_start,
                                   std::uint32_t flags, std::vector<SpikeRecord>& all) = 0;

    // Reductions, in place, identical on every rank. Integer sums are exact (so independent of order).
    virtual void sum(std::vector<std::uint64_t>& values) = 0;
    virtual void min(std::vector<std::uint32_t>& values) = 0;
    virtual void max(std::vector<std::uint32_t>& values) = 0;
    virtual void max(std::vector<double>& values) = 0;
    // Concatenation of every rank's bytes in rank order, on the root (empty elsewhere).
    virtual std::vector<char> gather(const std::vector<char>& bytes) = 0;
    // The root's bytes on every rank.
    virtual void broadcast(std::vector<char>& bytes) = 0;
    virtual void barrier() = 0;
    // Ends every rank of the job at once (after this rank's error message was printed).
    [[noreturn]] virtual void abort(int code) = 0;

    const CommunicationStats& stats() const { return stats_; }

    // Typed helpers over gather/broadcast for trivially copyable element types.
    template <typename T>
    std::vector<T> gather_vector(const std::vector<T>& values) {
        std::vector<char> bytes(values.size() * sizeof(T));
        if (!bytes.empty()) std::memcpy(bytes.data(), values.data(), bytes.size());
        const std::vector<char> all = gather(bytes);
        std::vector<T> out(all.size() / sizeof(T));
        if (!out.empty()) std::memcpy(out.data(), all.data(), out.size() * sizeof(T));
        return out;
    }
    // The first non-empty message over ranks (in rank order), on every rank.
    std::string first_message(const std::string& mine);
    std::uint64_t sum(std::uint64_t value) {
        std::vector<std::uint64_t> v{value};
        sum(v);
        return v[0];
    }

  protected:
    CommunicationStats stats_;
};

// One rank: the exchange copies, reductions are identities.
std::unique_ptr<Communicator> make_local_communicator();
// Rank `rank` of `ranks`, inside this process: every other rank is assumed to send as many spikes as
// this one (Arbor's dry-run idea), so stats() give the bytes a rank of a real run of that size would
// receive; reductions return this rank's values. For memory and traffic estimates, not for results.
std::unique_ptr<Communicator> make_dry_run_communicator(int rank, int ranks);
// MPI_COMM_WORLD (MPI must have been initialised: MpiSession). Throws RunError in a build without MPI.
std::unique_ptr<Communicator> make_mpi_communicator();

// MPI_Init_thread / MPI_Finalize for the lifetime of the object, when the program was started by an MPI
// launcher (mpirun/srun: OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set) in a build with MPI; otherwise
// nothing. `communicator()` is then the MPI one, else the local one.
class MpiSession {
  public:
    MpiSession(int* argc, char*** argv);
    ~MpiSession();
    MpiSession(const MpiSession&) = delete;
    MpiSession& operator=(const MpiSession&) = delete;
    bool active() const { return active_; }
    Communicator& communicator() { return *comm_; }

  private:
    bool active_ = false;
    std::unique_ptr<Communicator> comm_;
};

bool built_with_mpi();
// Whether this process was started by an MPI launcher (environment variables of OpenMPI, PMI, PMIx, SLURM's
// srun with --mpi).
bool launched_by_mpi();

// The process-wide communicator: set by MpiSession (and tests); the local one by default.
Communicator& world();
void set_world(Communicator* comm); // nullptr: back to the local one

} // namespace ketaplast
