#!/usr/bin/env python3
"""Regenerates llama_figures.json: llama.cpp's perplexity and KL-divergence figures that the perplexity tests
compare pocket with. llama-perplexity is too slow to run in every test on the 2-core CI (OpenMP spinning under
load makes a 1 s run take minutes), so its figures are recorded here; re-run this when the text, the reference
models, the peer binaries or `pocket synth`'s stories110m preset change.

    tests/golden/perplexity/make_llama_figures.py BUILD_DIR/pocket [SHARED_DIR]

What it records (all on ../shared/text/tinystory-eval.txt, -c 128 -b 128, one thread):
  perplexity.<model>          llama-perplexity's final "PPL = x +/- e" with its default settings (F16 KV cache,
                              flash attention auto) and with -fa off, for the embedded tiny-stories model and
                              every F32 model in ../shared/reference/models;
  kld.<model>.<type>          llama-quantize's Q8_0 / Q4_K_M file against the F32 model: the base log-probabilities
                              saved by llama-perplexity --kl-divergence-base (at most `chunks` windows), then
                              llama-perplexity --kl-divergence: mean KLD ± err and "Same top p" (and the sha256 of
                              llama-quantize's file: pocket's must be the same bytes), for the embedded
                              model and for `pocket synth --arch llama --preset stories110m --type f32 --vocab
                              ggml-vocab-llama-spm.gguf` (its sha256 is recorded: the test checks it made the same
                              file).
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

CTX = 128
KLD_CHUNKS = {"tiny-stories": -1, "stories110m": 8}
# llama-quantize refuses Q8_0 for the embedded model (its ffn_down rows of 172 are not a multiple of 32 and Q8_0
# has no fallback type in llama.cpp); pocket falls back to F16 for those tensors, which is this file exactly.
QUANTIZE_EXTRA = {("tiny-stories", "Q8_0"): ["--tensor-type", "ffn_down=f16"]}
F32_MODELS = ["llama-gqa", "llama3-tied", "qwen2", "qwen3", "phi3", "gemma2", "gemma3"]


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r.stdout + r.stderr


def run_parsed(cmd, parse):
    """llama.cpp logs through an asynchronous logger that can lose its tail at exit on a loaded machine: retry."""
    for _ in range(5):
        figures = parse(run(cmd))
        if figures is not None:
            return figures
    sys.exit(f"no statistics in the output of {' '.join(cmd)} after 5 runs")


def final_ppl(log):
    m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", log)
    if not m:
        return None
    return {"ppl": float(m.group(1)), "ppl_stderr": float(m.group(2))}


def kld_figures(log):
    kld = re.search(r"Mean    KLD:\s+(-?[0-9.]+) ±\s+([0-9.]+)", log)
    top = re.search(r"Same top p:\s+([0-9.]+) ±\s+([0-9.]+) %", log)
    ppl = re.search(r"Mean PPL\(Q\)\s+:\s+([0-9.]+) ±\s+([0-9.]+)", log)
    if not (kld and top and ppl):
        return None
    return {"kld": float(kld.group(1)), "kld_stderr": float(kld.group(2)),
            "top1_agreement": float(top.group(1)) / 100.0, "ppl": float(ppl.group(1))}


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    pocket = os.path.abspath(sys.argv[1])
    shared = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__),
                                                                                "../../../../shared"))
    peers = os.path.join(shared, "peers", "llama.cpp")
    text = os.path.join(shared, "text", "tinystory-eval.txt")
    ppl_cmd = [os.path.join(peers, "llama-perplexity"), "-f", text, "-c", str(CTX), "-b", str(CTX), "-t", "1"]
    out = {"text": "text/tinystory-eval.txt", "ctx": CTX, "batch": CTX, "threads": 1,
           "peer": "peers/llama.cpp/llama-perplexity", "perplexity": {}, "kld": {}}

    models = {"tiny-stories": os.path.join(shared, "models", "tiny-stories", "tiny-stories.gguf")}
    for name in F32_MODELS:
        models[name] = os.path.join(shared, "reference", "models", name + ".gguf")
    for name, path in models.items():
        default = run_parsed(ppl_cmd + ["-m", path], final_ppl)
        fa_off = run_parsed(ppl_cmd + ["-m", path, "-fa", "off"], final_ppl)
        out["perplexity"][name] = {"default": default, "fa_off": fa_off}
        print(name, default, fa_off, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        s110 = os.path.join(tmp, "stories110m-f32.gguf")
        run([pocket, "synth", "--arch", "llama", "--preset", "stories110m", "--type", "f32", "--vocab",
             os.path.join(shared, "vocab", "ggml-vocab-llama-spm.gguf"), "-o", s110])
        out["stories110m_sha256"] = sha256(s110)
        for name, path in (("tiny-stories", models["tiny-stories"]), ("stories110m", s110)):
            base = os.path.join(tmp, name + ".kld")
            chunks = KLD_CHUNKS[name]
            run(ppl_cmd + ["-m", path, "--chunks", str(chunks), "--kl-divergence-base", base])
            out["kld"][name] = {"chunks": chunks}
            for qtype in ("Q8_0", "Q4_K_M"):
                qpath = os.path.join(tmp, f"{name}-{qtype}.gguf")
                run([os.path.join(peers, "llama-quantize")] + QUANTIZE_EXTRA.get((name, qtype), []) +
                    [path, qpath, qtype, "2"])
                out["kld"][name][qtype] = run_parsed(
                    [os.path.join(peers, "llama-perplexity"), "-m", qpath, "-c", str(CTX), "-b", str(CTX), "-t", "1",
                     "--kl-divergence-base", base, "--kl-divergence"], kld_figures)
                out["kld"][name][qtype]["llama_quantize_sha256"] = sha256(qpath)
                out["kld"][name][qtype]["llama_quantize_args"] = QUANTIZE_EXTRA.get((name, qtype), [])
                print(name, qtype, out["kld"][name][qtype], flush=True)

    dest = os.path.join(os.path.dirname(os.path.abspath(__file__)), "llama_figures.json")
    with open(dest, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", dest)


if __name__ == "__main__":
    main()
