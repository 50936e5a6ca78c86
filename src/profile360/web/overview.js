// Overview: seed 000's cards (GET /{locale}/api/customer360) and live ingest from
// GET /api/v1/status, polled: events/s (the change of a topic's summed positions between two
// polls) and lag (summed over partitions) per topic, over the last minutes (as many as there
// are samples of, from 1 to 5: a page just opened shows its first polls across the chart).
import { call, ApiError } from "./api.js";
import { h, fill, note, table } from "./dom.js";
import { lineChart, legend } from "./chart.js";

const POLL_MS = 2000, MINUTE = 60_000, WINDOW_MS = 5 * MINUTE;

function card(name, value, test) {
  return h("div.card.stat", { dataset: { card: test } }, h("div.label", {}, name), h("div.value", {}, value.toLocaleString()));
}

function cards(data) {
  const reach = Object.entries(data.channelReach || {});
  return [
    h("div.cards", {}, card("Total contacts", data.totalContacts, "totalContacts"),
      card("Active (30 days)", data.activeContacts, "activeContacts"),
      card("New this month", data.newContactsThisMonth, "newContactsThisMonth")),
    h("div.cols", {},
      h("div.card", { dataset: { card: "topSegments" } }, h("h2", {}, "Top segments"),
        table(data.topSegments, [[(s) => h("a", { href: `#/segments/${encodeURIComponent(s.id)}` }, s.name), "segment"],
          ["contactCount", "contacts"]])),
      h("div.card", { dataset: { card: "channelReach" } }, h("h2", {}, "Channel reach"),
        table(reach.map(([channel, count]) => ({ channel, count })), [["channel", "channel"], ["count", "reachable contacts"]]))),
  ];
}

/** How ``topics`` are labelled: by their family (the part after the last ".") when they all
 *  share one prefix (the deployment's), else by their full names. */
function labels(topics) {
  const prefix = (t) => t.slice(0, t.lastIndexOf(".") + 1);
  const one = new Set(topics.map(prefix)).size === 1;
  return (topic) => (one ? topic.slice(prefix(topic).length) : topic);
}

/** Per topic: [{time, position, lag}] samples, and the charts' series from them. */
class Ingest {
  constructor() { this.samples = new Map(); }

  add(status, now) {
    const sums = new Map();
    for (const p of status.topics) {
      const s = sums.get(p.topic) || { position: 0, lag: 0 };
      s.position += p.position || 0;
      s.lag += p.lag || 0;
      sums.set(p.topic, s);
    }
    for (const [topic, s] of sums) {
      const list = this.samples.get(topic) || [];
      list.push({ time: now, ...s });
      while (list.length && list[0].time < now - WINDOW_MS) list.shift();
      this.samples.set(topic, list);
    }
  }

  /** The charts' window at ``now``: the time since the oldest sample kept, in whole minutes
   *  from 1 to WINDOW_MS. */
  windowMs(now) {
    const oldest = Math.min(now, ...[...this.samples.values()].map((list) => list[0].time));
    return Math.min(WINDOW_MS, Math.max(1, Math.ceil((now - oldest) / MINUTE)) * MINUTE);
  }

  series(kind) {
    const label = labels([...this.samples.keys()]);
    return [...this.samples].map(([topic, list]) => ({
      name: topic,
      label: label(topic),
      points: kind === "lag" ? list.map((s) => [s.time, s.lag]) : list.slice(1).map((s, i) =>
        [s.time, Math.max(0, (s.position - list[i].position) / ((s.time - list[i].time) / 1000))]),
    }));
  }
}

function drawIngest(box, ingest, status, now) {
  const rate = ingest.series("rate"), lag = ingest.series("lag");
  const last = (s) => (s.points.length ? s.points[s.points.length - 1][1] : 0), windowMs = ingest.windowMs(now);
  fill(box, h("h2", {}, "Live ingest"),
    h("p.muted", {}, `generation ${status.generation} · dead letters ${status.deadLetters} · checked ${status.checkedAt}`),
    h("div.cols", {},
      h("figure", {}, h("figcaption", {}, "events/s per topic"), lineChart(rate, { label: "events per second", now, windowMs })),
      h("figure", {}, h("figcaption", {}, "lag per topic"), lineChart(lag, { label: "lag", now, windowMs }))),
    legend(rate),
    table(rate.map((s, i) => ({ topic: h("span", { title: s.name }, s.label), rate: last(s).toFixed(1), lag: last(lag[i]) })),
      [["topic", "topic"], ["rate", "events/s"], ["lag", "lag"]], ".ingest"));
}

/** Renders into ``root`` and polls the status until ``signal`` aborts (the user left). */
export async function render(root, _arg, _me, signal) {
  const overview = h("div#overview"), live = h("div.card#ingest", {}, h("h2", {}, "Live ingest"), note("info", "loading…"));
  fill(root, h("h1", {}, "Overview"), overview, live);
  try {
    fill(overview, cards((await call("/en/api/customer360")).result.data));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    fill(overview, note("error", err.message));
  }
  const ingest = new Ingest();
  let timer = null;
  signal.addEventListener("abort", () => clearTimeout(timer));
  const poll = async () => {
    if (signal.aborted) return;
    try {
      const status = await call("/api/v1/status"), now = Date.now();
      ingest.add(status, now);
      drawIngest(live, ingest, status, now);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      fill(live, h("h2", {}, "Live ingest"), note("error", err.message));
    }
    if (!signal.aborted) timer = setTimeout(poll, POLL_MS);
  };
  await poll();
}
