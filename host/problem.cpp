// Problem instances: validation, deterministic generation, error measures (problem.hpp).
#include "host/text_format.hpp"
#include "locent/problem.hpp"

#include <cmath>
#include <string>

#include "locent/error.hpp"
#include "locent/hd.hpp"
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

// A network's weights laid over the input positions they apply to, one bit vector and one input
// mask per hidden unit, so that h_k = |mask_k| − 2·popc((ξ XOR w_k) AND mask_k).
class PackedNetwork {
 public:
  PackedNetwork(const ModelSpec& model, const std::vector<std::int8_t>& weights)
      : units_(model.hidden_units), words_(words_for_bits(model.inputs)) {
    if (weights.size() != model.weights())
      throw Error("internal error: " + std::to_string(weights.size()) + " weights for a network of " +
                      std::to_string(model.weights()),
                  ExitCode::failure);
    const std::size_t fan_in = static_cast<std::size_t>(model.fan_in());
    bits_.assign(units_ * words_, 0);
    masks_.assign(units_ * words_, 0);
    fan_in_ = static_cast<int>(fan_in);
    for (int k = 0; k < units_; ++k) {
      const std::size_t first = model.unit_input_offset(k);
      for (std::size_t j = 0; j < fan_in; ++j) {
        const std::size_t c = first + j;
        const std::uint64_t bit = std::uint64_t{1} << (c % kWordBits);
        masks_[k * words_ + c / kWordBits] |= bit;
        if (weights[k * fan_in + j] > 0) bits_[k * words_ + c / kWordBits] |= bit;
      }
    }
  }

  int output(const std::uint64_t* row) const {
    int votes = 0;
    for (int k = 0; k < units_; ++k) {
      const std::uint64_t* w = bits_.data() + k * words_;
      const std::uint64_t* m = masks_.data() + k * words_;
      int disagree = 0;
      for (std::size_t i = 0; i < words_; ++i) disagree += popcount64((row[i] ^ w[i]) & m[i]);
      votes += fan_in_ - 2 * disagree > 0 ? 1 : -1;  // fan_in is odd: never 0
    }
    return votes > 0 ? 1 : -1;  // K is odd: never 0
  }

 private:
  int units_, fan_in_ = 0;
  std::size_t words_;
  std::vector<std::uint64_t> bits_, masks_;
};

std::vector<std::int8_t> teacher_labels(const BitMatrix& patterns, const ModelSpec& model,
                                        const std::vector<std::int8_t>& teacher) {
  std::vector<std::int8_t> labels(patterns.rows());
  if (model.architecture == Architecture::perceptron) {
    const auto t = pack_signs(teacher);
    for (std::size_t mu = 0; mu < patterns.rows(); ++mu)
      labels[mu] = dot_signs(patterns.row(mu), t.data(), patterns.cols()) > 0 ? 1 : -1;
    return labels;
  }
  const PackedNetwork net(model, teacher);
  for (std::size_t mu = 0; mu < patterns.rows(); ++mu)
    labels[mu] = static_cast<std::int8_t>(net.output(patterns.row(mu)));
  return labels;
}

std::vector<std::int8_t> random_teacher(const ModelSpec& model, std::uint64_t seed,
                                        std::uint32_t instance) {
  // The perceptron stream is kept as it was, so perceptron data stays bit-identical.
  if (model.architecture == Architecture::perceptron)
    return random_signs(static_cast<std::size_t>(model.inputs), seed, Purpose::teacher, instance, 0);
  const std::size_t fan_in = static_cast<std::size_t>(model.fan_in());
  std::vector<std::int8_t> w;
  w.reserve(model.weights());
  for (int k = 0; k < model.hidden_units; ++k) {
    const auto unit = random_signs(fan_in, seed, Purpose::committee_teacher, instance,
                                   static_cast<std::uint32_t>(k));
    w.insert(w.end(), unit.begin(), unit.end());
  }
  return w;
}

}  // namespace

void ModelSpec::validate() const {
  if (hidden_units < 1 || hidden_units % 2 == 0)
    throw Error("the number of hidden units K must be odd (got " + std::to_string(hidden_units) +
                ")");
  if (inputs < 1) throw Error("N must be positive (got " + std::to_string(inputs) + ")");
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
    throw Error("alpha must be a positive number (got " + format_number(alpha) + ")");
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

ModelSpec GenerateSpec::teacher_model() const {
  ModelSpec t;
  t.architecture = teacher_architecture.value_or(model.architecture);
  t.inputs = model.inputs;
  t.hidden_units = t.architecture == Architecture::perceptron ? 1
                   : teacher_hidden_units > 0                 ? teacher_hidden_units
                   : model.architecture == Architecture::perceptron ? 1
                                                                    : model.hidden_units;
  try {
    t.validate();
  } catch (const Error& e) {
    throw Error(std::string("the teacher network is invalid: ") + e.what());
  }
  return t;
}

Dataset generate_dataset(const GenerateSpec& spec, std::uint32_t instance) {
  spec.model.validate();
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
    d.teacher_model = spec.teacher_model();
    d.teacher = random_teacher(d.teacher_model, spec.seed, instance);
    d.labels = teacher_labels(d.patterns, d.teacher_model, *d.teacher);
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
  t.teacher_model = train.teacher_model;
  t.patterns = BitMatrix(count, train.n_inputs());
  fill_patterns(t.patterns, train.seed, Purpose::test_patterns, train.instance);
  t.labels = teacher_labels(t.patterns, t.teacher_model, *t.teacher);
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

std::size_t count_misclassified(const Dataset& data, const std::vector<std::int8_t>& weights) {
  const PackedNetwork net(data.model, weights);
  std::size_t wrong = 0;
  for (std::size_t mu = 0; mu < data.n_patterns(); ++mu)
    wrong += net.output(data.patterns.row(mu)) != data.labels[mu];
  return wrong;
}

double error_rate(const Dataset& data, const std::vector<std::int8_t>& weights) {
  if (data.n_patterns() == 0) return 0;
  return static_cast<double>(count_misclassified(data, weights)) /
         static_cast<double>(data.n_patterns());
}

double generalization_error(const std::vector<std::int8_t>& teacher,
                            const std::vector<std::int8_t>& weights) {
  const auto t = pack_signs(teacher), w = pack_signs(weights);
  const double overlap = dot_signs(t.data(), w.data(), teacher.size()) /
                         static_cast<double>(teacher.size());
  return std::acos(std::max(-1.0, std::min(1.0, overlap))) / M_PI;
}

}  // namespace locent
