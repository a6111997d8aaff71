"""What a dump cannot tell: the frames it lacks, each with how that limits the conclusions.

The gaps are part of the findings document (`gaps`); formats add their own (no collection time,
kinds skipped) next to these.
"""

from __future__ import annotations

import pandas as pd


def frame_gaps(frames: dict[str, pd.DataFrame], snapshots: int) -> list[dict[str, str]]:
    """The evidence `frames` (read from `snapshots` snapshots) lack, and how that limits the conclusions."""
    out: list[dict[str, str]] = []
    if frames["images"].empty:
        out.append(
            {
                "what": "no image inspections",
                "impact": "image platforms are unknown: architecture findings rest on logs, events and "
                "node architectures only, and their confidence is capped",
            }
        )
    if frames["logs"].empty:
        out.append(
            {
                "what": "no container logs",
                "impact": "exec format errors and crashes are only seen where the runtime put them in a "
                "termination message or an event",
            }
        )
    if frames["events"].empty:
        out.append(
            {
                "what": "no events",
                "impact": "pull errors, probe failures and scheduling failures are only seen in pod status",
            }
        )
    if frames["binfmt"].empty:
        out.append(
            {
                "what": "no binfmt_misc listings",
                "impact": "whether a node emulates foreign architectures (qemu) is unknown",
            }
        )
    if frames["nodes"].empty:
        out.append(
            {
                "what": "no nodes",
                "impact": "node architectures are unknown: no architecture finding can be confirmed",
            }
        )
    if snapshots <= 1:
        out.append(
            {
                "what": "a single snapshot",
                "impact": "restart growth, rollouts and tag changes over time cannot be observed",
            }
        )
    return out
