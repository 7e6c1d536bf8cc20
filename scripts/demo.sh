#!/usr/bin/env bash
# Start Gatehouse with the embedded store, the demo relying party and the demo user alice.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
echo "alice-password-1" | .venv/bin/gatehouse users add alice --email alice@example.com \
  --name "Alice Example" --password-stdin --if-missing
echo "Open http://localhost:8000/demo and sign in as alice / alice-password-1 (your account: http://localhost:8000/account)"
exec .venv/bin/gatehouse serve
