// The template picker, for a contact whose 24-hour window is closed: the WABA's approved templates
// (GET /templates), one labelled field per parameter the chosen template takes (Meta's example as the
// placeholder), a preview as text, and a send with an Idempotency-Key per compose.

import * as api from "./api.js";
import { el } from "./view.js";

const $ = (id) => document.getElementById(id);
/** How long a loaded list is used before it is asked for again (a template Meta just approved shows). */
const FRESH_MS = 60000;

const picker = {
  templates: [],
  loadedAt: 0,
  composeKey: null,
  sending: false,
  contact: null,
  hooks: null,
};

function newComposeKey() {
  return `console-template-${crypto.randomUUID()}`;
}

/** The parameters a send gives, each with where it goes: `{part, index, parameter, id, label}`. */
function fieldsOf(template) {
  const fields = [];
  const add = (part, button, parameter, label) =>
    fields.push({ part, button, parameter, id: `tp-${fields.length}`, label });
  for (const parameter of (template.header && template.header.parameters) || []) {
    const media = parameter.type !== "text";
    add("header", null, parameter, media ? `Header ${parameter.type} (a link to the file)` : `Header {{${parameter.name}}}`);
  }
  for (const parameter of (template.body && template.body.parameters) || []) {
    add("body", null, parameter, `Body {{${parameter.name}}}`);
  }
  for (const button of template.buttons || []) {
    for (const parameter of button.parameters || []) {
      const label = parameter.type === "coupon_code" ? `Button "${button.text || "copy code"}": coupon code` : `Button "${button.text || button.index}" {{${parameter.name}}}`;
      add("button", button, parameter, label);
    }
  }
  return fields;
}

/** Why the console cannot send a template (it can through the API), or "" when it can. */
function unsupported(template) {
  if (template.status !== "APPROVED") return template.status || "not approved";
  if ((template.other_components || []).length > 0) return `${template.other_components.join(", ").toLowerCase()}: send it through the API`;
  const header = template.header && template.header.parameters && template.header.parameters[0];
  if (header && header.type === "location") return "location header: send it through the API";
  return "";
}

/** The chosen template; none while "Choose a template…" is selected (its value is ""). */
function selected() {
  const value = $("template-select").value;
  if (value === "") return undefined;
  const index = Number(value);
  return Number.isInteger(index) ? picker.templates[index] : undefined;
}

function values() {
  const template = selected();
  if (!template) return [];
  return fieldsOf(template).map((field) => ({ ...field, value: $(field.id) ? $(field.id).value.trim() : "" }));
}

/** The send's `components`, in Meta's shape, from the fields. */
function components(template, filled) {
  const named = template.parameter_format === "NAMED";
  const text = (field) => ({ type: "text", text: field.value, ...(named ? { parameter_name: field.parameter.name } : {}) });
  const result = [];
  const header = filled.filter((field) => field.part === "header");
  if (header.length > 0) {
    result.push({
      type: "header",
      parameters: header.map((field) =>
        field.parameter.type === "text" ? text(field) : { type: field.parameter.type, [field.parameter.type]: { link: field.value } },
      ),
    });
  }
  const body = filled.filter((field) => field.part === "body");
  if (body.length > 0) result.push({ type: "body", parameters: body.map(text) });
  for (const button of template.buttons || []) {
    const given = filled.filter((field) => field.button === button);
    if (given.length === 0) continue;
    const copy = button.type === "COPY_CODE";
    result.push({
      type: "button",
      sub_type: copy ? "copy_code" : "url",
      index: String(button.index),
      parameters: given.map((field) => (copy ? { type: "coupon_code", coupon_code: field.value } : { type: "text", text: field.value })),
    });
  }
  return result;
}

/** The template's texts with the values given so far (the others as [name]). */
function preview(template, filled) {
  const fill = (text, part) =>
    (text || "").replace(/\{\{\s*([^}]+?)\s*\}\}/g, (whole, name) => {
      const field = filled.find((f) => f.part === part && f.parameter.name === name);
      return field && field.value ? field.value : `[${name}]`;
    });
  const lines = [];
  if (template.header && template.header.format === "TEXT") lines.push(fill(template.header.text, "header"));
  else if (template.header) lines.push(`[${template.header.format.toLowerCase()}]`);
  if (template.body) lines.push(fill(template.body.text, "body"));
  if (template.footer) lines.push(template.footer);
  const buttons = (template.buttons || []).filter((button) => button.text).map((button) => `[ ${button.text} ]`);
  if (buttons.length > 0) lines.push(buttons.join("  "));
  return lines.join("\n\n");
}

