"""The checked-pack cache (vasp_rules/pack/cache.py): a load that takes the checked pack from
the cache decides exactly as one that parses the files; any change to the files is a miss; a
damaged entry, a folder others can write to, or a cache turned off all fall back to parsing;
a pack that fails its checks is never cached."""

from __future__ import annotations

import json
import logging
import os
import pickle
import pwd
import shutil
import tempfile
from datetime import date
from pathlib import Path

import pytest

from vasp_rules import RulePack
from vasp_rules.cli.catalogue import render_catalogue
from vasp_rules.pack import cache
from vasp_rules.pack.loader import PackError, load_pack, pack_sha256

ROOT = Path(__file__).resolve().parent.parent
DATES = [date(2025, 7, 8), date(2026, 3, 3), date(2026, 6, 1), date(2031, 1, 1)]


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV, str(where))
    return where


def _copy_pk(tmp_path: Path) -> Path:
    root = tmp_path / "pk"
    shutil.copytree(ROOT / "rules" / "pk", root)
    return root


def _decisions(pack: RulePack) -> list[str]:
    docs = [json.loads(f.read_text()) for f in sorted((ROOT / "examples").glob("*.json"))]
    return [d.to_json() for on in DATES for d in pack.evaluate_many(docs, on, batch=False)]


def _entries(where: Path) -> list[Path]:
    return sorted(p for p in where.iterdir() if not p.name.startswith("."))


