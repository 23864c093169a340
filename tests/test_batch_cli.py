"""`msmesh batch` on the command line: option errors are one line with exit code 2 (fast, no pipeline)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from msmesh.batch.ray_engine import import_ray, plan_resources
from msmesh.cli import main
from msmesh.errors import InputError, MsmeshError


@pytest.mark.parametrize("quiet", [["--quiet"], []])
def test_missing_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          quiet: list[str]) -> None:
    code = main(["batch", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "out"), *quiet])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("msmesh: error:") and captured.err.count("\n") == 1
    assert "nope.mp4: no such file or folder" in captured.err and captured.out == ""


def test_engine_ray_without_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail like a missing package
    with pytest.raises(MsmeshError, match=r'pip install "msmesh\[ray\]"'):
        import_ray()
    (tmp_path / "a.mp4").write_bytes(b"x")
    code = main(["batch", str(tmp_path / "a.mp4"), "--out", str(tmp_path / "out"), "--engine", "ray"])
    assert code == 2 and 'pip install "msmesh[ray]"' in capsys.readouterr().err


def test_ray_resource_requests_are_checked_against_the_cluster() -> None:
    assert plan_resources({"CPU": 8}, 1, None) == 0  # no GPUs: everything on CPU workers
    assert plan_resources({"CPU": 8, "GPU": 2}, 2, None) == 1  # GPUs present: one per detection task
    assert plan_resources({"CPU": 8, "GPU": 2}, 1, 0.5) == 0.5  # two detection tasks share a GPU
    assert plan_resources({"CPU": 8, "GPU": 2}, 1, 0) == 0  # explicitly CPU only
    with pytest.raises(InputError, match="has 0 GPU"):
        plan_resources({"CPU": 8}, 1, 1)  # would wait forever
    with pytest.raises(InputError, match="only 2 CPU"):
        plan_resources({"CPU": 2}, 4, None)


def test_gpu_cpu_split_follows_the_pipeline_plan() -> None:
    from msmesh.batch.stage_subset import GPU_STAGES, split_gpu_cpu, stage_names
    from msmesh.options import PipelineOptions

    optimize = stage_names(PipelineOptions())
    regress = stage_names(PipelineOptions(method="regress"))
    assert "detect" in optimize and "regress" in regress  # GPU_STAGES names real stages
    gpu, cpu = split_gpu_cpu(optimize)
    assert gpu[-1] == "detect" and "fit" in cpu and gpu + cpu == optimize
    gpu, cpu = split_gpu_cpu(regress)
    assert gpu[-1] == "regress" and not set(cpu) & GPU_STAGES
    assert split_gpu_cpu(["decode", "fit"]) == ([], ["decode", "fit"])


def test_batch_takes_reconstructs_detector_and_keypoints(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from msmesh.batch.runner import BatchOutcome
    from msmesh.commands import batch as batch_cmd

    seen = {}

    def fake_run_batch(inputs, out, options, **kwargs):  # noqa: ANN001, ANN003, ANN202
        seen["options"] = options
        return BatchOutcome(out_dir=tmp_path, report_path=tmp_path / "r.json", total=0, skipped=0, ok=0,
                            failed=0, seconds=0.0)

    monkeypatch.setattr(batch_cmd, "run_batch", fake_run_batch)
    kp = tmp_path / "kp.json"
    code = main(["batch", str(tmp_path), "--out", str(tmp_path / "out"), "--detector", "movenet",
                 "--keypoints", str(kp), "--init", "heuristic", "--quiet"])
    assert code == 0
    assert seen["options"].detector == "movenet" and seen["options"].keypoints == str(kp.absolute())
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "out"), "--detector", "nope"]) == 2
