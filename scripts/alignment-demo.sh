#!/usr/bin/env bash
# The alignment recipe end to end on offline data, at toy scale (docs/alignment.md): a tiny DeepSeek-architecture
# model pre-trained by dsllm on the `make corpus` corpus (2048-token tokenizer), SFT on ChatterBot's conversations,
# then DPO on preference pairs built from them (chosen = the real reply, rejected = another topic's reply).
# Usage: bash scripts/alignment-demo.sh [path/to/dsllm]   (~10 min on 2 cores; output in bench/out/alignment)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-.build/release/dsllm}
W=bench/out/alignment
mkdir -p "$W"
bash bench/scaling/prepare-data.sh "$B"
[ -f chat-data/chat-train.jsonl ] || bash scripts/make-chat-data.sh chat-data
S=bench/out/scaling
if [ ! -e "$W/base/final" ]; then
  cat > "$W/config.json" <<'JSON'
{"architectures": ["LlamaForCausalLM"], "vocab_size": 2048, "hidden_size": 64, "intermediate_size": 192, "num_hidden_layers": 1,
 "num_attention_heads": 2, "num_key_value_heads": 2, "max_position_embeddings": 256, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
 "tie_word_embeddings": false}
JSON
  # The 1×64 shape won the 3e12-FLOP IsoFLOP budget of docs/scaling.md: same tokens, batch and learning rate.
  "$B" train --config "$W/config.json" --data "$S/shards/train-000000.bin" --val-data "$S/shards/val-000000.bin" \
    --seq-len 128 --micro-batch 27 --steps 2207 --warmup 220 --max-lr 2e-3 --val-every 500 --val-batches 16 \
    --out "$W/base" --keep 1 --overwrite > "$W/base.log"
  ln -sfn "$(basename "$(ls -d "$W"/base/step-* | tail -1)")" "$W/base/final"
  cp "$S/tokenizer.json" "$S/tokenizer_config.json" "$W/base/final/"
fi
P=(--sample-prompt "Hello" --sample-prompt "What is AI?" --sample-prompt "Do you like music?")
"$B" sft --model "$W/base/final" --data chat-data/chat-train.jsonl --eval-data chat-data/chat-eval.jsonl --out "$W/sft" --overwrite \
  --epochs 8 --lr 1e-3 --max-length 256 --micro-batch 4 --batch-tokens 1024 --eval-every 25 "${P[@]}" | grep -v "^step [0-9]*/"
"$B" dpo --model "$W/sft/final" --data chat-data/prefs-train.jsonl --eval-data chat-data/prefs-eval.jsonl --out "$W/dpo" --overwrite \
  --epochs 2 --lr 2e-4 --beta 0.1 --batch-pairs 16 --warmup 5 --max-length 256 --micro-batch 4 --eval-every 10 "${P[@]}" | grep -v "^step [0-9]*/"
