// The MPI implementation of the Communicator (OpenMPI's C API; no C++ bindings, no Boost.MPI). Compiled
// only with -DKETAPLAST_WITH_MPI=ON.
#include "sim/parallel/communicator.hpp"

#include "core/error.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <string>

namespace ketaplast {

namespace {

void check(int code, const char* what) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw RunError(std::string(what) + ": " + std::string(text, std::size_t(length)));
}

class MpiCommunicator final : public Communicator {
  public:
    MpiCommunicator() {
        check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
        check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
        counts_.resize(std::size_t(size_));
        displs_.resize(std::size_t(size_));
        headers_.resize(2 * std::size_t(size_));
    }
    int rank() const override { return rank_; }
    int size() const override { return size_; }
    std::string name() const override { return "mpi"; }

    std::uint32_t exchange(const std::vector<SpikeRecord>& local, std::int64_t start, std::uint32_t flags,
                           std::vector<SpikeRecord>& all) override {
        const auto t0 = std::chrono::steady_clock::now();
        // Compact records: (step - start) << 32 | gid, 8 bytes instead of SpikeRecord's 16.
        send_.resize(local.size());
        for (std::size_t i = 0; i < local.size(); ++i)
            send_[i] = std::uint64_t(local[i].step - start) << 32 | local[i].gid;
        // Header: this rank's record count and flags (one 8-byte word per rank: 2 x uint32).
        const std::uint32_t header[2] = {std::uint32_t(local.size()), flags};
        check(MPI_Allgather(header, 2, MPI_UINT32_T, headers_.data(), 2, MPI_UINT32_T, MPI_COMM_WORLD),
              "MPI_Allgather (spike counts)");
        std::uint32_t all_flags = 0;
        int total = 0;
        for (int r = 0; r < size_; ++r) {
            counts_[std::size_t(r)] = int(headers_[2 * std::size_t(r)]);
            displs_[std::size_t(r)] = total;
            total += counts_[std::size_t(r)];
            all_flags |= headers_[2 * std::size_t(r) + 1];
        }
        received_.resize(std::size_t(total));
        check(MPI_Allgatherv(send_.data(), int(send_.size()), MPI_UINT64_T, received_.data(), counts_.data(),
                             displs_.data(), MPI_UINT64_T, MPI_COMM_WORLD),
              "MPI_Allgatherv (spikes)");
        // Merge: each rank's records are in (step, gid) order and ranks own ascending gid ranges, so
        // taking, step by step, each rank's records of that step in rank order gives (step, gid) order.
        all.clear();
        all.reserve(std::size_t(total));
        cursor_.assign(displs_.begin(), displs_.end());
        for (std::size_t done = 0; done < std::size_t(total);) {
            std::uint64_t next = ~std::uint64_t(0); // the smallest step offset left
            for (int r = 0; r < size_; ++r)
                if (cursor_[std::size_t(r)] < displs_[std::size_t(r)] + counts_[std::size_t(r)])
                    next = std::min(next, received_[std::size_t(cursor_[std::size_t(r)])] >> 32);
            for (int r = 0; r < size_; ++r) {
                int& c = cursor_[std::size_t(r)];
                const int end = displs_[std::size_t(r)] + counts_[std::size_t(r)];
                while (c < end && (received_[std::size_t(c)] >> 32) == next) {
                    all.push_back({start + std::int64_t(next), std::uint32_t(received_[std::size_t(c)])});
                    ++c, ++done;
                }
            }
        }
        ++stats_.exchanges;
        stats_.bytes_sent += 8 + 8 * local.size();
        stats_.bytes_received += 8 * std::uint64_t(size_) + 8 * std::uint64_t(total);
        stats_.exchange_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return all_flags;
    }

    void sum(std::vector<std::uint64_t>& v) override {
        check(MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD),
              "MPI_Allreduce");
    }
    void min(std::vector<std::uint32_t>& v) override {
        check(MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_UINT32_T, MPI_MIN, MPI_COMM_WORLD),
              "MPI_Allreduce");
    }
    void max(std::vector<std::uint32_t>& v) override {
        check(MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_UINT32_T, MPI_MAX, MPI_COMM_WORLD),
              "MPI_Allreduce");
    }
    void max(std::vector<double>& v) override {
        check(MPI_Allreduce(MPI_IN_PLACE, v.data(), int(v.size()), MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD),
              "MPI_Allreduce");
    }
    std::vector<char> gather(const std::vector<char>& bytes) override {
        // Byte counts first (int: parts up to 2 GB per rank), then the parts in rank order.
        if (bytes.size() > std::size_t(std::numeric_limits<int>::max()))
            throw RunError("MPI gather: more than 2 GB from one rank");
        const int n = int(bytes.size());
        check(MPI_Gather(&n, 1, MPI_INT, counts_.data(), 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather");
        std::vector<char> out;
        if (rank_ == 0) {
            std::int64_t total = 0;
            for (int r = 0; r < size_; ++r) {
                displs_[std::size_t(r)] = int(total);
                total += counts_[std::size_t(r)];
            }
            if (total > std::numeric_limits<int>::max()) throw RunError("MPI gather: more than 2 GB in all");
            out.resize(std::size_t(total));
        }
        check(MPI_Gatherv(bytes.data(), n, MPI_BYTE, out.data(), counts_.data(), displs_.data(), MPI_BYTE, 0,
                          MPI_COMM_WORLD),
              "MPI_Gatherv");
        return out;
    }
    void broadcast(std::vector<char>& bytes) override {
        std::uint64_t n = bytes.size();
        check(MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD), "MPI_Bcast");
        bytes.resize(n);
        if (n) check(MPI_Bcast(bytes.data(), int(n), MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
    }
    void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
    [[noreturn]] void abort(int code) override {
        MPI_Abort(MPI_COMM_WORLD, code);
        std::exit(code);
    }

  private:
    int rank_ = 0, size_ = 1;
    std::vector<int> counts_, displs_, cursor_;
    std::vector<std::uint32_t> headers_;
    std::vector<std::uint64_t> send_, received_;
};

} // namespace

bool built_with_mpi() {
    return true;
}

std::unique_ptr<Communicator> make_mpi_communicator() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) throw RunError("MPI is not initialised");
    return std::make_unique<MpiCommunicator>();
}

MpiSession::MpiSession(int* argc, char*** argv) {
    if (!launched_by_mpi()) {
        comm_ = make_local_communicator();
        return;
    }
    // One thread per rank calls MPI at a time (the engine's exchange runs in an OpenMP single/master
    // section): MPI_THREAD_SERIALIZED.
    int provided = 0;
    MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    active_ = true;
    if (provided < MPI_THREAD_SERIALIZED) {
        MPI_Finalize();
        throw RunError("the MPI library does not support MPI_THREAD_SERIALIZED");
    }
    // Errors are returned (and turned into exceptions), not fatal inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    comm_ = make_mpi_communicator();
    set_world(comm_.get());
}

MpiSession::~MpiSession() {
    set_world(nullptr);
    comm_.reset();
    if (active_) MPI_Finalize();
}

} // namespace ketaplast
