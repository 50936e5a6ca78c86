// Segments: the list with member counts (GET /api/v1/segments), and for keys whose role may
// write, a form to create or edit one (PUT /api/v1/segments/{id}); a bad rule's error is shown
// under the rule with a caret at its column.
import { call, ApiError } from "./api.js";
import { h, fill, note, table } from "./dom.js";

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

function list(segments, me) {
  const cols = [[(s) => h("a", { href: `#/segments/${encodeURIComponent(s.id)}` }, s.id), "id"], ["name", "name"],
    [(s) => h("code", {}, s.rule), "rule"], ["memberCount", "members"], ["version", "version"], ["updatedAt", "updated"]];
  return [
    me.can.editSegments ? h("p", {}, h("a.button#new-segment", { href: "#/segments/new" }, "New segment")) : null,
    segments.length ? table(segments, cols, "#segment-list") : note("info", "No segments yet."),
  ];
}

/** The column of a rule error ("at column 20: …"), or null. */
export function errorColumn(message) {
  const m = /at column (\d+)/.exec(message);
  return m ? Number(m[1]) : null;
}

function ruleError(rule, message) {
  const column = errorColumn(message);
  return h("div.rule-error#rule-error", { role: "alert", dataset: { column: column ?? "" } },
    column ? h("pre.caret", {}, rule, "\n", " ".repeat(column - 1) + "^") : null, h("p.error", {}, message));
}

function field(label, input, hint) {
  return h("div.field", {}, h("label", { for: input.id }, label), input, hint ? h("p.muted", {}, hint) : null,
    h("p.error.field-error", { dataset: { for: input.name } }));
}

function editor(segment, me, done) {
  const editable = me.can.editSegments;
  const id = h("input#seg-id", { name: "id", value: segment?.id || "", readonly: !!segment || !editable, required: true });
  const name = h("input#seg-name", { name: "name", value: segment?.name || "", readonly: !editable, required: true });
  const rule = h("textarea#seg-rule", { name: "rule", rows: 3, readonly: !editable, spellcheck: "false", required: true });
  rule.value = segment?.rule || "";
  const description = h("input#seg-description", { name: "description", value: segment?.description || "", readonly: !editable });
  const status = h("div#seg-status");
  const form = h("form.card.editor#segment-form", {}, field("Id", id), field("Name", name),
    field("Rule", rule, "e.g. trait.country in [\"AE\", \"SA\"] and count(purchase, 30) >= 3"), field("Description", description),
    status, editable ? h("button#save-segment", { type: "submit" }, "Save") : null);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
    if (!ID.test(id.value)) return fill(form.querySelector('[data-for="id"]'), "letters, digits, _ . - (at most 100)");
    const body = { name: name.value, rule: rule.value, description: description.value || null };
    try {
      const saved = await call(`/api/v1/segments/${encodeURIComponent(id.value)}`, { method: "PUT", body });
      fill(status, note("ok", saved.status === "accepted" ? "Accepted: the worker applies it shortly."
        : `Saved: version ${saved.version}, ${saved.memberCount} members${saved.changed ? "" : " (no change)"}.`));
      done(id.value);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === "invalid_rule") fill(status, ruleError(rule.value, err.message));
      else {
        const at = err.field && form.querySelector(`[data-for="${err.field.replace(/^body\./, "")}"]`);
        fill(at || status, at ? err.message : note("error", err.message));
      }
    }
  });
  return form;
}

async function members(id) {
  const page = await call(`/api/v1/segments/${encodeURIComponent(id)}/members?limit=20`);
  return h("div.card#segment-members", {}, h("h2", {}, `Members (${page.total})`),
    table(page.data, [[(m) => h("a", { href: `#/profiles/${encodeURIComponent(m.customerId)}` }, m.customerId), "customer"],
      ["memberSince", "member since"]]));
}

export async function render(root, id, me) {
  if (!id) {
    const { data } = await call("/api/v1/segments");
    fill(root, h("h1", {}, "Segments"), list(data, me));
    return;
  }
  const segment = id === "new" ? null : await call(`/api/v1/segments/${encodeURIComponent(id)}`);
  const reload = (saved) => { if (id === "new") location.hash = `#/segments/${encodeURIComponent(saved)}`; else refresh(); };
  const side = h("div#segment-side");
  const refresh = async () => { if (segment) fill(side, await members(segment.id)); };
  fill(root, h("h1", {}, segment ? `Segment ${segment.id}` : "New segment"),
    h("p", {}, h("a", { href: "#/segments" }, "← all segments")), editor(segment, me, reload), side);
  await refresh();
}
