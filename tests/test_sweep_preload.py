"""neurotp/sweep/preload.py: a LocalCluster's workers import neurotp as they start."""

import sys


def _imported() -> list[bool]:
    return [m in sys.modules for m in ("neurotp.simulation", "neurotp.engines.numba", "numba")]


def test_localcluster_workers_import_neurotp_as_they_start():
    """The preload runs in each worker before any point: a worker that has run nothing yet
    already holds the simulation and the Numba engine (the client warms the kernels
    meanwhile); without the preload none of them is imported there."""
    from neurotp.sweep.runner import _client

    client, cluster = _client(None, 1)
    try:
        assert list(client.run(_imported).values()) == [[True, True, True]]
    finally:
        client.close()
        cluster.close()
