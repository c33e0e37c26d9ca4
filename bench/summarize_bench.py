"""One table cell from a `locent bench` JSON file: each figure's N, instances and value."""
import json
import sys

figures = json.load(open(sys.argv[1]))["figures"]
print("; ".join("%s N=%d B=%d: %.3g %s" % (f["figure"].split("_")[0], f["N"], f.get("instances", 1),
                                          f["value"], f["unit"]) for f in figures))
