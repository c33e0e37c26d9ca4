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
  // First input seen by hidden unit k: k·N/K in a tree, else 0. Weights are stored K × fan_in,
  // row-major, so unit k's weight j applies to input unit_input_offset(k) + j.
  std::size_t unit_input_offset(int k) const {
    return architecture == Architecture::committee_tree ? std::size_t(k) * fan_in() : 0;
  }
  void validate() const;  // throws Error for even N, even K, N not divisible by K, ...
};

// Training data. `patterns` holds ξ^μ as rows; `labels` σ^μ ∈ {±1}.
struct Dataset {
  ModelSpec model;
  BitMatrix patterns;                 // P × N
  std::vector<std::int8_t> labels;    // P
  std::optional<std::vector<std::int8_t>> teacher;  // teacher–student only: teacher_model.weights()
  ModelSpec teacher_model;            // the teacher's network (meaningful when `teacher` is set)
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
  // Teacher–student: the teacher's architecture and K; unset / 0 = the student's. A perceptron
  // teacher of a committee sees all N inputs.
  std::optional<Architecture> teacher_architecture;
  int teacher_hidden_units = 0;
  ModelSpec teacher_model() const;  // the resolved teacher network (validated)
};

// P = round(α · capacity_unit); throws Error when α ≤ 0 or P < 1.
std::size_t pattern_count(const ModelSpec& model, double alpha);

// Instance `instance` of the seed: identical on every backend, run and platform.
Dataset generate_dataset(const GenerateSpec& spec, std::uint32_t instance);

// `count` fresh patterns and their teacher labels, for the test error of a teacher–student run.
Dataset generate_test_set(const Dataset& train, std::size_t count);

// Fraction of the dataset's patterns that a perceptron with `weights` misclassifies.
double perceptron_error_rate(const Dataset& data, const std::vector<std::int8_t>& weights);

// Patterns that the network data.model with `weights` (model.weights() values, K × fan_in)
// misclassifies: output sign(Σ_k sign(h_k)), a perceptron sign(h).
std::size_t count_misclassified(const Dataset& data, const std::vector<std::int8_t>& weights);
// The same as a fraction of the patterns, for any model.
double error_rate(const Dataset& data, const std::vector<std::int8_t>& weights);

// Generalization error arccos(W·W*/N)/π against the teacher.
double generalization_error(const std::vector<std::int8_t>& teacher,
                            const std::vector<std::int8_t>& weights);

}  // namespace locent
