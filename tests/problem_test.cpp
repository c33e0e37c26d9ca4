// Instance generation: deterministic in (seed, instance), labelled as specified, validated.
#include "locent/problem.hpp"

#include <gtest/gtest.h>

#include "locent/error.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

TEST(Problem, SameSeedAndInstanceGiveTheSameData) {
  const Dataset a = test::storage_instance(201, 0.4, 42, 3), b = test::storage_instance(201, 0.4, 42, 3);
  EXPECT_EQ(a.patterns, b.patterns);
  EXPECT_EQ(a.labels, b.labels);
  const Dataset c = test::storage_instance(201, 0.4, 42, 4), e = test::storage_instance(201, 0.4, 43, 3);
  EXPECT_FALSE(a.patterns == c.patterns);
  EXPECT_FALSE(a.patterns == e.patterns);
}

TEST(Problem, PatternCountIsRoundAlphaN) {
  ModelSpec m;
  m.inputs = 1001;
  EXPECT_EQ(pattern_count(m, 0.5), 501u);  // 500.5 rounds away from zero
  EXPECT_EQ(pattern_count(m, 0.6), 601u);
  EXPECT_THROW(pattern_count(m, 0.0), Error);
  EXPECT_THROW(pattern_count(m, -0.3), Error);
  EXPECT_THROW(pattern_count(m, 1e-6), Error);
}

TEST(Problem, GeneratedDataIsBalancedAndPaddingClear) {
  const Dataset d = test::storage_instance(1001, 2.0, 1);
  long plus = 0;
  for (std::size_t mu = 0; mu < d.n_patterns(); ++mu)
    for (std::size_t i = 0; i < d.n_inputs(); ++i) plus += d.patterns.get(mu, i) > 0;
  const double frac = double(plus) / (d.n_patterns() * d.n_inputs());
  EXPECT_NEAR(frac, 0.5, 0.005);
  for (std::size_t mu = 0; mu < d.n_patterns(); ++mu)
    EXPECT_EQ(d.patterns.row(mu)[d.patterns.words_per_row() - 1] >> (1001 % 64), 0u);
  long labels_plus = 0;
  for (auto l : d.labels) labels_plus += l > 0;
  EXPECT_NEAR(double(labels_plus) / d.labels.size(), 0.5, 0.05);
}

TEST(Problem, TeacherLabelsComeFromTheTeacher) {
  GenerateSpec spec;
  spec.model.inputs = 301;
  spec.alpha = 1.0;
  spec.labels = LabelMode::teacher;
  spec.seed = 5;
  const Dataset d = generate_dataset(spec, 0);
  ASSERT_TRUE(d.teacher.has_value());
  EXPECT_EQ(perceptron_error_rate(d, *d.teacher), 0.0);
  EXPECT_EQ(generalization_error(*d.teacher, *d.teacher), 0.0);
  std::vector<std::int8_t> anti(*d.teacher);
  for (auto& w : anti) w = -w;
  EXPECT_NEAR(generalization_error(*d.teacher, anti), 1.0, 1e-12);
  EXPECT_EQ(perceptron_error_rate(d, anti), 1.0);
  const Dataset test = generate_test_set(d, 500);
  EXPECT_EQ(test.n_patterns(), 500u);
  EXPECT_EQ(perceptron_error_rate(test, *d.teacher), 0.0);
  EXPECT_FALSE(test.patterns == d.patterns);
}

TEST(Problem, FoldedRowsHaveAllPositiveLabels) {
  const Dataset d = test::storage_instance(65, 1.0, 2);
  const BitMatrix f = d.folded_rows();
  for (std::size_t mu = 0; mu < d.n_patterns(); ++mu)
    for (std::size_t i = 0; i < d.n_inputs(); ++i)
      ASSERT_EQ(f.get(mu, i), d.labels[mu] * d.patterns.get(mu, i));
}

TEST(Problem, ModelValidation) {
  ModelSpec m;
  m.inputs = 1000;
  EXPECT_THROW(m.validate(), Error);  // even N
  m.inputs = 1001;
  EXPECT_NO_THROW(m.validate());
  m.architecture = Architecture::committee_tree;
  m.hidden_units = 3;
  m.inputs = 303;
  EXPECT_NO_THROW(m.validate());
  EXPECT_EQ(m.fan_in(), 101);
  m.inputs = 300;
  EXPECT_THROW(m.validate(), Error);  // 100 inputs per unit is even
  m.architecture = Architecture::committee_fc;
  m.hidden_units = 5;
  m.inputs = 321;
  EXPECT_NO_THROW(m.validate());
  EXPECT_EQ(m.weights(), 1605u);
  m.hidden_units = 4;
  EXPECT_THROW(m.validate(), Error);  // even K
}

}  // namespace
}  // namespace locent
