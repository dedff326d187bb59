// Page behaviour of the inbox: forms sent with fetch, the composer, and rendering of messages
// that arrive live. User text is only ever set with textContent; HTML comes from the server's
// auto-escaped templates (list rows, history fragments).

import { gettext, interpolate } from "./i18n.js";

export const STATUS_LABELS = {
  bot: gettext("Bot"),
  pending: gettext("Waiting for an agent"),
  open: gettext("Open"),
  snoozed: gettext("Snoozed"),
  resolved: gettext("Resolved"),
};
const DELIVERY_LABELS = {
  queued: gettext("Queued"),
  sending: gettext("Sending"),
  sent: gettext("Sent"),
  delivered: gettext("Delivered"),
  read: gettext("Read"),
  failed: gettext("Failed"),
};
const TICKS = { queued: "◷", sending: "◷", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠" };

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** An attachment's status as the page template shows it (Attachment.Status labels). */
function attachmentStatus(status) {
  const labels = { pending: gettext("Waiting for download"), stored: gettext("Stored"), too_large: gettext("Too large"),
    failed: gettext("Download failed") };
  return labels[status] || status;
}

export async function postForm(url, body) {
  const response = await fetch(url, {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
  });
  let data = {};
  try {
    data = await response.json();
  } catch {
    data = { ok: false, error: interpolate(gettext("The server answered %s."), [response.status]) };
  }
  return data;
}

export function toast(text, kind = "success") {
  let box = document.querySelector(".flashes");
  if (!box) {
    box = document.createElement("div");
    box.className = "flashes";
    box.setAttribute("role", "status");
    document.body.appendChild(box);
  }
  const item = document.createElement("div");
  item.className = `flash flash-${kind}`;
  item.textContent = text;
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 3000);
}

