// Profile explorer: look up any identifier (email:…, phone:…, a customer id) and see every
// section of the unified profile (GET /api/v1/customers/{id}/unified-profile).
import { call, ApiError } from "./api.js";
import { h, fill, note, show, table } from "./dom.js";
import { identityGraph } from "./graph.js";

// the columns shown for the list sections; any other section is shown generically
const COLUMNS = {
  identities: [["type", "type"], ["value", "value"], ["original", "original"], ["confidence", "confidence"],
    [(r) => (r.merged ? "merged" : "not merged"), "link"], ["firstSeenAt", "first seen"]],
  interactions: [["timestamp", "time"], ["interactionType", "type"], ["channel", "channel"], ["offerId", "offer"],
    ["creativeId", "creative"], ["customerId", "customer id"], ["value", "value"]],
  segments: [[(r) => h("a", { href: `#/segments/${encodeURIComponent(r.segmentId)}` }, r.segmentId), "segment"],
    ["segmentName", "name"], ["memberSince", "member since"]],
};

function keyValues(obj) {
  return h("table.kv", {}, h("tbody", {}, Object.entries(obj).map(([k, v]) =>
    h("tr", {}, h("th", {}, k), h("td", { dataset: { col: k } }, show(v))))));
}

function sectionBody(name, data, profileId) {
  if (Array.isArray(data)) {
    if (!data.length) return h("p.muted", {}, "none");
    const cols = COLUMNS[name] || Object.keys(data[0]).map((k) => [k, k]);
    const list = table(data, cols);
    return name === "identities" ? [identityGraph(profileId, data), list] : list;
  }
  return data && typeof data === "object" ? keyValues(data) : h("p", {}, show(data));
}

function renderProfile(box, profile) {
  fill(box, h("h2", {}, `Profile ${profile.customerId}`),
    h("p.muted", {}, `tenant ${profile.tenantId} · computed ${profile.computedAt}`),
    profile.sections.map((s) => h("section.card.section", { dataset: { section: s.name } },
      h("h3", {}, s.name), sectionBody(s.name, s.data, profile.customerId))));
}

export async function render(root, id) {
  const input = h("input#lookup", { name: "id", placeholder: "email:jane.doe@example.com, phone:+9715…, CUST007",
    value: id || "", required: true, spellcheck: "false" });
  const box = h("div#profile");
  const form = h("form.lookup", {
    onsubmit: (e) => { e.preventDefault(); location.hash = `#/profiles/${encodeURIComponent(input.value.trim())}`; },
  }, h("label", { for: "lookup" }, "Identifier"), input, h("button#lookup-button", { type: "submit" }, "Look up"));
  fill(root, h("h1", {}, "Profiles"), form, box);
  if (!id) {
    fill(box, note("info", "Look up a profile by any of its identifiers, as type:value or a customer id."));
    return;
  }
  try {
    renderProfile(box, await call(`/api/v1/customers/${encodeURIComponent(id)}/unified-profile`));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    fill(box, note("error", err.message));
  }
}
