"""Collects interleaved Strata and llama.cpp runs into a ratio table and a PNG plot.

Usage (from scripts/bench-vs-llamacpp): compare.py OUT_DIR  — reads OUT_DIR/strata-*.json and
OUT_DIR/llamacpp-*.json, writes OUT_DIR/summary.json and OUT_DIR/bench-vs-llamacpp.png, and prints
the table.
"""
import glob
import json
import os
import statistics
import sys


def main() -> None:
    out = sys.argv[1]
    strata_runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, "strata-*.json")))]
    llama_runs = [json.loads(open(p).read()) for p in sorted(glob.glob(os.path.join(out, "llamacpp-*.json")))]
    exits = [r["exit"] for r in strata_runs[0]["results"]]
    per_exit = {k: {"prefill": [], "decode": []} for k in exits}
    for run in strata_runs:
        for r in run["results"]:
            per_exit[r["exit"]]["prefill"] += r["prefillTokensPerSecond"]["samples"]
            per_exit[r["exit"]]["decode"] += r["decodeTokensPerSecond"]["samples"]
    weight_bytes = {r["exit"]: r["weightBytesPerToken"] for r in strata_runs[0]["results"]}
    read_bw = statistics.median(run["memoryBandwidth"]["readBytesPerSecond"] for run in strata_runs)
    copy_bw = statistics.median(run["memoryBandwidth"]["copyBytesPerSecond"] for run in strata_runs)
    lp = [r["prefill"] for r in llama_runs]
    ld = [r["decode"] for r in llama_runs]
    med = statistics.median
    summary = {
        "model": strata_runs[0]["model"],
        "threads": strata_runs[0]["threads"],
        "runs": len(strata_runs),
        "llamacpp_version": llama_runs[0]["version"],
        "read_bandwidth_bytes_per_s": read_bw,
        "copy_bandwidth_bytes_per_s": copy_bw,
        "llamacpp": {"prefill": med(lp), "decode": med(ld), "prefill_samples": lp, "decode_samples": ld},
        "strata": {str(k): {"prefill": med(v["prefill"]), "decode": med(v["decode"]),
                            "prefill_samples": v["prefill"], "decode_samples": v["decode"]}
                   for k, v in per_exit.items()},
    }
    json.dump(summary, open(os.path.join(out, "summary.json"), "w"), indent=1)

    print(f"model {summary['model']}, {summary['threads']} threads, {summary['runs']} interleaved runs, "
          f"llama.cpp {summary['llamacpp_version']} (medians)")
    print(f"{'engine':<18}{'prefill tok/s':>14}{'ratio':>8}{'decode tok/s':>14}{'ratio':>8}")
    print(f"{'llama.cpp (full)':<18}{med(lp):>14.1f}{1:>8.2f}{med(ld):>14.1f}{1:>8.2f}")
    for k in exits:
        p, d = med(per_exit[k]["prefill"]), med(per_exit[k]["decode"])
        print(f"{'strata exit ' + str(k):<18}{p:>14.1f}{p / med(lp):>8.2f}{d:>14.1f}{d / med(ld):>8.2f}")

    # Decode streams every weight once per token: bytes/token x tokens/s against what the same
    # threads can read; and each exit's step time against its share of the full step's bytes.
    full = max(exits)
    print(f"memory bandwidth with {summary['threads']} threads: read {read_bw / 1e9:.1f} GB/s, "
          f"copy {copy_bw / 1e9:.1f} GB/s (read + written; medians over runs)")
    print(f"{'exit':<6}{'weights/token':>15}{'weight GB/s':>13}{'of read':>9}{'step vs full':>14}{'ideal':>8}")
    for k in exits:
        d = med(per_exit[k]["decode"])
        stream = d * weight_bytes[k]
        step = med(per_exit[full]["decode"]) / d
        ideal = weight_bytes[k] / weight_bytes[full]
        print(f"{k:<6}{weight_bytes[k] / 1e6:>12.1f} MB{stream / 1e9:>13.1f}{stream / read_bw:>9.0%}{step:>14.3f}{ideal:>8.3f}")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib missing: no plot)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((axes[0], "decode", "decode tokens/s"), (axes[1], "prefill", "prefill tokens/s")):
        ys = [med(per_exit[k][key]) for k in exits]
        lo = [min(per_exit[k][key]) for k in exits]
        hi = [max(per_exit[k][key]) for k in exits]
        ax.errorbar(exits, ys, yerr=[[y - l for y, l in zip(ys, lo)], [h - y for y, h in zip(ys, hi)]],
                    marker="o", capsize=3, label="Strata, per exit")
        ax.axhline(med(ld if key == "decode" else lp), color="tab:red", linestyle="--",
                   label="llama.cpp, full depth")
        ax.set_xlabel("exit layer")
        ax.set_title(title)
        ax.set_ylim(bottom=0)
        ax.legend()
    fig.suptitle(f"{os.path.basename(summary['model'])}, {summary['threads']} threads")
    fig.tight_layout()
    path = os.path.join(out, "bench-vs-llamacpp.png")
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")


if __name__ == "__main__":
    main()
