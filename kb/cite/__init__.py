"""Citations: sources as CSL-JSON, formatted by pandoc's citeproc in official CSL styles."""
