// The inbox: the key once, the conversations by last activity, one conversation, a reply (a template
// when the window is closed: templates.js), and the verification codes (codes.js).
// Polls every few seconds while the tab is visible, stops while it is hidden.

import * as api from "./api.js";
import { refreshCodes, setupCodes } from "./codes.js";
import { setupTemplatePicker, showTemplatePicker } from "./templates.js";
import { STATES, contactId, contactName, el, failureReason, formatTime, messageText, windowText } from "./view.js";

const POLL_MS = 4000;
const PAGE = 50;

const $ = (id) => document.getElementById(id);

const state = {
  contacts: [],
  contactsCursor: null,
  selected: null, // a contact key
  messages: new Map(), // entry key → entry, for the selected contact
  olderCursor: undefined, // undefined: not loaded yet; null: no older page
  composeKey: null, // the Idempotency-Key of the reply being written
  sending: false,
  timer: null,
  view: "inbox", // or "codes"
};

function newComposeKey() {
  return `console-${crypto.randomUUID()}`;
}

// ------------------------------------------------------------------ the key

function showKeyPane(message) {
  stopPolling();
  state.contacts = [];
  state.selected = null;
  state.messages.clear();
  $("inbox").hidden = true;
  $("codes-pane").hidden = true;
  $("views").hidden = true;
  $("forget").hidden = true;
  $("key-pane").hidden = false;
  $("key-input").value = "";
  const error = $("key-error");
  error.textContent = message || "";
  error.hidden = !message;
  $("key-input").focus();
}

async function useKey(event) {
  event.preventDefault();
  const key = $("key-input").value.trim();
  $("key-input").value = "";
  if (!key) {
    showKeyPane("Paste the send API's key first.");
    return;
  }
  api.setKey(key);
  $("key-submit").disabled = true;
  try {
    await refreshContacts();
    $("key-pane").hidden = true;
    $("key-error").hidden = true;
    showView("inbox");
    startPolling();
    const first = $("contacts").querySelector("button");
    if (first) first.focus();
  } catch (error) {
    handleError(error, $("key-error"));
    if (!(error instanceof api.Unauthorized)) {
      api.forgetKey();
      $("key-error").hidden = false;
    }
  } finally {
    $("key-submit").disabled = false;
  }
}

function forget() {
  api.forgetKey();
  showKeyPane("The key was forgotten.");
}

/** A wrong key goes back to the key form; anything else is shown where it happened. */
function handleError(error, where) {
  if (error instanceof api.Unauthorized) {
    showKeyPane(error.message);
    return;
  }
  where.textContent = error instanceof api.ApiError ? error.message : "Something went wrong; the page tries again.";
  where.classList.add("error");
}

// ------------------------------------------------------------------ the conversations

async function refreshContacts() {
  const page = await api.contacts(PAGE);
  // Keep the pages loaded beyond the first ("More conversations"), newest first, once each.
  const fresh = page.contacts || [];
  const keys = new Set(fresh.map((contact) => contact.contact));
  const rest = state.contacts.slice(PAGE).filter((contact) => !keys.has(contact.contact));
  state.contacts = [...fresh, ...rest];
  if (state.contactsCursor === null || state.contacts.length <= PAGE) state.contactsCursor = page.next_cursor;
  const status = $("list-status");
  status.classList.remove("error");
  status.textContent = state.contacts.length === 0 ? "No conversations yet." : "";
  renderContacts();
}

async function moreContacts() {
  if (!state.contactsCursor) return;
  try {
    const page = await api.contacts(PAGE, state.contactsCursor);
    const known = new Set(state.contacts.map((contact) => contact.contact));
    state.contacts.push(...(page.contacts || []).filter((contact) => !known.has(contact.contact)));
    state.contactsCursor = page.next_cursor;
    renderContacts();
  } catch (error) {
    handleError(error, $("list-status"));
  }
}

function renderContacts() {
  const list = $("contacts");
  const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.contact : null;
  const items = state.contacts.map((contact) => {
    const last = contact.last_message || {};
    const arrow = last.direction === "outbound" ? "You: " : "";
    const button = el(
      "button",
      {
        className: "contact",
        attributes: {
          type: "button",
          "data-contact": contact.contact,
          "aria-current": contact.contact === state.selected ? "true" : "false",
        },
      },
      [
        el("span", { className: "top" }, [
          el("span", { className: "name", text: contactName(contact) }),
          el("span", { className: "when", text: formatTime(last.timestamp) }),
        ]),
        el("span", { className: "id", text: contactId(contact) }),
        el("span", { className: "preview", text: `${arrow}${last.preview || (last.type ? `[${last.type}]` : "")}` }),
        el("span", { className: `badge${contact.window && contact.window.open ? " open" : ""}`, text: windowText(contact.window) }),
      ],
    );
    button.addEventListener("click", () => openContact(contact.contact));
    return el("li", {}, [button]);
  });
  list.replaceChildren(...items);
  $("more-contacts").hidden = !state.contactsCursor;
  if (focused) {
    const again = [...list.querySelectorAll("button")].find((button) => button.dataset.contact === focused);
    if (again) again.focus();
  }
  if (state.selected) renderConversationHead();
}

