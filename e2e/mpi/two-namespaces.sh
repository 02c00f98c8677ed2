#!/usr/bin/env bash
# Two "hosts" on one machine: ranks of `mpirun -np 2 dsllm train` in two network namespaces joined by a veth pair
# (10.77.0.1 and 10.77.0.2, TCP only, no loopback between them), launched through an rsh agent that runs each
# host's command with `ip netns exec`. The per-step losses must equal a one-process run's.
# Needs root (CAP_NET_ADMIN) and Open MPI. Usage: e2e/mpi/two-namespaces.sh path/to/dsllm WORKDIR
set -euo pipefail
BIN=$(readlink -f "$1"); WORK=$2
TAG=dsllm$$; A=$TAG-a; B=$TAG-b
mkdir -p "$WORK"; cd "$WORK"
cleanup() { ip netns del "$A" 2>/dev/null || true; ip netns del "$B" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "$A"; ip netns add "$B"
ip link add "$TAG"a type veth peer name "$TAG"b
ip link set "$TAG"a netns "$A"; ip link set "$TAG"b netns "$B"
ip -n "$A" addr add 10.77.0.1/24 dev "$TAG"a; ip -n "$B" addr add 10.77.0.2/24 dev "$TAG"b
for ns in "$A" "$B"; do ip -n "$ns" link set lo up; done
ip -n "$A" link set "$TAG"a up; ip -n "$B" link set "$TAG"b up

cat > agent.sh <<AGENT
#!/bin/sh
# Open MPI rsh agent: [options] HOST COMMAND... -> COMMAND in HOST's namespace.
while [ \$# -gt 0 ]; do case "\$1" in -*) shift;; *) break;; esac; done
host="\$1"; shift
case "\$host" in 10.77.0.1) ns=$A ;; 10.77.0.2) ns=$B ;; *) echo "unknown host \$host" >&2; exit 1 ;; esac
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
chmod +x agent.sh
printf "10.77.0.1 slots=1\n10.77.0.2 slots=1\n" > hosts

python3 - <<'PY'
import json, struct
json.dump({"vocab_size": 512, "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2, "num_attention_heads": 4,
           "num_key_value_heads": 2, "max_position_embeddings": 64}, open("config.json", "w"))
phrase = [(i * 37 + 11) % 512 for i in range(53)]
tokens = [phrase[i % 53] for i in range(8000)]
with open("train.bin", "wb") as f:
    f.write(struct.pack("<256i", 20240801, 7, len(tokens), *([0] * 253)) + struct.pack(f"<{len(tokens)}I", *tokens))
PY
ARGS=(train --config config.json --data "$PWD/train.bin" --seq-len 16 --micro-batch 2 --batch-tokens 128 --steps 8 --warmup 2
      --max-lr 1e-2 --threads 1)
"$BIN" "${ARGS[@]}" --out "$PWD/one" > one.log
ip netns exec "$A" mpirun --allow-run-as-root --hostfile hosts -np 2 --mca plm_rsh_agent "$PWD/agent.sh" \
  --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
  sh -c "ip -o -4 addr show | grep -o '10\.77\.0\.[12]' > \"$PWD/rank-\$OMPI_COMM_WORLD_RANK.ip\"; exec \"$BIN\" \"\$@\"" dsllm \
  "${ARGS[@]}" --out "$PWD/two" > two.log 2>&1
python3 - <<'PY'
import json
one = [json.loads(l)["loss"] for l in open("one/metrics.jsonl")]
two = [json.loads(l)["loss"] for l in open("two/metrics.jsonl")]
ips = sorted(open(f"rank-{r}.ip").read().strip() for r in (0, 1))
assert ips == ["10.77.0.1", "10.77.0.2"], f"ranks did not run on both namespaces: {ips}"
assert len(one) == len(two) == 8, (len(one), len(two))
worst = max(abs(a - b) for a, b in zip(one, two))
assert worst < 1e-5, f"losses differ by {worst}"
print(f"two namespaces ({', '.join(ips)}): 8 steps, losses equal to one process within {worst:.1e}")
PY
