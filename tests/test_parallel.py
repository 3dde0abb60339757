"""The shared Dask client: its local workers keep glibc's adaptive malloc."""

from __future__ import annotations

import os

import pytest

from llmv2x.parallel import dask_client

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")


def test_local_workers_do_not_get_dasks_malloc_trim_threshold():
    client, cluster = dask_client(1, None, "executor dask")
    try:
        got = client.submit(os.environ.get, "MALLOC_TRIM_THRESHOLD_", pure=False).result()
    finally:
        client.close()
        cluster.close()
    assert got == os.environ.get("MALLOC_TRIM_THRESHOLD_")  # inherited, not Dask's 65536
