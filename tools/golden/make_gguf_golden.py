#!/usr/bin/env python3
"""Golden data for the GGUF path of the DSModel engine, produced by llama.cpp itself.

Purpose
    The safetensors goldens (tools/golden/make_model_golden.py) check the engine against transformers. This script checks
    the GGUF route end to end: reading every supported tensor type, undoing (or honouring) the q/k row permutation of
    convert_hf_to_gguf.py, dequantization, and the forward pass, against llama.cpp on the very same files.

    1. A tiny LlamaForCausalLM (float32, seeded; all matrix dims multiples of 256, so every quant type, K-quants with
       their 256-element super-blocks included, applies to every matrix):
           vocab 256, hidden 256, 4 heads / 2 KV heads (GQA, head_dim 64), intermediate 256, 1 layer,
           max_position_embeddings 128, rope_theta 10000, rms_norm_eps 1e-6, untied lm_head.
       Weights: every Linear/Embedding ~ N(0, 0.05), every RMSNorm gain = 1 + N(0, 0.1), torch.manual_seed(SEED).
    2. GGUF v3 files written with gguf-py's GGUFWriter the way convert_hf_to_gguf.py writes a LlamaForCausalLM:
       llama.* hyper-parameters, general.file_type, general.quantization_version = 2, tensor names token_embd /
       blk.0.* / output_norm / output, q_proj rows permuted with n_head and k_proj rows with n_head_kv
       (LlamaModel.permute, shared/docs/FORMATS.md section 5), 1-D norm gains kept F32, every 2-D tensor (token_embd
       and output included) in the file's type, quantized with gguf-py's quants.quantize:
           F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1.
       The K-quant files come from llama.cpp's own quantizer, llama_model_quantize(model-f32.gguf, out, params) with
       llama_model_quantize_default_params() (nthread 2) and ftype MOSTLY_Q4_K_S, MOSTLY_Q5_K_S, MOSTLY_Q6_K. llama.cpp
       mixes types per tensor; golden.json records what each tensor ended up as (read back with gguf.GGUFReader).
    3. A minimal byte-level tokenizer so that llama.cpp agrees to load the model (it is never used to tokenize here):
           tokenizer.ggml.model "gpt2", tokenizer.ggml.pre "gpt-2",
           tokens = the 256 GPT-2 byte-level symbols, token id = byte value (bytes_to_unicode()[b] for b in 0..255),
           token_type all 1 (NORMAL), bos_token_id 0 ("Ā" = byte 0x00), eos_token_id 1 ("ā" = byte 0x01),
           merges = ["Ġ Ġ"]: llama.cpp requires the key and gguf-py refuses to write an empty array, so the list
           holds one harmless merge whose result ("ĠĠ") is not in the vocabulary (BPE falls back to byte tokens).
    4. For each file: llama.cpp logits for every position of two prompts (lengths 5 and 16, seeded ids in [2, 256),
       no BOS added) and an 8-token greedy continuation (plain argmax over the logits of the last evaluated token, no
       sampler, no repetition penalty), plus the transformers float32 reference for the original weights (hf_f32)
       and for the weights as stored in each file (hf_dequant: gguf-py dequantize + inverse permutation, f32 math).

    llama.cpp settings: llama_cpp.Llama(model_path, logits_all=True, n_ctx=64, n_batch=64, n_threads=2,
    n_threads_batch=2, seed=SEED, flash_attn=False, type_k=type_v=GGML_TYPE_F32 (an F32 KV cache, like the
    engine's; llama.cpp's default is F16), verbose=False). Each prompt is one llm.eval(ids) call after llm.reset(),
    logits are llm.scores[:n]; the greedy loop then calls llm.eval([argmax]) 8 times. NOTE that llama.cpp's CPU
    matmuls convert the activations to the weight's "vec_dot_type" before the dot products (F16 for F16 weights, BF16
    for BF16, Q8_0 for Q8_0/Q4_0/Q5_0, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants); only F32 weights see f32
    activations. Its logits for quantized files therefore differ from an "exact dequantize, then f32" engine by more
    than the weight rounding alone: compare the engine with hf_dequant tightly and with llama_cpp loosely. (Checked
    once, outside this script: hf_dequant with the activations rounded the way ggml does, Q8_1's fp16 block sum
    included, reproduces llama.cpp's logits to < 1e-5 at all but one or two positions per type, where a rounding
    boundary flips; gguf-py's dequantization is bit-identical to ggml's to_float for every tensor of the K-quant files.)

Outputs (Tests/DSModelTests/Golden/gguf-tiny/, committed):
    model-f32.gguf                               the F32 file (the Swift test quantizes it to the legacy types itself)
    model-q4_k_s.gguf, model-q5_k_s.gguf, model-q6_k.gguf   from llama.cpp's quantizer
    golden.json                                  schema below
The F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 files are written to a temporary directory (or --keep-dir) and only their
sha256 and per-tensor data sha256 are kept, so the Swift quantizer can prove it produced the very same bytes. The script
also asserts that llama.cpp's quantizer with pure=True gives byte-identical tensors for those seven types. (Without
pure, llama.cpp would keep output.weight of a Q4_0..Q5_1 file at Q6_K; convert_hf_to_gguf --outtype does not.)
The K-quant files are written by llama.cpp, which reorders the tensors (output.weight first, then by name); their
metadata is the F32 file's with general.file_type replaced.

golden.json schema
    description, logits_format (as in make_model_golden.py: the shortest decimal that round-trips to the same float32;
        parse as Double, convert to Float; the script asserts every value round-trips)
    versions            {python, torch, transformers, gguf, numpy, llama_cpp_python, llama_cpp_lib}
    seed                SEED
    config              the HF config summary (vocab_size, hidden_size, intermediate_size, num_hidden_layers,
                        num_attention_heads, num_key_value_heads, head_dim, rope_theta, rms_norm_eps,
                        max_position_embeddings, tie_word_embeddings, bos_token_id, eos_token_id)
    tokenizer           {model, pre, bos_token_id, eos_token_id, merges, tokens: "bytes_to_unicode order by byte value"}
    llama_cpp_settings  the Llama(...) arguments above, as a dict
    prompts             [[5 ids], [16 ids]]
    hf_f32              {"logits": [per prompt: [position][vocab]], "greedy": [per prompt: 8 ids],
                         "greedy_min_margin": [per prompt: smallest top1 - top2 logit gap over the 8 steps]}
    types               {TYPE: ...} for TYPE in F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K_S, Q5_K_S, Q6_K:
        file            file name ("model-f32.gguf", "model-q8_0.gguf", ...)
        committed       true when the file is in the golden directory
        producer        "gguf-py GGUFWriter + quants.quantize" | "llama.cpp llama_model_quantize from model-f32.gguf"
        file_type       general.file_type (u32) as written
        bytes, sha256   size and hex sha256 of the whole file
        tensor_types    {gguf tensor name: ggml type name ("F32", "Q6_K", ...)}
        tensor_sha256   {gguf tensor name: hex sha256 of the tensor's data bytes (exactly ggml_nbytes, no padding)}
        llama_cpp       [per prompt: {"logits": [position][vocab], "greedy": [8 ids], "greedy_min_margin": x}]
        llama_cpp_vs_hf_f32_max_rel   max |llama_cpp logits - hf_f32 logits| / max |hf_f32 logits| over both prompts
        hf_dequant      [per prompt: {"last_logits": [vocab], "greedy": [8 ids], "greedy_min_margin": x}]
                        transformers float32 on the file's weights dequantized by gguf-py and un-permuted, i.e. what
                        an exact "dequantize, then f32" engine must give (up to summation order). Only the LAST
                        prompt position is stored (it attends over every position, so RoPE at all positions is
                        exercised), to keep the file small; for F32 it is identical to hf_f32 (asserted), omitted
        llama_cpp_vs_hf_dequant_max_rel   the max_rel of llama_cpp against the full hf_dequant logits (all
                        positions, computed before truncation; F32: against hf_f32)
        llama_cpp_pure_quantize_identical   (F16 .. Q5_1 only) true: llama_model_quantize(model-f32.gguf, ftype,
                        pure=True) produced exactly the same tensor types and bytes as gguf-py (asserted), so
                        tensor_sha256 is also llama.cpp's own quantization

Pinned (tools/golden/requirements.txt): Python 3.11, torch==2.15.0 (CPU), transformers==5.24.0, gguf==0.19.0 (gguf-py),
safetensors==0.8.0, numpy, llama-cpp-python==0.3.36 (its vendored llama.cpp: libllama 0.5.0, ggml 0.25.3). If the
installed wheel dies with SIGILL (built for AVX-512), point LLAMA_CPP_LIB_PATH at a directory holding the same
libllama.so with a portable libggml-cpu.so (tools/golden/make_tokenizer_golden.py explains); this script uses
.venv-tools/llama-cpp-lib automatically when it exists and LLAMA_CPP_LIB_PATH is unset. No network: HF_HUB_OFFLINE=1.

Usage (from the repository root):
    python3 tools/golden/make_gguf_golden.py [--keep-dir DIR]   (rewrites Tests/DSModelTests/Golden/gguf-tiny/)
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "DSModelTests", "Golden", "gguf-tiny")

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
_PORTABLE_LIB = os.path.join(ROOT, ".venv-tools", "llama-cpp-lib")
if "LLAMA_CPP_LIB_PATH" not in os.environ and os.path.isdir(_PORTABLE_LIB):
    os.environ["LLAMA_CPP_LIB_PATH"] = _PORTABLE_LIB

import gguf  # noqa: E402
import llama_cpp  # noqa: E402
import numpy as np  # noqa: E402
try:  # not needed by --refresh-llama-cpp
    import torch  # noqa: E402
    import transformers  # noqa: E402
except ImportError:
    torch = transformers = None

    class _NoTorch:  # lets the module load (decorators) without torch
        @staticmethod
        def no_grad():
            return lambda f: f
    torch = _NoTorch()
from gguf import GGMLQuantizationType as T  # noqa: E402
from gguf import LlamaFileType as FT  # noqa: E402
from gguf import quants  # noqa: E402
if transformers is not None:
    from transformers import LlamaConfig, LlamaForCausalLM  # noqa: E402

SEED = 20240105
WEIGHT_STD = 0.05
NORM_STD = 0.1
PROMPT_LENGTHS = (5, 16)
NEW_TOKENS = 8
BOS, EOS = 0, 1
CONFIG = dict(vocab_size=256, hidden_size=256, num_attention_heads=4, num_key_value_heads=2, intermediate_size=256,
              num_hidden_layers=1, max_position_embeddings=128, rms_norm_eps=1e-6, tie_word_embeddings=False,
              bos_token_id=BOS, eos_token_id=EOS, pad_token_id=None, hidden_act="silu", attention_bias=False,
              mlp_bias=False)
ROPE_THETA = 10000.0

# (name, ggml type of every 2-D tensor, general.file_type) for the files gguf-py writes.
LEGACY = [("F32", T.F32, FT.ALL_F32), ("F16", T.F16, FT.MOSTLY_F16), ("BF16", T.BF16, FT.MOSTLY_BF16),
          ("Q8_0", T.Q8_0, FT.MOSTLY_Q8_0), ("Q4_0", T.Q4_0, FT.MOSTLY_Q4_0), ("Q4_1", T.Q4_1, FT.MOSTLY_Q4_1),
          ("Q5_0", T.Q5_0, FT.MOSTLY_Q5_0), ("Q5_1", T.Q5_1, FT.MOSTLY_Q5_1)]
# (name, llama_ftype) for the files llama.cpp's quantizer writes from model-f32.gguf.
KQUANTS = [("Q4_K_S", llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_S), ("Q5_K_S", llama_cpp.LLAMA_FTYPE_MOSTLY_Q5_K_S),
           ("Q6_K", llama_cpp.LLAMA_FTYPE_MOSTLY_Q6_K)]
LEGACY_FTYPES = {n: int(ft) for n, _, ft in LEGACY}
COMMITTED = {"F32", "Q4_K_S", "Q5_K_S", "Q6_K"}

LLAMA_SETTINGS = dict(logits_all=True, n_ctx=64, n_batch=64, n_threads=2, n_threads_batch=2, seed=SEED,
                      flash_attn=False, type_k=0, type_v=0, verbose=False)  # 0 = GGML_TYPE_F32


def file_name(type_name):
    return f"model-{type_name.lower()}.gguf"


# ---------------------------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------------------------

def make_model():
    torch.manual_seed(SEED)
    cfg = LlamaConfig(**CONFIG, rope_parameters={"rope_type": "default", "rope_theta": ROPE_THETA},
                      attn_implementation="eager")
    model = LlamaForCausalLM(cfg).eval()
    for name, p in model.named_parameters():
        if name.endswith("layernorm.weight") or name == "model.norm.weight":
            p.data = 1 + NORM_STD * torch.randn_like(p)
        else:
            p.data = WEIGHT_STD * torch.randn_like(p)
    assert cfg.head_dim == 64 and model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr()
    return model


def permute(w, n_head, n_head_kv):
    """convert_hf_to_gguf.py LlamaModel.permute, verbatim."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def unpermute(w, n_head):
    return (w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def gguf_tensors(model):
    """(gguf name, float32 numpy array in GGUF row order) in llama.cpp's canonical order."""
    cfg = model.config
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    out = [("token_embd.weight", sd["model.embed_tokens.weight"])]
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        out += [
            (f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"]),
            (f"blk.{i}.attn_q.weight", permute(sd[p + "self_attn.q_proj.weight"], cfg.num_attention_heads,
                                               cfg.num_attention_heads)),
            (f"blk.{i}.attn_k.weight", permute(sd[p + "self_attn.k_proj.weight"], cfg.num_attention_heads,
                                               cfg.num_key_value_heads)),
            (f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"]),
            (f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"]),
            (f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"]),
            (f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"]),
            (f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"]),
            (f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"]),
        ]
    out += [("output_norm.weight", sd["model.norm.weight"]), ("output.weight", sd["lm_head.weight"])]
    return out


def hf_state_from_gguf(arrays, cfg):
    """Inverse of gguf_tensors: {HF name: torch tensor} from {gguf name: float32 array}."""
    sd = {"model.embed_tokens.weight": arrays["token_embd.weight"], "model.norm.weight": arrays["output_norm.weight"],
          "lm_head.weight": arrays["output.weight"]}
    for i in range(cfg.num_hidden_layers):
        p, b = f"model.layers.{i}.", f"blk.{i}."
        sd[p + "input_layernorm.weight"] = arrays[b + "attn_norm.weight"]
        sd[p + "self_attn.q_proj.weight"] = unpermute(arrays[b + "attn_q.weight"], cfg.num_attention_heads)
        sd[p + "self_attn.k_proj.weight"] = unpermute(arrays[b + "attn_k.weight"], cfg.num_key_value_heads)
        sd[p + "self_attn.v_proj.weight"] = arrays[b + "attn_v.weight"]
        sd[p + "self_attn.o_proj.weight"] = arrays[b + "attn_output.weight"]
        sd[p + "post_attention_layernorm.weight"] = arrays[b + "ffn_norm.weight"]
        sd[p + "mlp.gate_proj.weight"] = arrays[b + "ffn_gate.weight"]
        sd[p + "mlp.up_proj.weight"] = arrays[b + "ffn_up.weight"]
        sd[p + "mlp.down_proj.weight"] = arrays[b + "ffn_down.weight"]
    return {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in sd.items()}


@torch.no_grad()
def hf_run(model, prompts):
    res = []
    for ids in prompts:
        x = torch.tensor([ids])
        logits = model(x).logits[0].float().numpy().copy()
        seq, greedy, margin = list(ids), [], float("inf")
        for _ in range(NEW_TOKENS):
            last = model(torch.tensor([seq])).logits[0, -1]
            top = torch.topk(last, 2).values
            margin = min(margin, (top[0] - top[1]).item())
            t = int(last.argmax())
            greedy.append(t)
            seq.append(t)
        res.append(dict(logits=logits, greedy=greedy, greedy_min_margin=margin))
    return res


# ---------------------------------------------------------------------------------------------------------------------
# GGUF writing
# ---------------------------------------------------------------------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's byte -> printable unicode table (openai/gpt-2 encoder.py), as a list indexed by byte."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


MERGES = ["Ġ Ġ"]


def write_gguf(path, model, qtype, ftype):
    cfg = model.config
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("gguf-tiny")
    # The order of convert_hf_to_gguf.py: TextModel.set_gguf_parameters, then LlamaModel's additions.
    w.add_block_count(cfg.num_hidden_layers)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(ROPE_THETA)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_file_type(int(ftype))
    w.add_vocab_size(cfg.vocab_size)
    w.add_rope_dimension_count(cfg.head_dim)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(bytes_to_unicode())
    w.add_token_types([int(gguf.TokenType.NORMAL)] * 256)
    w.add_token_merges(MERGES)
    w.add_bos_token_id(BOS)
    w.add_eos_token_id(EOS)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for name, a in gguf_tensors(model):
        if a.ndim == 1 or qtype == T.F32:
            w.add_tensor(name, a.astype(np.float32), raw_dtype=T.F32)
        else:
            q = quants.quantize(a, qtype)
            w.add_tensor(name, q, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


@contextlib.contextmanager
def quiet_stderr():
    """llama_model_quantize logs every tensor to stderr whatever the verbosity; hide it unless it fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def llama_quantize(src, dst, ftype, pure=False):
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    params.pure = pure
    with quiet_stderr():
        rc = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
        assert rc == 0, f"llama_model_quantize({dst}) returned {rc}"


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def inspect_gguf(path):
    """(tensor_types, tensor_sha256, file_type, dequantized float32 arrays in GGUF row order)."""
    r = gguf.GGUFReader(path)
    types, shas, arrays = {}, {}, {}
    for t in r.tensors:
        raw = np.ascontiguousarray(t.data).tobytes()
        assert len(raw) == t.n_bytes, (t.name, len(raw), t.n_bytes)
        types[t.name] = t.tensor_type.name
        shas[t.name] = hashlib.sha256(raw).hexdigest()
        shape = tuple(int(d) for d in reversed(t.shape))  # numpy order
        if t.tensor_type == T.F32:
            deq = np.frombuffer(raw, dtype="<f4")
        else:
            deq = quants.dequantize(np.frombuffer(raw, dtype=np.uint8), t.tensor_type)
        arrays[t.name] = np.asarray(deq, dtype=np.float32).reshape(shape)
    ft = int(r.fields["general.file_type"].contents())
    return types, shas, ft, arrays


# ---------------------------------------------------------------------------------------------------------------------
# llama.cpp
# ---------------------------------------------------------------------------------------------------------------------

def llama_run(path, prompts):
    with quiet_stderr():  # llama.cpp pads n_ctx to 256 and warns that this exceeds n_ctx_train (128): harmless
        llm = llama_cpp.Llama(model_path=path, **LLAMA_SETTINGS)
    assert llm.n_vocab() == CONFIG["vocab_size"]
    res = []
    for ids in prompts:
        llm.reset()
        llm.eval(ids)
        logits = np.array(llm.scores[:len(ids)], dtype=np.float32)
        greedy, margin = [], float("inf")
        for _ in range(NEW_TOKENS):
            last = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            top = np.sort(last)[-2:]
            margin = min(margin, float(top[1] - top[0]))
            t = int(np.argmax(last))
            greedy.append(t)
            llm.eval([t])
        res.append(dict(logits=logits, greedy=greedy, greedy_min_margin=margin))
    llm.close()
    return res


def max_rel(a_runs, b_runs):
    num = max(float(np.abs(a["logits"] - b["logits"]).max()) for a, b in zip(a_runs, b_runs))
    den = max(float(np.abs(b["logits"]).max()) for b in b_runs)
    return num / den


# ---------------------------------------------------------------------------------------------------------------------
# JSON with float32 shortest decimals
# ---------------------------------------------------------------------------------------------------------------------

def f32_text(v):
    s = str(np.float32(v))
    assert np.isfinite(v) and np.float32(float(s)) == np.float32(v), (v, s)
    return s


def write_json(path, doc):
    arrays = []

    def strip(x):
        if isinstance(x, np.ndarray):
            arrays.append(x)
            return f"@ARRAY{len(arrays) - 1}@"
        if isinstance(x, dict):
            return {k: strip(v) for k, v in x.items()}
        if isinstance(x, list):
            return [strip(v) for v in x]
        if isinstance(x, float):
            return float(f32_text(x)) if np.isfinite(x) else x
        return x

    text = json.dumps(strip(doc), indent=1, ensure_ascii=True)
    for i, a in enumerate(arrays):
        assert a.dtype == np.float32 and a.ndim in (1, 2)
        if a.ndim == 1:
            body = "[" + ",".join(f32_text(v) for v in a) + "]"
        else:
            body = "[\n" + ",\n".join("[" + ",".join(f32_text(v) for v in row) + "]" for row in a) + "]"
        text = text.replace(f'"@ARRAY{i}@"', body, 1)
    with open(path, "w") as f:
        f.write(text + "\n")

    # Read back: every array must come back bit-exact.
    with open(path) as f:
        back = json.load(f)
    found = []

    def walk(o, d):
        if isinstance(d, np.ndarray):
            got = np.array(o, dtype=np.float64).astype(np.float32)
            assert np.array_equal(got.view(np.uint32), d.view(np.uint32)), "logits do not round-trip"
            found.append(1)
        elif isinstance(d, dict):
            for k in d:
                walk(o[k], d[k])
        elif isinstance(d, list):
            for a, b in zip(o, d):
                walk(a, b)

    walk(back, doc)
    assert len(found) == len(arrays)


def logits_block(runs):
    return [dict(logits=r["logits"], greedy=r["greedy"], greedy_min_margin=r["greedy_min_margin"]) for r in runs]


# ---------------------------------------------------------------------------------------------------------------------

def refresh_llama_cpp(lib_label):
    """Re-runs only llama.cpp on the committed golden's files (the legacy types re-made by llama_model_quantize --pure,
    whose bytes the golden's sha256s pin) and replaces its llama_cpp logits: for a llama.cpp built with this CPU's
    flags (tools/golden/build_llama_cpp.sh), whose x86 activation quantizers dsllm's llama.cpp numerics reproduce. No torch."""
    path = os.path.join(OUT, "golden.json")
    with open(path) as f:
        doc = json.load(f)

    def arrays(o):  # float lists back to float32 arrays, so write_json keeps them bit-exact
        if isinstance(o, dict):
            return {k: (np.array(v, dtype=np.float64).astype(np.float32) if k in ("logits", "last_logits") and not
                        (isinstance(v, list) and v and isinstance(v[0], list) and v[0] and isinstance(v[0][0], list))
                        else arrays(v)) for k, v in o.items()}
        if isinstance(o, list):
            return [arrays(v) for v in o]
        return o
    doc = arrays(doc)
    doc["hf_f32"]["logits"] = [np.array(p, dtype=np.float64).astype(np.float32) for p in doc["hf_f32"]["logits"]]
    llama_cpp.llama_backend_init()
    tmp = tempfile.mkdtemp(prefix="gguf-tiny-")
    for name, entry in doc["types"].items():
        file = os.path.join(OUT, entry["file"])
        if not entry["committed"]:
            file = os.path.join(tmp, entry["file"])
            llama_quantize(os.path.join(OUT, file_name("F32")), file, LEGACY_FTYPES[name], pure=True)
            _, shas, _, _ = inspect_gguf(file)
            assert shas == entry["tensor_sha256"], f"{name}: regenerated bytes differ from the golden's"
        runs = llama_run(file, doc["prompts"])
        entry["llama_cpp"] = logits_block(runs)
        print(f"{name}: refreshed")
    shutil.rmtree(tmp, ignore_errors=True)
    doc["versions"]["llama_cpp_python"] = llama_cpp.__version__
    doc["versions"]["llama_cpp_lib"] = lib_label
    write_json(path, doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep-dir", help="write the uncommitted GGUF files here instead of a deleted temp dir")
    ap.add_argument("--refresh-llama-cpp", metavar="LABEL",
                    help="only re-run llama.cpp (label: which build, e.g. its CMAKE flags) and update its logits")
    args = ap.parse_args()
    if args.refresh_llama_cpp:
        refresh_llama_cpp(args.refresh_llama_cpp)
        return

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    llama_cpp.llama_backend_init()

    model = make_model()
    cfg = model.config
    rng = np.random.default_rng(SEED)
    prompts = [rng.integers(2, cfg.vocab_size, size=n).tolist() for n in PROMPT_LENGTHS]

    # Self-check of the permutation: unpermute(permute(w)) == w, and GGUF row 2i + j == HF row j * hd/2 + i.
    att = model.model.layers[0].self_attn
    for w, nh in ((att.q_proj.weight, cfg.num_attention_heads), (att.k_proj.weight, cfg.num_key_value_heads)):
        w = w.detach().numpy()
        p = permute(w, cfg.num_attention_heads, nh)
        assert np.array_equal(unpermute(p, nh), w)
        hd = cfg.head_dim
        for h in range(nh):
            for i in range(hd // 2):
                for j in range(2):
                    assert np.array_equal(p[h * hd + 2 * i + j], w[h * hd + j * hd // 2 + i])

    hf_f32 = hf_run(model, prompts)

    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    tmp = args.keep_dir or tempfile.mkdtemp(prefix="gguf-tiny-")
    os.makedirs(tmp, exist_ok=True)

    paths = {}
    for name, qtype, ftype in LEGACY:
        paths[name] = os.path.join(OUT if name in COMMITTED else tmp, file_name(name))
        write_gguf(paths[name], model, qtype, ftype)
    for name, ftype in KQUANTS:
        paths[name] = os.path.join(OUT, file_name(name))
        llama_quantize(paths["F32"], paths[name], ftype)

    types = {}
    for name in [n for n, _, _ in LEGACY] + [n for n, _ in KQUANTS]:
        path = paths[name]
        tensor_types, tensor_sha, ft, arrays = inspect_gguf(path)
        lc = llama_run(path, prompts)
        entry = dict(file=os.path.basename(path), committed=name in COMMITTED,
                     producer=("gguf-py GGUFWriter + quants.quantize" if name in LEGACY_FTYPES
                               else "llama.cpp llama_model_quantize from model-f32.gguf"),
                     file_type=ft, bytes=os.path.getsize(path), sha256=sha256_file(path),
                     tensor_types=tensor_types, tensor_sha256=tensor_sha, llama_cpp=logits_block(lc),
                     llama_cpp_vs_hf_f32_max_rel=max_rel(lc, hf_f32))

        if name in LEGACY_FTYPES and name != "F32":
            # llama.cpp's own quantizer, with --pure (every 2-D tensor in the file's type; without it Q4_0 etc. would
            # keep output.weight at Q6_K), must produce the very same tensor bytes as gguf-py.
            pure_path = os.path.join(tmp, "pure-" + file_name(name))
            llama_quantize(paths["F32"], pure_path, LEGACY_FTYPES[name], pure=True)
            p_types, p_sha, _, _ = inspect_gguf(pure_path)
            assert p_types == tensor_types and p_sha == tensor_sha, f"{name}: llama.cpp --pure bytes differ"
            entry["llama_cpp_pure_quantize_identical"] = True

        ref = LlamaForCausalLM(cfg).eval()
        missing = ref.load_state_dict(hf_state_from_gguf(arrays, cfg), strict=True)
        assert not missing.missing_keys and not missing.unexpected_keys
        hd = hf_run(ref, prompts)
        if name == "F32":
            for a, b in zip(hd, hf_f32):
                assert np.array_equal(a["logits"], b["logits"]) and a["greedy"] == b["greedy"]
            entry["llama_cpp_vs_hf_dequant_max_rel"] = entry["llama_cpp_vs_hf_f32_max_rel"]
        else:
            entry["hf_dequant"] = [dict(last_logits=r["logits"][-1], greedy=r["greedy"],
                                        greedy_min_margin=r["greedy_min_margin"]) for r in hd]
            entry["llama_cpp_vs_hf_dequant_max_rel"] = max_rel(lc, hd)
        entry["_hf_dequant_vs_hf_f32_max_rel"] = max_rel(hd, hf_f32)
        types[name] = entry

    summary = dict(vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
                   num_hidden_layers=cfg.num_hidden_layers, num_attention_heads=cfg.num_attention_heads,
                   num_key_value_heads=cfg.num_key_value_heads, head_dim=cfg.head_dim, rope_theta=ROPE_THETA,
                   rms_norm_eps=cfg.rms_norm_eps, max_position_embeddings=cfg.max_position_embeddings,
                   tie_word_embeddings=cfg.tie_word_embeddings, bos_token_id=BOS, eos_token_id=EOS)
    lib = os.environ.get("LLAMA_CPP_LIB_PATH")
    doc = dict(
        description="tiny GQA LlamaForCausalLM as GGUF files of every supported type; llama.cpp and transformers "
                    "logits; see tools/golden/make_gguf_golden.py",
        logits_format="float32 values as the shortest decimal that round-trips to the same float32; parse as "
                      "Double, convert to Float",
        versions=dict(python=platform.python_version(), torch=torch.__version__.split("+")[0],
                      transformers=transformers.__version__, gguf=gguf_version(), numpy=np.__version__,
                      llama_cpp_python=llama_cpp.__version__,
                      llama_cpp_lib=(os.path.relpath(lib, ROOT) if lib and lib.startswith(ROOT) else lib or "wheel")),
        seed=SEED, config=summary,
        tokenizer=dict(model="gpt2", pre="gpt-2", bos_token_id=BOS, eos_token_id=EOS, merges=MERGES,
                       tokens="GPT-2 bytes_to_unicode symbol of byte b at id b (b = 0..255), all NORMAL"),
        llama_cpp_settings={k: v for k, v in LLAMA_SETTINGS.items()},
        prompts=prompts,
        hf_f32=dict(logits=[r["logits"] for r in hf_f32], greedy=[r["greedy"] for r in hf_f32],
                    greedy_min_margin=[r["greedy_min_margin"] for r in hf_f32]),
        types={k: {kk: vv for kk, vv in v.items() if not kk.startswith("_")} for k, v in types.items()},
    )
    write_json(os.path.join(OUT, "golden.json"), doc)

    # Report.
    print(f"prompts: {prompts}")
    print(f"hf_f32 greedy: {[r['greedy'] for r in hf_f32]}  max|logit| "
          f"{max(float(np.abs(r['logits']).max()) for r in hf_f32):.4f}  "
          f"min margins {[round(r['greedy_min_margin'], 4) for r in hf_f32]}")
    for name, e in types.items():
        mix = {}
        for tn, tt in e["tensor_types"].items():
            mix.setdefault(tt, []).append(tn)
        print(f"{name:7s} {e['bytes']:9d} B  llama.cpp vs hf_f32 {e['llama_cpp_vs_hf_f32_max_rel']:.2e}  "
              f"vs hf_dequant {e['llama_cpp_vs_hf_dequant_max_rel']:.2e}  hf_dequant vs hf_f32 "
              f"{e['_hf_dequant_vs_hf_f32_max_rel']:.2e}  greedy {[r['greedy'] for r in e['llama_cpp']]}  "
              f"margins {[round(r['greedy_min_margin'], 4) for r in e['llama_cpp']]}")
        if name in dict(KQUANTS):
            for tt, names in mix.items():
                print(f"          {tt}: {', '.join(names)}")
    assert types["F32"]["llama_cpp_vs_hf_f32_max_rel"] < 1e-4, types["F32"]["llama_cpp_vs_hf_f32_max_rel"]
    for f in sorted(os.listdir(OUT)):
        print(f"  {f:20s} {os.path.getsize(os.path.join(OUT, f)):9d} bytes")
    print(f"  total {sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))} bytes")
    if not args.keep_dir:
        shutil.rmtree(tmp)


def gguf_version():
    from importlib.metadata import version
    return version("gguf")


if __name__ == "__main__":
    sys.exit(main())
