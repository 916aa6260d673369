"""Turn a query into ranked, highlighted results: the one place for search logic.

``query`` parses what a person typed, ``engine`` ranks and filters, ``highlight``
marks the matches; the CLI and the web call these and hold no logic of their own.
"""
