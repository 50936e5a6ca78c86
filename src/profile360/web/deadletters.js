// Dead letters (GET /api/v1/dead-letters, admin): each with its reason and origin, and for
// keys that may, re-drive of the selected ones or all (POST /api/v1/dead-letters/redrive).
import { call, ApiError } from "./api.js";
import { h, fill, note, table } from "./dom.js";

function origin(o) {
  return o ? `${o.topic} [${o.partition}] @${o.offset}` : "—";
}

function letters(items, selectable) {
  const cols = [["reason", "reason"], ["detail", "detail"], [(l) => origin(l.origin), "origin"],
    [(l) => l.origin?.timestamp ?? null, "origin time"], ["key", "key"], ["deadAt", "dead at"], ["id", "id"]];
  if (selectable) cols.unshift([(l) => h("input.pick", { type: "checkbox", value: l.id, "aria-label": `select ${l.id}` }), ""]);
  return table(items, cols, "#dead-letter-list");
}

async function redrive(root, me, status, body) {
  try {
    const { redriven } = await call("/api/v1/dead-letters/redrive", { method: "POST", body });
    await show(root, me, note("ok", `Re-drove ${redriven} letter${redriven === 1 ? "" : "s"}.`));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    fill(status, note("error", err.message));
  }
}

async function show(root, me, message) {
  const { items, total } = await call("/api/v1/dead-letters?limit=100");
  const status = h("div#dlq-status", {}, message);
  const picked = () => [...root.querySelectorAll("input.pick:checked")].map((el) => el.value);
  const actions = me.can.redrive && items.length ? h("p.actions", {},
    h("button#redrive-selected", { type: "button", onclick: () => redrive(root, me, status, { ids: picked() }) }, "Re-drive selected"),
    h("button#redrive-all.secondary", { type: "button", onclick: () => redrive(root, me, status, { all: true }) }, "Re-drive all"))
    : null;
  fill(root, h("h1", {}, "Dead letters"), h("p.muted#dlq-total", {}, `${total} in all; the latest ${items.length} shown`),
    status, actions, items.length ? letters(items, me.can.redrive) : note("info", "No dead letters."));
}

export async function render(root, _arg, me) {
  await show(root, me, null);
}
