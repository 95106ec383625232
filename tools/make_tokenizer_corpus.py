#!/usr/bin/env python3
"""Builds tests/data/tokenizers/corpus.jsonl, the parity corpus for glint's tokenizers.

One JSON object per line: {"id": N, "kind": "...", "text": "..."}. Samples that are not valid UTF-8 also carry
"bytes_hex" (the raw bytes glint receives); their "text" is bytes.decode("utf-8", errors="replace"), which is what
the HF tokenizers were given (they accept only Python str). See tests/data/tokenizers/README.md.

Everything not taken from the public-domain KJV (../shared/data/corpora/kjv.jsonl) is generated here from a seeded
random generator and the word lists below, so the corpus is reproducible: `python tools/make_tokenizer_corpus.py`.
Standard library only.
"""

import argparse
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_KJV = ROOT.parent / "shared" / "data" / "corpora" / "kjv.jsonl"
DEFAULT_OUT = ROOT / "tests" / "data" / "tokenizers" / "corpus.jsonl"
SEED = 20240603


def load_kjv(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


# ---------------------------------------------------------------- English and case

def english(rng, kjv, n):
    out = []
    for i in range(n):
        k = rng.randrange(len(kjv))
        text = kjv[k]
        style = i % 10
        if style == 7:
            text = " ".join(kjv[k:k + rng.randint(2, 3)])  # multi-verse paragraph
        elif style == 8:
            text = text.upper()
        elif style == 9:
            text = "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)  # mIxEd CaSe
        out.append(text)
    return out


# ---------------------------------------------------------------- source code

IDENTS = ["value", "count", "buffer", "tokenIds", "max_len", "HTTPServer", "parseJSON", "x", "i", "_tmp", "self",
          "vocab", "mergeRank", "utf8_len", "kMaxTokens", "std", "result", "__init__", "Ω_angle", "données"]
TYPES = ["int", "float", "std::string", "size_t", "uint8_t", "bool", "Vec<u32>", "&str", "double"]


def code_sample(rng):
    a, b, c = rng.sample(IDENTS, 3)
    t = rng.choice(TYPES)
    n = rng.randint(0, 100000)
    templates = [
        f"def {a}({b}, {c}=None):\n    \"\"\"Return {b} plus {c}.\"\"\"\n    if {c} is None:\n        return {b}\n"
        f"    return {b} + {c}  # noqa: E501\n",
        f"for (size_t {a} = 0; {a} < {b}.size(); ++{a}) {{\n\t{c} += {b}[{a}] * {n};\n}}",
        f"static {t} {a}(const {t}& {b}) noexcept {{ return {b} << 2 | 0x{n:x}; }}",
        f"const {a} = async ({b}) => {{ await fetch(`/api/v1/{c}?id=${{{b}}}`); }};",
        f"fn {a}({b}: {t}) -> Result<{t}, Error> {{ Ok({b}.checked_add({n})?) }}",
        f'{{"{a}": {n}, "{b}": [1, 2.5e-3, null, true], "{c}": {{"nested": "\\u00e9\\n"}}}}',
        f"<div class=\"{a}\" id='{b}'><p>{c} &amp; {n} &lt; 10</p></div>",
        f"SELECT {a}, COUNT(*) AS {b} FROM {c} WHERE id >= {n} GROUP BY {a};",
        f"#include <{a}.h>\n#define {b.upper()}_MAX {n}\n",
        f"if [ -f \"${{{a}}}\" ]; then\n  echo \"{b}: $(wc -l < ${a})\" >&2\nfi",
        f"    {a} = [{b} ** 2 for {b} in range({n}) if {b} % 3 == 0]",
        f"{a}:\n  - name: {b}\n    value: {n}\n  - name: {c}\n    value: ~",
        f"// TODO({a}): handle {b}==nullptr && {c}!=0 -> see #{n}",
        f"assert {a} != {b}, f\"{{{a}!r}} vs {{{b}!r}}\"",
        f"\t\t{a}->{b}({c}, &{a}[{n % 17}]);",
        f"lambda {a}, *{b}, **{c}: ({a}, {b}, {c})",
    ]
    return rng.choice(templates)


# ---------------------------------------------------------------- scripts built from Unicode ranges

def rand_chars(rng, lo, hi, n):
    return "".join(chr(rng.randint(lo, hi)) for _ in range(n))


def cjk_sample(rng):
    parts = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.randrange(6)
        if kind == 0:
            parts.append(rand_chars(rng, 0x4E00, 0x9FFF, rng.randint(1, 12)))  # CJK unified ideographs
        elif kind == 1:
            parts.append(rand_chars(rng, 0x3041, 0x3096, rng.randint(1, 8)))  # hiragana
        elif kind == 2:
            parts.append(rand_chars(rng, 0x30A1, 0x30FA, rng.randint(1, 8)))  # katakana
        elif kind == 3:
            parts.append(rand_chars(rng, 0xAC00, 0xD7A3, rng.randint(1, 8)))  # hangul syllables
        elif kind == 4:
            parts.append(rng.choice(["。", "、", "「", "」", "！", "？", "（", "）", "：", "・", "ー", "〜", "…"]))
        else:
            parts.append(rng.choice(["ＡＢＣ", "１２３", "ｶﾀｶﾅ", "Ｕｎｉｃｏｄｅ", "\U00020000\U0002A6D6", "㍿", "丁目"]))
    sep = rng.choice(["", "", " ", "\u3000"])
    return sep.join(parts)


CJK_FIXED = ["日本語のテキストです。", "我爱自然语言处理！", "한국어 문장입니다.", "東京都渋谷区1丁目2番3号",
             "中文，English，日本語を混ぜる", "２０２４年１月１日", "ｈｅｌｌｏ　ｗｏｒｌｄ"]

ARABIC_LETTERS = [chr(c) for c in range(0x0621, 0x064B)]
HARAKAT = [chr(c) for c in range(0x064B, 0x0653)]


def arabic_sample(rng):
    words = []
    for _ in range(rng.randint(1, 10)):
        w = "".join(rng.choice(ARABIC_LETTERS) + (rng.choice(HARAKAT) if rng.random() < 0.3 else "")
                    for _ in range(rng.randint(2, 7)))
        words.append(w)
    extra = rng.choice(["", "،", "؟", " ٠١٢٣٤٥٦٧٨٩", " 2024", "\u200f", " (abc)", " ﷺ", " ﻻ"])
    return " ".join(words) + extra


ARABIC_FIXED = ["مرحبا بالعالم", "السَّلَامُ عَلَيْكُمْ", "اللغة العربية جميلة ١٢٣", "English ثم عربي then English"]

DEVA_CONS = [chr(c) for c in range(0x0915, 0x0939)]
DEVA_MATRA = [chr(c) for c in range(0x093E, 0x094D)] + ["\u0902", "\u0903", "\u0901"]
VIRAMA = "\u094D"


def hindi_sample(rng):
    words = []
    for _ in range(rng.randint(1, 9)):
        syl = []
        for _ in range(rng.randint(1, 4)):
            s = rng.choice(DEVA_CONS)
            if rng.random() < 0.2:
                s += VIRAMA + rng.choice(DEVA_CONS)  # conjunct
            if rng.random() < 0.6:
                s += rng.choice(DEVA_MATRA)
            syl.append(s)
        words.append("".join(syl))
    return " ".join(words) + rng.choice(["", "।", "॥", " १२३", " 42", "?"])


HINDI_FIXED = ["नमस्ते दुनिया", "हिन्दी भाषा बहुत सुंदर है।", "क्षत्रिय ज्ञान श्री", "मैं ठीक हूँ, धन्यवाद!"]

OTHER_FIXED = ["Привет, мир! Как дела?", "Ελληνικά: αβγδε ΑΒΓΔΕ ς σ Σ", "שלום עולם", "สวัสดีชาวโลก",
               "Ünïcödé Straße ÆØÅ æøå ŒœĲĳ", "İstanbul ıi IĞÜŞÖÇ", "Tiếng Việt có dấu", "ქართული ენა",
               "Հայերեն", "ᚠᛇᚻ᛫ᛒᛦᚦ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐛𝐨𝐥𝐝 𝟙𝟚𝟛", "ΣΊΣΥΦΟΣ ὁ Σίσυφος", "Ⅻ ⅻ ① ⑳ ㊿"]


def other_script_sample(rng):
    ranges = [(0x0410, 0x044F), (0x0391, 0x03C9), (0x05D0, 0x05EA), (0x0E01, 0x0E30), (0x10D0, 0x10F0),
              (0x0531, 0x0556), (0x1200, 0x1248), (0x0B85, 0x0BB9)]
    lo, hi = rng.choice(ranges)
    return " ".join(rand_chars(rng, lo, hi, rng.randint(1, 9)) for _ in range(rng.randint(1, 8)))


# ---------------------------------------------------------------- emoji

SKIN = ["\U0001F3FB", "\U0001F3FC", "\U0001F3FD", "\U0001F3FE", "\U0001F3FF"]
ZWJ = "\u200D"
EMOJI_FIXED = [
    "👨\u200d👩\u200d👧\u200d👦", "👩🏽\u200d💻", "🏳️\u200d🌈", "🏴\u200d☠️", "❤️\u200d🔥", "🧑🏿\u200d🤝\u200d🧑🏻",
    "🇺🇸🇫🇷🇯🇵🇩🇪", "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", "1️⃣ #️⃣ *️⃣", "☺︎ ☺️",
    "👍🏻👍🏼👍🏽👍🏾👍🏿", "🙂🙃😉😊", "I ❤️ NY 🗽!!!", "emoji🤖inside🚀words", "🇦", "\U0001F9D1\u200D",
]
EMOJI_BASE = [chr(c) for c in list(range(0x1F600, 0x1F64F)) + list(range(0x1F680, 0x1F6C5)) +
              list(range(0x1F300, 0x1F320)) + list(range(0x2600, 0x2615))]


def emoji_sample(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.randrange(5)
        if kind == 0:
            parts.append(rng.choice(EMOJI_BASE))
        elif kind == 1:
            parts.append(rng.choice(["👋", "👍", "🧑", "👩", "👨", "🙏", "✋"]) + rng.choice(SKIN))
        elif kind == 2:
            parts.append(ZWJ.join(rng.choice(["👩", "👨", "👧", "👦", "🧑", "💻", "🔬", "🚒"]) for _ in range(3)))
        elif kind == 3:
            parts.append(chr(0x1F1E6 + rng.randrange(26)) + chr(0x1F1E6 + rng.randrange(26)))  # flag pair
        else:
            parts.append(rng.choice(["hello", "ok", "lol", "2x", "Done", "!", ""]))
    return rng.choice(["", " "]).join(parts)


# ---------------------------------------------------------------- combining marks and normalisation

COMBINING = [chr(c) for c in range(0x0300, 0x036F)]
COMBINING_FIXED = [
    "cafe\u0301 vs café", "e\u0301\u0301\u0301", "A\u030A Å Å", "n\u0303o vs ño", "ﬁ ﬂ ﬀ ﬃ ligatures", "ｆｕｌｌ ｗｉｄｔｈ",
    "① ㎏ ™ ½ ² ℃ ℵ", "\u1100\u1161\u11A8 vs 각", "Ǆ ǅ ǆ", "ẛ̣", "ﷺ", "x\u20D7 vector", "ⓐⓑⓒ", "Å Ω K",
    "résumé naïve coöperate Zoë façade", "RÉSUMÉ NAÏVE", "\u0301leading combining", "\u05D1\u05BC\u05B8",
]


def combining_sample(rng):
    base = "".join(rng.choice("aeiouAEIOUnNcCsSzZ") for _ in range(rng.randint(1, 8)))
    out = []
    for ch in base:
        out.append(ch)
        depth = rng.choice([0, 1, 1, 2, 3, 8, 20]) if rng.random() < 0.7 else 0  # up to Zalgo-like stacks
        out.extend(rng.choice(COMBINING) for _ in range(depth))
    return "".join(out) + rng.choice(["", " text", " ñ", " Ä"])


# ---------------------------------------------------------------- whitespace, controls, numbers, punctuation

WS = [" ", "  ", "    ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\u00A0", "\u3000", "\u2002", "\u2003", "\u2009",
      "\u200B", "\u202F", "\u2028", "\u2029", "\u000B", "\u000C", "\u0085", "\u1680", "\u205F", "\uFEFF"]
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Hello", "WORLD", "token", "izer", "a", "I"]


def whitespace_sample(rng):
    parts = [rng.choice(WS) if rng.random() < 0.5 else ""]
    for _ in range(rng.randint(1, 6)):
        parts.append(rng.choice(WORDS))
        parts.append("".join(rng.choice(WS) for _ in range(rng.randint(1, 4))))
    return "".join(parts)


WS_FIXED = [" ", "  ", "\t", "\n", "\n\n\n", "   leading", "trailing   ", "  both  ", "a\u00A0b", "a\u3000b",
            "line1\nline2\r\nline3\rline4", "   \n   \n", "\t\tindented\n\t\t\tmore", "a" + " " * 64 + "b",
            " \u00A0 \u3000 \t \n", "word\u200Bword", "\u3000\u3000全角スペース"]


def control_sample(rng):
    ctrl = [chr(c) for c in list(range(0x00, 0x09)) + [0x0E, 0x0F, 0x10, 0x1B, 0x1F, 0x7F] + list(range(0x80, 0xA0))]
    specials = ["\u200E", "\u200F", "\u202A", "\u202E", "\u2066", "\u2069", "\u00AD", "\uFFFD", "\uE000", "\uF8FF",
                "\U000F0000", "\U0010FFFD", "\uFFFE", "\uFFFF", "\u034F", "\u061C", "\u2060", "\uFFF9"]
    parts = []
    for _ in range(rng.randint(1, 6)):
        parts.append(rng.choice(WORDS) if rng.random() < 0.6 else "")
        parts.append(rng.choice(ctrl) if rng.random() < 0.6 else rng.choice(specials))
    return "".join(parts)


def number_sample(rng):
    kind = rng.randrange(12)
    if kind == 0:
        return str(rng.randint(0, 10 ** rng.randint(1, 40)))
    if kind == 1:
        return f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 9)}f}"
    if kind == 2:
        return f"{rng.randint(1, 10**12):,}"
    if kind == 3:
        return f"+1 ({rng.randint(100, 999)}) {rng.randint(100, 999)}-{rng.randint(1000, 9999)}"
    if kind == 4:
        y, m, d, h = rng.randint(1900, 2100), rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23)
        return f"{y}-{m:02d}-{d:02d}T{h:02d}:00Z"
    if kind == 5:
        return f"0x{rng.getrandbits(64):016X} 0b{rng.getrandbits(12):b} 0o{rng.getrandbits(9):o}"
    if kind == 6:
        return f"{rng.uniform(0, 10):.3e} {rng.uniform(-1, 1):.2E}"
    if kind == 7:
        return "".join(chr(0xFF10 + int(d)) for d in str(rng.randint(0, 10**8)))  # fullwidth digits
    if kind == 8:
        return f"v{rng.randint(0, 9)}.{rng.randint(0, 99)}.{rng.randint(0, 999)}-rc{rng.randint(1, 9)}"
    if kind == 9:
        return f"{rng.randint(1, 999)}km {rng.randint(1, 99)}% ${rng.randint(1, 9999)}.99 €{rng.randint(1, 99)} 3x4"
    if kind == 10:
        return "abc" + str(rng.randint(0, 10**9)) + "def" + str(rng.randint(0, 99)) + "_" + str(rng.randint(0, 9))
    return " ".join(str(rng.randint(0, 10**rng.randint(1, 6))) for _ in range(rng.randint(2, 10)))


