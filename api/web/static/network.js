// The interactive network picture: data from /n/<nid>/overview.json (members and ties, or a big
// network's communities collapsed), drawn by the vendored Cytoscape.js (static/vendor/cytoscape).
// Search, sector, region and community filters ask the server again: the page never holds
// more than the few hundred members it draws. Words come translated from the page's data-*.
(function () {
  "use strict";
  const box = document.getElementById("network-view");
  if (!box || typeof window.cytoscape !== "function") return;
  const form = box.querySelector("form");
  const status = box.querySelector(".graph-status");
  const canvas = box.querySelector(".graph-canvas");
  const card = box.querySelector(".graph-card");
  const words = box.dataset;
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  let cy = null;
  let link = "";
  let filled = false;

  function say(template, values) {
    return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
  }

  function colour(text) {
    let hash = 0;
    for (const ch of text || "") hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
    return text ? PALETTE[hash % PALETTE.length] : "#999999";
  }

  function option(select, value, text) {
    const item = document.createElement("option");
    item.value = value;
    item.textContent = text;
    select.append(item);
  }

  function fill(filters) {
    if (filled) return;
    filled = true;
    for (const s of filters.sectors) option(form.elements.sector, s, s);
    for (const r of filters.regions) option(form.elements.region, r, r);
    for (const c of filters.communities) {
      option(form.elements.community, String(c.id),
             say(words.communityOption, { id: c.id, members: c.members }));
    }
  }

  function elements(data) {
    const nodes = data.nodes.map((n) => data.level === "communities"
      ? { data: { id: n.id, label: n.lead + " +" + (n.members - 1), size: n.members,
                  community: n.community, members: n.members, lead: n.lead,
                  colour: colour("c" + n.community) }, classes: "community" }
      : { data: { id: n.id, label: n.name, size: n.degree, sector: n.sector, region: n.region,
                  degree: n.degree, community: n.community, colour: colour(n.sector) },
          classes: "member" });
    const edges = data.edges.map((e) => ({ data: { id: e.source + "|" + e.target,
                                                   source: e.source, target: e.target } }));
    return nodes.concat(edges);
  }

  function draw(data) {
    if (cy) cy.destroy();
    card.hidden = true;
    const sizes = data.nodes.map((n) => (data.level === "communities" ? n.members : n.degree));
    const largest = Math.max(1, ...sizes);
    cy = window.cytoscape({
      container: canvas,
      elements: elements(data),
      minZoom: 0.05,
      maxZoom: 4,
      style: [
        { selector: "node", style: {
          "background-color": "data(colour)", label: "data(label)", "font-size": 9,
          "text-valign": "bottom", "text-margin-y": 2, "min-zoomed-font-size": 7,
          width: `mapData(size, 0, ${largest}, 8, 40)`,
          height: `mapData(size, 0, ${largest}, 8, 40)` } },
        { selector: "node.community", style: { shape: "round-rectangle", "font-size": 11 } },
        { selector: "node:selected", style: { "border-width": 3, "border-color": "#000" } },
        { selector: "edge", style: { width: 1, "line-color": "#b8c0cc", "curve-style": "haystack",
                                     opacity: 0.7 } },
      ],
      layout: { name: data.nodes.length > 400 ? "grid" : "cose", animate: false,
                randomize: false, numIter: 400, nodeDimensionsIncludeLabels: false },
    });
    cy.on("tap", "node", (event) => show(event.target));
    box.dataset.level = data.level;
    box.dataset.nodes = String(data.nodes.length);
    if (!data.nodes.length) status.textContent = words.none;
    else if (data.level === "communities") {
      status.textContent = say(words.communities, { total: data.total, count: data.nodes.length,
                                                    alone: data.alone });
    } else status.textContent = say(words.members, { shown: data.shown, total: data.total });
    box.dataset.state = "drawn";
  }

  function show(node) {
    const d = node.data();
    if (node.hasClass("community")) {
      form.elements.community.value = String(d.community);
      load();
      return;
    }
    card.querySelector(".graph-card-name").textContent = d.label;
    card.querySelector(".graph-card-facts").textContent = say(words.facts, {
      sector: d.sector || "—", region: d.region || "—", degree: d.degree,
      community: d.community });
    card.querySelector(".graph-card-link").href = link.replace("{id}", encodeURIComponent(d.id));
    card.hidden = false;
  }

  async function load() {
    box.dataset.state = "loading";
    status.textContent = words.loading;
    const query = new URLSearchParams();
    for (const name of ["q", "sector", "region", "community"]) {
      const value = form.elements[name].value.trim();
      if (value) query.set(name, value);
    }
    try {
      const response = await fetch(words.src + (query.size ? "?" + query : ""), {
        credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      link = data.link;
      fill(data.filters);
      draw(data);
    } catch (error) {
      status.textContent = words.failed;
      box.dataset.state = "failed";
    }
  }

  form.addEventListener("submit", (event) => { event.preventDefault(); load(); });
  form.addEventListener("reset", () => setTimeout(load, 0));
  window.partnermatchNetwork = () => cy;  // for tests and the curious: the drawn graph
  load();
})();
