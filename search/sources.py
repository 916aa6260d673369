"""A generation's sources as readers know them: display names, and the
source filter's matching of what a user typed to the indexed values.

The indexed ``source`` value stays what the archive wrote (a slug such as
``aljazirah``, or a name); the display names come from the sources file
read at index time (indexer/sources.py), kept in the manifest.  A typed
source matches a value when the value or its display name is the same
after ``source_key`` (case, hamza, ``ى``/``ي``, ``ة``/``ه``, tashkeel aside),
so ``الجزيره``, ``ALJAZIRAH`` and ``aljazirah`` all select the same articles.
"""

from __future__ import annotations

import difflib

from indexer.sources import source_key

#: How alike a typed source and a known one must be to be suggested
#: (difflib's ratio over the normalized forms).
CLOSE_ENOUGH = 0.5


class SourceNames:
    """Built once per generation from the manifest's names and the indexed values."""

    def __init__(self, names: dict, values: list[str]):
        by_key = {source_key(slug): entry for slug, entry in names.items()}
        self._entry = {v: by_key.get(source_key(v), {}) for v in values if v}
        self._values: dict[str, list[str]] = {}
        for value, entry in self._entry.items():
            for key in {source_key(value), source_key(entry.get("name", ""))} - {""}:
                self._values.setdefault(key, []).append(value)

    def name(self, value: str) -> str:
        """The display name of an indexed source value (the value without one)."""
        return self._entry.get(value, {}).get("name") or value

    def url(self, value: str) -> str:
        return self._entry.get(value, {}).get("url", "")

    def resolve(self, typed: str) -> list[str]:
        """The indexed values a typed source selects (none: an unknown source)."""
        return sorted(self._values.get(source_key(typed), []))

    def closest(self, typed: str) -> str | None:
        """The known source most like ``typed``, as its display name, or None.

        A name typed in part (``سكاي`` for ``سكاي نيوز عربية``) is too short
        to be like the whole by difflib's ratio: then the shortest known name
        that holds it as whole words."""
        key = source_key(typed)
        found = difflib.get_close_matches(key, list(self._values), n=1, cutoff=CLOSE_ENOUGH)
        if not found and key:
            found = sorted((known for known in self._values if f" {key} " in f" {known} "),
                           key=len)[:1]
        if not found:
            return None
        return self.name(self._values[found[0]][0])
