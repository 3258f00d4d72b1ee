"""Analyst export files made from a network document (the import format, a plain dict).

| format    | for                                                     | media type            |
|-----------|---------------------------------------------------------|-----------------------|
| json      | re-import, scripts: the document itself                 | application/json      |
| csv       | spreadsheets: the zipped tables of ``graph.csv_format`` | application/zip       |
| gexf      | Gephi                                                   | application/gexf+xml  |
| graphml   | yEd, Cytoscape desktop, igraph, networkx                | application/graphml+xml |
| cytoscape | Cytoscape.js / Cytoscape desktop JSON                   | application/json      |
| png, svg  | a picture for reports (members, ties, outside agents)   | image/png, image/svg+xml |

Member weaknesses are confidential: the graph formats and pictures never contain them, not even
as counts. (json and csv write the document as given; the caller strips weaknesses first.)

Ties are a multigraph: two members can be tied by several types (COLLABORATES_WITH and TRUSTS).
GEXF and GraphML keep every tie as its own edge, each with a unique id
``"<source>:<type>:<target>"``, rather than merging them, so edge counts, weights and dates stay
per tie. Gephi 0.9+ imports such parallel edges and tells them apart by their label, which GEXF
gets set to the tie type; networkx reads both files back as a MultiDiGraph.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
import threading
from collections import Counter
from typing import Any

import matplotlib
import matplotlib.text
import networkx as nx
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from graph.csv_format import write_csv_zip

FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", "json"),
    "gexf": ("application/gexf+xml", "gexf"),
    "graphml": ("application/graphml+xml", "graphml"),
    "cytoscape": ("application/json", "cyjs"),
    "csv": ("application/zip", "zip"),
    "png": ("image/png", "png"),
    "svg": ("image/svg+xml", "svg"),
}
MEMBER_FIELDS = ("name", "sector", "region", "size", "description")
AGENT_FIELDS = ("name", "region", "description", "contact")
TIE_STYLES: dict[str, dict[str, Any]] = {  # matplotlib style of each tie type in pictures
    "COLLABORATES_WITH": {"color": "#7f7f7f", "linestyle": "-", "arrowstyle": "-"},
    "TRUSTS": {"color": "#2ca02c", "linestyle": "-", "arrowstyle": "->"},
    "SUPPLIES": {"color": "#1f77b4", "linestyle": "-", "arrowstyle": "-|>"},
    "COMPETES_WITH": {"color": "#d62728", "linestyle": "--", "arrowstyle": "-"},
}
# Outside agents in pictures: a shape and colour no member has (members are sector-coloured dots).
AGENT_STYLE: dict[str, Any] = {"marker": "D", "color": "#ffd23f", "edgecolor": "#5a4a00"}
AGENTS_PER_ROW = 6
SVG_LOCK = threading.Lock()  # svg.fonttype can only be set through global rcParams
# Text stays text; ids from a fixed salt and no date: the same document gives the same bytes.
SVG_SETTINGS = {"svg.fonttype": "none", "svg.hashsalt": "partnermatch"}
SVG_METADATA = {"Date": None}


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _flat(attrs: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``attrs`` as values GEXF and GraphML can hold: nested maps (the network's policy, its
    discounts) as ``<key>_<inner key>``, lists as ';'-joined strings, no None."""
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}_"))
        elif isinstance(value, list | tuple):
            out[prefix + key] = ";".join(_text(v) for v in value)
        elif value is not None:
            out[prefix + key] = value
    return out


def _member_attributes(member: dict[str, Any], degree: int) -> dict[str, Any]:
    attrs: dict[str, Any] = {"kind": "member", "label": member.get("name") or member["id"]}
    attrs.update({f: member[f] for f in MEMBER_FIELDS if member.get(f) is not None})
    capabilities, needs = member.get("capabilities", []), member.get("needs", [])
    # GEXF and GraphML have no list type, so lists become ';'-joined strings.
    attrs["capabilities"] = ";".join(f"{c['id']}:{c['level']}" for c in capabilities)
    attrs["needs"] = ";".join(n["id"] for n in needs)
    attrs["customers"] = ";".join(member.get("customers") or [])  # segments it sells to
    attrs["n_capabilities"], attrs["n_needs"] = len(capabilities), len(needs)
    attrs["degree"] = degree
    return attrs


