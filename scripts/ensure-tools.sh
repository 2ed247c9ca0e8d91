#!/usr/bin/env bash
# Optional command-line tools some tests use when present, installed on first use when we can
# (root with apt-get); without them those checks are skipped, never failed:
# - promtool (Debian package prometheus) validates the Prometheus rules and config in deploy/;
# - Confluent's Python client (Debian package python3-confluent-kafka, with python3-requests its
#   registry client needs) for test/interop: a Kafka and schema-registry client we did not write.
#   Its AvroSerializer is built on fastavro, which Debian does not package: pip puts it in
#   .infra/python (git-ignored), which only that test puts on the Python path;
# - chromium (Debian package) renders the evaluation report in a real headless browser
#   (libs/evaluation, driven by playwright-core, which downloads no browser of its own).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=/usr/bin/python3
PY_DEPS=.infra/python

can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
has_python_client() { [ -x "$PYTHON" ] && "$PYTHON" -c 'import confluent_kafka, requests' >/dev/null 2>&1; }

packages=()
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
has_python_client || packages+=(python3-confluent-kafka python3-requests python3-pip)
[ -x /usr/bin/chromium ] || packages+=(chromium)
if [ "${#packages[@]}" -gt 0 ] && can_apt; then
  echo "[setup] installing ${packages[*]} (Debian packages)..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}") \
    >/dev/null 2>&1 || echo "[setup] could not install ${packages[*]}; the checks that need them will be skipped" >&2
fi

if has_python_client && ! PYTHONPATH="$PY_DEPS" "$PYTHON" -c 'import fastavro' >/dev/null 2>&1; then
  echo "[setup] installing fastavro into $PY_DEPS (pip)..." >&2
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --retries 1 --no-deps \
    --target "$PY_DEPS" 'fastavro==1.12.2' >/dev/null 2>&1 ||
    echo "[setup] could not install fastavro; the Confluent Python client test will be skipped" >&2
fi
exit 0
