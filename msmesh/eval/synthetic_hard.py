"""The hard synthetic multi-shot benchmark: mostly truncated frames, fast motion, frequent cuts.

Built on :mod:`msmesh.eval.synthetic` (same generator, scoring and modes), with a preset that stresses what the
multi-shot method is for — close-ups and waist-up shots whose legs are only seen in the wide shots around them:

- 4 held-out motion-capture clips (run, punch, dance_b, kick), 2 slow procedural motions and 2 *fast* ones
  (the same random sinusoids played 3× faster, ~0.3–2.4 Hz per joint), 60 sampled frames each at 15 fps;
- five cameras per person — wide, wide, medium, close, close — the edit cutting to a different one every
  3–10 sampled frames, so ~60% of frames are medium or close (≥ 40% truncated, asserted by the tests);
- the same detector-like 2D noise, outliers and drops as the default benchmark.

Weights were tuned on seed 100 (:data:`TUNING_SEED`); numbers are reported on seeds 0, 1, 2
(``python bench/synthetic_hard.py``).
"""

from __future__ import annotations

from dataclasses import replace

from msmesh.eval.synthetic import SyntheticConfig

TUNING_SEED = 100
REPORT_SEEDS = (0, 1, 2)


def hard_config(seed: int = 0, **overrides) -> SyntheticConfig:
    """The hard benchmark's configuration for ``seed`` (any field can be overridden, e.g. ``frames``)."""
    cfg = SyntheticConfig(
        seed=seed,
        procedural=2,
        fast=2,
        fast_factor=3.0,
        frames=60,
        shot_min=3,
        shot_max=10,
        cameras=("wide", "wide", "medium", "close", "close"),
    )
    return replace(cfg, **overrides)
