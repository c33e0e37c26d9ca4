// The CPU engine of focusing BP: one parallel iteration is a pass over the weights (focusing
// messages, then total fields) and a pass over the patterns (factor messages), both split across a
// pool of std::threads. The CUDA twin is kernels/fbp.cu; both follow fbp_rules.hpp, which this
// engine evaluates a hidden unit's inputs at a time over arrays (exp, log and erfc through the
// vector math of host/cpu/vector_math.hpp), to within a few ulp of the scalar rules.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "host/cpu/vector_math.hpp"
#include "locent/error.hpp"
#include "locent/fbp.hpp"
#include "locent/fbp_rules.hpp"

namespace locent {
namespace {

// The element-wise loops of a factor update, compiled for AVX-512, AVX2 and plain x86-64 and
// chosen at load time, so that they vectorize on machines that have the wider units. Every
// reduction stays outside them, in a fixed order.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define LOCENT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LOCENT_CLONES
#endif

// ξ_j = ±1 from the bits offset, offset + 1, … of a pattern row.
LOCENT_CLONES void unpack_signs(const std::uint64_t* row, std::size_t offset, double* xi,
                                std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t c = offset + j;
    xi[j] = (row[c / kWordBits] >> (c % kWordBits)) & 1u ? 1.0 : -1.0;
  }
}

// u = float32(x).
LOCENT_CLONES void store_floats(const double* x, float* u, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) u[j] = static_cast<float>(x[j]);
}

// a = −2|Φ − û|: the argument of the exponential in fbp::cavity.
LOCENT_CLONES void cavity_arguments(const double* phi, const float* u, double* a, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) a[j] = -2.0 * std::fabs(phi[j] - u[j]);
}

// m = tanh(Φ − û), v = 1 − m² from e = exp(−2|Φ − û|), as fbp::cavity.
LOCENT_CLONES void cavity_values(const double* phi, const float* u, const double* e, double* m,
                                 double* v, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    const double t = (1.0 - e[j]) / (1.0 + e[j]);
    m[j] = phi[j] - u[j] < 0 ? -t : t;
    v[j] = 4.0 * e[j] / ((1.0 + e[j]) * (1.0 + e[j]));
  }
}

// The erfc arguments z± = −sign H (M̄ ± ξ)/√(2 V̄) of fbp::weight_message.
LOCENT_CLONES void erfc_arguments(double mean, double variance, double sign, const double* xi,
                                  const double* m, const double* v, double* zp, double* zm,
                                  std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    const double cavity_mean = mean - xi[j] * m[j], cavity_variance = variance - v[j];
    const double sd = std::sqrt(
        2.0 * (cavity_variance > fbp::kMinVariance ? cavity_variance : fbp::kMinVariance));
    zp[j] = -sign * (cavity_mean + xi[j]) / sd;
    zm[j] = -sign * (cavity_mean - xi[j]) / sd;
  }
}

// (1 − a + a erfc z+)/(1 − a + a erfc z−), the ratio whose half log is the message.
LOCENT_CLONES void erfc_ratios(double one_minus_a, double a, const double* ep, const double* em,
                               double* ratio, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) ratio[j] = (one_minus_a + a * ep[j]) / (one_minus_a + a * em[j]);
}

// x ← clamp_field(½ x).
LOCENT_CLONES void half_clamped(double* x, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) x[j] = fbp::clamp_field(0.5 * x[j]);
}

// fresh ← float32(fresh); a = −2|fresh|, b = −2|old|: the arguments of update_message's tanh.
LOCENT_CLONES void update_arguments(double* fresh, const float* old, double* a, double* b,
                                    std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    fresh[j] = static_cast<double>(static_cast<float>(fresh[j]));
    a[j] = -2.0 * std::fabs(fresh[j]);
    b[j] = -2.0 * std::fabs(static_cast<double>(old[j]));
  }
}

// From ea = exp(−2|fresh|), eb = exp(−2|old|): the changes |tanh fresh − tanh old| (into ea)
// and (1 + m)/(1 − m) of the damped magnetization m (into eb).
LOCENT_CLONES void update_values(const double* fresh, const float* old, double damping, double* ea,
                                 double* eb, std::size_t n) {
  for (std::size_t j = 0; j < n; ++j) {
    const double tf0 = (1.0 - ea[j]) / (1.0 + ea[j]), to0 = (1.0 - eb[j]) / (1.0 + eb[j]);
    const double tf = fresh[j] < 0 ? -tf0 : tf0, to = old[j] < 0 ? -to0 : to0;
    const double m = damping * to + (1.0 - damping) * tf;
    ea[j] = std::fabs(tf - to);
    eb[j] = (1.0 + m) / (1.0 - m);
  }
}

