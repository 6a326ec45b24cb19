"""Research outputs from confirmed quotations: code-document table, case comparison (thesis table 8),
quotation report, co-occurrence and charts. See docs/outputs.md; files.render_output is the entry point.
"""

# Output kind -> the formats it comes in (the first is the default). Kept here, free of heavy imports,
# so that the CLI can offer the choices without loading matplotlib or openpyxl.
OUTPUTS = {
    "code-document": ("json", "csv", "xlsx"),
    "case-comparison": ("json", "html", "csv"),
    "quotations": ("html", "docx", "json"),
    "cooccurrence": ("json", "csv"),
    "code-frequencies": ("svg", "png"),
    "knelpunt-solutions": ("svg", "png"),
}
# cooccurrence: what "adjacent" means by default, the next quotation starts within this many characters
# (about two lines of a transcript).
DEFAULT_MAX_GAP = 200
