#!/usr/bin/env bash
# Generation, scoring and Vendi on this machine's accelerator (or, slower, its CPU), with timings.
#   generation/gpu_check.sh [WORK_DIR]
# Needs no network: tiny random models are built from configs (vlmcult.testing). Prints one line per stage.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
WORK=${1:-$(mktemp -d -t vlmcult-gpu-check-XXXXXX)}
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DEVICE=$("$PY" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")')
echo "device: $DEVICE ($("$PY" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU")'))"

stage() {
  local name=$1; shift
  local start=$EPOCHREALTIME
  "$@"
  awk -v a="$start" -v b="$EPOCHREALTIME" -v n="$name" 'BEGIN { printf "time %s: %.2f s\n", n, b - a }'
}

stage tiny-models "$PY" -m vlmcult.testing.tiny "$WORK/tiny"
printf 'id,prompt,country,concept,name\n' > "$WORK/prompts.csv"
for c in Japan India Nigeria Brazil; do
  printf '%s-food,A high resolution image of a traditional dish from %s,%s,cuisine,dish\n' "$c" "$c" "$c" >> "$WORK/prompts.csv"
  printf '%s-dress,An image of traditional clothing from %s,%s,art,clothing\n' "$c" "$c" "$c" >> "$WORK/prompts.csv"
done
stage generate-128-images "$PY" -m vlmcult.generation.generate --model "diffusers:$WORK/tiny/sd" \
  --prompts "$WORK/prompts.csv" --images-per-prompt 16 --steps 4 --size 64x64 --batch-size 32 --quiet --out "$WORK/run"
stage audit-clip-judge "$PY" -c "
from vlmcult.generation.awareness import run_audit
run_audit(['$WORK/run'], out='$WORK/report.html', clip='openclip:local-dir:$WORK/tiny/clip',
          judge='hf:$WORK/tiny/vlm', batch_size=32, progress=False)"
stage vendi-n100000 "$PY" bench/vendi.py --reference-n 2000 --large 100000 --device "$DEVICE" --threads "$(nproc)"
echo "report: $WORK/report.html"
