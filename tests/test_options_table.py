"""The run options are declared once (msmesh.options.OPTIONS) and the run commands read them from there."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
import typer

from msmesh.cli import app, main
from msmesh.errors import InputError
from msmesh.options import OPTIONS, PipelineOptions, RunSummary
from msmesh.pipeline import Pipeline


def _params(command: str) -> dict[str, Any]:
    group: Any = typer.main.get_command(app)  # typer's own (vendored) click group
    return {p.name: p for p in group.commands[command].params if p.name}


def test_every_table_row_is_a_pipeline_option_with_the_same_default() -> None:
    names = {f.name: f.default for f in fields(PipelineOptions)}
    assert set(OPTIONS) == set(names)
    assert all(OPTIONS[k].default == names[k] for k in names)


@pytest.mark.parametrize("command", ["reconstruct", "batch"])
def test_run_commands_take_every_table_option_with_its_default(command: str) -> None:
    params = _params(command)
    flags = {opt for p in params.values() for opt in p.opts}
    for spec in OPTIONS.values():
        assert spec.flags[0].split("/")[0] in flags
    assert params["fps"].default == OPTIONS["fps"].default and params["glb"].default is True


@pytest.mark.parametrize("field,value,match", [("init", "regres", "unknown init"),
                                               ("shots", "nope", "shot detector"),
                                               ("fit_mode", "multi", "fit mode"), ("fps", 0.0, "--fps")])
def test_validate_rejects_a_typo_in_one_line(field: str, value: object, match: str) -> None:
    with pytest.raises(InputError, match=match):
        PipelineOptions(**{field: value}).validate()


@pytest.fixture(params=[True, False], ids=["weights", "no-weights"])
def weights_present(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether the shipped regressor weights are found (what ``--init auto`` turns on)."""
    import msmesh.regress.hub

    monkeypatch.setattr(msmesh.regress.hub, "default_weights_available", lambda temporal=False: request.param)
    return bool(request.param)


def test_library_and_cli_defaults_resolve_to_the_same_run(weights_present: bool, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from msmesh.batch.runner import BatchOutcome
    from msmesh.commands import batch as batch_cmd
    from msmesh.commands import reconstruct as reconstruct_cmd

    seen: dict[str, PipelineOptions] = {}

    class Recording(Pipeline):
        def run(self, only: Any = None) -> RunSummary:
            seen["reconstruct"] = self.options
            return RunSummary(self.run_dir, [])

    def fake_run_batch(inputs: Any, out: Any, options: PipelineOptions, **kwargs: Any) -> BatchOutcome:
        seen["batch"] = options.resolved()  # what run_batch digests and hands to each video's Pipeline
        return BatchOutcome(out_dir=tmp_path, report_path=tmp_path / "r.json", total=0, skipped=0, ok=0,
                            failed=0, seconds=0.0)

    monkeypatch.setattr(reconstruct_cmd, "Pipeline", Recording)
    monkeypatch.setattr(batch_cmd, "run_batch", fake_run_batch)
    assert main(["reconstruct", str(tmp_path / "v.mp4"), "--out", str(tmp_path / "run"), "-q"]) == 0
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "out"), "-q"]) == 0
    library = Pipeline(tmp_path / "v.mp4", tmp_path / "run", PipelineOptions()).options
    assert library.init == ("regress" if weights_present else "heuristic")
    assert seen["reconstruct"] == library and seen["batch"] == library


def test_auto_init_keys_a_run_like_the_init_it_resolves_to(weights_present: bool) -> None:
    from msmesh.stages import plan

    resolved = "regress" if weights_present else "heuristic"
    assert PipelineOptions(init="auto").resolved() == PipelineOptions(init=resolved).resolved()
    other = "heuristic" if weights_present else "regress"  # e.g. weights installed since: the fit reruns
    assert PipelineOptions(init="auto").resolved() != PipelineOptions(init=other).resolved()
    fit = next(s for s in plan(PipelineOptions()) if s.name == "fit")
    assert "init" in fit.options  # the fit stage's resume key holds the init
    # --mode regress fits nothing: its resume key does not change with --init
    assert PipelineOptions(method="regress", init="regress").resolved().init == "heuristic"


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[PipelineOptions]:
    """The options each `reconstruct` / `regress` run below hands to its Pipeline (which then does nothing)."""
    from msmesh.commands import reconstruct as reconstruct_cmd

    runs: list[PipelineOptions] = []

    class Recording(Pipeline):
        def run(self, only: Any = None) -> RunSummary:
            runs.append(self.options)
            return RunSummary(self.run_dir, [])

    monkeypatch.setattr(reconstruct_cmd, "Pipeline", Recording)
    return runs


