#include "sim/io/checkpoint.hpp"

#include "core/error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace ketaplast {

std::uint64_t fnv1a64(const void* data, std::size_t bytes, std::uint64_t seed) {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t h = seed;
    for (std::size_t i = 0; i < bytes; ++i) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

StateArchive StateArchive::save_to(const std::string& path) {
    return StateArchive(h5::File::create(path), path, false);
}

StateArchive StateArchive::load_from(const std::string& path) {
    if (!std::filesystem::exists(path)) throw InputError(path + ": no checkpoint found");
    h5::File f;
    try {
        f = h5::File::open_read(path);
    } catch (const Error&) {
        throw InputError(path + ": not a readable checkpoint (damaged or truncated HDF5 file)");
    }
    return StateArchive(std::move(f), path, true);
}

namespace {

// The group holding `name` (created when saving), and the last path component.
h5::Object parent_of(h5::File& file, const std::string& name, bool create, std::string& leaf) {
    std::size_t start = 0;
    h5::Object g = file.open_group("/");
    for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', start)) {
        const std::string part = name.substr(start, slash - start);
        g = (create && !g.exists(part)) ? g.group(part) : g.open_group(part);
        start = slash + 1;
    }
    leaf = name.substr(start);
    return g;
}

} // namespace

bool StateArchive::has(const std::string& name) const {
    std::string leaf;
    try {
        h5::Object g = parent_of(const_cast<h5::File&>(file_), name, false, leaf);
        return g.exists(leaf);
    } catch (const Error&) {
        return false;
    }
}

std::size_t StateArchive::count_of(const std::string& name) const {
    std::string leaf;
    h5::Object g = parent_of(const_cast<h5::File&>(file_), name, false, leaf);
    const std::int64_t n = g.element_count(leaf);
    if (n < 0)
        throw InputError(path_ + ": missing dataset /" + name +
                         " (checkpoint incomplete or written by another version)");
    return std::size_t(n);
}

void StateArchive::raw(const std::string& name, hid_t file_type, hid_t mem_type, void* data, std::size_t n,
                       std::size_t element_bytes) {
    std::string leaf;
    if (!loading_) {
        h5::Object g = parent_of(file_, name, true, leaf);
        g.write_raw(leaf, file_type, mem_type, data, n);
        g.attribute_on_int(leaf, "fnv1a64", std::int64_t(fnv1a64(data, n * element_bytes)));
        return;
    }
    h5::Object g;
    try {
        g = parent_of(file_, name, false, leaf);
    } catch (const InputError&) {
        throw InputError(path_ + ": missing /" + name +
                         " (checkpoint incomplete or written by another version)");
    }
    if (g.element_count(leaf) < 0)
        throw InputError(path_ + ": missing dataset /" + name +
                         " (checkpoint incomplete or written by another version)");
    try {
        g.read_raw(leaf, mem_type, data, n);
    } catch (const InputError&) {
        throw InputError(path_ + ": dataset /" + name + " holds " + std::to_string(g.element_count(leaf)) +
                         " values, this run needs " + std::to_string(n) +
                         " (checkpoint of another network or version, or damaged)");
    }
    const std::int64_t stored = g.read_int_attribute_of(leaf, "fnv1a64");
    if (std::uint64_t(stored) != fnv1a64(data, n * element_bytes))
        throw InputError(path_ + ": dataset /" + name + " fails its checksum (file damaged)");
}

void StateArchive::array(const std::string& name, float* data, std::size_t n) {
    raw(name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, data, n, sizeof(float));
}
void StateArchive::array(const std::string& name, double* data, std::size_t n) {
    raw(name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, data, n, sizeof(double));
}
void StateArchive::array(const std::string& name, std::int32_t* data, std::size_t n) {
    raw(name, H5T_STD_I32LE, H5T_NATIVE_INT32, data, n, sizeof(std::int32_t));
}
void StateArchive::array(const std::string& name, std::uint32_t* data, std::size_t n) {
    raw(name, H5T_STD_U32LE, H5T_NATIVE_UINT32, data, n, sizeof(std::uint32_t));
}
void StateArchive::array(const std::string& name, std::int64_t* data, std::size_t n) {
    raw(name, H5T_STD_I64LE, H5T_NATIVE_INT64, data, n, sizeof(std::int64_t));
}
void StateArchive::array(const std::string& name, std::uint64_t* data, std::size_t n) {
    raw(name, H5T_STD_U64LE, H5T_NATIVE_UINT64, data, n, sizeof(std::uint64_t));
}

void StateArchive::strings(const std::string& name, std::vector<std::string>& v) {
    // Stored as one byte array of NUL-separated strings (checksummed like every other dataset).
    std::vector<std::uint32_t> bytes;
    if (!loading_) {
        for (const auto& s : v) {
            for (unsigned char c : s)
                bytes.push_back(c);
            bytes.push_back(0);
        }
    }
    vector(name, bytes);
    if (loading_) {
        v.clear();
        std::string current;
        for (std::uint32_t c : bytes) {
            if (c == 0) {
                v.push_back(current);
                current.clear();
            } else {
                current.push_back(char(c));
            }
        }
        if (!current.empty())
            throw InputError(path_ + ": dataset /" + name + " is not a list of strings (file damaged)");
    }
}

void StateArchive::text(const std::string& name, std::string& s) {
    std::vector<std::string> one{s};
    strings(name, one);
    if (loading_) {
        if (one.size() != 1) throw InputError(path_ + ": dataset /" + name + " is not one string");
        s = one.front();
    }
}

void StateArchive::close() {
    if (!loading_) file_.flush();
    file_.close();
}

namespace {

void fsync_path(const std::string& path, bool directory) {
    const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
    if (fd < 0) throw RunError("cannot open " + path + " to sync it");
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0 && !directory) throw RunError("cannot sync " + path + " to disk");
}

} // namespace

bool checkpoint_fault_due() {
    static int calls = 0;
    ++calls;
    const char* env = std::getenv("KETAPLAST_TEST_ABORT_IN_CHECKPOINT");
    return env && std::atoi(env) == calls;
}

void commit_checkpoint(const std::string& dir) {
    const std::string tmp = dir + "/checkpoint.h5.tmp", final_path = dir + "/checkpoint.h5";
    fsync_path(tmp, false);
    std::error_code ec;
    std::filesystem::rename(tmp, final_path, ec);
    if (ec) throw RunError("cannot finalise " + final_path + ": " + ec.message());
    fsync_path(dir, true); // the rename itself reaches the disk
}

} // namespace ketaplast
