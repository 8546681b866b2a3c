"""The fixed sets of values CLI options take, as enums: help lists them (`<up|down>`) and typer refuses others."""

from __future__ import annotations

import enum
from typing import get_args

from aigc_workflow.settings import ReviewMode as _ReviewModes

# Built from the settings' Literal, so the option cannot drift from what a batch accepts.
ReviewMode = enum.StrEnum("ReviewMode", {value: value for value in get_args(_ReviewModes)})


class ModelKind(enum.StrEnum):
    """The kinds of model the registry holds: fine-tuned text generators and bias classifiers."""

    TEXT = "text"  # training/run.py registers these
    BIAS = "bias"  # filters/build.py (KIND)


class BiasHead(enum.StrEnum):
    LOGISTIC = "logistic"
    MLP = "mlp"


class LogLevel(enum.StrEnum):
    """uvicorn's --log-level values."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    DEBUG = "debug"
    TRACE = "trace"
