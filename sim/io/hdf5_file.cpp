#include "sim/io/hdf5_file.hpp"

#include "core/error.hpp"

#include <cstring>

namespace ketaplast::h5 {

namespace {

[[noreturn]] void fail(const std::string& file, const std::string& what) {
    throw RunError("HDF5 error in " + file + ": " + what);
}

hid_t check(hid_t id, const std::string& file, const std::string& what) {
    if (id < 0) fail(file, what);
    return id;
}

void check_status(herr_t status, const std::string& file, const std::string& what) {
    if (status < 0) fail(file, what);
}

std::string join_path(const std::string& a, const std::string& b) {
    return a == "/" ? "/" + b : a + "/" + b;
}

} // namespace

void silence_errors() {
    // No HDF5 clean-up at exit: after a failed write (disk full) HDF5 1.10 keeps the file open and its
    // exit handler crashes closing it; the operating system closes the files anyway. Must come before
    // the library initialises, hence here, ahead of every other HDF5 call.
    static const bool once = [] {
        H5dont_atexit();
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        return true;
    }();
    (void)once;
}

File File::create(const std::string& path) {
    silence_errors();
    const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (id < 0) throw RunError("cannot create HDF5 file '" + path + "'");
    File f;
    static_cast<Object&>(f) = Object(Handle(id, H5Fclose), "/", path);
    return f;
}

File File::open_read(const std::string& path) {
    silence_errors();
    const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) throw InputError("cannot open HDF5 file '" + path + "' (missing or not HDF5)");
    File f;
    static_cast<Object&>(f) = Object(Handle(id, H5Fclose), "/", path);
    return f;
}

File File::open_rw(const std::string& path) {
    silence_errors();
    const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    if (id < 0) throw InputError("cannot open HDF5 file '" + path + "' for appending (missing or damaged)");
    File f;
    static_cast<Object&>(f) = Object(Handle(id, H5Fclose), "/", path);
    return f;
}

void File::flush() const {
    if (H5Fflush(id(), H5F_SCOPE_GLOBAL) < 0) throw RunError("HDF5: cannot flush " + file_ + " (disk full?)");
}

Object Object::group(const std::string& name) {
    const hid_t g = check(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), file_,
                          "create group " + join_path(path_, name));
    return Object(Handle(g, H5Gclose), join_path(path_, name), file_);
}

Object Object::open_group(const std::string& name) const {
    const hid_t g = H5Gopen2(id(), name.c_str(), H5P_DEFAULT);
    if (g < 0) throw InputError(file_ + ": missing group " + join_path(path_, name));
    return Object(Handle(g, H5Gclose), join_path(path_, name), file_);
}

bool Object::exists(const std::string& name) const {
    return H5Lexists(id(), name.c_str(), H5P_DEFAULT) > 0;
}

namespace {

void write_1d(hid_t loc, const std::string& file, const std::string& path, const std::string& name,
              hid_t file_type, hid_t mem_type, const void* data, std::size_t n) {
    const hsize_t dims[1] = {n};
    Handle space(check(H5Screate_simple(1, dims, nullptr), file, "dataspace"), H5Sclose);
    Handle dset(
        check(H5Dcreate2(loc, name.c_str(), file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              file, "create dataset " + join_path(path, name)),
        H5Dclose);
    if (n)
        check_status(H5Dwrite(dset.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), file,
                     "write dataset " + join_path(path, name));
}

void string_attribute(hid_t obj, const std::string& file, const std::string& name, const std::string& value) {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.id(), value.empty() ? 1 : value.size());
    H5Tset_strpad(type.id(), H5T_STR_NULLTERM);
    H5Tset_cset(type.id(), H5T_CSET_UTF8);
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attr(check(H5Acreate2(obj, name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT), file,
                      "create attribute " + name),
                H5Aclose);
    const std::string padded = value.empty() ? std::string(1, '\0') : value;
    check_status(H5Awrite(attr.id(), type.id(), padded.data()), file, "write attribute " + name);
}

} // namespace

