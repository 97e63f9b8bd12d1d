"""The label vocabulary: the words people print beside a value on purchase orders,
remittance advices and invoices, in German and English (and the French and Dutch a
European supplier sends).

Each role lists `(pattern, weight)`: regular expressions matched case-insensitively on a
printed row, at word boundaries, where a capital may stand apart from the rest of its
word ("F actuurnummer", as PDF kerning splits it). The weight says how specific the label
is: "Rechnungsnummer" names the number surely, "Nr." only maybe. The longest label wins
where two overlap ("Total HT" is the net amount, not "Total").

Roles are not yet field names: which number is the document's own depends on its kind
(`NUMBER_ROLES`), and so does which date is its issue date (`DATE_ROLES`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_NO = r"(?:nr|no|n°|nº|num(?:ber|mer|éro|ero)?|#)\.?"  # "Nr.", "No.", "n°", "#"

LABELS: Mapping[str, tuple[tuple[str, float], ...]] = {
    "invoice_number": (
        (r"rechnungs[- ]?(?:nummer|nr\.?|no\.?)", 1.0), (r"rechnung\s*" + _NO, 1.0),
        (r"invoice\s*(?:number|no\.?|nr\.?|#|num\.?|id)", 1.0), (r"inv\.?\s*(?:no\.?|#)", 0.9),
        (r"facture\s*" + _NO, 1.0), (r"num[ée]ro\s+de\s+facture", 1.0),
        (r"n[°º]\s*de\s+facture", 1.0), (r"factuur\s*(?:nummer|nr\.?)", 1.0),
        (r"faktura\s*(?:nr|numer)\.?", 1.0), (r"fattura\s*n\.?", 1.0),
        (r"factura\s*(?:n[°º.]|nº|número)", 1.0),
        (r"beleg[- ]?(?:nummer|nr\.?)", 0.8), (r"dokument(?:en)?[- ]?(?:nummer|nr\.?)", 0.7),
        (r"document\s*(?:number|no\.?)", 0.7), (r"bill\s*(?:number|no\.?)", 0.8),
        (r"receipt\s*(?:number|no\.?|#)", 0.8), (r"quittung\s*" + _NO, 0.8),
        (r"gutschrift(?:s[- ]?(?:nummer|nr\.?)|\s*" + _NO + ")", 0.9),
        (r"credit\s+note\s*(?:number|no\.?|#)", 0.9),
        (r"rechnung|invoice|facture|factuur|faktura|fattura|factura", 0.45),
    ),
    "order_number": (
        (r"bestell(?:ungs)?[- ]?(?:nummer|nr\.?|no\.?)", 1.0), (r"bestellung\s*" + _NO, 1.0),
        (r"(?:ihre\s+)?bestellung", 0.6), (r"auftrags?[- ]?(?:nummer|nr\.?)", 0.9),
        (r"p\.?\s?o\.?\s*(?:number|no\.?|nr\.?|#)", 1.0), (r"purchase\s+order\s*" + _NO, 1.0),
        (r"purchase\s+order", 0.6), (r"order\s*" + _NO, 0.9), (r"order\s+id", 0.9),
        (r"your\s+order", 0.6), (r"commande\s*" + _NO, 0.9), (r"bon\s+de\s+commande", 0.7),
        (r"order\s*nummer", 0.9), (r"bestelnummer", 0.9),
    ),
    "advice_number": (
        (r"(?:zahlungs)?avis[- ]?(?:nummer|nr\.?)", 1.0), (r"zahlungsavis\s*" + _NO, 1.0),
        (r"(?:remittance|payment)\s+advice\s*" + _NO, 1.0),
        (r"(?:remittance|payment)\s*(?:number|no\.?)", 0.9), (r"zahlungs[- ]?(?:nummer|nr\.?)", 0.9),
    ),
    "doc_number": (
        (r"nummer", 0.5), (r"(?<![\w.])nr\.", 0.5), (r"number", 0.5), (r"(?<![\w.])no\.", 0.5),
        (r"(?<!\w)#", 0.5), (r"booking\s+id", 0.5), (r"reference\s+no\.?", 0.5),
        (r"transaction\s+id", 0.4),
    ),
    # numbers that are never the document's own: they mask "No." and "Nr." inside them
    "other_number": (
        (r"art(?:ikel)?\.?[- ]?(?:nr|no)\.?", 1.0), (r"artikelnummer", 1.0),
        (r"(?:part|item|article|material)\s*(?:no\.?|number|#)", 1.0), (r"sku", 1.0),
        (r"material[- ]?(?:nummer|nr\.?)", 1.0), (r"(?:kto|konto)[.-]?\s?(?:nr\.?|nummer)", 1.0),
        (r"tel(?:efon)?[.-]?\s?(?:nr\.?|no\.?)", 1.0), (r"fax[.-]?\s?(?:nr\.?|no\.?)?", 1.0),
        (r"hrb(?:[.-]?\s?nr\.?)?", 1.0), (r"(?:page|seite)\s*(?:no\.?|nr\.?)?", 1.0),
        (r"pos(?:ition)?\.?[- ]?(?:nr|no)\.?", 1.0), (r"serien?[- ]?(?:nummer|nr\.?)", 1.0),
        (r"serial\s*(?:no\.?|number)", 1.0), (r"phone\s*(?:no\.?|number)", 1.0),
        (r"registr(?:ation|ierungs)[- ]?(?:no\.?|number|nummer|nr\.?)", 1.0),
    ),
    "invoice_date": (
        (r"rechnungs[- ]?datum", 1.0), (r"invoice\s+date", 1.0), (r"date\s+of\s+invoice", 1.0),
        (r"date\s+de\s+(?:la\s+)?facture", 1.0), (r"date\s+de\s+facturation", 1.0),
        (r"factuur\s*datum", 1.0), (r"data\s+wystawienia", 1.0),
        (r"billing\s+date", 0.9), (r"date\s+of\s+issue", 0.9), (r"issue\s+date", 0.9),
        (r"ausstellungsdatum", 0.9), (r"gutschriftsdatum", 0.9),
    ),
    "order_date": (
        (r"bestell(?:ungs)?datum", 1.0), (r"auftragsdatum", 1.0), (r"order\s+date", 1.0),
        (r"po\s+date", 1.0), (r"date\s+(?:de\s+(?:la\s+)?)?commande", 0.9), (r"order\s*datum", 1.0),
        (r"date\s+ordered", 0.9),
    ),
    "doc_date": (
        (r"datum", 0.7), (r"date", 0.7), (r"dated", 0.6), (r"data", 0.6), (r"fecha", 0.6),
        (r"belegdatum", 0.9), (r"dokumentdatum", 0.9), (r"(?:advice|document)\s+date", 0.9),
    ),
    "payment_date": (
        (r"zahlungs(?:datum|eingang)", 1.0), (r"ausführungs(?:datum|tag)", 1.0),
        (r"überweisungsdatum", 1.0), (r"payment\s+date", 1.0), (r"value\s+date", 1.0),
        (r"wertstellung", 0.9), (r"valuta", 0.9), (r"date\s+of\s+payment", 1.0),
        (r"paid\s+on", 0.8), (r"date\s+de\s+paiement", 1.0),
    ),
    "due_date": (
        (r"fällig(?:keits(?:datum|termin))?(?:\s+(?:am|bis))?", 1.0), (r"zahlbar\s+bis", 1.0),
        (r"zahlungsziel", 0.9), (r"due\s+date", 1.0), (r"payment\s+due(?:\s+date)?", 1.0),
        (r"due\s+(?:on|by)", 0.9), (r"pay(?:able)?\s+by", 0.8),
        (r"date\s+(?:limite|d'échéance)(?:\s+de\s+paiement)?", 1.0), (r"échéance", 0.9),
        (r"vervaldatum", 1.0), (r"uiterste\s+betaaldatum", 1.0), (r"termin\s+płatności", 1.0),
    ),
    "delivery_date": (
        (r"liefer(?:datum|termin|tag)", 1.0), (r"leistungs(?:datum|zeitraum)", 0.9),
        (r"wunsch(?:liefer)?termin", 1.0), (r"(?:requested\s+)?delivery\s+date", 1.0),
        (r"ship(?:ping)?\s+date", 0.9), (r"date\s+of\s+(?:delivery|supply)", 1.0),
        (r"date\s+de\s+livraison", 1.0), (r"lever(?:ings)?datum", 1.0), (r"deliver\s+by", 0.9),
        (r"data\s+sprzedaży", 0.9),
    ),
    "total_net": (
        (r"netto(?:betrag|summe|wert)?", 0.9), (r"summe\s+netto", 1.0), (r"gesamt\s+netto", 1.0),
        (r"zwischensumme", 0.8), (r"warenwert", 0.8), (r"sub[- ]?total", 0.9),
        (r"net\s+(?:total|amount|value)", 1.0), (r"total\s+(?:net|excl\.?(?:uding)?\s+(?:vat|tax))", 1.0),
        (r"amount\s+excl\.?\s*(?:vat|tax)", 1.0), (r"total\s+h\.?t\.?", 1.0),
        (r"montant\s+(?:total\s+)?h\.?t\.?", 1.0), (r"exclusief\s+btw", 1.0),
        (r"subtotaal", 0.9), (r"totaal\s+excl\.?\s*btw", 1.0), (r"razem\s+netto", 1.0),
        (r"untaxed\s+amount", 1.0), (r"grondslag", 0.8), (r"bemessungsgrundlage", 0.9),
        (r"taxable\s+amount", 0.9), (r"base\s+h\.?t\.?", 0.9), (r"montant\s+(?:eur\s+)?h\.?t\.?", 1.0),
    ),
    "total_tax": (
        (r"mwst\.?", 0.9), (r"ust\.?", 0.8), (r"umsatzsteuer", 1.0), (r"mehrwertsteuer", 1.0),
        (r"vat", 0.8), (r"tax", 0.7), (r"sales\s+tax", 0.9), (r"gst", 0.7), (r"total\s+(?:vat|tax)", 1.0),
        (r"tva", 0.8), (r"montant\s+tva", 1.0), (r"btw", 0.8), (r"kwota\s+vat", 0.9),
        (r"(?:btw|mwst|ust|vat|tax|steuer)[- ]?(?:bedrag|betrag|amount)", 1.0),
    ),
    "total_gross": (
        (r"gesamt(?:betrag|summe)", 1.0), (r"brutto(?:betrag|summe)?", 0.9),
        (r"rechnungs(?:betrag|summe)", 1.0), (r"endbetrag", 1.0), (r"summe\s+brutto", 1.0),
        (r"gesamt\s+brutto", 1.0), (r"bestellwert", 0.8), (r"auftragswert", 0.8),
        (r"grand\s+total", 1.0), (r"total\s+amount", 0.9), (r"invoice\s+total", 1.0),
        (r"total\s+(?:incl\.?(?:uding)?\s+(?:vat|tax)|gross)", 1.0), (r"gross\s+(?:total|amount)", 1.0),
        (r"order\s+total", 1.0), (r"total\s+for\s+this\s+invoice", 1.0), (r"total", 0.8),
        (r"summe", 0.6), (r"gesamt", 0.6), (r"total\s+t\.?t\.?c\.?", 1.0),
        (r"montant\s+(?:total\s+)?t\.?t\.?c\.?", 1.0), (r"totaal(?:bedrag)?", 0.9),
        (r"totaal\s+incl\.?\s*btw", 1.0), (r"należność\s+ogółem", 1.0), (r"razem\s+brutto", 1.0),
        (r"total\s+facture", 0.9), (r"überweisungsbetrag", 0.9), (r"total\s+paid", 0.9),
        (r"amount\s+paid", 0.8), (r"gezahlter\s+betrag", 0.9),
    ),
    "amount_due": (
        (r"zahlbetrag", 1.0), (r"zu\s+zahlen(?:der\s+betrag)?", 1.0), (r"offener\s+betrag", 0.9),
        (r"amount\s+due", 1.0), (r"balance\s+due", 1.0), (r"total\s+due", 1.0),
        (r"amount\s+payable", 1.0), (r"somme\s+à\s+payer", 1.0), (r"net\s+à\s+payer", 1.0),
        (r"montant\s+à\s+payer", 1.0), (r"te\s+betalen", 1.0), (r"do\s+zapłaty", 1.0),
        (r"total\s+amount\s+due", 1.0),
    ),
    "vat_id": (
        (r"ust[.\s-]*id[.\s-]*(?:nr|no)?\.?", 1.0), (r"umsatzsteuer[- ]?(?:id(?:ent(?:ifikations)?)?)"
         r"[- ]?(?:nummer|nr\.?)?", 1.0), (r"vat\s*(?:id|no\.?|number|reg(?:istration)?\.?\s*"
         r"(?:no\.?|number))", 1.0), (r"tax\s+id", 0.7), (r"n°\s*(?:de\s+)?tva(?:\s+intra"
         r"(?:communautaire)?)?", 1.0), (r"tva\s+intra(?:communautaire)?", 1.0),
        (r"btw[- ]?(?:nummer|nr\.?|id)?", 0.8), (r"nip", 0.8), (r"uid(?:-?nr\.?)?", 0.8),
        (r"steuer[- ]?nr\.?", 0.3), (r"vat/tin", 0.7), (r"gstin", 0.6),
    ),
    "buyer_vat_id": (
        (r"(?:ihre|kunden)[- ]?ust[.\s-]*id[.\s-]*(?:nr|no)?\.?", 1.0),
        (r"(?:your|customer|buyer)\s+vat\s*(?:id|no\.?|number)", 1.0),
    ),
    "iban": ((r"iban", 1.0),),
    "payment_reference": (
        (r"verwendungszweck", 1.0), (r"zahlungsreferenz", 1.0), (r"payment\s+reference", 1.0),
        (r"remittance\s+(?:reference|information)", 1.0), (r"(?:bitte\s+)?(?:angeben|angabe)"
         r"\s*:", 0.5), (r"communication\s+(?:for|de)\s+(?:your\s+)?(?:payment|paiement)", 0.8),
        (r"payment\s+communication", 0.8), (r"betalingskenmerk", 1.0), (r"referenz", 0.6),
        (r"reference", 0.5), (r"please\s+use\s+the\s+following\s+communication\s+for\s+your"
                               r"\s+payment", 0.9),
    ),
    "customer_number": (
        (r"kunden[- ]?(?:nummer|nr\.?)", 1.0), (r"customer\s*(?:number|no\.?|id|#)", 1.0),
        (r"account\s*(?:number|no\.?)", 0.8), (r"klant(?:nummer|nr\.?)", 1.0),
        (r"(?:n[°º]\s*)?client(?:\s*n[°º])?", 0.5), (r"id\.?\s*client", 0.8),
    ),
    "quote_reference": (
        (r"(?:ihr(?:em)?\s+)?angebot(?:s[- ]?(?:nummer|nr\.?))?(?:\s+vom)?", 1.0),
        (r"(?:your\s+|our\s+)?quot(?:e|ation)(?:\s*(?:number|no\.?|ref\.?|#))?", 1.0),
        (r"rahmen(?:vertrag|auftrag)(?:s[- ]?nr\.?)?", 0.9), (r"contract\s*(?:no\.?|number)", 0.8),
        (r"offerte(?:nummer)?", 0.9), (r"devis\s*" + _NO, 0.9),
    ),
    "seller_name": (
        (r"lieferant", 1.0), (r"supplier", 1.0), (r"vendor", 1.0), (r"verkäufer", 1.0),
        (r"seller", 1.0), (r"sold\s+by", 1.0), (r"auftragnehmer", 0.8), (r"zahlungsempfänger", 0.8),
        (r"payee", 0.8), (r"beneficiary", 0.7), (r"empfänger", 0.5), (r"an\s+die\s+firma", 0.6),
    ),
    "buyer_name": (
        (r"zahler", 1.0), (r"payer", 1.0), (r"auftraggeber", 0.7), (r"besteller", 1.0),
        (r"käufer", 1.0), (r"buyer", 1.0), (r"bill\s+to", 0.7), (r"sold\s+to", 0.7),
        (r"rechnungsempfänger", 0.8), (r"customer(?:\s+name)?", 0.5), (r"kunde", 0.5),
        (r"guest\s+name", 0.5), (r"nabywca", 0.8),
    ),
    "currency": ((r"währung", 1.0), (r"currency", 1.0), (r"devise", 0.9), (r"valuta", 0.4)),
}

# Which role gives a kind's own number, issue date, and (invoices) the order it answers.
NUMBER_ROLES: Mapping[str, tuple[str, ...]] = {
    "invoice": ("invoice_number", "doc_number"),
    "unknown": ("invoice_number", "doc_number"),
    "purchase_order": ("order_number", "doc_number"),
    "remittance_advice": ("advice_number", "doc_number"),
}
DATE_ROLES: Mapping[str, tuple[str, ...]] = {
    "invoice": ("invoice_date", "doc_date"),
    "unknown": ("invoice_date", "doc_date", "order_date"),
    "purchase_order": ("order_date", "doc_date"),
    "remittance_advice": ("doc_date", "payment_date"),  # the advice's date, else the payment's
}

# A document's title names its kind; a number printed right after the title is its own
# ("Rechnung RE-2026-0042", "INVOICE # 123", "Facture n°562044387").
KIND_WORDS: Mapping[str, tuple[str, ...]] = {
    "remittance_advice": ("zahlungsavis", "remittance advice", "payment advice", "avis de paiement",
                          "zahlungsanzeige", "betalingsadvies", "überweisungsavis", "remittance",
                          "avis über zahlung", "zahlungsbenachrichtigung", "payment notification"),
    "purchase_order": ("bestellung", "purchase order", "bestellnummer", "po number", "auftrag",
                       "bon de commande", "bestelling", "order form"),
    "invoice": ("rechnung", "invoice", "facture", "factuur", "faktura", "fattura", "factura",
                "tax invoice", "gutschrift", "credit note", "receipt", "quittung", "bill",
                # what only a bill asks for: a balance or amount to pay by a due date
                "balance due", "amount due", "fällig am", "zahlbar bis", "vervaldatum"),
}
# Words that name a kind only as a title, on a short row of their own ("Order").
TITLE_WORDS: Mapping[str, tuple[str, ...]] = {"purchase_order": ("order", "auftrag")}
TITLES = re.compile(
    r"(?<!\w)(?:[a-zäöü]*(?:rechnung|bestellung|gutschrift)|invoice|facture|factuur|faktura|"
    r"fattura|factura|"
    r"bestellung|purchase\s+order|order|zahlungsavis|remittance\s+advice|payment\s+advice|"
    r"avis\s+über\s+zahlung|receipt)"
    r"(?!\w)", re.I)

# Currencies: ISO codes, and the symbols and words people print instead.
CURRENCY_CODES = ("EUR", "USD", "GBP", "CHF", "INR", "PLN", "CZK", "SEK", "NOK", "DKK", "HUF",
                  "JPY", "CNY", "CAD", "AUD", "RON", "BGN", "TRY")
CURRENCY_SIGNS: Mapping[str, str] = {
    "€": "EUR", "$": "USD", "£": "GBP", "₹": "INR", "¥": "JPY", "zł": "PLN", "Rs": "INR",
    "Rs.": "INR", "Fr.": "CHF", "sFr": "CHF", "Kč": "CZK", "US$": "USD", "Euro": "EUR",
    "Euros": "EUR", "US Dollars": "USD", "Dollars": "USD", "Rupees": "INR",
}
CURRENCY_PATTERN = re.compile(
    r"(?<![A-Za-z])(?P<code>" + "|".join(CURRENCY_CODES) + r")(?![A-Za-z])"
    r"|(?P<sign>US\$|[€$£₹¥]|zł|Kč)"
    r"|(?<![\w])(?P<word>Rs\.?(?=\s?-?\d)|sFr|Fr\.(?=\s?\d)|US\s+Dollars|Dollars|Euros?|Rupees)(?!\w)")


def compile_role(patterns: tuple[tuple[str, float], ...]) -> list[tuple[re.Pattern[str], float]]:
    """Each label as a case-insensitive regex at word boundaries; a word's first capital
    may stand apart from the rest ("F actuurnummer")."""
    compiled = []
    for pattern, weight in patterns:
        first = pattern[0]
        body = f"{first}\\s?{pattern[1:]}" if first.isalpha() and pattern[1:2].isalpha() else pattern
        compiled.append((re.compile(rf"(?<![^\W\d])(?:{body})(?![^\W\d])", re.I), weight))
    return compiled


COMPILED: Mapping[str, list[tuple[re.Pattern[str], float]]] = {
    role: compile_role(patterns) for role, patterns in LABELS.items()}


def _trigger(pattern: str) -> str:
    """Letters every match of the label contains (after its first letter, which PDF kerning
    may set apart), lower case; "" when the pattern does not start with three literal ones."""
    m = re.match(r"[a-zäöüéèà](?P<rest>[a-zäöüéèà]{2,3})(?![?*{])", pattern)
    depth, alternatives = 0, False
    for ch in pattern:
        depth += (ch == "(") - (ch == ")")
        alternatives = alternatives or (ch == "|" and depth == 0)
    return m.group("rest")[:3] if m and not alternatives else ""


# The labels by the letters a row must contain for them to be worth a look, and the rest.
BY_TRIGGER: dict[str, list[tuple[str, re.Pattern[str], float]]] = {}
UNTRIGGERED: list[tuple[str, re.Pattern[str], float]] = []
for _role, _patterns in LABELS.items():
    for (_compiled, _weight), (_pattern, _) in zip(COMPILED[_role], _patterns, strict=True):
        _key = _trigger(_pattern)
        (BY_TRIGGER.setdefault(_key, []) if _key else UNTRIGGERED).append(
            (_role, _compiled, _weight))
# two-letter triggers (of three-letter labels: "ust", "vat") are looked for on their own
TRIGGERS = [re.compile("(?=(" + "|".join(sorted(k for k in BY_TRIGGER if len(k) == n)) + "))")
            for n in (2, 3)]
