"""Regressor weights: the shipped defaults, the Hugging Face Hub registry, local files, the authors' checkpoints.

``registry()`` names the default weights per model. msmesh's own keypoint-input HMR and t-HMMR (trained by
``tools/build_regressors.py`` on synthetic multi-shot data, see ``assets/models/regress/PROVENANCE.md``)
**ship inside the package** (``assets/models/regress/<name>/``, found offline with no download, sha256
checked against the registry); the Hub repository of each entry is their mirror, used only when the
package copy is missing. The mirror's repository and pinned revision live in
``assets/models/regress/MIRROR.json`` (shipped with the weights); ``tools/publish_regressors.py`` uploads the
package copies, checks the upload by downloading it back at the new commit, and writes that commit there.
Until then an entry's revision is ``null``, the entry says so and the package copy is the only source.

Environment: ``HF_HUB_CACHE`` / ``HF_HOME`` choose the cache folder and ``HF_HUB_OFFLINE=1`` forbids
network access; both are read when a download is asked for (huggingface_hub itself reads them once, at
import time, so msmesh passes ``cache_dir`` and ``local_files_only`` explicitly).

Weight files ``--weights`` accepts:
- a folder or file written by ``msmesh train``: ``model.safetensors`` + ``config.json`` (RegressorConfig);
- the multi-shot authors' PyTorch checkpoints ``hmr_ava.pt`` / ``thmmr_ava.pt`` (Pavlakos et al. 2022).
  Key mapping: they store ``{"model": state_dict}``; msmesh uses the same module names, so after taking
  ``["model"]`` (if present) and stripping a leading ``model.`` or ``module.`` the keys load unchanged:
  ``backbone.{conv1,bn1,layer1..4}.*`` (torchvision ResNet-50 names, no ``fc``), ``smpl_head.{fc1,fc2,
  decpose,decshape,deccam}.*`` and buffers ``smpl_head.init_body_pose`` (1,144) ``init_betas`` (1,10)
  ``init_cam`` (1,3), and for t-HMMR ``encoder.trans.*`` (``nn.TransformerEncoderLayer``: self_attn,
  linear1, linear2, norm1, norm2) and ``encoder.pos_embedding.weight`` (13,2048). Keys of the authors'
  training-only modules (``smpl.*``, loss buffers) are dropped. Their models take 256-px crops with
  max-pooled features, which the inferred config records. ``thmmr_ava.pt`` has no backbone: give the
  folder holding both files (or put ``hmr_ava.pt`` beside ``thmmr_ava.pt``), and the backbone is taken
  from the HMR checkpoint.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from msmesh.errors import InputError, ModelUnavailableError
from msmesh.regress.hmr import HMR, RegressorConfig
from msmesh.regress.thmmr import THMMR, Regressor

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
_COMMIT = re.compile(r"[0-9a-f]{40}")


@dataclass(frozen=True)
class HubEntry:
    """Where one model's default weights live on the Hub, pinned to a revision, with file checksums."""

    name: str
    kind: str  # hmr | thmmr
    repo_id: str
    revision: str | None  # a 40-hex commit (pinned) once published
    files: tuple[str, ...] = (WEIGHTS_FILE, CONFIG_FILE)
    sha256: tuple[tuple[str, str], ...] = ()  # (filename, hex digest)
    published: bool = False
    source: str = ""
    package: str | None = None  # shipped copy: folder under assets/ (e.g. "models/regress/hmr")

    def digest(self, filename: str) -> str | None:
        return dict(self.sha256).get(filename)


_UNPUBLISHED = ("not uploaded to the Hub yet, and this install has no package copy of them: reinstall msmesh "
                "(the wheel ships them in msmesh/_assets/models/regress), or pass --weights with weights from "
                "`msmesh train` or a checkpoint (e.g. the multi-shot authors' hmr_ava.pt / thmmr_ava.pt)")

# sha256 of the shipped files (tools/build_regressors.py output; tests check the package copy against them)
_SHIPPED_SHA256 = {
    "hmr": (("model.safetensors", "e0d6d659bfe64bd973e4ec360dd5f1983ae2021c29cc8f3f535b41fb7a509921"),
            ("config.json", "1c6662a8c0021676b7adcc32f9a21626087f7d3fd3af943442a4a996e0de1cab")),
    "thmmr": (("model.safetensors", "69de2ac0e24887b2d6f943627a3272949b7fcf2f87689bb9e63e19833ec0c5ef"),
              ("config.json", "36ead553c2bfc3310de69d7c0a91a94bb8db519bdc646fbdcd6763eb1ba7ef94")),
}

MIRROR_FILE = "MIRROR.json"  # in assets/models/regress/: {name: {"repo_id": ..., "revision": 40-hex | null}}