PUNCT_FIXED = ["Hello, world!", "Wait... what?!",
               "It's John's, isn't it? They're here; we've done; I'd go; you'll see.",
               "IT'S JOHN'S, ISN'T IT? THEY'RE HERE", "“Smart quotes” and ‘single’ — dashes – here", "«Guillemets» ‹›",
               "!!!???...,,,;;;:::", "(a[b{c}d]e)", "@#$%^&*_+=|\\/<>~`", "\"quoted\" 'single'", "don’t can’t",
               "--flag=value -x", "a.b.c,d;e:f", "¿Qué? ¡Sí!", "§1 ¶2 †3 ‡4 •5 …", "....................",
               "'s 't 're 've 'm 'll 'd", "x's y'S z'Re"]


def punct_sample(rng):
    p = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»–—‘’“”…·"
    out = []
    for _ in range(rng.randint(1, 8)):
        out.append(rng.choice(WORDS) if rng.random() < 0.5 else "")
        out.append("".join(rng.choice(p) for _ in range(rng.randint(1, 5))))
        out.append(rng.choice(["", " "]))
    return "".join(out)


def url_sample(rng):
    host = rng.choice(["example.com", "huggingface.co", "sub.domain.co.uk", "localhost:8080", "[::1]", "xn--n3h.com",
                       "例え.jp", "192.168.0.1"])
    path = "/".join(rng.choice(IDENTS) for _ in range(rng.randint(0, 4)))
    query = "&".join(f"{rng.choice(IDENTS)}={rng.randint(0, 999)}" for _ in range(rng.randint(0, 3)))
    url = f"{rng.choice(['https', 'http', 'ftp', 'file'])}://{host}/{path}" + (f"?{query}" if query else "")
    if rng.random() < 0.3:
        url += "#section-" + str(rng.randint(1, 9))
    kind = rng.randrange(4)
    if kind == 0:
        return url
    if kind == 1:
        return f"See {url} for details."
    if kind == 2:
        return f"{rng.choice(IDENTS)}.{rng.choice(WORDS)}@{host.split(':')[0]}"
    return f"[link]({url}) <{url}>"


