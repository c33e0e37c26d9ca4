// Bounded reading of text inputs (host/input_text.hpp): what is not a text file is refused.
#include "host/input_text.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "locent/error.hpp"

namespace fs = std::filesystem;

namespace {

std::string scratch(const std::string& name, const std::string& contents) {
  const fs::path p = fs::temp_directory_path() /
                     ("locent-input-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(p, std::ios::binary) << contents;
  return p.string();
}

void expect_refused(const std::string& path, std::size_t max_bytes, std::size_t max_line,
                    const std::string& needle) {
  try {
    locent::read_input_text(path, "sweep file", max_bytes, max_line);
    ADD_FAILURE() << path << " was read";
  } catch (const locent::Error& e) {
    EXPECT_EQ(e.code(), locent::ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(InputText, ReadsATextFileWhole) {
  const std::string text = "N = [21]\nalpha = [0.3]\nno newline at the end";
  const std::string p = scratch("good", text);
  EXPECT_EQ(locent::read_input_text(p, "sweep file", 1 << 20), text);
  fs::remove(p);
}

TEST(InputText, RefusesWhatIsNotText) {
  expect_refused(fs::temp_directory_path().string(), 1 << 20, 1 << 20, "is a directory");
  expect_refused("/nonexistent/locent/file.toml", 1 << 20, 1 << 20, "cannot open the sweep file");
  const std::string nul = scratch("nul", std::string("N = [21]\n\0\0", 11));
  expect_refused(nul, 1 << 20, 1 << 20, "NUL bytes");
  const std::string big = scratch("big", std::string(3000, 'x') + "\n");
  expect_refused(big, 2048, 1 << 20, "larger than");
  expect_refused(big, 1 << 20, 2048, "a line longer than");
  // Many short lines: every line within the limit, so the text is read.
  const std::string lines = scratch("lines", std::string(5000, '\n'));
  EXPECT_EQ(locent::read_input_text(lines, "results file", 1 << 20, 16).size(), 5000u);
  for (const auto& p : {nul, big, lines}) fs::remove(p);
  // An endless device is refused as soon as its first block is read.
  if (fs::exists("/dev/zero")) expect_refused("/dev/zero", ~std::size_t{0}, 1 << 20, "NUL bytes");
}

}  // namespace
