"""featurize on a Dask cluster: FMA-shaped data with both representations (the 44 features and
musicnn's embedding) on a local 2-worker cluster give one process's bytes."""

from pathlib import Path

import pytest
import yaml
from fake_fma import write_fma  # tests/ is on sys.path under pytest

from genre.features import extraction
from genre.stages import augment, download, featurize

OUTPUTS = ("data/features/summary.parquet", "data/features/sequences.npy")


@pytest.mark.slow  # ~2 minutes: MP3s to write, two workers to start, TensorFlow in each
def test_a_dask_cluster_embeds_fma_as_one_process_does(tmp_path, monkeypatch):
    from distributed import LocalCluster

    fma = write_fma(tmp_path / "fma", per_genre=3, seconds=6.0)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(extraction.DASK_ENV, raising=False)
    params = {
        "data": {"source": "fma", "local_path": str(fma.root), "duration_s": 6.0},
        "augment": {"factor": 2},
        "featurize": {"representation": "both"},
    }
    Path("params.yaml").write_text(yaml.safe_dump(params))
    download.main()
    augment.main()
    monkeypatch.setenv(extraction.N_JOBS_ENV, "1")
    featurize.main()
    alone = [Path(name).read_bytes() for name in OUTPUTS]
    for name in OUTPUTS:
        Path(name).unlink()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    )
    with cluster:
        monkeypatch.setenv(extraction.DASK_ENV, cluster.scheduler_address)
        featurize.main()
    assert [Path(name).read_bytes() for name in OUTPUTS] == alone
    clips = len(Path("data/augmented/manifest.csv").read_text().splitlines()) - 1
    assert clips == 2 * len(fma.clips())  # every clip embedded, on the cluster
