#!/usr/bin/env bash
# Regenerates vectors.txt, the CFB-64 known-answer vectors of cfbstream,
# with implementations independent of krx:
#   DES, 3DES:    OpenSSL (openssl enc -des-cfb / -des-ede3-cfb; OpenSSL's
#                 DES "cfb" is full-block CFB-64)
#   AES-128/256:  Debian's python3-pycryptodome, AES.MODE_CFB, segment_size=64
# Usage: cfbstream/testdata/gen.sh > cfbstream/testdata/vectors.txt
# Line format: <alg> <key hex> <iv hex> <plaintext hex> <ciphertext hex>
set -euo pipefail
PY=/usr/bin/python3          # Debian's python3 (has Cryptodome); not pyenv's
LENGTHS="1 7 8 9 15 16 17 24 31 64 100 257"

# Deterministic plaintext of length $1: byte i = (i*7 + 3) mod 256.
pt() { "$PY" -c 'import sys; n=int(sys.argv[1]); sys.stdout.buffer.write(bytes((i*7+3)%256 for i in range(n)))' "$1"; }
hex() { od -An -v -tx1 | tr -d ' \n'; }

echo "# cfbstream CFB-64 known-answer vectors; made by testdata/gen.sh"
echo "# $(openssl version | head -1); pycryptodome $("$PY" -c 'import Cryptodome; print(Cryptodome.__version__)')"

# FIPS 81 (1980) Appendix, Table D3 "64-bit CFB": key 0123456789abcdef,
# IV 1234567890abcdef, plaintext "Now is the time for all ". The
# ciphertext below comes from OpenSSL and must equal the FIPS 81 table:
# f3096249c7f46e51 a69e839b1a92f784 03467133898ea622.
P=$(printf 'Now is the time for all ' | hex)
C=$(printf 'Now is the time for all ' | openssl enc -des-cfb -provider legacy -provider default \
	-K 0123456789abcdef -iv 1234567890abcdef -nopad | hex)
if [ "$C" != f3096249c7f46e51a69e839b1a92f78403467133898ea622 ]; then
	echo "gen.sh: OpenSSL disagrees with FIPS 81 Table D3: $C" >&2; exit 1
fi
echo "des 0123456789abcdef 1234567890abcdef $P $C"

DESKEY=0123456789abcdef; DESIV=fedcba9876543210
TDESKEY=0123456789abcdef23456789abcdef01456789abcdef0123; TDESIV=0001020304050607
for n in $LENGTHS; do
	P=$(pt "$n" | hex)
	C=$(pt "$n" | openssl enc -des-cfb -provider legacy -provider default -K $DESKEY -iv $DESIV -nopad | hex)
	echo "des $DESKEY $DESIV $P $C"
done
for n in $LENGTHS; do
	P=$(pt "$n" | hex)
	C=$(pt "$n" | openssl enc -des-ede3-cfb -K $TDESKEY -iv $TDESIV -nopad | hex)
	echo "3des $TDESKEY $TDESIV $P $C"
done

# AES: key, IV as hex; NIST SP 800-38A F.3 keys, IV 000102…0f.
aes() { # alg keyhex ivhex n
	"$PY" - "$@" <<'PYEOF'
import sys
from Cryptodome.Cipher import AES
alg, k, iv, n = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
p = bytes((i*7+3) % 256 for i in range(n))
c = AES.new(k, AES.MODE_CFB, iv=iv, segment_size=64).encrypt(p)
print(alg, k.hex(), iv.hex(), p.hex(), c.hex())
PYEOF
}
AES128KEY=2b7e151628aed2a6abf7158809cf4f3c
AES256KEY=603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4
AESIV=000102030405060708090a0b0c0d0e0f
for n in $LENGTHS; do aes aes128 $AES128KEY $AESIV "$n"; done
for n in $LENGTHS; do aes aes256 $AES256KEY $AESIV "$n"; done
