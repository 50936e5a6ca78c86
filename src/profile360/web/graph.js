// The identity graph of a profile: its identifiers around it, a solid line for each merged one
// and a dashed line for each linked below the tenant's threshold (not merged), with confidence.
const NS = "http://www.w3.org/2000/svg";
const W = 560, R = 120, CX = W / 2, CY = 160;

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** An <svg> of ``profileId`` and its ``identities`` (the unified profile's section). */
export function identityGraph(profileId, identities) {
  const root = svg("svg", { viewBox: `0 0 ${W} 320`, class: "graph", role: "img", "aria-label": "identity graph" });
  const edges = svg("g", {}), nodes = svg("g", {});
  identities.forEach((id, i) => {
    const a = (2 * Math.PI * i) / identities.length - Math.PI / 2;
    const x = CX + Math.cos(a) * R * 1.6, y = CY + Math.sin(a) * R;
    edges.append(svg("line", { x1: CX, y1: CY, x2: x, y2: y, class: id.merged ? "edge merged" : "edge unmerged" }));
    edges.append(svg("text", { x: (CX + x) / 2, y: (CY + y) / 2 - 4, class: "conf", "text-anchor": "middle" },
      Number(id.confidence).toFixed(2)));
    const g = svg("g", { class: id.merged ? "node merged" : "node unmerged" });
    g.append(svg("circle", { cx: x, cy: y, r: 6 }));
    g.append(svg("text", { x, y: y + (y > CY ? 20 : -12), "text-anchor": "middle" }, `${id.type}:${id.value}`));
    nodes.append(g);
  });
  root.append(edges, nodes, svg("circle", { cx: CX, cy: CY, r: 34, class: "center" }),
    svg("text", { x: CX, y: CY + 4, "text-anchor": "middle", class: "center-label" }, profileId));
  return root;
}
