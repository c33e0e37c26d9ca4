// DeviceArray: a typed cudaMalloc allocation that frees itself, with checked transfers.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "kernels/cuda_check.cuh"

namespace locent::cuda {

template <class T>
class DeviceArray {
 public:
  DeviceArray() = default;
  explicit DeviceArray(std::size_t n) : n_(n) {
    if (n) LOCENT_CUDA_CHECK(cudaMalloc(&ptr_, n * sizeof(T)));
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept : ptr_(o.ptr_), n_(o.n_) { o.ptr_ = nullptr, o.n_ = 0; }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(n_, o.n_);
    return *this;
  }
  ~DeviceArray() {
    if (ptr_) cudaFree(ptr_);
  }
  T* get() const { return ptr_; }
  std::size_t size() const { return n_; }
  // Copies `count` elements to / from element `offset` of the array.
  void upload(const void* src, std::size_t count, std::size_t offset = 0) {
    if (count)
      LOCENT_CUDA_CHECK(cudaMemcpy(ptr_ + offset, src, count * sizeof(T), cudaMemcpyHostToDevice));
  }
  void download(void* dst, std::size_t count, std::size_t offset = 0) const {
    if (count)
      LOCENT_CUDA_CHECK(cudaMemcpy(dst, ptr_ + offset, count * sizeof(T), cudaMemcpyDeviceToHost));
  }

 private:
  T* ptr_ = nullptr;
  std::size_t n_ = 0;
};

}  // namespace locent::cuda
