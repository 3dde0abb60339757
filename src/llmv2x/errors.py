"""Exceptions of llmv2x. The CLI turns every LlmV2xError into one line on stderr."""

from __future__ import annotations


class LlmV2xError(Exception):
    """Base class of every error llmv2x raises on purpose (a user's mistake or a solver's)."""


class InstanceError(LlmV2xError):
    """An instance file or dictionary breaks a rule of docs/data-format.md."""


class SettingsError(LlmV2xError):
    """A solve setting is out of range or unknown (method, omega_t, objective variant)."""


class BackendUnavailable(LlmV2xError):
    """A solver backend was asked for but cannot run here; the message names the fix."""


class SolveError(LlmV2xError):
    """A solve failed in a way that leaves no verified point to report."""


class ResultError(LlmV2xError):
    """A result file is malformed."""
