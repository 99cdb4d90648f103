#!/usr/bin/env python3
"""Builds the bundled demo model models/hart-tiny-demo/ (random weights).

The demo shows the whole text -> image path working on a machine without the
released checkpoints. Its weights are random, so its images are noise-like.
Layout (same as the release): llm/ (HART transformer), tokenizer/ (HART
autoencoder + quantizer), text_encoder/ (Qwen2 snapshot: config.json,
model.safetensors, tokenizer.json).

Sources: the golden tiny sets in ../shared/golden (hart-tiny-a transformer and
tokenizer, qwen2-tiny text model). The transformer's context projection is
re-drawn to take the text model's width (64). The tokenizer.json is a
byte-level BPE with Qwen2's pre-tokenizer, trained here on a small corpus to
fit the text model's 512-entry vocabulary.
Run once: python3 tools/make_demo_model.py  (needs numpy, safetensors, tokenizers)
"""
import json, os, shutil, sys
import numpy as np
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, decoders, trainers, Regex

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
golden = os.environ.get("HART_GOLDEN", os.path.join(root, "..", "shared", "golden"))
out = os.path.join(root, "models", "hart-tiny-demo")
rng = np.random.default_rng(20261122)

for sub in ("llm", "tokenizer", "text_encoder"):
    os.makedirs(os.path.join(out, sub), exist_ok=True)

# HART tokenizer: unchanged. Its weights are a relative link to the repository's copy of
# the golden set (tests/data/golden/hart-tiny-a), so the 5.6 MB are stored once (the GPU
# device tool carries the tracked files within 64 MiB).
shutil.copy(os.path.join(golden, "hart-tiny-a", "tokenizer", "config.json"), os.path.join(out, "tokenizer", "config.json"))
link = os.path.join(out, "tokenizer", "model.safetensors")
if os.path.lexists(link):
    os.remove(link)
os.symlink(os.path.join("..", "..", "..", "tests", "data", "golden", "hart-tiny-a", "tokenizer", "model.safetensors"), link)

# Text model: unchanged copy.
qcfg = json.load(open(os.path.join(golden, "qwen2-tiny", "config.json")))
shutil.copy(os.path.join(golden, "qwen2-tiny", "config.json"), os.path.join(out, "text_encoder", "config.json"))
shutil.copy(os.path.join(golden, "qwen2-tiny", "model.safetensors"), os.path.join(out, "text_encoder", "model.safetensors"))
D = qcfg["hidden_size"]

# Transformer: context input width follows the text model.
cfg = json.load(open(os.path.join(golden, "hart-tiny-a", "llm", "config.json")))
w = load_file(os.path.join(golden, "hart-tiny-a", "llm", "model.safetensors"))
C = cfg["embed_dim"]
cfg["context_dim"] = D
w["context_embed.weight"] = (rng.standard_normal((C, D)) / np.sqrt(D)).astype(np.float32)
w["context_norm.weight"] = (1 + 0.1 * rng.standard_normal(D)).astype(np.float32)
json.dump(cfg, open(os.path.join(out, "llm", "config.json"), "w"), indent=2)
save_file(w, os.path.join(out, "llm", "model.safetensors"))

# Byte-level BPE with Qwen2's normalizer and split regex.
specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
qwen_split = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
              r"|\s*[\r\n]+|\s+(?!\S)|\s+")
tok = Tokenizer(models.BPE())
tok.normalizer = normalizers.NFC()
tok.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(qwen_split), behavior="isolated", invert=False),
    pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
tok.decoder = decoders.ByteLevel()
corpus = [
    "a photo of a cat sitting on a red chair", "an astronaut riding a horse on the moon",
    "a watercolor painting of a lighthouse at sunset", "a bowl of fruit on a wooden table",
    "a city street at night with neon lights and rain", "portrait of an old man with a beard",
    "a mountain lake surrounded by pine trees in the morning fog",
    "You are an assistant designed to generate superior images with the superior degree of image-text alignment based on textual prompts or user prompts.",
]
trainer = trainers.BpeTrainer(vocab_size=qcfg["vocab_size"] - len(specials), show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=[])
tok.train_from_iterator(corpus * 20, trainer=trainer)
tok.add_special_tokens(specials)
assert tok.get_vocab_size() <= qcfg["vocab_size"], tok.get_vocab_size()
tok.save(os.path.join(out, "text_encoder", "tokenizer.json"))
print("wrote", out, "vocab", tok.get_vocab_size())
