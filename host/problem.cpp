// Problem instances: validation, deterministic generation, error measures (problem.hpp).
#include "locent/problem.hpp"

#include <cmath>
#include <string>

#include "locent/error.hpp"
#include "locent/rng.hpp"

namespace locent {
namespace {

std::vector<std::int8_t> random_signs(std::size_t n, std::uint64_t seed, Purpose purpose,
                                      std::uint32_t a, std::uint32_t b) {
  std::vector<std::uint64_t> words(words_for_bits(n));
  fill_random_bits(words.data(), n, seed, purpose, a, b);
  return unpack_signs(words.data(), n);
}

void fill_patterns(BitMatrix& m, std::uint64_t seed, Purpose purpose, std::uint32_t instance) {
  for (std::size_t mu = 0; mu < m.rows(); ++mu)
    fill_random_bits(m.row(mu), m.cols(), seed, purpose, instance, static_cast<std::uint32_t>(mu));
}

std::vector<std::int8_t> teacher_labels(const BitMatrix& patterns,
                                        const std::vector<std::int8_t>& teacher) {
  const auto t = pack_signs(teacher);
  std::vector<std::int8_t> labels(patterns.rows());
  for (std::size_t mu = 0; mu < patterns.rows(); ++mu)
    labels[mu] = dot_signs(patterns.row(mu), t.data(), patterns.cols()) > 0 ? 1 : -1;
  return labels;
}

}  // namespace

void ModelSpec::validate() const {
  if (inputs < 1) throw Error("N must be positive (got " + std::to_string(inputs) + ")");
  if (hidden_units < 1 || hidden_units % 2 == 0)
    throw Error("the number of hidden units K must be odd (got " + std::to_string(hidden_units) +
                ")");
  if (architecture == Architecture::perceptron && hidden_units != 1)
    throw Error("a perceptron has K = 1");
  if (architecture == Architecture::committee_tree) {
    if (inputs % hidden_units != 0)
      throw Error("a tree committee needs N divisible by K (N = " + std::to_string(inputs) +
                  ", K = " + std::to_string(hidden_units) + ")");
    if ((inputs / hidden_units) % 2 == 0)
      throw Error("a tree committee needs an odd number of inputs per unit N/K (got " +
                  std::to_string(inputs / hidden_units) + ")");
  } else if (inputs % 2 == 0) {
    throw Error("N must be odd so that no field is ever zero (got N = " + std::to_string(inputs) +
                ")");
  }
}

std::size_t pattern_count(const ModelSpec& model, double alpha) {
  if (!(alpha > 0) || !std::isfinite(alpha))
    throw Error("alpha must be a positive number (got " + std::to_string(alpha) + ")");
  const double p = std::round(alpha * static_cast<double>(model.capacity_unit()));
  if (p < 1) throw Error("alpha · N rounds to zero patterns; increase alpha or N");
  if (p > 2.0e9) throw Error("alpha · N is too large (more than 2e9 patterns)");
  return static_cast<std::size_t>(p);
}

BitMatrix Dataset::folded_rows() const {
  BitMatrix f = patterns;
  for (std::size_t mu = 0; mu < f.rows(); ++mu) {
    if (labels[mu] > 0) continue;
    std::uint64_t* row = f.row(mu);
    for (std::size_t w = 0; w < f.words_per_row(); ++w) row[w] = ~row[w];
    if (f.cols() % kWordBits)
      row[f.words_per_row() - 1] &= (std::uint64_t{1} << (f.cols() % kWordBits)) - 1;
  }
  return f;
}

Dataset generate_dataset(const GenerateSpec& spec, std::uint32_t instance) {
  spec.model.validate();
  if (spec.model.architecture != Architecture::perceptron)
    throw Error("committee machines are not implemented yet; use --model perceptron");
  Dataset d;
  d.model = spec.model;
  d.seed = spec.seed;
  d.instance = instance;
  const std::size_t n = static_cast<std::size_t>(spec.model.inputs);
  d.patterns = BitMatrix(pattern_count(spec.model, spec.alpha), n);
  fill_patterns(d.patterns, spec.seed, Purpose::patterns, instance);
  if (spec.labels == LabelMode::storage) {
    d.labels = random_signs(d.patterns.rows(), spec.seed, Purpose::labels, instance, 0);
  } else {
    d.teacher = random_signs(n, spec.seed, Purpose::teacher, instance, 0);
    d.labels = teacher_labels(d.patterns, *d.teacher);
  }
  return d;
}

Dataset generate_test_set(const Dataset& train, std::size_t count) {
  if (!train.teacher) throw Error("a test set needs a teacher (teacher–student data)");
  Dataset t;
  t.model = train.model;
  t.seed = train.seed;
  t.instance = train.instance;
  t.teacher = train.teacher;
  t.patterns = BitMatrix(count, train.n_inputs());
  fill_patterns(t.patterns, train.seed, Purpose::test_patterns, train.instance);
  t.labels = teacher_labels(t.patterns, *t.teacher);
  return t;
}

double perceptron_error_rate(const Dataset& data, const std::vector<std::int8_t>& weights) {
  if (data.n_patterns() == 0) return 0;
  const auto w = pack_signs(weights);
  std::size_t wrong = 0;
  for (std::size_t mu = 0; mu < data.n_patterns(); ++mu) {
    const int field = dot_signs(data.patterns.row(mu), w.data(), data.n_inputs());
    wrong += (field > 0 ? 1 : -1) != data.labels[mu];
  }
  return static_cast<double>(wrong) / static_cast<double>(data.n_patterns());
}

double generalization_error(const std::vector<std::int8_t>& teacher,
                            const std::vector<std::int8_t>& weights) {
  const auto t = pack_signs(teacher), w = pack_signs(weights);
  const double overlap = dot_signs(t.data(), w.data(), teacher.size()) /
                         static_cast<double>(teacher.size());
  return std::acos(std::max(-1.0, std::min(1.0, overlap))) / M_PI;
}

}  // namespace locent
