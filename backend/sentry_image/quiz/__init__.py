"""'Can you tell?': rounds of real and AI images from a labelled dataset, answered by a person and by
the model on the same images (the terminal quiz here; the desktop app's quiz uses the same rounds)."""
