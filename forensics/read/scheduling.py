"""Scheduling semantics: which nodes a pod may land on, as the scheduler decides it.

- `arch_constraint`: the architectures a pod spec allows, excludes or prefers (nodeSelector and node
  affinity on `kubernetes.io/arch`);
- `tolerations_of` / `hard_taints`: tolerations and the taints that keep pods off a node
  (NoSchedule, NoExecute) as `key=value:effect` items, the shape of the `pods.tolerations` and
  `nodes.taints` columns;
- `tolerates`: whether such tolerations admit such taints.
"""

from __future__ import annotations

from collections.abc import Sequence

from forensics.knowledge.arch import normalize_arch
from forensics.read import kube

ARCH_LABELS = ("kubernetes.io/arch", "beta.kubernetes.io/arch")


def arch_constraint(spec: kube.PodSpec) -> tuple[list[str] | None, list[str] | None, list[str] | None]:
    """(allowed, excluded, preferred) architectures of a pod spec, each a sorted list or None.

    The required constraint is nodeSelector on kubernetes.io/arch (or beta.) ANDed with the required
    node affinity, whose terms are ORed. It is either a set of allowed architectures (`allowed`, `In`
    values minus `NotIn` values) or, when it names only `NotIn` values, the architectures it excludes
    (`excluded`); both None when unconstrained. `preferred` are the `In` values of the preferred terms.
    """
    allowed: set[str] | None = None
    excluded: set[str] | None = None
    if spec.node_selector:
        for key in ARCH_LABELS:
            v = spec.node_selector.get(key)
            if v:
                allowed = {normalize_arch(v)[0]}
    preferred: set[str] = set()
    na = spec.affinity.node_affinity if spec.affinity else None
    if na is not None:
        req = na.required_during_scheduling_ignored_during_execution
        if req and req.node_selector_terms:
            terms: list[tuple[set[str] | None, set[str]]] = []
            for term in req.node_selector_terms:
                t = _term_archs(term)
                if t is None:
                    terms = []
                    break  # a term without an arch expression admits every arch
                terms.append(t)
            if terms:
                pos = set().union(*(a for a, _ in terms if a is not None))
                negs = [e for a, e in terms if a is None]
                if not negs:  # every term names the architectures it allows
                    allowed = pos if allowed is None else allowed & pos
                else:  # any arch but those every excluding term excludes (unless another term allows it)
                    out = set.intersection(*negs) - pos
                    if allowed is not None:
                        allowed -= out
                    elif out:
                        excluded = out
        for pt in na.preferred_during_scheduling_ignored_during_execution or ():
            if pt.preference is not None:
                t = _term_archs(pt.preference)
                if t is not None and t[0]:
                    preferred |= t[0]
    return (
        sorted(allowed) if allowed is not None else None,
        sorted(excluded) if excluded else None,
        sorted(preferred) or None,
    )


def _term_archs(term: kube.NodeSelectorTerm) -> tuple[set[str] | None, set[str]] | None:
    """(allowed, excluded) of one node selector term's kubernetes.io/arch expressions: allowed is the
    `In` values (intersected) minus the `NotIn` values, None when the term names only `NotIn`; None
    when the term has no arch expression."""
    pos: set[str] | None = None
    neg: set[str] = set()
    seen = False
    for e in term.match_expressions or ():
        if e.key not in ARCH_LABELS:
            continue
        vals = {normalize_arch(v)[0] for v in (e.values or ())}
        if e.operator == "In":
            seen = True
            pos = vals if pos is None else pos & vals
        elif e.operator == "NotIn":
            seen = True
            neg |= vals
    if not seen:
        return None
    return (pos - neg if pos is not None else None), neg


def tolerations_of(tols: list[kube.Toleration] | None) -> list[str] | None:
    """Tolerations as "key=value:effect" items; `*` tolerates everything."""
    if not tols:
        return None
    out = []
    for t in tols:
        if not t.key and t.operator == "Exists":  # every taint, or every taint of one effect
            out.append(f"*=*:{t.effect}" if t.effect else "*")
        else:
            val = "*" if t.operator == "Exists" else (t.value or "")
            out.append(f"{t.key or ''}={val}:{t.effect or '*'}")
    return out


def tolerates(tolerations: Sequence[str] | None, taints: Sequence[str] | None) -> bool:
    """Whether a pod with these tolerations (`key=value:effect` items, `*` for all) may be scheduled
    on a node with these hard taints (`key=value:effect`)."""
    if not taints:
        return True
    tols = list(tolerations or ())
    if "*" in tols:
        return True
    for taint in taints:
        kv, _, effect = taint.rpartition(":")
        key, _, value = kv.partition("=")
        ok = False
        for t in tols:
            tkv, _, teffect = t.rpartition(":")
            tkey, _, tval = tkv.partition("=")
            if tkey in ("*", key) and tval in ("*", value) and teffect in ("*", effect):
                ok = True
                break
        if not ok:
            return False
    return True


def hard_taints(taints: list[kube.Taint] | None) -> list[str] | None:
    """A node's taints that keep pods off it (NoSchedule, NoExecute) as `key=value:effect` items."""
    if not taints:
        return None
    return [f"{t.key}={t.value or ''}:{t.effect}" for t in taints if t.effect in ("NoSchedule", "NoExecute")]
