"""``--jobs N`` (indexer/parallel.py): N processes each write a contiguous part
of the input as their own segment; the result must be the one-process build."""

import json
import os
import shutil
import signal
from pathlib import Path

import pytest

from indexer import manifest, parallel, store
from indexer.writer import build_index
from search.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
EMBEDDING = ROOT / "data" / "archive" / "000_be18b8559e209b80.txt"  # has a "read also" article
VOLATILE = ("elapsed", "generation")
QUERIES = ("الاقتصاد", "الرياضة والنفط", "حفتر روسيا", "سجل", "عنوان الخبر", '"نص الخبر"')


def text(n: int, topic: str = "الاقتصاد", date: str = "2024-01-{n:02d}") -> str:
    return (f"عنوان الخبر {n} عن {topic}\nتاريخ النشر: {date.format(n=n % 28 + 1)}\n"
            f"نص الخبر رقم {n} عن {topic} والأسواق والنفط في المنطقة\nالمصدر | مصدر {n % 3}\n")


def mixed_archive(folder: Path) -> Path:
    """Files in walk order a.. to z..: duplicates within the first half and
    across the halves (spelling variants too), rejects, records rejected in a
    good JSON file, articles without a date, and an embedded article."""
    folder.mkdir(parents=True)
    shutil.copy(EMBEDDING, folder / "a00_embedding.txt")
    for n in range(1, 13):
        (folder / f"b{n:02d}.txt").write_text(text(n), "utf-8")
    (folder / "c_dup_of_b01.txt").write_text(text(1), "utf-8")
    (folder / "d_binary.txt").write_bytes(b"\x00\x01\x02\xff\xfe\x00junk" * 50)
    (folder / "e_nodate.txt").write_text("عنوان بلا تاريخ\nنص خبر بلا تاريخ عن الرياضة\n", "utf-8")
    records = [{"title": f"خبر سجل {n}", "text": f"نص سجل {n} عن الرياضة", "date": "2024-02-01"}
               for n in range(3)] + [{"title": "سجل فارغ", "text": ""}]
    (folder / "f_records.json").write_text(json.dumps(records, ensure_ascii=False), "utf-8")
    for n in range(13, 25):
        (folder / f"g{n:02d}.txt").write_text(text(n, "الرياضة"), "utf-8")
    # Late copies of early articles: in the second part whatever the split.
    (folder / "x_dup_of_b02.txt").write_text(text(2).replace("الاقتصاد", "الاقْتصاد"), "utf-8")
    (folder / "y_dup_of_b03_and_x.txt").write_text(text(3), "utf-8")
    (folder / "z_dup_of_record.json").write_text(json.dumps(records[:2], ensure_ascii=False),
                                                 "utf-8")
    return folder


def counts(summary) -> dict:
    return {k: v for k, v in summary.as_dict().items()
            if k not in (*VOLATILE, "articles_per_second")}


