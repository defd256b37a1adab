"""A cell that a spreadsheet would run as a formula if written as it is."""

INJECTED = '=HYPERLINK("http://evil.example","x")'
