"""Large JSON Lines files are read in parts: the same build, bounded reads."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from indexer import writer
from indexer.readers import archive
from indexer.readers.archive import FilePart, file_parts, read_file
from search.engine import Engine

BODY = "تقرير عن أسعار النفط والغاز في الأسواق العالمية رقم {n} " * 3


def write_records(path: Path, n: int = 120) -> Path:
    """JSON Lines with what a real export holds: blank lines, broken lines,
    records without an id, duplicates and a non-object."""
    lines = []
    for i in range(n):
        record = {"headline": f"خبر رقم {i}", "body": BODY.format(n=i % 97),
                  "date": f"2023-0{1 + i % 9}-1{i % 10}", "source": "مصدر"}
        if i % 7:
            record["id"] = f"r{i}"
        lines.append(json.dumps(record, ensure_ascii=False))
        if i % 11 == 0:
            lines.append("")
        if i % 13 == 0:
            lines.append("{broken")
        if i % 29 == 0:
            lines.append("[1, 2]")
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_parts_end_at_line_ends_and_cover_the_file(tmp_path):
    path = write_records(tmp_path / "big.jsonl")
    parts = file_parts(path, "auto", part_bytes=2000)
    assert len(parts) > 5 and all(isinstance(p, FilePart) for p in parts)
    data = path.read_bytes()
    assert parts[0].start == 0 and parts[-1].end == len(data)
    assert [p.number for p in parts] == list(range(len(parts)))
    assert [p.last for p in parts] == [False] * (len(parts) - 1) + [True]
    for before, after in itertools.pairwise(parts):
        assert before.end == after.start and data[before.end - 1:before.end] == b"\n"
        assert after.line == before.line + data[before.start:before.end].count(b"\n")


def test_small_files_and_other_formats_are_read_whole(tmp_path):
    small = write_records(tmp_path / "small.jsonl", 3)
    assert file_parts(small, "auto", part_bytes=10**6) == [small]
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"headline": "x", "body": BODY.format(n=i)}
                                 for i in range(50)], ensure_ascii=False), "utf-8")
    assert file_parts(array, "auto", part_bytes=500) == [array]


def test_parts_give_the_records_of_the_whole_file(tmp_path):
    path = write_records(tmp_path / "big.jsonl")
    whole = read_file(path)
    parts = [read_file(p) for p in file_parts(path, "auto", part_bytes=1500)]
    assert [a.id for a in whole.articles] == [a.id for r in parts for a in r.articles]
    assert [(r.reason, r.record) for r in whole.rejects] == [
        (r.reason, r.record) for p in parts for r in p.rejects]


def _build(folder: Path, home: Path, monkeypatch, part_bytes: int, jobs: int = 1):
    monkeypatch.setattr(archive, "PART_BYTES", part_bytes)
    monkeypatch.setattr(writer, "file_parts",
                        lambda path, fmt, **kw: file_parts(path, fmt, part_bytes=part_bytes, **kw))
    return writer.build_index([folder], home, jobs=jobs)


def _summary(summary) -> dict:
    data = summary.as_dict()
    for volatile in ("elapsed", "articles_per_second", "generation"):
        data.pop(volatile)
    return data


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_build_in_parts_equals_a_build_of_whole_files(tmp_path, monkeypatch, jobs):
    folder = tmp_path / "archive"
    folder.mkdir()
    write_records(folder / "a.jsonl", 150)
    write_records(folder / "b.jsonl", 40)  # duplicates of a's first records
    # A file that gives no article at all:
    (folder / "bad.jsonl").write_text('{"headline": "x", "body": ""}\n' * 400, "utf-8")
    whole = _build(folder, tmp_path / "whole", monkeypatch, 10**9)
    parted = _build(folder, tmp_path / "parted", monkeypatch, 1500, jobs)
    assert _summary(parted) == _summary(whole)
    # The same entries; a file read in parts lists its rejects part by part.
    entry = lambda e: json.dumps(e, sort_keys=True, ensure_ascii=False)  # noqa: E731
    assert sorted(map(entry, parted.report)) == sorted(map(entry, whole.report))
    assert whole.files == 3 and whole.files_rejected == 1 and whole.duplicates
    ranked = [Engine(tmp_path / h).ranked_ids("النفط الغاز", 1000) for h in ("whole", "parted")]
    assert len(ranked[0]) == whole.indexed
    if jobs == 1:
        assert ranked[0] == ranked[1]
    else:  # the copies a part dropped stay as deleted documents, which count in idf
        assert {h[0] for h in ranked[0]} == {h[0] for h in ranked[1]}


def test_update_of_a_file_read_in_parts(tmp_path, monkeypatch):
    folder = tmp_path / "archive"
    folder.mkdir()
    big = write_records(folder / "a.jsonl", 150)
    home = tmp_path / "ix"
    _build(folder, home, monkeypatch, 1500)
    unchanged = writer.build_index([folder], home, update=True)
    assert unchanged.unchanged and unchanged.files == 1 and unchanged.files_unchanged == 1
    big.write_text(big.read_text("utf-8").replace("خبر رقم 3\"", "خبر جديد\""), "utf-8")
    updated = writer.build_index([folder], home, update=True)
    fresh = _build(folder, tmp_path / "fresh", monkeypatch, 1500)
    assert updated.files == 1 and updated.indexed == updated.added == fresh.indexed
    assert updated.removed == fresh.indexed  # the changed file's old articles
    # The same articles (scores differ: the update keeps deleted documents,
    # which count in Whoosh's idf).
    found = [{hit[0] for hit in Engine(h).ranked_ids("خبر", 1000)}
             for h in (home, tmp_path / "fresh")]
    assert found[0] == found[1] and len(found[0]) == fresh.indexed


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_commit_point_is_reached_once_with_files_in_parts(tmp_path, monkeypatch, jobs):
    """The build's checkpoints (the reliability tests' kill points) count
    parts as the items they are: "commit" comes once, after the last."""
    from indexer import store

    folder = tmp_path / "archive"
    folder.mkdir()
    write_records(folder / "a.jsonl", 150)
    points = []
    monkeypatch.setattr(store, "checkpoint", points.append)
    _build(folder, tmp_path / "ix", monkeypatch, 1500, jobs)
    assert points.count("commit") == 1
    assert points.index("commit") > max(i for i, p in enumerate(points) if p == "file")
