#!/usr/bin/env python3
"""Plots of a locent sweep: success probability vs alpha and median sweeps to solution vs N.

Run by `locent report RESULTS --plot OUT.png`, which installs this script beside the binary;
by hand: `locent report RESULTS --json > summary.json && python3 locent_plot.py summary.json OUT.png`.
"""
import json
import sys


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: locent_plot.py SUMMARY.json OUT.png\n")
        return 2
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.stderr.write(
            "locent_plot.py: matplotlib is not installed for %s; install it (Debian: "
            "python3-matplotlib) or set LOCENT_PYTHON to a Python that has it\n" % sys.executable)
        return 3
    with open(argv[1]) as f:
        rows = json.load(f)["rows"]
    if not rows:
        sys.stderr.write("locent_plot.py: nothing to plot\n")
        return 1

    solvers = list(dict.fromkeys(r["solver"] for r in rows))
    sizes = sorted({r["N"] for r in rows})
    alphas = sorted({r["alpha"] for r in rows})
    n_colour = {n: plt.cm.viridis(i / max(1, len(sizes) - 1) * 0.85) for i, n in enumerate(sizes)}
    a_colour = {a: plt.cm.plasma(i / max(1, len(alphas) - 1) * 0.85) for i, a in enumerate(alphas)}

    fig, axes = plt.subplots(2, len(solvers), figsize=(5.2 * len(solvers), 8.4), squeeze=False,
                             sharey="row")
    for col, solver in enumerate(solvers):
        mine = [r for r in rows if r["solver"] == solver]
        settings = mine[0]["settings"]
        if settings["algo"] == "fbp":  # focusing BP: its protocol, and sweeps are BP iterations
            budget = "fbp, %s" % settings["protocol"]
        else:
            budget = "%s, y = %d, %d sweeps" % (settings["algo"], settings["replicas"],
                                                settings["max_sweeps"])

        ax = axes[0][col]
        # Curves of different N share the α grid: shift them a little so the error bars stay apart.
        spacing = min((b - a for a, b in zip(alphas, alphas[1:])), default=0.1)
        for i, n in enumerate(sizes):
            pts = sorted((r for r in mine if r["N"] == n), key=lambda r: r["alpha"])
            if not pts:
                continue
            shift = (i - (len(sizes) - 1) / 2) * 0.2 * spacing / max(1, len(sizes) - 1)
            x = [r["alpha"] + shift for r in pts]
            p = [r["success"] for r in pts]
            err = [[r["success"] - r["success_ci95"][0] for r in pts],
                   [r["success_ci95"][1] - r["success"] for r in pts]]
            ax.errorbar(x, p, yerr=err, marker="o", ms=4, capsize=3, color=n_colour[n],
                        label="N = %d" % n)
        ax.set_title("%s (%s)" % (solver, budget))
        ax.set_xlabel("α = P / N")
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
        if col == 0:
            ax.set_ylabel("success probability (95% Wilson interval)")
        ax.legend(fontsize=8, loc="lower left")

        ax = axes[1][col]
        if len(sizes) == 1:
            # One size: the cost against α, which a plot against N could not show.
            pts = sorted((r for r in mine if r["sweeps_to_solution"]), key=lambda r: r["alpha"])
            x = [r["alpha"] for r in pts]
            y = [r["sweeps_to_solution"]["median"] for r in pts]
            lo = [r["sweeps_to_solution"]["median"] - r["sweeps_to_solution"]["q1"] for r in pts]
            hi = [r["sweeps_to_solution"]["q3"] - r["sweeps_to_solution"]["median"] for r in pts]
            colour = n_colour[sizes[0]]
            ax.errorbar(x, y, yerr=[lo, hi], fmt="-", lw=1, capsize=3, color=colour,
                        label="N = %d, median and quartiles" % sizes[0])
            for xi, yi, r in zip(x, y, pts):
                ax.plot([xi], [yi], "o", ms=5, color=colour,
                        mfc=colour if r["success"] >= 0.5 else "none")
            ax.set_yscale("log")
            ax.set_xlabel("α = P / N")
            ax.grid(alpha=0.3, which="both")
            if col == 0:
                ax.set_ylabel("sweeps to solution (solved runs; fBP: BP iterations)")
            ax.legend(fontsize=7, title="hollow: success < 1/2", title_fontsize=7)
            continue
        for a in alphas:
            pts = sorted((r for r in mine if r["alpha"] == a and r["sweeps_to_solution"]),
                         key=lambda r: r["N"])
            if not pts:
                continue
            x = [r["N"] for r in pts]
            y = [r["sweeps_to_solution"]["median"] for r in pts]
            ax.plot(x, y, "-", color=a_colour[a], lw=1, label="α = %g" % a)
            # Few successes make the median of the solved runs optimistic: show them hollow.
            for xi, yi, r in zip(x, y, pts):
                ax.plot([xi], [yi], "o", ms=5, color=a_colour[a],
                        mfc=a_colour[a] if r["success"] >= 0.5 else "none")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(n) for n in sizes])
        ax.minorticks_off()
        ax.set_xlabel("N")
        ax.grid(alpha=0.3, which="both")
        if col == 0:
            ax.set_ylabel("median sweeps to solution (solved runs; fBP: BP iterations)")
        ax.legend(fontsize=7, ncol=2, title="hollow: success < 1/2", title_fontsize=7)

    fig.tight_layout()
    fig.savefig(argv[2], dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