def read_mirror(path: str | os.PathLike[str] | None = None) -> dict[str, dict[str, str | None]]:
    """The Hub mirror's repository and pinned revision per model, from ``MIRROR.json`` (empty when absent).

    A revision that is not a 40-hex commit is a broken install, not a mirror: it is refused, with the file named.
    """
    if path is None:
        from msmesh.assets import find_asset

        path = find_asset("models", "regress", MIRROR_FILE)
        if path is None:
            return {}
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"{path}: unreadable Hub mirror table ({exc}); reinstall msmesh") from exc
    if not isinstance(data, dict):
        raise ModelUnavailableError(f"{path}: the Hub mirror table must be a JSON object; reinstall msmesh")
    mirror: dict[str, dict[str, str | None]] = {}
    for name, row in data.items():
        revision = row.get("revision") if isinstance(row, dict) else None
        repo_id = row.get("repo_id") if isinstance(row, dict) else None
        pinned = revision is None or (isinstance(revision, str) and _COMMIT.fullmatch(revision) is not None)
        if not isinstance(repo_id, str) or not pinned:
            raise ModelUnavailableError(f"{path}: entry {name!r} needs a repo_id and a 40-hex revision or null; "
                                        f"reinstall msmesh")
        mirror[str(name)] = {"repo_id": repo_id, "revision": revision}
    return mirror


def load_registry(mirror_path: str | os.PathLike[str] | None = None) -> dict[str, HubEntry]:
    """The default weights per model: the shipped copy's checksums plus the Hub mirror of ``MIRROR.json``."""
    mirror = read_mirror(mirror_path)
    registry = {}
    for name in ("hmr", "thmmr"):
        row = mirror.get(name, {})
        revision = row.get("revision")
        registry[name] = HubEntry(
            name=name, kind=name, repo_id=row.get("repo_id") or f"msmesh/{name}-keypoints", revision=revision,
            published=revision is not None, sha256=_SHIPPED_SHA256[name], package=f"models/regress/{name}",
            source="msmesh keypoint " + ("HMR" if name == "hmr" else "t-HMMR") + " (tools/build_regressors.py)")
    return registry


@functools.cache
def registry() -> dict[str, HubEntry]:
    """The default weights per model: :func:`load_registry` of the shipped ``MIRROR.json``, read on first use
    (not at import), so a broken table is the one-line error of the command that needs it rather than a
    traceback of every command."""
    return load_registry()


def __getattr__(name: str) -> dict[str, HubEntry]:
    if name == "REGISTRY":  # the previous release's module constant, kept for library callers
        return registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def shipped_path(entry: HubEntry) -> Path | None:
    """The package's copy of an entry's weights folder, or None when this install has none."""
    from msmesh.assets import find_asset

    if entry.package is None:
        return None
    folder = find_asset(*entry.package.split("/"))
    return folder if folder is not None and (folder / entry.files[0]).exists() else None


def verify_shipped(entry: HubEntry, folder: Path) -> None:
    """Check the package copy's files against the registry's sha256 (a changed file is an install problem)."""
    for filename in entry.files:
        want = entry.digest(filename)
        if want is None:
            continue
        got = sha256_file(folder / filename)
        if got != want:
            raise ModelUnavailableError(f"{folder / filename}: sha256 {got[:16]}… does not match the registry's "
                                        f"{want[:16]}… for the shipped {entry.name} weights; reinstall msmesh")


def default_weights_available(temporal: bool = False) -> bool:
    """True when the default weights can be had without network access (package copy or Hub cache)."""
    entry = registry()["thmmr" if temporal else "hmr"]
    return shipped_path(entry) is not None or cached_path(entry) is not None


