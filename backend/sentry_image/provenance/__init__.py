"""Provenance analyzers: what an image's file says about how it was made (metadata, credentials,
watermarks), as evidence that is fused with the pixel detector's score."""