// ------------------------------------------------------------------ one conversation

function selectedContact() {
  return state.contacts.find((contact) => contact.contact === state.selected) || { contact: state.selected };
}

function entryKey(entry) {
  return entry.id || entry.wamid || `${entry.direction}:${entry.timestamp}`;
}

async function openContact(key) {
  if (state.selected !== key) {
    state.selected = key;
    state.messages.clear();
    state.olderCursor = undefined;
    state.composeKey = newComposeKey();
    $("reply-input").value = "";
    $("reply-note").textContent = "";
    $("messages").replaceChildren();
  }
  $("conversation-pane").hidden = false;
  $("inbox").classList.add("reading");
  renderContacts();
  renderConversationHead();
  await refreshConversation(true);
  $("reply-input").focus();
}

function closeContact() {
  $("inbox").classList.remove("reading");
  const button = [...$("contacts").querySelectorAll("button")].find((b) => b.dataset.contact === state.selected);
  if (button) button.focus();
}

function renderConversationHead() {
  const contact = selectedContact();
  $("conversation-title").textContent = contactName(contact);
  $("conversation-meta").textContent = `${contactId(contact)} · ${windowText(contact.window)}`;
  const open = Boolean(contact.window && contact.window.open);
  // A closed window: the template picker instead of the free-text reply.
  $("reply-form").hidden = !open;
  showTemplatePicker(state.selected, !open);
  $("reply-input").disabled = !open || state.sending;
  $("reply-send").disabled = !open || state.sending;
  if ($("reply-note").dataset.kind !== "result") $("reply-note").textContent = "";
}

async function refreshConversation(first) {
  const key = state.selected;
  if (!key) return;
  const status = $("conversation-status");
  try {
    const page = await api.conversation(key, PAGE);
    if (state.selected !== key) return;
    for (const entry of page.messages || []) state.messages.set(entryKey(entry), entry);
    if (state.olderCursor === undefined) state.olderCursor = page.next_cursor;
    status.textContent = "";
    status.classList.remove("error");
    renderMessages(first);
  } catch (error) {
    handleError(error, status);
  }
}

async function olderMessages() {
  const key = state.selected;
  if (!key || !state.olderCursor) return;
  try {
    const page = await api.conversation(key, PAGE, state.olderCursor);
    if (state.selected !== key) return;
    for (const entry of page.messages || []) state.messages.set(entryKey(entry), entry);
    state.olderCursor = page.next_cursor;
    renderMessages(false);
  } catch (error) {
    handleError(error, $("conversation-status"));
  }
}

function renderMessage(entry) {
  const outbound = entry.direction === "outbound";
  const item = el("li", {
    className: `message ${outbound ? "outbound" : "inbound"}${entry.status === "failed" ? " failed" : ""}`,
    attributes: { "data-key": entryKey(entry), "data-status": entry.status || "" },
  });
  if (entry.origin === "business_app") {
    item.append(el("span", { className: "origin", text: "Sent from the WhatsApp Business app" }));
  } else if (entry.origin === "auto-reply" || entry.origin === "call-reply") {
    item.append(el("span", { className: "origin", text: `Sent by the bundle (${entry.origin})` }));
  }
  if (entry.imported) item.append(el("span", { className: "origin", text: "Imported history" }));
  const media = entry.media;
  if (media && media.url) {
    if (entry.type === "image" || entry.type === "sticker") {
      item.append(el("img", { attributes: { src: media.url, alt: messageText(entry) || `${entry.type} from the conversation`, loading: "lazy", referrerpolicy: "no-referrer" } }));
    } else {
      const name = (entry.content && entry.content.filename) || `${entry.type} (${media.mime_type || "file"})`;
      item.append(el("a", { text: `Open ${name}`, attributes: { href: media.url, target: "_blank", rel: "noopener noreferrer" } }));
      item.append(document.createTextNode("\n"));
    }
  } else if (media) {
    item.append(el("span", { className: "note", text: media.error ? `${entry.type}: not kept (${media.error})` : `${entry.type}: not kept yet` }));
    item.append(document.createTextNode("\n"));
  }
  const text = messageText(entry);
  if (text) item.append(el("span", { className: "text", text }));
  const meta = el("span", { className: "meta" });
  if (outbound) {
    const known = STATES[entry.status] || { ticks: "", words: entry.status || "unknown", meaning: "" };
    meta.append(el("span", { className: `ticks ${entry.status || ""}`, text: known.ticks, attributes: { "aria-hidden": "true" } }));
    meta.append(el("span", { className: "state", text: known.words, attributes: { title: known.meaning } }));
    meta.append(document.createTextNode(" · "));
  }
  meta.append(el("time", { text: formatTime(entry.timestamp), attributes: { datetime: entry.timestamp } }));
  item.append(meta);
  if (outbound && entry.status === "failed") item.append(el("span", { className: "reason", text: failureReason(entry) }));
  if (outbound && entry.status === "unknown") item.append(el("span", { className: "reason", text: STATES.unknown.meaning }));
  return item;
}

