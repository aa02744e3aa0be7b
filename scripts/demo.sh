#!/usr/bin/env bash
# make demo. Until the encrypted-session issue lands this shows the pieces
# that exist: the CFB-64 stream encrypting a line, and the ciphertext that
# would go on the wire.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./internal/demo
