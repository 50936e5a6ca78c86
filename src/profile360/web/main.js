// The console's shell: sign-in, navigation, and the page of the location's hash
// (#/overview, #/profiles/<id>, #/segments/<id>, #/dead-letters).
import { call, ApiError } from "./api.js";
import { fill, h, note } from "./dom.js";
import { forget, key, remember, whenExpired } from "./session.js";
import * as overview from "./overview.js";
import * as profile from "./profile.js";
import * as segments from "./segments.js";
import * as deadLetters from "./deadletters.js";

const PAGES = { overview, profiles: profile, segments, "dead-letters": deadLetters };
const $ = (id) => document.getElementById(id);
let me = null;
let visit = null; // the open page's AbortController: aborted when the user leaves it (stops its polling)

/** Checks ``candidate`` with GET /api/v1/me; on success the console opens for its role. */
async function signIn(candidate) {
  remember(candidate);
  try {
    me = await call("/api/v1/me");
  } catch (err) {
    forget();
    throw err;
  }
  $("who-text").textContent = `${me.tenantId} · ${me.role}`;
  $("nav-dead-letters").hidden = !me.can.readDeadLetters;
  $("sign-in").hidden = true;
  $("nav").hidden = $("who").hidden = false;
  await route();
}

function signedOut(message) {
  me = null;
  leave();
  fill($("page"));
  $("nav").hidden = $("who").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message || "";
  $("key").focus();
}

function leave() {
  if (visit) visit.abort();
  visit = null;
}

async function route() {
  if (!me) return;
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const page = PAGES[name] ? name : "overview";
  for (const a of document.querySelectorAll("#nav a[data-page]")) a.classList.toggle("active", a.dataset.page === page);
  leave();
  visit = new AbortController();
  // a page still loading when the user leaves it fills its own, detached, element
  const root = h("div", { dataset: { page } });
  fill($("page"), root);
  try {
    await PAGES[page].render(root, decodeURIComponent(rest.join("/")), me, visit.signal);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    fill(root, note("error", err.message));
  }
}

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("sign-in-button").disabled = true;
  try {
    await signIn($("key").value.trim());
    $("key").value = "";
  } catch (err) {
    $("sign-in-error").textContent = err instanceof ApiError ? err.message : String(err);
  } finally {
    $("sign-in-button").disabled = false;
  }
});
$("sign-out").addEventListener("click", () => { forget(); signedOut(); });
window.addEventListener("hashchange", route);
whenExpired(() => signedOut("The API refused the key (revoked?): sign in again."));

if (key()) signIn(key()).catch((err) => signedOut(err.message));
else signedOut();
