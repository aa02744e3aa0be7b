#!/usr/bin/env bash
# Installs the Debian packages krx's tests, demo and benchmarks use:
# an MIT KDC and client tools, the netkit r-commands, socat, OpenSSH (the
# benchmark baseline), nftables/iproute2 (flaky-link tests) and the
# independent crypto implementations the test vectors were made with;
# tcpdump only for what a stuck end-to-end test logs about its link.
set -euo pipefail
pkgs=(krb5-kdc krb5-admin-server krb5-user rsh-server rsh-client socat
      openssh-server openssh-client nftables iproute2 openssl python3-pycryptodome
      tcpdump)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to apt-get install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