export function channelIcon(kind) {
  const source = document.querySelector(`#channel-icons`);
  const holder = source && source.content.querySelector(`[data-kind="${CSS.escape(kind || "webchat")}"]`);
  return holder ? holder.firstElementChild.cloneNode(true) : document.createElement("span");
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

// Dates as the page's language writes them (the <html lang>), 24-hour clock where that
// language uses it; the server renders the same messages with Django's formats.
const pageLanguage = document.documentElement.lang || undefined;

function formatTime(iso) {
  return new Date(iso).toLocaleString(pageLanguage, {
    day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

export function contactName() {
  const title = document.querySelector(".conv-title h1");
  return title ? title.textContent : gettext("Customer");
}

/** Build a message element from a ``message_payload`` (the same markup as _message.html). */
export function renderMessage(p) {
  if (p.sender_kind === "system") {
    const node = el("div", `msg msg-system${p.is_private_note ? " msg-note" : ""}`);
    node.id = `message-${p.id}`;
    node.dataset.messageId = p.id;
    node.dataset.conversationId = p.conversation_id;
    node.append(el("span", "msg-system-text", p.text), " ");
    const time = el("time", "reltime", new Date(p.created_at).toLocaleTimeString(pageLanguage, { hour: "2-digit", minute: "2-digit" }));
    time.dateTime = p.created_at;
    node.append(time);
    return node;
  }
  const node = el("div", `msg msg-${p.direction} msg-${p.sender_kind}${p.is_private_note ? " msg-note" : ""}`);
  node.id = `message-${p.id}`;
  node.dataset.messageId = p.id;
  node.dataset.conversationId = p.conversation_id;
  node.dataset.delivery = p.delivery_state || "";
  const bubble = el("div", "bubble");
  const meta = el("div", "msg-meta");
  meta.append(channelIcon(p.channel_kind));
  let author = p.author_name || gettext("Agent");
  if (p.direction === "in") author = contactName();
  else if (p.sender_kind === "bot") author = gettext("Bot");
  meta.append(el("span", "msg-author", author));
  if (p.is_private_note) meta.append(el("span", "note-tag", gettext("Private note")));
  bubble.append(meta);
  if (p.reply_to) bubble.append(el("div", "msg-replyto", `↩ ${p.reply_to.text.slice(0, 90)}`));
  const meta_ = p.metadata || {};
  if (meta_.deleted_by_customer) {
    const deleted = el("div", "msg-deleted", gettext("Deleted by the customer"));
    deleted.dataset.role = "deleted";
    bubble.append(deleted);
  }
  if (p.text) bubble.append(el("div", meta_.deleted_by_customer ? "msg-text msg-text-deleted" : "msg-text", p.text));
  if (Array.isArray(meta_.edits) && meta_.edits.length) {
    // The customer edited the message: the current text shows, earlier versions one click away.
    const edits = el("details", "msg-edits");
    edits.dataset.role = "edits";
    edits.append(el("summary", "", gettext("edited")));
    for (const version of meta_.edits) edits.append(el("div", "msg-text muted", version.text || ""));
    bubble.append(edits);
  }
  const fullText = p.metadata && p.metadata.full_text;
  if (fullText && fullText !== p.text) {
    // E-mail: only the new text shows; the quoted history is one click away.
    const details = el("details", "msg-quoted");
    details.append(el("summary", "", gettext("Show quoted text")), el("div", "msg-text", fullText));
    bubble.append(details);
  }
  const story = p.metadata && p.metadata.story;
  if (story) {
    // Instagram story replies and mentions: the link works until the story expires.
    const box = el("div", "msg-story", story.type === "mention" ? gettext("Story mention") : gettext("Reply to a story"));
    box.dataset.role = "story";
    if (typeof story.url === "string" && story.url.startsWith("https://")) {
      const link = el("a", "", gettext("open the story"));
      link.href = story.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      box.append(" · ", link, " ", el("span", "muted", gettext("(the link expires with the story)")));
    }
    bubble.append(box);
  }
  if (p.metadata && p.metadata.unsupported) bubble.append(el("div", "msg-text muted", gettext("(This message type cannot be shown here.)")));
  for (const a of p.attachments || []) {
    if (a.url && (a.kind === "image" || a.kind === "sticker")) {
      const link = el("a", "att-image");
      link.href = a.url;
      link.target = "_blank";
      link.rel = "noopener";
      const img = document.createElement("img");
      img.src = a.url;
      img.alt = a.filename || gettext("image");
      img.loading = "lazy";
      link.append(img);
      bubble.append(link);
    } else if (a.url) {
      const link = el("a", "att-file", a.filename || gettext("file"));
      link.href = a.url;
      bubble.append(link);
    } else {
      const reason = a.error ? ` (${a.error})` : "";
      bubble.append(el("span", "att-file muted", `${a.filename || a.kind} — ${attachmentStatus(a.status)}${reason}`));
      if (a.status === "failed") {
        const retry = el("form", "att-retry");
        retry.method = "post";
        retry.action = `/attachments/${a.id}/retry/`;
        retry.dataset.action = "retry";
        retry.append(el("button", "btn btn-small", gettext("Download again")));
        bubble.append(retry);
      }
    }
  }
  const reactions = Object.values((p.metadata && p.metadata.reactions) || p.reactions || {});
  if (reactions.length) {
    const row = el("div", "msg-reactions");
    row.dataset.role = "reactions";
    for (const emoji of reactions) row.append(el("span", "", emoji));
    bubble.append(row);
  }
  const foot = el("div", "msg-foot");
  const time = el("time", "", formatTime(p.created_at));
  time.dateTime = p.created_at;
  foot.append(time);
  if (p.direction === "out" && !p.is_private_note && p.delivery_state) {
    const ticks = el("span", `ticks tick-${p.delivery_state}`, TICKS[p.delivery_state] || "");
    ticks.dataset.role = "ticks";
    ticks.title = DELIVERY_LABELS[p.delivery_state] || p.delivery_state;
    foot.append(ticks);
  }
  bubble.append(foot);
  if (p.delivery_state === "failed") {
    const error = el("div", "msg-error");
    error.dataset.role = "error";
    // The reason in this agent's language; the provider's own (English) text on hover.
    const reason = p.delivery_error_reason || p.delivery_error || gettext("unknown error");
    const text = el("span", "", `⚠ ${gettext("Not delivered:")} ${reason}`);
    text.dataset.role = "error-text";
    if (p.delivery_error_reason && p.delivery_error) text.title = p.delivery_error;
    error.append(text);
    const form = el("form");
    form.method = "post";
    form.action = `/messages/${p.id}/retry/`;
    form.dataset.action = "retry";
    form.append(el("button", "btn btn-small", gettext("Retry")));
    error.append(form);
    bubble.append(error);
  }
  node.append(bubble);
  return node;
}

/** Apply a ``conversation_payload`` to the open conversation's header and sidebar. */
export function applyConversation(data) {
  const badge = document.getElementById("conv-status");
  if (badge) {
    badge.className = `badge status-${data.status}`;
    badge.textContent = STATUS_LABELS[data.status] || data.status;
  }
  const assignee = document.getElementById("conv-assignee");
  if (assignee) assignee.textContent = data.assignee_name || gettext("Unassigned");
  const resolved = data.status === "resolved";
  const reopen = document.getElementById("reopen-button");
  const resolve = document.getElementById("resolve-button");
  if (reopen) reopen.hidden = !resolved;
  if (resolve) resolve.hidden = resolved;
  const expected = data.assignee_id ? String(data.assignee_id) : "none";
  document.querySelectorAll("form[data-action=assign] input[name=expected]").forEach((input) => { input.value = expected; });
  const select = document.getElementById("assign-agent");
  if (select) select.value = data.assignee_id ? String(data.assignee_id) : "";
  const me = document.getElementById("assign-me-form");
  const root = document.getElementById("inbox");
  if (me && root) me.hidden = String(data.assignee_id || "") === root.dataset.userId;
}

/** Append a message to the open history unless it is there already; replace it if it is. */
export function upsertMessage(payload) {
  const history = document.getElementById("history");
  if (!history) return null;
  const existing = document.getElementById(`message-${payload.id}`);
  const node = renderMessage(payload);
  if (existing) {
    existing.replaceWith(node);
    return node;
  }
  const nearBottom = history.scrollHeight - history.scrollTop - history.clientHeight < 120;
  history.querySelector(".history-empty")?.remove();
  history.append(node);
  if (nearBottom || payload.author_name) history.scrollTop = history.scrollHeight;
  return node;
}

export function scrollHistoryToEnd() {
  const history = document.getElementById("history");
  if (history) history.scrollTop = history.scrollHeight;
}

function setupComposer(onTyping) {
  const form = document.getElementById("composer");
  if (!form) return;
  const text = document.getElementById("composer-text");
  const files = document.getElementById("composer-files");
  const names = document.getElementById("attach-names");
  const isNote = () => form.querySelector("input[name=private]:checked")?.value === "1";
  form.addEventListener("change", (event) => {
    if (event.target.name === "private") {
      form.classList.toggle("is-note", isNote());
      text.placeholder = isNote()
        ? gettext("Write a private note: only agents see it")
        : gettext("Write a reply… (Enter to send, Shift+Enter for a new line)");
      if (isNote()) onTyping(false);
    }
  });
  files?.addEventListener("change", () => {
    names.textContent = files.files.length ? Array.from(files.files, (f) => f.name).join(", ") : gettext("Attach");
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  text.addEventListener("input", () => {
    if (!isNote()) onTyping(text.value.length > 0);
  });
  const picker = document.getElementById("template-name");
  picker?.addEventListener("change", () => {
    const option = picker.selectedOptions[0];
    document.getElementById("template-language").value = option?.dataset.language || "";
    const count = Number(option?.dataset.params || 0);
    document.querySelectorAll("#template-params input").forEach((input, index) => {
      input.hidden = index >= count;
      input.disabled = index >= count;
    });
  });
}

function afterAction(form, data) {
  const action = form.dataset.action;
  if (action === "reply") {
    form.querySelector("textarea").value = "";
    const files = form.querySelector("input[type=file]");
    if (files) files.value = "";
    const names = document.getElementById("attach-names");
    if (names) names.textContent = gettext("Attach");
    if (data.data) upsertMessage(data.data);
    scrollHistoryToEnd();
    return;
  }
  if ((action === "assign" || action === "status") && data.data) applyConversation(data.data);
  if (data.message) toast(data.message);
}

export function setupForms({ onTyping }) {
  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-action]");
    if (!form) return;
    event.preventDefault();
    const body = new FormData(form, event.submitter || undefined);
    const button = event.submitter || form.querySelector("button[type=submit], button");
    if (button) button.disabled = true;
    const errorBox = form.querySelector(".composer-error");
    if (errorBox) errorBox.textContent = "";
    if (form.dataset.action === "reply") onTyping(false);
    try {
      const data = await postForm(form.getAttribute("action"), body);
      if (data.ok) afterAction(form, data);
      else if (errorBox) errorBox.textContent = data.error;
      else toast(data.error || gettext("That did not work."), "error");
    } catch (error) {
      const message = gettext("Could not reach the server; nothing was sent. Try again.");
      if (errorBox) errorBox.textContent = message;
      else toast(message, "error");
    } finally {
      if (button) button.disabled = false;
    }
  });
  document.addEventListener("change", (event) => {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
    if (event.target.id === "snooze-choice") {
      event.target.form.classList.toggle("custom", event.target.value === "custom");
    }
  });
  setupComposer(onTyping);
}

/** Relative times ("5 min") in the list, from each element's datetime attribute. */
export function refreshRelativeTimes() {
  const now = Date.now();
  document.querySelectorAll(".conv-row time.reltime").forEach((node) => {
    const seconds = Math.max(0, (now - new Date(node.dateTime).getTime()) / 1000);
    let text;
    // Short units, as in the list's narrow column.
    if (seconds < 60) text = gettext("now");
    else if (seconds < 3600) text = interpolate(gettext("%s min"), [Math.floor(seconds / 60)]);
    else if (seconds < 86400) text = interpolate(gettext("%s h"), [Math.floor(seconds / 3600)]);
    else text = interpolate(gettext("%s d"), [Math.floor(seconds / 86400)]);
    node.textContent = text;
  });
}

export async function loadOptionalParts(root) {
  const extra = document.getElementById("contact-extra");
  if (extra && extra.dataset.src) {
    try {
      const response = await fetch(extra.dataset.src, { credentials: "same-origin" });
      // The retention panel is another app's server-rendered (auto-escaped) fragment.
      if (response.status === 200) extra.innerHTML = await response.text();
    } catch {
      /* the panel is optional */
    }
  }
  if (root.dataset.quickRepliesModule && document.getElementById("composer-text")) {
    try {
      await import(root.dataset.quickRepliesModule);
    } catch {
      /* the quick-reply picker is optional; a missing module must not break the page */
    }
  }
}
