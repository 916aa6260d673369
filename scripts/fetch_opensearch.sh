#!/usr/bin/env bash
# Fetch the OpenSearch distribution the tests and `arshif --backend opensearch`
# try-outs run: the official no-JDK zip from Maven Central (it runs on the
# machine's Java 17), checked against the SHA-512 Maven Central publishes,
# unpacked into .cache/opensearch/opensearch-$VERSION.
#
# Idempotent: a complete unpacked copy (marked by .fetched) is kept; a failed
# or interrupted fetch leaves nothing that looks complete, and exits non-zero.
# The integ-test zip already holds the transport-netty4 module (HTTP), and the
# `whitespace` analyzer arshif's pre-analyzed fields use is in the core, so
# no other module is fetched.
set -euo pipefail

VERSION="${OPENSEARCH_VERSION:-2.19.6}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${OPENSEARCH_CACHE:-$ROOT/.cache/opensearch}"
HOME_DIR="$CACHE/opensearch-$VERSION"
REPO="${MAVEN_REPO:-https://repo1.maven.org/maven2}"
URL="$REPO/org/opensearch/distribution/integ-test-zip/opensearch/$VERSION/opensearch-$VERSION.zip"

if [ -f "$HOME_DIR/.fetched" ]; then
    echo "opensearch $VERSION: already in $HOME_DIR"
    exit 0
fi
for tool in curl unzip sha512sum; do
    command -v "$tool" >/dev/null || { echo "fetch_opensearch: $tool is needed" >&2; exit 1; }
done

mkdir -p "$CACHE"
work="$(mktemp -d "$CACHE/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

fetch() {  # retries transient network errors; -f fails on HTTP errors
    curl -fsSL --retry 5 --retry-delay 3 --retry-all-errors --connect-timeout 20 \
        --max-time 600 -o "$2" "$1" \
        || { echo "fetch_opensearch: could not download $1" >&2; exit 1; }
}
echo "opensearch $VERSION: downloading $URL"
fetch "$URL.sha512" "$work/zip.sha512"
fetch "$URL" "$work/opensearch.zip"
expected="$(tr -d ' \n\r' < "$work/zip.sha512" | cut -c1-128)"
actual="$(sha512sum "$work/opensearch.zip" | cut -d' ' -f1)"
if [ "${#expected}" -ne 128 ] || [ "$expected" != "$actual" ]; then
    echo "fetch_opensearch: checksum mismatch for $URL (expected $expected, got $actual)" >&2
    exit 1
fi
unzip -q "$work/opensearch.zip" -d "$work/unpacked"
test -x "$work/unpacked/opensearch-$VERSION/bin/opensearch"
rm -rf "$HOME_DIR"
mv "$work/unpacked/opensearch-$VERSION" "$HOME_DIR"
touch "$HOME_DIR/.fetched"
echo "opensearch $VERSION: ready in $HOME_DIR"
