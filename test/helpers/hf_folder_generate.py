"""Greedy generation from a Hugging Face model folder using only the folder's own files, as a Hugging Face user would:
the weights through the independent PyTorch reference (../shared/bench/torch_reference.py, its own loader), the text
through the folder's tokenizer.json, read here without the `tokenizers` package (not installed for Debian's python3).
Implements the two tokenizer.json forms TinyMem writes: WordLevel with a Split pre-tokenizer (the math vocabulary)
and byte-level BPE (GPT-2: ByteLevel pre-tokenizer with GPT-2's split pattern, merges by rank, added tokens).

  python3 hf_folder_generate.py REFERENCE_DIR MODEL_DIR PROMPT N
prints one JSON line: {"prompt_ids": [...], "ids": [...], "text": "..."} (the N greedy tokens and their text).
"""
import json, re, sys, unicodedata

sys.path.insert(0, sys.argv[1])
import torch
import torch_reference as R

model_dir, prompt, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(f"{model_dir}/tokenizer.json", encoding="utf-8") as f:
    tj = json.load(f)
model = tj["model"]
vocab = model["vocab"]
added = {t["content"]: t["id"] for t in tj.get("added_tokens", [])}
inverse = {i: t for t, i in vocab.items()}
inverse.update({i: t for t, i in added.items()})


def byte_chars():
    out, nxt = {}, 256
    for b in range(256):
        printable = 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255
        out[b] = chr(b if printable else nxt)
        nxt += 0 if printable else 1
    return out


def is_l(c):
    return unicodedata.category(c).startswith("L")


def is_n(c):
    return unicodedata.category(c).startswith("N")


def gpt2_split(s):
    """GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+ as a scanner."""
    out, i, n_ = [], 0, len(s)
    other = lambda c: not c.isspace() and not is_l(c) and not is_n(c)
    while i < n_:
        m = re.match(r"'(?:s|t|re|ve|m|ll|d)", s[i:])
        if m:
            out.append(m.group(0)); i += len(m.group(0)); continue
        found = False
        for cls in (is_l, is_n, other):
            j = i + 1 if s[i] == " " and i + 1 < n_ and cls(s[i + 1]) else i
            if j < n_ and cls(s[j]):
                k = j
                while k < n_ and cls(s[k]):
                    k += 1
                out.append(s[i:k]); i = k; found = True
                break
        if found:
            continue
        k = i
        while k < n_ and s[k].isspace():
            k += 1
        end = k if k == n_ or k - 1 == i else k - 1
        out.append(s[i:end]); i = end
    return out


def bpe(word, ranks):
    parts = list(word)
    while len(parts) > 1:
        pairs = [(ranks.get((parts[i], parts[i + 1]), 1 << 30), i) for i in range(len(parts) - 1)]
        r, i = min(pairs)
        if r == 1 << 30:
            break
        parts[i:i + 2] = [parts[i] + parts[i + 1]]
    return parts


def encode(text):
    if model["type"] == "WordLevel":
        pre = tj["pre_tokenizer"]
        if pre != {"type": "Split", "pattern": {"Regex": "."}, "behavior": "Isolated", "invert": False}:
            raise SystemExit(f"unsupported pre_tokenizer {pre}")
        return [vocab[c] for c in text]
    if model["type"] != "BPE" or tj["pre_tokenizer"]["type"] != "ByteLevel":
        raise SystemExit(f"unsupported tokenizer {model['type']}")
    chars = byte_chars()
    ranks = {tuple(m.split(" ")): r for r, m in enumerate(model["merges"])}
    ids = []
    pieces = re.split("(" + "|".join(re.escape(a) for a in added) + ")", text) if added else [text]
    for piece in pieces:
        if piece in added:
            ids.append(added[piece]); continue
        for word in gpt2_split(piece):
            mapped = "".join(chars[b] for b in word.encode("utf-8"))
            ids.extend(vocab[t] for t in bpe(mapped, ranks))
    return ids


def decode(ids):
    toks = [inverse[i] for i in ids]
    if model["type"] == "WordLevel":
        if tj["decoder"] != {"type": "Fuse"}:
            raise SystemExit(f"unsupported decoder {tj['decoder']}")
        return "".join(toks)
    back = {c: b for b, c in byte_chars().items()}
    out = b""
    for t in toks:
        out += t.encode("utf-8") if t in added else bytes(back[c] for c in t)
    return out.decode("utf-8", errors="replace")


torch.set_num_threads(1)
m = R.load(model_dir)
prompt_ids = encode(prompt)
g = torch.tensor([prompt_ids])
with torch.no_grad():
    for _ in range(n):
        nxt = m(g[:, -m.max_positions():])[0, -1].argmax()
        g = torch.cat([g, nxt.view(1, 1)], dim=1)
ids = g[0, len(prompt_ids):].tolist()
print(json.dumps({"prompt_ids": prompt_ids, "ids": ids, "text": decode(ids)}))
