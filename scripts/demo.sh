#!/usr/bin/env bash
# make demo: a throwaway MIT realm on loopback, Kerberos authentication with
# krx's krbauth, and an encrypted CFB-64 exchange over a real TCP socket.
# The encrypted rlogin/rsh/rcp sessions through rlogind join this when they
# land. Installs the MIT KDC tools first if they are missing (needs root).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH:/usr/sbin:/sbin
if ! command -v krb5kdc >/dev/null || ! command -v kinit >/dev/null; then
  echo "== installing the MIT Kerberos tools the demo needs"
  ./scripts/install-deps.sh
fi
go run ./internal/demo
