"""Dask: a real LocalCluster of worker processes decides exactly as one process, including
cross-document groups whose documents sit in different partitions (found by the distributed
group-by on the rules' keys); the CLI's --dask local streams the same decisions."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.batches import _mixed

from vasp_rules import RulePack
from vasp_rules.cli import main

distributed = pytest.importorskip("dask.distributed")
db = pytest.importorskip("dask.bag")

AS_OF = date(2026, 6, 1)


@pytest.fixture(scope="module")
def client():  # type: ignore[no-untyped-def]
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_local_cluster_decides_as_one_process_across_partitions(client, pk: RulePack) -> None:  # type: ignore[no-untyped-def]
    from vasp_rules.scale.dask import evaluate_bag

    pack = pk
    docs = _mixed()
    expected = [d.to_json(indent=None) for d in pack.evaluate_many(docs, AS_OF)]
    # 6 partitions of 4: every shared wallet and the originator's transfers span partitions
    bag = db.from_sequence(docs, npartitions=6)
    assert bag.npartitions == 6
    seen: list[int] = []
    got = evaluate_bag(pack, bag, AS_OF, client=client, progress=seen.append)
    assert got == expected
    # progress: documents decided, partition by partition, up to all of them
    assert len(seen) == 6 and seen == sorted(seen) and seen[-1] == len(docs)
    assert sum("AMN-14" in d for d in got) == 8
    separate = [d.to_json(indent=None) for d in pack.evaluate_many(docs, AS_OF, batch=False)]
    assert evaluate_bag(pack, bag, AS_OF, client=client, batch=False) == separate


def test_dataframe_of_documents(client, pk: RulePack) -> None:  # type: ignore[no-untyped-def]
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    from vasp_rules.scale.dask import evaluate_bag

    pack = pk
    docs = [d for d in _mixed() if d["kind"] == "customer"]
    frame = dd.from_pandas(pd.DataFrame({"kind": [d["kind"] for d in docs],
                                         "doc": [json.dumps(d) for d in docs]}), npartitions=2)
    expected = [d.to_json(indent=None) for d in pack.evaluate_many(docs, AS_OF)]
    rows = frame["doc"].to_bag().map(json.loads)
    assert evaluate_bag(pack, rows, AS_OF, client=client) == expected


def test_cli_dask_local(tmp_path: Path, pk: RulePack) -> None:
    docs = _mixed()[:12]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        main, ["evaluate", str(src), "--as-of", "2026-06-01", "-o", str(out), "--dask", "local",
               "--progress"]
    )
    assert result.exit_code == 0, result.output
    assert "evaluating: 12 documents" in result.stderr  # the final count, drawn at the end
    pack = pk
    assert out.read_text().splitlines() == [
        d.to_json(indent=None) for d in pack.evaluate_many(docs, AS_OF)
    ]
