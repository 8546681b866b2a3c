"""The one Settings object: environment (AIGC_*), an optional aigc.toml, and defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ReviewMode = Literal["auto", "human", "held-only"]


class Bound(BaseModel):
    """A threshold on one scorer's value: below `min` or above `max` rejects."""

    min: float | None = None
    max: float | None = None


def default_gate() -> dict[str, Bound]:
    return {
        "relevance": Bound(min=0.25),
        "toxicity": Bound(max=0.5),
        "bias": Bound(max=0.5),
        "originality": Bound(min=0.10),
        "format": Bound(min=1.0),
    }


class GenerationSettings(BaseModel):
    max_new_tokens: int = Field(160, ge=1, le=4096)
    temperature: float = Field(0.8, ge=0.0, le=5.0)
    top_p: float = Field(0.95, gt=0.0, le=1.0)
    batch_size: int = Field(8, ge=1, le=256)


def _toml_path() -> Path:
    return Path(os.environ.get("AIGC_CONFIG", "aigc.toml"))


class Settings(BaseSettings):
    """Everything configurable, from env vars (AIGC_ prefix, `__` for nesting) and aigc.toml."""

    model_config = SettingsConfigDict(
        env_prefix="AIGC_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    home: Path = Field(Path(".aigc"), description="Holds the SQLite database, published files and model caches.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<home>/aigc.db.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    text_model: str = Field("bundled:smollm2-135m-instruct", description="Model spec of the text generator.")
    embedding_model: str = Field("bundled:all-minilm-l6-v2", description="Sentence model for relevance/originality.")
    toxicity_backend: Literal["classic", "detoxify"] = "classic"
    detoxify_variant: Literal["original", "unbiased", "multilingual"] = "original"
    detoxify_checkpoint: Path | None = None
    text_scorers: list[str] = Field(
        default_factory=lambda: ["relevance", "toxicity", "bias", "originality", "format"]
    )
    # Image drafts need these to pass; until they exist, image drafts are held, never approved.
    image_scorers: list[str] = Field(default_factory=lambda: ["clip", "nsfw", "image_originality"])
    scorer_timeout_s: float = Field(300.0, gt=0)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    gate: dict[str, Bound] = Field(default_factory=default_gate)
    channel_gates: dict[str, dict[str, Bound]] = Field(
        default_factory=dict, description="Per-channel overrides of `gate`, merged scorer by scorer."
    )
    default_channel: str = "default"
    candidates: int = Field(2, ge=1, le=64)
    review_mode: ReviewMode = "auto"
    review_timeout_s: int = Field(3600, ge=1)
    api_token: SecretStr | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then aigc.toml.
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path())
        return (init_settings, env_settings, toml, file_secret_settings)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'aigc.db').resolve()}"

    @property
    def published_dir(self) -> Path:
        return self.home / "published"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def gate_for(self, channel: str) -> dict[str, Bound]:
        """Thresholds for a channel: the global table with that channel's bounds laid over it."""
        merged = dict(self.gate)
        merged.update(self.channel_gates.get(channel, {}))
        return merged


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use (never at import)."""
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings
