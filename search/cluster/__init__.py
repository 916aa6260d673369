"""The OpenSearch backend: the same arshif (analysis, ranking choices, page,
API, CLI, evaluation) with an OpenSearch cluster storing and searching.

connection (where the cluster is, the client), mapping (the index layout and
the documents arshif sends), translate (a parsed query as OpenSearch's query
DSL), backend (the ``search.backend.Backend`` over a cluster), build
(``arshif index --backend opensearch``).  docs/scale-out.md says why arshif
analyzes the text itself and sends the terms.
"""