def _agent_attributes(agent: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {"kind": "agent", "label": agent.get("name") or agent["id"],
                             "agent_kind": agent.get("kind") or "other",
                             "offers": ";".join(agent.get("offers") or [])}
    attrs.update({f: agent[f] for f in AGENT_FIELDS if agent.get(f) is not None})
    return attrs


def _add_capabilities(graph: nx.MultiDiGraph, document: dict[str, Any]) -> None:
    taxonomy = {c["id"]: c for c in document.get("capabilities", [])}
    owners = [(m["id"], m) for m in document.get("members", [])]
    owners += [("agent:" + a["id"], {"offers": a.get("offers") or []})
               for a in document.get("agents", [])]
    for owner, member in owners:
        used = [(c, "HAS_CAPABILITY", {"level": c["level"]}) for c in member.get("capabilities", [])]
        used += [(n, "NEEDS", {"urgency": n.get("urgency", 3)}) for n in member.get("needs", [])]
        used += [({"id": cid}, "OFFERS", {}) for cid in member.get("offers", [])]
        for entry, kind, extra in used:
            cap_id, node = entry["id"], "cap:" + entry["id"]
            if node not in graph:
                cap = taxonomy.get(cap_id, {})
                attrs = {"kind": "capability", "label": cap.get("label") or cap_id,
                         "capability_kind": cap.get("kind"),
                         "synonyms": ";".join(cap.get("synonyms") or [])}
                graph.add_node(node, **{k: v for k, v in attrs.items() if v is not None})
            graph.add_edge(owner, node, key=kind, id=f"{owner}:{kind}:{node}", type=kind,
                           **extra)


def to_networkx(document: dict[str, Any], *, include_capabilities: bool = False) -> nx.MultiDiGraph:
    """Members as nodes (id = member id), one edge per tie keyed by its type; outside agents as
    nodes of their own kind (``kind="agent"``, id ``"agent:<id>"``).

    With ``include_capabilities`` every capability a member has or needs, or an agent offers,
    becomes a node ``"cap:<id>"`` with HAS_CAPABILITY (``level``), NEEDS (``urgency``) and
    OFFERS edges to it.
    Attribute values are never None and never lists, so the GEXF and GraphML writers accept them.
    """
    graph = nx.MultiDiGraph(**_flat(document.get("network", {})))
    ties = document.get("ties", [])
    degree = Counter(end for tie in ties for end in (tie["source"], tie["target"]))
    for member in document.get("members", []):
        graph.add_node(member["id"], **_member_attributes(member, degree[member["id"]]))
    for agent in document.get("agents", []):
        graph.add_node("agent:" + agent["id"], **_agent_attributes(agent))
    for tie in ties:
        source, target, kind = tie["source"], tie["target"], tie["type"]
        extra = {k: _text(tie[k]) if k == "since" else tie[k]
                 for k in ("weight", "since") if tie.get(k) is not None}
        graph.add_edge(source, target, key=kind, id=f"{source}:{kind}:{target}", type=kind, **extra)
    if include_capabilities:
        _add_capabilities(graph, document)
    _xml_safe(graph)
    return graph


# Characters XML 1.0 cannot hold, even escaped. Validation refuses them in new input; data stored
# before that check must still give a valid file, so they become U+FFFD here.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml_safe(graph: nx.MultiDiGraph) -> None:
    for attrs in [graph.graph, *(d for _, d in graph.nodes(data=True)),
                  *(d for *_, d in graph.edges(keys=True, data=True))]:
        for key, value in attrs.items():
            if isinstance(value, str) and _NOT_XML.search(value):
                attrs[key] = _NOT_XML.sub("\ufffd", value)


def _gexf(graph: nx.MultiDiGraph) -> bytes:
    # In GEXF, an edge's "type" means directed/undirected, so the tie type moves to "tie_type"
    # and to the edge label, which Gephi shows and uses to keep parallel edges apart.
    gexf = graph.copy()
    for _, _, data in gexf.edges(data=True):
        data["tie_type"] = data["label"] = data.pop("type")
    buffer = io.BytesIO()
    nx.write_gexf(gexf, buffer, version="1.2draft")
    return buffer.getvalue()


def _graphml(graph: nx.MultiDiGraph) -> bytes:
    buffer = io.BytesIO()
    # Edge ids must be unique in the file; the tie types used as networkx keys are not.
    nx.write_graphml(graph, buffer, edge_id_from_attribute="id")
    return buffer.getvalue()


def _cytoscape(graph: nx.MultiDiGraph) -> bytes:
    elements = {
        "nodes": [{"data": {"id": node, **data}} for node, data in graph.nodes(data=True)],
        "edges": [{"data": {**data, "source": u, "target": v}}
                  for u, v, data in graph.edges(data=True)],
    }
    content = {"data": dict(graph.graph), "elements": elements}
    return json.dumps(content, ensure_ascii=False, indent=2).encode()


def _short(name: str, limit: int = 24) -> str:
    """Picture labels: legal-form suffixes dropped, long names cut."""
    name = re.sub(r",?\s+(S\.?\s?L\.?\s?U?\.?|S\.?\s?A\.?|S\.?\s?Coop\.?.*|C\.?\s?B\.?)$", "",
                  name.strip(), flags=re.IGNORECASE)
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


def _spread(pos: dict[Any, Any], boxes: dict[Any, tuple[float, float]]) -> dict[Any, Any]:
    """Nudge nodes apart until no two node+label boxes (width, height in axes fractions) overlap.

    Positions are scaled to the unit square first; the boxes are wide because labels are.
    """
    if len(pos) < 2:
        return pos
    nodes, xy = list(pos), np.array(list(pos.values()), dtype=float)
    xy = (xy - xy.min(0)) / np.maximum(xy.max(0) - xy.min(0), 1e-9)
    size = np.array([boxes[n] for n in nodes])
    need = (size[:, None, :] + size[None, :, :]) / 2  # centre distance at which two boxes touch
    for _ in range(200):
        delta = xy[:, None, :] - xy[None, :, :]
        overlap = need - np.abs(delta)
        clash = (overlap > 0).all(-1)
        np.fill_diagonal(clash, False)
        if not clash.any():
            break
        # Separate each clashing pair along the axis where it needs the smaller relative move.
        axis = np.argmin(overlap / need, axis=-1)
        sign = np.where(delta >= 0, 1.0, -1.0)
        push = np.zeros_like(delta)
        for a in (0, 1):
            push[..., a] = np.where(clash & (axis == a), sign[..., a] * overlap[..., a], 0.0)
        xy = np.clip(xy + push.sum(1) * 0.3, 0.0, 1.0)
    return dict(zip(nodes, xy))


def _layout(graph: nx.Graph, boxes: dict[Any, tuple[float, float]]) -> dict[Any, Any]:
    # Kamada-Kawai spreads small connected networks evenly; it collapses when components are
    # disconnected, so larger or fragmented networks use a seeded (deterministic) spring layout.
    if 2 < len(graph) <= 80 and nx.is_connected(graph):
        pos = nx.kamada_kawai_layout(graph)
    else:
        pos = nx.spring_layout(graph, seed=42, k=2.5 / math.sqrt(max(len(graph), 1)))
    return _spread(pos, boxes) if len(graph) <= 150 else pos  # beyond that labels cannot fit


def _agent_places(pos: dict[Any, Any], agents: list[Any]) -> dict[Any, Any]:
    """Outside agents in rows under the members (they have no ties to lay out by), spread over
    the members' width."""
    xy = np.array(list(pos.values()), dtype=float).reshape(-1, 2)
    (x0, y0), (x1, y1) = (xy.min(0), xy.max(0)) if len(xy) else ((0.0, 0.0), (1.0, 1.0))
    step_y = max(y1 - y0, 1e-3) * 0.14
    inset = (x1 - x0) * 0.1  # room for the outer agents' labels
    x0, x1 = x0 + inset, x1 - inset
    places = {}
    for k, agent in enumerate(agents):
        row, col = divmod(k, AGENTS_PER_ROW)
        in_row = min(AGENTS_PER_ROW, len(agents) - row * AGENTS_PER_ROW)
        x = (x0 + x1) / 2 if in_row == 1 else x0 + (x1 - x0) * col / (in_row - 1)
        places[agent] = np.array([x, y0 - step_y * (row + 1)])
    return places


def draw(graph: nx.MultiDiGraph) -> Figure:
    """Members coloured by sector, sized by degree, ties styled by type; outside agents as
    diamonds of their own colour under the members; legends beside the plot."""
    members = [n for n, d in graph.nodes(data=True) if d.get("kind") == "member"]
    agents = [n for n, d in graph.nodes(data=True) if d.get("kind") == "agent"]
    label = {n: _short(graph.nodes[n].get("name", n)) for n in members + agents}
    radius = {n: math.sqrt(50 + 30 * graph.nodes[n].get("degree", 0)) / 2 for n in members}
    figure = Figure(figsize=(12, 9))
    ax = figure.add_axes((0.01, 0.02, 0.76, 0.92))
    ax.set_axis_off()
    ax.margins(0.06)
    # Label boxes in unit-square units: the axes is 0.76 x 0.92 of 864 x 648 pt, less margins.
    width_pt, height_pt = 0.76 * 864 / 1.12, 0.92 * 648 / 1.12
    boxes = {n: (max(4.2 * len(label[n]) + 10, 2 * radius[n]) / width_pt,
                 (2 * radius[n] + 14) / height_pt) for n in members}
    pos = _layout(nx.Graph(graph.subgraph(members).to_undirected()), boxes)
    pos.update(_agent_places(pos, agents))
    figure.suptitle(graph.graph.get("name", ""), fontsize=15, x=0.39)
    parallel: Counter[frozenset[Any]] = Counter()
    for u, v, kind in graph.subgraph(members).edges(keys=True):
        # Parallel and reciprocal ties bend apart so each remains visible.
        pair = frozenset((u, v))
        rad = 0.08 + 0.12 * parallel[pair]
        parallel[pair] += 1
        style = TIE_STYLES.get(kind, TIE_STYLES["COLLABORATES_WITH"])
        ax.add_patch(FancyArrowPatch(
            pos[u], pos[v], arrowstyle=style["arrowstyle"], mutation_scale=9, lw=0.9, alpha=0.6,
            color=style["color"], linestyle=style["linestyle"],
            connectionstyle=f"arc3,rad={rad}", shrinkA=radius[u], shrinkB=radius[v] + 1))
    sector = {n: graph.nodes[n].get("sector") for n in members}
    sectors: list[str | None] = sorted({s for s in sector.values() if s is not None})
    palette = matplotlib.colormaps["tab10" if len(sectors) <= 10 else "tab20"]
    colors: dict[str | None, Any] = {s: palette(i % palette.N) for i, s in enumerate(sectors)}
    if None in sector.values():
        sectors.append(None)
        colors[None] = "#b0b0b0"
    sector_handles = []
    for name in sectors:
        nodes = [n for n in members if sector[n] == name]
        color = colors[name]
        ax.scatter([pos[n][0] for n in nodes], [pos[n][1] for n in nodes],
                   s=[(2 * radius[n]) ** 2 for n in nodes], color=color,
                   edgecolors="white", linewidths=0.8, zorder=3)
        sector_handles.append(Line2D([], [], marker="o", linestyle="", markersize=9,
                                     color=color, label=name or "(no sector)"))
    if agents:
        ax.scatter([pos[n][0] for n in agents], [pos[n][1] for n in agents], s=110,
                   marker=AGENT_STYLE["marker"], color=AGENT_STYLE["color"],
                   edgecolors=AGENT_STYLE["edgecolor"], linewidths=0.9, zorder=3)
        sector_handles.append(Line2D([], [], marker=AGENT_STYLE["marker"], linestyle="",
                                     markersize=8, color=AGENT_STYLE["color"],
                                     markeredgecolor=AGENT_STYLE["edgecolor"],
                                     label="outside agent (not a member)"))
    radius.update({n: 6.0 for n in agents})
    for n in members + agents:
        ax.annotate(label[n], pos[n], xytext=(0, -radius[n] - 1), textcoords="offset points",
                    ha="center", va="top", fontsize=7, zorder=4,
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.6})
    if sector_handles:
        title = "Sector" + (", agents" if agents else "")
        ax.add_artist(ax.legend(handles=sector_handles, title=title, loc="upper left",
                                bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False))
    tie_handles = [Line2D([], [], color=s["color"], linestyle=s["linestyle"], lw=1.5,
                          label=kind.replace("_", " ").lower()) for kind, s in TIE_STYLES.items()]
    ax.legend(handles=tie_handles, title="Tie", loc="lower left", bbox_to_anchor=(1.01, 0.0),
              fontsize=8, frameon=False)
    _literal_text(figure)
    return figure