def test_a_cached_load_decides_exactly_as_a_parsed_one(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    root = _copy_pk(tmp_path)
    monkeypatch.setenv(cache.ENV, "off")
    parsed = RulePack.load(root)
    monkeypatch.setenv(cache.ENV, str(cache_dir))
    first = RulePack.load(root)  # parses and fills the cache
    assert len(_entries(cache_dir)) == 1
    assert cache.lookup(root, first.loaded.files, first.sha256) is not None  # the next is a hit
    cached = RulePack.load(root)
    assert cached.sha256 == parsed.sha256 == first.sha256
    assert cached.loaded.files == parsed.loaded.files  # the files of this load, not the cache's
    assert cached.root == root
    assert _decisions(cached) == _decisions(parsed)
    assert [r.line for r in cached.loaded.rules] == [r.line for r in parsed.loaded.rules]
    # the checker's types are keyed by node identity, which a pickle does not keep: every
    # node of every condition and value must still find its type
    for mine, theirs in zip(cached.loaded.rules, parsed.loaded.rules, strict=True):
        assert cache._by_node(mine.condition, mine.condition_types) and len(
            cache._by_node(mine.condition, mine.condition_types)
        ) == len(cache._by_node(theirs.condition, theirs.condition_types))
        for name, (expr, _type) in mine.values.items():
            assert len(cache._by_node(expr, mine.value_types[name])) == len(
                cache._by_node(theirs.values[name][0], theirs.value_types[name])
            )
    assert render_catalogue(cached) == render_catalogue(parsed)  # it reads those types
    cached.check_every_date()


def test_the_same_pack_in_another_folder_is_placed_there(cache_dir: Path, tmp_path: Path) -> None:
    first = RulePack.load(_copy_pk(tmp_path / "a"))
    elsewhere = _copy_pk(tmp_path / "b")
    second = RulePack.load(elsewhere)
    assert len(_entries(cache_dir)) == 1  # one entry: same files, same code
    assert second.root == elsewhere and second.sha256 == first.sha256


def test_a_changed_file_is_never_served_from_the_cache(cache_dir: Path, tmp_path: Path) -> None:
    root = _copy_pk(tmp_path)
    before = RulePack.load(root)
    rules = root / "rules" / "travel_rule.yaml"
    rules.write_text(
        rules.read_text().replace(
            "title: Structuring below the travel-rule threshold",
            "title: Structuring below the threshold (edited)",
        )
    )
    after = RulePack.load(root)
    assert after.sha256 != before.sha256
    titles = {r.spec.title for r in after.loaded.rules}
    assert "Structuring below the threshold (edited)" in titles
    assert len(_entries(cache_dir)) == 2


def test_a_damaged_entry_is_parsed_again_and_replaced(cache_dir: Path, tmp_path: Path) -> None:
    root = _copy_pk(tmp_path)
    expected = _decisions(RulePack.load(root))
    [entry] = _entries(cache_dir)
    entry.write_bytes(entry.read_bytes()[:1000])  # a crash mid-write cannot do this; a disk can
    assert _decisions(RulePack.load(root)) == expected
    assert len(entry.read_bytes()) > 1000  # written whole again
    entry.write_bytes(pickle.dumps({"not": "a pack"}))
    assert _decisions(RulePack.load(root)) == expected


def test_a_folder_others_can_write_to_is_not_trusted(
    cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry planted by someone else must not be loaded: here, another pack's checked form
    filed under this pack's key, in a folder anyone may write to."""
    root = _copy_pk(tmp_path)
    other = _copy_pk(tmp_path / "other")
    rules = other / "rules" / "travel_rule.yaml"
    rules.write_text(rules.read_text().replace("outcome: REFER", "outcome: APPROVE"))
    monkeypatch.setenv(cache.ENV, "off")
    planted, sha = load_pack(other), pack_sha256(load_pack(root).files)
    monkeypatch.setenv(cache.ENV, str(cache_dir))
    cache.store(planted, sha)  # filed under this pack's key
    assert len(_entries(cache_dir)) == 1
    cache_dir.chmod(0o777)
    loaded = RulePack.load(root)
    assert [r.spec.outcome for r in loaded.loaded.rules] == [
        r.spec.outcome for r in load_pack(root).rules
    ]
    cache_dir.chmod(0o700)  # once private, the folder's entries are used: the planted one here
    assert cache.lookup(root, {}, sha) is not None


def test_the_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    where = tmp_path / "cache"
    for setting in ("off", "0"):
        monkeypatch.setenv(cache.ENV, setting)
        assert cache.folder() is None
        RulePack.load(_copy_pk(tmp_path / setting))
    assert not where.exists()


def test_a_pack_that_fails_its_checks_is_not_cached(cache_dir: Path, tmp_path: Path) -> None:
    root = _copy_pk(tmp_path)
    rules = root / "rules" / "travel_rule.yaml"
    rules.write_text(rules.read_text().replace("outcome: REFER", "outcome: MAYBE", 1))
    for _ in range(2):  # the second load reports the same problem: nothing was kept
        with pytest.raises(PackError, match="outcome"):
            RulePack.load(root)
    assert not cache_dir.exists() or not _entries(cache_dir)


def test_an_unwritable_cache_folder_only_costs_the_parse(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.ENV, str(blocker / "cache"))
    pack = RulePack.load(_copy_pk(tmp_path))
    assert pack.version


def test_no_home_folder_skips_the_cache_with_a_note(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Issue 21: a container run under a UID with no passwd entry and no HOME: Path.home()
    raises; packs still load, parsed, with one note per process."""

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    for name in (cache.ENV, "XDG_CACHE_HOME", "HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    monkeypatch.setattr(cache, "_noted", False)
    with caplog.at_level("WARNING", logger="vasp_rules.pack.cache"):
        assert cache.folder() is None
        pack = load_pack(_copy_pk(tmp_path))
        load_pack(pack.root)
    assert pack.rules
    notes = [r.getMessage() for r in caplog.records]
    assert len(notes) == 1 and "no home folder" in notes[0] and cache.ENV in notes[0], notes


@pytest.mark.skipif(
    not hasattr(os, "fork") or os.geteuid() != 0,
    reason="needs root to become a UID with no passwd entry",
)
def test_a_uid_without_passwd_entry_and_no_home_loads_packs() -> None:
    """The real thing, in a forked child that becomes a UID /etc/passwd does not know and
    drops HOME: the pack loads, parsed, and the only output is the one-line note."""
    uid = next(u for u in range(54321, 54400) if not _known_uid(u))
    # a copy of pk that the child can read: tmp_path is not, and neither is a checkout in a
    # private folder (`mktemp -d` makes one 0700)
    where = Path(tempfile.mkdtemp(dir="/tmp"))
    where.chmod(0o755)
    root = where / "pk"
    shutil.copytree(ROOT / "rules" / "pk", root)
    try:
        _load_as_stranger(root, uid)
    finally:
        shutil.rmtree(where)


def _load_as_stranger(root: Path, uid: int) -> None:
    load_pack(root)  # every module the load needs is imported before the child loses root
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        code = 1
        try:
            os.setgid(uid)
            os.setuid(uid)
            for name in (cache.ENV, "XDG_CACHE_HOME", "HOME"):
                os.environ.pop(name, None)
            notes: list[str] = []
            handler = logging.Handler()
            handler.emit = lambda record: notes.append(record.getMessage())  # type: ignore[method-assign]
            logging.getLogger("vasp_rules.pack.cache").addHandler(handler)
            cache._noted = False
            pack = load_pack(root)
            load_pack(root)
            os.write(write, json.dumps([cache.folder() is None, len(pack.rules), notes]).encode())
            code = 0
        except BaseException as exc:
            os.write(write, json.dumps(repr(exc)).encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as fh:
        report = json.loads(fh.read())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, report
    off, rules, notes = report
    assert off and rules > 0
    assert len(notes) == 1 and "no home folder" in notes[0], notes


def _known_uid(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True
