"""Building the index: counts, duplicates, --update, atomic swap, the build lock."""

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from arshif.cli import main
from indexer import manifest, store, update as update_module
from indexer.writer import build_index
from search.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ARTICLE = ("عنوان {n}\nتاريخ النشر: 2024-01-{n:02d}\nنص الخبر رقم {n} عن الاقتصاد\n"
           "المصدر | مصدر {n}\n")


def write_articles(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(1, count + 1):
        (folder / f"a{n}.txt").write_text(ARTICLE.format(n=n), "utf-8")


def doc_ids(home: Path) -> set[str]:
    ix = manifest.open_current(home)
    with ix.searcher() as s:
        return {d["id"] for d in s.all_stored_fields()}


def test_bundled_archive_builds_and_counts_add_up(tmp_path):
    archive = tmp_path / "archive"
    shutil.copytree(ROOT / "data" / "archive", archive)
    home = tmp_path / "index"
    summary = build_index([archive], home)
    files = len(list(archive.glob("*.txt")))
    assert summary.files == files
    assert summary.files_rejected == 0
    assert summary.indexed == len(doc_ids(home)) == Engine(home).stats()["articles"]
    assert summary.embedded >= 1  # the example's trailing "read also" article
    assert "000_be18b8559e209b80" in doc_ids(home)


def test_same_article_in_two_files_is_indexed_once(tmp_path):
    write_articles(tmp_path / "a", 2)
    text = (tmp_path / "a" / "a1.txt").read_text("utf-8")
    # Same article, other spelling variants (hamza, tashkeel): still a duplicate.
    (tmp_path / "a" / "copy.txt").write_text(text.replace("الاقتصاد", "الاقْتصاد"), "utf-8")
    summary = build_index([tmp_path / "a"], tmp_path / "ix")
    assert (summary.indexed, summary.duplicates) == (2, 1)
    assert [e["kind"] for e in summary.report] == ["duplicate"]


def test_rebuild_swaps_generations_and_keeps_one_previous(tmp_path):
    write_articles(tmp_path / "a", 3)
    home = tmp_path / "ix"
    for _ in range(3):
        build_index([tmp_path / "a"], home)
    gens = sorted(p.name for p in home.glob("gen-*"))
    assert gens == ["gen-000002", "gen-000003"]
    assert store.current_name(home) == "gen-000003"


def test_failed_build_leaves_previous_index_serving(tmp_path, monkeypatch):
    write_articles(tmp_path / "a", 3)
    home = tmp_path / "ix"
    build_index([tmp_path / "a"], home)
    before = store.current_name(home)
    write_articles(tmp_path / "a", 6)

    import indexer.writer as writer_mod

    real = writer_mod.read_file
    calls = []

    def crash_on_fourth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C in the middle of a rebuild
        return real(*args, **kwargs)

    monkeypatch.setattr(writer_mod, "read_file", crash_on_fourth)
    with pytest.raises(KeyboardInterrupt):
        build_index([tmp_path / "a"], home)
    assert store.current_name(home) == before
    assert len(doc_ids(home)) == 3
    assert not list(home.glob("*.tmp"))
    monkeypatch.undo()
    assert build_index([tmp_path / "a"], home).indexed == 6


def test_leftovers_of_a_killed_build_are_cleaned(tmp_path):
    write_articles(tmp_path / "a", 2)
    home = tmp_path / "ix"
    build_index([tmp_path / "a"], home)
    (home / "gen-000009.tmp").mkdir()  # as left by kill -9
    (home / "gen-000009.tmp" / "junk").write_text("x")
    build_index([tmp_path / "a"], home)
    assert not (home / "gen-000009.tmp").exists()
    assert len(doc_ids(home)) == 2


def test_second_builder_stops_with_a_clear_message(tmp_path):
    write_articles(tmp_path / "a", 1)
    home = tmp_path / "ix"
    with store.build_lock(home):
        with pytest.raises(store.IndexBusy, match="another `arshif index`"):
            build_index([tmp_path / "a"], home)
        result = CliRunner().invoke(main, ["index", str(tmp_path / "a"), "--index", str(home)])
        assert result.exit_code == 1
        assert "another `arshif index`" in result.output
        assert "Traceback" not in result.output


def test_update_adds_changes_and_removes(tmp_path):
    folder = tmp_path / "a"
    write_articles(folder, 3)
    home = tmp_path / "ix"
    build_index([folder], home)
    (folder / "a4.txt").write_text(ARTICLE.format(n=4), "utf-8")  # new
    (folder / "a2.txt").write_text(ARTICLE.format(n=2).replace("الاقتصاد", "الرياضة"), "utf-8")
    (folder / "a3.txt").unlink()  # deleted
    summary = build_index([folder], home, update=True)
    assert summary.files_unchanged == 1
    assert summary.added == 2  # a2 (changed) and a4 (new)
    assert summary.indexed == 3  # what the index holds, as a rebuild counts it
    assert summary.removed == 2  # old a2 and a3
    assert doc_ids(home) == {"a1", "a2", "a4"}
    ix = manifest.open_current(home)
    with ix.searcher() as s:
        assert "الرياضة" in s.document(id="a2")["body"]


def _segment_ids(home: Path) -> set[str]:
    return {leaf.segment().segment_id()
            for leaf, _ in manifest.open_current(home).reader().leaf_readers()}


def test_update_leaves_big_segments_alone(tmp_path, monkeypatch):
    """--update writes a small segment; it does not rewrite the whole index
    (a segment of 60 articles counts as big here, one article as small)."""
    monkeypatch.setattr(update_module, "SMALL_WORDS", 100)
    folder = tmp_path / "a"
    write_articles(folder, 60)
    home = tmp_path / "ix"
    build_index([folder], home)
    before = _segment_ids(home)
    (folder / "a61.txt").write_text(ARTICLE.format(n=61), "utf-8")
    (folder / "a7.txt").unlink()
    summary = build_index([folder], home, update=True)
    assert (summary.added, summary.removed) == (1, 1)
    after = _segment_ids(home)
    assert before < after and len(after) == 2
    fresh = tmp_path / "fresh"
    build_index([folder], fresh)
    from search.engine import Engine
    mine, theirs = Engine(home).ranked_ids("الاقتصاد 61"), Engine(fresh).ranked_ids("الاقتصاد 61")
    assert mine[0][0] == theirs[0][0] == "a61"
    expected = {f"a{n}" for n in range(1, 62)} - {"a7"}
    assert {h[0] for h in mine} == {h[0] for h in theirs} == expected


def test_index_command_summary_rejects_and_json(tmp_path):
    folder = tmp_path / "a"
    write_articles(folder, 2)
    (folder / "bad.txt").write_bytes(b"\x00\x01\x02\xff\xfe\x00junk" * 50)
    (folder / "nodate.txt").write_text("عنوان\nنص بلا تاريخ", "utf-8")
    rejects = tmp_path / "rejects.jsonl"
    home = tmp_path / "ix"
    runner = CliRunner()
    result = runner.invoke(main, ["index", str(folder), "--index", str(home), "--rejects",
                                  str(rejects)])
    assert result.exit_code == 0, result.output
    assert "indexed:    3 articles" in result.output
    assert "no date:    1 article (" in result.output  # one article, not "1 articles"
    entries = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    kinds = {(Path(e["path"]).name, e["kind"]) for e in entries}
    assert kinds == {("bad.txt", "rejected"), ("nodate.txt", "date")}
    result = runner.invoke(main, ["index", str(folder), "--index", str(home), "--json"])
    data = json.loads(result.output)
    assert data["files"] == 4 == data["files_rejected"] + 3
    result = runner.invoke(main, ["stats", "--index", str(home)])
    assert result.exit_code == 0 and "articles:  3" in result.output


def test_index_summary_counts_read_as_english():
    """Nouns agree with their number, and every number has thousands separators."""
    from indexer.commands import format_summary
    from indexer.summary import Summary

    one = format_summary(Summary(files=1, indexed=1, dates_missing=1, records_rejected=1),
                         Path("ix")).splitlines()
    assert "indexed:    1 article" in one
    assert "rejected:   1 record in otherwise good files" in one
    assert "no date:    1 article (missing or unparseable, never guessed)" in one
    many = Summary(files=23456, files_rejected=1200, indexed=1234567, embedded=4321,
                   duplicates=9999, records_rejected=2000, dates_missing=1500)
    many.reasons["empty body"] = 3000
    text = format_summary(many, Path("ix"))
    for line in ("files:      23,456 read, 1,200 rejected",
                 "indexed:    1,234,567 articles (4,321 from 'read also' blocks)",
                 "duplicates: 9,999 skipped (same headline and body)",
                 "rejected:   2,000 records in otherwise good files",
                 "  - empty body: 3,000",
                 "no date:    1,500 articles (missing or unparseable, never guessed)"):
        assert line in text.splitlines(), line


def test_stats_without_index_is_a_clear_error(tmp_path):
    """The same exit status as ``arshif search`` on a missing index (2), one line."""
    for command in ("stats", "search"):
        args = [command, *(["حفتر"] if command == "search" else []),
                "--index", str(tmp_path / "none")]
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, command
        assert result.stderr.startswith("arshif: no index in ") and "arshif index" in result.stderr
        assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.output


def test_env_var_sets_the_index(tmp_path, monkeypatch):
    write_articles(tmp_path / "a", 1)
    monkeypatch.setenv("ARSHIF_INDEX", str(tmp_path / "envix"))
    result = CliRunner().invoke(main, ["index", str(tmp_path / "a")])
    assert result.exit_code == 0, result.output
    assert store.current_name(tmp_path / "envix") == "gen-000001"


def test_jobs_two_gives_the_same_index(tmp_path):
    write_articles(tmp_path / "a", 30)
    one = build_index([tmp_path / "a"], tmp_path / "one", jobs=1)
    two = build_index([tmp_path / "a"], tmp_path / "two", jobs=2)
    assert one.indexed == two.indexed == 30
    assert doc_ids(tmp_path / "one") == doc_ids(tmp_path / "two")


@pytest.mark.slow
def test_saudinewsnet_end_to_end_counts(tmp_path):
    corpus = SHARED / "corpora" / "saudinewsnet" / "dataset"
    if not corpus.is_dir():
        pytest.skip(f"{corpus} not present (shared corpora are not part of the repository)")
    home = tmp_path / "ix"
    summary = build_index([corpus], home, jobs=2)
    records = 31030  # the corpus README's count
    assert summary.files == 18 and summary.files_rejected == 0
    assert summary.indexed + summary.duplicates + summary.records_rejected == records
    assert summary.reasons["empty body"] == summary.records_rejected == 354
    assert summary.dates_missing == 0
    stats = Engine(home).stats()
    assert stats["articles"] == summary.indexed
    assert stats["date_min"] == "2015-07" and stats["date_max"] == "2015-08"


# -- builds that would publish nothing, --update edge cases, stats over deletions --
def _live(home: Path) -> tuple[str, list[str]]:
    """CURRENT and the generation folders, to see that a failed build changed nothing."""
    return store.current_name(home), sorted(p.name for p in home.iterdir() if p.name != store.LOCK)


def _index(*args: str):
    return CliRunner().invoke(main, ["index", "-q", *map(str, args)])


@pytest.mark.parametrize("case", ["missing", "empty", "unreadable"])
def test_a_build_that_reads_no_article_fails_and_keeps_the_live_index(tmp_path, case):
    write_articles(tmp_path / "a", 2)
    home = tmp_path / "ix"
    build_index([tmp_path / "a"], home)
    before = _live(home)
    source = tmp_path / "archve"  # a typo: nothing there
    if case != "missing":
        source.mkdir()
    if case == "unreadable":
        (source / "junk.txt").write_bytes(b"\x00\x01\x02\xff\xfe\x00junk" * 50)
        (source / "blank.txt").write_text("\n\n", "utf-8")
    result = _index(source, "--index", home)
    assert result.exit_code == 1
    assert result.stdout == ""
    expected = (f"no such file or folder: {source}" if case == "missing"
                else f"no article found in {source}")
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert _live(home) == before
    assert len(doc_ids(home)) == 2


def test_a_missing_source_among_good_ones_fails_before_building(tmp_path):
    write_articles(tmp_path / "a", 2)
    home = tmp_path / "ix"
    result = _index(tmp_path / "a", tmp_path / "nope", "--index", home)
    assert result.exit_code == 1
    assert f"no such file or folder: {tmp_path / 'nope'}" in result.stderr
    assert store.current_name(home) == ""


def test_an_update_that_would_leave_no_article_fails(tmp_path):
    folder = tmp_path / "a"
    write_articles(folder, 2)
    home = tmp_path / "ix"
    build_index([folder], home)
    before = _live(home)
    for path in folder.iterdir():
        path.unlink()
    result = _index(folder, "--index", home, "--update")
    assert result.exit_code == 1
    assert f"no article found in {folder}" in result.stderr
    assert _live(home) == before and len(doc_ids(home)) == 2


def test_update_with_nothing_changed_keeps_the_live_generation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no data/sources.tsv: the names stay as built
    folder = tmp_path / "a"
    write_articles(folder, 3)
    (folder / "junk.txt").write_bytes(b"\x00\x01\x02\xff\xfe\x00junk" * 50)  # rejected each time
    home = tmp_path / "ix"
    build_index([folder], home)
    before = _live(home)
    result = _index(folder, "--index", home, "--update")
    assert result.exit_code == 0, result.output
    assert "nothing changed" in result.stdout
    assert _live(home) == before
    summary = build_index([folder], home, update=True)
    assert summary.unchanged and summary.generation == before[0]
    assert _live(home) == before


def test_update_does_not_remove_a_sibling_folder_sharing_a_prefix(tmp_path):
    """``A2/new.txt`` is not inside ``A``: a string prefix said it was."""
    write_articles(tmp_path / "A", 2)
    (tmp_path / "A2").mkdir()
    (tmp_path / "A2" / "b1.txt").write_text(ARTICLE.format(n=9), "utf-8")
    home = tmp_path / "ix"
    build_index([tmp_path / "A", tmp_path / "A2"], home)
    (tmp_path / "A" / "a3.txt").write_text(ARTICLE.format(n=3), "utf-8")
    summary = build_index([tmp_path / "A"], home, update=True)
    assert (summary.added, summary.removed) == (1, 0)
    assert doc_ids(home) == {"a1", "a2", "a3", "b1"}


def _stats_lines(home: Path) -> list[str]:
    result = CliRunner().invoke(main, ["stats", "--index", str(home)])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout.splitlines()


def test_stats_count_only_live_documents_after_an_update(tmp_path):
    folder = tmp_path / "a"
    write_articles(folder, 3)
    (folder / "nodate.txt").write_text("عنوان بلا تاريخ\nنص بلا تاريخ\nالمصدر | مصدر 1\n", "utf-8")
    home = tmp_path / "ix"
    build_index([folder], home)
    (folder / "a2.txt").write_text(ARTICLE.format(n=2).replace("مصدر 2", "مصدر 1"), "utf-8")
    (folder / "nodate.txt").unlink()
    build_index([folder], home, update=True)
    stats = Engine(home).stats()
    assert stats["articles"] == 3 and stats["undated"] == 0
    assert stats["sources"] == [("مصدر 1", 2), ("مصدر 3", 1)]
    lines = _stats_lines(home)
    assert lines[0] == f"index:     {home} ({stats['generation']})"
    assert lines[1:3] == ["articles:  3", "dates:     2024-01 .. 2024-01 (0 undated)"]
    assert lines[3].startswith("size:      ") and lines[3].endswith(" MB on disk")
    assert lines[4] == f"analysis:  {stats['fingerprint']}"
    assert lines[5] == f"built:     {stats['built_at']}"
    assert lines[6:] == ["sources:", "        2  مصدر 1", "        1  مصدر 3"]


def test_stats_count_only_live_documents_after_a_parallel_build(tmp_path):
    """--jobs 2 deletes the second part's copy of an article the first part holds."""
    folder = tmp_path / "a"
    write_articles(folder, 20)
    (folder / "z_copy.txt").write_text(  # undated, its own source; first copy a1 is dated
        (folder / "a1.txt").read_text("utf-8"), "utf-8")
    home = tmp_path / "ix"
    summary = build_index([folder], home, jobs=2)
    assert (summary.indexed, summary.duplicates) == (20, 1)
    stats = Engine(home).stats()
    assert stats["articles"] == 20 and stats["undated"] == 0
    assert sum(n for _, n in stats["sources"]) == 20
    assert ("مصدر 1", 1) in stats["sources"]


def test_index_summary_ends_with_the_rejects_hint_on_its_own_line(tmp_path):
    folder = tmp_path / "a"
    write_articles(folder, 2)
    (folder / "bad.txt").write_bytes(b"\x00\x01\x02\xff\xfe\x00junk" * 50)
    result = _index(folder, "--index", tmp_path / "ix")
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[-2].startswith("time:       ")
    assert lines[-1] == "details:    rerun with --rejects FILE for the list"
    with_file = _index(folder, "--index", tmp_path / "ix", "--rejects", tmp_path / "r.jsonl")
    assert not any("details" in line for line in with_file.output.splitlines())


def test_a_failed_empty_build_still_writes_its_rejects(tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "bad.txt").write_bytes(b"\x00\x01\x02\xff\xfe\x00junk" * 50)
    rejects = tmp_path / "r.jsonl"
    result = _index(folder, "--index", tmp_path / "ix", "--rejects", rejects)
    assert result.exit_code == 1
    assert "no article found" in result.stderr and "binary content" in result.stderr
    (entry,) = [json.loads(line) for line in rejects.read_text("utf-8").splitlines()]
    assert entry["kind"] == "rejected" and entry["path"].endswith("bad.txt")
