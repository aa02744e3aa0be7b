#!/usr/bin/env bash
# make demo: krx's encrypted sessions end to end on loopback, for a person
# to watch. Builds the programs, installs the MIT Kerberos tools if they are
# missing (needs root), then runs internal/demo with the built binaries: a
# throwaway realm, rlogind on 127.0.0.1 serving the krx services, rsh -x, an
# rcp -x round trip and (on a terminal) an interactive rlogin -x, all through
# a counting relay that shows no plaintext crossed the wire. It stops
# everything it started, also on ^C. rlogind must run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH:/usr/sbin:/sbin
if [ "$(id -u)" -ne 0 ]; then
  echo "demo: must run as root: rlogind starts each session as the authenticated user (try: sudo make demo)" >&2
  exit 1
fi
if [ -z "${MAKELEVEL:-}" ]; then  # make demo has built them already
  echo "== building rlogin, rsh, rcp and rlogind into bin/"
  make --no-print-directory build
fi
if ! command -v krb5kdc >/dev/null || ! command -v kinit >/dev/null; then
  echo "== installing the MIT Kerberos tools the demo needs"
  ./scripts/install-deps.sh
fi
go build -o bin/.demo ./internal/demo
trap 'rm -f bin/.demo' EXIT
# Not exec: the trap removes the demo binary afterwards. ^C reaches the demo
# (same process group), which stops what it started and exits 1.
bin/.demo -bin bin "$@"
