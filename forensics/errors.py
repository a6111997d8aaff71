"""The one exception tree of cluster-forensics.

    ForensicsError            base; never escapes the CLI as a traceback
    ├── UnusableInput         the path is not a dump we can read at all (exit 2)
    ├── ManifestError         bytes that are not any known image-inspection format
    └── RenderError           a report could not be written (exit 2)

Bad *parts* of a dump are not exceptions: they become `LoadProblem` records and the rest
of the dump still loads (see `forensics.read.source`).
"""

from __future__ import annotations


class ForensicsError(Exception):
    """Base of every error this package raises on purpose."""


class UnusableInput(ForensicsError):
    """The input is not a dump at all (or cannot be opened). The CLI prints one line, exits 2."""


class ManifestError(ForensicsError):
    """Bytes that are not an image manifest, index or inspection output we recognise."""


class RenderError(ForensicsError):
    """A report could not be rendered or written."""
