#!/usr/bin/env bash
# A CPU-scale run of the SSCLNet protocol (input 64², pretraining cut short): what a machine without a GPU
# can finish in about an hour on 2 cores. Not the full 224² / 100-epoch protocol; see docs/trainer.md.
set -euxo pipefail
cd "$(dirname "$0")/.."
M=${SSCLNET_MANIFEST:-../shared/data/brain-mri-2d/dev/splits-protocol-500.csv}
P=runs/cpu64-pretrain/last.pt
ssclnet pretrain --data "$M" --split unlabeled,train,val --out runs/cpu64-pretrain --image-size 64 \
  --epochs "${PRETRAIN_EPOCHS:-40}" --batch-size 256 --monitor-every 5 --resume
ssclnet finetune --data "$M" --init "$P" --encoder finetune --out runs/cpu64-ssl-ft --quiet
ssclnet finetune --data "$M" --init scratch --image-size 64 --out runs/cpu64-scratch --quiet
ssclnet finetune --data "$M" --init "$P" --encoder frozen --out runs/cpu64-ssl-probe --quiet
for r in cpu64-ssl-ft cpu64-scratch cpu64-ssl-probe; do
  ssclnet evaluate --checkpoint runs/$r/best.pt --data "$M" --split test --out runs/$r/eval-test
done
