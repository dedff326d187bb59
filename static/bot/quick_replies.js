// Quick replies in the agent's composer: typing "/" at the start of a word opens a search over
// the canned answers; arrows + Enter (or a click) insert the chosen answer, filled by the
// server for this contact and agent; Escape closes.
//
// Works on any page with <textarea data-quick-replies-url data-conversation-id>: importing the
// module initialises every such textarea (also ones added later); init() can be called again.

import { gettext } from "../inbox/i18n.js";

const READY = "quickRepliesReady";
let popupSeq = 0;

function ensureStyles() {
  if (document.querySelector("link[data-quick-replies-css]")) return;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = new URL("./bot.css", import.meta.url).href;
  link.dataset.quickRepliesCss = "";
  document.head.appendChild(link);
}

// The "/query" being typed before the caret, or null.
function slashQuery(textarea) {
  const caret = textarea.selectionStart;
  if (caret !== textarea.selectionEnd) return null;
  const before = textarea.value.slice(0, caret);
  const match = /(^|\s)\/([^\s\/]*)$/.exec(before); // "\/" in the class: xgettext misreads a bare "/"
  if (!match) return null;
  return { start: caret - match[2].length - 1, end: caret, query: match[2] };
}

class Picker {
  constructor(textarea) {
    this.textarea = textarea;
    this.items = [];
    this.active = -1;
    this.range = null;
    this.controller = null;
    this.popup = document.createElement("ul");
    this.popup.className = "qr-popup";
    this.popup.id = `qr-popup-${++popupSeq}`;
    this.popup.setAttribute("role", "listbox");
    this.popup.setAttribute("aria-label", gettext("Quick replies"));
    this.popup.hidden = true;
    document.body.appendChild(this.popup);
    textarea.setAttribute("aria-autocomplete", "list");
    textarea.setAttribute("aria-controls", this.popup.id);
    textarea.addEventListener("input", () => this.update());
    textarea.addEventListener("click", () => this.update());
    // Capture phase: runs before the composer's own Enter-to-send handler.
    textarea.addEventListener("keydown", (event) => this.onKey(event), { capture: true });
    textarea.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.popup.addEventListener("mousedown", (event) => {
      const li = event.target.closest("li[data-index]");
      if (!li) return;
      event.preventDefault(); // keep the focus in the textarea
      this.choose(Number(li.dataset.index));
    });
  }

  get isOpen() {
    return !this.popup.hidden;
  }

  async update() {
    const found = slashQuery(this.textarea);
    if (!found) {
      this.close();
      return;
    }
    this.range = found;
    this.controller?.abort();
    this.controller = new AbortController();
    const url = new URL(this.textarea.dataset.quickRepliesUrl, window.location.href);
    url.searchParams.set("q", found.query);
    url.searchParams.set("conversation", this.textarea.dataset.conversationId || "");
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: this.controller.signal,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      // The text may have changed while the request ran: only show results for what is there.
      const now = slashQuery(this.textarea);
      if (!now || now.query !== found.query) return;
      this.render(data.results || []);
    } catch (error) {
      if (error.name !== "AbortError") this.render([], gettext("Quick replies are unavailable right now."));
    }
  }

  render(items, message) {
    this.items = items;
    this.active = items.length ? 0 : -1;
    this.popup.replaceChildren();
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "qr-empty";
      li.textContent = message || gettext("No canned answer matches.");
      this.popup.appendChild(li);
    }
    items.forEach((item, index) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      li.dataset.index = String(index);
      li.id = `${this.popup.id}-${index}`;
      const title = document.createElement("span");
      title.className = "qr-title";
      title.textContent = item.title;
      const preview = document.createElement("span");
      preview.className = "qr-preview";
      preview.textContent = item.text;
      li.append(title, preview);
      this.popup.appendChild(li);
    });
    this.highlight();
    this.place();
    this.popup.hidden = false;
    this.textarea.setAttribute("aria-expanded", "true");
  }

  place() {
    const box = this.textarea.getBoundingClientRect();
    this.popup.style.left = `${box.left + window.scrollX}px`;
    this.popup.style.minWidth = `${Math.min(box.width, 520)}px`;
    // Above the composer when there is room (it usually sits at the bottom of the screen).
    const height = Math.min(280, 16 + this.popup.childElementCount * 48);
    const top = box.top - height - 4 > 0 ? box.top + window.scrollY - height - 4 : box.bottom + window.scrollY + 4;
    this.popup.style.top = `${top}px`;
  }

  highlight() {
    this.popup.querySelectorAll("li[role=option]").forEach((li, index) => {
      li.setAttribute("aria-selected", index === this.active ? "true" : "false");
      if (index === this.active) li.scrollIntoView({ block: "nearest" });
    });
    if (this.active >= 0) this.textarea.setAttribute("aria-activedescendant", `${this.popup.id}-${this.active}`);
    else this.textarea.removeAttribute("aria-activedescendant");
  }

  onKey(event) {
    if (!this.isOpen) return;
    const stop = () => {
      event.preventDefault();
      event.stopImmediatePropagation();
    };
    if (event.key === "ArrowDown" && this.items.length) {
      stop();
      this.active = (this.active + 1) % this.items.length;
      this.highlight();
    } else if (event.key === "ArrowUp" && this.items.length) {
      stop();
      this.active = (this.active - 1 + this.items.length) % this.items.length;
      this.highlight();
    } else if ((event.key === "Enter" || event.key === "Tab") && this.active >= 0 && !event.isComposing) {
      stop();
      this.choose(this.active);
    } else if (event.key === "Escape") {
      stop();
      this.close();
    }
  }

  choose(index) {
    const item = this.items[index];
    const range = slashQuery(this.textarea) || this.range;
    if (!item || !range) return;
    const value = this.textarea.value;
    this.textarea.value = value.slice(0, range.start) + item.text + value.slice(range.end);
    const caret = range.start + item.text.length;
    this.textarea.setSelectionRange(caret, caret);
    this.close();
    this.textarea.focus();
    // Let the page react as to typing (drafts, typing indicator, auto-resize).
    this.textarea.dispatchEvent(new Event("input", { bubbles: true }));
    this.close();
  }

  close() {
    this.controller?.abort();
    this.popup.hidden = true;
    this.items = [];
    this.active = -1;
    this.textarea.setAttribute("aria-expanded", "false");
    this.textarea.removeAttribute("aria-activedescendant");
  }
}

export function init(root = document) {
  const areas = root.querySelectorAll("textarea[data-quick-replies-url]");
  if (areas.length) ensureStyles();
  areas.forEach((textarea) => {
    if (textarea.dataset[READY]) return;
    textarea.dataset[READY] = "1";
    new Picker(textarea);
  });
}

function autoInit() {
  init();
  // Conversation panels are swapped in without a page load: pick up new composers too.
  new MutationObserver(() => init()).observe(document.body, { childList: true, subtree: true });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoInit, { once: true });
else autoInit();
