"""Training: dataset readers, augmentation, aligned-fake generation and the training loop."""
