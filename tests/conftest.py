import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


def rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    from seqsi.invariance import relative_error

    return relative_error(actual, expected)
