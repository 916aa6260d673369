"""Where the cluster is and how to talk to it.

Each setting comes from, in this order: the command line (``--url``, and
``arshif index``'s ``--shards`` / ``--replicas``), the environment, the
``[opensearch]`` table of the config file (search/config.py), a default:

=================  =================================  ==============================
setting            environment                        config file (``[opensearch]``)
=================  =================================  ==============================
node URLs          ``ARSHIF_OPENSEARCH_URL``          ``url`` (a string or a list)
user, password     ``ARSHIF_OPENSEARCH_USER``,        ``user``, ``password``
                   ``ARSHIF_OPENSEARCH_PASSWORD``
CA certificates    ``ARSHIF_OPENSEARCH_CA_CERTS``     ``ca_certs``
verify TLS         ``ARSHIF_OPENSEARCH_VERIFY_CERTS``  ``verify_certs`` (``false``)
                   (``0`` to skip verification)
alias searched     ``ARSHIF_OPENSEARCH_INDEX``        ``index`` (default ``arshif``)
shards, replicas   ``ARSHIF_OPENSEARCH_SHARDS``,      ``shards``, ``replicas``
of a new index     ``ARSHIF_OPENSEARCH_REPLICAS``     (default 1 and 0)
=================  =================================  ==============================

Several nodes are given as one comma-separated list (or a TOML list): the
client spreads requests over them and fails over to the others when one
does not answer.  Credentials are kept out of the command line (``ps`` and
shell histories show it) and out of everything printed: only
``display()`` is ever shown, and it has no password.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from indexer.store import StoreError

DEFAULT_URL = "http://127.0.0.1:9200"
DEFAULT_ALIAS = "arshif"
#: Seconds a request may take before the client gives up (a search, one bulk batch).
TIMEOUT_S = 60
#: Statuses of a request the cluster failed for its own passing reasons, not
#: the request's: busy (429), or a node missing or just gone (5xx: a search
#: whose fetch phase reached a node as it died fails whole with a 500).
#: Such a request, or bulk item, may be sent again.
PASSING_STATUSES = frozenset({429}) | frozenset(range(500, 600))


class ClusterError(StoreError):
    """The cluster is unreachable or refused a request: exit 2 on the
    command line, a 503 page on the web, like an index that is missing."""


@dataclass(frozen=True)
class ClusterConfig:
    #: The nodes' URLs without credentials, comma-separated (what is shown).
    url: str = DEFAULT_URL
    alias: str = DEFAULT_ALIAS
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    verify_certs: bool = True
    shards: int = 1
    replicas: int = 0

    @classmethod
    def resolve(cls, url: str | None = None, env: Mapping | None = None,
                file: Mapping | None = None, shards: int | None = None,
                replicas: int | None = None) -> ClusterConfig:
        """The settings from the command line's ``url``, ``shards`` and
        ``replicas``, else ``env`` (default ``os.environ``), else ``file``
        (the config file's ``[opensearch]`` table, already checked by
        search/config.py), else the defaults."""
        env = os.environ if env is None else env
        file = file or {}

        def setting(name: str, key: str):
            value = env.get(name)
            return value if value not in (None, "") else file.get(key)

        urls = split_urls(url or setting("ARSHIF_OPENSEARCH_URL", "url") or DEFAULT_URL)
        for one in urls:
            parts = urlsplit(one)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ClusterError(f"not an OpenSearch URL: {_redact(one)} "
                                   "(expected http://host:9200 or https://host:9200)")
        if len({urlsplit(one).scheme for one in urls}) > 1:
            raise ClusterError("the OpenSearch URLs mix http and https: give one scheme")
        # user:password@ in a URL works too, but is moved out of it so that
        # the URL can be shown.
        inline = next((urlsplit(one) for one in urls if urlsplit(one).username), None)
        username = setting("ARSHIF_OPENSEARCH_USER", "user") or (inline and inline.username)
        password = setting("ARSHIF_OPENSEARCH_PASSWORD", "password") or (
            inline and inline.password)
        verify = env.get("ARSHIF_OPENSEARCH_VERIFY_CERTS")
        return cls(url=",".join(_redact(one) for one in urls),
                   alias=setting("ARSHIF_OPENSEARCH_INDEX", "index") or DEFAULT_ALIAS,
                   username=username or None, password=password or None,
                   ca_certs=setting("ARSHIF_OPENSEARCH_CA_CERTS", "ca_certs") or None,
                   verify_certs=(verify != "0") if verify not in (None, "")
                   else bool(file.get("verify_certs", True)),
                   shards=_count("shards", shards, setting("ARSHIF_OPENSEARCH_SHARDS", "shards"),
                                 1, 1),
                   replicas=_count("replicas", replicas,
                                   setting("ARSHIF_OPENSEARCH_REPLICAS", "replicas"), 0, 0))

    @property
    def urls(self) -> list[str]:
        return split_urls(self.url)

    def display(self) -> str:
        """What may be printed: the URLs (without credentials) and the alias."""
        return f"{self.url} (index {self.alias})"

    def client(self):
        from opensearchpy import OpenSearch

        # A request that finds its node gone is sent to another one at once
        # (the client marks the node dead for a while): up to every other node.
        options = {"hosts": self.urls, "timeout": TIMEOUT_S,
                   "max_retries": max(2, len(self.urls) - 1), "retry_on_timeout": True}
        if self.username is not None:
            options["http_auth"] = (self.username, self.password or "")
        if self.url.startswith("https:"):
            options.update(use_ssl=True, verify_certs=self.verify_certs,
                           ssl_show_warn=self.verify_certs)
            if self.ca_certs:
                options["ca_certs"] = self.ca_certs
        return OpenSearch(**options)


def split_urls(urls: str | list[str]) -> list[str]:
    """``http://a:9200,http://b:9200`` (or a list) as a list of URLs."""
    parts = urls if isinstance(urls, list) else str(urls).split(",")
    found = [part.strip() for part in parts if part.strip()]
    if not found:
        raise ClusterError("no OpenSearch URL given (expected http://host:9200)")
    return found


def _count(what: str, given, configured, default: int, least: int) -> int:
    value = given if given is not None else configured
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number < least or isinstance(value, bool):
        raise ClusterError(f"the number of {what} must be a whole number of at least "
                           f"{least}, not {value!r}")
    return number


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
