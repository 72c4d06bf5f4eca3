#!/usr/bin/env bash
# Rebuilds the recall teacher from scratch, exactly as committed (run from the repository root;
# writes into ./recall-teacher-run, never into demo/). Two phases:
#   A: 256-token documents, half of them repeated random strings, a fifth copy lists, the rest
#      MQAR, passkeys and corpus: 128 sequences per step, so that an induction circuit forms.
#   B: continued on 1024-token documents with retrieval distances up to 1000 tokens.
# Status (see README.md): phase A and its continuation A2 have run; their result is phase-a/.
# On a 2-core machine phase A takes 1.5-2 hours and phase B 40-75 minutes (see README.md).
# Interrupted? Re-run the same pretrain line with --resume: it continues from the last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=recall-teacher-run
mkdir -p "$RUN"

./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseA.jsonl" \
    --documents 120000 --doc-tokens 256 --max-distance 250 \
    --mix corpus=0.1,mqar=0.15,passkey=0.05,copy=0.2,repeat=0.5 --mqar-pairs 4-24 --seed 11
./lolcats pretrain --data "$RUN/phaseA.jsonl" --out "$RUN/A" --config demo/recall-teacher/config.json \
    --seq-len 256 --steps 600 --batch 128 --micro-batch 32 --lr 3e-3 --min-lr 3e-4 --warmup 30 \
    --held-out 0.005 --eval-every 50 --checkpoint-every 25 --dtype bf16 --seed 11

# A2: phase A continued on fresh documents (as run on 2026-12-02; its result is phase-a/).
./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseA2.jsonl" \
    --documents 60000 --doc-tokens 256 --max-distance 250 \
    --mix corpus=0.1,mqar=0.15,passkey=0.05,copy=0.2,repeat=0.5 --mqar-pairs 4-24 --seed 13
./lolcats pretrain --data "$RUN/phaseA2.jsonl" --out "$RUN/A2" --init "$RUN/A" \
    --seq-len 256 --steps 280 --batch 128 --micro-batch 32 --lr 2e-3 --min-lr 5e-4 --warmup 10 \
    --held-out 0.005 --eval-every 40 --checkpoint-every 20 --dtype bf16 --seed 13

# Not run yet: more phase A (until repeats cost under ~1 nat/char), then phase B, which starts
# from the committed phase-a/ (pretrain sets max_position_embeddings to its --seq-len).
./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseB.jsonl" \
    --documents 30000 --doc-tokens 1024 --max-distance 1000 \
    --mix corpus=0.15,mqar=0.35,passkey=0.15,copy=0.2,repeat=0.15 --mqar-pairs 4-26 --seed 12
./lolcats pretrain --data "$RUN/phaseB.jsonl" --out "$RUN/B" --init demo/recall-teacher/phase-a \
    --seq-len 1024 --steps 400 --batch 32 --micro-batch 8 --lr 1e-3 --min-lr 1e-4 --warmup 20 \
    --held-out 0.01 --eval-every 25 --checkpoint-every 25 --dtype bf16 --seed 12

# float32 master weights -> bf16 for the repository (round to nearest even)
python3 scripts/safetensors-to-bf16.py "$RUN/B/model.safetensors" "$RUN/model.safetensors"
echo "teacher: $RUN/B (float32), $RUN/model.safetensors (bf16)"
