"""The PNG of a run: arrivals, backlog, tasks and p95 queue wait over time (matplotlib, no display)."""

from __future__ import annotations

from pathlib import Path

from traffic_tool.capacity.sim_records import SimResult


def plot_run(result: SimResult, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s.t / 60 for s in result.samples]
    fig, axes = plt.subplots(4, 1, figsize=(8, 7), sharex=True, dpi=80)
    series = [
        ("arrivals/min", [s.arrivals_per_min for s in result.samples], "tab:blue"),
        ("backlog", [s.backlog for s in result.samples], "tab:orange"),
        ("tasks", [s.tasks for s in result.samples], "tab:green"),
        ("p95 wait (s)", [s.p95_wait_s or 0.0 for s in result.samples], "tab:red"),
    ]
    for ax, (label, values, colour) in zip(axes, series, strict=True):
        ax.plot(minutes, values, color=colour, linewidth=1.2, drawstyle="steps-post")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[2].plot(
        minutes,
        [s.desired for s in result.samples],
        color="grey",
        linewidth=0.8,
        linestyle="--",
        drawstyle="steps-post",
        label="desired",
    )
    axes[2].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("minutes")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
