"""The config file (``arshif.toml``): which backend, and how to reach the cluster.

Found through ``--config FILE`` or ``$ARSHIF_CONFIG``; nothing is read
without one.  It holds what would otherwise be typed on every command or
kept in the environment::

    backend = "opensearch"

    [opensearch]
    url = ["http://10.0.0.1:9200", "http://10.0.0.2:9200"]   # or "http://a:9200,http://b:9200"
    user = "arshif"
    password = "…"
    ca_certs = "/etc/arshif/ca.pem"
    verify_certs = true
    index = "arshif"
    shards = 3
    replicas = 1

A command-line option beats the environment, which beats the file
(search/cluster/connection.py).  Unknown keys and wrong types are refused
with the key's name: a misspelt ``pasword`` must not silently connect
without credentials.  The file may hold a password: keep it readable by
its user only; arshif never prints its values.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from indexer.store import StoreError
from search.backend import BACKENDS

#: The keys of ``[opensearch]`` and the TOML types each may have.
OPENSEARCH_KEYS = {"url": (str, list), "user": (str,), "password": (str,), "ca_certs": (str,),
                   "verify_certs": (bool,), "index": (str,), "shards": (int,),
                   "replicas": (int,)}


class ConfigError(StoreError):
    """The config file cannot be read or says something arshif does not know:
    one line and exit 2, like any setting the user must fix."""


@dataclass(frozen=True)
class Config:
    """What the config file says; empty without one."""

    path: Path | None = None
    backend: str | None = None
    opensearch: dict = field(default_factory=dict, repr=False)  # may hold a password


def read_config(path: Path | str | None) -> Config:
    """The config file at ``path`` (None: no file, the empty config)."""
    if path is None or str(path) == "":
        return Config()
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: "
                          f"{exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"backend", "opensearch"})
    if unknown:
        raise ConfigError(f"{path}: unknown setting {unknown[0]!r} "
                          "(expected backend and an [opensearch] table)")
    backend = data.get("backend")
    if backend is not None and backend not in BACKENDS:
        raise ConfigError(f"{path}: backend must be one of {', '.join(BACKENDS)}, "
                          f"not {backend!r}")
    table = data.get("opensearch", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: opensearch must be a table ([opensearch])")
    for key, value in table.items():
        types = OPENSEARCH_KEYS.get(key)
        if types is None:
            raise ConfigError(f"{path}: unknown setting 'opensearch.{key}' (expected one of "
                              f"{', '.join(OPENSEARCH_KEYS)})")
        wrong = not isinstance(value, types) or (bool not in types and isinstance(value, bool))
        if key == "url" and isinstance(value, list):
            wrong = wrong or not value or not all(isinstance(v, str) for v in value)
        if wrong:
            # The value itself is not shown: it may be the password.
            raise ConfigError(f"{path}: opensearch.{key} must be "
                              f"{' or '.join(_TYPE_NAMES[t] for t in types)}")
    return Config(path, backend, dict(table))


_TYPE_NAMES = {str: "a string", list: "a list of strings", bool: "true or false",
               int: "a whole number"}
