"""cluster-forensics: offline forensic analysis of Kubernetes cluster dumps.

Public surface: `load_dump` (format v1), `load_any` (any accepted format), `analyze` (findings
document), the exception tree in `forensics.errors`.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
