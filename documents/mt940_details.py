"""The text of an MT940 entry: the :86: field (and the :NS: subfields some German exports
carry) turned into counterparty name, IBAN, reference, remittance text and end-to-end id.

Three forms of :86: are read (`details`): the German structured ``GVC?00…?20…?32…`` (also
with another separator such as ``>``) with its SEPA keys (EREF, KREF, MREF, SVWZ, ABWA …)
in ?20–?29 and ?60–?63, even when a key is split over two subfields; the SWIFT
``/CODE/value`` form (NAME, REMI, EREF, IBAN, CNTP …); and free text. The non-SWIFT :NS:
subfields (01–14 purpose, 15–16 name) stand in when there is no :86:. `find_rf` and
`find_iban` pick a valid RF creditor reference or IBAN out of such text.
"""

from __future__ import annotations

import re

from engine.core.checks import rf_valid

_IBAN = re.compile(r"(?a)[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_SEPA_KEY = re.compile(
    r"(?<![A-Za-z0-9])(EREF|KREF|MREF|CRED|DEBT|COAM|OAMT|SVWZ|ABWA|ABWE|IBAN|BIC)\+"
)
_SLASH_KEY = re.compile(
    r"/(EREF|NAME|REMI|IBAN|BIC|CNTP|ORDP|BENM|TRTP|CSID|MARF|PURP|ULTC|ULTD|ISDT|RTRN|ADDR"
    r"|PREF|IREF|KREF|SVCL|BUSP|FX|CHGS|OCMT|EXCH|ACCW|RTYP)/"
)
_RF = re.compile(r"(?a)(?<![A-Z0-9])RF\d{2}[A-Z0-9 ]{1,30}")


def _clean(text: str) -> str:
    return " ".join(text.split())


def find_rf(*texts: str) -> str:
    """The first valid ISO 11649 RF reference in the texts (spaces inside allowed), or ''."""
    for text in texts:
        for match in _RF.finditer(text.upper()):
            candidate = match.group().rstrip()
            for end in range(len(candidate), 4, -1):
                compact = candidate[:end].replace(" ", "")
                if candidate[end - 1] != " " and len(compact) <= 25 and rf_valid(compact):
                    return compact
    return ""


def find_iban(*texts: str) -> str:
    for text in texts:
        compact = re.sub(r"\s", "", text).upper()
        if _IBAN.fullmatch(compact):
            return compact
    return ""


def details(parts: list[list[str]], non_swift: list[str], extra: str) -> dict[str, str]:
    """Counterparty, references and remittance text from an entry's :86: (or :NS:) lines."""
    first = "".join(parts[0]) if parts else ""
    structured = re.match(r"(?a)\s*\d{3}(?:([?>])\d{2}|\s*$)", first)
    if structured:
        return _german("".join("".join(p) for p in parts), structured.group(1) or "?")
    text = " ".join(_unwrap(p) for p in parts)
    if text.lstrip().startswith("/") and re.search(r"/(NAME|REMI|EREF|CNTP|IBAN)/", text):
        return _slash("".join("".join(p) for p in parts), extra)
    if not parts and non_swift:
        return _non_swift(non_swift)
    text = _clean(text) or extra
    return _info("", find_iban(text.split(" ", 1)[0], extra), find_rf(text), text, "")


def _info(name: str, iban: str, reference: str, remittance: str, e2e: str) -> dict[str, str]:
    return {
        "counterparty_name": name,
        "counterparty_iban": iban,
        "reference": reference,
        "remittance_info": remittance,
        "end_to_end_id": e2e,
    }


def _unwrap(lines: list[str]) -> str:
    """Free text: a line filled to 65 characters goes on without a space, others with one."""
    out, previous = "", ""
    for line in lines:
        out += ("" if not out or len(previous) >= 65 else " ") + line
        previous = line
    return out


def _join(pieces: list[str], continuous: bool) -> str:
    """Subfields: glued when the text runs on (SEPA, or a full 27 characters), else a space."""
    out, previous = "", ""
    for piece in pieces:
        glue = continuous or len(previous) >= 27
        out += "" if not out or (glue and not _SEPA_KEY.match(piece.lstrip())) else " "
        out, previous = out + piece, piece
    return out


def _sepa(text: str) -> tuple[str, dict[str, str]]:
    """Text before the first SEPA key and the keys' values (the first of a key wins)."""
    matches = list(_SEPA_KEY.finditer(text))
    keys: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else None
        keys.setdefault(match.group(1), text[match.end() : end])
    return text[: matches[0].start()] if matches else text, keys


def _german(text: str, separator: str) -> dict[str, str]:
    pieces = re.split(rf"(?a){re.escape(separator)}(\d{{2}})", text)
    fields = list(zip(pieces[1::2], pieces[2::2], strict=True))
    codes = {code for code, _ in fields}
    purpose = [v for c, v in fields if "20" <= c <= "29"]
    more = [v for c, v in fields if "60" <= c <= "63"]
    sepa = _SEPA_KEY.search("".join(purpose + more)) is not None
    if "29" in codes:  # ?60–?63 carry on where ?29 stopped
        purpose, more = purpose + more, []
    body = _join(purpose, sepa)
    _, keys = _sepa(body)
    rest, more_keys = _sepa(_join(more, sepa))
    for key, value in more_keys.items():
        keys.setdefault(key, value)
    eref = _clean(keys.get("EREF", ""))
    eref = "" if eref.upper() == "NOTPROVIDED" else eref
    remittance = keys["SVWZ"] if "SVWZ" in keys else _SEPA_KEY.sub(" ", body)
    remittance = _clean(f"{remittance} {rest}")
    name = _join([v for c, v in fields if c in ("32", "33")], False)
    accounts = [v for c, v in fields if c in ("31", "38")]
    iban = find_iban(*accounts, keys.get("IBAN", ""))
    return _info(_clean(name), iban, find_rf(eref, remittance, body), remittance, eref)


def _slash(text: str, extra: str) -> dict[str, str]:
    """The SWIFT structured form /EREF/…/NAME/…/REMI/… (Dutch and many other banks)."""
    pieces = _SLASH_KEY.split(text)
    keys: dict[str, str] = {}
    for key, value in zip(pieces[1::2], pieces[2::2], strict=True):
        keys.setdefault(key, value.strip().strip("/").strip())
    counterparty = (keys.get("CNTP") or keys.get("BENM") or keys.get("ORDP") or "").split("/")
    remittance = re.sub(r"^(USTD|STRD)/+(CUR/+)?", "", keys.get("REMI", ""))
    eref = "" if keys.get("EREF", "").upper() == "NOTPROVIDED" else keys.get("EREF", "")
    name = keys.get("NAME") or (counterparty[2] if len(counterparty) > 2 else "")
    iban = find_iban(keys.get("IBAN", ""), counterparty[0], extra)
    remittance = _clean(remittance.strip("/"))
    return _info(_clean(name), iban, find_rf(remittance, eref), remittance, _clean(eref))


def _non_swift(lines: list[str]) -> dict[str, str]:
    """:NS: lines 'NNtext': 01–14 purpose, 15–16 counterparty name."""
    coded = [(line[:2], line[2:]) for line in lines if re.match(r"(?a)\d{2}", line)]
    purpose = _clean(" ".join(v for c, v in coded if "01" <= c <= "14"))
    name = _clean(_join([v for c, v in coded if c in ("15", "16")], False))
    return _info(name, "", find_rf(purpose), purpose, "")
