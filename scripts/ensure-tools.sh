#!/usr/bin/env bash
# Optional command-line tools some tests use when present: promtool validates the Prometheus
# rules and config in deploy/. Installed from Debian's `prometheus` package on first use when we
# can (root with apt-get); without it those checks are skipped, never failed.
set -uo pipefail
if ! command -v promtool >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing promtool (Debian package prometheus)..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) \
    >/dev/null 2>&1 || echo "[setup] could not install promtool; its checks will be skipped" >&2
fi
exit 0
