// `locent bench`: the throughput figures of bench/RESULTS.md, as JSON on stdout.
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "host/cli/commands.hpp"
#include "host/cli/validators.hpp"
#include "host/output_file.hpp"
#include "host/text_format.hpp"
#include "locent/backend.hpp"
#include "locent/dense_fields.hpp"
#include "locent/rng.hpp"
#include "locent/error.hpp"
#include "locent/throughput.hpp"
#include "locent/version.hpp"

namespace locent::cli {
namespace {

struct BenchOptions {
  std::string backend = "auto";
  std::vector<int> sizes = {1001, 10001};
  double sweeps_scale = 1.0;
  int threads = 0;
  std::size_t instances = 0;  // 0: fill the device
  bool baseline = true;
  double proposals_ceiling = 0;
  int dense_size = -1;  // -1: 8192 on a GPU, 2048 on the CPU; 0: skip
  double mac_ceiling = 0;
  std::string dense_kernel = "auto";
  std::string cluster = "auto";
  int round_steps = CudaOptions{}.round_steps;
  std::string round_decisions = "parallel";
  bool round_global = false;
  bool fixed_rounds = false;
  std::vector<int> fbp_sizes;  // empty: 10001 on the CPU, 10001 and 100001 on a GPU; {0}: skip
  bool quiet = false;
};

std::uint64_t scaled_sweeps(int n, double scale) {
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(default_sweeps(n) * scale));
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Throughput: rSA proposals/s (α = 0.6, y = 7, β = 2, γ = 0.5) against the plain loop");
  cmd->add_option("--backend", o->backend, "auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--N", o->sizes, "Sizes of the rSA figures (odd; 0 skips them)")->capture_default_str();
  cmd->add_option("--sweeps-scale", o->sweeps_scale,
                  "Multiply the default sweeps per size (1000, 30, 3 for N ≤ 2001, ≤ 20001, larger)")
      ->check(finite_number_in(0, 100, true))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads, 0 = all cores")
      ->check(whole_number_up_to(kMaxThreads));
  cmd->add_option("--instances", o->instances, "Chains per figure, 0 = what fills the device")
      ->check(whole_number_up_to(1u << 24));
  cmd->add_flag("!--no-baseline", o->baseline, "Skip the plain-loop baseline and the scaling figure");
  cmd->add_option("--proposals-ceiling", o->proposals_ceiling,
                  "A ceiling in proposals/s to report each rSA figure against (e.g. the dense "
                  "AND+POPC floor of ceilings.md)")
      ->check(finite_number_in(0, 1e30, true));
  cmd->add_option("--dense-size", o->dense_size,
                  "R = P = N of the dense field + error evaluation (default 8192 on a GPU, 2048 on "
                  "the CPU; 0 skips it)")
      ->check(whole_number_up_to(65536));
  cmd->add_option("--mac-ceiling", o->mac_ceiling,
                  "The device's binary multiply-adds per second (ceilings.md: 5.0e15 on an H100's "
                  "1-bit tensor cores) to report the dense figure against")
      ->check(finite_number_in(0, 1e30, true));
  cmd->add_option("--dense-kernel", o->dense_kernel,
                  "GPU kernel of the dense figure: auto (the fastest measured one the device "
                  "runs: wgmma-cluster on compute capability 9.0, else mma), mma (mma.sync "
                  "m16n8k256, shared-memory pipeline, 128 x 128 tiles), mma256 (256 x 128 tiles), mma-staged (mma with "
                  "16-byte stores of the fields through shared memory), wgmma (Hopper's "
                  "warpgroup instruction, 128 x 256 tiles, compute capability 9.0), "
                  "wgmma-cluster (wgmma on clusters of two sharing the pattern tile by TMA "
                  "multicast) or wmma (the first kernel, kept for comparison)")
      ->check(CLI::IsMember({"auto", "mma", "mma256", "mma-staged", "wgmma", "wgmma-cluster", "wmma"}))
      ->capture_default_str();
  cmd->add_option("--cluster", o->cluster,
                  "GPU rSA on perceptrons in speculative rounds (compute capability 9.0): "
                  "blocks per instance, 1 or a thread-block cluster of 2, 4, 8 or 16; off: "
                  "a step at a time; auto: a cluster for a few large instances, one block "
                  "each for batches, a step at a time where neither fits")
      ->check(CLI::IsMember({"auto", "off", "1", "2", "4", "8", "16"}))
      ->capture_default_str();
  cmd->add_flag("--round-global-stabilities", o->round_global,
                "With --cluster 1: stabilities in global memory even where shared memory would "
                "hold them");
  cmd->add_flag("--fixed-rounds", o->fixed_rounds,
                "With --cluster: every round --round-steps long, instead of adapting each "
                "sweep's rounds to the last sweep's acceptance (at most --round-steps)");
  cmd->add_option("--round-steps", o->round_steps,
                  "Steps per speculative round with --cluster: the most, or all of them with "
                  "--fixed-rounds")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  cmd->add_option("--round-decisions", o->round_decisions,
                  "With --cluster: decide a round's proposals in parallel, then walk over the "
                  "acceptances, or one after the other")
      ->check(CLI::IsMember({"parallel", "sequential"}))
      ->capture_default_str();
  cmd->add_option("--fbp-N", o->fbp_sizes,
                  "Perceptron sizes of the fBP figure, seconds per BP iteration at α = 0.7 "
                  "(default 10001 on the CPU, 10001 100001 on a GPU; 0 skips it)");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress on stderr");

