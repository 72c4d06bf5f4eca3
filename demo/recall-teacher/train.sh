#!/usr/bin/env bash
# Rebuilds the recall teacher from scratch as it was made (run from the repository root; writes
# into ./recall-teacher-run, never into demo/). Every step is 32,768 tokens. Two phases:
#   A (A, A2): 256-token documents, half of them repeated random strings, a fifth copy strings,
#      the rest MQAR, passkeys and corpus: 128 sequences per step, so that an induction circuit forms.
#   B (B, B2, B3, B4): 1024-token documents with retrieval distances up to 1000 characters.
# Runs that were stopped before the end of their learning-rate schedule are stopped here at the
# same step (stop_after), so the next run starts from the same weights (train/best of that step).
# The data generator changed twice between runs (the passkey marker # -> X; near MQAR gaps). This
# script runs today's generator for every file, so B and B2 get the X marker and A-B3 the near
# gaps: it is the recipe, not a byte-exact replay. For that, build the commit named above each data
# command and generate that file with it.
# On a 2-core machine: phase A about 2.5 hours, phase B about 1 hour (README.md has the figures).
# Interrupted? Re-run the same pretrain line with --resume: it continues from the last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN=recall-teacher-run
# mkdir without -p is the check: of two runs started at once, one gets the folder.
if ! mkdir "$RUN" 2>/dev/null; then
    echo "train.sh: cannot create $RUN (it exists already?); move it away, or resume its runs by hand with --resume" >&2
    exit 2
fi

