"""Summarises the JSON lines of Tools/bench/run: median over every sample of every round, per engine,
and the speed ratio Swift/PyTorch (= PyTorch time / Swift time; above 1 means Swift is faster)."""
import json
import statistics
import sys

rows, info = {}, []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    if "bench" not in r:
        info.append(r)
        continue
    rows.setdefault((r["bench"], r["name"]), {}).setdefault(r["engine"], []).extend(r["samples_ms"])

for r in info:
    print("# " + ", ".join(f"{k}={v}" for k, v in sorted(r.items())))
print(f"| benchmark | Swift median ms | PyTorch median ms | speed ratio Swift/PyTorch |")
print(f"|---|---:|---:|---:|")
for (bench, name), engines in rows.items():
    s = statistics.median(engines["swift"]) if "swift" in engines else None
    t = statistics.median(engines["torch"]) if "torch" in engines else None
    ratio = f"{t / s:.2f}×" if s and t else "–"
    fmt = lambda v: f"{v:.1f}" if v is not None else "–"
    print(f"| {bench}: {name} | {fmt(s)} | {fmt(t)} | {ratio} |")
