// One websocket per tab to /ws/agent/: live list, live conversation, typing, presence,
// unread counts and notifications. After a reconnect the list and the open conversation are
// reloaded from the server, so nothing that happened while offline is missed.

import {
  applyConversation,
  contactName,
  loadOptionalParts,
  postForm,
  refreshRelativeTimes,
  scrollHistoryToEnd,
  setupForms,
  toast,
  upsertMessage,
} from "./ui.js";
import { gettext, interpolate, ngettext } from "./i18n.js";

const root = document.getElementById("inbox");
const myId = Number(root?.dataset.userId || 0);
const openId = Number(root?.dataset.conversationId || 0) || null;
const openContactId = Number(root?.dataset.contactId || 0) || null;
const baseTitle = document.title.replace(/^\(\d+\)\s*/, "");
const HEARTBEAT_MS = 30000;
const TYPING_THROTTLE_MS = 3000;
const TYPING_IDLE_MS = 5000;
const TYPING_SHOWN_MS = 8000; // a lost "stopped typing" event must not leave the indicator on

let socket = null;
let connectedOnce = false;
let retryDelay = 1000;
let heartbeat = null;
let unreadTotal = Number(root?.dataset.unreadTotal || 0);
let flashTimer = null;

// --- title, unread, notifications ------------------------------------------------------------

function renderTitle(alternate) {
  if (alternate) {
    document.title = alternate;
    return;
  }
  document.title = unreadTotal > 0 ? `(${unreadTotal}) ${baseTitle}` : baseTitle;
  const nav = document.getElementById("nav-unread");
  if (nav) {
    nav.textContent = String(unreadTotal);
    nav.hidden = unreadTotal <= 0;
  }
}

function setUnreadTotal(value) {
  if (Number.isFinite(value)) {
    unreadTotal = value;
    renderTitle();
  }
}

function flashTitle(text) {
  if (document.visibilityState === "visible") {
    toast(text);
    return;
  }
  if (flashTimer) return;
  let on = false;
  flashTimer = setInterval(() => {
    on = !on;
    renderTitle(on ? `🔔 ${text}` : null);
  }, 1000);
}

function stopFlash() {
  if (flashTimer) clearInterval(flashTimer);
  flashTimer = null;
  renderTitle();
}

let audio = null;
function beep() {
  // A short two-tone chime synthesized with WebAudio: no sound file to load.
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    const now = audio.currentTime;
    [880, 1320].forEach((frequency, index) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + index * 0.15);
      gain.gain.exponentialRampToValueAtTime(0.2, now + index * 0.15 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + index * 0.15 + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + index * 0.15);
      osc.stop(now + index * 0.15 + 0.3);
    });
  } catch {
    /* browsers may refuse audio before the first click */
  }
}

function notify(text) {
  beep();
  flashTitle(text);
}

// --- the list --------------------------------------------------------------------------------

function listQuery() {
  return root.dataset.querystring || "";
}

function currentPage() {
  return Number(document.getElementById("conversation-list")?.dataset.page || 1);
}

// Several events for one conversation often arrive together; each refresh is numbered so an
// older answer never overwrites a newer one, and the DOM is only touched after the last await.
const rowRequests = new Map();

async function refreshRow(id) {
  const list = document.getElementById("conversation-list");
  if (!list) return;
  const ticket = (rowRequests.get(id) || 0) + 1;
  rowRequests.set(id, ticket);
  const params = new URLSearchParams(listQuery());
  if (openId) params.set("active", String(openId));
  const response = await fetch(`/conversations/${id}/row/?${params}`, { credentials: "same-origin" });
  const html = response.ok && response.status !== 204 ? (await response.text()).trim() : "";
  if (rowRequests.get(id) !== ticket) return; // a newer refresh of this row is under way
  setUnreadTotal(Number(response.headers.get("X-Unread-Total")));
  const existing = document.getElementById(`conv-${id}`);
  if (response.status === 204) {
    existing?.remove();
    return;
  }
  if (!response.ok) return;
  // The row is rendered by the server's auto-escaped template.
  const template = document.createElement("template");
  template.innerHTML = html;
  const row = template.content.firstElementChild;
  if (!row) return;
  const moved = !existing || existing.dataset.lastActivity !== row.dataset.lastActivity;
  if (existing && !moved) {
    existing.replaceWith(row);
  } else {
    existing?.remove();
    if (!existing && currentPage() !== 1) return; // new rows belong on the first page
    const after = Array.from(list.querySelectorAll(".conv-row")).find(
      (other) => other.dataset.lastActivity < row.dataset.lastActivity,
    );
    list.insertBefore(row, after || null);
    if (!existing || moved) row.classList.add("flash-new");
    document.getElementById("list-empty")?.remove();
  }
  refreshRelativeTimes();
}

async function reloadFragments() {
  const wrap = document.getElementById("conversation-list-wrap");
  if (wrap) {
    const params = new URLSearchParams(listQuery());
    params.set("fragment", "list");
    const response = await fetch(`/conversations/?${params}`, { credentials: "same-origin" });
    if (response.ok) {
      wrap.innerHTML = await response.text(); // server-rendered, auto-escaped
      const list = document.getElementById("conversation-list");
      setUnreadTotal(Number(list?.dataset.unreadTotal));
      document.getElementById(`conv-${openId}`)?.classList.add("active");
    }
  }
  const history = document.getElementById("history");
  if (openId && history) {
    const response = await fetch(`/conversations/${openId}/?fragment=messages`, { credentials: "same-origin" });
    if (response.ok) {
      history.innerHTML = await response.text(); // server-rendered, auto-escaped
      scrollHistoryToEnd();
    }
  }
  refreshRelativeTimes();
}

