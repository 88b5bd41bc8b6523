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
    lp = [r["prefill"] for r in llama_runs]
    ld = [r["decode"] for r in llama_runs]
    med = statistics.median
    summary = {
        "model": strata_runs[0]["model"],
        "threads": strata_runs[0]["threads"],
        "runs": len(strata_runs),
        "llamacpp_version": llama_runs[0]["version"],
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
