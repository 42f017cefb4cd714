"""Project-wide I/O that every package shares: atomic writes, audio files and resampling,
hashing and provenance. Imports no torch, so :mod:`metrics` and the workflow use it cheaply.

- :mod:`.atomic`: :func:`atomic_write` (temporary file beside the target, fsync, ordinary
  permissions, rename), :func:`write_text`, :func:`write_json`, :func:`atomic_dir`.
- :mod:`.audio`: :func:`read_audio`, :func:`write_audio`, :func:`resample` (one soxr quality,
  :data:`RESAMPLE_QUALITY`), :func:`fit_length`, :func:`check_signal`.
- :mod:`.provenance`: :func:`file_sha256`, :func:`config_hash`, :func:`git_state`,
  :func:`package_versions`.
"""
