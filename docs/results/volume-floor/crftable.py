"""CRF(P2) under the volume floor (report-crffloor; report-crfcal: the setting re-calibrated under
the floor) against CRF(P2) without it (report-crf) and
G(P2) under the floor (report-vf), per framing and phase, on the 45 held-out scans."""
import json, glob, os, statistics as st, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'heldout'
tags = ['vf', 'crf', 'crffloor', 'crfcal']
rows = []
for c in sorted(glob.glob(f'{root}/cohort-*/case_*') + glob.glob(f'{root}/h24/case_*')):
    man = json.load(open(os.path.join(os.path.dirname(c), 'cohort.json')))
    meta = {m['id']: m for m in man['cases']}[os.path.basename(c)]
    r = {t: json.load(open(f'{c}/report-{t}.json')) for t in tags}
    fr = meta['details']['realism'].get('framing', c.split('/')[-2])
    rows.append(dict(case=c, framing=fr, phase=meta['details']['realism']['phase'], truth=meta['pancreas_volume_ml'], r=r))
def agg(rs, label):
    cells = []
    for t in tags:
        d = [x['r'][t]['dsc'] for x in rs if x['truth'] > 0]
        fp = [x['r'][t]['pancreas_ml'] for x in rs if x['truth'] == 0]
        cells.append((f"{st.mean(d):.3f} ± {st.pstdev(d):.3f}" if d else '-') + (f" (max {max(fp):.1f} mL)" if fp else ''))
    print(f"| {label} | {len(rs)} | " + ' | '.join(cells) + ' |')
print('| set | n | G(P2), floor | CRF(P2) | CRF(P2), floor | CRF(P2), floor, recalibrated |\n|---|---|---|---|---|---|')
for key in ['framing', 'phase']:
    for v in sorted({x[key] for x in rows}):
        agg([x for x in rows if x[key] == v], v)
agg([x for x in rows if '/h24/' in x['case']], 'seed 4100 set')
agg(rows, '**all**')
w = [x for x in rows if x['truth'] > 0]
g = sum(x['r']['crffloor']['dsc'] > x['r']['vf']['dsc'] + 1e-9 for x in w); l = sum(x['r']['crffloor']['dsc'] < x['r']['vf']['dsc'] - 1e-9 for x in w)
print(f"\nCRF(P2) with the floor against G(P2) with the floor, per scan: {g} higher, {l} lower, {len(w)-g-l} equal")
pri = [x['r']['crffloor']['crf_prior'] for x in w]
print(f"CRF prior on scans with pancreas: {sum(p < 0.7 for p in pri)} of {len(pri)} lowered, mean {st.mean(pri):.3f}, min {min(pri):.3f}")
secs = {t: st.mean(x['r'][t]['total_seconds'] for x in rows) for t in ['vf', 'crffloor']}
print(f"mean seconds per scan: G(P2) {secs['vf']:.1f}, CRF(P2) floor {secs['crffloor']:.1f}")
