// fBP protocols, configuration checks, message containers and the device-memory estimate
// (fbp.hpp): everything about a run that does not depend on the backend.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "host/parallel_for.hpp"
#include "host/text_format.hpp"
#include "locent/error.hpp"
#include "locent/fbp.hpp"
#include "locent/fbp_rules.hpp"
#include "locent/rng.hpp"

namespace locent {
namespace {

void require_steps(int steps) {
  if (steps < 1 || steps > 1000000)
    throw Error("the number of protocol steps must be between 1 and 1000000 (got " +
                std::to_string(steps) + ")");
}

double parse_value(const std::string& token, const std::string& source) {
  std::string t = token;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  if (t == "inf" || t == "+inf" || t == "infinity") return kInfinity;
  char* end = nullptr;
  const double v = std::strtod(token.c_str(), &end);
  if (token.empty() || end == nullptr || *end != '\0' || std::isnan(v))
    throw Error(source + ": '" + token + "' is not a number (write inf for infinity)");
  return v;
}

}  // namespace

FbpProtocol FbpProtocol::standard(int steps) {
  require_steps(steps);
  FbpProtocol p{"standard", "standard:" + std::to_string(steps), {}};
  for (int j = 0; j < steps; ++j) {
    const double x = double(j) / steps;
    p.steps.push_back({kInfinity, 1.0 / (1.0 - x)});
  }
  return p;
}

FbpProtocol FbpProtocol::scoping(double y, double gamma_first, double gamma_last, int steps) {
  require_steps(steps);
  if (!(y >= 1)) throw Error("scoping needs y ≥ 1 (got " + format_number(y) + ")");
  if (!(gamma_first > 0) || !(gamma_last >= gamma_first) || std::isinf(gamma_last))
    throw Error("scoping needs a finite γ range 0 < first ≤ last (got " + format_number(gamma_first) +
                ":" + format_number(gamma_last) + ")");
  FbpProtocol p{"scoping",
                "scoping:y=" + format_number(y) + ",gamma=" + format_number(gamma_first) + ":" +
                    format_number(gamma_last) + ",steps=" + std::to_string(steps),
                {}};
  for (int j = 0; j < steps; ++j) {
    const double t = steps == 1 ? 0.0 : double(j) / (steps - 1);
    p.steps.push_back({gamma_first * std::pow(gamma_last / gamma_first, t), y});
  }
  return p;
}

FbpProtocol FbpProtocol::pseudo(int steps) {
  require_steps(steps);
  FbpProtocol p{"pseudo", "pseudo:" + std::to_string(steps), {}};
  for (int j = 0; j < steps; ++j) {
    const double rho = double(j) / steps;
    p.steps.push_back({std::atanh(std::sqrt(rho)), (2.0 - rho) / (1.0 - rho)});
  }
  return p;
}

FbpProtocol FbpProtocol::list(std::vector<FbpStep> steps) {
  FbpProtocol p{"list", "list:" + std::to_string(steps.size()) + " steps", std::move(steps)};
  return p;
}

std::vector<FbpStep> FbpProtocol::parse_steps(const std::string& text, const std::string& source) {
  std::vector<FbpStep> steps;
  std::string item;
  std::istringstream lines(text);
  std::string line;
  int line_no = 0;
  while (std::getline(lines, line)) {
    ++line_no;
    const std::size_t hash = line.find('#');
    if (hash != std::string::npos) line.erase(hash);
    std::istringstream items(line);
    while (std::getline(items, item, ',')) {
      for (char& c : item)
        if (c == ':' || c == '\t' || c == '\r') c = ' ';
      std::istringstream tokens(item);
      std::vector<std::string> t;
      for (std::string s; tokens >> s;) t.push_back(s);
      if (t.empty()) continue;
      const std::string where = source + " (line " + std::to_string(line_no) + ")";
      if (t.size() != 2)
        throw Error(where + ": expected a pair 'gamma y' (or gamma:y), got '" + item + "'");
      steps.push_back({parse_value(t[0], where), parse_value(t[1], where)});
    }
  }
  if (steps.empty()) throw Error(source + ": no (gamma, y) steps");
  return steps;
}

void FbpConfig::validate() const {
  if (protocol.steps.empty()) throw Error("the fBP protocol has no steps");
  for (std::size_t s = 0; s < protocol.steps.size(); ++s) {
    const FbpStep& st = protocol.steps[s];
    const std::string where = "fBP step " + std::to_string(s) + ": ";
    if (!(st.gamma >= 0)) throw Error(where + "gamma must be ≥ 0 (got " + format_number(st.gamma) + ")");
    if (!(st.y >= 1)) throw Error(where + "y must be ≥ 1 (got " + format_number(st.y) + ")");
  }
  if (max_iters < 1) throw Error("--max-iters must be at least 1");
  if (!(epsilon > 0)) throw Error("--epsilon must be positive");
  if (!(damping >= 0 && damping < 1)) throw Error("--damping must be in [0, 1)");
  if (!(init_size >= 0 && init_size < 1)) throw Error("--init-size must be in [0, 1)");
  if (!(symmetry_breaking >= 0 && symmetry_breaking < 1))
    throw Error("the symmetry-breaking field must be in [0, 1)");
  if (!(max_seconds >= 0)) throw Error("the time budget must be non-negative");
}

FocusingParams FocusingParams::make(double gamma, double y) {
  FocusingParams f;
  f.gamma = gamma;
  f.y = y;
  f.pol = std::isinf(gamma) ? 1.0 : std::tanh(gamma);
  f.one_minus_pol = std::isinf(gamma) ? 0.0 : fbp::one_minus_tanh(gamma);
  f.r = y - 1;
  return f;
}

void FbpMessages::resize(std::size_t p, std::size_t k, std::size_t f) {
  patterns = p;
  hidden_units = k;
  fan_in = f;
  pattern_to_weight.assign(p * k * f, 0.0f);
  focusing.assign(k * f, 0.0f);
  unit_to_output.assign(p * k, 0.0f);
  output_to_unit.assign(p * k, 0.0f);
}

std::vector<std::size_t> FbpMessages::array_shape() const {
  return {patterns + 1, hidden_units, fan_in + 2};
}

std::vector<float> FbpMessages::to_array() const {
  const std::size_t row = fan_in + 2;
  std::vector<float> a((patterns + 1) * hidden_units * row, 0.0f);
  for (std::size_t mu = 0; mu < patterns; ++mu)
    for (std::size_t k = 0; k < hidden_units; ++k) {
      float* out = a.data() + (mu * hidden_units + k) * row;
      const float* in = pattern_to_weight.data() + (mu * hidden_units + k) * fan_in;
      std::copy(in, in + fan_in, out);
      out[fan_in] = unit_to_output[mu * hidden_units + k];
      out[fan_in + 1] = output_to_unit[mu * hidden_units + k];
    }
  for (std::size_t k = 0; k < hidden_units; ++k)
    std::copy(focusing.begin() + k * fan_in, focusing.begin() + (k + 1) * fan_in,
              a.begin() + (patterns * hidden_units + k) * row);
  return a;
}

FbpMessages FbpMessages::from_array(const std::vector<float>& values,
                                    const std::vector<std::size_t>& shape) {
  if (shape.size() != 3 || shape[0] < 1 || shape[2] < 2)
    throw Error("fBP messages must be a (P + 1) × K × (fan_in + 2) array", ExitCode::bad_input);
  FbpMessages m;
  m.resize(shape[0] - 1, shape[1], shape[2] - 2);
  const std::size_t row = shape[2];
  if (values.size() != shape[0] * shape[1] * shape[2])
    throw Error("fBP messages: the values do not match the shape", ExitCode::bad_input);
  for (float v : values)
    if (!std::isfinite(v)) throw Error("fBP messages hold a non-finite value", ExitCode::bad_input);
  for (std::size_t mu = 0; mu < m.patterns; ++mu)
    for (std::size_t k = 0; k < m.hidden_units; ++k) {
      const float* in = values.data() + (mu * m.hidden_units + k) * row;
      std::copy(in, in + m.fan_in, m.pattern_to_weight.begin() + (mu * m.hidden_units + k) * m.fan_in);
      m.unit_to_output[mu * m.hidden_units + k] = in[m.fan_in];
      m.output_to_unit[mu * m.hidden_units + k] = in[m.fan_in + 1];
    }
  for (std::size_t k = 0; k < m.hidden_units; ++k) {
    const float* in = values.data() + (m.patterns * m.hidden_units + k) * row;
    std::copy(in, in + m.fan_in, m.focusing.begin() + k * m.fan_in);
  }
  // Fields beyond the clamp would make the first iteration disagree between backends.
  auto clamp = [](std::vector<float>& v) {
    for (float& x : v) x = static_cast<float>(fbp::clamp_field(x));
  };
  clamp(m.pattern_to_weight);
  clamp(m.focusing);
  clamp(m.unit_to_output);
  clamp(m.output_to_unit);
  return m;
}

FbpMessages random_fbp_messages(const Dataset& data, double size, std::uint64_t seed) {
  const ModelSpec& model = data.model;
  const std::size_t p = data.n_patterns(), k = model.hidden_units,
                    f = static_cast<std::size_t>(model.fan_in());
  FbpMessages m;
  m.resize(p, k, f);
  const bool committee = model.architecture != Architecture::perceptron;
  // Row μ draws K·fan_in weight messages, then (committees) K unit and K output messages.
  const std::size_t per_row = k * f + (committee ? 2 * k : 0);
  // Rows are independent (counter-based draws): fill them on all cores.
  parallel_for(p, 0, [&](std::size_t mu) {
    PhiloxBlock blk{};
    for (std::size_t s = 0; s < per_row; ++s) {
      if (s % 4 == 0)
        blk = philox_block(seed, Purpose::fbp_messages, data.instance, static_cast<std::uint32_t>(mu),
                           0, static_cast<std::uint32_t>(s / 4));
      const double uniform = (blk.v[s % 4] + 0.5) * (1.0 / 4294967296.0);  // (0, 1)
      const float field = static_cast<float>(std::atanh(size * (2.0 * uniform - 1.0)));
      if (s < k * f)
        m.pattern_to_weight[mu * k * f + s] = field;
      else if (s < k * f + k)
        m.unit_to_output[mu * k + (s - k * f)] = field;
      else
        m.output_to_unit[mu * k + (s - k * f - k)] = field;
    }
  });
  return m;
}

std::vector<float> symmetry_breaking_fields(const Dataset& data, double size, std::uint64_t seed) {
  const std::size_t w = data.model.weights();
  std::vector<float> eta(w, 0.0f);
  if (data.model.architecture != Architecture::committee_fc || size == 0) return eta;
  PhiloxBlock blk{};
  for (std::size_t j = 0; j < w; ++j) {
    if (j % 4 == 0)
      blk = philox_block(seed, Purpose::fbp_messages, data.instance, 0xffffffffu, 0,
                         static_cast<std::uint32_t>(j / 4));
    const double uniform = (blk.v[j % 4] + 0.5) * (1.0 / 4294967296.0);
    eta[j] = static_cast<float>(size * (2.0 * uniform - 1.0));
  }
  return eta;
}

std::size_t fbp_device_bytes(const ModelSpec& model, std::size_t patterns) {
  const std::size_t w = model.weights(), k = static_cast<std::size_t>(model.hidden_units);
  const std::size_t row_words = 2 * words_for_bits(static_cast<std::size_t>(model.inputs));
  return 4 * patterns * w              // factor-to-weight messages
         + 4 * patterns * row_words    // folded patterns, bit-packed
         + (8 + 4 + 4) * w             // total fields (double), focusing, external fields
         + 4 * 4 * patterns * k        // hidden-unit messages, double-buffered
         + 4096;                       // reduction scalars
}

std::size_t available_host_memory() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;  // unknown
}

