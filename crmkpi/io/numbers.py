"""Numbers as people write them in exports -> Float64, one convention sniffed per column.

A column's decimal separator is decided once from its values (the last of two different
separators is the decimal one; a lone separator followed by other than three digits is decimal)
and then applied to every row by one vectorised expression, so "1.234" means the same thing in
every row of a column. Currency symbols or codes before or after, thousands separators (. , space,
NBSP, narrow NBSP, apostrophe, Arabic U+066C), negatives in parentheses or with a trailing minus,
percent signs, K/M suffixes and Persian/Arabic-Indic digits are all understood.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
_DIGIT_FROM = list(PERSIAN_DIGITS + ARABIC_INDIC_DIGITS)
_DIGIT_TO = list("0123456789" * 2)

ARABIC_DECIMAL = "\u066b"
ARABIC_THOUSANDS = "\u066c"
# Everything that may separate digit groups: space, NBSP, narrow NBSP, thin space, apostrophes.
_GROUP_SPACES = " \u00a0\u202f\u2009'\u2019" + ARABIC_THOUSANDS
_MINUS = "-\u2212\u2012\u2013"

# A word or symbol of at most 6 characters naming a currency ($, USD, руб., ریال, тг).
_UNIT = r"[^\d\s()+\-\u2212.,%']{1,6}\.?"
_SHAPE = re.compile(
    rf"^\(?\s*[{_MINUS}+]?\s*(?:{_UNIT}\s*)?[{_MINUS}]?\s*"
    rf"\d[\d.,{_GROUP_SPACES}{ARABIC_DECIMAL}]*"
    rf"(?:\s*[kKmM])?\s*(?:%|{_UNIT})?\s*\)?\s*[{_MINUS}]?$"
)

CURRENCY_SYMBOLS = {
    "$": "USD", "us$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY", "₽": "RUB", "руб": "RUB",
    "руб.": "RUB", "р.": "RUB", "₺": "TRY", "tl": "TRY", "₹": "INR", "﷼": "IRR", "ریال": "IRR",
    "ريال": "SAR", "تومان": "IRT", "r$": "BRL", "zł": "PLN", "kč": "CZK", "₴": "UAH", "₸": "KZT",
    "chf": "CHF", "fr.": "CHF", "د.إ": "AED",
}  # fmt: skip


def ascii_digits(expr: pl.Expr) -> pl.Expr:
    """Persian and Arabic-Indic digits -> ASCII digits."""
    return expr.str.replace_many(_DIGIT_FROM, _DIGIT_TO)


_ASCII_DIGITS = str.maketrans("".join(_DIGIT_FROM), "".join(_DIGIT_TO))


def ascii_digits_text(text: str) -> str:
    return text.translate(_ASCII_DIGITS)


@dataclass(frozen=True)
class NumberFormat:
    """How a column writes numbers: which character is the decimal separator."""

    decimal: str = "."
    percent: bool = False  # at least one value carried a % sign
    ambiguous: bool = False  # only 1.234-like values: decimal guessed, not seen
    plain: bool = False  # the sample held only 1234.5-like values: a plain cast reads them


_PLAIN = re.compile(r"^-?\d+(?:\.\d+)?$")
_CORE_DROP = rf"[^\d.,{_GROUP_SPACES}{ARABIC_DECIMAL}]"
# A unit's own dot ("руб.", "Fr. 12") is not a separator: drop dots before a space or at the end.
_UNIT_DOT_START = rf"^[.,]?[{_GROUP_SPACES}]+|^[.,]+$"
_UNIT_DOT_END = rf"[{_GROUP_SPACES}]*[.,]$"


def _core(value: str) -> str:
    """The digits and separators of a value, without currency, sign and suffixes."""
    core = re.sub(_CORE_DROP, "", value)
    core = re.sub(_UNIT_DOT_END, "", re.sub(_UNIT_DOT_START, "", core))
    return core.strip(_GROUP_SPACES)


def _vote(core: str) -> str | None:
    """The decimal separator a single value proves, or None when it proves nothing."""
    if ARABIC_DECIMAL in core:
        return ARABIC_DECIMAL
    seps = [(i, ch) for i, ch in enumerate(core) if ch in ".,"]
    if not seps:
        return None
    kinds = {ch for _, ch in seps}
    if len(kinds) == 2:
        return seps[-1][1]
    ch = seps[-1][1]
    if len(seps) > 1:  # 1.234.567 or 1,234,567: a repeated separator groups thousands
        return "," if ch == "." else "."
    tail = core[seps[-1][0] + 1 :]
    if len(tail) != 3 or not tail.isdigit():
        return ch
    if core.startswith("0" + ch):  # 0.125 is a fraction, never 0 thousand 125
        return ch
    return None


def sniff_number_format(
    values: Iterable[str], decimal_hint: str | None = None, default: str = "."
) -> NumberFormat:
    """Decide the decimal separator of a column from (a sample of) its values; `default` (the
    headers' language) only settles a column whose values cannot tell."""
    votes = {".": 0, ",": 0, ARABIC_DECIMAL: 0}
    percent = False
    undecided: set[str] = set()
    values = list(values)
    comma_first = decimal_hint == "," or (decimal_hint is None and default == ",")
    plain = bool(values) and all(_PLAIN.match(v) for v in values)
    if plain and not (comma_first and any("." in v for v in values)):
        return NumberFormat(".", plain=True)
    for raw in values:
        value = ascii_digits_text(raw)
        percent = percent or "%" in value
        core = _core(value)
        vote = _vote(core)
        if vote is None:
            undecided.update(ch for ch in core if ch in ".,")
        else:
            votes[vote] += 1
    if decimal_hint in (".", ","):
        return NumberFormat(decimal_hint, percent)
    best = max(votes, key=lambda k: votes[k])
    if votes[best]:
        return NumberFormat(best, percent)
    # Only 1,234-like values: a comma groups thousands (1,234 = 1234) and a lone point
    # is taken as decimal (1.234 = 1.234), flagged ambiguous so inspect can say so.
    if "," in undecided and "." not in undecided:
        return NumberFormat(".", percent)
    if "." in undecided and default == ",":  # 1.234 in a German export is one thousand ...
        return NumberFormat(",", percent, ambiguous=True)
    return NumberFormat(".", percent, ambiguous="." in undecided)


def number_expr(
    column: pl.Expr, fmt: NumberFormat, *, percent_as_fraction: bool = False
) -> pl.Expr:
    """A Float64 expression parsing a String column written in `fmt`; unparseable -> null.

    A `plain` column is one cast; values that fail it are for the caller to re-read with the
    full expression (`replace(fmt, plain=False)`) over those few distinct values only.
    """
    if fmt.plain:
        return column.cast(pl.Float64, strict=False)
    text = ascii_digits(column.str.strip_chars())
    shaped = text.str.contains(_SHAPE.pattern)
    negative = text.str.contains(r"^\s*\(.*\)\s*$") | text.str.contains(
        rf"^\(?\s*[{_MINUS}]|\d\s*[kKmM]?\s*(?:%|{_UNIT})?\s*[{_MINUS}]$|^[^\d]*[{_MINUS}]\s*\d"
    )
    suffix = text.str.extract(
        r"\d([kKmM])(?:\s*(?:%|[^\w\s]{1,2}|[A-Z]{3}))?\s*\)?\s*[-\u2212]?$", 1
    )
    scale = (
        pl.when(suffix.str.to_lowercase() == "k")
        .then(1_000.0)
        .when(suffix.str.to_lowercase() == "m")
        .then(1_000_000.0)
        .otherwise(1.0)
    )
    core = (
        text.str.replace_all(_CORE_DROP, "")
        .str.replace(_UNIT_DOT_START, "")
        .str.replace(_UNIT_DOT_END, "")
        .str.strip_chars(_GROUP_SPACES)
    )
    dec = re.escape(fmt.decimal)
    groups = "".join(
        re.escape(c) for c in ".," + _GROUP_SPACES if c != fmt.decimal and c != ARABIC_DECIMAL
    )
    # Digit groups of three after the first (or Indian 2-digit groups before the last three).
    valid_core = core.str.contains(
        rf"^(?:\d+|\d{{1,3}}(?:[{groups}]\d{{3}})+|\d{{1,2}}(?:,\d{{2}})+,\d{{3}})(?:{dec}\d*)?$"
        rf"|^{dec}\d+$"
    )
    plain = core.str.replace_all(f"[{groups}]", "").str.replace(dec, ".", literal=False)
    value = plain.cast(pl.Float64, strict=False) * scale
    value = pl.when(negative).then(-value).otherwise(value)
    scientific = text.str.contains(r"^[-+]?\d+(?:\.\d+)?[eE][-+]?\d+$")
    value = (
        pl.when(scientific)
        .then(text.cast(pl.Float64, strict=False))
        .otherwise(pl.when(shaped & valid_core).then(value).otherwise(None))
    )
    if percent_as_fraction:
        value = pl.when(text.str.contains("%")).then(value / 100.0).otherwise(value)
    return value


def currency_expr(column: pl.Expr) -> pl.Expr:
    """The ISO code a value's currency symbol or code names ("USD 1,000" -> USD), else null."""
    text = ascii_digits(column.str.strip_chars())
    unit = text.str.extract(r"^\(?\s*-?\s*([^\d\s()+\-.,%]{1,6}\.?)\s*-?\s*\d", 1).fill_null(
        text.str.extract(r"\d\s*([^\d\s()+\-.,%]{1,6}\.?)\s*\)?\s*-?$", 1)
    )
    lowered = unit.str.to_lowercase()
    known = lowered.replace_strict(CURRENCY_SYMBOLS, default=None, return_dtype=pl.String)
    iso = pl.when(unit.str.contains(r"^[A-Za-z]{3}$")).then(unit.str.to_uppercase())
    return pl.coalesce(known, iso.otherwise(None))
