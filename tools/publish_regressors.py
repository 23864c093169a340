"""Upload msmesh's shipped HMR / t-HMMR weights to their Hugging Face Hub mirror and pin the new revision.

Run once by someone with write access to the mirror repositories (``HF_TOKEN`` or ``--token``), from a
checkout whose ``assets/models/regress/<name>/`` holds the weights the registry's sha256 describe:

    python tools/publish_regressors.py                  # both models
    python tools/publish_regressors.py --names thmmr --dry-run

Per model: the package copy is checked against the registry's sha256; the repository is created if needed;
``model.safetensors``, ``config.json`` and a model card (licence, provenance) are uploaded in one commit;
every file is downloaded back **at that commit** into a fresh cache and its sha256 compared; only then is
the commit written into ``assets/models/regress/MIRROR.json`` (atomically). Commit that file: from then on
``msmesh models list`` shows the pinned revision and an install without the package copy downloads it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from msmesh.atomic import atomic_write_json  # noqa: E402
from msmesh.errors import MsmeshError  # noqa: E402
from msmesh.regress import hub  # noqa: E402

DEFAULT_MIRROR = REPO / "assets" / "models" / "regress" / hub.MIRROR_FILE

CARD = """---
license: apache-2.0
library_name: msmesh
tags: [human-mesh-recovery, smpl, keypoints]
---
# {name} — msmesh keypoint {title}

msmesh's own {title} regressor: keypoints (COCO-17, BlazePose landmarks and world landmarks when present) →
SMPL-format pose, shape and weak-perspective camera. Trained on synthetic multi-shot data generated from open
motion (see PROVENANCE below). This repository is the mirror of the copy shipped inside the msmesh package;
msmesh pins one revision of it and checks each file's sha256.

{provenance}
"""


def _card(entry: hub.HubEntry, provenance: str) -> str:
    return CARD.format(name=entry.name, title="HMR" if entry.kind == "hmr" else "t-HMMR", provenance=provenance)


def publish_entry(entry: hub.HubEntry, api: Any, download: Callable[..., str], token: str | None = None,
                  private: bool = False) -> str:
    """Upload one entry's package copy; return the commit it landed in, after checking it downloads back."""
    folder = hub.shipped_path(entry)
    if folder is None:
        raise SystemExit(f"{entry.name}: no package copy under assets/{entry.package} to upload")
    hub.verify_shipped(entry, folder)
    provenance_file = folder.parent / "PROVENANCE.md"
    provenance = provenance_file.read_text() if provenance_file.exists() else ""
    with tempfile.TemporaryDirectory() as tmp:
        staging = Path(tmp) / "upload"
        staging.mkdir()
        for filename in entry.files:
            shutil.copy2(folder / filename, staging / filename)
        (staging / "README.md").write_text(_card(entry, provenance))
        api.create_repo(entry.repo_id, token=token, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=entry.repo_id, folder_path=str(staging), token=token,
                                 commit_message=f"msmesh {entry.name} weights (sha256 "
                                                f"{entry.digest(hub.WEIGHTS_FILE) or '?'})")
        revision = str(info.oid)
        if not hub.is_commit(revision):
            raise SystemExit(f"{entry.repo_id}: the upload returned {revision!r}, not a commit id")
        cache = Path(tmp) / "verify-cache"
        for filename in entry.files:
            path = download(entry.repo_id, filename, revision=revision, cache_dir=str(cache), token=token)
            got, want = hub.sha256_file(path), entry.digest(filename)
            if got != want:
                raise SystemExit(f"{entry.repo_id}@{revision[:12]}/{filename}: downloaded sha256 {got} is not the "
                                 f"registry's {want}; MIRROR.json left unchanged")
    return revision


def publish(names: Iterable[str], api: Any, download: Callable[..., str], mirror_path: Path,
            token: str | None = None, private: bool = False) -> dict[str, str]:
    """Publish each named entry and pin its new revision in ``mirror_path``; return {name: revision}."""
    registry = hub.load_registry(mirror_path)
    table: dict[str, Any] = {n: {"repo_id": e.repo_id, "revision": e.revision} for n, e in registry.items()}
    pinned = {}
    for name in names:
        if name not in registry:
            raise SystemExit(f"unknown model {name!r} (known: {', '.join(registry)})")
        pinned[name] = publish_entry(registry[name], api, download, token=token, private=private)
        table[name]["revision"] = pinned[name]
        atomic_write_json(mirror_path, table)  # after each model: a later failure keeps the earlier pins
    return pinned


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", nargs="+", default=["hmr", "thmmr"], help="registry names to publish")
    parser.add_argument("--token", default=None, help="Hub token (default: HF_TOKEN / the saved login)")
    parser.add_argument("--private", action="store_true", help="create the repositories private")
    parser.add_argument("--mirror-file", type=Path, default=DEFAULT_MIRROR, help="the table to pin revisions in")
    parser.add_argument("--dry-run", action="store_true", help="check the package copies and stop")
    args = parser.parse_args(argv)
    registry = hub.load_registry(args.mirror_file)
    unknown = [name for name in args.names if name not in registry]
    if unknown:
        raise SystemExit(f"unknown model {unknown[0]!r} (known: {', '.join(registry)})")
    if args.dry_run:
        for name in args.names:
            entry = registry[name]
            folder = hub.shipped_path(entry)
            if folder is None:
                raise SystemExit(f"{name}: no package copy")
            hub.verify_shipped(entry, folder)
            print(f"{name}: {folder} matches the registry; would upload to {entry.repo_id}")
        return
    from huggingface_hub import HfApi, hf_hub_download

    for name, revision in publish(args.names, HfApi(), hf_hub_download, args.mirror_file, token=args.token,
                                  private=args.private).items():
        print(f"{name}: {registry[name].repo_id}@{revision} pinned in {args.mirror_file}")


def run(argv: list[str] | None = None) -> None:
    """``main`` with every refusal as one line ``publish_regressors: error: …`` on stderr and exit code 2."""
    try:
        main(argv)
    except MsmeshError as exc:
        message: object = str(exc)
    except SystemExit as exc:
        if not isinstance(exc.code, str):
            raise
        message = exc.code
    else:
        return
    print(f"publish_regressors: error: {message}", file=sys.stderr)
    raise SystemExit(2)


if __name__ == "__main__":
    run()
