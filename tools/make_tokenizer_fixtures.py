#!/usr/bin/env python3
"""Trains small tokenizers and dumps HF reference encodings of the parity corpus for glint's tokenizer tests.

Run from the repository root with the fixture venv (see tests/data/tokenizers/README.md):
    /work/venv-fixtures/bin/pip install tokenizers==0.23.3 transformers==5.24.0
    /work/venv-fixtures/bin/python tools/make_tokenizer_corpus.py
    /work/venv-fixtures/bin/python tools/make_tokenizer_fixtures.py [--retrain]

Outputs (all under tests/data/tokenizers/):
  trained/<name>/tokenizer.json   small BPE / WordPiece / Unigram tokenizers trained here (only with --retrain or
                                  when missing: retraining changes every fixture)
  gpt2/, bert-base-uncased/, qwen3/, mistral/   copies of ../shared/data/tokenizers (plus gpt2/tokenizer.json,
                                  the pipeline transformers builds from vocab.json + merges.txt)
  fixtures/<name>.jsonl           per corpus line: ids, offsets, decode; with and without special tokens
  fixtures/<name>.batch.json      batch encodes: padding, truncation, attention masks, pairs
"""

import argparse
import hashlib
import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import tokenizers
import transformers
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "tokenizers"
SHARED = ROOT.parent / "shared" / "data"
PINNED = {"tokenizers": "0.23.3", "transformers": "5.24.0"}
TRAIN_KJV_VERSES = 6000
VOCAB_SIZE = 2000
BYTE_PIECES = [f"<0x{b:02X}>" for b in range(256)]


def read_corpus():
    with open(DATA / "corpus.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def training_text(corpus):
    with open(SHARED / "corpora" / "kjv.jsonl", encoding="utf-8") as f:
        kjv = [json.loads(line)["text"] for line in f]
    step = max(1, len(kjv) // TRAIN_KJV_VERSES)
    return [r["text"] for r in corpus] + kjv[::step]


# ---------------------------------------------------------------- training

def with_byte_pieces(tok, after_specials):
    """Adds the 256 <0xNN> pieces sentencepiece-style byte fallback needs (HF trainers do not create them)."""
    j = json.loads(tok.to_str())
    model = j["model"]
    if model["type"] == "Unigram":
        low = min(score for _, score in model["vocab"]) - 1.0
        model["vocab"] += [[p, low] for p in BYTE_PIECES]
    else:  # BPE: renumber so the byte pieces follow the specials, as in Llama / Mistral vocabularies
        old = sorted(model["vocab"].items(), key=lambda kv: kv[1])
        head = [t for t, _ in old[:after_specials]]
        tail = [t for t, _ in old[after_specials:] if t not in BYTE_PIECES]
        model["vocab"] = {t: i for i, t in enumerate(head + BYTE_PIECES + tail)}
        for a in j["added_tokens"]:
            a["id"] = model["vocab"][a["content"]]
        fix_template_ids(j.get("post_processor"), model["vocab"])
    model["byte_fallback"] = True
    return Tokenizer.from_str(json.dumps(j))


def fix_template_ids(post, vocab):
    if post and post.get("type") == "TemplateProcessing":
        for spec in post["special_tokens"].values():
            spec["ids"] = [vocab[t] for t in spec["tokens"]]


def train_bpe_bytelevel(text):
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    specials = ["<unk>", "<bos>", "<eos>", "<sep>", "<pad>"]
    tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials,
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    ids = {t: tok.token_to_id(t) for t in specials}
    tok.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", pair="<bos> $A <sep> $B:1 <eos>:1",
        special_tokens=[(t, ids[t]) for t in ("<bos>", "<eos>", "<sep>")])
    # Added tokens exercising every flag: lstrip, rstrip, single_word, normalized (matched after NFC).
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, rstrip=False, special=True, normalized=False)])
    tok.add_tokens([AddedToken("[word]", single_word=True, normalized=False),
                    AddedToken("<rstrip>", rstrip=True, normalized=False),
                    AddedToken("café au lait", normalized=True)])
    j = json.loads(tok.to_str())
    j["model"]["ignore_merges"] = True
    return Tokenizer.from_str(json.dumps(j))


