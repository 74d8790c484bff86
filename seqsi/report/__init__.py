"""Results files (results.csv), result tables (CSV, Markdown, LaTeX; mean ± std over seeds) and figures (PNG)."""