// Fixed work partitions, so that every reduction adds in the same order whatever the number of
// threads: a run is reproducible across machines.
constexpr std::size_t kColumnsPerChunk = 256;
constexpr std::size_t kPatternsPerChunk = 4;

// Persistent workers: an iteration has two passes and a run thousands of iterations, so starting
// threads per pass would cost more than small passes themselves.
class WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    const int n = std::max(1, threads);
    for (int w = 1; w < n; ++w) threads_.emplace_back([this, w] { work(w); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    start_.notify_all();
    for (auto& t : threads_) t.join();
  }
  int size() const { return static_cast<int>(threads_.size()) + 1; }

  // Calls body(chunk, worker) for every chunk in [0, chunks); returns when all are done.
  void run(std::size_t chunks, const std::function<void(std::size_t, int)>& body) {
    if (threads_.empty() || chunks <= 1) {
      for (std::size_t c = 0; c < chunks; ++c) body(c, 0);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      body_ = &body;
      chunks_ = chunks;
      next_.store(0);
      busy_ = static_cast<int>(threads_.size());
      ++generation_;
    }
    start_.notify_all();
    drain(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return busy_ == 0; });
    body_ = nullptr;
  }

 private:
  void drain(int worker) {
    for (std::size_t c; (c = next_.fetch_add(1)) < chunks_;) (*body_)(c, worker);
  }
  void work(int worker) {
    std::size_t seen = 0;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        start_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      drain(worker);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--busy_ == 0) done_.notify_one();
      }
    }
  }

  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(std::size_t, int)>* body_ = nullptr;
  std::size_t chunks_ = 0, generation_ = 0;
  std::atomic<std::size_t> next_{0};
  int busy_ = 0;
  bool stop_ = false;
};

class CpuFbpEngine final : public FbpEngine {
 public:
  CpuFbpEngine(const Dataset& data, int threads)
      : model_(data.model),
        p_(data.n_patterns()),
        k_(static_cast<std::size_t>(data.model.hidden_units)),
        fan_in_(static_cast<std::size_t>(data.model.fan_in())),
        w_(k_ * fan_in_),
        committee_(data.model.architecture != Architecture::perceptron),
        rows_(data.folded_rows()),
        pool_(threads > 0 ? threads : std::max(1, int(std::thread::hardware_concurrency()))) {
    msg_.resize(p_, k_, fan_in_);
    phi_.assign(w_, 0.0);
    external_.assign(w_, 0.0f);
    scratch_.resize(pool_.size());
    for (auto& s : scratch_) s.resize(fan_in_);
  }

  void load_messages(const FbpMessages& m) override {
    if (m.patterns != p_ || m.hidden_units != k_ || m.fan_in != fan_in_)
      throw Error("fBP messages of the wrong shape for this instance", ExitCode::bad_input);
    msg_ = m;
  }
  FbpMessages messages() override { return msg_; }
  void set_external_fields(const std::vector<float>& eta) override {
    if (eta.size() != w_) throw Error("internal error: external fields of the wrong size", ExitCode::failure);
    external_ = eta;
  }
  std::vector<float> focusing_messages() override { return msg_.focusing; }

  double iterate(const FocusingParams& f, double damping) override {
    const fbp::Focusing focusing{f.gamma, f.pol, f.one_minus_pol, f.r};
    const double change = weight_pass(&focusing, damping);
    return std::max(change, pattern_pass(damping));
  }

  std::vector<double> fields() override {
    weight_pass(nullptr, 0);
    return phi_;
  }

  FbpPatternSums pattern_sums() override {
    weight_pass(nullptr, 0);
    const std::size_t chunks = (p_ + kPatternsPerChunk - 1) / kPatternsPerChunk;
    std::vector<FbpPatternSums> part(chunks);
    pool_.run(chunks, [&](std::size_t c, int worker) {
      FbpPatternSums s;
      std::vector<double> unit(k_);
      Scratch& scratch = scratch_[worker];
      for (std::size_t mu = c * kPatternsPerChunk; mu < std::min(p_, (c + 1) * kPatternsPerChunk); ++mu) {
        for (std::size_t k = 0; k < k_; ++k) {
          double mean = 0, variance = 0;
          const float* u = msg_.pattern_to_weight.data() + (mu * k_ + k) * fan_in_;
          const double* phi = phi_.data() + k * fan_in_;
          fill_cavities(mu, k, u, scratch, mean, variance);
          for (std::size_t j = 0; j < fan_in_; ++j)
            s.edge += fbp::log_cosh(phi[j] - u[j]) - fbp::log_cosh(phi[j]);
          if (committee_)
            unit[k] = fbp::unit_message(mean, variance);
          else
            s.log_output += fbp::log_unit_probability(mean, variance);
        }
        if (committee_)
          s.log_output += fbp::log_output_probability<kMaxFbpHiddenUnits>(int(k_), unit.data());
      }
      part[c] = s;
    });
    FbpPatternSums total;
    for (const auto& s : part) {
      total.log_output += s.log_output;
      total.edge += s.edge;
    }
    return total;
  }

