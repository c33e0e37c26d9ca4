// Problem instances: the binary perceptron (and, in the data model, committee machines), with
// storage or teacher–student labels, generated deterministically or loaded from .npy files.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "locent/bits.hpp"

namespace locent {

enum class Architecture { perceptron, committee_tree, committee_fc };
enum class LabelMode { storage, teacher };

// The network being trained. A perceptron is K = 1. Committee machines (K odd hidden units,
// output sign(Σ_k sign h_k)) share the same data layout: patterns are always P × N.
struct ModelSpec {
  Architecture architecture = Architecture::perceptron;
  int hidden_units = 1;  // K
  int inputs = 0;        // N

  // Binary weights per network: N (perceptron, tree) or K·N (fully connected).
  std::size_t weights() const {
    return architecture == Architecture::committee_fc ? std::size_t(hidden_units) * inputs
                                                      : std::size_t(inputs);
  }
  // Inputs seen by one hidden unit: N, or N/K for a tree.
  int fan_in() const {
    return architecture == Architecture::committee_tree ? inputs / hidden_units : inputs;
  }
  // P = round(α × this): N for perceptron and tree, N·K for fully connected.
  std::size_t capacity_unit() const { return weights(); }
  void validate() const;  // throws Error for even N, even K, N not divisible by K, ...
};

// Training data. `patterns` holds ξ^μ as rows; `labels` σ^μ ∈ {±1}.
struct Dataset {
  ModelSpec model;
  BitMatrix patterns;                 // P × N
  std::vector<std::int8_t> labels;    // P
  std::optional<std::vector<std::int8_t>> teacher;  // teacher–student only: N weights (±1)
  std::uint64_t seed = 0;             // generation seed (0 when loaded from files)
  std::uint32_t instance = 0;         // instance index within the seed

  std::size_t n_patterns() const { return patterns.rows(); }
  std::size_t n_inputs() const { return patterns.cols(); }

  // Rows σ^μ ξ^μ: with these, every label is +1 (the gauge of algorithms.md §1).
  BitMatrix folded_rows() const;
};

struct GenerateSpec {
  ModelSpec model;
  double alpha = 0.5;
  LabelMode labels = LabelMode::storage;
  std::uint64_t seed = 1;
};

// P = round(α · capacity_unit); throws Error when α ≤ 0 or P < 1.
std::size_t pattern_count(const ModelSpec& model, double alpha);

// Instance `instance` of the seed: identical on every backend, run and platform.
Dataset generate_dataset(const GenerateSpec& spec, std::uint32_t instance);

// `count` fresh patterns and their teacher labels, for the test error of a teacher–student run.
Dataset generate_test_set(const Dataset& train, std::size_t count);

// Fraction of the dataset's patterns that a perceptron with `weights` misclassifies.
double perceptron_error_rate(const Dataset& data, const std::vector<std::int8_t>& weights);

// Generalization error arccos(W·W*/N)/π against the teacher.
double generalization_error(const std::vector<std::int8_t>& teacher,
                            const std::vector<std::int8_t>& weights);

}  // namespace locent
