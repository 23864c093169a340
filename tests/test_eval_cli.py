"""`msmesh eval` as a user runs it: synthetic table, dataset errors, Human3.6M through the CLI, --rescore."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_eval_h36m import T_ALL, _write, bm, world  # noqa: F401 - fixtures re-used

from msmesh.cli import main


def _json_out(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_synthetic_quick_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    result = _json_out(capsys, ["eval", "--dataset", "synthetic", "--quick", "--json", "--out", str(tmp_path)])
    rows = {r["method"]: r for r in result["rows"]}
    assert set(rows) == {"frame", "shot", "multishot"}
    for row in rows.values():
        assert 20 < row["pa_mpjpe_mm"] < 400 and 0 <= row["cross_shot_pck"] <= 1
    # the paper's headline on the quick set: carrying the pose across cuts improves the novel-view score
    assert rows["multishot"]["cross_shot_pck"] > rows["frame"]["cross_shot_pck"]
    assert (tmp_path / "result.json").exists()


@pytest.mark.parametrize(("argv", "words"), [
    (["eval", "--dataset", "ava"], "needs --root"),
    (["eval", "--dataset", "h36m", "--root", "{tmp}"], "data_3d_h36m.npz"),
    (["eval", "--dataset", "3dpw", "--root", "{tmp}"], "sequenceFiles"),
    (["eval", "--dataset", "ava", "--root", "{tmp}"], "AVA layout"),
    (["eval", "--dataset", "synthetic", "--prior", "wishful"], "--prior"),
    (["eval", "--rescore", "{tmp}/missing.npz"], "not found"),
])
def test_dataset_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str],
                                            words: str) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1


def test_unknown_dataset_exit_2() -> None:
    assert main(["eval", "--dataset", "imagenet"]) == 2


def test_h36m_through_the_cli_and_rescore(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          world: np.ndarray) -> None:  # noqa: F811
    root = tmp_path / "h36m"
    _write(root, world)
    preds = tmp_path / "preds.npz"
    argv = ["eval", "--dataset", "h36m", "--root", str(root), "--stride", "5", "--cut-every", "3",
            "--max-frames", str(T_ALL), "--out", str(tmp_path / "runs"), "--json", "--save-predictions", str(preds)]
    result = _json_out(capsys, argv)
    rows = {r["method"]: r for r in result["rows"]}
    assert set(rows) == {"frame", "shot", "multishot"}
    assert all(np.isfinite(r["pa_mpjpe_mm"]) for r in rows.values())
    again = _json_out(capsys, ["eval", "--dataset", "h36m", "--rescore", str(preds), "--json"])
    for row in again["rows"]:
        assert row["pa_mpjpe_mm"] == pytest.approx(rows[row["method"]]["pa_mpjpe_mm"], rel=1e-9)


@pytest.mark.parametrize(("argv", "expected"), [
    (["eval", "--dataset", "ava", "--root", "R"], ["eval", "ava", "--root", "R"]),
    (["eval", "--root", "R", "--dataset=h36m"], ["eval", "h36m", "--root", "R"]),
    (["eval", "--rescore", "p.npz"], ["eval", "synthetic", "--rescore", "p.npz"]),
    (["eval"], ["eval", "synthetic"]),
    (["eval", "3dpw", "--root", "R"], ["eval", "3dpw", "--root", "R"]),
    (["eval", "--help"], ["eval", "--help"]),
    (["fit", "--dataset", "x"], ["fit", "--dataset", "x"]),
])
def test_old_eval_dataset_option_is_rewritten_to_the_subcommand(argv: list[str], expected: list[str]) -> None:
    from msmesh.commands.eval import legacy_argv

    assert legacy_argv(argv) == expected


def test_eval_subcommand_form_gives_the_same_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "ava"]) == 2 and "needs --root" in capsys.readouterr().err
    assert main(["eval", "synthetic", "--prior", "wishful"]) == 2 and "--prior" in capsys.readouterr().err