 private:
  // With `focusing`: the new focusing messages, from the cavity fields Σ_μ û_μj + η_j. Then the
  // total fields Φ_j = Σ_μ û_μj + η_j + f_j. Returns the largest focusing change.
  double weight_pass(const fbp::Focusing* focusing, double damping) {
    const std::size_t chunks = (w_ + kColumnsPerChunk - 1) / kColumnsPerChunk;
    std::vector<double> change(chunks, 0.0);
    pool_.run(chunks, [&](std::size_t c, int) {
      const std::size_t j0 = c * kColumnsPerChunk, j1 = std::min(w_, j0 + kColumnsPerChunk);
      double acc[kColumnsPerChunk] = {};
      for (std::size_t mu = 0; mu < p_; ++mu) {
        const float* row = msg_.pattern_to_weight.data() + mu * w_;
        for (std::size_t j = j0; j < j1; ++j) acc[j - j0] += row[j];
      }
      for (std::size_t j = j0; j < j1; ++j) acc[j - j0] += external_[j];
      double worst = 0;
      for (std::size_t j = j0; j < j1; ++j) {
        if (focusing) {
          const fbp::Update u = fbp::update_message(fbp::focusing_field(*focusing, acc[j - j0]),
                                                    msg_.focusing[j], damping);
          msg_.focusing[j] = u.stored;
          worst = std::max(worst, u.change);
        }
        phi_[j] = acc[j - j0] + msg_.focusing[j];
      }
      change[c] = worst;
    });
    return change.empty() ? 0.0 : *std::max_element(change.begin(), change.end());
  }

  // Per-worker arrays over one unit's inputs: cavity magnetizations m, variances v = 1 − m²,
  // pattern bits ξ, and three work arrays for the array math.
  struct Scratch {
    std::vector<double> m, v, xi, a, b, c;
    std::vector<std::size_t> rare;  // inputs whose erfc arguments need the asymptotic form
    void resize(std::size_t n) {
      for (auto* x : {&m, &v, &xi, &a, &b, &c}) x->assign(n, 0.0);
    }
  };

  // Cavity magnetizations, variances and pattern bits of unit k for pattern μ, and their sums
  // M = Σ ξ m, V = Σ (1 − m²): fbp::cavity, with the exponentials taken over the whole array.
  void fill_cavities(std::size_t mu, std::size_t k, const float* u, Scratch& s, double& mean,
                     double& variance) const {
    const std::uint64_t* row = rows_.row(mu);
    const std::size_t offset = model_.unit_input_offset(static_cast<int>(k));
    const double* phi = phi_.data() + k * fan_in_;
    const std::size_t n = fan_in_;
    unpack_signs(row, offset, s.xi.data(), n);
    cavity_arguments(phi, u, s.a.data(), n);
    cpu::vector_math().exp(s.a.data(), s.b.data(), n);
    cavity_values(phi, u, s.b.data(), s.m.data(), s.v.data(), n);
    mean = 0;
    variance = 0;
    for (std::size_t j = 0; j < n; ++j) {
      mean += s.xi[j] * s.m[j];
      variance += s.v[j];
    }
  }

