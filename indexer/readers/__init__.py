"""Readers: archive files -> Article / Reject records.

``detect.detect_format`` decides a file's format from its content (ANT's SGML
files and the user's own articles both end in .txt); then ``records`` (JSON,
JSON Lines, CSV), ``sgml`` (TREC-style <DOC> files) or ``text`` (one article
per file) turns it into records.  Readers yield a Reject instead of raising,
so one bad file or record never stops an indexing run.
"""
