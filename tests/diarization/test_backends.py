"""Compiled backends reproduce eager torch, and one that does not is refused."""

from __future__ import annotations

import pytest
import torch

from heard_local.adapters.fast_diarization.backends import available_backends, compile_module


def _small_convnet() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv1d(4, 8, 3, padding=1), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                                torch.nn.Conv1d(8, 2, 1))
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them into the conv matters
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
    return model.eval()


@pytest.mark.parametrize("backend", available_backends())
def test_each_available_backend_matches_eager(backend: str) -> None:
    model = _small_convnet()
    probe = torch.randn(1, 4, 50, generator=torch.Generator().manual_seed(1))
    compiled = compile_module(model, probe, tolerance=1e-4, backends=(backend,))
    assert compiled.backend == backend
    batch = torch.randn(3, 4, 50, generator=torch.Generator().manual_seed(2))  # another batch size
    with torch.inference_mode():
        expected = model(batch)
    torch.testing.assert_close(compiled(batch), expected, rtol=0, atol=1e-4)


class _CallCounter(torch.nn.Module):
    """Scales by how often it was called: tracing bakes the count in, so the traced copy disagrees."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return inputs * self.calls


def test_a_backend_that_disagrees_with_eager_is_not_used() -> None:
    compiled = compile_module(_CallCounter(), torch.ones(1, 3), tolerance=1e-6, backends=("torchscript", "eager"))
    assert compiled.backend == "eager"


def test_onnxruntime_is_offered_only_with_the_onnx_exporter() -> None:
    import importlib.util

    has_exporter = importlib.util.find_spec("onnx") is not None
    assert ("onnxruntime" in available_backends()) == has_exporter
    assert available_backends()[-2:] == ("torchscript", "eager")
