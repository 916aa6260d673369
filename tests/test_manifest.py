"""The generation's manifest (indexer/manifest.py) and index settings
(indexer/settings.py): what a build records, and how a damaged, outdated or
differently analyzed index is refused, in one line, by every entry point."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from arshif.cli import main
from indexer import analysis, manifest, store
from indexer.settings import IndexSettings
from search.engine import Engine
from web.app import create_app


def _copy(news_index: Path, tmp_path: Path) -> tuple[Path, Path]:
    home = tmp_path / "copy"
    shutil.copytree(news_index, home)
    return home, store.current_dir(home)


def test_a_build_lists_every_file_with_size_and_checksum(news_index):
    folder = store.current_dir(news_index)
    data = json.loads((folder / manifest.NAME).read_text("utf-8"))
    assert data["format"] == manifest.FORMAT and data["format_version"] == manifest.FORMAT_VERSION
    others = {p.name for p in folder.iterdir()
              if p.is_file() and p.name not in (manifest.NAME, manifest.STAMP)}
    assert set(data["files"]) == others
    assert {Path(n).suffix for n in others} >= {".toc", ".trm", ".flat", ".docs", ".stored",
                                                 ".col"}
    for name, facts in data["files"].items():
        assert set(facts) == {"size", "crc32"}
        assert facts["size"] == (folder / name).stat().st_size
        assert facts["crc32"] == manifest.checksum(folder / name)
        assert len(facts["crc32"]) == 8 and int(facts["crc32"], 16) >= 0
    assert data["settings"] == IndexSettings().as_dict()
    assert data["fingerprint"] == IndexSettings().fingerprint()
    assert data["summary"]["indexed"] == 17 and data["sources"]
    assert manifest.verify(folder) == data
    assert manifest.settings_of(data) == IndexSettings.from_dict(data["settings"])


def _flip_flat(folder: Path) -> None:
    (path,) = folder.glob("*.flat")
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01  # inside the arrays: only the checksum sees it
    path.write_bytes(bytes(data))


def _flip_stored(folder: Path) -> None:
    (path,) = folder.glob("*.stored")
    data = bytearray(path.read_bytes())
    data[len(data) // 4] ^= 0x01  # inside a compressed block
    path.write_bytes(bytes(data))


def _cut_docs(folder: Path) -> None:
    (path,) = folder.glob("*.docs")
    path.write_bytes(path.read_bytes()[:-7])


def _delete_trm(folder: Path) -> None:
    (path,) = folder.glob("*.trm")
    path.unlink()


def _garbage_manifest(folder: Path) -> None:
    (folder / manifest.NAME).write_bytes(b"\x00{not json at all\xff")


def _edit_manifest(folder: Path, **changes) -> None:
    path = folder / manifest.NAME
    data = json.loads(path.read_text("utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")


DAMAGE = {
    "flipped flat byte": (_flip_flat, store.IndexDamaged, "fails its checksum"),
    "flipped stored byte": (_flip_stored, store.IndexDamaged, "fails its checksum"),
    "truncated docs": (_cut_docs, store.IndexDamaged, "bytes, not"),
    "deleted trm": (_delete_trm, store.IndexDamaged, "is missing"),
    "garbage manifest": (_garbage_manifest, store.IndexDamaged, manifest.NAME),
    "other fingerprint": (lambda f: _edit_manifest(f, fingerprint="0123456789abcdef0123"),
                          manifest.IndexOutdated, "other analysis"),
    "other format version": (lambda f: _edit_manifest(f, format_version=2),
                             manifest.IndexOutdated, "format version 2"),
    "not a manifest": (lambda f: _edit_manifest(f, format="something-else"),
                       store.IndexDamaged, "not an arshif manifest"),
    "no manifest": (lambda f: (f / manifest.NAME).unlink(), manifest.IndexOutdated,
                    "no manifest"),
    "unreadable settings": (lambda f: _edit_manifest(f, settings={"views": {}}),
                            store.IndexDamaged, "settings"),
}


@pytest.fixture(params=list(DAMAGE))
def damaged(request, news_index, tmp_path):
    home, folder = _copy(news_index, tmp_path)
    damage, error, detail = DAMAGE[request.param]
    damage(folder)
    return home, folder, error, detail


def test_verify_names_the_problem(damaged):
    home, folder, error, detail = damaged
    with pytest.raises(error, match="rebuild it with: arshif index") as caught:
        manifest.verify(folder)
    assert detail in str(caught.value)
    assert isinstance(caught.value, store.StoreError)
    with pytest.raises(error):
        manifest.open_current(home)
    with pytest.raises(error):
        Engine(home).summary()


def test_the_cli_exits_2_with_one_line(damaged):
    home, _, _, detail = damaged
    result = CliRunner().invoke(main, ["search", "--index", str(home), "النفط"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "rebuild" in lines[0] and detail in lines[0], result.stderr
    assert "Traceback" not in result.output and not result.stdout.strip()
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_the_web_app_answers_503(damaged):
    home, _, _, _ = damaged
    client = create_app(home).test_client()
    for url in ("/healthz", "/", "/?q=النفط", "/api/search?q=النفط"):
        page = client.get(url)
        body = page.get_data(as_text=True)
        assert page.status_code == 503, url
        assert "Traceback" not in body and 'File "' not in body, url


def test_an_intact_copy_searches(news_index, tmp_path):
    """The copy the damage tests start from is fine as it is."""
    home, _ = _copy(news_index, tmp_path)
    result = CliRunner().invoke(main, ["search", "--index", str(home), "النفط"])
    assert result.exit_code == 0 and result.stdout.startswith("1 article in 1 story (")
    client = create_app(home).test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/").status_code == 200


def test_a_code_change_to_the_stopwords_refuses_the_index(news_index, tmp_path, monkeypatch):
    """Code whose stopword list differs from the one the index was built
    with would analyze queries otherwise: the index must be rebuilt."""
    home, folder = _copy(news_index, tmp_path)
    words = analysis.stopword_set(IndexSettings().make_analyzer().rules)
    monkeypatch.setattr(analysis, "stopword_set", lambda rules: words | {"نفط"})
    with pytest.raises(manifest.IndexOutdated, match="other analysis"):
        manifest.verify(folder)
    result = CliRunner().invoke(main, ["search", "--index", str(home), "النفط"])
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "rebuild" in result.stderr


# -- settings -------------------------------------------------------------------

@pytest.mark.parametrize("settings", [
    IndexSettings(),
    IndexSettings(views={}),
    IndexSettings(views={"body_exact": "none"}, headline_in_body=False),
    IndexSettings(analyzer={"stemmer": "none", "stopwords": False}),
    IndexSettings(analyzer={"protect": False, "query_clitics": "وف"}),
])
def test_settings_round_trip(settings):
    data = settings.as_dict()
    assert json.loads(json.dumps(data)) == data  # plain data, as the manifest stores it
    again = IndexSettings.from_dict(json.loads(json.dumps(data)))
    assert again.fingerprint() == settings.fingerprint()
    assert again.as_dict() == data
    assert IndexSettings.from_dict(again.as_dict()) == again


def test_fingerprints_tell_settings_apart():
    prints = {IndexSettings().fingerprint(),
              IndexSettings(views={}).fingerprint(),
              IndexSettings(headline_in_body=False).fingerprint(),
              IndexSettings(analyzer={"stemmer": "none"}).fingerprint(),
              IndexSettings(analyzer={"stopwords": False}).fingerprint(),
              IndexSettings(views={"body_exact": "skeleton"}).fingerprint()}
    assert len(prints) == 6
    assert IndexSettings().fingerprint() == IndexSettings().fingerprint()


def test_a_changed_stopword_list_changes_the_fingerprint(monkeypatch):
    before = IndexSettings().fingerprint()
    words = analysis.stopword_set(IndexSettings().make_analyzer().rules)
    removed = sorted(words)[0]
    monkeypatch.setattr(analysis, "stopword_set", lambda rules: words - {removed})
    changed = IndexSettings().fingerprint()
    monkeypatch.setattr(analysis, "stopword_set", lambda rules: words | {"كلمةجديدة"})
    added = IndexSettings().fingerprint()
    monkeypatch.undo()
    assert len({before, changed, added}) == 3
    assert IndexSettings().fingerprint() == before


def test_views_must_be_named_body():
    with pytest.raises(ValueError):
        IndexSettings(views={"exact": "none"})


def test_unchanged_files_are_not_read_again(news_index, tmp_path, monkeypatch):
    """Opening records each verified file's size, time and inode; the next
    open reads no file whose record matches, and a rewritten file again."""
    _, folder = _copy(news_index, tmp_path)
    (folder / manifest.STAMP).unlink(missing_ok=True)
    manifest.verify(folder)
    assert (folder / manifest.STAMP).is_file()
    read = []
    real = manifest.checksum
    monkeypatch.setattr(manifest, "checksum", lambda path: read.append(path.name) or real(path))
    manifest.verify(folder)
    assert read == []
    _flip_flat(folder)  # a rewritten file: its record no longer matches
    with pytest.raises(store.IndexDamaged, match="checksum"):
        manifest.verify(folder)
    assert [Path(n).suffix for n in read] == [".flat"]
