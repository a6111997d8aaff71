"""The shared joins of `forensics.analysis.correlate`: per-workload facts from one group-by, node reachability,
signature hits per container, and the list-valued frame columns they read."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forensics.analysis.correlate import Rows, Workloads
from forensics.analysis.findings import Workload
from forensics.read.scheduling import tolerates
from tests.rules.builders import context, crashloop, ctr, event, node, pod, terminated

UTC = "UTC"


def _rows() -> pd.DataFrame:
    """Two workloads over two snapshots; one pod recreated (new uid), one container without a uid,
    a StartError's 1970 start time, and a row of a third, bare pod."""
    t = pd.Timestamp
    return pd.DataFrame(
        {
            "workload_kind": ["Deployment", "Deployment", "Deployment", "StatefulSet", "StatefulSet", None],
            "namespace": ["shop", "shop", "shop", "db", "db", "shop"],
            "workload_name": ["web", "web", "web", "pg", "pg", "debug"],
            "pod": ["web-1", "web-1", "web-2", "pg-0", "pg-0", "debug"],
            "container": ["app", "app", "app", "pg", "pg", "sh"],
            "uid": ["u1", "u1", "u2", None, None, "u9"],
            "node": ["n1", "n1", None, "n2", "n3", "n1"],
            "node_arch": ["amd64", "amd64", None, "arm64", "arm64", "amd64"],
            "snapshot_index": [0, 1, 1, 0, 1, 1],
            "restart_count": [3, 5, 2, 1, 4, 0],
            "last_started": [t("1970-01-01", tz=UTC), t("2026-11-22T04:00", tz=UTC), None, None, None, None],
            "last_finished": [
                t("2026-11-22T03:00", tz=UTC),
                t("2026-11-22T04:10", tz=UTC),
                None,
                t("2026-11-22T02:00", tz=UTC),
                None,
                None,
            ],
            "term_finished": [None] * 6,
            "observed_at": [t("2026-11-22T05:00", tz=UTC)] * 3 + [t("2026-11-22T06:00", tz=UTC)] * 3,
            "failing": [True, True, False, True, True, False],
            "healthy": [False, False, True, False, False, True],
        }
    )


def test_facts_per_workload_from_one_group_by() -> None:
    g = Workloads(_rows())
    # sorted by (kind, namespace, name), a missing kind last and named Pod
    assert g.workloads == [
        Workload("Deployment", "shop", "web"),
        Workload("StatefulSet", "db", "pg"),
        Workload("Pod", "shop", "debug"),
    ]
    web, pg, debug = (g.facts(i) for i in range(3))
    assert web.pods == ["web-1", "web-2"] and web.nodes == ["n1"] and web.node_archs == ["amd64"]
    assert web.containers == ["web-1/app", "web-2/app"]
    # the highest restartCount of each pod instance, summed: 5 (u1) + 2 (u2)
    assert web.restarts == 7
    # 1970 is "never started", not a time
    assert (web.first_seen, web.last_seen) == ("2026-11-22T03:00:00Z", "2026-11-22T05:00:00Z")
    # without a uid the pod name is the instance: max(1, 4)
    assert pg.restarts == 4 and pg.nodes == ["n2", "n3"]
    assert debug.restarts == 0 and debug.first_seen == "2026-11-22T06:00:00Z"


def test_group_rows_and_accessors_agree_with_the_frame() -> None:
    rows = _rows()
    g = Workloads(rows)
    for (w, part), (i, w2) in zip(g, g.each()):
        assert w == w2
        assert part.index.tolist() == g.rows(i).index.tolist()
        assert g.values(i, "pod") == part["pod"].tolist()
    # each container's last observation, in row order: web-1/app at snapshot 1, web-2/app
    assert g.last_observations(0) == [1, 2]
    assert g.last_observations(0, where=(rows["snapshot_index"] == 0).to_numpy()) == [0]
    assert g.lacking_logs(0, frozenset({("shop", "web-2", "app")})) == [("shop", "web-1", "app")]
    # the most recent row of pg: snapshot 1 on n3
    assert rows.iloc[g.last_row(1)]["node"] == "n3"


def test_restart_matrix_counts_each_container_on_its_last_node() -> None:
    g = Workloads(_rows())
    m = g.restart_matrix(1)  # pg-0 moved from n2 to n3: counted once, on n3
    assert m == [{"arch": "arm64", "node": "n3", "pods": 1, "restarts": 4, "failing": 1, "running": 0}]


def test_one_group_of_arbitrary_rows_and_empty_rows() -> None:
    rows = _rows()
    one = Workloads.one(rows)
    assert one.facts(0).restarts == 7 + 4 + 0
    empty = Workloads(rows.iloc[0:0])
    assert len(empty) == 0 and list(empty) == []


@pytest.mark.parametrize(
    ("tolerations", "taints", "ok"),
    [
        (None, None, True),
        (None, [], True),
        (None, ["dedicated=arm:NoSchedule"], False),
        (["dedicated=arm:NoSchedule"], ["dedicated=arm:NoSchedule"], True),
        (["dedicated=*:NoSchedule"], ["dedicated=arm:NoSchedule"], True),
        (["dedicated=arm:*"], ["dedicated=arm:NoSchedule", "gpu=:NoExecute"], False),
        (["*"], ["gpu=:NoExecute"], True),
        # a value with a comma stays one item: lists are not re-split
        (["team=a,b:NoSchedule"], ["team=a,b:NoSchedule"], True),
    ],
)
def test_tolerates_lists(tolerations: list[str] | None, taints: list[str] | None, ok: bool) -> None:
    assert tolerates(tolerations, taints) is ok


