"""The user's own Ollama: field extraction, summaries and the analytics narrative (the only module that
imports ``ollama``).

Every request is non-streaming ``POST /api/chat`` with ``format`` = a JSON schema (structured outputs)
and ``num_ctx`` = ``HEARD_OLLAMA_CONTEXT_TOKENS``, so Ollama gives the model the context the chunking
was planned for instead of its smaller default. Whatever goes wrong on the way (not running, model not
pulled, timed out, a server error) becomes an LlmUnavailableError whose message says what to do; the
engine then keeps the conversation and marks the LLM work pending, to be re-run later.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import ollama

from heard_local.config import Settings
from heard_local.domain import ExtractionField, Fields, Summary
from heard_local.errors import LlmUnavailableError
from heard_local.pipeline.extraction import extract_fields
from heard_local.pipeline.narrative import Narrative, write_narrative
from heard_local.pipeline.progress import ProgressHook
from heard_local.pipeline.protocols import LlmContext
from heard_local.pipeline.structured import Message
from heard_local.pipeline.summary import summarize_conversation

log = logging.getLogger(__name__)

# The health check must answer quickly even when the configured generation timeout is minutes long.
HEALTH_TIMEOUT_SECONDS = 5.0

RUNNING = "running"
NOT_RUNNING = "not_running"
MODEL_NOT_PULLED = "model_not_pulled"
ERROR = "error"


def _full_name(model: str) -> str:
    """Ollama's canonical name: a model without a tag means ``:latest``."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


class OllamaLlm:
    """FieldExtractor and Summarizer (pipeline/protocols.py) on a local Ollama server."""

    def __init__(self, settings: Settings):
        self.host = settings.ollama_host
        self.model = settings.ollama_model
        self.timeout = settings.ollama_timeout_seconds
        self.context_tokens = settings.ollama_context_tokens
        self._client = ollama.Client(host=self.host, timeout=self.timeout)
        self._health_client = ollama.Client(host=self.host, timeout=min(HEALTH_TIMEOUT_SECONDS, self.timeout))

    def close(self) -> None:
        self._client.close()
        self._health_client.close()

    # --- messages for the user ------------------------------------------------------------------------

    def _not_running(self) -> str:
        return (f"Ollama is not running at {self.host}: start it with `ollama serve` (or set HEARD_OLLAMA_HOST "
                "to where it runs).")

    def _not_pulled(self) -> str:
        return (f"The Ollama model {self.model} is not pulled: run `ollama pull {self.model}` (or set "
                "HEARD_OLLAMA_MODEL to a model you have).")

    def _unavailable(self, error: Exception) -> LlmUnavailableError:
        """The actionable error for anything that kept Ollama from answering."""
        if isinstance(error, ollama.ResponseError):
            text = str(error.error)
            if error.status_code == 404 and "not found" in text.lower():
                return LlmUnavailableError(self._not_pulled(), details={"host": self.host, "model": self.model})
            if error.status_code >= 500:
                message = (f"Ollama at {self.host} failed with HTTP {error.status_code} ({text}). It may be out of "
                           "memory or restarting: check `ollama ps` and its log, then re-run.")
            else:  # most likely an Ollama too old for JSON-schema structured outputs (added in 0.5)
                message = (f"Ollama at {self.host} refused the request with HTTP {error.status_code}: {text}. "
                           "heard-local needs Ollama 0.5 or newer (structured outputs): update it, then re-run.")
            return LlmUnavailableError(message, details={"host": self.host, "status": error.status_code})
        if isinstance(error, httpx.TimeoutException):
            return LlmUnavailableError(
                f"Ollama at {self.host} did not answer within {self.timeout:g} s (model {self.model}). It may still "
                "be loading the model or the machine is busy: re-run later, or raise HEARD_OLLAMA_TIMEOUT_SECONDS.",
                details={"host": self.host, "timeout_seconds": self.timeout},
            )
        if isinstance(error, ConnectionError):  # the ollama client's translation of a refused connection
            return LlmUnavailableError(self._not_running(), details={"host": self.host})
        return LlmUnavailableError(
            f"Could not talk to Ollama at {self.host} ({type(error).__name__}: {error}); check that it is running "
            "(`ollama serve`) and re-run.",
            details={"host": self.host},
        )

    # --- the chat every stage uses ----------------------------------------------------------------------

    def chat(self, messages: list[Message], schema: dict[str, Any], *, temperature: float) -> str:
        """One structured-output chat; the answer's raw content (validated by the caller)."""
        try:
            response = self._client.chat(
                model=self.model,
                messages=messages,
                format=schema,
                stream=False,
                options={"temperature": temperature, "num_ctx": self.context_tokens},
            )
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError) as exc:
            raise self._unavailable(exc) from None
        except Exception as exc:  # e.g. a proxy answering HTML: never let it fail the transcription
            log.warning("unexpected answer from Ollama at %s", self.host, exc_info=exc)
            raise LlmUnavailableError(
                f"Ollama at {self.host} answered with something that is not Ollama's API ({type(exc).__name__}: "
                f"{exc}); check that HEARD_OLLAMA_HOST points at Ollama itself.", details={"host": self.host},
            ) from None
        return response.message.content or ""

    # --- the stages -------------------------------------------------------------------------------------

    def extract(self, context: LlmContext, fields: list[ExtractionField], hook: ProgressHook) -> Fields:
        return extract_fields(context, fields, self.chat, context_tokens=self.context_tokens, hook=hook)

    def summarize(self, context: LlmContext, language: str | None, hook: ProgressHook) -> Summary:
        return summarize_conversation(context, language, self.chat, context_tokens=self.context_tokens, hook=hook)

    def narrate(self, facts: dict[str, Any], summaries: list[str], language: str | None,
                instructions: str | None = None) -> Narrative:
        return write_narrative(facts, summaries, language, self.chat, context_tokens=self.context_tokens,
                               instructions=instructions)

    # --- health -----------------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``status``: running / not_running / model_not_pulled / error, with a message saying what to do."""
        report: dict[str, Any] = {"host": self.host, "model": self.model, "available_models": []}
        try:
            listed = self._health_client.list()
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError) as exc:
            error = self._unavailable(exc)
            status = NOT_RUNNING if isinstance(exc, ConnectionError | httpx.TransportError) else ERROR
            return {**report, "status": status, "ok": False, "message": error.message}
        except Exception as exc:  # not Ollama's API at all
            return {**report, "status": ERROR, "ok": False,
                    "message": f"{self.host} does not answer like Ollama ({type(exc).__name__}: {exc}); check "
                               "HEARD_OLLAMA_HOST."}
        names = [m.model for m in listed.models if m.model]
        report["available_models"] = names
        if _full_name(self.model) not in {_full_name(n) for n in names}:
            return {**report, "status": MODEL_NOT_PULLED, "ok": False, "message": self._not_pulled()}
        return {**report, "status": RUNNING, "ok": True,
                "message": f"Ollama is running at {self.host} with the model {self.model}."}
