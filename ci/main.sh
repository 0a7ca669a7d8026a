#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, then trains a small model at
# lr = 0 and lr = 0.01, without and with BatchNorm (Train mode), and prints the test-loss histories.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/install-deps.sh
bash ci/build.sh >/dev/null
train=build/tools/zerolr-train

echo "== A model without BatchNorm: the article's claim holds, bit for bit"
"$train" --arch "input(10),dense(16),relu,dense(1)" --loss bce --optimizer "sgd(momentum=0.9)" \
         --lr 0 --lr 0.01 --epochs 10 --batch-size 16 --seed 1
echo
echo "== The same model with BatchNorm, trained in Train mode: parameters frozen, test loss moves"
"$train" --arch "input(10),dense(16),batchnorm,relu,dense(1)" --loss bce --optimizer "sgd(momentum=0.9)" \
         --lr 0 --lr 0.01 --epochs 10 --batch-size 16 --seed 1
