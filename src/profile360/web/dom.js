// Building DOM nodes without innerHTML: every value the API returns is text, never markup.

/** h("tag.class#id", {attr: value, onclick: fn}, ...children): an element. */
export function h(spec, attrs = {}, ...children) {
  const [, tag, rest] = spec.match(/^([a-z0-9]+)(.*)$/i);
  const el = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === "#") el.id = part.slice(1); else el.classList.add(part.slice(1));
  }
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children (nodes, strings, numbers, arrays of them; null and false are skipped). */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** Replaces the children of ``el``. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A value as text: objects and lists as compact JSON, null as an em dash. */
export function show(value) {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** A table of ``rows`` (objects) with ``columns`` ([key, heading] pairs, or keys). */
export function table(rows, columns, cls = "") {
  const cols = columns.map((c) => (Array.isArray(c) ? c : [c, c]));
  return h(`table${cls}`, {},
    h("thead", {}, h("tr", {}, cols.map(([, title]) => h("th", {}, title)))),
    h("tbody", {}, rows.map((row) => h("tr", {}, cols.map(([key]) => {
      const value = typeof key === "function" ? key(row) : row[key];
      return h("td", { dataset: { col: typeof key === "string" ? key : "" } }, value instanceof Node ? value : show(value));
    })))));
}

/** A message box; ``kind`` is "error", "info" or "ok". */
export function note(kind, text) {
  return h(`p.note.${kind}`, { role: kind === "error" ? "alert" : "status" }, text);
}
