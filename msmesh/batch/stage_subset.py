"""Run all of the pipeline, or only some of its stages, for the batch engines.

The Ray engine runs a video's GPU stages (detection, regression) as one task on a GPU worker and the rest
(tracking, fitting, exports) as a second task on a CPU worker. Both tasks work in the same run folder and
rely on the pipeline's resume bookkeeping (``run.json``): the second task finds the first one's stages
done and skips them. ``GPU_STAGES`` names the stages that want an accelerator.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

from msmesh.options import PipelineOptions, RunSummary
from msmesh.pipeline import Pipeline

GPU_STAGES = frozenset({"detect", "regress"})

Progress = Callable[[str, int | None], Callable[[int], None]]


def stage_names(options: PipelineOptions) -> list[str]:
    """The pipeline's stage names for these options, in order."""
    from msmesh import stages

    return [stage.name for stage in stages.plan(options)]


def split_gpu_cpu(names: list[str]) -> tuple[list[str], list[str]]:
    """(stages up to and including the last GPU stage, the stages after it); ([], names) when none."""
    last = max((i for i, name in enumerate(names) if name in GPU_STAGES), default=-1)
    return names[:last + 1], names[last + 1:]


def run_pipeline(video: Path, run_dir: Path, options: PipelineOptions, progress: Progress | None = None,
                 only: Collection[str] | None = None) -> RunSummary:
    """``Pipeline(...).run()``, or just the stages in ``only``."""
    return Pipeline(video, run_dir, options, progress).run(only=only)