def long_word_sample(rng, i):
    n = rng.choice([100, 200, 300, 500, 1000])
    kind = i % 7
    if kind == 0:
        return rng.choice("abcxyz") * n
    if kind == 1:
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(n))
    if kind == 2:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        return "".join(rng.choice(alphabet) for _ in range(n)) + "=="
    if kind == 3:
        return rand_chars(rng, 0x4E00, 0x9FFF, n // 4)
    if kind == 4:
        return "Pneumonoultramicroscopicsilicovolcanoconiosis" * (n // 200 + 1)
    if kind == 5:
        return " " * n + "x"
    return "😀" * (n // 10)


SPECIAL_FIXED = [
    "<|endoftext|>", "Hello<|endoftext|>World", "a <|endoftext|> b", "<|im_start|>user\nHi there!<|im_end|>\n",
    "<|im_start|>assistant\n<think>\n\n</think>\n\nSure.<|im_end|>", "[CLS] hello [SEP] world [SEP]", "[MASK]",
    "The [MASK] sat on the mat.", "[UNK][PAD][CLS][SEP]", "<s>", "</s>", "<unk>", "<s> [INST] hi [/INST]", "<s><s></s>",
    "abc<s>def</s>ghi", "<|endof", "endoftext|>", "<|endoftext|><|endoftext|>", "<mask>", "a<mask>b", "a <mask> b",
    "  <mask>  ", "[word] in [word]s and x[word]", "<bos>text<eos>", "<sep>", "<pad><pad>",
    "<tool_call>\n{}\n</tool_call>",
    "<|vision_start|><|image_pad|><|vision_end|>", "<|fim_prefix|>def<|fim_suffix|>ret<|fim_middle|>",
    "[cls] lower-case specials [sep]", "<S> </S> <UNK>",
]

# The added tokens of trained/bpe_bytelevel (lstrip <mask>, rstrip <rstrip>, single_word [word], normalized
# "café au lait" matched after NFC). Appended last so the ids of earlier samples stay put.
ADDED_TOKENS_FIXED = [
    "café au lait", "cafe\u0301 au lait", "Un café au lait, s'il vous plaît.", "CAFÉ AU LAIT", "cafés au laits",
    "x <rstrip>   y", "<rstrip>\n\nz", "<rstrip><rstrip> ", "a  <mask>", " <mask> <mask>", "\t<mask>\n",
    "[word]", "([word])", "a[word] [word]b [word]", "[word][word]", " [word] ",
]

INVALID_BYTES = [
    b"\x80", b"\xff", b"\xfe\xff", b"abc\x80def", b"\xc3", b"caf\xc3", b"\xc3\x28", b"\xe2\x82", b"\xe2\x82 euro",
    b"\xf0\x9f\x98", b"\xf0\x9f\x98 smile", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xf0\x80\x80\x80",
    b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80", b"\xf8\x88\x80\x80\x80",
    b"\xa0\xa1", b"\xbf\xbf\xbf\xbf", b"ok\xe6\x97\xa5\xe6\x9c", b"\xe6\x97\xa5\xe6\x9c\xac\x80", b"Hello \xff World",
    b"\xce\xbb\xce", b"\x00\xff\x00", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xf0\x90\x28\xbc",
]


def invalid_utf8(rng, n):
    out = []
    for i in range(n):
        if i < len(INVALID_BYTES):
            raw = INVALID_BYTES[i]
        else:  # valid text with random bytes spliced in
            base = rng.choice(WORDS + ["日本語", "émoji 😀", "مرحبا", "नमस्ते"]).encode("utf-8")
            pos = rng.randint(0, len(base))
            raw = base[:pos] + bytes(rng.randint(0x80, 0xFF) for _ in range(rng.randint(1, 3))) + base[pos:]
        try:
            raw.decode("utf-8")
            continue  # splicing happened to give valid UTF-8
        except UnicodeDecodeError:
            out.append(raw)
    return out


def mixed_sample(rng, kjv):
    makers = [lambda: " ".join(rng.choice(kjv).split()[:rng.randint(1, 10)]), lambda: code_sample(rng),
              cjk_sample, arabic_sample, hindi_sample,
              emoji_sample, combining_sample, whitespace_sample, number_sample, punct_sample, url_sample,
              lambda: rng.choice(SPECIAL_FIXED)]
    pieces = []
    for _ in range(rng.randint(2, 4)):
        m = rng.choice(makers)
        pieces.append(m() if m.__code__.co_argcount == 0 else m(rng))
    return rng.choice([" ", "", "\n", " | "]).join(pieces)


def build(kjv):
    rng = random.Random(SEED)
    samples = []

    def add(kind, texts):
        samples.extend((kind, t) for t in texts)

    add("empty", ["", " ", "a", "A", ".", "\n", "0", "é", "日", "😀"])
    add("english", english(rng, kjv, 520))
    add("code", [code_sample(rng) for _ in range(230)])
    add("cjk", CJK_FIXED + [cjk_sample(rng) for _ in range(150)])
    add("arabic", ARABIC_FIXED + [arabic_sample(rng) for _ in range(100)])
    add("hindi", HINDI_FIXED + [hindi_sample(rng) for _ in range(100)])
    add("other_scripts", OTHER_FIXED + [other_script_sample(rng) for _ in range(60)])
    add("emoji", EMOJI_FIXED + [emoji_sample(rng) for _ in range(130)])
    add("combining", COMBINING_FIXED + [combining_sample(rng) for _ in range(90)])
    add("whitespace", WS_FIXED + [whitespace_sample(rng) for _ in range(100)])
    add("control", [control_sample(rng) for _ in range(80)])
    add("numbers", [number_sample(rng) for _ in range(120)])
    add("punctuation", PUNCT_FIXED + [punct_sample(rng) for _ in range(70)])
    add("url", [url_sample(rng) for _ in range(80)])
    add("long_word", [long_word_sample(rng, i) for i in range(21)])
    add("special_tokens", SPECIAL_FIXED)
    add("mixed", [mixed_sample(rng, kjv) for _ in range(200)])
    records = [{"kind": k, "text": t} for k, t in samples]
    for raw in invalid_utf8(rng, 70):
        records.append({"kind": "invalid_utf8", "text": raw.decode("utf-8", errors="replace"), "bytes_hex": raw.hex()})
    records += [{"kind": "added_tokens", "text": t} for t in ADDED_TOKENS_FIXED]
    for i, r in enumerate(records):
        r["id"] = i
    return records


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kjv", type=Path, default=DEFAULT_KJV)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    records = build(load_kjv(args.kjv))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for r in records:
            f.write(json.dumps({"id": r["id"], "kind": r["kind"], **{k: r[k] for k in ("text", "bytes_hex") if k in r}},
                               ensure_ascii=False) + "\n")
    kinds = {}
    for r in records:
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    print(f"{args.out}: {len(records)} samples, {args.out.stat().st_size} bytes; {kinds}")


if __name__ == "__main__":
    main()