  return [o]() -> int {
    for (int n : o->sizes)
      if (n != 0 && (n < 3 || n % 2 == 0))
        throw Error("--N: sizes must be odd and at least 3, or 0 to skip (got " + std::to_string(n) + ")");
    for (int n : o->fbp_sizes)
      if (n != 0 && (n < 3 || n % 2 == 0))
        throw Error("--fbp-N: sizes must be odd and at least 3, or 0 to skip (got " + std::to_string(n) + ")");
    CudaOptions cuda;
    cuda.cluster_blocks = o->cluster == "auto" ? -1 : o->cluster == "off" ? 0 : std::stoi(o->cluster);
    cuda.round_steps = o->round_steps;
    cuda.adaptive_rounds = !o->fixed_rounds;
    cuda.parallel_decisions = o->round_decisions == "parallel";
    cuda.round_stabilities_in_global = o->round_global;
    std::string note;
    auto backend = make_backend(parse_backend_kind(o->backend), o->threads, &note, cuda);
    if (!note.empty() && !o->quiet) std::cerr << "locent: note: " << note << "\n";
    const bool on_cpu = backend->name() == "cpu";
    nlohmann::json figures = nlohmann::json::array();
    auto say = [&](const std::string& s) {
      if (!o->quiet) std::cerr << s << std::flush;
    };

    for (int n : o->sizes) {
      if (n == 0) continue;
      RsaWorkload w;
      w.inputs = n;
      w.sweeps = scaled_sweeps(n, o->sweeps_scale);
      // One chain per core on the CPU (the per-core figure); otherwise fill the device.
      w.instances = o->instances ? o->instances : (on_cpu ? 1 : backend->concurrent_instances(w.replicas));
      say(fmt::format("rsa N={} instances={} sweeps={} ... ", n, w.instances, w.sweeps));
      auto one = on_cpu ? make_cpu_backend(1) : nullptr;
      const RsaThroughput r = measure_rsa(on_cpu ? *one : *backend, w);
      say(fmt::format("{:.3g} proposals/s\n", r.proposals_per_second));
      nlohmann::json f = {{"figure", on_cpu ? "cpu_rsa_proposals_per_second_per_core"
                                            : "rsa_proposals_per_second"},
                          {"N", n},
                          {"P", static_cast<long>(std::lround(0.6 * n))},
                          {"instances", w.instances},
                          {"replicas", w.replicas},
                          {"sweeps", w.sweeps},
                          {"value", r.proposals_per_second},
                          {"unit", "proposals/s"},
                          {"acceptance", r.proposals ? double(r.accepted) / r.proposals : 0.0},
                          {"seconds", r.seconds},
                          {"kernel", r.kernel}};
      if (o->baseline) {
        say(fmt::format("plain loop N={} sweeps={} ... ", n, w.sweeps));
        const RsaThroughput b = measure_plain_loop(w);
        say(fmt::format("{:.3g} proposals/s\n", b.proposals_per_second));
        f["baseline"] = b.proposals_per_second;
        f["baseline_acceptance"] = b.proposals ? double(b.accepted) / b.proposals : 0.0;
        f["ratio"] = b.proposals_per_second > 0 ? r.proposals_per_second / b.proposals_per_second : 0.0;
        f["ratio_to"] = on_cpu ? "plain loop, one core" : "plain loop, one host core";
      }
      if (o->proposals_ceiling > 0) f["ratio_to_ceiling"] = r.proposals_per_second / o->proposals_ceiling;
      figures.push_back(f);
      if (on_cpu && w.instances == 1 && backend->concurrent_instances(w.replicas) > 1) {
        // A lone instance on every thread (speculative rounds, where the backend uses them for
        // this size), against one core.
        say(fmt::format("rsa N={} one instance, all threads ... ", n));
        const RsaThroughput all = measure_rsa(*backend, w);
        say(fmt::format("{:.3g} proposals/s ({})\n", all.proposals_per_second, all.kernel));
        if (all.kernel.find("rounds") != std::string::npos)  // else the one-core figure again
        figures.push_back({{"figure", "cpu_rsa_proposals_per_second_one_instance_all_threads"},
                           {"N", n},
                           {"instances", 1},
                           {"threads", backend->concurrent_instances(w.replicas)},
                           {"sweeps", w.sweeps},
                           {"value", all.proposals_per_second},
                           {"unit", "proposals/s"},
                           {"acceptance", all.proposals ? double(all.accepted) / all.proposals : 0.0},
                           {"kernel", all.kernel},
                           {"ratio_to", "the same instance on one core"},
                           {"ratio", all.proposals_per_second / r.proposals_per_second}});
      }
    }

    if (on_cpu && o->baseline) {
      // Scaling over instances: the same 4·T chains on one thread and on T threads.
      auto all = make_cpu_backend(o->threads);
      const std::size_t threads = all->concurrent_instances(7);
      RsaWorkload w;
      w.inputs = 1001;
      w.sweeps = scaled_sweeps(1001, o->sweeps_scale) / 3 + 1;
      w.instances = 4 * threads;  // enough chains per thread that their uneven speeds even out
      say(fmt::format("scaling N=1001 instances={} threads=1 vs {} ... ", w.instances, threads));
      auto one = make_cpu_backend(1);
      // Best of three runs each, alternating: other work on a shared machine only ever slows a
      // run down, and it hits the run that needs every core hardest.
      double single = 0, multi = 0;
      for (int repeat = 0; repeat < 3; ++repeat) {
        single = std::max(single, measure_rsa(*one, w).proposals_per_second);
        multi = std::max(multi, measure_rsa(*all, w).proposals_per_second);
      }
      const double speedup = multi / single;
      say(fmt::format("{:.2f}x\n", speedup));
      figures.push_back({{"figure", "cpu_scaling_over_instances"},
                         {"N", 1001},
                         {"instances", w.instances},
                         {"threads", threads},
                         {"value", speedup},
                         {"unit", "speedup"},
                         {"one_thread", single},
                         {"all_threads", multi},
                         {"runs", "best of 3 each"},
                         {"ratio_to", "ideal " + std::to_string(threads) + "x"},
                         {"ratio", speedup / double(threads)}});
    }
    const int dense = o->dense_size >= 0 ? o->dense_size : (on_cpu ? 2048 : 8192);
    if (dense > 0) {
      // Dense field + error evaluation, R = P = N: binary multiply-adds per second.
      say(fmt::format("dense fields R=P=N={} ... ", dense));
      const std::size_t s = static_cast<std::size_t>(dense);
      BitMatrix w(s, s), x(s, s);
      std::vector<std::int8_t> signs(s);
      for (std::size_t r = 0; r < s; ++r) {
        fill_random_bits(w.row(r), s, 11, Purpose::patterns, 0, static_cast<std::uint32_t>(r));
        fill_random_bits(x.row(r), s, 12, Purpose::patterns, 0, static_cast<std::uint32_t>(r));
      }
      double seconds = 0;
      int repeats = 0;
      std::unique_ptr<DenseFieldsGpu> gpu;
      if (!on_cpu) {
        const DenseKernel kernel = o->dense_kernel == "wmma"         ? DenseKernel::wmma
                                   : o->dense_kernel == "mma256"     ? DenseKernel::mma_256
                                   : o->dense_kernel == "mma-staged" ? DenseKernel::mma_staged
                                   : o->dense_kernel == "wgmma"      ? DenseKernel::wgmma
                                   : o->dense_kernel == "wgmma-cluster" ? DenseKernel::wgmma_cluster
                                   : o->dense_kernel == "mma"        ? DenseKernel::mma
                                                                     : DenseKernel::automatic;
        gpu = make_dense_fields_gpu(w, x, kernel);
        gpu->evaluate();  // warm-up
      }
      const auto t0 = std::chrono::steady_clock::now();
      while (repeats < 3 || seconds < 0.5) {
        if (gpu) gpu->evaluate();
        else dense_fields_cpu(w, x, o->threads);
        ++repeats;
        seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
      const double macs = double(s) * double(s) * double(s) * repeats / seconds;
      say(fmt::format("{:.3g} binary MAC/s\n", macs));
      nlohmann::json f = {{"figure", "dense_fields_binary_macs_per_second"},
                          {"N", dense},
                          {"replicas", dense},
                          {"patterns", dense},
                          {"value", macs},
                          {"unit", "binary multiply-adds/s"},
                          {"repeats", repeats},
                          {"path", gpu ? gpu->kernel_name() : std::string("cpu xor+popc")}};
      if (o->mac_ceiling > 0) {
        f["ratio_to"] = "--mac-ceiling";
        f["ratio"] = macs / o->mac_ceiling;
      }
      figures.push_back(f);
    }
    std::vector<int> fbp_sizes = o->fbp_sizes;
    if (fbp_sizes.empty()) fbp_sizes = on_cpu ? std::vector<int>{10001} : std::vector<int>{10001, 100001};
    for (int n : fbp_sizes) {
      if (n == 0) continue;
      // Focusing BP: seconds per synchronous BP iteration, perceptron, α = 0.7.
      FbpWorkload w;
      w.inputs = n;
      say(fmt::format("fbp N={} alpha={} ... ", n, w.alpha));
      const FbpThroughput r = measure_fbp(!on_cpu, w, o->threads);
      say(fmt::format("{:.3g} s per iteration\n", r.seconds_per_iteration));
      figures.push_back({{"figure", "fbp_seconds_per_iteration"},
                         {"N", n},
                         {"P", r.messages / static_cast<std::size_t>(n)},
                         {"alpha", w.alpha},
                         {"value", r.seconds_per_iteration},
                         {"unit", "s/iteration"},
                         {"iterations", r.iterations},
                         {"messages_per_second", r.messages_per_second},
                         {"schedule", "synchronous, damping 0.5, gamma inf, y 1"}});
    }
    const nlohmann::json j = {{"locent_version", kVersion},
                              {"date", utc_now()},
                              {"backend", backend->name()},
                              {"device", backend->device_name()},
                              {"workload", "storage, alpha 0.6, y 7, traced, beta 2, gamma 0.5"},
                              {"figures", figures}};
    write_stdout(j.dump(2) + "\n");
    return 0;
  };
}

}  // namespace locent::cli
