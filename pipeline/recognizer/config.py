"""Everything a training run is told, in one typed object."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class SourceSpec:
    kind: str  # lines | xml | gold | synthetic
    uri: str
    weight: float = 1.0


@dataclass
class TrainConfig:
    output: str
    sources: list[SourceSpec] = field(default_factory=list)
    val_sources: list[SourceSpec] = field(default_factory=list)
    val_share: float = 0.1  # of documents, when no validation source is given
    font_lines: int = 0  # font-rendered lines per epoch
    init_from: str | None = None  # hub id or folder; None = from scratch with `preset`
    preset: str = "small"
    steps: int = 20000
    max_minutes: float | None = None  # a leg's time budget: stop, evaluate and keep what it has
    batch_size: int = 16
    learning_rate: float = 1e-3
    warmup_steps: int = 300
    weight_decay: float = 0.01
    ctc_weight: float = 0.3  # auxiliary CTC on the encoder columns (models made here)
    eval_every: int = 400
    patience: int = 8  # evaluations without a better validation CER before stopping
    max_val_lines: int | None = None
    max_new_tokens: int = 160
    workers: int = 1
    gpus: int = 0
    threads: int | None = None  # torch threads per CPU worker (default: the machine's share)
    cpus_per_worker: float = 1.0  # Ray CPUs a worker reserves; what is left reads the data
    checkpoints: str | None = None  # Ray Train storage path: local folder or s3://; default OUTPUT/checkpoints
    run_name: str = "train"
    seed: int = 0
    min_coverage: float = 0.5  # below this share of training characters, --init-from is refused

    def worker_threads(self) -> int:
        """torch threads of one CPU worker: its share of the machine unless told."""
        import os

        return self.threads or max(1, (os.cpu_count() or 1) // max(1, self.workers))

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        data = dict(data)
        data["sources"] = [SourceSpec(**s) for s in data.get("sources", [])]
        data["val_sources"] = [SourceSpec(**s) for s in data.get("val_sources", [])]
        return cls(**data)
