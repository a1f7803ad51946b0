"""Face vision: detector, alignment, quality gate, liveness, embedder, gallery."""