def default_weights(entry: HubEntry, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Folder holding an entry's weights: the package copy (checked), else the Hub mirror."""
    folder = shipped_path(entry)
    if folder is not None:
        verify_shipped(entry, folder)
        return folder
    return download(entry, cache_dir)


def hub_cache_dir() -> Path:
    """The Hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub, else huggingface_hub's default."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.path.expanduser(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        return Path(os.path.expanduser(os.environ["HF_HOME"])) / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def hub_offline() -> bool:
    """True when $HF_HUB_OFFLINE (read now, not at import) forbids network access."""
    value = os.environ.get("HF_HUB_OFFLINE")
    if value is None:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    return value.strip().upper() in ("1", "ON", "YES", "TRUE")


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(entry: HubEntry, filename: str, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Download (or find in the cache) one file of a registry entry; verify its sha256 when known."""
    if not entry.published or entry.revision is None:
        raise ModelUnavailableError(f"default {entry.name} weights ({entry.repo_id}) are {_UNPUBLISHED}")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils import EntryNotFoundError, HfHubHTTPError, OfflineModeIsEnabled

    cache = Path(cache_dir) if cache_dir is not None else hub_cache_dir()
    offline = hub_offline()
    where = f"{entry.repo_id}@{entry.revision[:12]}/{filename}"
    try:
        path = Path(hf_hub_download(entry.repo_id, filename, revision=entry.revision, cache_dir=str(cache),
                                    local_files_only=offline))
    except (EntryNotFoundError, OfflineModeIsEnabled, FileNotFoundError) as exc:
        if offline:
            raise ModelUnavailableError(
                f"{entry.name} weights are not in the Hub cache {cache} and HF_HUB_OFFLINE is set: run "
                f"`msmesh models download {entry.name}` with network access (it fetches {where}), or copy "
                f"that cache folder here, or pass --weights PATH") from exc
        raise ModelUnavailableError(f"cannot download {where}: {exc}") from exc
    except (HfHubHTTPError, OSError, ValueError) as exc:
        raise ModelUnavailableError(f"cannot download {where} into {cache}: {exc}; check the network, or "
                                    f"pass --weights PATH") from exc
    want = entry.digest(filename)
    if want is not None:
        got = sha256_file(path)
        if got != want:
            raise ModelUnavailableError(f"{path}: sha256 {got} does not match the registry's {want} for "
                                        f"{where}; delete the file and download it again")
    return path


def download(entry: HubEntry, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Fetch every file of an entry; return the snapshot folder holding them."""
    paths = [fetch(entry, f, cache_dir) for f in entry.files]
    return paths[0].parent


def cached_path(entry: HubEntry, cache_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The cached weights file of an entry, or None (no network access)."""
    if entry.revision is None:
        return None
    cache = Path(cache_dir) if cache_dir is not None else hub_cache_dir()
    folder = cache / f"models--{entry.repo_id.replace('/', '--')}" / "snapshots" / entry.revision
    path = folder / entry.files[0]
    return path if path.exists() else None


# --------------------------------------------------------------------------- state dicts


def strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove a leading ``model.`` / ``module.`` (DataParallel, Lightning) from every key."""
    out = {}
    for k, v in state.items():
        for pre in ("module.", "model."):
            if k.startswith(pre):
                k = k[len(pre):]
        out[k] = v
    return out


def _load_torch_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem is the user's file
        raise InputError(f"{path}: not a loadable PyTorch checkpoint ({exc})") from exc
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise InputError(f"{path}: expected a state dict (or {{'model': state_dict}})")
    return strip_prefixes(obj)


def config_from_state_dict(state: dict[str, torch.Tensor], kind: str, **overrides: Any) -> RegressorConfig:
    """Infer a RegressorConfig (widths, depths, sizes) from a state dict's shapes."""
    width = int(state["backbone.conv1.weight"].shape[0]) if "backbone.conv1.weight" in state else None
    layers = []
    for i in range(1, 5):
        idx = {int(k.split(".")[2]) for k in state if k.startswith(f"backbone.layer{i}.")}
        layers.append(max(idx) + 1 if idx else 0)
    hidden = int(state["smpl_head.fc1.weight"].shape[0])
    feat_dim = int(state["smpl_head.fc1.weight"].shape[1]) - 144 - 10 - 3
    cfg: dict[str, Any] = {"kind": kind, "hidden": hidden, "width": width or feat_dim // 32}
    if all(layers):
        cfg["layers"] = tuple(layers)
    if "encoder.pos_embedding.weight" in state:
        cfg["window"] = int(state["encoder.pos_embedding.weight"].shape[0])
        cfg["ff_dim"] = int(state["encoder.trans.linear1.weight"].shape[0])
        cfg["encoder"] = "transformer"
    cfg.update(overrides)
    config = RegressorConfig(**cfg)
    if config.feat_dim != feat_dim:
        raise InputError(f"checkpoint head expects {feat_dim}-d features but its backbone makes {config.feat_dim}")
    return config


def _authors_checkpoint(path: Path, kind: str) -> tuple[dict[str, torch.Tensor], RegressorConfig]:
    state = _load_torch_checkpoint(path)
    if kind == "thmmr" and not any(k.startswith("encoder.") for k in state):
        raise InputError(f"{path}: no temporal encoder weights (encoder.*) — this is an HMR checkpoint; "
                         f"give thmmr_ava.pt for --temporal")
    if not any(k.startswith("backbone.") for k in state):
        donors = [p for p in sorted(path.parent.glob("*.pt")) + sorted(path.parent.glob("*.pth")) if p != path]
        for donor in donors:
            dstate = _load_torch_checkpoint(donor)
            if any(k.startswith("backbone.") for k in dstate):
                state.update({k: v for k, v in dstate.items() if k.startswith("backbone.")})
                break
        else:
            raise ModelUnavailableError(f"{path} holds no image backbone (the authors' t-HMMR uses HMR's): put "
                                        f"hmr_ava.pt in the same folder ({path.parent})")
    keep = ("backbone.", "smpl_head.") + (("encoder.",) if kind == "thmmr" else ())
    state = {k: v for k, v in state.items() if k.startswith(keep)}
    config = config_from_state_dict(state, kind, image_size=256, pool="max",
                                    extra={"source": f"authors' checkpoint {path.name}"})
    return state, config


def _pick_in_folder(folder: Path, kind: str) -> Path:
    if (folder / WEIGHTS_FILE).exists():
        return folder / WEIGHTS_FILE
    authors = folder / ("thmmr_ava.pt" if kind == "thmmr" else "hmr_ava.pt")
    if authors.exists():
        return authors
    found = sorted(folder.glob("*.safetensors")) + sorted(folder.glob("*.pt"))
    if len(found) == 1:
        return found[0]
    raise InputError(f"{folder}: no {WEIGHTS_FILE} (from `msmesh train`) or {authors.name} found")


def read_weights(path: str | os.PathLike[str], kind: str) -> tuple[dict[str, torch.Tensor], RegressorConfig]:
    """A local weights file or folder → (state dict, config)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"--weights {p}: no such file or folder")
    if p.is_dir():
        p = _pick_in_folder(p, kind)
    if p.suffix in (".pt", ".pth", ".ckpt"):
        return _authors_checkpoint(p, kind)
    if p.suffix != ".safetensors":
        raise InputError(f"--weights {p}: expected a .safetensors file, a .pt checkpoint or a folder")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    cfg_path = p.parent / CONFIG_FILE
    if not cfg_path.exists():
        raise InputError(f"{p}: {CONFIG_FILE} missing beside it (written by `msmesh train`)")
    try:
        meta = json.loads(cfg_path.read_text(encoding="utf-8"))
        config = RegressorConfig.from_dict(meta)
    except (TypeError, ValueError, RecursionError, OSError) as exc:
        raise InputError(f"{cfg_path}: invalid regressor config ({exc})") from exc
    try:
        state = load_file(str(p))
    except (SafetensorError, OSError) as exc:
        raise InputError(f"{p}: not a readable safetensors file ({exc})") from exc
    if config.kind != kind:
        raise InputError(f"{p}: holds a {config.kind} model, but {kind} was asked for"
                         + (" (add --temporal)" if config.kind == "thmmr" else " (drop --temporal)"))
    return state, config


def build_model(config: RegressorConfig) -> Regressor:
    """An untrained model for a config."""
    return HMR(config) if config.kind == "hmr" else THMMR(config)


def load_regressor(weights: str | os.PathLike[str] | None = None, temporal: bool = False,
                   device: torch.device | str = "cpu", entry: HubEntry | None = None,
                   cache_dir: str | os.PathLike[str] | None = None) -> Regressor:
    """HMR (or t-HMMR with ``temporal``) ready for inference, from ``weights`` or the Hub registry."""
    kind = "thmmr" if temporal else "hmr"
    if weights is not None:
        state, config = read_weights(weights, kind)
        source = Path(weights).expanduser()
        source = _pick_in_folder(source, kind) if source.is_dir() else source
    else:
        folder = default_weights(entry or registry()[kind], cache_dir)
        source = folder / WEIGHTS_FILE
        state, config = read_weights(source, kind)
    try:
        model = build_model(config)
        missing, unexpected = model.load_state_dict(state, strict=False)
    except (RuntimeError, ValueError) as exc:  # shapes that do not fit the config
        first = str(exc).strip().splitlines()
        detail = next((ln.strip() for ln in first if "size mismatch" in ln or "shape" in ln), first[0] if first else "")
        raise InputError(f"{source}: weights do not fit the {kind} model of its config ({detail})") from exc
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise InputError(f"{source}: weights do not fit the {kind} model: missing {missing[:5]}"
                         f"{'…' if len(missing) > 5 else ''}, unexpected {list(unexpected)[:5]}")
    return model.to(device).eval()


def save_regressor(model: Regressor, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``model.safetensors`` + ``config.json`` into ``out_dir`` (atomically); return the folder."""
    from safetensors.torch import save

    from msmesh.atomic import atomic_write_bytes, atomic_write_text

    out = Path(out_dir)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write_bytes(out / WEIGHTS_FILE, save(state, metadata={"format": "msmesh/regressor@1"}))
    atomic_write_text(out / CONFIG_FILE, model.config.to_json() + "\n")
    return out


def is_commit(revision: str) -> bool:
    """True for a full 40-hex commit id (what the registry pins)."""
    return bool(_COMMIT.fullmatch(revision))
