// Output files (host/output_file.hpp): checked before the work, replaced whole or not at all.
#include "host/output_file.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "locent/error.hpp"

namespace fs = std::filesystem;

namespace {

class OutputFile : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("locent-output-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Every file in the folder but `keep`: a temporary file that stayed behind.
  std::size_t others(const std::string& keep) const {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir_)) n += e.path().filename() != keep;
    return n;
  }
  fs::path dir_;
};

TEST_F(OutputFile, ReplacesWholeAndLeavesNothingBeside) {
  const std::string p = path("r.json");
  std::ofstream(p) << "old";
  locent::write_output_text(p, "new contents\n");
  EXPECT_EQ(read(p), "new contents\n");
  EXPECT_EQ(others("r.json"), 0u);
}

TEST_F(OutputFile, FailedWriteLeavesTheOldFile) {
  const std::string p = path("w.npy");
  std::ofstream(p) << "the old weights";
  EXPECT_THROW(locent::write_output_file(p,
                                         [](std::FILE* f) {
                                           std::fputs("half of the new", f);
                                           return false;  // as a full disk would
                                         }),
               locent::Error);
  EXPECT_EQ(read(p), "the old weights");
  EXPECT_EQ(others("w.npy"), 0u);
}

TEST_F(OutputFile, FailedWriteOfANewFileLeavesNoFile) {
  const std::string p = path("new.json");
  EXPECT_THROW(locent::write_output_file(p, [](std::FILE*) { return false; }), locent::Error);
  EXPECT_FALSE(fs::exists(p));
  EXPECT_EQ(others(""), 0u);
}

TEST_F(OutputFile, ALinkKeepsPointingAtTheReplacedFile) {
  const std::string target = path("target.json"), link = path("link.json");
  std::ofstream(target) << "old";
  fs::create_symlink(target, link);
  locent::write_output_text(link, "new");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read(target), "new");
}

TEST_F(OutputFile, KeepsTheModeOfTheReplacedFile) {
  const std::string p = path("m.json");
  std::ofstream(p) << "old";
  ::chmod(p.c_str(), 0640);
  locent::write_output_text(p, "new");
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST_F(OutputFile, PathsCheckedBeforeTheWork) {
  EXPECT_THROW(locent::check_output_path("", "--out"), locent::Error);
  EXPECT_THROW(locent::check_output_path(dir_.string(), "--out"), locent::Error);
  EXPECT_THROW(locent::check_output_path(path("missing/r.json"), "--out"), locent::Error);
  std::ofstream(path("file")) << "x";
  EXPECT_THROW(locent::check_output_path(path("file/r.json"), "--out"), locent::Error);
  EXPECT_NO_THROW(locent::check_output_path(path("r.json"), "--out"));
  EXPECT_NO_THROW(locent::check_output_path(path("file"), "--out"));
  try {
    locent::check_output_path(path("missing/r.json"), "--save-weights");
  } catch (const locent::Error& e) {
    EXPECT_NE(std::string(e.what()).find("--save-weights"), std::string::npos) << e.what();
    EXPECT_EQ(e.code(), locent::ExitCode::usage);
  }
}

}  // namespace
