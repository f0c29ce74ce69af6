import glob, json, os, sys, statistics as st
tags = sys.argv[1:]
rows = []
for d in sorted(glob.glob("*/case_*")):
    cohort, case = d.split("/")
    man = json.load(open(f"{cohort}/cohort.json"))
    c = [c for c in man["cases"] if c["id"] == case][0]
    row = dict(case=d, set=cohort, phase=c["details"]["realism"]["phase"], truth=c["pancreas_volume_ml"])
    for t in tags:
        f = f"{d}/report-{t}.json"
        if not os.path.exists(f):
            break
        r = json.load(open(f))
        row[t] = (r.get("dsc"), r["pancreas_ml"], r["field_of_view"])
    else:
        rows.append(row)
def cell(rs, t):
    w = [r[t][0] for r in rs if r["truth"] > 0]
    wo = [r[t][1] for r in rs if r["truth"] == 0]
    s = f"{st.mean(w):.3f} ± {st.pstdev(w):.3f}" if w else "-"
    if wo:
        s += f" / max {max(wo):.1f} mL"
    return s
groups = {}
for r in rows:
    groups.setdefault(r["set"].replace("cohort-", ""), []).append(r)
for r in rows:
    groups.setdefault(r["phase"], []).append(r)
print(f"{len(rows)} cases")
print("| set | n | " + " | ".join(tags) + " |")
print("|---|---|" + "---|" * len(tags))
for g in sorted(groups):
    print(f"| {g} | {len(groups[g])} | " + " | ".join(cell(groups[g], t) for t in tags) + " |")
print(f"| **all** | {len(rows)} | " + " | ".join(cell(rows, t) for t in tags) + " |")
with open("cases-" + "-".join(tags) + ".csv", "w") as f:
    f.write("case,phase,truth_ml," + ",".join(f"{t} (dsc/painted mL/verdict)" for t in tags) + "\n")
    for r in rows:
        f.write(f"{r['case']},{r['phase']},{r['truth']:.1f}," + ",".join(
            f"{'' if r[t][0] is None else round(r[t][0], 3)}/{r[t][1]:.1f}/{r[t][2]}" for t in tags) + "\n")