// --- the open conversation -------------------------------------------------------------------

function markRead() {
  if (!openId || document.visibilityState !== "visible") return;
  const body = new FormData();
  postForm(`/conversations/${openId}/read/`, body).catch(() => {});
}

const typers = new Map();

function renderTyping() {
  const box = document.getElementById("typing");
  if (!box) return;
  const names = Array.from(typers.keys());
  box.hidden = names.length === 0;
  box.textContent = names.length
    ? interpolate(ngettext("%(names)s is typing…", "%(names)s are typing…", names.length), { names: names.join(", ") }, true)
    : "";
}

function onTypingEvent(data) {
  if (data.conversation_id !== openId) return;
  const name = data.who === "contact" ? data.name || contactName() : data.name || gettext("An agent");
  if (data.who === "agent" && data.user_id === myId) return;
  clearTimeout(typers.get(name));
  if (data.typing) {
    typers.set(name, setTimeout(() => { typers.delete(name); renderTyping(); }, TYPING_SHOWN_MS));
  } else {
    typers.delete(name);
  }
  renderTyping();
}

function historyShowsOpenConversation() {
  const separators = document.querySelectorAll("#history .history-sep");
  const last = separators[separators.length - 1];
  return !last || Number(last.dataset.conversationId) === openId;
}

// --- events ------------------------------------------------------------------------------------

const handlers = {
  "message.created"(data) {
    if (data.conversation_id !== openId && openContactId && data.contact_id === openContactId) {
      // The same customer wrote on another channel: the history shows every channel.
      reloadFragments();
    }
    if (data.conversation_id === openId) {
      if (historyShowsOpenConversation()) {
        upsertMessage(data);
      } else {
        reloadFragments();
      }
      if (data.direction === "in") {
        const name = contactName();
        typers.delete(name);
        renderTyping();
        markRead();
      }
    }
    refreshRow(data.conversation_id);
  },
  "message.updated"(data) {
    if (document.getElementById(`message-${data.id}`)) upsertMessage(data);
  },
  "conversation.created"(data) {
    refreshRow(data.id);
  },
  "conversation.updated"(data) {
    if (data.id === openId) applyConversation(data);
    refreshRow(data.id);
  },
  "conversation.read"(data) {
    refreshRow(data.id);
  },
  "conversation.needs_agent"(data) {
    notify(interpolate(gettext("%(name)s needs an agent"), { name: data.contact_name || gettext("A customer") }, true));
    refreshRow(data.id);
  },
  "conversation.assigned_to_you"(data) {
    notify(data.contact_name ? interpolate(gettext("%(name)s was assigned to you"), { name: data.contact_name }, true) : gettext("A conversation was assigned to you"));
    refreshRow(data.id);
  },
  typing: onTypingEvent,
  "agent.presence"(data) {
    document.querySelectorAll(`[data-presence-user="${Number(data.user_id)}"]`).forEach((dot) => {
      dot.className = `presence-dot ${data.presence}`;
      dot.title = { online: gettext("Online"), away: gettext("Away") }[data.presence] || gettext("Offline");
    });
  },
};

function send(payload) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload));
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/agent/`);
  const status = document.getElementById("live-status");
  socket.addEventListener("open", () => {
    retryDelay = 1000;
    if (status) status.hidden = true;
    root.dataset.live = "connected";
    send({ action: "presence", presence: document.visibilityState === "visible" ? "online" : "away" });
    if (connectedOnce) reloadFragments();
    connectedOnce = true;
    clearInterval(heartbeat);
    heartbeat = setInterval(() => send({ action: "heartbeat" }), HEARTBEAT_MS);
  });
  socket.addEventListener("message", (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    const handler = handlers[message.event];
    if (handler) handler(message.data || {});
  });
  socket.addEventListener("close", (event) => {
    clearInterval(heartbeat);
    root.dataset.live = "disconnected";
    if (event.code === 4401) {
      location.href = `/login/?next=${encodeURIComponent(location.pathname)}`;
      return;
    }
    if (status) status.hidden = false;
    setTimeout(connect, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30000);
  });
}

// --- typing out --------------------------------------------------------------------------------

let typingSentAt = 0;
let typingOn = false;
let typingIdle = null;

function onTyping(isTyping) {
  if (!openId) return;
  clearTimeout(typingIdle);
  if (isTyping) {
    const now = Date.now();
    if (!typingOn || now - typingSentAt > TYPING_THROTTLE_MS) {
      send({ action: "typing", conversation_id: openId, typing: true });
      typingSentAt = now;
      typingOn = true;
    }
    typingIdle = setTimeout(() => onTyping(false), TYPING_IDLE_MS);
  } else if (typingOn) {
    send({ action: "typing", conversation_id: openId, typing: false });
    typingOn = false;
  }
}

// --- start ---------------------------------------------------------------------------------------

if (root) {
  setupForms({ onTyping });
  document.addEventListener("visibilitychange", () => {
    const visible = document.visibilityState === "visible";
    send({ action: "presence", presence: visible ? "online" : "away" });
    if (visible) {
      stopFlash();
      markRead();
    }
  });
  window.addEventListener("focus", stopFlash);
  renderTitle();
  refreshRelativeTimes();
  setInterval(refreshRelativeTimes, 60000);
  scrollHistoryToEnd();
  loadOptionalParts(root);
  connect();
}
