// The plain-loop baseline (bench/plain_loop.cpp) and the engine run the same Markov chain with
// different random streams and proposal orders: where the chains equilibrate fast (β = 0.5) their
// acceptance rates must agree, which checks both the baseline and the engine's integer thresholds.
#include <gtest/gtest.h>

#include "locent/throughput.hpp"

namespace locent {
namespace {

TEST(PlainLoop, SamplesTheSameChainAsTheEngine) {
  for (int y : {1, 7}) {
    RsaWorkload w;
    w.inputs = 201;
    w.replicas = y;
    w.beta = 0.5;
    w.gamma = y == 1 ? 0.0 : 0.5;
    w.sweeps = 1500;
    auto cpu = make_cpu_backend(1);
    double engine = 0, plain = 0;
    for (std::uint64_t seed : {1, 2}) {
      w.seed = seed;
      const RsaThroughput e = measure_rsa(*cpu, w), p = measure_plain_loop(w);
      engine += double(e.accepted) / e.proposals;
      plain += double(p.accepted) / p.proposals;
    }
    // Measured 0.2254 against 0.2257 (y = 1) and 0.1979 against 0.1980 (y = 7).
    EXPECT_NEAR(engine / plain, 1.0, 0.02) << "y = " << y << ": " << engine / 2 << " vs " << plain / 2;
    EXPECT_GT(engine / 2, 0.1);
  }
}

}  // namespace
}  // namespace locent
