"""The network picture as inline SVG in which every member links to a page about it.

It is the analysts' export picture (``graph.export_formats``: members coloured by sector, sized
by degree, ties styled by type), drawn from the same ``to_networkx`` graph by the same drawing
code; only the links are added, with matplotlib's ``set_urls`` on the member markers and
``set_url`` on their labels. Pictures are cached per network version.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection

from graph.export_formats import SVG_LOCK, SVG_METADATA, SVG_SETTINGS, draw, to_networkx

_CACHE: dict[tuple[str, int, str], str] = {}
_CACHE_LOCK = threading.Lock()


def _link_members(figure: Any, members: list[str], url: Callable[[str], str]) -> None:
    ax = figure.axes[0]
    labels = [t for t in ax.texts if hasattr(t, "xy")]  # one annotation per member, in order
    if len(labels) != len(members):
        return  # the drawing changed shape: keep the picture, without links
    where = np.array([label.xy for label in labels], dtype=float)
    for label, mid in zip(labels, members):
        label.set_url(url(mid))
    for collection in ax.collections:
        if not isinstance(collection, PathCollection):
            continue
        offsets = np.asarray(collection.get_offsets(), dtype=float)
        nearest = [int(np.argmin(((where - xy) ** 2).sum(1))) for xy in offsets]
        collection.set_urls([url(members[i]) for i in nearest])


def _accessible_links(svg: str, names: dict[str, str]) -> str:
    """Links open in the same tab and are named; each member is one tab stop (its marker),
    its label's link is for the mouse only (hidden from assistive technology, whose name would
    otherwise differ from the label's visible, possibly shortened, text)."""
    seen: set[str] = set()

    def named(match: re.Match[str]) -> str:
        href, label = match.group(1), match.group(2)
        if label:
            return f'<a href="{href}" xlink:href="{href}" tabindex="-1" aria-hidden="true">{label}'
        extra = ' tabindex="-1"' if href in seen else ""
        seen.add(href)
        return (f'<a href="{href}" xlink:href="{href}" '
                f'aria-label="{_escape(names.get(href, href))}"{extra}>')

    return re.sub(r'<a xlink:href="([^"]+)" target="_blank">(\s*<text)?', named, svg)


def _svg(document: dict[str, Any], url: Callable[[str], str]) -> str:
    graph = to_networkx(document)
    members = [n for n, d in graph.nodes(data=True) if d.get("kind") == "member"]
    names = {url(n): graph.nodes[n].get("name") or n for n in members}
    figure = draw(graph)
    _link_members(figure, members, url)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    with SVG_LOCK, matplotlib.rc_context(SVG_SETTINGS):
        figure.savefig(buffer, format="svg", metadata=SVG_METADATA)
    svg = buffer.getvalue().decode()
    svg = _accessible_links(svg[svg.index("<svg"):], names)  # inline: no XML declaration
    # Scale to its container; the viewBox keeps the proportions.
    svg = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1', svg, count=1)
    name = document.get("network", {}).get("name", "the network")
    return svg.replace("<svg", f'<svg role="group" aria-label="Picture of {_escape(name)}: '
                               f'members coloured by sector, sized by number of ties" '
                               f'class="network-picture"', 1)


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def clickable_svg(document: dict[str, Any], version: int, link_kind: str,
                  url: Callable[[str], str]) -> str:
    """The picture of ``document`` with links from ``url(member id)``; cached per version."""
    nid = document["network"]["id"]
    key = (nid, version, link_kind)
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    svg = _svg(document, url)
    with _CACHE_LOCK:
        for old in [k for k in _CACHE if k[0] == nid and k[1] != version]:
            del _CACHE[old]
        _CACHE[key] = svg
    return svg