def test_every_run_flag_reaches_the_pipeline_options(tmp_path: Path, seen: list[PipelineOptions]) -> None:
    kp, prior = tmp_path / "kp.json", tmp_path / "prior.pkl"
    args = ["--mode", "optimize", "--fit-mode", "shot", "--fps", "2", "--start", "1", "--end", "3", "--shots",
            "adaptive", "--detector", "movenet", "--keypoints", str(kp), "--max-people", "2", "--init", "heuristic",
            "--weights", "w.safetensors", "--temporal", "--body-model", "smpl", "--pose-prior", str(prior),
            "--device", "cpu", "--no-video", "--side-by-side", "--overlay-fps", "3", "--no-glb", "--save-mesh",
            "--format", "json"]
    assert main(["reconstruct", str(tmp_path / "v.mp4"), "--out", str(tmp_path / "run"), "-q", *args]) == 0
    want = PipelineOptions(fit_mode="shot", fps=2.0, start=1.0, end=3.0, shots="adaptive", detector="movenet",
                           keypoints=str(kp), max_people=2, init="heuristic", weights="w.safetensors", temporal=True,
                           body_model="smpl", pose_prior=str(prior), device="cpu", video=False, side_by_side=True,
                           overlay_fps=3.0, glb=False, save_mesh=True, output_format="json")
    assert seen == [want]
    assert {f.name for f in fields(PipelineOptions) if getattr(want, f.name) == OPTIONS[f.name].default} == {"method"}


def test_regress_takes_the_front_end_and_regressor_options(tmp_path: Path, seen: list[PipelineOptions]) -> None:
    args = ["--temporal", "--weights", "w.pt", "--fps", "2", "--no-video", "--device", "cpu"]
    assert main(["regress", str(tmp_path / "v.mp4"), "--out", str(tmp_path / "run"), "-q", *args]) == 0
    assert seen == [PipelineOptions(method="regress", init="heuristic", temporal=True, weights="w.pt", fps=2.0,
                                    video=False, device="cpu")]
    assert main(["regress", str(tmp_path / "v.mp4"), "--fit-mode", "shot"]) == 2  # the optimizer's: not here


@pytest.mark.parametrize(("detector", "reruns"), [("auto", True), ("movenet", False)])
def test_new_shots_rerun_detection_only_where_the_detector_reads_them(tmp_path, monkeypatch, detector, reruns):
    """The auto detector's tracking mode restarts at each cut, so its detections depend on the shots; the other
    backends' do not, and a changed --shots must not redo their (slow) detection."""
    from msmesh import stages
    from msmesh.pipeline import Pipeline

    calls: list[str] = []

    def stub(name: str, output: str):
        def run(video, run_dir, opts, progress):
            calls.append(name)
            (run_dir / output).write_text("{}")
            return {}
        return run

    for name, output in (("decode", "video.json"), ("shots", "shots.json"), ("detect", "detections.json")):
        monkeypatch.setattr(stages, f"_{name}", stub(name, output))
    monkeypatch.setattr(stages, "preflight", lambda options: None)
    monkeypatch.setattr(stages, "summarize", lambda run_dir, reports: reports)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not decoded by the stubs")
    only = ("decode", "shots", "detect")
    Pipeline(video, tmp_path / "run", PipelineOptions(detector=detector, shots="content")).run(only=only)
    Pipeline(video, tmp_path / "run", PipelineOptions(detector=detector, shots="adaptive")).run(only=only)
    assert calls == ["decode", "shots", "detect", "shots"] + (["detect"] if reruns else [])
