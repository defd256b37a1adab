"""The report model, its builder, and one renderer module per output format."""
