"""Where the cluster is and how to talk to it.

Everything comes from the command line (``--url``) or the environment, so
credentials never need to be typed where ``ps`` or a shell history shows
them: ``ARSHIF_OPENSEARCH_URL``, ``ARSHIF_OPENSEARCH_USER`` /
``ARSHIF_OPENSEARCH_PASSWORD``, ``ARSHIF_OPENSEARCH_CA_CERTS``,
``ARSHIF_OPENSEARCH_VERIFY_CERTS`` (``0`` to skip verification),
``ARSHIF_OPENSEARCH_INDEX`` (the alias searched, default ``arshif``),
``ARSHIF_OPENSEARCH_SHARDS`` / ``ARSHIF_OPENSEARCH_REPLICAS`` (of the
indexes a build creates).  Only ``display()`` is ever printed: it has no
password.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from indexer.store import StoreError

DEFAULT_URL = "http://127.0.0.1:9200"
DEFAULT_ALIAS = "arshif"
#: Seconds a request may take before the client gives up (a search, one bulk batch).
TIMEOUT_S = 60


class ClusterError(StoreError):
    """The cluster is unreachable or refused a request: exit 2 on the
    command line, a 503 page on the web, like an index that is missing."""


@dataclass(frozen=True)
class ClusterConfig:
    url: str = DEFAULT_URL
    alias: str = DEFAULT_ALIAS
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    shards: int = 1
    replicas: int = 0

    @classmethod
    def from_env(cls, url: str | None = None, env=None) -> ClusterConfig:
        env = os.environ if env is None else env
        url = url or env.get("ARSHIF_OPENSEARCH_URL") or DEFAULT_URL
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ClusterError(f"not an OpenSearch URL: {_redact(url)} "
                               "(expected http://host:9200 or https://host:9200)")
        # user:password@ in the URL works too, but is moved out of it so that
        # the URL can be shown.
        username = env.get("ARSHIF_OPENSEARCH_USER") or parts.username
        password = env.get("ARSHIF_OPENSEARCH_PASSWORD") or parts.password
        return cls(url=_redact(url), alias=env.get("ARSHIF_OPENSEARCH_INDEX") or DEFAULT_ALIAS,
                   username=username, password=password,
                   ca_certs=env.get("ARSHIF_OPENSEARCH_CA_CERTS") or None,
                   verify_certs=env.get("ARSHIF_OPENSEARCH_VERIFY_CERTS", "1") != "0",
                   shards=int(env.get("ARSHIF_OPENSEARCH_SHARDS") or 1),
                   replicas=int(env.get("ARSHIF_OPENSEARCH_REPLICAS") or 0))

    def display(self) -> str:
        """What may be printed: the URL (without credentials) and the alias."""
        return f"{self.url} (index {self.alias})"

    def client(self):
        from opensearchpy import OpenSearch

        options = {"hosts": [self.url], "timeout": TIMEOUT_S, "max_retries": 2,
                   "retry_on_timeout": True}
        if self.username is not None:
            options["http_auth"] = (self.username, self.password or "")
        if self.url.startswith("https:"):
            options.update(use_ssl=True, verify_certs=self.verify_certs,
                           ssl_show_warn=self.verify_certs)
            if self.ca_certs:
                options["ca_certs"] = self.ca_certs
        return OpenSearch(**options)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def describe(exc: Exception, config: ClusterConfig) -> str:
    """One line for an error talking to the cluster (never the credentials)."""
    from opensearchpy import exceptions as os_exc

    if isinstance(exc, os_exc.ConnectionError):
        return f"cannot reach OpenSearch at {config.url}: is the cluster running?"
    if isinstance(exc, os_exc.AuthenticationException | os_exc.AuthorizationException):
        return f"OpenSearch at {config.url} refused the credentials ({exc.status_code})"
    if isinstance(exc, os_exc.TransportError):
        return f"OpenSearch at {config.url} answered {exc.status_code}: {exc.error}"
    return f"OpenSearch at {config.url}: {exc}"
