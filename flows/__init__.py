"""Prefect flows: thin wrappers that order the library's stages."""
