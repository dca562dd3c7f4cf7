#include "sim/parallel/communicator.hpp"

#include "core/error.hpp"

#include <chrono>
#include <cstdlib>

namespace ketaplast {

namespace {

class LocalCommunicator final : public Communicator {
  public:
    int rank() const override { return 0; }
    int size() const override { return 1; }
    std::string name() const override { return "local"; }
    std::uint32_t exchange(const std::vector<SpikeRecord>& local, std::int64_t, std::uint32_t flags,
                           std::vector<SpikeRecord>& all) override {
        all = local;
        ++stats_.exchanges;
        return flags;
    }
    void sum(std::vector<std::uint64_t>&) override {}
    void min(std::vector<std::uint32_t>&) override {}
    void max(std::vector<std::uint32_t>&) override {}
    void max(std::vector<double>&) override {}
    std::vector<char> gather(const std::vector<char>& bytes) override { return bytes; }
    void broadcast(std::vector<char>&) override {}
    void barrier() override {}
    [[noreturn]] void abort(int code) override { std::exit(code); }
};

// Rank `rank` of `ranks` in one process. The exchange returns this rank's spikes only (the others do not
// exist), but counts the bytes a real exchange would move if every rank sent as many records as this
// one: the count headers of all ranks, and (ranks - 1) copies of this rank's records received.
class DryRunCommunicator final : public Communicator {
  public:
    DryRunCommunicator(int rank, int ranks) : rank_(rank), ranks_(ranks) {
        if (ranks < 1 || rank < 0 || rank >= ranks) throw InputError("dry run: rank must be in [0, ranks)");
    }
    int rank() const override { return rank_; }
    int size() const override { return ranks_; }
    std::string name() const override { return "dry-run"; }
    std::uint32_t exchange(const std::vector<SpikeRecord>& local, std::int64_t, std::uint32_t flags,
                           std::vector<SpikeRecord>& all) override {
        all = local;
        const std::uint64_t header = 8, record = 8; // as the MPI implementation: see communicator_mpi.cpp
        ++stats_.exchanges;
        stats_.bytes_sent += header + record * local.size();
        stats_.bytes_received +=
            std::uint64_t(ranks_) * header + std::uint64_t(ranks_) * record * local.size();
        return flags;
    }
    void sum(std::vector<std::uint64_t>&) override {}
    void min(std::vector<std::uint32_t>&) override {}
    void max(std::vector<std::uint32_t>&) override {}
    void max(std::vector<double>&) override {}
    std::vector<char> gather(const std::vector<char>& bytes) override { return bytes; }
    void broadcast(std::vector<char>&) override {}
    void barrier() override {}
    [[noreturn]] void abort(int code) override { std::exit(code); }

  private:
    int rank_, ranks_;
};

LocalCommunicator& local_instance() {
    static LocalCommunicator local;
    return local;
}

Communicator* world_ = nullptr;

} // namespace

std::string Communicator::first_message(const std::string& mine) {
    if (!distributed()) return mine;
    // Every rank's text, NUL-terminated, gathered on the root; the root's choice broadcast.
    std::vector<char> bytes(mine.begin(), mine.end());
    bytes.push_back('\0');
    std::vector<char> all = gather(bytes), chosen;
    if (root())
        for (std::size_t i = 0; i < all.size();) {
            const std::string text(all.data() + i);
            if (!text.empty()) {
                chosen.assign(text.begin(), text.end());
                break;
            }
            i += text.size() + 1;
        }
    broadcast(chosen);
    return std::string(chosen.begin(), chosen.end());
}

std::unique_ptr<Communicator> make_local_communicator() {
    return std::make_unique<LocalCommunicator>();
}

std::unique_ptr<Communicator> make_dry_run_communicator(int rank, int ranks) {
    return std::make_unique<DryRunCommunicator>(rank, ranks);
}

bool launched_by_mpi() {
    for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
        if (std::getenv(v)) return true;
    return false;
}

Communicator& world() {
    return world_ ? *world_ : local_instance();
}
void set_world(Communicator* comm) {
    world_ = comm;
}

#ifndef KETAPLAST_WITH_MPI
bool built_with_mpi() {
    return false;
}
std::unique_ptr<Communicator> make_mpi_communicator() {
    throw InputError("this ketaplast was built without MPI (configure with -DKETAPLAST_WITH_MPI=ON)");
}
MpiSession::MpiSession(int*, char***) : comm_(make_local_communicator()) {}
MpiSession::~MpiSession() {
    set_world(nullptr);
}
#endif

} // namespace ketaplast
