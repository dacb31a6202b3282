// The bundle's own API (same origin: the paths are relative to the page), with the send API's key.
// The key lives in this tab's sessionStorage only; it is sent as the Authorization header and never
// put in a URL, a log line or an error message.

const KEY_NAME = "wabridge.console.key";

/** The API refused the key (401): it has been forgotten already. */
export class Unauthorized extends Error {
  constructor() {
    super("The API refused this key (401 Unauthorized). Nothing was kept: paste the send API's key again.");
    this.name = "Unauthorized";
  }
}

/** Any other refusal or failure: `status` (0: the API could not be reached) and the API's own message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

export function hasKey() {
  return Boolean(sessionStorage.getItem(KEY_NAME));
}

export function setKey(key) {
  sessionStorage.setItem(KEY_NAME, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_NAME);
}

/** A URL of the API beside the page (`/console` → `/contacts`; behind a stage or a base path too). */
function apiUrl(path, query) {
  const url = new URL(path, document.baseURI);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  return url;
}

async function call(method, path, { query, body, idempotencyKey } = {}) {
  const key = sessionStorage.getItem(KEY_NAME);
  if (!key) throw new Unauthorized();
  const headers = { Authorization: `Bearer ${key}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  let response;
  try {
    response = await fetch(apiUrl(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new ApiError(0, "The API could not be reached; the page tries again in a few seconds.");
  }
  if (response.status === 401) {
    forgetKey();
    throw new Unauthorized();
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (!response.ok) {
    const said = payload && typeof payload.error === "string" ? payload.error : "";
    throw new ApiError(response.status, `${response.status}${said ? `: ${said}` : ""}`);
  }
  return payload;
}

export function contacts(limit, cursor) {
  return call("GET", "contacts", { query: { limit, cursor } });
}

export function conversation(contact, limit, cursor) {
  return call("GET", `contacts/${encodeURIComponent(contact)}/messages`, { query: { limit, cursor } });
}

/** A message to `contact` (its key: the number's digits, or a business-scoped user id); `body` is the
 * send API's short shape without the recipient. */
export function sendMessage(contact, body, idempotencyKey) {
  const to = /^[0-9]+$/.test(contact) ? { to: `+${contact}` } : { recipient: contact };
  return call("POST", "messages", { body: { ...to, ...body }, idempotencyKey });
}

/** A free-form text to `contact`. */
export function sendText(contact, text, idempotencyKey) {
  return sendMessage(contact, { type: "text", body: text }, idempotencyKey);
}

/** The WABA's templates, with the parameters each takes. */
export function templates() {
  return call("GET", "templates");
}

/** The codes captured for `number` (empty: the stack's TwilioPhoneNumber), the latest first. */
export function verificationCodes(number) {
  return call("GET", "verification-codes", { query: { number, limit: 20 } });
}
