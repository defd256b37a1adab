"""Reading a KPI's Polars aggregate: its parts, the rows that enter them, and its text.

A ratio built by `safe_div` is `when(den != 0).then(num / den)`: its serialized tree gives the
numerator and the denominator back as expressions. An aggregate `f(x.filter(p))` is entered by
the rows where `p` holds and `x` has a value; `sum(p)` of a condition by the rows where it holds.
`pretty` prints an expression the way a formula is written: sum(status = "won").
"""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl


def to_tree(expr: pl.Expr) -> Any:
    """The serialized expression tree (nested dicts, as Polars writes it in JSON)."""
    return json.loads(expr.meta.serialize(format="json"))


def from_tree(node: Any) -> pl.Expr:
    return pl.Expr.deserialize(io.StringIO(json.dumps(node)), format="json")


def ratio_parts(value: pl.Expr, kpi: str) -> list[tuple[str, pl.Expr]]:
    """numerator and denominator of a safe_div ratio, else the value itself."""
    node = to_tree(value)
    ternary = node.get("Ternary") if isinstance(node, dict) else None
    division = ternary and ternary.get("truthy", {}).get("BinaryExpr")
    if division and division.get("op") == "TrueDivide":
        return [
            ("numerator", from_tree(division["left"])),
            ("denominator", from_tree(division["right"])),
        ]
    return [(kpi, value)]


def entering_rows(expr: pl.Expr, schema: pl.Schema) -> tuple[pl.Expr, list[pl.Expr]]:
    """Which rows enter an aggregate, and the value expressions whose nulls keep rows out."""
    node = to_tree(expr)
    every_row = pl.repeat(True, pl.len())
    agg = node.get("Agg") if isinstance(node, dict) else None
    if not agg:
        return every_row, []
    inner = next(iter(agg.values()))
    if isinstance(inner, dict) and "Filter" in inner:
        content = from_tree(inner["Filter"]["input"])
        return from_tree(inner["Filter"]["by"]).fill_null(False), [content]
    content = from_tree(inner)
    dtype = pl.DataFrame(schema=schema).lazy().select(content).collect_schema().dtypes()[0]
    if dtype == pl.Boolean:
        return content.fill_null(False), []
    return every_row, [content]


_OPS = {"Eq": "=", "EqValidity": "=", "NotEq": "!=", "NotEqValidity": "!=", "Lt": "<",
        "LtEq": "<=", "Gt": ">", "GtEq": ">=", "And": "and", "Or": "or", "Plus": "+",
        "Minus": "-", "Multiply": "*", "TrueDivide": "/", "FloorDivide": "//"}  # fmt: skip


def pretty(expr: pl.Expr) -> str:
    """A Polars expression as a person reads it: sum(status = "won"), count(*)."""
    try:
        return _pretty(to_tree(expr), top=True)
    except (KeyError, TypeError, ValueError, AttributeError, StopIteration):
        return str(expr)


def _pretty(node: Any, top: bool = False) -> str:
    if node == "Len":
        return "count(*)"
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError("unknown node")
    kind, body = next(iter(node.items()))
    if kind == "Column":
        return str(body)
    if kind == "Literal":
        inner = next(iter(body.values()))
        if isinstance(inner, dict):
            lit_kind, lit = next(iter(inner.items()))
            return json.dumps(lit, ensure_ascii=False) if lit_kind == "String" else str(lit)
        return str(inner)
    if kind == "BinaryExpr":
        text = f"{_pretty(body['left'])} {_OPS[body['op']]} {_pretty(body['right'])}"
        return text if top else f"({text})"
    if kind == "Agg":
        fn, inner = next(iter(body.items()))
        return f"{fn.lower()}({_pretty(inner, top=True)})"
    if kind == "Filter":
        return f"{_pretty(body['input'], top=True)} where {_pretty(body['by'], top=True)}"
    if kind == "Ternary":
        return (f"if {_pretty(body['predicate'], True)} then {_pretty(body['truthy'], True)} "
                f"else {_pretty(body['falsy'], True)}")  # fmt: skip
    if kind == "Function":
        args = ", ".join(_pretty(a, top=True) for a in body["input"])
        fn = body["function"]
        name = fn if isinstance(fn, str) else next(iter(fn.values()))
        name = name if isinstance(name, str) else next(iter(name))
        words = {"IsNull": f"{args} is null", "IsNotNull": f"{args} is not null"}
        return words.get(name, f"{_snake(name)}({args})")
    if kind == "Alias":
        return _pretty(body[0], top)
    raise ValueError(f"unknown node {kind}")


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
