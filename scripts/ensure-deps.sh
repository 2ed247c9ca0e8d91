#!/usr/bin/env bash
# Installs the project's npm dependencies on first use (or when package-lock.json changed),
# so that `npm start` and `npm test` work on a fresh clone with no separate install step.
# npm scripts find `node` in node_modules/.bin first: once this has run, every script runs
# on the Node 24 pinned by the `node` devDependency, whatever Node started npm.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.install-stamp
if [ ! -x node_modules/.bin/node ] || [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "[setup] installing npm dependencies..." >&2
  # `npm install`, not `npm ci`: the registry mirror we build on lacks some platform-only
  # optional packages (e.g. Biome's Windows/macOS binaries), which `npm ci` treats as a
  # lockfile mismatch. The lockfile still pins every version that gets installed.
  npm install --no-audit --no-fund --loglevel=error >&2
  touch "$stamp"
fi
