// A small SVG line chart: one line per series over a sliding time window.
const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#57606a", "#fb8500",
  "#2ec4b6", "#6e40c9", "#b08800"];
const W = 560, H = 200, PAD = { left: 48, right: 12, top: 12, bottom: 24 };

/** An SVG element; ``text`` its content, ``tip`` a <title> (the browser's tooltip). */
function svg(tag, attrs, text, tip) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  if (tip !== undefined) el.append(svg("title", {}, tip));
  return el;
}

/** A round upper bound for the y axis (1, 2 or 5 times a power of ten). */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= value);
}

/** An <svg> of ``series`` ([{name, label?, points: [[timeMs, value], …]}]) over the ``windowMs``
 *  before ``now``, titled ``label``. Each series is drawn as a line through its points (from two
 *  on) and a dot at its latest value, so that a series of one point shows too; both carry the
 *  series' name as ``data-series`` and as a tooltip. */
export function lineChart(series, { label, now = Date.now(), windowMs = 300_000 }) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.points.map(([, v]) => v))));
  const x = (t) => PAD.left + ((t - (now - windowMs)) / windowMs) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": label });
  for (const f of [0, 0.5, 1]) {
    root.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(max * f), y2: y(max * f), class: "grid" }));
    root.append(svg("text", { x: PAD.left - 6, y: y(max * f) + 4, "text-anchor": "end", class: "tick" },
      (max * f).toLocaleString()));
  }
  root.append(svg("text", { x: PAD.left, y: H - 6, class: "tick" }, `−${Math.round(windowMs / 60000)} min`));
  root.append(svg("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end", class: "tick" }, "now"));
  series.forEach((s, i) => {
    const pts = s.points.filter(([t]) => t >= now - windowMs).map(([t, v]) => [x(t).toFixed(1), y(v).toFixed(1)]);
    if (!pts.length) return;
    const color = COLORS[i % COLORS.length], [cx, cy] = pts[pts.length - 1];
    const mark = (tag, attrs) => svg(tag, { ...attrs, "data-series": s.name }, undefined, s.name);
    if (pts.length > 1) root.append(mark("polyline", { points: pts.join(" "), stroke: color, class: "line" }));
    root.append(mark("circle", { cx, cy, r: 3, fill: color, class: "latest" }));
  });
  return root;
}

/** A legend for the series of ``lineChart``, in the same colours: their labels, their names
 *  as tooltips. */
export function legend(series) {
  const ul = document.createElement("ul");
  ul.className = "legend";
  series.forEach((s, i) => {
    const li = document.createElement("li");
    li.style.setProperty("--swatch", COLORS[i % COLORS.length]);
    li.textContent = s.label || s.name;
    li.title = s.name;
    ul.append(li);
  });
  return ul;
}
