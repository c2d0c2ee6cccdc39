#!/usr/bin/env bash
# Set up everything the tests need, then run them: the project's virtualenv, headless Chromium
# (Debian's package, for the consent-page tests) and Meltano in a virtualenv of its own.
# Arguments go to pytest, e.g. `scripts/test.sh -k sandbox`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --editable '.[dev]'

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing Debian's chromium for the browser tests..." >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "chromium is not installed; browser tests will be skipped (CI installs it)." >&2
    fi
fi

# Meltano pins its own dependency versions, so it lives apart from the project's virtualenv.
if [ ! -x .venv-meltano/bin/meltano ]; then
    python3 -m venv .venv-meltano
    .venv-meltano/bin/pip install --quiet 'meltano==4.4.1'
fi
export MELTANO_BIN="$PWD/.venv-meltano/bin/meltano"

exec .venv/bin/python -m pytest "$@"
