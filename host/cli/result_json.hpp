// The JSON result of `locent solve` (schema in README.md).
#pragma once
#include <nlohmann/json.hpp>

#include <map>
#include <vector>

#include "locent/anneal.hpp"

namespace locent::cli {

struct SolveDescription {
  std::string algo;          // "rsa" or "sa"
  std::string label_mode;    // "storage", "teacher" or "files"
  std::string patterns_file, labels_file;
  double alpha = 0;
  std::size_t test_patterns = 0;
};

nlohmann::json solve_result_json(const SolveDescription& what, const AnnealConfig& config,
                                 const std::vector<Dataset>& datasets, const BatchResult& result,
                                 const std::map<std::uint32_t, std::vector<TraceRecord>>& traces);

nlohmann::json trace_json(const TraceRecord& r);

}  // namespace locent::cli
