// The verification codes view: the codes the Twilio functions heard in Meta's verification calls
// (GET /verification-codes), the latest first, for the owner in the middle of onboarding. The number
// is the stack's TwilioPhoneNumber unless one is typed in; it is kept in this page only.

import * as api from "./api.js";
import { el, formatTime } from "./view.js";

const $ = (id) => document.getElementById(id);

const view = { number: "", hooks: null };

function renderCodes(answer) {
  const codes = answer.codes || [];
  if (!view.number && answer.number) $("codes-number").placeholder = answer.number;
  const items = codes.map((code) => {
    const how = [
      `heard by ${code.captured_by || "?"}`,
      typeof code.confidence === "number" ? `confidence ${code.confidence.toFixed(2)}` : "",
      code.heard ? `“${code.heard}”` : "",
      code.from ? `from ${code.from}` : "",
    ].filter(Boolean);
    return el("li", { className: "code-entry" }, [
      el("span", { className: "code", text: code.code }),
      el("time", { text: formatTime(code.received_at), attributes: { datetime: code.received_at } }),
      el("span", { className: "note", text: how.join(" · ") }),
    ]);
  });
  $("codes").replaceChildren(...items);
  const status = $("codes-status");
  status.classList.remove("error");
  status.textContent = codes.length === 0 ? `No code captured for ${answer.number} yet.` : `For ${answer.number}, the latest first.`;
}

/** Reads the codes again (the poll calls it while the view is shown). */
export async function refreshCodes() {
  try {
    renderCodes(await api.verificationCodes(view.number));
  } catch (error) {
    view.hooks.handleError(error, $("codes-status"));
  }
}

/** Wires the number form; `hooks.handleError` shows a failure. */
export function setupCodes(hooks) {
  view.hooks = hooks;
  $("codes-form").addEventListener("submit", (event) => {
    event.preventDefault();
    view.number = $("codes-number").value.trim();
    refreshCodes();
  });
}
