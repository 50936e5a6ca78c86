// A small SVG line chart: one line per series over a sliding time window.
const NS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7ea4", "#57606a", "#fb8500",
  "#2ec4b6", "#6e40c9", "#b08800"];
const W = 560, H = 200, PAD = { left: 48, right: 12, top: 12, bottom: 24 };

function svg(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A round upper bound for the y axis (1, 2 or 5 times a power of ten). */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= value);
}

/** An <svg> of ``series`` ([{name, points: [[timeMs, value], …]}]) over the ``windowMs``
 *  before ``now``, titled ``label``. */
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
    const pts = s.points.filter(([t]) => t >= now - windowMs).map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
    if (!pts.length) return;
    const color = COLORS[i % COLORS.length], [cx, cy] = pts[pts.length - 1].split(",");
    root.append(svg("polyline", { points: pts.join(" "), stroke: color, class: "line" }),
      svg("circle", { cx, cy, r: 3, fill: color })); // the latest value, visible from the first one on
  });
  return root;
}

/** A legend for the series of ``lineChart``, in the same colours. */
export function legend(names) {
  const ul = document.createElement("ul");
  ul.className = "legend";
  names.forEach((name, i) => {
    const li = document.createElement("li");
    li.style.setProperty("--swatch", COLORS[i % COLORS.length]);
    li.textContent = name;
    ul.append(li);
  });
  return ul;
}
