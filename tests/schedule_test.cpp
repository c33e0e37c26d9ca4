// β/γ schedules: parsing, values at the ends and in between, errors.
#include "locent/schedule.hpp"

#include <gtest/gtest.h>

#include "locent/error.hpp"

namespace locent {
namespace {

TEST(Schedule, Forms) {
  EXPECT_DOUBLE_EQ(Schedule::parse("2.5", "--beta").at(17, 100), 2.5);
  EXPECT_DOUBLE_EQ(Schedule::parse("const:3", "--beta").at(0, 100), 3);
  const Schedule lin = Schedule::parse("lin:1:3", "--beta");
  EXPECT_DOUBLE_EQ(lin.at(0, 101), 1);
  EXPECT_DOUBLE_EQ(lin.at(50, 101), 2);
  EXPECT_DOUBLE_EQ(lin.at(100, 101), 3);
  EXPECT_DOUBLE_EQ(lin.at(500, 101), 3);  // held past the budget
  const Schedule geom = Schedule::parse("geom:0.1:10", "--gamma");
  EXPECT_DOUBLE_EQ(geom.at(0, 101), 0.1);
  EXPECT_NEAR(geom.at(50, 101), 1.0, 1e-12);
  EXPECT_NEAR(geom.at(100, 101), 10.0, 1e-12);
  const Schedule list = Schedule::parse("list:0.5,1,2", "--beta");
  EXPECT_DOUBLE_EQ(list.at(0, 10), 0.5);
  EXPECT_DOUBLE_EQ(list.at(2, 10), 2);
  EXPECT_DOUBLE_EQ(list.at(9, 10), 2);
  EXPECT_DOUBLE_EQ(list.min_value(10), 0.5);
  EXPECT_DOUBLE_EQ(list.max_value(2), 1);
  EXPECT_DOUBLE_EQ(geom.min_value(100), 0.1);
  EXPECT_DOUBLE_EQ(Schedule::parse("lin:5:1", "x").min_value(10), 1);
}

TEST(Schedule, RoundTripThroughText) {
  for (const char* text : {"const:2", "lin:0.2:10", "geom:0.05:2", "list:1,2,3"})
    EXPECT_EQ(Schedule::parse(text, "x").to_string(), text);
}

TEST(Schedule, RejectsMalformedText) {
  for (const char* text : {"", "fast", "lin:1", "lin:1:2:3", "geom:0:1", "geom:-1:2", "list:",
                           "list:1,,2", "const:abc", "lin:1:inf", "2x"}) {
    try {
      Schedule::parse(text, "--beta");
      ADD_FAILURE() << "accepted '" << text << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--beta"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace locent
