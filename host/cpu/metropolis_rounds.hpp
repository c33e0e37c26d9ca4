// CPU twin of kernels/metropolis_rounds.cu: the perceptron chain advanced in speculative rounds
// (include/locent/metropolis_rounds.hpp). It follows the sequential chain of
// host/cpu/metropolis.cpp bit for bit, whatever the round length and the team. The CPU backend
// runs a lone large instance this way on all its threads (a round's work splits into pieces of
// microseconds); the tests run it against the sequential chain, for the logic the kernel shares.
#pragma once
#include <cstdint>
#include <vector>

#include "host/cpu/boundary_sets.hpp"
#include "host/cpu/metropolis.hpp"
#include "host/cpu/worker_team.hpp"
#include "locent/metropolis_rounds.hpp"

namespace locent::cpu {

// As run_metropolis_chunk, perceptrons only, `round_steps` (1..kMaxRoundSteps) steps per round,
// decided by decide_round_masked where a round has at most kMaxMaskedProposals proposals and
// `masked` is set, else by decide_round (the two must agree: tests run both). With a `team`, each
// round's counts and moves are shared among its members. `extensions` > 0: the longer rounds, in
// which a replica may move twice; after the plain decisions, up to that many parts, each with the
// second-order terms of the replicas that moved so far (continue_round; the terms from bit sets
// as the kernel takes them). `rounds`, when given, counts the rounds in rounds[0] and, with
// extensions, the parts after the plain decisions in rounds[1].
void run_metropolis_rounds(ChainState& chain, const ChainData& data, const ThresholdTables& tables,
                           const ChunkOptions& options, int round_steps, bool masked,
                           std::vector<std::vector<std::int64_t>>& trace,
                           WorkerTeam* team = nullptr, int extensions = 0,
                           std::uint64_t* rounds = nullptr);

// Sweep s of `tables` alone (the sweep that the frontier rounds and the pipeline take again in
// the plain rounds after a solve mid-sweep).
ThresholdTables sweep_tables(const ThresholdTables& tables, std::size_t s);

// Step `position` of sweep `sweep` as both twins of the rounds read it at a round's start: its
// Philox words into `random` (`groups` blocks), its site and the members' weights there into
// `step`, and every replica's |A ∩ col| and |B ∩ col| into hits_a[y], hits_b[y].
void read_round_step(const ChainState& chain, const ChainData& data, std::uint64_t sweep,
                     int position, int groups, std::uint32_t* random, RoundStep& step,
                     int* hits_a, int* hits_b);

// A round's moves, as both twins of the rounds apply them: the replica flips in order (each
// team member takes a run of whole 64-pattern words; a replica's two flips in the longer rounds
// add up, flips of different replicas touch different stabilities), then their weights, site
// sums, set sizes and errors, then the explicit centre's flips. flip_sites[f] and
// centre_sites[f] are the flips' sites; `moved` is scratch.
void apply_round_moves(ChainState& chain, const ChainData& data, const RoundFlip* flips,
                       const int* flip_sites, int flip_count, const int* centre_sites,
                       int centre_count, WorkerTeam& team, std::vector<FlipCounts>& moved);

}  // namespace locent::cpu
