"""The machine a benchmark ran on, printed at the top of every bench script's output so that each number in
BENCHMARKS.md can be matched to its CPU (numbers from different machines are never compared with each other)."""
import os
import platform


def cpu_line():
    """e.g. 'AMD EPYC (family 25 model 17), 2 CPUs, AVX-512 VNNI BF16, no AMX'."""
    model, family, number, flags = platform.processor() or "unknown CPU", "?", "?", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name":
                    model = value
                elif key == "cpu family":
                    family = value
                elif key == "model":
                    number = value
                elif key == "flags":
                    flags = set(value.split())
                    break
    except OSError:
        pass
    has = lambda f: f in flags
    isa = "AVX-512" if has("avx512f") else "AVX2" if has("avx2") else "no AVX2"
    if has("avx512f"):
        isa += "".join(f" {n}" for f, n in (("avx512_vnni", "VNNI"), ("avx512_bf16", "BF16")) if has(f))
    isa += ", AMX" if has("amx_tile") else ", no AMX"
    return f"{model} (family {family} model {number}), {os.cpu_count()} CPUs, {isa}"


def print_machine():
    print(f"machine: {cpu_line()}", flush=True)


if __name__ == "__main__":
    print_machine()