def train_bpe_spm(text):
    """Sentencepiece-style BPE (Llama/Mistral): Metaspace, byte fallback, fused unknowns."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    specials = ["<unk>", "<s>", "</s>"]
    tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials,
                                                      limit_alphabet=300))
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s>:1 $B:1", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    return with_byte_pieces(tok, after_specials=len(specials))


def train_wordpiece_bert(text):
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(text, trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials,
                                                            limit_alphabet=400))
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    return tok


def train_wordpiece_seq(text):
    """WordPiece behind the composable normalizers and pre-tokenizers BERT does not use."""
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=24))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase(),
                                           normalizers.Replace(Regex(r"\s+"), " "), normalizers.Replace("``", '"'),
                                           normalizers.Strip(left=True, right=True)])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                                 pre_tokenizers.Punctuation(behavior="isolated"),
                                                 pre_tokenizers.Digits(individual_digits=True)])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]"]
    tok.train_from_iterator(text, trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials,
                                                            limit_alphabet=400))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    return tok


def train_bpe_roberta(text):
    """Byte-level BPE behind NFKD and a regex Split, with a word-end suffix and RobertaProcessing."""
    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"\p{N}{1,3}|[\p{L}\p{M}]+|[^\s\p{L}\p{M}\p{N}]+"), behavior="isolated"),
        pre_tokenizers.Whitespace(),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    # No Strip(" ", 0, 1) for the suffix's last space: tokenizers 0.23.3 panics on it when the decode is empty.
    tok.decoder = decoders.Sequence([decoders.ByteLevel(), decoders.Replace("</w>", " ")])
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    tok.train_from_iterator(text, trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials,
                                                      end_of_word_suffix="</w>",
                                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.post_processor = processors.RobertaProcessing(("</s>", tok.token_to_id("</s>")),
                                                      ("<s>", tok.token_to_id("<s>")), trim_offsets=True,
                                                      add_prefix_space=True)
    return tok


def train_unigram(text):
    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Metaspace(replacement="▁",
                                                                                prepend_scheme="always")])
    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    # The Unigram trainer keeps every character it sees, and its EM gives NaN on very long words and on the text
    # "<UNK>" (tokenizers 0.23.3): train without lines holding rare characters (random CJK, which then reach byte
    # fallback), words over 40 characters or "<UNK>".
    freq = Counter(ch for line in text for ch in line)
    text = [line for line in text if all(freq[ch] >= 4 for ch in line) and all(len(w) <= 40 for w in line.split())
            and "<UNK>" not in line]
    tok.train_from_iterator(text, trainers.UnigramTrainer(vocab_size=VOCAB_SIZE, special_tokens=specials,
                                                          unk_token="<unk>", max_piece_length=12))
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", pair="$A </s> $B:1 </s>:1",
                                                       special_tokens=[("</s>", tok.token_to_id("</s>"))])
    return with_byte_pieces(tok, after_specials=len(specials))


TRAINED = {
    "bpe_bytelevel": train_bpe_bytelevel,
    "bpe_spm": train_bpe_spm,
    "bpe_roberta": train_bpe_roberta,
    "wordpiece_bert": train_wordpiece_bert,
    "wordpiece_seq": train_wordpiece_seq,
    "unigram": train_unigram,
}


# ---------------------------------------------------------------- real tokenizers

def copy_real():
    for name, files in {"gpt2": ["vocab.json", "merges.txt"], "bert-base-uncased": ["vocab.txt"],
                        "qwen3": ["tokenizer.json", "tokenizer_config.json"],
                        "mistral": ["tokenizer.json", "tokenizer_config.json"]}.items():
        (DATA / name).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copyfile(SHARED / "tokenizers" / name / f, DATA / name / f)


def load_real():
    """Returns name -> (tokenizers.Tokenizer, how it was loaded). Legacy formats go through transformers."""
    gpt2 = transformers.GPT2TokenizerFast.from_pretrained(DATA / "gpt2")
    bert = transformers.BertTokenizerFast.from_pretrained(DATA / "bert-base-uncased", do_lower_case=True)
    gpt2.backend_tokenizer.save(str(DATA / "gpt2" / "tokenizer.json"), pretty=False)
    check_legacy_agrees(gpt2, bert)
    return {
        "gpt2": (gpt2.backend_tokenizer, "transformers.GPT2TokenizerFast.from_pretrained(vocab.json + merges.txt)"),
        "bert-base-uncased": (bert.backend_tokenizer,
                              "transformers.BertTokenizerFast.from_pretrained(vocab.txt, do_lower_case=True)"),
        "qwen3": (Tokenizer.from_file(str(DATA / "qwen3" / "tokenizer.json")), "tokenizers.Tokenizer.from_file"),
        "mistral": (Tokenizer.from_file(str(DATA / "mistral" / "tokenizer.json")), "tokenizers.Tokenizer.from_file"),
    }


def check_legacy_agrees(gpt2, bert):
    """The tokenizers-only loaders must agree with transformers on the legacy files, or the fixtures are ambiguous."""
    bl = tokenizers.ByteLevelBPETokenizer.from_file(str(DATA / "gpt2" / "vocab.json"),
                                                    str(DATA / "gpt2" / "merges.txt"))
    wp = tokenizers.BertWordPieceTokenizer(str(DATA / "bert-base-uncased" / "vocab.txt"), lowercase=True)
    for r in read_corpus():
        t = r["text"]
        if "<|endoftext|>" not in t and bl.encode(t).ids != gpt2.backend_tokenizer.encode(t).ids:
            sys.exit(f"gpt2: ByteLevelBPETokenizer and transformers disagree on line {r['id']}")
        if wp.encode(t).ids != bert.backend_tokenizer.encode(t).ids:
            sys.exit(f"bert: BertWordPieceTokenizer and transformers disagree on line {r['id']}")


# ---------------------------------------------------------------- fixtures

def byte_offsets(text, offsets):
    cum = [0]
    for ch in text:
        cum.append(cum[-1] + len(ch.encode("utf-8")))
    return [cum[i] for pair in offsets for i in pair]


SPECIAL_EVERY = 5  # the add_special_tokens=True encoding is recorded on every 5th line and these kinds
SPECIAL_KINDS = ("empty", "special_tokens", "added_tokens")
# To keep the fixtures small, tokenizers beyond the required three record every LINE_EVERY-th line plus every
# line of ALWAYS_KINDS, and byte_offsets are written only with --byte-offsets (they follow from the offsets).
REQUIRED = ("gpt2", "qwen3", "bert-base-uncased")
LINE_EVERY = {"mistral": 3}
LINE_EVERY_TRAINED = 4
ALWAYS_KINDS = ("empty", "special_tokens", "control", "invalid_utf8", "whitespace", "added_tokens")


def encoding_record(tok, text, add_special, with_bytes):
    """ids and offsets; byte_offsets only for non-ASCII text; decode only where it differs from the text and
    decode_skip only where it differs from decode (the fixtures would be three times larger otherwise)."""
    enc = tok.encode(text, add_special_tokens=add_special)
    rec = {"ids": enc.ids, "offsets": [i for pair in enc.offsets for i in pair]}
    if with_bytes and not text.isascii():
        rec["byte_offsets"] = byte_offsets(text, enc.offsets)
    decoded = tok.decode(enc.ids, skip_special_tokens=False)
    skipped = tok.decode(enc.ids, skip_special_tokens=True)
    if decoded != text:
        rec["decode"] = decoded
    if skipped != decoded:
        rec["decode_skip"] = skipped
    return rec


def write_fixtures(name, tok, loaded_with, corpus, meta_common, with_bytes):
    out = DATA / "fixtures" / f"{name}.jsonl"
    every = 1 if name in REQUIRED else LINE_EVERY.get(name, LINE_EVERY_TRAINED)
    lines = [r for r in corpus if r["id"] % every == 0 or r["kind"] in ALWAYS_KINDS]
    meta = dict(meta_common, tokenizer=name, loaded_with=loaded_with, lines=len(lines), line_every=every,
                always_kinds=list(ALWAYS_KINDS), byte_offsets=with_bytes, special_every=SPECIAL_EVERY,
                special_kinds=list(SPECIAL_KINDS))
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps({"meta": meta}, ensure_ascii=False) + "\n")
        for r in lines:
            rec = {"id": r["id"], **encoding_record(tok, r["text"], False, with_bytes)}
            if r["id"] % SPECIAL_EVERY == 0 or r["kind"] in SPECIAL_KINDS:
                rec["special"] = encoding_record(tok, r["text"], True, with_bytes)
            f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    return out


PAD_TOKENS = {"gpt2": "<|endoftext|>", "qwen3": "<|endoftext|>", "mistral": "</s>", "bert-base-uncased": "[PAD]",
              "bpe_bytelevel": "<pad>", "bpe_spm": "</s>", "bpe_roberta": "<pad>", "wordpiece_bert": "[PAD]",
              "wordpiece_seq": "[PAD]", "unigram": "<pad>"}
# Batch members: "a", "", then the shortest sample of at least 12 characters of these kinds (short keeps the padded
# batches small).
BATCH_KINDS = ["english", "cjk", "emoji", "whitespace", "mixed", "invalid_utf8"]


def batch_lines(corpus):
    def shortest(kind):
        return min((r for r in corpus if r["kind"] == kind and len(r["text"]) >= 12),
                   key=lambda r: (len(r["text"]), r["id"]))["id"]

    lines = [2, 0] + [shortest(k) for k in BATCH_KINDS]
    return lines, [[lines[0], lines[2]], [lines[3], lines[4]], [lines[1], lines[6]], [lines[5], lines[7]]]
BATCH_CASES = [
    {"name": "pad_longest_right", "padding": {"direction": "right"}},
    {"name": "pad_longest_left", "padding": {"direction": "left"}},
    {"name": "pad_longest_right_no_special", "padding": {"direction": "right"}, "add_special_tokens": False},
    {"name": "pad_multiple_of_8", "padding": {"direction": "right", "pad_to_multiple_of": 8}},
    {"name": "max_length_16_right", "padding": {"direction": "right", "length": 16},
     "truncation": {"max_length": 16, "direction": "right"}},
    {"name": "max_length_12_left_pad_left_trunc", "padding": {"direction": "left", "length": 12},
     "truncation": {"max_length": 12, "direction": "left"}},
    {"name": "truncate_8_no_padding", "truncation": {"max_length": 8, "direction": "right"}},
    {"name": "pairs_longest_first_20", "pairs": True, "padding": {"direction": "right"},
     "truncation": {"max_length": 20, "strategy": "longest_first"}},
    {"name": "pairs_only_second_32_left_pad", "pairs": True, "padding": {"direction": "left"},
     "truncation": {"max_length": 32, "strategy": "only_second"}},
    {"name": "pairs_only_first_4_error", "pairs": True, "truncation": {"max_length": 4, "strategy": "only_first"}},
]


def run_batch_case(tok, case, corpus, pad_token):
    tok = Tokenizer.from_str(tok.to_str())  # padding/truncation settings must not leak between cases
    if "padding" in case:
        p = case["padding"]
        tok.enable_padding(direction=p["direction"], pad_id=tok.token_to_id(pad_token), pad_token=pad_token,
                           length=p.get("length"), pad_to_multiple_of=p.get("pad_to_multiple_of"))
    if "truncation" in case:
        t = case["truncation"]
        tok.enable_truncation(max_length=t["max_length"], strategy=t.get("strategy", "longest_first"),
                              direction=t.get("direction", "right"))
    add_special = case.get("add_special_tokens", True)
    singles, pairs = batch_lines(corpus)
    if case.get("pairs"):
        lines = pairs
        inputs = [(corpus[a]["text"], corpus[b]["text"]) for a, b in pairs]
    else:
        lines = singles
        inputs = [corpus[i]["text"] for i in singles]
    try:
        encs = tok.encode_batch(inputs, add_special_tokens=add_special)
    except Exception as e:  # e.g. only_second cannot fit: HF raises, glint must raise too
        return dict(case, lines=lines, error=str(e))
    results = [{"ids": e.ids, "type_ids": e.type_ids, "attention_mask": e.attention_mask,
                "special_tokens_mask": e.special_tokens_mask, "offsets": [i for p in e.offsets for i in p]}
               for e in encs]
    return dict(case, add_special_tokens=add_special, pad_token=pad_token, pad_id=tok.token_to_id(pad_token),
                lines=lines, results=results)


def write_batch(name, tok, corpus, meta_common):
    cases = [run_batch_case(tok, c, corpus, PAD_TOKENS[name]) for c in BATCH_CASES]
    out = DATA / "fixtures" / f"{name}.batch.json"
    with open(out, "w", encoding="utf-8", newline="\n") as f:
        json.dump({"meta": dict(meta_common, tokenizer=name), "cases": cases}, f, ensure_ascii=False)
        f.write("\n")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--retrain", action="store_true", help="retrain the small tokenizers (changes all fixtures)")
    ap.add_argument("--byte-offsets", action="store_true", help="also write UTF-8 byte offsets (+0.7 MB)")
    args = ap.parse_args()
    versions = {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__}
    if versions != PINNED:
        print(f"warning: pinned {PINNED}, running {versions}", file=sys.stderr)
    corpus = read_corpus()
    corpus_sha = hashlib.sha256((DATA / "corpus.jsonl").read_bytes()).hexdigest()
    copy_real()
    found = load_real()
    for name, train in TRAINED.items():
        path = DATA / "trained" / name / "tokenizer.json"
        if args.retrain or not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            train(training_text(corpus)).save(str(path), pretty=False)
        found[name] = (Tokenizer.from_file(str(path)), "tokenizers.Tokenizer.from_file(trained/%s)" % name)
    (DATA / "fixtures").mkdir(exist_ok=True)
    meta_common = {"versions": versions, "corpus_sha256": corpus_sha,
                   "offsets": "flat [start0, end0, start1, end1, ...] in characters (code points) of the text, as "
                              "HF's Python API returns them; byte_offsets (only with --byte-offsets, only for "
                              "non-ASCII text): the same in bytes of its UTF-8 encoding"}
    for name, (tok, how) in found.items():
        a = write_fixtures(name, tok, how, corpus, meta_common, args.byte_offsets)
        b = write_batch(name, tok, corpus, meta_common)
        print(f"{name}: {a.stat().st_size} + {b.stat().st_size} bytes")


if __name__ == "__main__":
    main()
