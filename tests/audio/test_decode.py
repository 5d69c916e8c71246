"""Decoding every supported format to 16 kHz float32, once, with all channels kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from heard_local.adapters.audio_decode import decode_audio, probe_duration
from heard_local.errors import UnsupportedFormatError, ValidationError
from heard_local.pipeline.audio_format import detect_audio_format
from tests.support import speech

JFK_SECONDS = 11.0


@pytest.mark.parametrize(("parts", "channels"), [
    (("whisper.cpp", "jfk.wav"), 1),
    (("whisper.cpp", "jfk.mp3"), 1),
    (("whisper", "jfk.flac"), 2),  # 44.1 kHz stereo
    (("faster-whisper", "stereo_diarization.wav"), 2),
])
def test_real_recordings_decode_to_16k_float32(shared_data: type, parts: tuple[str, str], channels: int) -> None:
    path = shared_data(*parts)
    waveform = decode_audio(path)
    assert waveform.sample_rate == 16_000
    assert waveform.samples.dtype == np.float32
    assert waveform.channels == channels
    assert waveform.mono.ndim == 1 and waveform.mono.shape[0] == waveform.samples.shape[1]
    assert 0.05 < float(np.abs(waveform.samples).max()) <= 1.0
    assert waveform.duration == pytest.approx(probe_duration(path), abs=0.05)
    assert waveform.notes == ()


@pytest.mark.parametrize("extension", [".m4a", ".webm", ".ogg", ".flac", ".mp3", ".aac", ".wma", ".aiff", ".caf",
                                       ".3gp", ".au", ".ac3", ".wv"])
def test_every_format_decodes_to_the_same_speech(shared_data: type, tmp_path: Path, extension: str) -> None:
    reference = decode_audio(shared_data("whisper.cpp", "jfk.wav")).mono
    encoded = speech.convert(shared_data("whisper.cpp", "jfk.wav"), tmp_path / f"jfk{extension}")
    # the content decides, not the name
    renamed = encoded.rename(tmp_path / "recording.bin")
    assert detect_audio_format(renamed) == extension[1:]
    decoded = decode_audio(renamed).mono
    assert abs(decoded.shape[0] - reference.shape[0]) < 0.1 * 16_000  # codec padding at most (raw AAC: 72 ms)
    # lossy codecs shift (raw AAC and WMA keep their encoder delay) and colour the signal a little; the
    # loudness envelope stays the same speech
    shifts = range(0, 1601, 80)
    assert max(max(_envelope_match(reference, decoded[s:]), _envelope_match(reference[s:], decoded))
               for s in shifts) > 0.95


def _envelope_match(reference: np.ndarray, decoded: np.ndarray) -> float:
    n = min(decoded.shape[0], reference.shape[0]) // 1600 * 1600
    envelope = [np.sqrt((x[:n].reshape(-1, 1600) ** 2).mean(axis=1)) for x in (reference, decoded)]
    return float(np.corrcoef(envelope[0], envelope[1])[0, 1])


def test_stereo_call_keeps_one_party_per_channel(stereo_call: speech.Conversation) -> None:
    waveform = decode_audio(stereo_call.path)
    assert waveform.channels == 2
    left_turn = next(t for t in stereo_call.turns if stereo_call.channel_of[t.speaker] == 0)
    s, e = round(left_turn.start * 16_000), round(left_turn.end * 16_000)
    left, right = waveform.samples[0, s:e], waveform.samples[1, s:e]
    assert float(np.abs(left).max()) > 0.1
    assert float(np.abs(right).max()) < 1e-3
    assert waveform.mono == pytest.approx((waveform.samples[0] + waveform.samples[1]) / 2)


def test_non_ascii_file_names_decode(shared_data: type) -> None:
    waveform = decode_audio(shared_data("pyannote-audio", "tests-data", "trñ00.wav"))
    assert waveform.duration == pytest.approx(30.0, abs=0.01)


def test_the_decoded_array_is_the_only_copy_of_a_long_recording(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = speech.write_audio(tmp_path / "long.wav", (0.1 * rng.standard_normal((2, 16_000 * 120))).astype(np.float32))
    waveform = decode_audio(path)
    assert waveform.samples.shape == (2, 16_000 * 120)
    # one buffer sized from the header: at most a few percent of head-room, no second full-size array
    owner = waveform.samples.base if waveform.samples.base is not None else waveform.samples
    assert owner.nbytes <= 1.03 * waveform.samples.nbytes + 2 * 16_000 * 4


@pytest.mark.parametrize(("content", "error"), [
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(200), ValidationError),  # a header and nothing decodable
    (b"OggS", ValidationError),
    (b"just some text pretending to be audio\n" * 20, ValidationError),
])
def test_corrupt_files_fail_with_a_clear_error(tmp_path: Path, content: bytes, error: type) -> None:
    path = tmp_path / "broken.wav"
    path.write_bytes(content)
    with pytest.raises(error) as raised:
        decode_audio(path)
    assert raised.value.code in ("VALIDATION_ERROR", "UNSUPPORTED_FORMAT")
    assert "audio" in raised.value.message.lower()
    assert probe_duration(path) is None


def test_a_truncated_file_keeps_what_decodes_and_says_so(shared_data: type, tmp_path: Path) -> None:
    whole = shared_data("whisper.cpp", "jfk.mp3").read_bytes()
    path = tmp_path / "cut.mp3"
    path.write_bytes(whole[: len(whole) // 3])
    waveform = decode_audio(path)
    assert 2.0 < waveform.duration < 6.0
    assert waveform.notes and "truncated" in waveform.notes[0]


def test_a_file_without_audio_is_unsupported(tmp_path: Path) -> None:
    import av

    path = tmp_path / "video-only.webm"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libvpx", rate=1)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((16, 16, 3), np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(UnsupportedFormatError):
        decode_audio(path)


def test_amr_from_a_phone_recorder_is_recognised_and_decoded(tmp_path: Path) -> None:
    # ffmpeg here has no AMR encoder: an AMR-NB file written by hand, 50 frames of 20 ms at 12.2 kbit/s
    # (frame header 0x3C and 31 bytes of speech parameters each)
    path = tmp_path / "voice-memo"
    path.write_bytes(b"#!AMR\n" + (b"\x3c" + bytes(range(31))) * 50)
    assert detect_audio_format(path) == "amr"
    assert decode_audio(path).duration == pytest.approx(1.0, abs=0.05)


@pytest.mark.parametrize("content", [
    b"just some text pretending to be audio\n" * 20,
    "\ufeffWindows Notepad text".encode("utf-16"),  # FF FE: looks like an MPEG/ADTS sync word
    b"MAC address list: 00:11:22\n" * 10,
    b"FORM letter, not an AIFF\n" * 10,
    b"caffeine intake log\n" * 10,
])
def test_text_is_still_not_audio(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.wav"
    path.write_bytes(content)
    with pytest.raises(UnsupportedFormatError) as raised:
        detect_audio_format(path)
    assert raised.value.message.startswith("Audio format not recognized. Supported: wav, mp3, flac")
