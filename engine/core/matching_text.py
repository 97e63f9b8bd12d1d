"""How payers write what matching looks for, and how both sides are made comparable. Pure.

- `normalise`: references and invoice numbers in upper case, without separators, with the
  letters OCR confuses with digits mapped to them (O→0, I/L→1, S→5, B→8);
- `text_keys`: a remittance text cut into tokens whose adjacent runs are joined, so that
  "RE 2026 OOOO7" gives the key of RE-2026-00007; `shape`: a key's form (digits as 9);
- `name_tokens`, `name_score`, `blocks`: company names as banks print them (transliterated,
  no legal form, cut short) scored against a customer's name, and the blocking keys that
  bound how many names one fuzzy lookup scores;
- `cents`, `compact_iban`: amounts and IBANs as index keys.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from rapidfuzz import fuzz

from engine.core.money import round_money

MAX_WINDOW = 7  # adjacent text tokens joined into one key ("RF18 RE20 2600 007")
MAX_KEY = 40
MIN_KEY = 4

_SLIPS = str.maketrans({"O": "0", "I": "1", "L": "1", "S": "5", "B": "8"})
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_NINES = str.maketrans("0123456789", "9999999999")
UMLAUTS = str.maketrans({"Ä": "AE", "Ö": "OE", "Ü": "UE", "ß": "SS", "ẞ": "SS"})
LEGAL_FORMS = frozenset({
    "GMBH", "MBH", "AG", "KG", "CO", "UG", "OHG", "GBR", "EK", "EKFR", "EKFM", "EG", "SE",
    "KGAA", "HAFTUNGSBESCHRAENKT", "UND", "U", "DIE", "DER", "DAS", "FA", "FIRMA", "INH",
    "INHABER", "LTD", "INC", "LLC", "SARL", "SA", "BV", "NV", "AB", "SRL", "SPA", "PLC",
})


_FORM_LETTERS = frozenset("".join(sorted(f)) for f in LEGAL_FORMS if len(f) >= 4)


def normalise(text: str) -> str:
    """Upper case, letters that OCR confuses with digits mapped to them, no separators."""
    return _NOT_ALNUM.sub("", text.upper()).translate(_SLIPS)


def cents(amount: Decimal) -> int:
    """An amount as whole cents (amounts in the index are ints: cheap keys, exact sums)."""
    return int(round_money(amount) * 100)


def text_keys(text: str) -> list[str]:
    """Every run of up to MAX_WINDOW adjacent tokens of the text, joined and normalised."""
    tokens = [t.upper().translate(_SLIPS) for t in _TOKEN.findall(text)]
    keys: list[str] = []
    for start in range(len(tokens)):
        key = ""
        for token in tokens[start:start + MAX_WINDOW]:
            key += token
            if len(key) > MAX_KEY:
                break
            if len(key) >= MIN_KEY:
                keys.append(key)
    return keys


def shape(key: str) -> str:
    """The form of a key: its letters kept, every digit a 9 ("RE202600007" → "RE999999999")."""
    return key.translate(_NINES)


def name_tokens(name: str) -> list[str]:
    """A company name as the bank may print it: transliterated, upper case, no legal form
    (also none the bank cut short or a typist garbled: "GMB", "MGBH", "HAFTUNGSBESCHR")."""
    plain = unicodedata.normalize("NFKD", name.upper().translate(UMLAUTS))
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    tokens = _NOT_ALNUM.sub(" ", plain).split()
    if len(tokens) > 2 and len(tokens[-1]) >= 2 and any(
            form.startswith(tokens[-1]) for form in LEGAL_FORMS if len(form) > 3):
        tokens.pop()
    return [t for t in tokens if t not in LEGAL_FORMS and not t.startswith("HAFTUNG")
            and "".join(sorted(t)) not in _FORM_LETTERS]


def name_score(query: str, name: str, cut: bool = False) -> float:
    """0..100, half on the whole name (token order ignored; when the bank `cut` the name
    short, on what is left) and half on the name's first word being in the query, so a
    different owner of the same trade and town scores low."""
    whole = max(fuzz.token_sort_ratio(query, name), fuzz.ratio(query, name))
    if cut:  # what is left but the last word (a fragment) against the name's start
        kept = query.rsplit(" ", 1)[0]
        whole = max(whole, fuzz.ratio(kept, name[:len(kept)]))
    head = name.split(" ", 1)[0]
    first = max((fuzz.ratio(t, head) for t in query.split()[:3]), default=0.0)
    return (whole + first) / 2


def blocks(tokens: list[str]) -> list[str]:
    """Blocking keys: the first four letters of each of the first two tokens, and the pair."""
    heads = [t[:4] for t in tokens[:2] if len(t) >= 2]
    keys = list(dict.fromkeys(heads))
    if len(heads) == 2:
        keys.append("|".join(sorted(heads)))
    return keys


def compact_iban(iban: str) -> str:
    """An IBAN as a key: no spaces, upper case."""
    return iban.replace(" ", "").upper()
