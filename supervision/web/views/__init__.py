"""Pages, one module per capability: parse with a form, call one service or selector, render."""
