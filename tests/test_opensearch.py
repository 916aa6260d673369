"""The OpenSearch backend against a real node (tests/opensearch_node.py)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.opensearch


def test_node_answers_on_loopback(opensearch_node):
    info = opensearch_node.request("/")
    assert info["version"]["number"].startswith("2.19.")
    assert opensearch_node.url.startswith("http://127.0.0.1:")