function renderFields() {
  const template = selected();
  const box = $("template-fields");
  picker.composeKey = newComposeKey();
  if (!template) {
    box.replaceChildren();
    $("template-preview").textContent = "";
    $("template-send").disabled = true;
    return;
  }
  const rows = fieldsOf(template).map((field) =>
    el("div", { className: "field" }, [
      el("label", { text: field.label, attributes: { for: field.id } }),
      el("input", {
        attributes: {
          id: field.id,
          type: field.parameter.type === "text" || field.parameter.type === "coupon_code" ? "text" : "url",
          required: "required",
          placeholder: field.parameter.example || "",
          autocomplete: "off",
        },
      }),
    ]),
  );
  box.replaceChildren(...rows);
  for (const row of rows) row.querySelector("input").addEventListener("input", changed);
  $("template-preview").textContent = preview(template, values());
  $("template-send").disabled = picker.sending;
}

/** Any edit is another message: a new Idempotency-Key (a double click without an edit keeps it). */
function changed() {
  picker.composeKey = newComposeKey();
  const template = selected();
  if (template) $("template-preview").textContent = preview(template, values());
}

function renderOptions() {
  const select = $("template-select");
  const previous = selected();
  const options = picker.templates.map((template, index) => {
    const why = unsupported(template);
    return el("option", {
      text: `${template.name} · ${template.language}${why ? ` (${why})` : ""}`,
      attributes: { value: String(index), disabled: why ? "disabled" : false },
    });
  });
  select.replaceChildren(el("option", { text: "Choose a template…", attributes: { value: "" } }), ...options);
  if (previous) {
    const again = picker.templates.findIndex((t) => t.name === previous.name && t.language === previous.language);
    if (again >= 0 && !unsupported(picker.templates[again])) select.value = String(again);
  }
  renderFields();
}

async function load() {
  const note = $("template-note");
  if (Date.now() - picker.loadedAt < FRESH_MS && picker.templates.length > 0) return;
  note.classList.remove("error");
  note.textContent = "Loading the templates…";
  try {
    const answer = await api.templates();
    picker.templates = answer.templates || [];
    picker.loadedAt = Date.now();
    note.textContent = picker.templates.some((t) => !unsupported(t)) ? "" : "This WhatsApp Business Account has no approved template yet.";
    renderOptions();
  } catch (error) {
    picker.hooks.handleError(error, note);
  }
}

async function send(event) {
  event.preventDefault();
  const template = selected();
  if (picker.sending || !template || !picker.contact) return;
  const filled = values();
  const missing = filled.find((field) => !field.value);
  const note = $("template-note");
  note.classList.remove("error");
  if (missing) {
    note.textContent = `${missing.label}: fill it in first.`;
    $(missing.id).focus();
    return;
  }
  if (!picker.composeKey) picker.composeKey = newComposeKey();
  picker.sending = true;
  $("template-send").disabled = true;
  note.textContent = "Sending…";
  try {
    const body = { type: "template", name: template.name, language: template.language, components: components(template, filled) };
    await api.sendMessage(picker.contact, body, picker.composeKey);
    // Sent: the form starts over (another template is another compose, with a new key).
    $("template-select").value = "";
    renderFields();
    note.textContent = "Queued.";
    note.scrollIntoView({ block: "nearest" });
    await picker.hooks.onSent();
  } catch (error) {
    if (error instanceof api.ApiError && error.status === 409) picker.composeKey = newComposeKey();
    picker.hooks.handleError(error, note);
  } finally {
    picker.sending = false;
    $("template-send").disabled = !selected();
  }
}

/** Wires the form; `hooks.onSent` refreshes the conversation, `hooks.handleError` shows a failure. */
export function setupTemplatePicker(hooks) {
  picker.hooks = hooks;
  $("template-select").addEventListener("change", renderFields);
  $("template-form").addEventListener("submit", send);
}

/** Shows the picker for `contact` (window closed), or hides it (window open). */
export function showTemplatePicker(contact, shown) {
  const form = $("template-form");
  if (picker.contact !== contact) {
    picker.contact = contact;
    $("template-note").textContent = "";
    $("template-select").value = "";
    renderFields();
  }
  const wasHidden = form.hidden;
  form.hidden = !shown;
  if (shown && wasHidden) load();
}
