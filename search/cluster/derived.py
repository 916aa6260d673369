"""What a cluster index derives from all its articles once they are in:
the stories and the completion table, made by the embedded build's own code.

- **Stories** (indexer/stories.py): every article's signature (computed
  when it was sent, search/cluster/mapping.py) is read back with its id and
  day, and ``indexer.stories.leader_ids`` groups them exactly as the
  embedded build groups a generation.  An article's story is named by its
  leader's id; an article is sent as a story of its own, so only the
  articles whose story differs from what the index holds are sent again
  (analyzed again from their original text: the index keeps no terms in
  ``_source``, so a partial update would lose them).
- **Completions** (indexer/completions.py): the table is written from the
  live headlines into a local folder, then stored in the index's side index
  (search/cluster/files.py).

Both run after a build (before the alias moves) and after an update, and
then record a new ``derived`` stamp in the index's ``_meta``: a server
that sees it reads the new completion table.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from indexer import completions, minhash
from indexer.stories import leader_ids
from search.cluster import files
from search.cluster.mapping import DocumentMaker, signature_of

#: What the grouping reads of each article.
_READ = ["id", "day", "minhash", "story", "text.headline"]
#: Articles fetched (and sent again) per request.
BATCH = 500


def derive(client, index: str, maker: DocumentMaker, send, meta: dict | None = None) -> int:
    """Group the articles of ``index`` into stories, re-sending through
    ``send(_id, document)`` those whose story changed, and store the
    completion table; ``meta`` goes into the index's ``_meta`` with the new
    stamp.  Return the number of stories."""
    from opensearchpy import helpers

    client.indices.refresh(index=index)
    ids, days, signatures, stored, headlines, keys = [], [], [], [], [], []
    for hit in helpers.scan(client, index=index, size=1000,
                            query={"_source": _READ, "query": {"match_all": {}}}):
        source = hit["_source"]
        keys.append(hit["_id"])
        ids.append(source["id"])
        days.append(source.get("day", -1))
        signatures.append(signature_of(source))
        stored.append(source.get("story"))
        headlines.append((source.get("text") or {}).get("headline", ""))
    matrix = (np.stack(signatures) if signatures
              else np.zeros((0, minhash.NUM_PERM), dtype=minhash.EMPTY.dtype))
    stories = leader_ids(ids, np.array(days, dtype=np.int64), matrix)
    changed = [i for i, story in enumerate(stories) if story != stored[i]]
    for start in range(0, len(changed), BATCH):
        batch = changed[start:start + BATCH]
        found = client.mget(index=index, body={"ids": [keys[i] for i in batch]})["docs"]
        for i, doc in zip(batch, found, strict=True):
            send(keys[i], maker.remake(doc["_source"], stories[i]))
    with tempfile.TemporaryDirectory(prefix="arshif-completions-") as folder:
        completions.write(Path(folder), headlines, maker.analyzer)
        version = files.put(client, index, Path(folder) / completions.NAME)
    mapped = client.indices.get_mapping(index=index)[index]["mappings"]["_meta"]
    mapped["arshif"].update(meta or {}, derived=version)
    client.indices.put_mapping(index=index, body={"_meta": mapped})
    return len(set(stories))
