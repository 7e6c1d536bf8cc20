#!/usr/bin/env bash
# Start Gatehouse with the embedded store, the demo relying party and the demo user alice.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
# The demo follows the port: a browser signs in at the issuer, so it moves with GATEHOUSE_PORT
# (unless GATEHOUSE_ISSUER says otherwise).
if [ -n "${GATEHOUSE_PORT:-}" ] && [ -z "${GATEHOUSE_ISSUER:-}" ]; then
  export GATEHOUSE_ISSUER="http://localhost:${GATEHOUSE_PORT}"
fi
echo "alice-password-1" | .venv/bin/gatehouse users add alice --email alice@example.com \
  --name "Alice Example" --password-stdin --if-missing
# The admin console's demo operator (a demo only: its first sign-in sets up its second factor).
echo "admin-password-1" | .venv/bin/gatehouse users add admin --group admins --password-stdin \
  --if-missing
echo "Sign in to the demo below as alice / alice-password-1 (or alice@example.com)"
echo "The admin console is at /admin: admin / admin-password-1, then a second factor to set up"
exec .venv/bin/gatehouse serve
