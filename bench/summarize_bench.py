"""One table cell from a `locent bench` JSON file: each figure's N, instances, value and kernel."""
import json
import sys

try:
    figures = json.load(open(sys.argv[1]))["figures"]
except (OSError, ValueError, KeyError):
    print("no figures (the command failed: see device-check.log)")
    sys.exit(0)


def cell(f):
    text = "%s N=%d B=%d: %.3g %s" % (f["figure"].split("_")[0], f["N"], f.get("instances", 1),
                                      f["value"], f["unit"])
    if "acceptance" in f:
        text += " acc=%.3f" % f["acceptance"]
    if f.get("kernel"):
        parts = f["kernel"].split(",")
        # the kernel and its shape, then the member pipeline's options (reads, move, blocks)
        options = [p for p in parts[2:]
                   if "a lane" in p or "plane by plane" in p or "a block" in p or "step order" in p]
        text += " [%s]" % ",".join(parts[:2] + options)
    return text


print("; ".join(cell(f) for f in figures))
