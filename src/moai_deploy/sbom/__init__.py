"""Bills of materials: a CycloneDX SBOM of each release's Python environment, and diffs."""
