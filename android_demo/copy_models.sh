#!/usr/bin/env bash
# Copy one exported mode directory (python -m export.tflite ... --out exported/vox;
# then exported/vox/float32) into the app's assets: model_card.json and the
# .tflite files it lists.
#   android_demo/copy_models.sh exported/vox/float32
set -euo pipefail
src="${1:?usage: copy_models.sh EXPORT_MODE_DIR (e.g. exported/vox/float32)}"
card="$src/model_card.json"
[ -f "$card" ] || { echo "copy_models: error: $src has no model_card.json (not an export)" >&2; exit 1; }
dest="$(cd "$(dirname "$0")" && pwd)/app/src/main/assets/models"
files=$(python3 -c 'import json,sys; print(" ".join(m["file"] for m in json.load(open(sys.argv[1]))["models"]))' "$card") \
  || { echo "copy_models: error: $card is not a model card" >&2; exit 1; }
rm -rf "$dest" && mkdir -p "$dest"
cp "$card" "$dest/"
for f in $files; do
  [ -f "$src/$f" ] || { echo "copy_models: error: $src/$f missing (listed in model_card.json)" >&2; exit 1; }
  cp "$src/$f" "$dest/"
done
echo "copied model_card.json $files -> $dest"
