"""The model registry: model cards, built-in and user-installed models, and the active selection."""
