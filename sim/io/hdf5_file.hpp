// A small RAII wrapper over the HDF5 C API (HighFive is not packaged in Debian 12): files, groups,
// datasets (fixed or appendable), attributes. Every failure throws RunError naming the file and
// object; HDF5's own error stack printing is switched off.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ketaplast::h5 {

// Owns one hid_t and closes it with the right H5*close.
class Handle {
  public:
    Handle() = default;
    Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    Handle(Handle&& o) noexcept { *this = std::move(o); }
    Handle& operator=(Handle&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = o.id_;
            close_ = o.close_;
            o.id_ = -1;
        }
        return *this;
    }
    ~Handle() { reset(); }
    void reset() {
        if (id_ >= 0 && close_) close_(id_);
        id_ = -1;
    }
    hid_t id() const { return id_; }
    bool valid() const { return id_ >= 0; }

  private:
    hid_t id_ = -1;
    herr_t (*close_)(hid_t) = nullptr;
};

class Object;

// A dataset that grows along its first dimension (chunked), for time-ordered appends.
class AppendableDataset {
  public:
    AppendableDataset() = default;
    AppendableDataset(Handle dataset, hid_t mem_type, std::size_t row_width, int rank, std::string name)
        : dataset_(std::move(dataset)), mem_type_(mem_type), row_width_(row_width), rank_(rank),
          name_(std::move(name)) {}
    template <typename T>
    void append(const std::vector<T>& values) {
        append_raw(values.data(), values.size());
    }
    void append_raw(const void* data, std::size_t count); // count: elements (multiple of row width)
    std::uint64_t rows() const { return rows_; }
    hid_t id() const { return dataset_.id(); }
    // Cut the dataset back to its first `rows` rows (a resumed run discards what was appended after its
    // checkpoint). Throws InputError if it holds fewer.
    void truncate(std::uint64_t rows);

  private:
    friend class Object;
    Handle dataset_;
    hid_t mem_type_ = -1;
    std::size_t row_width_ = 1;
    int rank_ = 1;
    std::uint64_t rows_ = 0;
    std::string name_;
};

// A file or group.
class Object {
  public:
    Object() = default;
    Object(Handle h, std::string path, std::string file)
        : h_(std::move(h)), path_(std::move(path)), file_(std::move(file)) {}
    hid_t id() const { return h_.id(); }
    const std::string& path() const { return path_; }

    Object group(const std::string& name);            // create
    Object open_group(const std::string& name) const; // open existing
    bool exists(const std::string& name) const;

    void write(const std::string& name, const std::vector<double>& v, const std::string& units = "");
    void write(const std::string& name, const std::vector<float>& v, const std::string& units = "");
    void write(const std::string& name, const std::vector<std::uint64_t>& v);
    void write(const std::string& name, const std::vector<std::uint32_t>& v);
    void write(const std::string& name, const std::vector<std::int64_t>& v);
    void write_strings(const std::string& name, const std::vector<std::string>& v);
    // 2-D row-major uint64 dataset.
    void write_u64_matrix(const std::string& name, const std::vector<std::uint64_t>& v, std::size_t rows,
                          std::size_t cols);
    // 2-D row-major float dataset.
    void write_matrix(const std::string& name, const std::vector<float>& v, std::size_t rows,
                      std::size_t cols, const std::string& units = "");

    // rank 2 (rows x row_width) when two_d, else rank 1 (row_width must be 1).
    AppendableDataset appendable(const std::string& name, hid_t file_type, hid_t mem_type,
                                 std::size_t row_width, std::size_t chunk_rows, const std::string& units = "",
                                 bool two_d = false);

    void attribute(const std::string& name, const std::string& value);
    void attribute(const std::string& name, double value);
    void attribute(const std::string& name, std::int64_t value);
    // A uint32 attribute: a scalar for one value, else a 1-D array (SONATA's `magic` and `version`).
    void attribute_u32(const std::string& name, const std::vector<std::uint32_t>& values);
    void attribute_on(const std::string& dataset, const std::string& name, const std::string& value);
    // SONATA's `sorting` attribute: an HDF5 enum {none = 0, by_id = 1, by_time = 2} (libsonata).
    void sorting_attribute(int value);

    // An existing appendable dataset (e.g. of a file reopened to resume a run), positioned after its rows.
    AppendableDataset open_appendable(const std::string& name, hid_t mem_type) const;

    // Typed 1-D datasets of raw memory (checkpoints): `write_raw` creates `name`, `read_raw` reads exactly
    // n elements (InputError if the dataset is missing or holds another count), `element_count` is its size
    // or -1 if it does not exist.
    void write_raw(const std::string& name, hid_t file_type, hid_t mem_type, const void* data, std::size_t n);
    void read_raw(const std::string& name, hid_t mem_type, void* data, std::size_t n) const;
    std::int64_t element_count(const std::string& name) const;
    std::int64_t read_int_attribute(const std::string& name) const;
    void attribute_on_int(const std::string& dataset, const std::string& name, std::int64_t value);
    std::int64_t read_int_attribute_of(const std::string& dataset, const std::string& name) const;

    std::vector<double> read_doubles(const std::string& name) const;
    std::vector<std::uint64_t> read_u64(const std::string& name) const;
    std::string read_string_attribute(const std::string& name) const;
    std::string read_string_attribute_of(const std::string& dataset, const std::string& name) const;

  protected:
    void write_2d(const std::string& name, hid_t file_type, hid_t mem_type, const void* data,
                  std::size_t rows, std::size_t cols, const std::string& units);
    Handle h_;
    std::string path_, file_;
};

class File : public Object {
  public:
    static File create(const std::string& path); // truncates
    static File open_read(const std::string& path);
    static File open_rw(const std::string& path); // an existing file, to append to
    void close() { h_.reset(); }
    void flush() const; // everything written so far reaches the file (H5Fflush)
    bool valid_file() const { return h_.valid(); }
};

// Disable HDF5's automatic error printing (errors become exceptions with our own message).
void silence_errors();

} // namespace ketaplast::h5
