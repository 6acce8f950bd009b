"""Plots of the tuning studies: reads the CSV a tuning/<study>.sh wrote and
writes its PNGs beside it. Run by the studies as
/usr/bin/python3 tuning/plot.py STUDY CSV OUTDIR (Debian's matplotlib)."""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (the backend is chosen first)


def rows_of(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(row, key):
    v = row.get(key, "")
    return float(v) if v not in ("", None) else float("nan")


def load_note(rows):
    loads = [num(r, "load1") for r in rows if r.get("load1")]
    return f"load average {min(loads):.1f}-{max(loads):.1f}" if loads else ""


def save(fig, outdir, name, rows):
    fig.text(0.01, 0.005, load_note(rows), fontsize=7, color="gray")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(os.path.join(outdir, name), dpi=90)
    plt.close(fig)


def heat(ax, fig, matrix, xlabels, ylabels, title, fmt):
    im = ax.imshow(matrix, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(xlabels)), xlabels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(ylabels)), ylabels, fontsize=8)
    for i, line in enumerate(matrix):
        for j, v in enumerate(line):
            if v == v:
                ax.text(j, i, fmt % v, ha="center", va="center", fontsize=7, color="white")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax)


def plot_layout(rows, outdir):
    layouts = sorted({(int(r["network_threads"]), int(r["io_threads"])) for r in rows})
    cells = sorted({(int(r["connections"]), int(r["partitions"])) for r in rows})
    index = {(int(r["network_threads"]), int(r["io_threads"]), int(r["connections"]),
              int(r["partitions"])): r for r in rows}
    ylabels = [f"net {n} × io {i}" for n, i in layouts]
    xlabels = [f"{c} conn × {p} part" for c, p in cells]
    for key, name, title, fmt in (("mb_per_s", "layout_throughput.png", "produce MB/s (raw, 1 KiB, acks=1)", "%.0f"),
                                  ("p99_us", "layout_p99.png", "Produce request p99 (ms) at saturation", "%.1f")):
        scale = 1000.0 if key == "p99_us" else 1.0
        matrix = [[num(index[(n, i, c, p)], key) / scale if (n, i, c, p) in index else float("nan")
                   for c, p in cells] for n, i in layouts]
        fig, ax = plt.subplots(figsize=(max(6, len(cells) * 0.9 + 3), len(layouts) * 0.6 + 2.5))
        heat(ax, fig, matrix, xlabels, ylabels, title, fmt)
        save(fig, outdir, name, rows)


def plot_batching(rows, outdir):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for acks, style in (("1", "-"), ("all", "--")):
        for batch in sorted({int(r["batch_bytes"]) for r in rows}):
            sel = sorted((r for r in rows if r["acks"] == acks and int(r["batch_bytes"]) == batch),
                         key=lambda r: int(r["linger_ms"]))
            x = [int(r["linger_ms"]) for r in sel]
            label = f"batch {batch // 1024} KiB, acks={acks}"
            axes[0].plot(x, [num(r, "mb_per_s") for r in sel], style, marker="o", label=label)
            axes[1].plot(x, [num(r, "rate_p50_us") / 1000 for r in sel], style, marker="o", label=label)
            axes[2].plot(x, [num(r, "rate_p99_us") / 1000 for r in sel], style, marker="o", label=label)
    rate = rows[0].get("fixed_rate", "") if rows else ""
    for ax, title in zip(axes, ("throughput at saturation (MB/s)", f"delivery p50 at {rate} msg/s (ms)",
                                f"delivery p99 at {rate} msg/s (ms)")):
        ax.set_xlabel("linger.ms")
        ax.set_xscale("symlog", linthresh=1)
        ax.set_title(title, fontsize=10)
    axes[2].set_yscale("log")
    axes[0].legend(fontsize=7)
    save(fig, outdir, "batching.png", rows)


def plot_compression(rows, outdir):
    codecs = [r["codec"] if r.get("stored_codec") in (r["codec"], None, "") else
              f"{r['codec']}\n(sent as {r['stored_codec']})" for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, key, title in ((axes[0], "mb_per_s", "produce throughput (MB/s of values)"),
                           (axes[1], "broker_cpu_s_per_gb", "broker CPU s per GB of values"),
                           (axes[2], "disk_bytes_per_value_byte", "bytes on disk per value byte")):
        ax.bar(codecs, [num(r, key) for r in rows], color="tab:blue")
        ax.tick_params(axis="x", labelsize=7)
        ax.set_title(title, fontsize=10)
    save(fig, outdir, "compression.png", rows)


def plot_durability(rows, outdir):
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for policy in sorted({r["policy"] for r in rows}):
        sel = sorted((r for r in rows if r["policy"] == policy), key=lambda r: int(r["producers"]))
        x = [int(r["producers"]) for r in sel]
        axes[0].plot(x, [num(r, "mb_per_s") for r in sel], marker="o", label=policy)
        axes[1].plot(x, [num(r, "p99_us") / 1000 for r in sel], marker="o", label=policy)
    for ax, title in zip(axes, ("throughput, acks=all (MB/s)", "ack p99 (ms)")):
        ax.set_xlabel("producers (connections)")
        ax.set_xscale("log", base=2)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    axes[1].set_yscale("log")
    save(fig, outdir, "durability.png", rows)


def plot_latency_rate(rows, outdir):
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), sharey=True)
    for ax, kind in zip(axes, ("e2e", "ack")):
        for color, layout in zip(("tab:blue", "tab:orange", "tab:green", "tab:red"),
                                 sorted({r["layout"] for r in rows})):
            sel = sorted((r for r in rows if r["layout"] == layout),
                         key=lambda r: num(r, "rate_target_msgs_per_s"))
            for pct, style in (("p50", ":"), ("p99", "-"), ("p99_9", "--")):
                ax.plot([num(r, "rate_target_msgs_per_s") for r in sel],
                        [num(r, f"{kind}_{pct}_us") / 1000 for r in sel], style, marker="o",
                        color=color, label=f"{layout} {pct.replace('_', '.')}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("target rate (msg/s, 1 KiB)")
        ax.set_title("end to end (intended send -> consumer)" if kind == "e2e" else
                     "produce ack (intended send -> delivery report)", fontsize=10)
    axes[0].set_ylabel("latency (ms)")
    axes[0].legend(fontsize=7)
    rows = [dict(r, load1=r.get("load_average_1m", "")) for r in rows]
    save(fig, outdir, "latency_rate.png", rows)


PLOTS = {"layout": plot_layout, "batching": plot_batching, "compression": plot_compression,
         "durability": plot_durability, "latency_rate": plot_latency_rate}

if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in PLOTS:
        sys.exit(f"usage: plot.py {{{','.join(PLOTS)}}} CSV OUTDIR")
    PLOTS[sys.argv[1]](rows_of(sys.argv[2]), sys.argv[3])
