// The signed-in API key, kept in sessionStorage: this tab only, gone when it closes.
const STORE = "profile360.key";
let onExpired = () => {};

export function key() {
  return sessionStorage.getItem(STORE);
}

/** Remembers ``value`` as the key (call ``me`` to check it first). */
export function remember(value) {
  sessionStorage.setItem(STORE, value);
}

export function forget() {
  sessionStorage.removeItem(STORE);
}

/** ``fn`` runs when the API refuses the key (401): revoked, or never valid. */
export function whenExpired(fn) {
  onExpired = fn;
}

export function expired() {
  forget();
  onExpired();
}
