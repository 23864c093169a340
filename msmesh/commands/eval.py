"""`msmesh eval`: run a benchmark and print a Table-1/2/3-style table (or JSON with --json).

One command per dataset (``msmesh eval synthetic|ava|h36m|3dpw``; the older ``msmesh eval --dataset X`` is
rewritten to it by ``legacy_argv``). Datasets: ``synthetic`` (generated multi-shot sequences, self-contained;
``--temporal`` runs the Table-3 comparison of per-frame vs temporal regressors), ``ava`` (cross-shot PCK on a
curated cut-pair subset), ``h36m`` (Human3.6M with simulated cuts), ``3dpw`` (regressors). Every dataset
returns the same result dict (``msmesh.eval.report``), printed by one table function; ``--rescore``
recomputes a table from a saved predictions file without running anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from msmesh.errors import InputError
from msmesh.eval.report import column, make_result, results_table, write_result_json


class Dataset(str, Enum):
    synthetic = "synthetic"
    ava = "ava"
    h36m = "h36m"
    threedpw = "3dpw"


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _fit_options(prior: str) -> dict[str, Any]:
    if Path(prior).suffix in (".pkl", ".npz"):
        if not Path(prior).exists():
            raise InputError(f"--prior {prior}: file not found")
        return {"pose_prior_path": prior}
    if prior not in ("gmm+limits", "gmm", "limits", "l2"):
        raise InputError(f"--prior {prior!r}: expected gmm+limits, gmm, limits, l2 or a gmm_08.pkl path")
    return {"pose_prior": prior}


def synthetic_result(raw: dict[str, Any]) -> dict[str, Any]:
    """The synthetic benchmark's output (per-mode dict) in the common result format."""
    rows = [{"method": mode, **{k: v for k, v in row.items() if not isinstance(v, list)}}
            for mode, row in raw["modes"].items()]
    columns = [column("pa_mpjpe_mm", "PA-MPJPE ↓ (mm)"), column("pa_mpjpe_truncated_mm", "PA-MPJPE truncated ↓"),
               column("cross_shot_pck", "cross-shot PCK@0.1 ↑", scale=100.0), column("seconds", "time (s)")]
    counts: dict[str, Any] = {k: raw[k] for k in ("seed", "sequences", "frames", "truncated_frames") if k in raw}
    return make_result("synthetic", "synthetic multi-shot benchmark (Table 1 style)", columns, rows, counts,
                       options=raw.get("options", {}),
                       notes=["generated sequences of the body model with simulated cuts and close-ups"])


def table3_result(raw: dict[str, Any]) -> dict[str, Any]:
    """The Table-3 comparison (HMR vs conv vs GRU vs t-HMMR on frozen features) in the common format."""
    rows = [{"method": name, **vals} for name, vals in raw["methods"].items()]
    columns = [column("mpjpe_mm", "MPJPE ↓ (mm)"), column("mpjpe_near_gap_mm", "near a gap ↓"),
               column("mpjpe_truncated_mm", "truncated ↓"), column("train_seconds", "train (s)")]
    counts: dict[str, Any] = {k: raw[k] for k in ("frames_evaluated", "frames_near_gap", "frames_truncated")
                              if k in raw}
    return make_result("synthetic-temporal", "temporal regressors on generated sequences with gaps (Table 3 "
                       "style)", columns, rows, counts, options=raw.get("config", {}),
                       notes=[f"rest pose facing the camera: {raw['rest_pose_facing_camera_mpjpe_mm']:.1f} mm"])


def _run_synthetic(seed: int, quick: bool, temporal: bool, body_model: str, fit_options: dict[str, Any]) \
        -> dict[str, Any]:
    if temporal:
        from msmesh.regress.table3 import Table3Config, run_table3

        cfg = Table3Config(seed=seed)
        if quick:
            cfg = Table3Config(seed=seed, train_sequences=24, test_sequences=8, length=32, stage1_steps=60,
                               stage2_steps=60, hidden=64)
        return table3_result(run_table3(cfg))
    from msmesh.body import load_body_model
    from msmesh.eval.synthetic import SyntheticConfig, run_benchmark

    syn = SyntheticConfig(seed=seed)
    if quick:
        syn = SyntheticConfig(seed=seed, clips=syn.clips[:2], procedural=1, frames=16)
    return synthetic_result(run_benchmark(load_body_model(body_model), syn, **fit_options))


def _movenet_detector() -> Callable[[Path, np.ndarray], np.ndarray]:
    """MoveNet as a Human3.6M 2D detector: the most confident person per frame, COCO-17 (T,17,3)."""
    from msmesh.people.movenet import MoveNet
    from msmesh.video.reader import iter_frames

    model = MoveNet()

    def detect(video: Path, frames: np.ndarray) -> np.ndarray:
        out = np.zeros((len(frames), 17, 3))
        where = {int(f): i for i, f in enumerate(frames)}
        for index, image in iter_frames(video, where):
            people = model(image)
            if people:
                out[where[index]] = max(people, key=lambda d: d.score).keypoints
        return out

    return detect