  // New messages from a first-layer factor to its fan_in weights, in place in u, from the
  // cavities that fill_cavities left in s (sums mean, variance) and the output side of the
  // factor: fbp::weight_message and fbp::update_message, evaluated a whole unit at a time so that
  // exp, log and erfc run over arrays. Returns the largest change.
  double update_unit(float* u, double mean, double variance, const fbp::OutputSide& side,
                     double damping, Scratch& s) const {
    const cpu::VectorMath& vm = cpu::vector_math();
    const std::size_t n = fan_in_;
    double* fresh = s.c.data();
    if (side.a == 0) {
      std::fill(fresh, fresh + n, 0.0);
    } else {
      erfc_arguments(mean, variance, side.sign, s.xi.data(), s.m.data(), s.v.data(), s.a.data(),
                     s.b.data(), n);
      // Where erfc underflows, the scalar rule's asymptotic form takes over (below).
      s.rare.clear();
      for (std::size_t j = 0; j < n; ++j)
        if (!(s.a[j] < 26.0 && s.b[j] < 26.0)) {
          s.rare.push_back(j);
          s.a[j] = s.b[j] = 0.0;
        }
      vm.erfc(s.a.data(), s.a.data(), n);
      vm.erfc(s.b.data(), s.b.data(), n);
      erfc_ratios(side.one_minus_a, side.a, s.a.data(), s.b.data(), fresh, n);
      vm.log(fresh, fresh, n);
      half_clamped(fresh, n);
      for (const std::size_t j : s.rare)
        fresh[j] = fbp::weight_message(mean - s.xi[j] * s.m[j], variance - s.v[j], s.xi[j], side);
    }
    // update_message: the fresh field rounded to float32, magnetizations tanh from exp(−2|x|),
    // damping on magnetizations, back to a field by ½ log((1 + m)/(1 − m)).
    update_arguments(fresh, u, s.a.data(), s.b.data(), n);
    vm.exp(s.a.data(), s.a.data(), n);
    vm.exp(s.b.data(), s.b.data(), n);
    update_values(fresh, u, damping, s.a.data(), s.b.data(), n);
    double worst = 0;
    for (std::size_t j = 0; j < n; ++j) worst = std::max(worst, s.a[j]);
    if (damping == 0) {
      store_floats(fresh, u, n);
      return worst;
    }
    vm.log(s.b.data(), s.b.data(), n);
    half_clamped(s.b.data(), n);
    store_floats(s.b.data(), u, n);
    return worst;
  }

  // New factor messages of every pattern, all patterns in parallel from Φ. Within a committee's
  // pattern the output factor goes first, so its first-layer factors see its new message.
  double pattern_pass(double damping) {
    const std::size_t chunks = (p_ + kPatternsPerChunk - 1) / kPatternsPerChunk;
    std::vector<double> change(chunks, 0.0);
    pool_.run(chunks, [&](std::size_t c, int worker) {
      double worst = 0;
      Scratch& scratch = scratch_[worker];
      for (std::size_t mu = c * kPatternsPerChunk; mu < std::min(p_, (c + 1) * kPatternsPerChunk); ++mu) {
        float* unit = msg_.unit_to_output.data() + mu * k_;
        float* output = msg_.output_to_unit.data() + mu * k_;
        if (committee_) {
          double fresh[kMaxFbpHiddenUnits];
          for (std::size_t k = 0; k < k_; ++k)
            fresh[k] = fbp::output_message<kMaxFbpHiddenUnits>(int(k_), unit, int(k));
          for (std::size_t k = 0; k < k_; ++k) {
            const fbp::Update up = fbp::update_message(fresh[k], output[k], damping);
            output[k] = up.stored;
            worst = std::max(worst, up.change);
          }
        }
        for (std::size_t k = 0; k < k_; ++k) {
          float* u = msg_.pattern_to_weight.data() + (mu * k_ + k) * fan_in_;
          double mean, variance;
          fill_cavities(mu, k, u, scratch, mean, variance);
          fbp::OutputSide side = fbp::hard_output();
          if (committee_) {
            const fbp::Update up =
                fbp::update_message(fbp::unit_message(mean, variance), unit[k], damping);
            unit[k] = up.stored;
            worst = std::max(worst, up.change);
            side = fbp::soft_output(output[k]);
          }
          worst = std::max(worst, update_unit(u, mean, variance, side, damping, scratch));
        }
      }
      change[c] = worst;
    });
    return change.empty() ? 0.0 : *std::max_element(change.begin(), change.end());
  }

  ModelSpec model_;
  std::size_t p_, k_, fan_in_, w_;
  bool committee_;
  BitMatrix rows_;  // folded σξ
  FbpMessages msg_;
  std::vector<double> phi_;
  std::vector<float> external_;  // symmetry-breaking fields η
  WorkerPool pool_;
  std::vector<Scratch> scratch_;  // per worker
};

}  // namespace

std::unique_ptr<FbpEngine> make_cpu_fbp_engine(const Dataset& data, int threads) {
  require_fbp_host_memory(data.model, data.n_patterns());
  return std::make_unique<CpuFbpEngine>(data, threads);
}

}  // namespace locent
