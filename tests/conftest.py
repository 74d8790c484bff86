import pytest
import torch


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


def rel_err(actual: torch.Tensor, expected: torch.Tensor) -> float:
    from seqsi.invariance import relative_error

    return relative_error(actual, expected)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A real one-node SLURM cluster (slurm-wlm + munge) for the session; skips with the reason
    where it cannot start (not root, not installed)."""
    from slurm_cluster import Cluster, unavailable

    reason = unavailable()
    if reason:
        pytest.skip(reason)
    cluster = Cluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except (RuntimeError, OSError) as err:
        cluster.stop()
        pytest.skip(f"SLURM could not be started here: {err}")
    yield cluster
    cluster.stop()
