"""Importers: CRM exports in any format, dialect and language -> canonical frames (a Dataset)."""
