"""`msmesh train hmr|thmmr`: train the regressors on run folders (multi-shot pseudo-ground truth).

Without ``--config`` it fine-tunes: ``--init`` weights, else the shipped msmesh weights. msmesh's own
keypoint models fine-tune on the run folders' tracks (no frames decoded) with
``msmesh.regress.train_keypoints``; image models (the authors' checkpoints, or ``--config`` with image
settings) train on decoded crops with ``msmesh.regress.train``.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from msmesh.device import resolve_device
from msmesh.errors import InputError
from msmesh.regress import hub
from msmesh.regress.hmr import RegressorConfig
from msmesh.regress.samples import load_runs
from msmesh.regress.train import TrainOptions, train_hmr, train_thmmr


class ModelKind(str, Enum):
    hmr = "hmr"
    thmmr = "thmmr"


def _body_model(name: str):
    from msmesh.body import load_body_model

    return load_body_model(name)


def _config(kind: str, path: Path | None, base: RegressorConfig | None) -> RegressorConfig:
    values: dict = {}
    if base is not None:  # t-HMMR inherits the image side of its HMR
        values.update({k: getattr(base, k) for k in ("layers", "width", "image_size", "focal", "pool", "hidden",
                                                      "n_iter", "dropout")})
    if path is not None:
        try:
            values.update(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError, RecursionError) as exc:
            raise InputError(f"--config {path}: cannot read JSON ({exc})") from exc
    values["kind"] = kind
    try:
        return RegressorConfig.from_dict(values)
    except (TypeError, ValueError) as exc:
        raise InputError(f"--config {path}: {exc}") from exc


def _finetune_keypoints(kind: str, data: list[Path], out: Path, hmr, bm, steps: int, batch_size: int,  # noqa: ANN001
                        lr: float, console: Console) -> None:
    """Fine-tune a keypoint HMR (or the shipped t-HMMR on ``hmr``'s features) on run-folder pseudo-GT."""
    from msmesh.regress.train_keypoints import KeypointTrainOptions, run_folder_set, train_temporal
    from msmesh.regress.train_keypoints import train_hmr as kp_hmr

    dataset = run_folder_set(data)
    console.print(f"{int(dataset.present.sum())} person frames in {len(dataset)} sequences")
    opts = KeypointTrainOptions(steps=steps, batch_size=batch_size, lr=lr)
    log = console.print
    if kind == "hmr":
        model: Any
        model, _ = kp_hmr(dataset, bm, opts=opts, init=hmr, log=log)
    else:
        thmmr: Any = hub.load_regressor(None, temporal=True)
        model, _ = train_temporal(dataset, bm, hmr, opts=opts, init=thmmr, log=log)
    model.config.extra = {**model.config.extra, "fine_tuned_on": [str(d) for d in data], "fine_tune_steps": steps}
    hub.save_regressor(model, out)
    console.print(f"weights: {out / hub.WEIGHTS_FILE}")


def command(
    model: Annotated[ModelKind, typer.Argument(help="hmr (per frame) or thmmr (temporal, on frozen HMR features).")],
    data: Annotated[list[Path], typer.Option("--data", help="A run folder made by `msmesh reconstruct` (repeat "
                                                            "--data for several).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: model.safetensors, config.json, "
                                                          "train_state.pt.")],
    steps: Annotated[int, typer.Option("--steps", min=1, help="Optimisation steps.")] = 2000,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Crops (hmr) or 13-frame windows (thmmr) "
                                                                        "per step.")] = 32,
    config: Annotated[Path | None, typer.Option("--config", help="JSON with RegressorConfig fields (e.g. smaller "
                                                                 "'width'/'layers', 'image_size', 'encoder': "
                                                                 "transformer|conv|gru).")] = None,
    init: Annotated[Path | None, typer.Option("--init", help="Start from these weights; for thmmr the HMR whose "
                                                             "frozen encoder it uses (default: the shipped "
                                                             "msmesh HMR, fine-tuned).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT/train_state.pt.")] = False,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N].")] = "auto",
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-4,
    body_model: Annotated[str, typer.Option("--body-model", help="open, smpl or a path to a SMPL file.")] = "open",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train HMR or t-HMMR on run folders; writes weights that `msmesh regress --weights OUT` loads."""
    kind = model.value if isinstance(model, ModelKind) else str(model)
    dev = resolve_device(device)
    console = Console(stderr=True, quiet=quiet)
    bm = _body_model(body_model)
    if config is None:
        base_hmr: Any = hub.load_regressor(init, temporal=False, device=dev)
        if base_hmr.config.input == "keypoints":
            if resume:
                raise InputError("--resume: keypoint models fine-tune in one go; run again without --resume")
            # the shipped t-HMMR keeps its own (fine-tuned) encoder unless --init names an HMR to take it from
            source = base_hmr if kind == "hmr" or init is not None else None
            _finetune_keypoints(kind, data, out, source, bm, steps, batch_size, lr, console)
            return
    hmr: Any = None
    if kind == "thmmr" or init is not None:
        hmr = hub.load_regressor(init, temporal=False, device=dev)
    cfg = _config(kind, config, hmr.config if hmr is not None else None)
    console.print(f"loading {len(data)} run folder(s)…")
    samples = load_runs(data, bm, cfg.image_size)
    console.print(f"{len(samples)} person frames")
    opts = TrainOptions(steps=steps, batch_size=batch_size, lr=lr)
    with Progress(TextColumn("[bold]train " + kind), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[loss]}"), TimeRemainingColumn(), console=console,
                  disable=quiet) as progress:
        task = progress.add_task("train", total=steps, loss="")

        def on_step(step: int, total: int, losses: dict[str, float]) -> None:
            progress.update(task, completed=step, loss=f"loss {losses['loss']:.4f}")

        if kind == "hmr":
            train_hmr(samples, cfg, bm, opts, out, init=hmr, resume=resume, device=dev, on_step=on_step)
        else:
            train_thmmr(samples, cfg, bm, hmr, opts, out, resume=resume, device=dev, on_step=on_step)
    console.print(f"weights: {out / hub.WEIGHTS_FILE}")
