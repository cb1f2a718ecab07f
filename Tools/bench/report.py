"""Summarises the JSON lines of Tools/bench/run: median over every sample of every round, per engine,
and the speed ratio Swift/PyTorch (= PyTorch time / Swift time; above 1 means Swift is faster).
Peak resident memory (when reported) is the largest seen for that benchmark's process.
`convalgo` rows (Swift only) get a table of their own: per convolution and pass, the median over rounds
of each algorithm's time and the kernel oneDNN ran."""
import json
import statistics
import sys

rows, info, algo = {}, [], {}
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    r = json.loads(line)
    if "bench" not in r:
        info.append(r)
        continue
    if r["bench"] == "convalgo":
        algo.setdefault((r["model"], r["shape"], r["pass"]), []).append(r)
        continue
    entry = rows.setdefault((r["bench"], r["name"]), {}).setdefault(r["engine"], {"samples": [], "rss": 0.0})
    entry["samples"].extend(r["samples_ms"])
    entry["rss"] = max(entry["rss"], r.get("peak_rss_mb", 0.0))

for r in info:
    print("# " + ", ".join(f"{k}={v}" for k, v in sorted(r.items())))
print("| benchmark | Swift median ms | PyTorch median ms | speed ratio Swift/PyTorch | peak RSS MiB Swift / PyTorch |")
print("|---|---:|---:|---:|---:|")
fmt = lambda v: f"{v:.1f}" if v is not None else "–"
for (bench, name), engines in rows.items():
    s = statistics.median(engines["swift"]["samples"]) if "swift" in engines else None
    t = statistics.median(engines["torch"]["samples"]) if "torch" in engines else None
    ratio = f"{t / s:.2f}×" if s and t else "–"
    rss = [engines.get(e, {}).get("rss", 0.0) for e in ("swift", "torch")]
    mem = f"{rss[0]:.0f} / {rss[1]:.0f}" if all(rss) else "–"
    print(f"| {bench}: {name} | {fmt(s)} | {fmt(t)} | {ratio} | {mem} |")

if algo:
    names = ["direct", "auto", "measured", "rule"]
    print()
    print("| model | convolution | pass | layers | " + " | ".join(f"{n} ms" for n in names) + " | kernel: auto / measured / rule |")
    print("|---|---|---|---:|" + "---:|" * len(names) + "---|")
    for (model, shape, pass_), runs in algo.items():
        cells = [f"{statistics.median(r[n + '_ms'] for r in runs):.2f}" for n in names]
        kernels = " / ".join(runs[-1].get(f"{n}_impl", "") for n in ("auto", "measured", "rule")) if pass_ != "all" else ""
        print(f"| {model} | {shape} | {pass_} | {runs[-1].get('layers', '')} | " + " | ".join(cells) + f" | {kernels} |")
