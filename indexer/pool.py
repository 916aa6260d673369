"""A cheaper external sort for Whoosh's posting pool.

A ``SegmentWriter`` keeps every posting of the segment in a pool and sorts it
at commit.  Past ``limitmb`` the pool is sorted and spilled to a run file, and
the runs are merged back at commit.  Whoosh writes and reads runs with one
``pickle`` call per posting, and that was about a quarter of a full build's
time (docs/performance.md, "Indexing").  Here a run is a sequence of
``marshal``-ed blocks of postings: one C call per block.  The postings are
plain tuples of str, bytes, int, float and None, which marshal keeps as they
are, and run files never outlive the build that wrote them.

The pool is also where the sorted postings leave for Whoosh's codec, so it
passes them through ``indexer.flat.FlatWriter`` on the way: the segment gets
its flat posting arrays in the same pass.
"""

from __future__ import annotations

import marshal
from itertools import islice

from whoosh.writing import PostingPool, SegmentWriter

from indexer.flat import FlatWriter, flat_path

#: Postings per block: enough for marshal's C loop to do the work, few enough
#: that merging k runs holds only k blocks (a few MB each) in memory.
BLOCK_POSTINGS = 20_000


class BlockPostingPool(PostingPool):
    """Whoosh's PostingPool with runs written and read a block at a time,
    and (with ``folder``) the segment's flat postings written beside it."""

    def __init__(self, tempstore, segment, limitmb: int, folder: str | None = None,
                 schema=None):
        super().__init__(tempstore, segment, limitmb=limitmb)
        self.folder = folder
        self.schema = schema

    def iter_postings(self):
        postings = super().iter_postings()
        if self.folder is None:
            return postings
        positional = {name: field.format for name, field in self.schema.items()
                      if field.format is not None and field.format.supports("positions")}
        return FlatWriter(flat_path(self.folder, self.segment), positional=positional).tee(postings)

    def _write_run(self, f, items):
        items = iter(items)
        while block := list(islice(items, BLOCK_POSTINGS)):
            marshal.dump(block, f)
        f.close()

    def _read_run(self, path):
        f = self._open_run(path)
        try:
            while True:
                try:
                    block = marshal.load(f)
                except EOFError:
                    return
                yield from block
        finally:
            f.close()
            self._remove_run(path)


def use_block_pool(writer: SegmentWriter, limitmb: int) -> SegmentWriter:
    """Give a new, still empty ``writer`` a BlockPostingPool that writes the
    segment's flat postings into the index folder (unless it writes a
    compound segment).

    SegmentWriter ignores its ``poolclass`` argument and always builds a
    PostingPool, so the pool is replaced right after construction.
    """
    # A compound segment would swallow the flat file into its one file.
    folder = None if writer.compound else getattr(writer.storage, "folder", None)
    writer.pool = BlockPostingPool(writer.temp_storage(), writer.newsegment, limitmb,
                                   folder=folder, schema=writer.schema)
    return writer
