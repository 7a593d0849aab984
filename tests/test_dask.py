"""tsfilm on a dask cluster: grid search through joblib's dask backend, files imputed by map.

A ``LocalCluster`` of two worker processes with one thread each stands for a cluster; a
worker plugin sets torch to one thread in every worker, once, so that the processes do
not oversubscribe the cores. Skipped without ``dask[distributed]``.
"""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from tsfilm import TFiLMImputer
from tsfilm.metrics import masked_l2_scorer
from tsfilm.preprocessing import hide_at_random

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow  # a cluster of two processes takes seconds to start

TINY = {**TFiLMImputer.get_test_params()[0], "max_epochs": 1}


def _panel(n: int = 8, length: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    return (np.sin(2 * np.pi * rng.uniform(1, 4, (n, 1)) * t) + 2).astype(np.float32)


def _torch_threads():
    """A function the workers can unpickle (by value: this module is not importable there)."""
    return lambda: __import__("torch").get_num_threads()


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import WorkerPlugin

    class OneTorchThread(WorkerPlugin):
        """Set torch to one thread in every worker, once, when it joins."""

        def setup(self, worker) -> None:
            import torch

            torch.set_num_threads(1)
            worker.torch_thread_setups = getattr(worker, "torch_thread_setups", 0) + 1

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        # As a worker could be (processes=False, another configuration): two threads.
        client.run(lambda: __import__("torch").set_num_threads(2))
        assert set(client.run(_torch_threads()).values()) == {2}
        client.register_plugin(OneTorchThread())
        yield client


def test_the_plugin_sets_one_torch_thread_once_per_worker(client):
    threads = client.run(_torch_threads())
    assert len(threads) == 2 and set(threads.values()) == {1}
    setups = client.run(lambda dask_worker: dask_worker.torch_thread_setups)
    assert set(setups.values()) == {1}


def test_grid_search_with_the_dask_backend_matches_one_process(client):
    X = _panel()
    X_missing, _ = hide_at_random(X, 0.2, random_state=0)
    grid = {"mask_rate": [0.1, 0.3]}

    def search() -> GridSearchCV:
        return GridSearchCV(TFiLMImputer(**TINY), grid, scoring=masked_l2_scorer, cv=2, n_jobs=-1)

    with joblib.parallel_backend("dask"):
        on_cluster = search().fit(X_missing, X)
    local = search().set_params(n_jobs=1).fit(X_missing, X)
    # Fits with the same random_state give the same scores wherever they run.
    np.testing.assert_allclose(
        on_cluster.cv_results_["mean_test_score"],
        local.cv_results_["mean_test_score"],
        rtol=1e-5,
    )
    assert on_cluster.best_params_ == local.best_params_
    np.testing.assert_allclose(
        on_cluster.transform(X_missing), local.transform(X_missing), rtol=1e-5, atol=1e-6
    )


def test_files_imputed_with_a_model_scattered_once(client, tmp_path):
    X = _panel(12)
    X_missing, _ = hide_at_random(X, 0.2, random_state=1)
    imputer = TFiLMImputer(**TINY).fit(X_missing)
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"part{i}.npy")
        np.save(paths[-1], X_missing[4 * i : 4 * i + 4])

    def impute_file(path: Path, model: TFiLMImputer) -> Path:
        # A large file: read and written on disk, chunk by chunk.
        source = np.load(path, mmap_mode="r")
        target = path.with_name(path.stem + ".filled.npy")
        out = np.lib.format.open_memmap(target, mode="w+", dtype=source.dtype, shape=source.shape)
        model.transform_to(source, out, chunk_size=2)
        out.flush()
        return target

    model = client.scatter(imputer, broadcast=True)
    written = client.gather(client.map(impute_file, paths, model=model))
    assert [p.name for p in written] == [f"part{i}.filled.npy" for i in range(3)]
    filled = np.concatenate([np.load(p) for p in written])
    observed = ~np.isnan(X_missing)
    assert np.array_equal(filled[observed], X_missing[observed])
    # Other batches than one call on every series: equal up to float32 rounding.
    np.testing.assert_allclose(filled, imputer.transform(X_missing), rtol=1e-5, atol=1e-6)