def _tainted(name: str, arch: str, key: str) -> dict:
    n = node(name, arch)
    n["spec"]["taints"] = [
        {"key": key, "value": "true", "effect": "NoSchedule"},
        {"key": "soft", "effect": "PreferNoSchedule"},
    ]
    return n


def test_list_columns_and_reachability_from_a_dump(tmp_path: Path) -> None:
    tol = pod("web-1", containers=[ctr(state=crashloop(), last=terminated("Error", 1), restarts=4)])
    tol["spec"]["tolerations"] = [{"key": "arm", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]
    plain = pod("api-1", owner="Deployment/api")
    ctx = context(
        tmp_path,
        pods=[tol, plain],
        nodes=[node("node-a", "amd64"), _tainted("arm-1", "arm64", "arm"), _tainted("s-1", "s390x", "z")],
        events=[event("web-1", "BackOff", "Back-off restarting failed container app", container="app")],
    )
    taints = ctx.nodes.set_index("node")["taints"]
    # only the hard taints, each one item
    assert list(taints["arm-1"]) == ["arm=true:NoSchedule"] and taints.isna()["node-a"]
    tols = ctx.frames["pods"].set_index("pod")["tolerations"]
    assert list(tols["web-1"]) == ["arm=true:NoSchedule"] and tols.isna()["api-1"]
    assert ctx.reachable_archs(ctx.pod_tolerations("shop", "web-1")) == {"amd64", "arm64"}
    assert ctx.reachable_archs(ctx.pod_tolerations("shop", "api-1")) == {"amd64"}
    # the event names the container: its hit is on web-1/app only
    hits = ctx.sig_hits(("probe", "app-crash", "arch", "oom"))
    p = ctx.placement.reset_index(drop=True)
    assert set(p.loc[hits, "pod"]) <= {"web-1"}


def test_restart_and_arch_marks_are_built_once(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        pods=[pod("web-1", containers=[ctr(state=crashloop(), last=terminated("OOMKilled", 137), restarts=3)])],
    )
    assert ctx.restart_marks is ctx.restart_marks and ctx.arch_marks is ctx.arch_marks
    m = ctx.restart_marks
    assert bool(m["oom_reason"].iloc[0]) and bool(m["failing_b"].iloc[0])
    assert len(ctx.arch_marks) == len(ctx.placement) and not ctx.arch_marks["arch_fail"].any()


def test_rows_last_head_and_unique_agree_with_pandas() -> None:
    rows = _rows()
    # a tie on snapshot_index inside a workload, and a missing one (then pandas itself decides)
    tied = rows.assign(snapshot_index=[1, 1, 0, None, 1, 1]).astype({"snapshot_index": "Float64"})
    for frame in (rows, tied):
        g = Workloads(frame)
        for i, _ in g.each():
            sel = g.sel(i)
            want = next(g.rows(i).sort_values("snapshot_index").tail(1).itertuples(index=False))
            assert repr(sel.last()) == repr(want)  # missing values print alike
            assert sel.head(2).records() == list(g.rows(i).head(2).itertuples(index=False))
            firsts = g.rows(i).drop_duplicates(["pod", "node"])
            assert sel.unique(("pod", "node")).records() == list(firsts.itertuples(index=False))


def test_pod_event_rows_are_events_for_pods_as_rows(tmp_path: Path) -> None:
    from forensics.analysis.rules._restart import events_for_pods, pod_event_rows

    ctx = context(
        tmp_path,
        pods=[pod("web-1"), pod("web-2"), pod("api-1", owner="Deployment/api")],
        events=[
            event("web-2", "BackOff", "Back-off restarting failed container app", container="app"),
            event("web-1", "Unhealthy", "Liveness probe failed: timeout", container="app", seq=1),
            event("api-1", "BackOff", "Back-off restarting failed container app", container="app", seq=2),
            event("web-1", "BackOff", "Back-off restarting failed container app", container="app", seq=3),
        ],
    )
    rows = Rows.of(ctx.placement)
    web = rows.keep([p != "api-1" for p in rows["pod"]])
    for reasons in (None, ("BackOff",), ("Killing",)):
        want = list(events_for_pods(ctx, web, reasons).itertuples(index=False))
        assert pod_event_rows(ctx, web, reasons) == want
    assert {e.object_name for e in pod_event_rows(ctx, web)} == {"web-1", "web-2"}
    assert pod_event_rows(ctx, web.none()) == []


@pytest.mark.parametrize(
    ("counts", "order"),
    [
        ([3, 40, 7, 12], [1, 3, 2, 0]),
        ([5, 5, 1, 5], [0, 1, 3, 2]),  # equal counts keep the events' order
        ([2, None, 9, 2], [2, 0, 3, 1]),  # an unknown count last
        ([None, 4, None, 4], [1, 3, 0, 2]),
    ],
)
def test_events_by_count_largest_first_ties_in_order(counts: list[int | None], order: list[int]) -> None:
    from forensics.analysis.rules._restart import _by_count

    ev = pd.DataFrame({"count": pd.array(counts, dtype="Int64"), "message": [f"m{i}" for i in range(len(counts))]})
    got = _by_count(Rows.of(ev))
    assert [r.message for r in got] == [f"m{i}" for i in order]
