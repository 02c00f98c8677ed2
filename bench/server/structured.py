#!/usr/bin/env python3
"""Structured output benchmark: `dsllm generate --json-schema` over the committed schemas.

For each model, schema and seed: generate under the schema (temperature 0.8, --strict), validate the output with
the `jsonschema` package (an independent validator, Draft 2020-12, with format checks), then generate the same
number of tokens without a schema (--ignore-eos) and compare decode tokens/s. Prints one line per model:
completed / valid counts, decode tok/s with and without the schema, their ratio, and the time spent computing
grammar masks per generated token.

    python3 bench/server/structured.py [--models models/default bench/out/ds-2l-q4_0.gguf] [--seeds 1 2]
"""
import argparse
import glob
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def run(dsllm, model, prompt, seed, max_tokens, extra):
    cmd = [dsllm, "generate", "--model", model, "--prompt", prompt, "--seed", str(seed), "--temperature", "0.8",
           "--max-tokens", str(max_tokens), "--json"] + extra
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsllm", default=os.path.join(ROOT, ".build/release/dsllm"))
    ap.add_argument("--models", nargs="+", default=[os.path.join(ROOT, "models/default"), os.path.join(ROOT, "bench/out/ds-2l-q4_0.gguf")])
    ap.add_argument("--schemas", default=os.path.join(ROOT, "Tests/DSGenerationTests/Golden/schemas"))
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--max-tokens", type=int, default=400)
    ap.add_argument("--prompt", default="Reply with JSON:")
    args = ap.parse_args()
    try:
        import jsonschema
        from importlib.metadata import version
        validator_name = f"jsonschema {version('jsonschema')}"
    except ImportError:
        sys.exit("needs the jsonschema package (pip install jsonschema)")
    files = sorted(glob.glob(os.path.join(args.schemas, "*.json")))
    for model in args.models:
        if not os.path.exists(model):
            print(f"skipping {model}: not found")
            continue
        runs = complete = valid = 0
        tokens_with = seconds_with = tokens_without = seconds_without = mask_seconds = 0.0
        failures = []
        for path in files:
            schema = json.load(open(path))
            check = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
            for seed in args.seeds:
                runs += 1
                r = run(args.dsllm, model, args.prompt, seed, args.max_tokens, ["--json-schema", path, "--strict"])
                n = len(r["ids"])
                if r["finish_reason"] == "stop":
                    complete += 1
                    try:
                        errors = list(check.iter_errors(json.loads(r["text"])))
                    except json.JSONDecodeError as e:
                        errors = [e]
                    if errors:
                        failures.append(f"{os.path.basename(path)} seed {seed}: {errors[0]} in {r['text']!r}")
                    else:
                        valid += 1
                if n < 3:
                    continue
                # Decode time of n tokens = (n - 1) / rate; the same count without the schema.
                tokens_with += n - 1
                seconds_with += (n - 1) / r["decode_tok_s"]
                mask_seconds += r.get("grammar_mask_seconds", 0)
                u = run(args.dsllm, model, args.prompt, seed, n, ["--ignore-eos"])
                tokens_without += len(u["ids"]) - 1
                seconds_without += (len(u["ids"]) - 1) / u["decode_tok_s"]
        with_rate, without_rate = tokens_with / seconds_with, tokens_without / seconds_without
        print(f"structured output, {os.path.relpath(model, ROOT)}: {len(files)} schemas x {len(args.seeds)} seed(s): "
              f"{complete}/{runs} complete within {args.max_tokens} tokens, {valid}/{complete} valid ({validator_name}); "
              f"decode {with_rate:.1f} tok/s with the schema vs {without_rate:.1f} without (ratio {with_rate / without_rate:.2f}); "
              f"mask walks {1e3 * mask_seconds / max(tokens_with, 1):.3f} ms per token "
              f"({100 * mask_seconds / max(seconds_with, 1e-9):.1f}% of decode time)")
        for f in failures:
            print("  INVALID:", f)


if __name__ == "__main__":
    main()
