// The message-update rules of focusing BP (algorithms.md §4), shared verbatim by the CPU engine
// (host/cpu/fbp.cpp) and the CUDA kernels (kernels/fbp.cu), so both compute the same iteration.
//
// Every message is stored as a float32 field û = atanh(u) and every rule evaluates in double.
// Patterns are folded (ξ → σξ, all labels +1): sign(σ x) = σ sign(x) and K is odd, so this holds
// for committees too. Per pattern μ and hidden unit k, with the cavity fields h_j = Φ_kj − û_μkj
// (Φ the total field of weight (k, j)), m_j = tanh h_j, the factor sums are
//   M = Σ_j ξ_j m_j,  V = Σ_j (1 − m_j²),
// the message to weight j uses the cavity M̄ = M − ξ_j m_j, V̄ = V − (1 − m_j²), and the message
// H that the output side sends the factor (a perceptron: H = +1):
//   u = H(erf g+ − erf g−) / (2 + H(erf g+ + erf g−)),  g± = (M̄ ± ξ_j)/√(2V̄),
// evaluated as û = ½[L(g+) − L(g−)], L(g) = log((1 − |H|) + |H| erfc(−sign(H) g)), with log erfc
// taken from its asymptotic series where erfc underflows.
#pragma once
#include <cmath>

#include "locent/hd.hpp"

