// Checkpoints: the complete state of a run at an exchange boundary, as named datasets in one HDF5 file
// (RUN_DIR/checkpoint.h5; layout in docs/output.md), so `ketaplast resume` continues bit-identically.
//
// Every part of the state is saved and restored by ONE function that walks it with a StateArchive:
// the same `a.array("name", pointer, count)` line writes the array when saving and reads it back (with
// its size checked) when loading. Adding state to checkpoints is one such line in the owner's
// checkpoint function (Engine::checkpoint_state, the recorders' checkpoint, neuron state generically
// through NeuronGroup::state_names()/counter_names()).
//
// Atomicity: the file is written as checkpoint.h5.tmp, flushed, fsynced and renamed over the previous
// checkpoint (then the directory is fsynced), so a process killed at any moment leaves the last
// complete checkpoint. Every dataset carries an FNV-1a checksum of its bytes, checked when loading.
#pragma once

#include "sim/io/hdf5_file.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast {

// Bumped whenever the layout changes: a checkpoint of another format version is refused.
constexpr std::int64_t kCheckpointFormatVersion = 1;

class StateArchive {
  public:
    // Saving into a new file, or loading from an existing one (InputError if it cannot be opened).
    static StateArchive save_to(const std::string& path);
    static StateArchive load_from(const std::string& path);

    bool loading() const { return loading_; }
    const std::string& path() const { return path_; }

    // Fixed-size arrays: on load the stored array must hold exactly n values. Names are paths
    // ("neurons/E/V_m_mV"); groups are created as needed.
    void array(const std::string& name, float* data, std::size_t n);
    void array(const std::string& name, double* data, std::size_t n);
    void array(const std::string& name, std::int32_t* data, std::size_t n);
    void array(const std::string& name, std::uint32_t* data, std::size_t n);
    void array(const std::string& name, std::int64_t* data, std::size_t n);
    void array(const std::string& name, std::uint64_t* data, std::size_t n);
    // Variable-size vectors: resized on load.
    template <typename T>
    void vector(const std::string& name, std::vector<T>& v) {
        if (loading_) v.resize(count_of(name));
        array(name, v.data(), v.size());
    }
    template <typename T>
    void value(const std::string& name, T& x) {
        array(name, &x, 1);
    }
    void strings(const std::string& name, std::vector<std::string>& v);
    void text(const std::string& name, std::string& s); // a string attribute on the root

    bool has(const std::string& name) const;
    // Saving: flush and close (write_checkpoint_file then fsyncs and renames). Loading: close.
    void close();
    h5::File& file() { return file_; }

  private:
    StateArchive(h5::File file, std::string path, bool loading)
        : file_(std::move(file)), path_(std::move(path)), loading_(loading) {}
    std::size_t count_of(const std::string& name) const;
    void raw(const std::string& name, hid_t file_type, hid_t mem_type, void* data, std::size_t n,
             std::size_t element_bytes);
    h5::File file_;
    std::string path_;
    bool loading_;
};

// Writes `dir`/checkpoint.h5 atomically: `fill` saves the state into an archive on checkpoint.h5.tmp,
// which is then closed, fsynced and renamed over checkpoint.h5. The environment variable
// KETAPLAST_TEST_ABORT_IN_CHECKPOINT=N kills the process (SIGKILL) half-way through the N-th checkpoint
// of the process (fault injection for the atomicity test).
template <typename Fill>
void write_checkpoint_file(const std::string& dir, Fill&& fill);
void commit_checkpoint(const std::string& dir); // fsync tmp, rename, fsync dir
bool checkpoint_fault_due();                    // the half-way point of the N-th checkpoint (test hook)

template <typename Fill>
void write_checkpoint_file(const std::string& dir, Fill&& fill) {
    {
        StateArchive a = StateArchive::save_to(dir + "/checkpoint.h5.tmp");
        fill(a);
        a.close();
    }
    commit_checkpoint(dir);
}

// FNV-1a, 64 bits: config hashes and per-dataset checksums (not cryptographic; detects corruption and
// mismatched runs).
std::uint64_t fnv1a64(const void* data, std::size_t bytes, std::uint64_t seed = 14695981039346656037ull);

} // namespace ketaplast