app = typer.Typer(help="Evaluate on a benchmark and print a table like the paper's.", no_args_is_help=True)

DATASETS = tuple(d.value for d in Dataset)

Out = Annotated[Path | None, typer.Option("--out", help="Folder for per-video runs and caches (resumable) "
                                          "(default: eval-runs/<dataset>).")]
Root = Annotated[Path | None, typer.Option("--root", help="Dataset folder (layout: see "
                                           "msmesh/eval/<dataset>.py).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
SavePredictions = Annotated[Path | None, typer.Option("--save-predictions", help="Write the predictions (.npz) so "
                                                      "they can be re-scored without re-running.")]
Rescore = Annotated[Path | None, typer.Option("--rescore", help="Re-score a saved predictions file; runs "
                                              "nothing.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the generated data / noise.")]
Prior = Annotated[str, typer.Option("--prior", help="Pose prior: gmm+limits, gmm, limits, l2, or a path to "
                                    "SMPLify's gmm_08.pkl.")]
BodyModel = Annotated[str, typer.Option("--body-model", help="open, smpl or a path to a SMPL file.")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N].")]
Weights = Annotated[str | None, typer.Option("--weights", help="Regressor weights for the hmr/thmmr rows.")]
MaxSequences = Annotated[int | None, typer.Option("--max-sequences", help="Evaluate at most N sequences.")]


def _need_root(name: str, root: Path | None) -> Path:
    if root is None:
        raise InputError(f"--dataset {name} needs --root DIR (the dataset folder; layout in "
                         f"msmesh/eval/{'threedpw' if name == '3dpw' else name}.py)")
    return root


def _evaluate(name: str, out: Path | None, rescore: Path | None, as_json: bool,
              run: Callable[[Path], dict[str, Any]], alpha: float | None = None) -> None:
    """Run (or with ``rescore`` re-score) one benchmark, save OUT/result.json and print the table."""
    if rescore is not None:
        from msmesh.eval.rescore import rescore_file

        result = rescore_file(rescore, alpha=alpha)
    else:
        out_dir = out or Path("eval-runs") / name
        with Console(stderr=True).status(f"evaluating on {name}…", spinner="dots"):
            result = run(out_dir)
        write_result_json(out_dir / "result.json", result)
    if as_json:
        typer.echo(json.dumps(result, indent=1))
    else:
        Console().print(results_table(result))
        for note in result.get("notes", []):
            Console().print(f"[dim]note: {note}[/dim]")


@app.command("synthetic")
def synthetic(
    out: Out = None, as_json: AsJson = False, rescore: Rescore = None, seed: Seed = 0,
    quick: Annotated[bool, typer.Option("--quick", help="A small set for a fast check.")] = False,
    temporal: Annotated[bool, typer.Option("--temporal", help="Compare HMR / conv / GRU / t-HMMR on sequences "
                                           "with gaps (Table 3) instead of the fit modes.")] = False,
    prior: Prior = "gmm+limits", body_model: BodyModel = "open",
) -> None:
    """Generated multi-shot sequences (self-contained): PA-MPJPE of frame / shot / multishot fitting (all and
    truncated frames) and cross-shot PCK@0.1 (Table 1); with --temporal, regressors around gaps (Table 3)."""
    fit_options = _fit_options(prior) if rescore is None else {}
    _evaluate("synthetic", out, rescore, as_json,
              lambda _: _run_synthetic(seed, quick, temporal, body_model, fit_options))


@app.command("ava")
def ava(
    root: Root = None, out: Out = None, as_json: AsJson = False, save_predictions: SavePredictions = None,
    rescore: Rescore = None, body_model: BodyModel = "open", device: Device = "auto", weights: Weights = None,
    methods: Annotated[str | None, typer.Option("--methods", help="Comma list of frame, shot, multishot, hmr, "
                                                "thmmr (default: the fit modes).")] = None,
    cuts: Annotated[Path | None, typer.Option("--cuts", help="Cut-pair file (msmesh/ava-cuts@1) (default: "
                                              "ROOT/msmesh_cuts.json).")] = None,
    alpha: Annotated[float, typer.Option("--alpha", help="PCK threshold as a fraction of the box size.")] = 0.1,
) -> None:
    """AVA: same-frame and cross-shot PCK on hand-checked cut pairs."""
    if rescore is None:
        root = _need_root("ava", root)
        if not 0 < alpha <= 1:
            raise InputError(f"--alpha must be in (0, 1], got {alpha}")

    def run(out_dir: Path) -> dict[str, Any]:
        from msmesh.eval.ava import FIT_METHODS, pipeline_processor, run_ava

        assert root is not None
        return run_ava(root, cuts=cuts, methods=_split(methods) or list(FIT_METHODS), out_dir=out_dir,
                       alpha=alpha, processor=pipeline_processor(body_model=body_model, device=device,
                                                                 weights=weights),
                       save_predictions_to=save_predictions)

    _evaluate("ava", out, rescore, as_json, run, alpha=alpha if alpha != 0.1 else None)


@app.command("h36m")
def h36m(
    root: Root = None, out: Out = None, as_json: AsJson = False, save_predictions: SavePredictions = None,
    rescore: Rescore = None, seed: Seed = 0, prior: Prior = "gmm+limits", body_model: BodyModel = "open",
    subjects: Annotated[str, typer.Option("--subjects", help="Comma list of subjects.")] = "S9,S11",
    actions: Annotated[str | None, typer.Option("--actions", help="Comma list of actions (default: all).")] = None,
    cut_every: Annotated[int, typer.Option("--cut-every", help="Switch camera every N sampled frames.")] = 10,
    stride: Annotated[int, typer.Option("--stride", help="Use every N-th frame (50 fps → 10 fps).")] = 5,
    max_frames: Annotated[int, typer.Option("--max-frames", help="At most this many frames per sequence.")] = 100,
    input_2d: Annotated[str, typer.Option("--input", help="2D input: gt (dataset projections) or detector "
                                          "(MoveNet on the videos).")] = "gt",
    noise_px: Annotated[float, typer.Option("--noise-px", help="Gaussian noise added to gt 2D (pixels).")] = 0.0,
    max_sequences: MaxSequences = None,
) -> None:
    """Human3.6M: PA-MPJPE with cuts simulated by switching cameras."""
    fit_options: dict[str, Any] = {}
    if rescore is None:
        root = _need_root("h36m", root)
        fit_options = _fit_options(prior)
        if input_2d not in ("gt", "detector"):
            raise InputError(f"--input must be gt or detector, got {input_2d!r}")
        if cut_every < 1 or stride < 1 or max_frames < 2:
            raise InputError("--cut-every and --stride must be ≥ 1 and --max-frames ≥ 2")

    def run(out_dir: Path) -> dict[str, Any]:
        from msmesh.body import load_body_model
        from msmesh.eval.h36m import H36MConfig, default_fit, run_h36m

        assert root is not None
        cfg = H36MConfig(stride=stride, max_frames=max_frames, cut_every=cut_every, input_2d=input_2d,
                         noise_px=noise_px, seed=seed)
        fit = default_fit(load_body_model(body_model), **fit_options)
        detector = _movenet_detector() if input_2d == "detector" else None
        return run_h36m(root, subjects=_split(subjects) or [], actions=_split(actions), config=cfg,
                        out_dir=out_dir, fit=fit, detector=detector, max_sequences=max_sequences,
                        save_predictions_to=save_predictions)

    _evaluate("h36m", out, rescore, as_json, run)


@app.command("3dpw")
def threedpw(
    root: Root = None, out: Out = None, as_json: AsJson = False, save_predictions: SavePredictions = None,
    rescore: Rescore = None, device: Device = "auto", weights: Weights = None,
    methods: Annotated[str | None, typer.Option("--methods", help="Comma list of hmr, thmmr (default: "
                                                "both).")] = None,
    split: Annotated[str, typer.Option("--split", help="Split folder under sequenceFiles/.")] = "test",
    max_sequences: MaxSequences = None,
) -> None:
    """3DPW: PA-MPJPE of the regressors (Table 2)."""
    wanted = _split(methods) or ["hmr", "thmmr"]
    if rescore is None:
        root = _need_root("3dpw", root)
        bad = [m for m in wanted if m not in ("hmr", "thmmr")]
        if bad:
            raise InputError(f"3dpw evaluates the regressors only: unknown method(s) {bad} (expected hmr, thmmr)")

    def run(out_dir: Path) -> dict[str, Any]:
        from msmesh.device import resolve_device
        from msmesh.eval.threedpw import regressor_predictor, run_3dpw

        assert root is not None
        dev = str(resolve_device(device))
        predictors = {m: regressor_predictor(temporal=(m == "thmmr"), weights=weights, device=dev) for m in wanted}
        return run_3dpw(root, split=split, predictors=predictors, out_dir=out_dir, max_sequences=max_sequences,
                        save_predictions_to=save_predictions)

    _evaluate("3dpw", out, rescore, as_json, run)


def legacy_argv(args: list[str]) -> list[str]:
    """``eval --dataset X ...`` (the single-command form) → ``eval X ...``; ``eval ...`` without a dataset
    → ``eval synthetic ...`` (its old default). Other argument lists come back unchanged."""
    if not args or args[0] != "eval":
        return args
    rest = args[1:]
    for i, arg in enumerate(rest):
        if arg == "--dataset" and i + 1 < len(rest):
            return ["eval", rest[i + 1], *rest[:i], *rest[i + 2:]]
        if arg.startswith("--dataset="):
            return ["eval", arg.split("=", 1)[1], *rest[:i], *rest[i + 1:]]
    if not rest or (rest[0] not in DATASETS and rest[0] not in ("-h", "--help")):
        return ["eval", "synthetic", *rest]
    return args
