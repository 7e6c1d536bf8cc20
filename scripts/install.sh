#!/usr/bin/env bash
# Install Gatehouse into ./.venv (idempotent). With --test, also what the test suite needs:
# the test extras and the Debian packages the tests use (Chromium, Node.js, Graphviz, slapd).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Gatehouse needs Python 3.11 or newer ($PYTHON is $("$PYTHON" --version))" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv

# Debian packages for the tests, before the Python ones (python-ldap builds against libldap):
# Chromium (browser tests), Node.js (openid-client as the RP), Graphviz (the admin console draws
# flows with it), OpenLDAP's server and headers (the LDAP directory tests), systemd-analyze (the
# service unit's check) and nginx (the https tests behind a reverse proxy).
if [ "${1:-}" = "--test" ]; then
  missing=""
  command -v chromium >/dev/null 2>&1 || missing="$missing chromium fonts-dejavu-core"
  command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
  command -v node >/dev/null 2>&1 || missing="$missing nodejs"
  command -v npm >/dev/null 2>&1 || missing="$missing npm"
  command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || missing="$missing slapd ldap-utils"
  [ -f /usr/include/ldap.h ] || missing="$missing libldap2-dev libsasl2-dev"
  command -v gcc >/dev/null 2>&1 || missing="$missing gcc"
  command -v systemd-analyze >/dev/null 2>&1 || missing="$missing systemd"
  [ -x /usr/sbin/nginx ] || missing="$missing nginx"
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

# The locked versions, with hashes (requirements/*.lock, refreshed by `make lock`), then Gatehouse
# itself on top of them. Again only when the lock or pyproject.toml changed since the last time.
lock=requirements/app.lock
[ "${1:-}" = "--test" ] && lock=requirements/test.lock
stamp=".venv/.installed-$(basename "$lock")"
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -qq --upgrade pip
  .venv/bin/python -m pip install -qq --require-hashes -r "$lock"  # errors only
  .venv/bin/python -m pip install -qq --no-deps -e .
  touch "$stamp"
fi

[ "${1:-}" = "--test" ] || exit 0

# openid-client for the relying-party tests, pinned by tests/rp/package-lock.json.
if [ ! -d tests/rp/node_modules ] || [ tests/rp/package-lock.json -nt tests/rp/node_modules ]; then
  npm ci --prefix tests/rp --no-audit --no-fund --loglevel=error
  touch tests/rp/node_modules
fi

# axe-core, which the Chromium tests run on every page they visit, pinned by
# tests/a11y/package-lock.json.
if [ ! -d tests/a11y/node_modules ] || [ tests/a11y/package-lock.json -nt tests/a11y/node_modules ]; then
  npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error
  touch tests/a11y/node_modules
fi

# node-oidc-provider as the upstream identity provider of the federated sign-in tests, pinned by
# tests/upstream/package-lock.json.
if [ ! -d tests/upstream/node_modules ] || [ tests/upstream/package-lock.json -nt tests/upstream/node_modules ]; then
  npm ci --prefix tests/upstream --no-audit --no-fund --loglevel=error
  touch tests/upstream/node_modules
fi
