#!/usr/bin/env python3
"""ChatterBot's English corpus (PyPI chatterbot-corpus 1.2.0, BSD-3-Clause: YAML lists of alternating turns) →
dsllm's alignment data:

  chat-train.jsonl / chat-eval.jsonl     {"messages": [{"role": "user"|"assistant", "content"}, …]}  (SFT)
  prefs-train.jsonl / prefs-eval.jsonl   {"messages": prompt turns, "chosen": reply, "rejected": reply}  (DPO)

Turns alternate user, assistant, user, …; a conversation ends on its last assistant turn. Preference pairs: the
prompt is every turn before the last assistant reply, chosen is that reply, rejected is the last reply of another
conversation from a different category (seeded), a deliberately off-topic answer. 1 in 10 conversations (by a
stable hash of its text) goes to the eval files.

Usage: python3 tools/data/chatterbot_to_jsonl.py CORPUS_DIR/english OUT_DIR
"""
import hashlib
import json
import os
import random
import sys

import yaml


def main(src, out):
    convs = []
    for name in sorted(os.listdir(src)):
        if not name.endswith(".yml"):
            continue
        doc = yaml.safe_load(open(os.path.join(src, name), encoding="utf-8"))
        for turns in doc.get("conversations") or []:
            turns = [str(t).strip() for t in turns if t is not None and str(t).strip()]
            if len(turns) % 2 == 1:
                turns = turns[:-1]
            if len(turns) >= 2:
                convs.append((name[:-4], turns))
    rng = random.Random(0)
    files = {k: open(os.path.join(out, k), "w", encoding="utf-8") for k in
             ["chat-train.jsonl", "chat-eval.jsonl", "prefs-train.jsonl", "prefs-eval.jsonl"]}
    counts = {k: 0 for k in files}
    for cat, turns in convs:
        split = "eval" if int(hashlib.sha1("\n".join(turns).encode()).hexdigest(), 16) % 10 == 0 else "train"
        msgs = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(turns)]
        files[f"chat-{split}.jsonl"].write(json.dumps({"messages": msgs}, ensure_ascii=False) + "\n")
        counts[f"chat-{split}.jsonl"] += 1
        while True:
            other_cat, other = rng.choice(convs)
            if other_cat != cat and other[-1] != turns[-1]:
                break
        pair = {"messages": msgs[:-1], "chosen": turns[-1], "rejected": other[-1]}
        files[f"prefs-{split}.jsonl"].write(json.dumps(pair, ensure_ascii=False) + "\n")
        counts[f"prefs-{split}.jsonl"] += 1
    for f in files.values():
        f.close()
    print(json.dumps(counts))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
