"""Builds random-weight Whisper models in CTranslate2 format, offline, for tests and benchmarks.

No Whisper weights can reach this machine, so tests build their own: a ``WhisperSpec`` filled with numpy
arrays plus a byte-level BPE ``tokenizer.json`` laid out like Whisper's (51,865 ids). The result loads
through the same ``faster_whisper.WhisperModel(directory)`` call users make with a real model.

Purely random weights babble until the 224-token limit, which makes assertions impossible. So the
decoder is wired as a bigram machine instead: every layer's output projection is zero, the residual
stream is just the token embedding, and the output projection maps each token of a fixed chain to the
next one. The model then deterministically says ``<|0.00|> <phrase> <|end|>`` for every window it
decodes (and ``<|en|>`` when asked for the language), which lets tests follow known text through
alignment and storage. Compute cost does not depend on the weights, so a model built with a real
architecture's dimensions (:data:`ARCHITECTURES`) costs what the real one costs: honest benchmarks.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Whisper's language tokens, in its own order (ids 50259…50357).
_LANGUAGE_LIST = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg "
    "lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so "
    "af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su"
)
WHISPER_LANGUAGES = tuple(_LANGUAGE_LIST.split())

TEXT_TOKENS = 50257  # ids 0…50256; <|endoftext|> follows
TIMESTAMPS = 1501  # <|0.00|> … <|30.00|>
DEFAULT_PHRASE = "hello from the tiny whisper model"

Normal = Callable[..., np.ndarray]  # (*shape, scale=) -> random float32 array


@dataclass(frozen=True)
class Dimensions:
    d_model: int
    encoder_layers: int
    decoder_layers: int
    heads: int
    n_mels: int = 80


# The published architectures (openai/whisper model cards), for honest benchmark timings.
ARCHITECTURES: dict[str, Dimensions] = {
    "test": Dimensions(64, 1, 1, 2),
    "tiny": Dimensions(384, 4, 4, 6),
    "base": Dimensions(512, 6, 6, 8),
    "small": Dimensions(768, 12, 12, 12),
    "medium": Dimensions(1024, 24, 24, 16),
    "large-v3": Dimensions(1280, 32, 32, 20, n_mels=128),
    "distil-large-v3": Dimensions(1280, 32, 2, 20, n_mels=128),
}


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (the byte-level BPE alphabet)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(
        range(ord("®"), ord("ÿ") + 1))
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, (chr(c) for c in chars), strict=True))


def special_tokens() -> list[str]:
    """Whisper's added tokens from id 50257 on, in order."""
    return [
        "<|endoftext|>", "<|startoftranscript|>", *[f"<|{code}|>" for code in WHISPER_LANGUAGES],
        "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nocaptions|>",
        "<|notimestamps|>", *[f"<|{i * 0.02:.2f}|>" for i in range(TIMESTAMPS)],
    ]


