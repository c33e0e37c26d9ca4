// CUDA kernels of focusing BP: one parallel iteration is a weight pass (focusing messages and
// total fields, a column reduction over the P × W messages) and a pattern pass (one block per
// pattern). The CPU twin is host/cpu/fbp.cpp; both follow fbp_rules.hpp.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "locent/fbp_rules.hpp"

namespace locent::cuda {

// Device arrays of one instance; W = K · fan_in weights.
struct FbpDevice {
  int patterns, units, fan_in, weights;
  int row_words;                 // 32-bit words per folded pattern row
  bool committee, tree;
  const std::uint32_t* rows;     // P × row_words   folded σξ, bit c = input c
  float* weight_messages;        // P × W   fields û
  float* focusing;               // W
  const float* external;         // W      symmetry-breaking fields η
  float* unit_messages;          // P × K   hidden-unit factor → τ (committees)
  float* output_messages;        // P × K   output factor → τ (committees)
  double* fields;                // W      total fields Φ
  unsigned long long* max_change;  // 1: a non-negative double's bits (they order as integers)
  double* sums;                  // 2: FbpPatternSums
};

// Focusing messages (when `focusing` is non-null) and then Φ = Σ_μ û + η + f.
void launch_fbp_weight_pass(const FbpDevice& d, const fbp::Focusing* focusing, double damping,
                            cudaStream_t stream);
// New factor messages of every pattern; raises *max_change.
void launch_fbp_pattern_pass(const FbpDevice& d, double damping, cudaStream_t stream);
// Adds the pattern terms of the free entropy to sums[0] (log output) and sums[1] (edges).
void launch_fbp_pattern_sums(const FbpDevice& d, cudaStream_t stream);

}  // namespace locent::cuda
