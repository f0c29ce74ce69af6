#!/usr/bin/env python3
"""Mean ± std DSC (%) per Table-1 column of one or more `cv` fold results, side by side.

Usage: python3 training/bench/fold_compare.py OUT_A/fold_1/results.json [OUT_B/fold_1/results.json ...]

Reads the per-case DSC lists a fold writes (`results.json`, columns in Table 1's order) and
prints training and testing rows with the same statistics as Table 1 (population std), plus the
fold's calibrated operating points: a way to compare two configurations on one fold before all
four folds exist (docs/results/evaluation.md, commit de0d9ac).
"""
import json
import statistics as st
import sys

COLUMNS = ["Opt.", "S_RF", "P0", "G(P0)", "P1", "G(P1)", "P2", "G(P2)", "CRF(P2)"]


def main(paths):
    if not paths:
        sys.exit(__doc__)
    for path in paths:
        with open(path) as f:
            r = json.load(f)
        for split in ["train", "test"]:
            cases = [c for c in r["cases"] if c["split"] == split]
            if not cases:
                continue
            cells = []
            for k, name in enumerate(COLUMNS):
                v = [c["dsc"][k] * 100 for c in cases]
                cells.append("%s %.1f ± %.1f" % (name, st.mean(v), st.pstdev(v)))
            print("%s %s (%d): %s" % (path, split, len(cases), " | ".join(cells)))
        print("%s operating points %s, CRF weight %s, prior %s"
              % (path, r["operating_points"], r.get("crf_weight"), r.get("crf_prior", 0.5)))


if __name__ == "__main__":
    main(sys.argv[1:])