# Runs a pretrain command in the background and stops it once its checkpoint of step $1 exists
# (evaluation, and so train/best, comes before the checkpoint of the same step).
stop_after() {
    local step=$1 out=$2
    shift 2
    "$@" &
    local pid=$!
    until [ -e "$out/train/checkpoint/state-$step.json" ]; do
        kill -0 "$pid" 2>/dev/null || { wait "$pid"; return; }
        sleep 2
    done
    kill "$pid"
    wait "$pid" || true
    mkdir -p "$out/stopped" && cp "$out"/train/best/* "$out"/train/tokenizer/* "$out/stopped/"
}

# A: from scratch (A, A2 and B data: generator of commit 01833bf, unchanged since d6a2a0a).
./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseA.jsonl" \
    --documents 120000 --doc-tokens 256 --max-distance 250 \
    --mix corpus=0.1,mqar=0.15,passkey=0.05,copy=0.2,repeat=0.5 --mqar-pairs 4-24 --seed 11
./lolcats pretrain --data "$RUN/phaseA.jsonl" --out "$RUN/A" --config demo/recall-teacher/config.json \
    --seq-len 256 --steps 600 --batch 128 --micro-batch 32 --lr 3e-3 --min-lr 3e-4 --warmup 30 \
    --held-out 0.005 --eval-every 50 --checkpoint-every 25 --dtype bf16 --seed 11

# A2: phase A continued on fresh documents (as run on 2026-12-02; stopped at step 240 of 280).
./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseA2.jsonl" \
    --documents 60000 --doc-tokens 256 --max-distance 250 \
    --mix corpus=0.1,mqar=0.15,passkey=0.05,copy=0.2,repeat=0.5 --mqar-pairs 4-24 --seed 13
stop_after 240 "$RUN/A2" ./lolcats pretrain --data "$RUN/phaseA2.jsonl" --out "$RUN/A2" --init "$RUN/A" \
    --seq-len 256 --steps 280 --batch 128 --micro-batch 32 --lr 2e-3 --min-lr 5e-4 --warmup 10 \
    --held-out 0.005 --eval-every 40 --checkpoint-every 20 --dtype bf16 --seed 13
# its bf16 copy was committed for a while as phase-a/ (in git history); phase B started from it
python3 scripts/safetensors-to-bf16.py "$RUN/A2/stopped/model.safetensors" "$RUN/A2/stopped/model-bf16.safetensors"
mv "$RUN/A2/stopped/model-bf16.safetensors" "$RUN/A2/stopped/model.safetensors"

# B: 1024-token documents (generator of commit 01833bf: passkey marker #); 80 steps, committed as
# phase-b/ (bf16, in git history). It taught MQAR at long distances, but passkeys stayed at 0%.
./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseB.jsonl" \
    --documents 30000 --doc-tokens 1024 --max-distance 1000 \
    --mix corpus=0.15,mqar=0.35,passkey=0.15,copy=0.2,repeat=0.15 --mqar-pairs 4-26 --seed 12
./lolcats pretrain --data "$RUN/phaseB.jsonl" --out "$RUN/B" --init "$RUN/A2/stopped" \
    --seq-len 1024 --steps 80 --batch 32 --micro-batch 8 --lr 1e-3 --min-lr 1e-4 --warmup 10 \
    --held-out 0.01 --eval-every 40 --checkpoint-every 20 --dtype bf16 --seed 12
mkdir -p "$RUN/B/bf16" && cp "$RUN"/B/*.json "$RUN/B/bf16/"
python3 scripts/safetensors-to-bf16.py "$RUN/B/model.safetensors" "$RUN/B/bf16/model.safetensors"

# B2: more passkeys (generator of commit 01833bf); stopped after step 40 of 300, when the passkey
# answers were still at log(10) nats per digit: the marker # was never matched (README.md).
./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseB2.jsonl" \
    --documents 12000 --doc-tokens 1024 --max-distance 1000 \
    --mix corpus=0.15,mqar=0.3,passkey=0.25,copy=0.15,repeat=0.15 --mqar-pairs 4-26 --seed 14
stop_after 40 "$RUN/B2" ./lolcats pretrain --data "$RUN/phaseB2.jsonl" --out "$RUN/B2" --init "$RUN/B/bf16" \
    --seq-len 1024 --steps 300 --batch 32 --micro-batch 8 --lr 7e-4 --min-lr 7e-5 --warmup 10 \
    --held-out 0.01 --eval-every 40 --checkpoint-every 20 --dtype bf16 --seed 14

# B3: the same documents with the passkey marker X (generator of commit 94516b5); stopped after
# step 120 of 300, when short-distance MQAR (queries right after the list) lagged far ones.
./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseB3.jsonl" \
    --documents 12000 --doc-tokens 1024 --max-distance 1000 \
    --mix corpus=0.15,mqar=0.3,passkey=0.25,copy=0.15,repeat=0.15 --mqar-pairs 4-26 --seed 14
stop_after 120 "$RUN/B3" ./lolcats pretrain --data "$RUN/phaseB3.jsonl" --out "$RUN/B3" --init "$RUN/B2/stopped" \
    --seq-len 1024 --steps 300 --batch 32 --micro-batch 8 --lr 7e-4 --min-lr 7e-5 --warmup 10 \
    --held-out 0.01 --eval-every 30 --checkpoint-every 15 --dtype bf16 --seed 15

# B4: a quarter of MQAR gaps near (generator of commit cc6e6db, the current one); run to the end.
./lolcats data recall --corpus demo/corpus/train.txt --out "$RUN/phaseB4.jsonl" \
    --documents 8000 --doc-tokens 1024 --max-distance 1000 \
    --mix corpus=0.15,mqar=0.35,passkey=0.2,copy=0.15,repeat=0.15 --mqar-pairs 4-26 --seed 16
./lolcats pretrain --data "$RUN/phaseB4.jsonl" --out "$RUN/B4" --init "$RUN/B3/stopped" \
    --seq-len 1024 --steps 220 --batch 32 --micro-batch 8 --lr 5e-4 --min-lr 5e-5 --warmup 5 \
    --held-out 0.01 --eval-every 20 --checkpoint-every 20 --dtype bf16 --seed 16

# float32 master weights -> bf16 for the repository (round to nearest even)
python3 scripts/safetensors-to-bf16.py "$RUN/B4/model.safetensors" "$RUN/model.safetensors"
echo "teacher: $RUN/B4 (float32), $RUN/model.safetensors (bf16)"