void require_fbp_host_memory(const ModelSpec& model, std::size_t patterns) {
  require_fbp_host_memory(model, patterns, available_host_memory());
}

void require_fbp_host_memory(const ModelSpec& model, std::size_t patterns, std::size_t available) {
  // The engine's messages plus the initial (or final) copy that the caller holds beside them.
  const double messages = 4.0 * double(patterns) * double(model.weights());
  const double needed = 2.0 * messages + double(fbp_device_bytes(model, patterns)) - messages;
  if (available == 0 || needed <= 0.9 * double(available)) return;
  throw Error("out of host memory: fBP on N = " + std::to_string(model.inputs) + ", K = " +
                  std::to_string(model.hidden_units) + ", P = " + std::to_string(patterns) +
                  " needs about " + format_gib(needed) + " of memory on the CPU backend (the P × " +
                  std::to_string(model.weights()) + " messages take " + format_gib(messages) +
                  " and are held twice while loading), only " + format_gib(double(available)) +
                  " is available; use --backend cuda or a smaller instance",
              ExitCode::out_of_memory);
}

void require_fbp_device_memory(const ModelSpec& model, std::size_t patterns, std::size_t needed,
                               std::size_t available) {
  if (needed <= available) return;
  const double messages = 4.0 * double(patterns) * double(model.weights());
  throw Error("out of GPU memory: fBP on N = " + std::to_string(model.inputs) + ", K = " +
                  std::to_string(model.hidden_units) + ", P = " + std::to_string(patterns) +
                  " needs " + format_gib(double(needed)) + " of device memory (the P × " +
                  std::to_string(model.weights()) + " messages take " + format_gib(messages) +
                  "), only " + format_gib(double(available)) + " is available",
              ExitCode::out_of_memory);
}

}  // namespace locent