def _text_vocabulary(words: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Byte alphabet + one whole token per phrase word (built by merges) + filler, 50,257 strings.

    Any text still encodes (byte fallback through the alphabet), so prompts and hotwords work. Id
    50256 is the empty string: CTranslate2 treats a Whisper vocabulary as multilingual only then."""
    byte_chars = _bytes_to_unicode()
    tokens = [byte_chars[b] for b in range(256)]
    known = set(tokens)
    merges: list[tuple[str, str]] = []
    for word in words:
        mapped = "".join(byte_chars[b] for b in word.encode("utf-8"))
        current = mapped[0]
        for char in mapped[1:]:
            merged = current + char
            if merged not in known:
                merges.append((current, char))
                tokens.append(merged)
                known.add(merged)
            current = merged
    filler = TEXT_TOKENS - 1 - len(tokens)
    tokens.extend(f"<unused{i}>" for i in range(filler))
    tokens.append("")
    return tokens, merges


def write_tokenizer(directory: Path, words: list[str]) -> list[str]:
    """Write ``tokenizer.json``; return the full vocabulary (id -> token string)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    text_tokens, merges = _text_vocabulary(words)
    bpe = models.BPE(vocab={t: i for i, t in enumerate(text_tokens)}, merges=merges)
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens(special_tokens())
    tokenizer.save(str(directory / "tokenizer.json"))
    vocabulary = text_tokens + special_tokens()
    assert tokenizer.token_to_id("<|notimestamps|>") == 50363, "tokenizer ids drifted from Whisper's layout"
    return vocabulary


def _sinusoids(length: int, channels: int) -> np.ndarray:
    increment = math.log(10000) / (channels // 2 - 1)
    inv = np.exp(-increment * np.arange(channels // 2))
    scaled = np.arange(length)[:, None] * inv[None, :]
    return np.concatenate([np.sin(scaled), np.cos(scaled)], axis=1).astype(np.float32)


def build_tiny_whisper(directory: Path, *, architecture: str | Dimensions = "test",
                       phrase: str = DEFAULT_PHRASE, end_timestamp: float = 30.0, seed: int = 0,
                       quantization: str | None = None) -> Path:
    """Write a faster-whisper model directory that says ``phrase`` in every window it decodes.

    ``end_timestamp``: the timestamp token that closes the phrase (it is capped by faster-whisper to
    the window's content). ``architecture``: a name of :data:`ARCHITECTURES` or explicit dimensions.
    """
    import ctranslate2
    from ctranslate2.specs import whisper_spec

    dims = ARCHITECTURES[architecture] if isinstance(architecture, str) else architecture
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    d = dims.d_model
    words = [" " + w for w in phrase.split()]
    if len(set(words)) != len(words):
        raise ValueError("every word of the phrase must be distinct (the decoder is a bigram chain)")
    vocabulary = write_tokenizer(directory, words)
    index = {token: i for i, token in enumerate(vocabulary)}
    byte_chars = _bytes_to_unicode()
    word_ids = [index["".join(byte_chars[b] for b in w.encode("utf-8"))] for w in words]

    def ts(seconds: float) -> int:
        return index[f"<|{round(seconds / 0.02) * 0.02:.2f}|>"]

    chain = {
        index["<|startoftranscript|>"]: index["<|en|>"],
        index["<|transcribe|>"]: ts(0.0),
        index["<|notimestamps|>"]: word_ids[0],
        ts(0.0): word_ids[0],
    }
    for here, following in itertools.pairwise(word_ids):
        chain[here] = following
    chain[word_ids[-1]] = ts(end_timestamp)
    chain[ts(end_timestamp)] = index["<|endoftext|>"]

    def normal(*shape: int, scale: float = 0.02) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    spec = whisper_spec.WhisperSpec(dims.encoder_layers, dims.heads, dims.decoder_layers, dims.heads)
    enc = spec.encoder
    enc.conv1.weight = normal(d, dims.n_mels, 3)
    enc.conv1.bias = np.zeros(d, np.float32)
    enc.conv2.weight = normal(d, d, 3)
    enc.conv2.bias = np.zeros(d, np.float32)
    enc.position_encodings.encodings = _sinusoids(1500, d)
    enc.layer_norm.gamma, enc.layer_norm.beta = np.ones(d, np.float32), np.zeros(d, np.float32)
    for layer in enc.layer:
        _fill_attention(layer.self_attention, d, normal, fused=3)
        _fill_ffn(layer.ffn, d, normal)

    dec = spec.decoder
    vocab_size = len(vocabulary)
    embeddings = normal(vocab_size, d, scale=1.0)
    # The chain's tokens get mutually orthogonal, zero-mean embeddings, so the bigram lookup below
    # cannot confuse two of them (hence a phrase must be shorter than d_model).
    states = sorted(chain)
    if len(states) >= d:
        raise ValueError(f"a {len(words)}-word phrase needs d_model > {len(states)} (this architecture has {d})")
    basis = rng.standard_normal((d, len(states)))
    basis -= basis.mean(axis=0, keepdims=True)
    q, _ = np.linalg.qr(basis)
    embeddings[states] = (q.T * math.sqrt(d)).astype(np.float32)
    dec.embeddings.weight = embeddings
    dec.position_encodings.encodings = np.zeros((448, d), np.float32)
    dec.layer_norm.gamma, dec.layer_norm.beta = np.ones(d, np.float32), np.zeros(d, np.float32)
    for layer in dec.layer:
        _fill_attention(layer.self_attention, d, normal, fused=3, silent=True)
        _fill_cross_attention(layer.attention, d, normal)
        _fill_ffn(layer.ffn, d, normal, silent=True)

    # Output projection: logits = W · LayerNorm(embedding[token]); row next(t) points along t's
    # normalised embedding, so the next token's logit is ~30 and everything else's near 0 (far above
    # the ~7.3 needed to beat the summed probability of 1,501 timestamp tokens).
    projection = np.zeros((vocab_size, d), np.float32)
    for here, following in chain.items():
        e = embeddings[here] - embeddings[here].mean()
        e /= np.sqrt((e**2).mean() + 1e-5)
        projection[following] += 30.0 * e / d
    dec.projection.weight = projection
    dec.projection.bias = np.zeros(vocab_size, np.float32)

    spec.config.suppress_ids = []
    spec.config.suppress_ids_begin = [220, index["<|endoftext|>"]]
    spec.config.lang_ids = [index[f"<|{code}|>"] for code in WHISPER_LANGUAGES]
    spec.config.alignment_heads = [(layer, head) for layer in range(dims.decoder_layers // 2, dims.decoder_layers)
                                   for head in range(dims.heads)]
    spec.register_vocabulary(vocabulary)
    spec.validate()
    spec.optimize(quantization=quantization)
    spec.save(str(directory))
    (directory / "preprocessor_config.json").write_text(json.dumps({
        "feature_size": dims.n_mels, "sampling_rate": 16000, "hop_length": 160, "chunk_length": 30, "n_fft": 400,
    }))
    (directory / "tiny_whisper.json").write_text(json.dumps({
        "phrase": phrase, "architecture": dims.__dict__, "seed": seed, "ctranslate2": ctranslate2.__version__,
    }))
    return directory


def _fill_attention(attention: Any, d: int, normal: Normal, *, fused: int, silent: bool = False) -> None:
    """Self-attention: fused QKV in, output projection out (zero when ``silent``)."""
    attention.layer_norm.gamma = np.ones(d, np.float32)
    attention.layer_norm.beta = np.zeros(d, np.float32)
    attention.linear[0].weight = normal(fused * d, d)
    attention.linear[0].bias = np.zeros(fused * d, np.float32)
    attention.linear[1].weight = np.zeros((d, d), np.float32) if silent else normal(d, d)
    attention.linear[1].bias = np.zeros(d, np.float32)


def _fill_cross_attention(attention: Any, d: int, normal: Normal) -> None:
    """Cross-attention: Q, fused KV, output (zero: the text must not depend on the audio). Q and K stay
    random so word-timestamp alignment (which reads these attention weights) has something to read."""
    attention.layer_norm.gamma = np.ones(d, np.float32)
    attention.layer_norm.beta = np.zeros(d, np.float32)
    attention.linear[0].weight = normal(d, d, scale=1.0 / math.sqrt(d))
    attention.linear[0].bias = np.zeros(d, np.float32)
    attention.linear[1].weight = normal(2 * d, d, scale=1.0 / math.sqrt(d))
    attention.linear[1].bias = np.zeros(2 * d, np.float32)
    attention.linear[2].weight = np.zeros((d, d), np.float32)
    attention.linear[2].bias = np.zeros(d, np.float32)


def _fill_ffn(ffn: Any, d: int, normal: Normal, *, silent: bool = False) -> None:
    ffn.layer_norm.gamma = np.ones(d, np.float32)
    ffn.layer_norm.beta = np.zeros(d, np.float32)
    ffn.linear_0.weight = normal(4 * d, d)
    ffn.linear_0.bias = np.zeros(4 * d, np.float32)
    ffn.linear_1.weight = np.zeros((d, 4 * d), np.float32) if silent else normal(d, 4 * d)
    ffn.linear_1.bias = np.zeros(d, np.float32)
