"""Evaluation on dask.distributed (optional extra: `pip install -e '.[dask]'` in a checkout).

Documents are a dask bag (or a dataframe, one row per document); each partition is validated
and decided in a worker that loads the pack once. When the pack relates documents, a first
round computes every document's group keys in its partition (interp/batchplan.py); a
distributed group-by on those keys (dask bag `foldby`) finds, for each partition, the documents
of other partitions that its documents may visit; the second round decides each partition
beside exactly those neighbours. Duplicates spread over different partitions are found as if
the whole population were evaluated in one process, and decisions are identical to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import IO, TYPE_CHECKING, Any

import dask
import dask.bag as db
from dask.delayed import Delayed, delayed

from ..core.limits import LimitError
from .chunks import Invalid, decide_chunk, grouping, relates, validate
from .groups import DocKeys
from .stream import Record, StreamError, parse_line, read_lines

if TYPE_CHECKING:
    from ..runtime.rulepack import RulePack

Ref = tuple[int, int]  # (partition, index in partition): orders like the input
_PACKS: dict[tuple[str, str], Any] = {}
Source = tuple[str, dict[str, Any]]  # a pack folder and its parameter overrides


def _pack(source: Source, sha256: str) -> RulePack:
    """The pack in this worker process, loaded once (with the caller's parameter overrides)."""
    from ..runtime.rulepack import RulePack

    root, overrides = source
    key = (root, sha256)
    if key not in _PACKS:
        pack = RulePack.load(root, overrides=overrides)
        if pack.sha256 != sha256:
            raise RuntimeError(f"a Dask worker loaded a different rule pack from {root}")
        _PACKS[key] = pack
    return _PACKS[key]  # type: ignore[no-any-return]


def _keys(root: Source, sha256: str, as_of: date, part: list[Any], i: int) -> list[tuple[Any, ...]]:
    """Round 1, one partition: each document's group keys as records for the group-by."""
    pack = _pack(root, sha256)
    g = grouping(pack, as_of)
    out: list[tuple[Any, ...]] = []
    for j, raw in enumerate(part):
        item = validate(raw, j)
        if isinstance(item, Invalid):
            continue
        keys: DocKeys = g.keys(item)
        ref = (i, j)
        out.append(("K", item.kind, ref))
        out.extend(("P", key, ref) for key in keys.publishes)
        out.extend(("Q", key, ref) for key in keys.probes)
        out.extend(("W", n, ref) for n in keys.wild)
        out.extend(("N", kind, ref) for kind in set(keys.needs_all))
        out.extend(("L", key, ref) for key in keys.links)
    return out


def _group(acc: tuple[set[Ref], set[int]], rec: tuple[Any, ...]) -> tuple[set[Ref], set[int]]:
    """Fold one record into its key's group: documents that publish it, partitions that look
    for it. In place: each key's accumulator is its own (`_empty` makes a fresh one per key),
    and copying a set per record made a group of n documents cost O(n²)."""
    if rec[0] in ("P", "W", "K"):
        acc[0].add(rec[2])
    else:
        acc[1].add(rec[2][0])
    return acc


def _empty() -> tuple[set[Ref], set[int]]:
    return set(), set()


def _merge(a: tuple[set[Ref], set[int]], b: tuple[set[Ref], set[int]]) -> tuple[set[Ref], set[int]]:
    a[0].update(b[0])
    a[1].update(b[1])
    return a


def _linked_pairs(links: list[tuple[Any, ...]]) -> list[tuple[int, Ref]]:
    """(partition, document) pairs for transitive links (`linked(...)`): each partition needs
    the other partitions' documents of its documents' components. Components are joined here,
    by union-find over the link records (key, document), near-linear in their number."""
    from ..interp.keyed import components

    refs = sorted({rec[2] for rec in links})
    number = {ref: i for i, ref in enumerate(refs)}
    by_key: dict[Any, list[int]] = {}
    for _, key, ref in links:
        by_key.setdefault(key, []).append(number[ref])
    roots = components(len(refs), list(by_key.values()))
    members: dict[int, list[Ref]] = {}
    for ref, root in zip(refs, roots, strict=True):
        members.setdefault(root, []).append(ref)
    pairs: list[tuple[int, Ref]] = []
    for group in members.values():
        for p in {ref[0] for ref in group}:
            pairs.extend((p, ref) for ref in group if ref[0] != p)
    return pairs


def _group_key(rec: tuple[Any, ...]) -> Any:
    kind = rec[0]
    if kind in ("P", "Q"):
        return ("key", rec[1])
    if kind == "W":
        return ("wild", rec[1])
    if kind == "K":
        return ("kind", rec[1])
    return ("kind", rec[1])  # "N": a document that visits every document of a kind


def _is_link(rec: tuple[Any, ...]) -> bool:
    return bool(rec[0] == "L")


def _not_link(rec: tuple[Any, ...]) -> bool:
    return bool(rec[0] != "L")


def _wild_seekers(rec: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """A probe also looks for its access's documents with unknown keys."""
    if rec[0] == "Q":
        return [rec, ("Q", ("wild-of", rec[1][0]), rec[2])]
    return [rec]


def _wild_key(rec: tuple[Any, ...]) -> Any:
    if rec[0] == "Q" and isinstance(rec[1], tuple) and rec[1] and rec[1][0] == "wild-of":
        return ("wild", rec[1][1])
    return _group_key(rec)


def _needs(item: tuple[Any, tuple[set[Ref], set[int]]]) -> list[tuple[int, Ref]]:
    """(partition, document) pairs: the documents each partition must see beside its own."""
    _, (members, seekers) = item
    return [(p, ref) for p in seekers for ref in members if ref[0] != p]


def _decide(
    root: Source,
    sha256: str,
    as_of: date,
    part: list[Any],
    i: int,
    neighbours: list[list[tuple[Ref, Any]]],
    batch: bool,
    engine: str,
) -> list[tuple[Ref, Any]]:
    """Round 2, one partition: its decisions (JSON text) or Invalid records, in order."""
    pack = _pack(root, sha256)
    own = [(i * _STRIDE + j, validate(raw, j)) for j, raw in enumerate(part)]
    near = [(p * _STRIDE + j, validate(raw, j)) for group in neighbours for (p, j), raw in group]
    out = decide_chunk(pack, own, near, as_of, engine, batch, True)
    return [((pos // _STRIDE, pos % _STRIDE), r) for pos, r in out]


_STRIDE = 1 << 32  # a (partition, index) reference as one ordered integer


def _pick(part: list[Any], i: int, wanted: list[int]) -> list[tuple[Ref, Any]]:
    return [((i, j), part[j]) for j in wanted]


def evaluate_bag(
    pack: RulePack,
    bag: db.Bag | Any,
    as_of: date,
    *,
    client: Any = None,
    batch: bool = True,
    engine: str = "durable",
    errors: bool = False,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """Decisions (canonical JSON, one line each) for every document of a dask bag, or of a
    dask dataframe with one document per row, in input order. A document that fails validation
    raises DocumentError, or with `errors=True` gives its Invalid record in its place."""
    if not isinstance(bag, db.Bag):
        bag = bag.to_bag(format="dict")
    root, sha = (str(pack.root), pack.overrides), pack.sha256
    parts: list[Delayed] = list(bag.to_delayed())
    neighbours: dict[int, dict[int, list[int]]] = {}
    if relates(pack, as_of, batch):
        records = db.from_delayed(
            [delayed(_keys)(root, sha, as_of, part, i) for i, part in enumerate(parts)]
        )
        keyed = records.filter(_not_link)
        groups = (
            keyed.map(_wild_seekers).flatten().foldby(_wild_key, _group, _empty, _merge, _empty)
        )
        pairs = groups.map(_needs).flatten().distinct()
        link_records = records.filter(_is_link)
        pair_list, link_list = _compute(client, pairs, link_records)
        found = set(pair_list)
        found.update(_linked_pairs(list(link_list)))
        for p, (k, j) in sorted(found):
            neighbours.setdefault(p, {}).setdefault(k, []).append(j)
    decided = []
    for i, part in enumerate(parts):
        near = [
            delayed(_pick)(parts[k], k, sorted(js))
            for k, js in sorted(neighbours.get(i, {}).items())
        ]
        decided.append(delayed(_decide)(root, sha, as_of, part, i, near, batch, engine))
    results = _compute_all(decided, client, progress)
    out: list[Any] = []
    for part_results in results:
        for (p, j), result in part_results:
            if isinstance(result, Invalid) and not errors:
                from ..entities.registry import DocumentError

                raise DocumentError(
                    [
                        (f"partition {p} document {j}" + (f".{q}" if q else ""), m)
                        for q, m in result.errors
                    ]
                )
            out.append(result)
    return out


def _compute(client: Any, *collections: Any) -> tuple[Any, ...]:
    """Several collections computed together (on the client's cluster, or locally)."""
    if client is not None:
        return tuple(client.gather(client.compute(list(collections))))
    return tuple(dask.compute(*collections))  # type: ignore[attr-defined]


def _compute_all(
    tasks: list[Delayed], client: Any, progress: Callable[[int], None] | None = None
) -> list[Any]:
    """Each task's result, in order; `progress` is told how many documents are decided as
    partitions finish (with a distributed client)."""
    if client is None:
        return list(dask.compute(*tasks))  # type: ignore[attr-defined]
    futures = client.compute(tasks)
    if progress is not None:
        from dask.distributed import as_completed

        done = 0
        for future in as_completed(futures):
            done += len(future.result())
            progress(done)
    return list(client.gather(futures))


def connect(address: str) -> tuple[Any, Any]:
    """A client for `local` (a LocalCluster of worker processes, one thread each) or a
    scheduler address; returns (client, cluster or None)."""
    from dask.distributed import Client, LocalCluster

    if address == "local":
        cluster = LocalCluster(processes=True, threads_per_worker=1, dashboard_address=":0")
        return Client(cluster), cluster
    return Client(address), None


def stream_with_dask(
    pack: RulePack,
    source: IO[bytes],
    as_of: date,
    *,
    address: str,
    batch: bool,
    on_error: str,
    partition_size: int = 2000,
    progress: Callable[[int, int, int], None] | None = None,
) -> Iterator[Record]:
    """The CLI's --dask path: lines read here, partitioned, decided on the cluster, records
    yielded in input order (the input is held by the cluster for the run)."""
    numbers: list[int] = []
    docs: list[Any] = []
    bad: dict[int, str] = {}
    read = 0
    for number, text in read_lines(source):
        numbers.append(number)
        read += len(text)
        try:
            docs.append(parse_line(text))
        except LimitError as exc:
            bad[len(docs)] = exc.message
            docs.append({})
        except ValueError as exc:
            bad[len(docs)] = f"invalid JSON: {exc}"
            docs.append({})
        if progress is not None and len(docs) % 1000 == 0:
            progress(0, read, 0)
    total = len(docs)
    client, cluster = connect(address)
    try:
        bag = db.from_sequence(docs, partition_size=partition_size)
        results = evaluate_bag(
            pack,
            bag,
            as_of,
            client=client,
            batch=batch,
            errors=True,
            progress=None if progress is None else (lambda n: progress(n, -1, total)),
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    import json

    for n, (number, result) in enumerate(zip(numbers, results, strict=True)):
        if n in bad or isinstance(result, Invalid):
            message = bad.get(n) or result.message()
            if on_error == "stop":
                raise StreamError(number, message)
            yield Record(number, error=message)
            continue
        data = json.loads(result)
        fired = tuple(sorted({f["rule_id"] for f in data["findings"]}))
        yield Record(number, decision=result, outcome=data["outcome"], fired=fired)


__all__ = ["connect", "evaluate_bag", "stream_with_dask"]
