"""Money is Decimal: parsing amounts written in German or English, and EN 16931 rounding."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    """Round half up to cents, as EN 16931 does for line and document totals."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


_AMOUNT = re.compile(r"^[+-]?\d{1,3}([.,' ]?\d{3})*([.,]\d+)?$|^[+-]?\d+([.,]\d+)?$")


def parse_amount(text: str) -> Decimal | None:
    """Read '1.234,50', '1,234.50', '1234.5', '-12,00 €' or 'EUR 99.00'; None if it is not one.

    The last separator followed by one, two or more than three digits is the decimal
    mark; a separator followed by exactly three digits is read as a thousands mark
    when another separator stands before it or the other mark appears elsewhere.
    """
    s = text.strip().replace("\u00a0", " ")
    s = re.sub(r"(?i)(eur|€|usd|\$|chf|gbp|£)", "", s).strip()
    negative = s.endswith("-") or s.startswith("-") or (s.startswith("(") and s.endswith(")"))
    s = s.strip("()+- ")
    if not s or not _AMOUNT.match(s):
        return None
    last_dot, last_comma = s.rfind("."), s.rfind(",")
    decimal_mark = ""
    if last_dot >= 0 and last_comma >= 0:
        decimal_mark = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        digits_after = len(s) - max(last_dot, last_comma) - 1
        # one mark before three digits is a thousands mark, unless a group can't start with 0
        if s.count(mark) == 1 and (digits_after != 3 or s.startswith("0")):
            decimal_mark = mark
    whole, _, frac = s.rpartition(decimal_mark) if decimal_mark else (s, "", "")
    whole = re.sub(r"[.,' ]", "", whole)
    try:
        value = Decimal(f"{whole}.{frac}" if frac else whole)
    except InvalidOperation:
        return None
    return -value if negative else value


def format_amount(value: Decimal, lang: str = "de") -> str:
    """1234.5 → '1.234,50' (de) or '1,234.50' (en)."""
    text = f"{round_money(value):,.2f}"
    if lang == "de":
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")
    return text
