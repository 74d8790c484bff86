"""Result tables (CSV, Markdown, LaTeX; mean ± std over seeds) and figures (PNG)."""
