"""How arshif finds its backend and cluster: options, the environment and the
config file (search/config.py, search/cluster/connection.py), and the
cluster backend's bounded retry of a failed read.  No node is needed."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import search.cluster.backend as backend_module
from arshif.cli import main
from search.backend import Target
from search.cluster.backend import ClusterBackend
from search.cluster.connection import ClusterConfig, ClusterError
from search.config import ConfigError, read_config

SECRET = "s3cret-from-the-file"
FULL = f"""\
backend = "opensearch"

[opensearch]
url = ["http://10.0.0.1:9200", "http://10.0.0.2:9200", "http://10.0.0.3:9200"]
user = "reader"
password = "{SECRET}"
ca_certs = "/etc/arshif/ca.pem"
verify_certs = false
index = "news"
shards = 3
replicas = 1
"""
ENV_NAMES = ("ARSHIF_BACKEND", "ARSHIF_OPENSEARCH_URL", "ARSHIF_OPENSEARCH_USER",
             "ARSHIF_OPENSEARCH_PASSWORD", "ARSHIF_OPENSEARCH_CA_CERTS",
             "ARSHIF_OPENSEARCH_VERIFY_CERTS", "ARSHIF_OPENSEARCH_INDEX",
             "ARSHIF_OPENSEARCH_SHARDS", "ARSHIF_OPENSEARCH_REPLICAS", "ARSHIF_CONFIG")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(backend_module, "BACKOFF_S", 0)


def _file(tmp_path, text: str = FULL):
    path = tmp_path / "arshif.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_file_gives_every_setting(tmp_path):
    config = read_config(_file(tmp_path))
    assert config.backend == "opensearch"
    cluster = Target(config.backend, None, config).cluster()
    assert cluster.urls == ["http://10.0.0.1:9200", "http://10.0.0.2:9200",
                            "http://10.0.0.3:9200"]
    assert (cluster.username, cluster.password) == ("reader", SECRET)
    assert (cluster.ca_certs, cluster.verify_certs) == ("/etc/arshif/ca.pem", False)
    assert (cluster.alias, cluster.shards, cluster.replicas) == ("news", 3, 1)


def test_option_beats_environment_beats_file_beats_default(tmp_path, monkeypatch):
    file = read_config(_file(tmp_path)).opensearch
    monkeypatch.setenv("ARSHIF_OPENSEARCH_URL", "http://env:9200")
    monkeypatch.setenv("ARSHIF_OPENSEARCH_PASSWORD", "from-env")
    monkeypatch.setenv("ARSHIF_OPENSEARCH_SHARDS", "5")
    monkeypatch.setenv("ARSHIF_OPENSEARCH_VERIFY_CERTS", "1")
    by_env = ClusterConfig.resolve(file=file)
    assert by_env.urls == ["http://env:9200"]
    assert (by_env.password, by_env.username) == ("from-env", "reader")  # user: the file's
    assert (by_env.shards, by_env.replicas, by_env.verify_certs) == (5, 1, True)
    by_option = ClusterConfig.resolve("http://option:9200", file=file, shards=2, replicas=0)
    assert (by_option.urls, by_option.shards, by_option.replicas) == (
        ["http://option:9200"], 2, 0)
    default = ClusterConfig.resolve(env={})
    assert (default.url, default.alias, default.shards, default.replicas) == (
        "http://127.0.0.1:9200", "arshif", 1, 0)


def test_several_urls_comma_separated_without_their_credentials():
    config = ClusterConfig.resolve("https://reader:pw@a.example:9200, https://b.example:9200",
                                   env={})
    assert config.urls == ["https://a.example:9200", "https://b.example:9200"]
    assert config.password == "pw"
    assert config.display() == "https://a.example:9200,https://b.example:9200 (index arshif)"
    hosts = config.client().transport.hosts  # the client is given both, to fail over
    assert [(h["host"], h["port"], h["use_ssl"]) for h in hosts] == [
        ("a.example", 9200, True), ("b.example", 9200, True)]


@pytest.mark.parametrize("text, message", [
    ("backend = 'cassandra'\n", "backend must be one of embedded, opensearch"),
    ("colour = 'blue'\n", "unknown setting 'colour'"),
    ("[opensearch]\npasword = 'x'\n", "unknown setting 'opensearch.pasword'"),
    ("[opensearch]\nshards = 'three'\n", "opensearch.shards must be a whole number"),
    ("[opensearch]\nverify_certs = 'no'\n", "opensearch.verify_certs must be true or false"),
    ("[opensearch]\nurl = []\n", "opensearch.url must be a string or a list of strings"),
    ("opensearch = 3\n", "opensearch must be a table"),
    ("backend = \n", "is not valid TOML"),
])
def test_a_bad_file_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        read_config(_file(tmp_path, text))


def test_a_wrong_password_type_does_not_show_the_value(tmp_path):
    with pytest.raises(ConfigError) as caught:
        read_config(_file(tmp_path, "[opensearch]\npassword = 123456789\n"))
    assert "123456789" not in str(caught.value)


@pytest.mark.parametrize("env, message", [
    ({"ARSHIF_OPENSEARCH_SHARDS": "x"}, "number of shards must be a whole number of at least 1"),
    ({"ARSHIF_OPENSEARCH_REPLICAS": "-1"}, "number of replicas must be a whole number"),
    ({"ARSHIF_OPENSEARCH_URL": "ftp://host"}, "not an OpenSearch URL: ftp://host"),
    ({"ARSHIF_OPENSEARCH_URL": " , "}, "no OpenSearch URL given"),
    ({"ARSHIF_OPENSEARCH_URL": "http://a:9200,https://b:9200"}, "mix http and https"),
])
def test_bad_cluster_settings_are_clear_errors(env, message):
    with pytest.raises(ClusterError, match=message):
        ClusterConfig.resolve(env=env)


def test_the_commands_read_the_file_and_never_print_its_password(tmp_path, monkeypatch):
    path = _file(tmp_path, f"backend = 'opensearch'\n[opensearch]\n"
                           f"url = 'http://127.0.0.1:9,http://127.0.0.1:19'\n"
                           f"user = 'reader'\npassword = '{SECRET}'\n")
    runner = CliRunner()
    by_option = runner.invoke(main, ["search", "النفط", "--config", str(path)])
    monkeypatch.setenv("ARSHIF_CONFIG", str(path))
    by_env = runner.invoke(main, ["stats"])
    for result in (by_option, by_env):
        assert result.exit_code == 2, result.output
        assert ("cannot reach OpenSearch at http://127.0.0.1:9,http://127.0.0.1:19"
                in result.output)
        assert SECRET not in result.output and "Traceback" not in result.output


def test_the_command_line_beats_the_files_backend(tmp_path, news_index):
    path = _file(tmp_path)
    result = CliRunner().invoke(main, ["stats", "--json", "--config", str(path),
                                       "--backend", "embedded", "--index", str(news_index)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, message", [
    (["search", "النفط", "--config", "/no/such/arshif.toml"],
     "cannot read the config file /no/such/arshif.toml"),
    (["stats", "--backend", "opensearch", "--url", "localhost:9200"],
     "not an OpenSearch URL: localhost:9200"),
    (["index", "--shards", "3"], "--shards and --replicas are for --backend opensearch"),
])
def test_unusable_settings_exit_2_with_one_line(args, message):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


class _Flaky:
    """A client whose requests fail with ``errors`` (one per call) before answering."""

    def __init__(self, errors, failed_shards=()):
        self.errors, self.calls = list(errors), 0
        self.failed_shards = list(failed_shards)  # per search answer: shards without an answer
        self.indices = self

    def _answer(self, value):
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return value

    def get_mapping(self, index):
        return self._answer({"news-1": {"mappings": {}}})

    def count(self, index):
        failed = self.failed_shards.pop(0) if self.failed_shards else 0
        return self._answer({"count": 7 - failed, "_shards": {"total": 3, "failed": failed}})


def _gone():
    from opensearchpy import ConnectionError as Gone

    return Gone("N/A", "connection refused", OSError("refused"))


def test_a_read_that_failed_because_a_node_went_away_is_sent_again():
    from opensearchpy import TransportError

    client = _Flaky([_gone(), TransportError(503, "no_shard_available_action_exception"),
                     TransportError(500, "search_phase_execution_exception")])
    backend = ClusterBackend(ClusterConfig(url="http://a:9200"), client=client)
    assert backend.summary() == {"articles": 7, "generation": "news-1"}
    assert backend.retried == 3


def test_retries_are_bounded():
    client = _Flaky([_gone() for _ in range(10)])
    backend = ClusterBackend(ClusterConfig(url="http://a:9200"), client=client)
    with pytest.raises(ClusterError, match="cannot reach OpenSearch at http://a:9200"):
        backend.summary()
    assert client.calls == backend_module.RETRIES + 1


def test_a_refused_request_is_not_sent_again():
    from opensearchpy import TransportError

    client = _Flaky([TransportError(400, "parsing_exception")])
    backend = ClusterBackend(ClusterConfig(url="http://a:9200"), client=client)
    with pytest.raises(ClusterError, match="answered 400"):
        backend.summary()
    assert client.calls == 1 and backend.retried == 0


def test_an_answer_without_some_shards_is_asked_again():
    """A search whose fetch phase reached a node as it died comes back
    without that shard: asked again, it is whole."""
    client = _Flaky([], failed_shards=[1, 2, 0])
    backend = ClusterBackend(ClusterConfig(url="http://a:9200"), client=client)
    assert backend.summary()["articles"] == 7
    assert client.calls == 4 and backend.retried == 2  # the mapping, then 3 counts


def test_an_answer_still_without_shards_is_returned_as_it_is():
    client = _Flaky([], failed_shards=[1] * (backend_module.RETRIES + 1))
    backend = ClusterBackend(ClusterConfig(url="http://a:9200"), client=client)
    assert backend.summary()["articles"] == 6
    assert client.calls == 1 + backend_module.RETRIES + 1
