"""Source checks for unsafe model loading in .py files and notebooks (AST only; nothing is imported)."""
