"""Getting public datasets onto this machine: resumable, verified downloads, split archives and safe
extraction (the ``sentry-image data`` commands build on these; see issue 12)."""
