"""A deals export per language: headers and stage words in that language, local conventions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from crmkpi.io.load import load

# (language, encoding, delimiter, headers: name, owner, stage, amount, created,
#  won stage, lost stage, open stage, amounts as written, dates as written)
CASES = [
    ("en", "utf-8", ",", ["Deal Name", "Deal Owner", "Deal Stage", "Amount", "Created Date"],
     "Closed Won", "Closed Lost", "Proposal", ['"1,200.50"', "300", "99"],
     ["01/13/2024", "01/14/2024", "01/15/2024"]),
    ("ru", "cp1251", ";", ["Название сделки", "Ответственный", "Этап", "Сумма", "Дата создания"],
     "Выиграна", "Проиграна", "Переговоры", ["1 200,50", "300", "99"],
     ["13.01.2024", "14.01.2024", "15.01.2024"]),
    ("fa", "utf-8", ",", ["نام معامله", "مسئول", "مرحله", "مبلغ", "تاریخ ایجاد"],
     "موفق", "ناموفق", "مذاکره", ["۱٬۲۰۰٫۵۰", "۳۰۰", "۹۹"],
     ["۱۴۰۲/۱۰/۲۳", "۱۴۰۲/۱۰/۲۴", "۱۴۰۲/۱۰/۲۵"]),
    ("el", "cp1253", ";", ["Όνομα ευκαιρίας", "Υπεύθυνος", "Στάδιο", "Ποσό",
                           "Ημερομηνία δημιουργίας"],
     "Κερδισμένη", "Χαμένη", "Πρόταση", ["1.200,50", "300", "99"],
     ["13/01/2024", "14/01/2024", "15/01/2024"]),
    ("es", "cp1252", ";", ["Nombre de la oportunidad", "Propietario", "Etapa", "Importe",
                           "Fecha de creación"],
     "Cerrada ganada", "Cerrada perdida", "Negociación", ["1.200,50 €", "300 €", "99 €"],
     ["13/01/2024", "14/01/2024", "15/01/2024"]),
    ("ca", "utf-8-sig", ";", ["Oportunitat", "Responsable", "Etapa", "Import", "Data de creació"],
     "Guanyada", "Perduda", "Proposta", ["1.200,50", "300", "99"],
     ["13/01/2024", "14/01/2024", "15/01/2024"]),
    ("pt", "utf-8", ";", ["Nome da oportunidade", "Responsável", "Etapa", "Valor",
                          "Data de criação"],
     "Ganho", "Perdido", "Negociação", ["R$ 1.200,50", "R$ 300,00", "R$ 99,00"],
     ["13/01/2024", "14/01/2024", "15/01/2024"]),
    ("de", "cp1252", ";", ["Verkaufschance", "Verantwortlich", "Phase", "Betrag", "Erstellt am"],
     "Gewonnen", "Verloren", "Angebot", ["1.200,50", "300,00", "99,00"],
     ["13.01.2024", "14.01.2024", "15.01.2024"]),
    ("fr", "cp1252", ";", ["Opportunité", "Propriétaire", "Étape", "Montant", "Date de création"],
     "Gagnée", "Perdue", "Négociation", ["1\u00a0200,50 €", "300,00 €", "99,00 €"],
     ["13/01/2024", "14/01/2024", "15/01/2024"]),
    ("it", "utf-8", ";", ["Opportunità", "Responsabile", "Fase", "Importo", "Data di creazione"],
     "Chiusa vinta", "Chiusa persa", "Proposta", ["1.200,50", "300", "99"],
     ["13/01/2024", "14/01/2024", "15/01/2024"]),
    ("tr", "cp1254", ";", ["Fırsat adı", "Sorumlu", "Aşama", "Tutar", "Oluşturma tarihi"],
     "Kazanıldı", "Kaybedildi", "Teklif", ["1.200,50 ₺", "300 ₺", "99 ₺"],
     ["13.01.2024", "14.01.2024", "15.01.2024"]),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_language_export(tmp_path: Path, case: tuple) -> None:
    lang, encoding, delim, headers, won, lost, opened, amounts, dates = case
    rows = [
        ["D1", "A", won, amounts[0], dates[0]],
        ["D2", "B", lost, amounts[1], dates[1]],
        ["D3", "A", opened, amounts[2], dates[2]],
    ]
    text = "\n".join(delim.join(r) for r in [headers, *rows]) + "\n"
    if "₺" in text and encoding == "cp1254":
        text = text.replace(" ₺", " TL")  # cp1254 has no lira sign; Turkish exports write TL
    path = tmp_path / f"deals_{lang}.csv"
    path.write_bytes(text.encode(encoding))
    ds = load([path])
    deals = ds.frames["deals"]
    if encoding.startswith("cp") and not text.isascii():  # ASCII is also valid UTF-8
        assert ds.inputs[0].encoding == encoding
    assert ds.inputs[0].columns == {
        "name": headers[0], "owner": headers[1], "stage": headers[2], "amount": headers[3],
        "created_at": headers[4],
    }  # fmt: skip
    assert deals["status"].to_list() == ["won", "lost", "open"]
    # amounts written 1 200.50 / 300 / 99 in the local convention
    assert deals["amount"].to_list() == [1200.5, 300.0, 99.0]
    if lang == "fa":  # Jalali 1402/10/23 is 13 January 2024
        assert deals["created_at"][0] == datetime(2024, 1, 13)
    else:
        assert deals["created_at"].to_list() == [datetime(2024, 1, d) for d in (13, 14, 15)]
    assert deals.filter(pl.col("status") == "won")["amount"].sum() == 1200.5


def test_persian_export_in_windows_1256(tmp_path: Path) -> None:
    # cp1256 has no Persian yeh/kaf: Windows writes the Arabic letters, which must still match
    text = (
        (
            "نام معامله,مسئول,مرحله,مبلغ,تاریخ ایجاد\n"
            "پروژه گچ,علی,موفق,1200,1402/10/23\n"
            "چاپ,رضا,ناموفق,300,1402/10/24\n"
        )
        .replace("ی", "ي")
        .replace("ک", "ك")
    )
    path = tmp_path / "deals.csv"
    path.write_bytes(text.encode("cp1256"))
    ds = load([path])
    assert ds.inputs[0].encoding == "cp1256"
    deals = ds.frames["deals"]
    assert deals["status"].to_list() == ["won", "lost"]
    # Jalali 1402/10/23 and 1402/10/24 are 13 and 14 January 2024
    assert deals["created_at"].to_list() == [datetime(2024, 1, 13), datetime(2024, 1, 14)]


def test_header_language_settles_an_undecidable_decimal(tmp_path: Path) -> None:
    # only 1.234-like amounts: German headers mean thousands, English ones a decimal point
    german = tmp_path / "de.csv"
    german.write_text(
        "Verkaufschance;Phase;Betrag;Erstellt am\nA;Gewonnen;1.234;13.01.2024\n"
        "B;Verloren;2.500;14.01.2024\n",
        encoding="utf-8",
    )
    english = tmp_path / "en.csv"
    english.write_text("Deal Name,Stage,Amount,Created Date\nA,Won,1.234,2024-01-13\n")
    assert load([german]).frames["deals"]["amount"].to_list() == [1234.0, 2500.0]
    assert load([english]).frames["deals"]["amount"].to_list() == [1.234]


def test_workbook_numbers_keep_their_point_under_german_headers(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Verkaufschance", "Phase", "Betrag", "Erstellt am"])
    ws.append(["A", "Gewonnen", 1234.567, datetime(2024, 1, 13)])
    wb.save(tmp_path / "de.xlsx")
    # a numeric cell is a number, whatever the language: 1234.567, not 1234567
    assert load([tmp_path / "de.xlsx"]).frames["deals"]["amount"].to_list() == [1234.567]


# Abbreviated headers as local CRMs and ERPs shorten them, one export per language, in the
# order id, stage, owner, source, amount, created, closed (a full word where the language has
# no usual short form), with a day-first date and a second date five days later.
ABBREVIATED = [
    ("en", ["No.", "Stg", "Ownr", "Src", "Amt", "Crtd Dt", "Clsd Dt"]),
    ("el", ["Αρ.", "Σταδ.", "Υπευθ.", "Πηγ.", "Ποσ.", "Ημ. δημ.", "Ημ/νία κλεισ."]),
    ("el2", ["Κωδ.", "Στάδ.", "Υπεύθ.", "Προελ.", "Αξ.", "Ημ/νία", "Ημ. κλεισίματος"]),
    ("ru", ["№", "Стад.", "Отв.", "Ист.", "Сум.", "Дата созд.", "Дата закр."]),
    ("fa", ["ش.", "مرحله", "مسئول", "منبع", "مبلغ", "ت. ایجاد", "ت. بستن"]),
    ("ca", ["Núm.", "Etapa", "Resp.", "Orig.", "Imp.", "Data cre.", "Data tanc."]),
    ("es", ["Nº", "Etapa", "Resp.", "Orig.", "Imp.", "F. creación", "F. cierre"]),
    ("es2", ["Nro.", "Etapa", "Respons.", "Fte.", "Impte.", "Fecha cre.", "Fec. cierre"]),
    ("de", ["Nr.", "Phase", "Verantw.", "Herk.", "Betr.", "Erst.-Datum", "Abschl.-Datum"]),
    ("fr", ["N°", "Étape", "Resp.", "Orig.", "Mt", "Date créa.", "Date clôt."]),
    ("it", ["N.", "Fase", "Resp.", "Orig.", "Imp.", "Data creaz.", "Data chius."]),
    ("pt", ["Nº", "Etapa", "Resp.", "Orig.", "Vlr.", "Dt. criação", "Dt. fech."]),
    ("tr", ["No", "Aşama", "Sor.", "Kay.", "Tut.", "Oluşt. tar.", "Kap. tar."]),
]
CANONICAL = ["id", "stage", "owner", "source", "amount", "created_at", "closed_at"]


@pytest.mark.parametrize("case", ABBREVIATED, ids=[c[0] for c in ABBREVIATED])
def test_abbreviated_headers(tmp_path: Path, case: tuple) -> None:
    lang, headers = case
    # Jalali 1402/10/23 is 13 January 2024
    dates = ["1402/10/23", "1402/10/28"] if lang == "fa" else ["13.01.2024", "18.01.2024"]
    rows = [["D1", "Won", "A", "Web", "1200", *dates], ["D2", "Lost", "B", "Ads", "300", *dates]]
    path = tmp_path / "deals.csv"
    path.write_text("\n".join(";".join(r) for r in [headers, *rows]) + "\n", encoding="utf-8")
    ds = load([path])
    assert ds.inputs[0].table == "deals"
    assert ds.inputs[0].columns == dict(zip(CANONICAL, headers, strict=True))
    deals = ds.frames["deals"]
    assert deals["id"].to_list() == ["D1", "D2"]
    assert deals["amount"].to_list() == [1200.0, 300.0]
    assert deals["created_at"][0] == datetime(2024, 1, 13)
    assert deals["closed_at"][0] == datetime(2024, 1, 18)
