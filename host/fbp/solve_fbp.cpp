// Host driver of focusing BP: runs the protocol's focusing steps on an engine (CPU or CUDA),
// tests sign(marginals) after each, and computes the per-step observables.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "locent/backend.hpp"
#include "locent/error.hpp"
#include "locent/fbp.hpp"
#include "locent/fbp_rules.hpp"

namespace locent {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void check_model(const Dataset& data) {
  data.model.validate();
  if (data.model.hidden_units > kMaxFbpHiddenUnits)
    throw Error("fBP supports at most K = " + std::to_string(kMaxFbpHiddenUnits) +
                " hidden units (got " + std::to_string(data.model.hidden_units) + ")");
  if (data.n_inputs() != static_cast<std::size_t>(data.model.inputs))
    throw Error("internal error: the patterns have " + std::to_string(data.n_inputs()) +
                    " inputs but the model " + std::to_string(data.model.inputs),
                ExitCode::failure);
  if (data.n_patterns() == 0) throw Error("nothing to learn: no patterns");
}

// (1/y) log[((1 + tanh γ · tanh h)/2)^y + ((1 − tanh γ · tanh h)/2)^y]: the reference's
// variable term of the free entropy, per replica.
double reference_term(const FocusingParams& f, double h) {
  const double d = f.one_minus_pol + f.pol * fbp::one_minus_tanh(std::fabs(h));
  const double big = std::log((2.0 - d) / 2.0), small = std::log(d / 2.0);
  if (std::isinf(f.y)) return big;
  return big + std::log1p(std::exp(f.y * (small - big))) / f.y;
}

// Overlap of a replica with the reference at a weight whose cavity field without the focusing
// message is h: (hh + tanh γ)/(1 + hh tanh γ), hh = tanh h · tanh((y − 1) atanh(tanh γ tanh h)).
double reference_overlap(const FocusingParams& f, double h) {
  const fbp::Focusing focusing{f.gamma, f.pol, f.one_minus_pol, f.r};
  const double a = fbp::focus_map(focusing, h);
  const double x = std::isinf(f.r) ? (a > 0 ? 1.0 : (a < 0 ? -1.0 : 0.0)) : std::tanh(f.r * a);
  const double hh = std::tanh(h) * x;
  return (hh + f.pol) / (1.0 + hh * f.pol);
}

// Free entropy (Bethe, from the messages), q and the reference overlap. Per weight the variable and
// its focusing edge give log 2 + log cosh(Φ − f) + [pattern edges, summed by the engine]; an
// external field η adds its factor e^{ηw}/cosh η and edge.
void observe(FbpEngine& engine, const FocusingParams& f, const std::vector<double>& phi,
             const std::vector<float>& eta, FbpStepRecord& r) {
  const std::vector<float> focus = engine.focusing_messages();
  const FbpPatternSums sums = engine.pattern_sums();
  double per_weight = 0, q = 0, overlap = 0;
  for (std::size_t w = 0; w < phi.size(); ++w) {
    const double h = phi[w] - focus[w];  // cavity field without the focusing message
    per_weight += fbp::kLog2 + fbp::log_cosh(h) + reference_term(f, h);
    if (eta[w] != 0)
      per_weight += std::log1p(std::tanh(double(eta[w])) * std::tanh(phi[w] - eta[w])) +
                    fbp::log_cosh(phi[w] - eta[w]) - fbp::log_cosh(phi[w]);
    const double m = std::tanh(phi[w]);
    q += m * m;
    overlap += reference_overlap(f, h);
  }
  const double n = static_cast<double>(phi.size());
  r.free_entropy = (sums.log_output + sums.edge + per_weight) / n;
  r.q = q / n;
  r.reference_overlap = overlap / n;
}

std::vector<std::int8_t> signs(const std::vector<double>& phi) {
  std::vector<std::int8_t> w(phi.size());
  for (std::size_t i = 0; i < phi.size(); ++i) w[i] = phi[i] >= 0 ? 1 : -1;
  return w;
}

}  // namespace

FbpResult solve_fbp(const Dataset& data, const FbpConfig& config, FbpBackend backend,
                    const FbpMessages* initial, const FbpHooks& hooks) {
  config.validate();
  check_model(data);
  const auto t0 = Clock::now();
  FbpResult result;
  std::unique_ptr<FbpEngine> engine;
  if (backend == FbpBackend::cpu) {
    engine = make_cpu_fbp_engine(data, config.threads);
    result.backend = "cpu";
    result.device = make_cpu_backend(config.threads)->device_name();
  } else {
    engine = make_cuda_fbp_engine(data, config.device_memory_limit, config.device);
    result.backend = "cuda";
    result.device = make_cuda_backend(config.device)->device_name();
  }
  if (initial) {
    const std::size_t k = data.model.hidden_units, f = data.model.fan_in();
    if (initial->patterns != data.n_patterns() || initial->hidden_units != k || initial->fan_in != f)
      throw Error("the initial fBP messages have shape (" + std::to_string(initial->patterns + 1) +
                      ", " + std::to_string(initial->hidden_units) + ", " +
                      std::to_string(initial->fan_in + 2) + ") but this instance needs (" +
                      std::to_string(data.n_patterns() + 1) + ", " + std::to_string(k) + ", " +
                      std::to_string(f + 2) + ")",
                  ExitCode::bad_input);
    engine->load_messages(*initial);
  } else {
    engine->load_messages(random_fbp_messages(data, config.init_size, config.seed));
  }
  const std::vector<float> eta = symmetry_breaking_fields(data, config.symmetry_breaking, config.seed);
  engine->set_external_fields(eta);

  std::vector<double> phi;
  const auto out_of_time = [&] {
    return config.max_seconds > 0 && seconds_since(t0) >= config.max_seconds;
  };
  for (std::size_t s = 0; s < config.protocol.steps.size(); ++s) {
    const FbpStep& step = config.protocol.steps[s];
    const FocusingParams focusing = FocusingParams::make(step.gamma, step.y);
    FbpStepRecord r;
    r.step = static_cast<int>(s);
    r.gamma = step.gamma;
    r.y = step.y;
    for (int it = 0; it < config.max_iters; ++it) {
      r.max_change = engine->iterate(focusing, config.damping);
      ++r.iterations;
      if (r.max_change < config.epsilon) {
        r.converged = true;
        break;
      }
      if (out_of_time()) {
        result.stopped_by_time = true;
        break;
      }
    }
    result.iterations += static_cast<std::uint64_t>(r.iterations);
    phi = engine->fields();
    r.errors = count_misclassified(data, signs(phi));
    if (config.observables) {
      observe(*engine, focusing, phi, eta, r);
    } else {
      r.free_entropy = r.q = r.reference_overlap = std::nan("");
    }
    r.wall_seconds = seconds_since(t0);
    result.trace.push_back(r);
    if (hooks.on_step) hooks.on_step(r);
    if (r.errors == 0) {
      result.solved = true;
      result.seconds_to_solution = r.wall_seconds;
      break;
    }
    if (result.stopped_by_time || out_of_time()) {
      result.stopped_by_time = true;
      break;
    }
  }
  result.fields = phi;
  result.weights = signs(phi);
  result.errors = result.trace.empty() ? count_misclassified(data, result.weights)
                                       : result.trace.back().errors;
  result.messages = engine->messages();
  result.wall_seconds = seconds_since(t0);
  return result;
}

}  // namespace locent