namespace locent::fbp {

// Message fields are clamped to ±17: tanh 17 = 1 − 3.4e−15, so every magnetization stays away
// from ±1 in double precision and 1 ± m never rounds to 0 or 2.
inline constexpr double kMaxField = 17.0;
// Floor of a cavity variance V̄: with every other input polarized the Gaussian form degenerates
// (g → ±∞); the floor keeps g finite and the message saturates at the clamp instead.
inline constexpr double kMinVariance = 1e-10;
// Anything above this stands for +∞ (y = ∞, γ = ∞) without needing isinf() on both sides.
inline constexpr double kHuge = 1e300;
inline constexpr double kLogSqrtPi = 0.57236494292470008707;
inline constexpr double kLog2 = 0.69314718055994530942;

LOCENT_HD double clamp_field(double x) {
  if (!(x == x)) return 0;  // NaN (0/0 of an unsatisfiable factor): no information
  return x > kMaxField ? kMaxField : (x < -kMaxField ? -kMaxField : x);
}

// 1 − tanh x for x ≥ 0, without cancellation.
LOCENT_HD double one_minus_tanh(double x) { return 2.0 / (::exp(2.0 * x) + 1.0); }

// log cosh x, without overflow.
LOCENT_HD double log_cosh(double x) {
  const double a = ::fabs(x);
  return a + ::log1p(::exp(-2.0 * a)) - kLog2;
}

// log erfc z. Above z = 26 erfc nears the double underflow; there the asymptotic series
// erfc z = e^{−z²}/(z√π)·(1 − t + 3t² − 15t³ + 105t⁴), t = 1/(2z²), is exact to 3e−13.
LOCENT_HD double log_erfc(double z) {
  if (z < 26.0) return ::log(::erfc(z));
  const double t = 1.0 / (2.0 * z * z);
  return -z * z - ::log(z) - kLogSqrtPi + ::log1p(t * (-1.0 + t * (3.0 + t * (-15.0 + 105.0 * t))));
}

// tanh x from one exp, several times cheaper than the library tanh on the CPU, where every
// message update needs two. For small x the absolute error stays at 1e−16, and magnetizations
// only ever enter sums and differences, so that is the accuracy that matters.
LOCENT_HD double tanh_of(double x) {
  const double e = ::exp(-2.0 * ::fabs(x));
  const double t = (1.0 - e) / (1.0 + e);
  return x < 0 ? -t : t;
}

// Cavity magnetization m = tanh h and variance 1 − m² = sech² h, from one exp.
struct Cavity {
  double m, v;
};
LOCENT_HD Cavity cavity(double h) {
  const double e = ::exp(-2.0 * ::fabs(h));
  const double m = (1.0 - e) / (1.0 + e);
  return Cavity{h < 0 ? -m : m, 4.0 * e / ((1.0 + e) * (1.0 + e))};
}

// The output side H of a first-layer factor as |H|, 1 − |H| (exact) and sign H.
struct OutputSide {
  double a, one_minus_a, sign;
};
LOCENT_HD OutputSide hard_output() { return OutputSide{1.0, 0.0, 1.0}; }
LOCENT_HD OutputSide soft_output(double field) {
  const double oma = one_minus_tanh(::fabs(field));
  return OutputSide{1.0 - oma, oma, field < 0 ? -1.0 : 1.0};
}

// L = log((1 − a) + a·e^{log_erfc_value}), by log-sum-exp.
LOCENT_HD double log_mix(const OutputSide& o, double log_erfc_value) {
  if (o.one_minus_a == 0) return log_erfc_value;
  const double x1 = ::log(o.one_minus_a), x2 = ::log(o.a) + log_erfc_value;
  const double hi = x1 > x2 ? x1 : x2, lo = x1 > x2 ? x2 : x1;
  return hi + ::log1p(::exp(lo - hi));
}

// Field of the message from a first-layer factor to one of its weights (pattern bit xi = ±1),
// from the cavity mean M̄ and variance V̄ of the other inputs.
LOCENT_HD double weight_message(double mean, double variance, double xi, const OutputSide& o) {
  if (o.a == 0) return 0;
  const double sd = ::sqrt(2.0 * (variance > kMinVariance ? variance : kMinVariance));
  const double zp = -o.sign * (mean + xi) / sd, zm = -o.sign * (mean - xi) / sd;
  if (zp < 26.0 && zm < 26.0)  // the common case: one log of a ratio of erfc's
    return clamp_field(0.5 * ::log((o.one_minus_a + o.a * ::erfc(zp)) /
                                   (o.one_minus_a + o.a * ::erfc(zm))));
  return clamp_field(0.5 * (log_mix(o, log_erfc(zp)) - log_mix(o, log_erfc(zm))));
}

// Field of the message from a first-layer factor to its hidden output τ: atanh erf(M/√(2V)).
LOCENT_HD double unit_message(double mean, double variance) {
  const double g = mean / ::sqrt(2.0 * (variance > kMinVariance ? variance : kMinVariance));
  return clamp_field(0.5 * (log_erfc(-g) - log_erfc(g)));
}

// log P(h > 0) for a Gaussian field of mean M and variance V: the perceptron's output term.
LOCENT_HD double log_unit_probability(double mean, double variance) {
  const double g = mean / ::sqrt(2.0 * (variance > kMinVariance ? variance : kMinVariance));
  return log_erfc(-g) - kLog2;
}

// P(τ = +1) and P(τ = −1) of a hidden unit from its field, without cancellation.
LOCENT_HD double plus_probability(double field) { return 1.0 / (1.0 + ::exp(-2.0 * field)); }
LOCENT_HD double minus_probability(double field) { return 1.0 / (1.0 + ::exp(2.0 * field)); }

// Exact output factor of a committee (label folded to +1, K odd ≤ kMaxUnits): the field of its
// message to τ_k, u_k = P(S = 0)/(P(S = 0) + 2 P(S > 0)) with S = Σ_{j≠k} τ_j, from the
// distribution of the number of +1 among the other K − 1 units (a convolution, O(K²)).
template <int kMaxUnits, class T>
LOCENT_HD double output_message(int units, const T* unit_fields, int k) {
  double dist[kMaxUnits];
  dist[0] = 1.0;
  int n = 0;
  for (int j = 0; j < units; ++j) {
    if (j == k) continue;
    const double p = plus_probability(unit_fields[j]), q = minus_probability(unit_fields[j]);
    dist[n + 1] = dist[n] * p;
    for (int c = n; c >= 1; --c) dist[c] = dist[c] * q + dist[c - 1] * p;
    dist[0] *= q;
    ++n;
  }
  const int half = n / 2;  // n = K − 1 is even: S = 0 iff exactly half are +1
  double above = 0;
  for (int c = half + 1; c <= n; ++c) above += dist[c];
  return clamp_field(0.5 * (::log(above + dist[half]) - ::log(above)));
}

// log P(Σ_k τ_k > 0) of the output factor: the committee's output term of the free entropy.
template <int kMaxUnits, class T>
LOCENT_HD double log_output_probability(int units, const T* unit_fields) {
  double dist[kMaxUnits + 1];
  dist[0] = 1.0;
  for (int j = 0; j < units; ++j) {
    const double p = plus_probability(unit_fields[j]), q = minus_probability(unit_fields[j]);
    dist[j + 1] = dist[j] * p;
    for (int c = j; c >= 1; --c) dist[c] = dist[c] * q + dist[c - 1] * p;
    dist[0] *= q;
  }
  double above = 0;
  for (int c = units / 2 + 1; c <= units; ++c) above += dist[c];
  return ::log(above);
}

// Focusing parameters in the form the rule needs (see FocusingParams in fbp.hpp).
struct Focusing {
  double gamma, pol, one_minus_pol, r;
};

// atanh(tanh γ · tanh x), exact also where tanh γ · tanh x is within rounding of 1.
LOCENT_HD double focus_map(const Focusing& f, double x) {
  if (f.one_minus_pol == 0) return x;  // γ = ∞
  const double a = ::fabs(x);
  double v;
  if (a > kHuge) {
    v = f.gamma;
  } else {
    const double d = f.one_minus_pol + f.pol * one_minus_tanh(a);  // 1 − tanh γ tanh a
    v = 0.5 * ::log((2.0 - d) / d);
  }
  return x < 0 ? -v : v;
}

// Field of the focusing message to a weight whose cavity field (all pattern messages) is h:
//   u = tanh γ · tanh((y − 1) · atanh(tanh γ · tanh h)).
// γ = ∞ gives (y − 1)·h (classic reinforcement); y = ∞ gives sign(h)·γ.
LOCENT_HD double focusing_field(const Focusing& f, double h) {
  if (f.pol == 0 || f.r == 0) return 0;
  const double a = focus_map(f, h);
  const double b = f.r > kHuge ? (a > 0 ? 2 * kHuge : (a < 0 ? -2 * kHuge : 0.0)) : f.r * a;
  return clamp_field(focus_map(f, b));
}

// The new stored value of a message and the change it counts for (convergence is measured on
// magnetizations). The fresh value is rounded to float32 first, so both backends measure and damp
// the same numbers. Damping mixes magnetizations, m ← λ m_old + (1 − λ) m_new, as the reference
// implementation does.
struct Update {
  float stored;
  double change;
};
LOCENT_HD Update update_message(double fresh, float old, double damping) {
  const float f = static_cast<float>(fresh);
  const double tf = tanh_of(static_cast<double>(f)), to = tanh_of(static_cast<double>(old));
  const double change = ::fabs(tf - to);
  if (damping == 0) return Update{f, change};
  const double m = damping * to + (1.0 - damping) * tf;
  return Update{static_cast<float>(clamp_field(0.5 * ::log((1.0 + m) / (1.0 - m)))), change};
}

}  // namespace locent::fbp
