// Focusing belief propagation (fBP, algorithms.md §4) on the binary perceptron and on tree and
// fully connected committee machines: protocols, configuration, results, solve_fbp().
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "locent/problem.hpp"

namespace locent {

inline constexpr double kInfinity = std::numeric_limits<double>::infinity();

// One focusing step: the coupling γ to the reference (∞ = classic reinforcement) and the number
// of replicas y (may be ∞ only together with γ < ∞, where it means u = sign(h)·tanh γ).
struct FbpStep {
  double gamma = kInfinity;
  double y = 1;
};

// The (γ, y) schedule of a run. `name` and `text` describe it in results.
struct FbpProtocol {
  std::string name;  // "standard", "scoping", "pseudo" or "list"
  std::string text;  // parameters, e.g. "standard:100"
  std::vector<FbpStep> steps;

  // γ = ∞, y = 1/(1 − x), x = 0, 1/S, …, (S − 1)/S (S = 100: x = 0, 0.01, …, 0.99).
  static FbpProtocol standard(int steps = 100);
  // y fixed, γ geometric from gamma_first to gamma_last in `steps` steps (both ends included).
  static FbpProtocol scoping(double y, double gamma_first, double gamma_last, int steps);
  // γ = atanh(√ρ), y = (2 − ρ)/(1 − ρ), ρ = 0, 1/S, …, (S − 1)/S.
  static FbpProtocol pseudo(int steps = 100);
  static FbpProtocol list(std::vector<FbpStep> steps);
  // "γ y" pairs, one a line ('#' starts a comment) or separated by commas as "γ:y,γ:y"; γ and y
  // may be "inf". `source` names the text in error messages.
  static std::vector<FbpStep> parse_steps(const std::string& text, const std::string& source);
};

// How the run is configured. Defaults are those of the reference implementation.
struct FbpConfig {
  FbpProtocol protocol = FbpProtocol::standard();
  int max_iters = 1000;          // BP iterations per focusing step
  double epsilon = 1e-3;         // converged when no message magnetization moves more than this
  // λ: m ← λ m_old + (1 − λ) m_new (magnetizations). The reference implementation's 0 is for its
  // random sequential updates; parallel updates oscillate without damping (docs/fbp.md).
  double damping = 0.5;
  double init_size = 0.01;       // initial messages: magnetizations uniform in ±init_size
  // Fully connected committees only: a fixed random external field, uniform in ±this, on every
  // weight. Their hidden units are interchangeable, and under parallel updates an exactly
  // symmetric state stays symmetric once float32 rounding has erased the initial differences.
  double symmetry_breaking = 1e-3;
  std::uint64_t seed = 1;        // initial messages: Philox (seed, fbp_messages, instance, ...)
  double max_seconds = 0;        // wall-clock budget per instance; 0 = none
  bool observables = true;       // free entropy, q and reference overlap after every step
  int threads = 0;               // CPU backend: 0 = all cores
  std::size_t device_memory_limit = 0;  // CUDA: refuse instances needing more bytes; 0 = no limit
  int device = 0;                // CUDA: the device to run on
  void validate() const;         // throws Error(usage)
};

// All the messages of an instance, as float32 *fields* (atanh of the message magnetization), so
// that strongly polarized messages keep their precision. W = K · fan_in weights.
struct FbpMessages {
  std::size_t patterns = 0, hidden_units = 1, fan_in = 0;
  std::vector<float> pattern_to_weight;  // P × K × fan_in: factor (μ, k) → weight (k, j)
  std::vector<float> focusing;           // K × fan_in: reference (focusing) factor → weight
  std::vector<float> unit_to_output;     // P × K: hidden-unit factor (μ, k) → τ_μk (committees)
  std::vector<float> output_to_unit;     // P × K: output factor μ → τ_μk (committees)