void Object::write(const std::string& name, const std::vector<double>& v, const std::string& units) {
    write_1d(id(), file_, path_, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v.data(), v.size());
    if (!units.empty()) attribute_on(name, "units", units);
}
void Object::write(const std::string& name, const std::vector<float>& v, const std::string& units) {
    write_1d(id(), file_, path_, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, v.data(), v.size());
    if (!units.empty()) attribute_on(name, "units", units);
}
void Object::write(const std::string& name, const std::vector<std::uint64_t>& v) {
    write_1d(id(), file_, path_, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, v.data(), v.size());
}
void Object::write(const std::string& name, const std::vector<std::uint32_t>& v) {
    write_1d(id(), file_, path_, name, H5T_STD_U32LE, H5T_NATIVE_UINT32, v.data(), v.size());
}
void Object::write(const std::string& name, const std::vector<std::int64_t>& v) {
    write_1d(id(), file_, path_, name, H5T_STD_I64LE, H5T_NATIVE_INT64, v.data(), v.size());
}

void Object::write_strings(const std::string& name, const std::vector<std::string>& v) {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.id(), H5T_VARIABLE);
    H5Tset_cset(type.id(), H5T_CSET_UTF8);
    std::vector<const char*> ptrs;
    for (const auto& s : v)
        ptrs.push_back(s.c_str());
    write_1d(id(), file_, path_, name, type.id(), type.id(), ptrs.data(), ptrs.size());
}

