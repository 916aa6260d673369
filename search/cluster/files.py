"""Files of a cluster index that are not articles (the completion table,
indexer/completions.py), kept in a small side index beside it.

The side index of index ``N`` is ``N.files``, hidden (a wildcard such as
``arshif-*`` does not list it), created and deleted with ``N``.  A file is
stored as parts of at most PART_BYTES (base64 in a ``binary`` field) and a
header naming its current version: a new version's parts are written
first, then the header, then the old version's parts are deleted, so a
reader finds either version whole.  A reader copies the file into a local folder and
opens it there with the embedded backend's own reader.
"""

from __future__ import annotations

import base64
import uuid
from pathlib import Path

#: Bytes of a file a part holds (a bulk request carries one part).
PART_BYTES = 4 * 2**20


def side_index(index: str) -> str:
    return f"{index}.files"


def create(client, index: str, replicas: int) -> None:
    client.indices.create(index=side_index(index), body={
        "settings": {"index": {"hidden": True, "number_of_shards": 1,
                               "number_of_replicas": replicas}},
        "mappings": {"dynamic": "strict", "properties": {
            "name": {"type": "keyword"}, "version": {"type": "keyword"},
            "part": {"type": "integer"}, "parts": {"type": "integer"},
            "data": {"type": "binary"}}}})


def delete(client, index: str) -> None:
    client.indices.delete(index=side_index(index), ignore_unavailable=True)


def put(client, index: str, path: Path) -> str:
    """Store the file at ``path`` under its name; return its new version."""
    side, name, version = side_index(index), path.name, uuid.uuid4().hex
    old = _header(client, side, name)
    data = path.read_bytes()
    parts = max(1, -(-len(data) // PART_BYTES))
    for part in range(parts):
        chunk = data[part * PART_BYTES:(part + 1) * PART_BYTES]
        client.index(index=side, id=f"{name}/{version}/{part}", body={
            "name": name, "version": version, "part": part,
            "data": base64.b64encode(chunk).decode("ascii")})
    client.index(index=side, id=name, body={"name": name, "version": version, "parts": parts},
                 refresh=True)
    if old is not None:  # by id: delete-by-query is a module the core distribution lacks
        client.bulk(refresh=True, body=[{"delete": {"_index": side, "_id": part_id}}
                                        for part_id in _part_ids(name, old)])
    return version


def _header(client, side: str, name: str) -> dict | None:
    from opensearchpy import NotFoundError

    try:
        return client.get(index=side, id=name)["_source"]
    except NotFoundError:
        return None


def _part_ids(name: str, header: dict) -> list[str]:
    return [f"{name}/{header['version']}/{part}" for part in range(header["parts"])]


def fetch(client, index: str, name: str, folder: Path) -> Path | None:
    """Copy the file ``name`` into ``folder``; None when the index has none."""
    side = side_index(index)
    header = _header(client, side, name)
    if header is None:
        return None
    docs = client.mget(index=side, body={"ids": _part_ids(name, header)})["docs"]
    if not all(doc.get("found") for doc in docs):
        return None  # replaced meanwhile: the next look finds the new version
    out = folder / name
    with open(out, "wb") as fh:
        for doc in docs:
            fh.write(base64.b64decode(doc["_source"]["data"]))
    return out
