"""aigc-workflow: generate, score, gate, review, publish and learn from feedback."""

__version__ = "0.1.0"