function renderMessages(scrollToEnd) {
  const list = $("messages");
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const entries = [...state.messages.values()].sort((a, b) =>
    a.timestamp === b.timestamp ? entryKey(a).localeCompare(entryKey(b)) : a.timestamp < b.timestamp ? -1 : 1,
  );
  list.replaceChildren(...entries.map(renderMessage));
  $("older").hidden = !state.olderCursor;
  if (scrollToEnd || atEnd) list.scrollTop = list.scrollHeight;
}

// ------------------------------------------------------------------ the reply

async function sendReply(event) {
  event.preventDefault();
  if (state.sending || !state.selected) return;
  const input = $("reply-input");
  const text = input.value;
  if (!text.trim()) {
    $("reply-note").textContent = "Write something first.";
    return;
  }
  if (!state.composeKey) state.composeKey = newComposeKey();
  state.sending = true;
  renderConversationHead();
  const note = $("reply-note");
  note.dataset.kind = "result";
  note.classList.remove("error");
  note.textContent = "Sending…";
  try {
    // The same Idempotency-Key until this compose is accepted: a double click or a retry after a
    // lost answer is the same message, never a second one.
    await api.sendText(state.selected, text, state.composeKey);
    state.composeKey = newComposeKey();
    input.value = "";
    note.textContent = "Queued.";
    await refreshConversation(true);
    await refreshContacts();
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 409) state.composeKey = newComposeKey();
    handleError(error, note);
  } finally {
    state.sending = false;
    if (!$("key-pane").hidden) return;
    renderConversationHead();
    input.focus();
  }
}

// ------------------------------------------------------------------ polling

async function poll() {
  if (state.view === "codes") {
    await refreshCodes();
    return;
  }
  try {
    await refreshContacts();
    await refreshConversation(false);
  } catch (error) {
    handleError(error, $("list-status"));
  }
}

// ------------------------------------------------------------------ the views

/** The conversations or the verification codes, with the nav's state. */
function showView(view) {
  state.view = view;
  $("views").hidden = false;
  $("forget").hidden = false;
  $("inbox").hidden = view !== "inbox";
  $("codes-pane").hidden = view !== "codes";
  $("show-inbox").setAttribute("aria-pressed", String(view === "inbox"));
  $("show-codes").setAttribute("aria-pressed", String(view === "codes"));
  if (view === "codes") refreshCodes();
}

function startPolling() {
  stopPolling();
  if (document.visibilityState !== "visible" || !api.hasKey()) return;
  state.timer = setInterval(poll, POLL_MS);
}

function stopPolling() {
  if (state.timer !== null) clearInterval(state.timer);
  state.timer = null;
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && api.hasKey() && $("key-pane").hidden) {
    poll();
    startPolling();
  } else {
    stopPolling();
  }
});

// ------------------------------------------------------------------ start

$("key-form").addEventListener("submit", useKey);
$("forget").addEventListener("click", forget);
$("more-contacts").addEventListener("click", moreContacts);
$("older").addEventListener("click", olderMessages);
$("back").addEventListener("click", closeContact);
$("reply-form").addEventListener("submit", sendReply);
$("show-inbox").addEventListener("click", () => {
  showView("inbox");
  poll();
});
$("show-codes").addEventListener("click", () => showView("codes"));
setupCodes({ handleError });
setupTemplatePicker({
  handleError,
  onSent: async () => {
    await refreshConversation(true);
    await refreshContacts();
  },
});
$("reply-input").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) $("reply-form").requestSubmit();
});

if (api.hasKey()) {
  refreshContacts()
    .then(() => {
      $("key-pane").hidden = true;
      showView("inbox");
      startPolling();
    })
    .catch((error) => handleError(error, $("key-error")));
} else {
  showKeyPane("");
}
