// Rendering helpers. Every string that comes from a customer, Meta or the API goes into the page
// through textContent or an attribute set by name, never parsed as markup.

/** An element with a class, a text and children; `attributes` are set by name (never markup). */
export function el(tag, { className, text, attributes } = {}, children = []) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child) node.append(child);
  }
  return node;
}

export function formatTime(iso) {
  const time = new Date(iso);
  if (Number.isNaN(time.getTime())) return "";
  const today = new Date().toDateString() === time.toDateString();
  return today
    ? time.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : time.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

/** "open · 23 h 05 min left" or "closed". */
export function windowText(window) {
  if (!window || !window.open) return "24-hour window closed";
  const left = Math.max(0, Number(window.seconds_left) || 0);
  const hours = Math.floor(left / 3600);
  const minutes = Math.floor((left % 3600) / 60);
  return `window open · ${hours} h ${String(minutes).padStart(2, "0")} min left`;
}

/** The ticks and words of an outbound message's state. */
export const STATES = {
  queued: { ticks: "🕓", words: "queued", meaning: "stored and waiting for the worker" },
  sending: { ticks: "🕓", words: "sending", meaning: "the worker is sending it to Meta" },
  accepted: { ticks: "✓", words: "accepted", meaning: "Meta accepted it; no delivery report yet" },
  sent: { ticks: "✓", words: "sent", meaning: "Meta sent it" },
  delivered: { ticks: "✓✓", words: "delivered", meaning: "it reached the customer's phone" },
  read: { ticks: "✓✓", words: "read", meaning: "the customer read it" },
  failed: { ticks: "✗", words: "failed", meaning: "Meta could not deliver it" },
  unknown: {
    ticks: "?",
    words: "unknown",
    meaning:
      "Meta's answer to the send was lost: it may or may not have gone out. The bundle waits for a status and resends at most once.",
  },
};

/** What a message says, as text. */
export function messageText(entry) {
  const content = entry.content || {};
  const parts = [
    content.body,
    content.caption,
    content.title,
    content.emoji,
    content.name && entry.type === "template" ? `template ${content.name}` : content.name,
    content.address,
  ].filter((part) => typeof part === "string" && part !== "");
  if (parts.length > 0) return parts.join("\n");
  if (entry.type === "text") return "";
  return `[${entry.type || "message"}]`;
}

/** Meta's reason for a failure, as one line. */
export function failureReason(entry) {
  const errors = Array.isArray(entry.errors) ? entry.errors : [];
  const first = errors[0];
  if (!first) return "Meta gave no reason";
  const details = first.error_data && typeof first.error_data.details === "string" ? first.error_data.details : "";
  const said = [first.title, first.message, details].filter((part) => typeof part === "string" && part !== "");
  const unique = [...new Set(said)];
  return `${unique.join(" — ") || "no reason given"}${first.code ? ` (code ${first.code})` : ""}`;
}

/** A name for a contact: its profile name, username, number or user id. */
export function contactName(contact) {
  return contact.name || contact.username || (contact.phone_number ? `+${contact.phone_number}` : contact.contact);
}

export function contactId(contact) {
  const id = contact.phone_number ? `+${contact.phone_number}` : contact.user_id || contact.contact;
  return contact.username ? `${id} · @${contact.username}` : id;
}
