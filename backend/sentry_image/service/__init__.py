"""The local HTTP service: Flask app (API), security checks, safe URL fetching, caching, waitress."""
