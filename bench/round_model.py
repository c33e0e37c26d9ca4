#!/usr/bin/env python3
"""Proposals per round of the speculative rounds, from a model of the accept events.

Every round scheme gives the sequential chain's trajectory; they differ only in how many
proposals a round decides (what a GPU round's fixed cost is shared by) and in how many extra
cluster barriers a round needs. The model draws each proposal's acceptance independently with
probability p (y replicas, one site a step) and replays the schemes on the same events:

  global   today's rounds (include/locent/metropolis_rounds.hpp): all replicas from one position,
           stopped at the first proposal of a replica whose counts went stale; `parts` more parts
           a round with the second-order terms of the replicas that moved (LOCENT_ROUNDS_LONGER).
  frontier a design not yet built (bench/NOTES.md): each replica at its own position, counting k
           steps of its own; replica a may decide step j once every replica before it has
           (their decisions at j change a's coupling), so the positions never increase with a,
           and replica 0 stays within `lead` steps of the last; same `parts` as above.

The global figures agree with the CPU twin's (BM_RoundLengthBySweep) to within 6 %. Usage:
  bench/round_model.py [--y 7] [--k 16 32] [--p 0.095 0.041 0.023]
"""
import argparse
import random


def events(p, y, steps, seed):
    r = random.Random(seed)
    return [[r.random() < p for _ in range(y)] for _ in range(steps)]


def global_rounds(ev, y, k, parts):
    n, s, a0, rounds, props = len(ev), 0, 0, 0, 0
    while s < n:
        rounds += 1
        moves, known = [0] * y, [False] * y
        end, pos, part = min(n, s + k), (s, a0), 0
        while True:
            stop = None
            j0, b0 = pos
            for j in range(j0, end):
                for a in range(b0 if j == j0 else 0, y):
                    if moves[a] >= (2 if known[a] else 1):
                        stop = (j, a)
                        break
                    props += 1
                    moves[a] += ev[j][a]
                if stop:
                    break
            if not stop:
                s, a0 = end, 0
                break
            j, a = stop
            if part < parts and moves[a] == 1 and not known[a]:
                known = [known[b] or moves[b] == 1 for b in range(y)]
                part, pos = part + 1, stop
                continue
            s, a0 = stop
            break
    return props / rounds


def frontier_rounds(ev, y, k, lead, parts):
    n, f, rounds, props, extra = len(ev), [0] * y, 0, 0, 0
    while min(f) < n:
        rounds += 1
        moves, known, start = [0] * y, [False] * y, f[:]
        for part in range(parts + 1):
            if part > 0:
                if not any(moves[a] == 1 and not known[a] for a in range(y)):
                    break
                extra += 1
                known = [known[a] or moves[a] == 1 for a in range(y)]
            for a in range(y):
                bound = min(n, start[a] + k, f[a - 1] if a > 0 else f[y - 1] + lead)
                j = f[a]
                while j < bound and moves[a] < (2 if known[a] else 1):
                    props += 1
                    moves[a] += ev[j][a]
                    j += 1
                f[a] = j
    return props / rounds, extra / rounds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--y", type=int, default=7)
    ap.add_argument("--k", type=int, nargs="+", default=[16, 32])
    ap.add_argument("--p", type=float, nargs="+", default=[0.27, 0.095, 0.041, 0.023])
    ap.add_argument("--steps", type=int, default=20000)
    args = ap.parse_args()
    print("p\tk\tglobal 0/1/2 parts\tfrontier 0/1/2 parts (extra barriers a round)")
    for p in args.p:
        ev = events(p, args.y, args.steps, 1)
        for k in args.k:
            g = [global_rounds(ev, args.y, k, parts) for parts in (0, 1, 2)]
            fr = [frontier_rounds(ev, args.y, k, 2 * k, parts) for parts in (0, 1, 2)]
            print(f"{p}\t{k}\t" + " / ".join(f"{x:.1f}" for x in g) + "\t" +
                  " / ".join(f"{x:.1f} ({b:.2f})" for x, b in fr))


if __name__ == "__main__":
    main()
