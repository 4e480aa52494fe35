"""Foundation-feature detectors (architecture ``clip-layers``): a frozen backbone's per-layer tokens
(``backbones/``) read by a small linear head trained on cached features. ``views`` cuts the crops the
backbone sees, ``head`` holds the trained weights, ``detector`` scores images with both."""
