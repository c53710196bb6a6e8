"""CycloneDX SBOM: Python dependencies plus models and datasets, reproducible, validated, diffed, kept fresh."""