void Object::write_2d(const std::string& name, hid_t file_type, hid_t mem_type, const void* data,
                      std::size_t rows, std::size_t cols, const std::string& units) {
    const hsize_t dims[2] = {rows, cols};
    Handle space(check(H5Screate_simple(2, dims, nullptr), file_, "dataspace"), H5Sclose);
    Handle dset(
        check(H5Dcreate2(id(), name.c_str(), file_type, space.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              file_, "create dataset " + join_path(path_, name)),
        H5Dclose);
    if (rows * cols != 0)
        check_status(H5Dwrite(dset.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), file_,
                     "write dataset " + join_path(path_, name));
    if (!units.empty()) string_attribute(dset.id(), file_, "units", units);
}

void Object::write_matrix(const std::string& name, const std::vector<float>& v, std::size_t rows,
                          std::size_t cols, const std::string& units) {
    write_2d(name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, v.data(), rows, cols, units);
}

void Object::write_u64_matrix(const std::string& name, const std::vector<std::uint64_t>& v, std::size_t rows,
                              std::size_t cols) {
    write_2d(name, H5T_STD_U64LE, H5T_NATIVE_UINT64, v.data(), rows, cols, "");
}

AppendableDataset Object::appendable(const std::string& name, hid_t file_type, hid_t mem_type,
                                     std::size_t row_width, std::size_t chunk_rows, const std::string& units,
                                     bool two_d) {
    const int rank = (two_d || row_width > 1) ? 2 : 1;
    const hsize_t dims[2] = {0, row_width}, maxdims[2] = {H5S_UNLIMITED, row_width};
    // Wide rows (weight snapshots of a whole projection) are split into chunks of at most 2^20 columns.
    const hsize_t chunk[2] = {std::max<hsize_t>(1, chunk_rows),
                              std::min<hsize_t>(hsize_t(1) << 20, std::max<hsize_t>(1, row_width))};
    Handle space(check(H5Screate_simple(rank, dims, maxdims), file_, "dataspace"), H5Sclose);
    Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    check_status(H5Pset_chunk(props.id(), rank, chunk), file_, "chunking");
    Handle dset(
        check(H5Dcreate2(id(), name.c_str(), file_type, space.id(), H5P_DEFAULT, props.id(), H5P_DEFAULT),
              file_, "create dataset " + join_path(path_, name)),
        H5Dclose);
    if (!units.empty()) string_attribute(dset.id(), file_, "units", units);
    return AppendableDataset(std::move(dset), mem_type, row_width, rank,
                             file_ + ":" + join_path(path_, name));
}

AppendableDataset Object::open_appendable(const std::string& name, hid_t mem_type) const {
    Handle dset(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dset.valid()) throw InputError(file_ + ": missing dataset " + join_path(path_, name));
    Handle space(H5Dget_space(dset.id()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.id());
    hsize_t dims[2] = {0, 1};
    if (rank < 1 || rank > 2 || H5Sget_simple_extent_dims(space.id(), dims, nullptr) < 0)
        throw InputError(file_ + ": dataset " + join_path(path_, name) + " is not a 1-D or 2-D table");
    AppendableDataset d(std::move(dset), mem_type, rank == 2 ? dims[1] : 1, rank,
                        file_ + ":" + join_path(path_, name));
    d.rows_ = dims[0];
    return d;
}

void AppendableDataset::truncate(std::uint64_t rows) {
    if (rows > rows_)
        throw InputError(name_ + " holds " + std::to_string(rows_) + " rows, fewer than the " +
                         std::to_string(rows) +
                         " the checkpoint recorded (file damaged or from another run)");
    const hsize_t size[2] = {rows, row_width_};
    if (H5Dset_extent(dataset_.id(), size) < 0) throw RunError("HDF5: cannot shrink " + name_);
    rows_ = rows;
}

void Object::write_raw(const std::string& name, hid_t file_type, hid_t mem_type, const void* data,
                       std::size_t n) {
    write_1d(id(), file_, path_, name, file_type, mem_type, data, n);
}

std::int64_t Object::element_count(const std::string& name) const {
    if (!exists(name)) return -1;
    Handle d(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) return -1;
    Handle space(H5Dget_space(d.id()), H5Sclose);
    return std::int64_t(H5Sget_simple_extent_npoints(space.id()));
}

void Object::read_raw(const std::string& name, hid_t mem_type, void* data, std::size_t n) const {
    const std::int64_t count = element_count(name);
    if (count < 0) throw InputError(file_ + ": missing dataset " + join_path(path_, name));
    if (std::uint64_t(count) != n)
        throw InputError(file_ + ": dataset " + join_path(path_, name) + " holds " + std::to_string(count) +
                         " values where " + std::to_string(n) + " are expected");
    Handle d(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
    if (n && H5Dread(d.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        throw InputError(file_ + ": cannot read dataset " + join_path(path_, name) + " (file damaged?)");
}

namespace {
std::int64_t read_int_attr(hid_t obj, const std::string& file, const std::string& name,
                           const std::string& where = "") {
    Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
    if (!attr.valid()) throw InputError(file + ": missing attribute " + name + where);
    std::int64_t value = 0;
    if (H5Aread(attr.id(), H5T_NATIVE_INT64, &value) < 0)
        throw InputError(file + ": cannot read attribute " + name + where);
    return value;
}
} // namespace

std::int64_t Object::read_int_attribute(const std::string& name) const {
    return read_int_attr(id(), file_, name);
}

std::int64_t Object::read_int_attribute_of(const std::string& dataset, const std::string& name) const {
    Handle d(H5Dopen2(id(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) throw InputError(file_ + ": missing dataset " + dataset);
    return read_int_attr(d.id(), file_, name, " of " + join_path(path_, dataset));
}

void Object::attribute_on_int(const std::string& dataset, const std::string& name, std::int64_t value) {
    Handle d(check(H5Dopen2(id(), dataset.c_str(), H5P_DEFAULT), file_, "open " + dataset), H5Dclose);
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attr(check(H5Acreate2(d.id(), name.c_str(), H5T_STD_I64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                      file_, "attribute " + name),
                H5Aclose);
    check_status(H5Awrite(attr.id(), H5T_NATIVE_INT64, &value), file_, "attribute " + name);
}

void AppendableDataset::append_raw(const void* data, std::size_t count) {
    if (count == 0) return;
    const hsize_t new_rows = count / row_width_;
    const int rank = rank_;
    const hsize_t size[2] = {rows_ + new_rows, row_width_};
    if (H5Dset_extent(dataset_.id(), size) < 0) throw RunError("HDF5: cannot extend " + name_);
    Handle file_space(H5Dget_space(dataset_.id()), H5Sclose);
    const hsize_t start[2] = {rows_, 0}, block[2] = {new_rows, row_width_};
    H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start, nullptr, block, nullptr);
    Handle mem_space(H5Screate_simple(rank, block, nullptr), H5Sclose);
    if (H5Dwrite(dataset_.id(), mem_type_, mem_space.id(), file_space.id(), H5P_DEFAULT, data) < 0)
        throw RunError("HDF5: cannot write to " + name_ + " (disk full?)");
    rows_ += new_rows;
}

void Object::attribute(const std::string& name, const std::string& value) {
    string_attribute(id(), file_, name, value);
}

void Object::attribute(const std::string& name, double value) {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attr(check(H5Acreate2(id(), name.c_str(), H5T_IEEE_F64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                      file_, "attribute " + name),
                H5Aclose);
    check_status(H5Awrite(attr.id(), H5T_NATIVE_DOUBLE, &value), file_, "attribute " + name);
}

void Object::attribute(const std::string& name, std::int64_t value) {
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attr(check(H5Acreate2(id(), name.c_str(), H5T_STD_I64LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                      file_, "attribute " + name),
                H5Aclose);
    check_status(H5Awrite(attr.id(), H5T_NATIVE_INT64, &value), file_, "attribute " + name);
}

void Object::attribute_u32(const std::string& name, const std::vector<std::uint32_t>& values) {
    const hsize_t n = values.size();
    Handle space(values.size() == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), H5Sclose);
    Handle attr(check(H5Acreate2(id(), name.c_str(), H5T_STD_U32LE, space.id(), H5P_DEFAULT, H5P_DEFAULT),
                      file_, "attribute " + name),
                H5Aclose);
    check_status(H5Awrite(attr.id(), H5T_NATIVE_UINT32, values.data()), file_, "attribute " + name);
}

void Object::attribute_on(const std::string& dataset, const std::string& name, const std::string& value) {
    Handle d(check(H5Dopen2(id(), dataset.c_str(), H5P_DEFAULT), file_, "open " + dataset), H5Dclose);
    string_attribute(d.id(), file_, name, value);
}

void Object::sorting_attribute(int value) {
    Handle type(H5Tenum_create(H5T_STD_U8LE), H5Tclose);
    const char* names[] = {"none", "by_id", "by_time"};
    for (std::uint8_t v = 0; v < 3; ++v)
        H5Tenum_insert(type.id(), names[v], &v);
    Handle space(H5Screate(H5S_SCALAR), H5Sclose);
    Handle attr(check(H5Acreate2(id(), "sorting", type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT), file_,
                      "attribute sorting"),
                H5Aclose);
    const std::uint8_t v = std::uint8_t(value);
    check_status(H5Awrite(attr.id(), type.id(), &v), file_, "attribute sorting");
}

namespace {
template <typename T>
std::vector<T> read_1d(hid_t loc, const std::string& file, const std::string& name, hid_t mem_type) {
    Handle d(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) throw InputError(file + ": missing dataset " + name);
    Handle space(H5Dget_space(d.id()), H5Sclose);
    const hssize_t n = H5Sget_simple_extent_npoints(space.id());
    std::vector<T> out(std::size_t(std::max<hssize_t>(0, n)));
    if (n > 0 && H5Dread(d.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0)
        throw InputError(file + ": cannot read dataset " + name);
    return out;
}

std::string read_string_attr(hid_t obj, const std::string& file, const std::string& name) {
    Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose);
    if (!attr.valid()) throw InputError(file + ": missing attribute " + name);
    Handle type(H5Aget_type(attr.id()), H5Tclose);
    if (H5Tis_variable_str(type.id()) > 0) {
        char* value = nullptr;
        Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(mem.id(), H5T_VARIABLE);
        H5Aread(attr.id(), mem.id(), &value);
        std::string s = value ? value : "";
        H5free_memory(value);
        return s;
    }
    std::string s(H5Tget_size(type.id()), '\0');
    H5Aread(attr.id(), type.id(), s.data());
    s.erase(s.find('\0') == std::string::npos ? s.size() : s.find('\0'));
    return s;
}
} // namespace

std::vector<double> Object::read_doubles(const std::string& name) const {
    return read_1d<double>(id(), file_, name, H5T_NATIVE_DOUBLE);
}
std::vector<std::uint64_t> Object::read_u64(const std::string& name) const {
    return read_1d<std::uint64_t>(id(), file_, name, H5T_NATIVE_UINT64);
}
std::string Object::read_string_attribute(const std::string& name) const {
    return read_string_attr(id(), file_, name);
}
std::string Object::read_string_attribute_of(const std::string& dataset, const std::string& name) const {
    Handle d(H5Dopen2(id(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
    if (!d.valid()) throw InputError(file_ + ": missing dataset " + dataset);
    return read_string_attr(d.id(), file_, name);
}

} // namespace ketaplast::h5