def _literal_text(figure: Figure) -> None:
    """Draw every text as written: ``$\\foo{x}$`` in a member's name is not mathtext (an unknown
    command made the whole picture fail) and never TeX."""
    for text in figure.findobj(matplotlib.text.Text):
        text.set_parse_math(False)
        text.set_usetex(False)


def _picture(graph: nx.MultiDiGraph, fmt: str) -> bytes:
    # Figure + FigureCanvasAgg without pyplot: no global figure state, safe in a web server.
    figure = draw(graph)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    if fmt == "png":
        figure.savefig(buffer, format="png", dpi=110)
    else:
        with SVG_LOCK, matplotlib.rc_context(SVG_SETTINGS):
            figure.savefig(buffer, format="svg", metadata=SVG_METADATA)
    return buffer.getvalue()


def render(document: dict[str, Any], fmt: str, *, include_capabilities: bool = False) -> bytes:
    """The export file of ``document`` in ``fmt`` (a key of ``FORMATS``).

    ``include_capabilities`` adds capability nodes to gexf, graphml and cytoscape; pictures always
    show members, ties and outside agents only, and json and csv always hold the whole document.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        # default: a document built from models may still hold dates (``since``).
        return json.dumps(document, ensure_ascii=False, indent=2, default=_text).encode()
    if fmt == "csv":
        return write_csv_zip(document)
    if fmt in ("png", "svg"):
        return _picture(to_networkx(document), fmt)
    graph = to_networkx(document, include_capabilities=include_capabilities)
    return {"gexf": _gexf, "graphml": _graphml, "cytoscape": _cytoscape}[fmt](graph)
