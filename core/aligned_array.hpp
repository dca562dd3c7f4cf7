// Contiguous, 64-byte aligned arrays for structure-of-arrays state (one cache line, one AVX-512
// register), so hot loops vectorise with aligned loads and threads' blocks do not share lines.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace ketaplast {

template <typename T>
class AlignedArray {
  public:
    static constexpr std::size_t alignment = 64;

    AlignedArray() = default;
    explicit AlignedArray(std::size_t n, T value = T{}) { resize(n, value); }
    AlignedArray(const AlignedArray& other) { *this = other; }
    AlignedArray(AlignedArray&& other) noexcept { swap(other); }
    AlignedArray& operator=(const AlignedArray& other) {
        if (this != &other) {
            resize(other.size_);
            if (size_) std::memcpy(data_, other.data_, size_ * sizeof(T));
        }
        return *this;
    }
    AlignedArray& operator=(AlignedArray&& other) noexcept {
        swap(other);
        return *this;
    }
    ~AlignedArray() { std::free(data_); }

    void resize(std::size_t n, T value = T{}) {
        std::free(data_);
        data_ = nullptr;
        size_ = n;
        if (n == 0) return;
        const std::size_t bytes = ((n * sizeof(T) + alignment - 1) / alignment) * alignment;
        data_ = static_cast<T*>(std::aligned_alloc(alignment, bytes));
        if (!data_) throw std::bad_alloc();
        for (std::size_t i = 0; i < n; ++i)
            data_[i] = value;
    }
    void fill(T value) {
        for (std::size_t i = 0; i < size_; ++i)
            data_[i] = value;
    }
    void swap(AlignedArray& other) noexcept {
        std::swap(data_, other.data_);
        std::swap(size_, other.size_);
    }

    T* data() { return data_; }
    const T* data() const { return data_; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }
    T* begin() { return data_; }
    T* end() { return data_ + size_; }
    const T* begin() const { return data_; }
    const T* end() const { return data_ + size_; }

  private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace ketaplast