def stored(home: Path) -> dict:
    with manifest.open_current(home).searcher() as s:
        return {d["id"]: d for d in s.all_stored_fields()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The mixed archive built with 1, 2 and 3 jobs: (archive, {jobs: (home, summary)})."""
    root = tmp_path_factory.mktemp("parallel")
    archive = mixed_archive(root / "archive")
    return archive, {jobs: (root / f"ix{jobs}", build_index([archive], root / f"ix{jobs}",
                                                            jobs=jobs))
                     for jobs in (1, 2, 3)}


@pytest.mark.parametrize("jobs", [2, 3])
def test_summary_and_report_equal_one_process(built, jobs):
    _, builds = built
    one, many = builds[1][1], builds[jobs][1]
    assert one.duplicates == 5 and one.files_rejected == 1 and one.records_rejected == 1
    assert one.embedded == 1 and one.dates_missing == 2
    assert counts(many) == counts(one)
    assert many.report == one.report


@pytest.mark.parametrize("jobs", [2, 3])
def test_same_documents_and_rankings(built, jobs):
    _, builds = built
    home_one, home_many = builds[1][0], builds[jobs][0]
    assert stored(home_many) == stored(home_one)
    with manifest.open_current(home_many).reader() as reader:
        assert len(list(reader.leaf_readers())) == jobs  # no final merge
        assert reader.has_deletions()  # the late copies of the first part's articles
        assert reader.doc_count() == builds[1][1].indexed
    e1, e2 = Engine(home_one), Engine(home_many)
    for q in QUERIES:
        # Deleted copies still count in Whoosh's statistics (document count,
        # term frequencies), so scores differ a little: 4 of 34 documents here.
        assert [x[0] for x in e1.ranked_ids(q)] == [x[0] for x in e2.ranked_ids(q)], q


def test_without_deletions_scores_are_the_same(tmp_path):
    """Whoosh scores every segment with the whole index's statistics."""
    folder = tmp_path / "archive"
    folder.mkdir()
    for n in range(1, 41):
        topic = ("الاقتصاد", "الرياضة", "النفط")[n % 3]
        (folder / f"a{n:02d}.txt").write_text(text(n, topic) * (n % 4 + 1),
                                             "utf-8")
    build_index([folder], tmp_path / "one", jobs=1)
    build_index([folder], tmp_path / "two", jobs=2)
    e1, e2 = Engine(tmp_path / "one"), Engine(tmp_path / "two")
    for q in QUERIES:
        a, b = e1.ranked_ids(q), e2.ranked_ids(q)
        assert [x[:2] for x in a] == [x[:2] for x in b], q
        assert [x[2] for x in b] == pytest.approx([x[2] for x in a], abs=1e-3), q


def test_update_after_a_parallel_build(built, tmp_path):
    archive, _ = built
    folder = tmp_path / "archive"
    shutil.copytree(archive, folder)
    home = tmp_path / "ix"
    build_index([folder], home, jobs=2)
    (folder / "b05.txt").write_text(text(5, "الزراعة"), "utf-8")  # changed
    (folder / "y_dup_of_b03_and_x.txt").unlink()  # a deleted duplicate: nothing to remove
    (folder / "g20.txt").unlink()  # deleted, in the second part
    (folder / "h_new.txt").write_text(text(40, "الفضاء"), "utf-8")
    update = build_index([folder], home, update=True)
    assert (update.added, update.removed) == (2, 2)
    fresh = tmp_path / "fresh"
    build_index([folder], fresh, jobs=1)
    assert stored(home).keys() == stored(fresh).keys()
    assert "الزراعة" in stored(home)["b05"]["body"]
    hits = {x[0] for x in Engine(home).ranked_ids("الفضاء")}
    assert hits == {"h_new"}


def test_progress_is_reported_per_file(tmp_path):
    archive = mixed_archive(tmp_path / "archive")
    started, files = [], []
    summary = build_index([archive], tmp_path / "ix", jobs=2, on_start=started.append,
                          on_file=lambda result, s: files.append((result.path, s.indexed)))
    assert started == [len(list(archive.iterdir()))]
    assert sorted(Path(p).name for p, _ in files) == sorted(p.name for p in archive.iterdir())
    assert files[-1][1] >= summary.indexed  # running count: cross-part copies not yet known


def test_split_items_is_contiguous_and_balanced(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "FILE_COST_BYTES", 0)
    sizes = [5, 1, 1, 1, 1, 1, 10, 1, 1, 1, 1, 1]
    items = []
    for n, size in enumerate(sizes):
        (tmp_path / f"{n:02d}").write_bytes(b"x" * size * 100)
        items.append(tmp_path / f"{n:02d}")
    parts = parallel.split_items(items, 2)
    assert [i for part in parts for i in part] == items
    assert [len(p) for p in parts] == [7, 5]  # 2,000 and 1,500 bytes, not 6 and 6 files
    assert parallel.split_items(items[:1], 4) == [items[:1]]
    assert parallel.split_items([], 2) == []
    assert all(parallel.split_items(items, 12))  # fewer, non-empty parts


def test_split_items_counts_a_cost_per_file(tmp_path):
    """Many small files cost more than their bytes (opening, parsing)."""
    items = [tmp_path / "big"]
    items[0].write_bytes(b"x" * 5 * parallel.FILE_COST_BYTES)
    for n in range(10):
        items.append(tmp_path / f"small{n}")
        items[-1].write_bytes(b"x" * (parallel.FILE_COST_BYTES // 10))
    # 6,000 + 10 x 1,100 "bytes": the big file and three small ones, then seven.
    assert [len(p) for p in parallel.split_items(items, 2)] == [4, 7]


def test_a_failing_worker_fails_the_build_and_keeps_the_old_index(tmp_path, monkeypatch):
    archive = mixed_archive(tmp_path / "archive")
    home = tmp_path / "ix"
    build_index([archive], home, jobs=2)
    before = store.current_name(home)
    real = parallel.read_file

    def disk_error(path, *args):
        if path.name == "g20.txt":
            raise OSError(28, "No space left on device")
        return real(path, *args)

    monkeypatch.setattr(parallel, "read_file", disk_error)
    with pytest.raises(OSError, match="No space left"):
        build_index([archive], home, jobs=2)
    assert store.current_name(home) == before and not list(home.glob("*.tmp"))


def test_a_killed_worker_fails_the_build(tmp_path, monkeypatch):
    archive = mixed_archive(tmp_path / "archive")
    home = tmp_path / "ix"
    real = parallel.read_file

    def die(path, *args):
        if path.name == "g20.txt":
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer would
        return real(path, *args)

    monkeypatch.setattr(parallel, "read_file", die)
    with pytest.raises(parallel.WorkerDied, match="exit code -9"):
        build_index([archive], home, jobs=2)
    assert store.current_name(home) == "" and not list(home.glob("gen-*"))


@pytest.mark.parametrize("jobs", [1, 2])
def test_segments_of_bounded_size(built, tmp_path, monkeypatch, jobs):
    """Past SEGMENT_WORDS a writer's segment is written and a new one begun
    (memory stays bounded): same documents, report and rankings."""
    from indexer import segment

    monkeypatch.setattr(segment, "SEGMENT_WORDS", 150)
    archive, builds = built
    summary = build_index([archive], tmp_path / "small", jobs=jobs)
    assert counts(summary) == counts(builds[1][1]) and summary.report == builds[1][1].report
    assert stored(tmp_path / "small") == stored(builds[1][0])
    with manifest.open_current(tmp_path / "small").reader() as reader:
        leaves = list(reader.leaf_readers())
        assert len(leaves) > 2 * jobs
        assert reader.doc_count() == summary.indexed
        assert (jobs > 1) == reader.has_deletions()  # cross-part copies
    e1, small = Engine(builds[1][0]), Engine(tmp_path / "small")
    for q in QUERIES:
        assert [x[0] for x in e1.ranked_ids(q)] == [x[0] for x in small.ranked_ids(q)], q
    assert not list((store.current_dir(tmp_path / "small")).glob("*.tmp"))
