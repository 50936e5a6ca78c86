// Calls to the profile360 API with the signed-in key (Authorization: Bearer).
import { key, expired } from "./session.js";

/** An error answer: the API's {"error": {status, code, message, field?}}. */
export class ApiError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "http_error";
    this.field = error.field || null;
  }
}

/** The JSON answer of ``method path`` (``body`` sent as JSON); throws ApiError on 4xx/5xx.
 *  A 401 means the key is no longer valid: the session ends. */
export async function call(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${key()}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await resp.json().catch(() => ({}));
  if (resp.ok) return data;
  if (resp.status === 401) expired();
  throw new ApiError(resp.status, data.error || {});
}

/** ``path`` with ``params`` as its query string (undefined values left out). */
export function withQuery(path, params) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== ""));
  return q.toString() ? `${path}?${q}` : path;
}
