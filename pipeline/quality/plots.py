"""The CER-against-confidence scatter of an evaluation."""

from __future__ import annotations

from pathlib import Path

from pipeline.quality.scored import BAD_PAGE_CER, Scored


def plot_cer_vs_confidence(path: Path, scored: list[Scored]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for category in sorted({s.item.category for s in scored}):
        pts = [(s.confidence, min(s.cer, 1.0)) for s in scored if s.item.category == category and s.confidence is not None]
        if pts:
            ax.scatter(*zip(*pts), label=category, alpha=0.7, s=18)
    ax.axhline(BAD_PAGE_CER, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("page confidence")
    ax.set_ylabel("CER (clipped at 1)")
    ax.set_yscale("symlog", linthresh=0.01)
    ax.legend(fontsize=8)
    ax.set_title("CER against confidence")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
