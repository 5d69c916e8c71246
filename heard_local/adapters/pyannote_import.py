"""Importing pyannote.audio on PyTorch's CPU build.

pyannote.audio imports torchaudio (for resampling). torchaudio's wheels on PyPI carry native extensions
linked against CUDA (``libc10_cuda.so``); with the CPU build of torch they fail to load, and
``import torchaudio`` raises ``OSError: Could not load this library: .../torchaudio/lib/_torchaudio.so``.
torchaudio's loader has no switch for this: it loads ``torchaudio/lib/_torchaudio*.so`` whenever the file
exists, and skips the extension only when it does not.

heard-local uses nothing from that extension (it decodes audio itself and hands pyannote a waveform;
resampling is plain torch). So when, and only when, the extension fails to load, the import is retried
with torchaudio's ``_extension`` module replaced by the state torchaudio itself has when the files are
absent (the same as ``scripts/install.sh`` deleting them). Anything else that goes wrong is reported as
:class:`ModelUnavailableError` saying what to run.
"""

from __future__ import annotations

import logging
import sys
import types
from collections.abc import Callable
from typing import Any

from heard_local.errors import ModelUnavailableError

log = logging.getLogger(__name__)

FIX = ("Remove torchaudio's CUDA-only native libraries (heard-local does not use them): `python -c \"import "
       "pathlib, sysconfig; [p.unlink() for p in pathlib.Path(sysconfig.get_paths()['purelib'], 'torchaudio', "
       "'lib').glob('*.so')]\"` with the Python of heard-local's environment (for pipx: `pipx runpip heard-local "
       "show torchaudio` shows where it is).")


def import_pyannote() -> types.ModuleType:
    """``pyannote.audio``, imported so that it works on a CPU-only torch."""
    import_torchaudio()
    try:
        import pyannote.audio
    except ImportError as exc:
        raise ModelUnavailableError(f"pyannote.audio is not installed ({exc}); reinstall heard-local.") from None
    except OSError as exc:
        raise ModelUnavailableError(f"pyannote.audio cannot load a native library ({exc}). {FIX}") from None
    return pyannote.audio


def import_torchaudio() -> types.ModuleType | None:
    """torchaudio, without its native extension when that one cannot load; None when not installed."""
    try:
        import torchaudio
    except ImportError:
        return None
    except OSError as exc:
        if "torchaudio" not in str(exc):
            raise ModelUnavailableError(f"torchaudio cannot load a native library ({exc}). {FIX}") from None
        log.info("torchaudio's native extension does not load with this torch build (%s); "
                 "using torchaudio without it (heard-local does not need it)", exc.__cause__ or exc)
        return _import_without_extension(exc)
    return torchaudio


def _import_without_extension(original: OSError) -> types.ModuleType:
    for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
        del sys.modules[name]
    sys.modules["torchaudio._extension"] = _no_extension_module()
    try:
        import torchaudio
    except Exception as exc:  # a torchaudio whose internals differ: say what to run instead
        sys.modules.pop("torchaudio._extension", None)
        raise ModelUnavailableError(f"torchaudio cannot load its native library ({original}) and heard-local "
                                    f"could not do without it ({exc}). {FIX}") from None
    return torchaudio


def _no_extension_module() -> types.ModuleType:
    """What ``torchaudio._extension`` holds when its library files are absent."""
    module = types.ModuleType("torchaudio._extension")

    def fail_if_no_align(function: Callable[..., Any]) -> Callable[..., Any]:
        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("torchaudio's forced alignment needs its native extension, which heard-local "
                               "skipped because it does not load with this torch build")
        return unavailable

    module.__dict__.update({
        "_IS_TORCHAUDIO_EXT_AVAILABLE": False,
        "_IS_ALIGN_AVAILABLE": False,
        "fail_if_no_align": fail_if_no_align,
        "_load_lib": lambda lib: False,
        "_check_cuda_version": lambda: None,
        "__all__": ["_check_cuda_version", "_IS_TORCHAUDIO_EXT_AVAILABLE"],
    })
    return module