  std::size_t weights() const { return hidden_units * fan_in; }
  void resize(std::size_t p, std::size_t k, std::size_t f);
  // One array for .npy files: (P + 1) × K × (fan_in + 2). Row μ < P holds, per unit, the
  // factor-to-weight messages then unit_to_output and output_to_unit; row P the focusing messages
  // (last two columns 0).
  std::vector<float> to_array() const;
  std::vector<std::size_t> array_shape() const;
  static FbpMessages from_array(const std::vector<float>& values,
                                const std::vector<std::size_t>& shape);
};

// What a focusing step ended with.
struct FbpStepRecord {
  int step = 0;                   // index in the protocol
  double gamma = 0, y = 0;
  int iterations = 0;             // BP iterations run in this step
  bool converged = false;         // max change < ε before max_iters
  double max_change = 0;          // of the last iteration
  std::size_t errors = 0;         // training errors of sign(marginals)
  // Observables (NaN when not computed, FbpConfig::observables = false):
  double free_entropy = 0;        // Bethe free entropy of the replicated system / (y · weights)
  double q = 0;                   // mean squared marginal magnetization
  double reference_overlap = 0;   // mean overlap of a replica with the reference
  double wall_seconds = 0;        // since the start of the instance
};

struct FbpResult {
  bool solved = false;
  std::size_t errors = 0;                 // of sign(marginals) at the end
  std::uint64_t iterations = 0;           // all steps together
  bool stopped_by_time = false;
  double wall_seconds = 0;
  double seconds_to_solution = 0;         // 0 when unsolved
  std::vector<FbpStepRecord> trace;
  std::vector<std::int8_t> weights;       // sign of the marginals (0 → +1), K × fan_in
  std::vector<double> fields;             // total fields of the marginals, K × fan_in
  FbpMessages messages;                   // final messages (warm start of a later run)
  std::string backend, device;
};

enum class FbpBackend { cpu, cuda };

struct FbpHooks {
  std::function<void(const FbpStepRecord&)> on_step;  // after every focusing step
};

// Runs the protocol on one instance from random messages (or `initial`, a warm start), stopping at
// zero training errors of sign(marginals), at the end of the protocol or at max_seconds.
FbpResult solve_fbp(const Dataset& data, const FbpConfig& config, FbpBackend backend,
                    const FbpMessages* initial = nullptr, const FbpHooks& hooks = {});

// ---------------------------------------------------------------------------------------------
// The engine interface between the host driver and a backend. An engine holds the messages of one
// instance; one call to iterate() is one synchronous (parallel) BP iteration: every new message
// is computed from the messages of the previous iteration, on both backends alike.

// Focusing parameters of a step in the form the update rule uses.
struct FocusingParams {
  double gamma = 0, y = 1;
  double pol = 0;            // tanh γ
  double one_minus_pol = 1;  // 1 − tanh γ, computed without cancellation
  double r = 0;              // y − 1
  static FocusingParams make(double gamma, double y);
};

// Sums over the pattern factors that the free entropy needs (computed from the current messages).
struct FbpPatternSums {
  double log_output = 0;  // Σ_μ log P(output μ right | cavity fields)
  double edge = 0;        // Σ_(μ,k,j) [log cosh(Φ_kj − û_μkj) − log cosh Φ_kj]
};

class FbpEngine {
 public:
  virtual ~FbpEngine() = default;
  virtual void load_messages(const FbpMessages& m) = 0;
  virtual FbpMessages messages() = 0;
  // Fixed external fields η (K × fan_in) added to every weight's field; zero unless set.
  virtual void set_external_fields(const std::vector<float>& eta) = 0;
  // One synchronous iteration; returns the largest change of a message magnetization.
  virtual double iterate(const FocusingParams& focusing, double damping) = 0;
  // Total fields Φ (K × fan_in) of the current messages.
  virtual std::vector<double> fields() = 0;
  virtual std::vector<float> focusing_messages() = 0;  // K × fan_in
  virtual FbpPatternSums pattern_sums() = 0;
};

// Limit of K for fBP: the output factor's convolution uses per-thread arrays of this size.
inline constexpr int kMaxFbpHiddenUnits = 63;

std::unique_ptr<FbpEngine> make_cpu_fbp_engine(const Dataset& data, int threads);
// Throws Error(no_device) without CUDA, Error(out_of_memory) when the instance does not fit.
std::unique_ptr<FbpEngine> make_cuda_fbp_engine(const Dataset& data, std::size_t memory_limit = 0,
                                                int device = 0);

// Device bytes an instance needs on the CUDA backend.
std::size_t fbp_device_bytes(const ModelSpec& model, std::size_t patterns);
// Throws Error(out_of_memory) with a message naming the instance, `needed` and `available`.
void require_fbp_device_memory(const ModelSpec& model, std::size_t patterns, std::size_t needed,
                               std::size_t available);

// Throws Error(out_of_memory) when the CPU engine's messages (held twice while loading) would
// not fit in the memory the system reports available (or `available` bytes; 0 = unknown).
void require_fbp_host_memory(const ModelSpec& model, std::size_t patterns);
void require_fbp_host_memory(const ModelSpec& model, std::size_t patterns, std::size_t available);

// Random initial messages of an instance (magnetizations uniform in ±size); focusing messages 0.
FbpMessages random_fbp_messages(const Dataset& data, double size, std::uint64_t seed);
// The symmetry-breaking external fields of an instance: uniform in ±size for a fully connected
// committee, zero otherwise (see FbpConfig::symmetry_breaking).
std::vector<float> symmetry_breaking_fields(const Dataset& data, double size, std::uint64_t seed);

}  // namespace locent
