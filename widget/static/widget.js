/*
 * Support chat widget: paste
 *   <script src="https://support.example.com/widget.js" data-inbox="PUBLIC_ID" async></script>
 * into a page. Self-contained (no framework, no build step); everything lives in a Shadow DOM,
 * so the page's CSS cannot reach the widget and the widget's CSS cannot reach the page.
 * Message text is only ever inserted with textContent.
 * Optional: data-lang (the language to speak; default the page's <html lang>), data-user-id, data-user-hash (HMAC-SHA256 of the id with the inbox's widget
 * secret), data-user-name, data-user-email, data-user-email-hash (HMAC-SHA256 of "email:" and
 * the address); or window.SupportWidget.identify({...}).
 * See docs/widget.md.
 */
(function () {
  "use strict";
  if (window.SupportWidget && window.SupportWidget.__loaded) return;

  var script = document.currentScript || document.querySelector("script[data-inbox][src*='widget.js']") ||
    document.querySelector("script[data-inbox]");
  if (!script) return;
  var ORIGIN = new URL(script.src, location.href).origin;
  var INBOX = script.getAttribute("data-inbox") || "";
  var STORE_KEY = "support-widget:" + ORIGIN + ":" + INBOX;
  var WS_ORIGIN = ORIGIN.replace(/^http/, "ws");

  // --- texts ------------------------------------------------------------------------------
  // The server sends the visitor's language with the config (/widget/api/config?lang=...),
  // from the same catalogs as the rest of the product; this English source only covers the
  // moment before the config arrives, or a server that cannot be reached.
  var TEXTS = {
    open: "Open chat", close: "Close chat", placeholder: "Type your message…", send: "Send",
    attach: "Attach an image or PDF", unread: "unread messages", typing: "{name} is typing…",
    someone: "Someone", you: "You",
    online: "We reply in a few minutes", offline: "We're away right now",
    offlineNext: "We're away. We'll answer from {time}.",
    offlineAsk: "Leave your e-mail and we'll get back to you.", email: "Your e-mail", name: "Your name", phone: "Your phone or WhatsApp (optional)",
    save: "Save", saved: "Thanks! We'll answer here and by e-mail.", start: "Start chat",
    prechat: "Before we start, tell us who you are.", reconnecting: "Reconnecting…",
    failed: "Not sent. Tap to retry.", tooLarge: "This file is too large (max {mb} MB).",
    badType: "Only images and PDF files can be sent.", remove: "Remove file", seen: "Seen",
    sending: "Sending…", messages: "Messages", refused: "This chat is not available on this website.",
    tooLong: "Messages can be at most {n} characters.", file: "File"
  };
  // The visitor reads the shop page: its language (data-lang, else <html lang>) first, then
  // the browser's; the server answers in the closest language it speaks.
  var BROWSER_LANG = script.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "";
  var LANG = BROWSER_LANG.slice(0, 2).toLowerCase() || "en";
  function t(key, vars) {
    var text = TEXTS[key] || key;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(String(vars[k])); });
    return text;
  }

  // --- storage (private modes may forbid it) ----------------------------------------------
  function load(key) { try { return localStorage.getItem(STORE_KEY + key); } catch (e) { return null; } }
  function save(key, value) {
    try { if (value == null) localStorage.removeItem(STORE_KEY + key); else localStorage.setItem(STORE_KEY + key, value); }
    catch (e) { /* storage unavailable: the session lasts as long as the page */ }
  }

  // --- state ----------------------------------------------------------------------------------
  var state = {
    config: null, token: load(":token"), conversationId: null, status: null, lastId: 0,
    messages: {}, pending: {}, socket: null, retries: 0, reconnectTimer: null, open: false, unread: 0,
    identity: null, hasEmail: false, file: null, typingSent: 0, typingStop: null, agentTypingTimer: null,
    seenSent: 0, stopped: false, refused: false, loadingHistory: null
  };
  var identityAttrs = {
    id: script.getAttribute("data-user-id"), hash: script.getAttribute("data-user-hash"),
    name: script.getAttribute("data-user-name"), email: script.getAttribute("data-user-email"),
    emailHash: script.getAttribute("data-user-email-hash")
  };
  if (identityAttrs.id && identityAttrs.hash) state.identity = identityAttrs;

  // --- DOM --------------------------------------------------------------------------------------
  var CSS = [
    // The page's own !important rules on the host element (e.g. `* {font-family: x !important}`)
    // would be inherited into the shadow tree; !important here wins over them for the host.
    ":host{all:initial !important;position:fixed !important;z-index:2147483000 !important;bottom:20px !important;right:20px !important;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif !important;font-size:15px !important;line-height:1.4 !important;color:#111827 !important;letter-spacing:normal !important;text-align:left !important;display:block !important}",
    ":host(.left){right:auto !important;left:20px !important}",
    "*,*::before,*::after{box-sizing:border-box;margin:0;padding:0;font:inherit;color:inherit;letter-spacing:normal;text-transform:none}",
    "button{cursor:pointer;border:0;background:none;border-radius:8px}",
    "button:focus-visible,textarea:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid var(--c);outline-offset:2px}",
    ".launcher{width:60px;height:60px;border-radius:50%;background:var(--c);color:#fff;box-shadow:0 6px 20px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;position:relative}",
    ".launcher svg{width:28px;height:28px;color:#fff}.icon svg{width:22px;height:22px}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#dc2626;color:#fff;font-size:12px;font-weight:700;display:flex;align-items:center;justify-content:center}",
    ".badge[hidden],[hidden]{display:none !important}",
    ".panel{position:absolute;bottom:76px;right:0;width:370px;height:560px;max-height:calc(100vh - 110px);background:#fff;border-radius:16px;box-shadow:0 12px 40px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
    ":host(.left) .panel{right:auto;left:0}",
    ".head{background:var(--c);color:#fff;padding:14px 14px;display:flex;gap:10px;align-items:center}",
    ".head img{width:36px;height:36px;border-radius:50%;object-fit:cover;background:rgba(255,255,255,.3)}",
    ".head .titles{flex:1;min-width:0}.head h2{font-size:16px;font-weight:700}.head p{font-size:12px;opacity:.9}",
    ".head button{color:#fff;width:36px;height:36px;font-size:22px;line-height:1}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}",
    ".msg{max-width:80%;padding:8px 12px;border-radius:14px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}",
    ".msg.in{align-self:flex-end;background:var(--c);color:#fff;border-bottom-right-radius:4px}",
    ".msg.out{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}",
    ".msg.failed{opacity:.7;border:2px dashed #dc2626;cursor:pointer}",
    ".who{display:flex;gap:6px;align-items:center;font-size:12px;color:#6b7280;align-self:flex-start;margin-top:4px}",
    ".who img{width:20px;height:20px;border-radius:50%}",
    ".sys{align-self:center;font-size:12px;color:#6b7280;font-style:italic;text-align:center}",
    ".meta{font-size:11px;opacity:.75;margin-top:2px;text-align:right}",
    ".qr{display:flex;flex-wrap:wrap;gap:6px;align-self:flex-start}",
    ".qr button{border:1px solid var(--c);color:var(--c);background:#fff;padding:6px 10px;border-radius:16px;font-size:13px}",
    ".qr button:hover{background:var(--c);color:#fff}",
    ".msg img.att{display:block;max-width:100%;max-height:200px;border-radius:8px;margin-top:4px}",
    ".msg a{text-decoration:underline}",
    ".typing{font-size:12px;color:#6b7280;padding:0 14px 4px;min-height:18px}",
    ".notice{background:#fef3c7;color:#78350f;font-size:13px;padding:10px 12px;display:flex;flex-direction:column;gap:6px}",
    ".notice.err{background:#fee2e2;color:#7f1d1d}",
    "form.row{display:flex;gap:6px}form.col{display:flex;flex-direction:column;gap:8px;padding:14px}",
    "input{border:1px solid #d1d5db;border-radius:8px;padding:8px 10px;background:#fff;flex:1;min-width:0}",
    ".btn{background:var(--c);color:#fff;padding:8px 12px;font-weight:600}",
    ".composer{border-top:1px solid #e5e7eb;padding:8px;display:flex;gap:6px;align-items:flex-end;background:#fff}",
    "textarea{flex:1;resize:none;border:1px solid #d1d5db;border-radius:10px;padding:8px 10px;max-height:120px;min-height:40px;background:#fff}",
    ".icon{width:40px;height:40px;display:flex;align-items:center;justify-content:center;color:#4b5563;font-size:20px}",
    ".send{background:var(--c);color:#fff}",
    ".preview{display:flex;align-items:center;gap:8px;padding:6px 10px;font-size:12px;border-top:1px solid #e5e7eb}",
    ".preview img{width:40px;height:40px;object-fit:cover;border-radius:6px}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
    "@media (max-width:480px){:host{bottom:12px !important;right:12px !important}:host(.open){top:0 !important;left:0 !important;bottom:0 !important;right:0 !important}.panel{position:fixed;inset:0;width:100vw;height:100vh;max-height:none;border-radius:0}:host(.open) .launcher{display:none}}"
  ].join("\n");

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  var PATHS = {
    bubble: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z",
    clip: "M21 11.5l-8.5 8.5a5 5 0 0 1-7-7L14 4.5a3.3 3.3 0 0 1 4.7 4.7L10.2 17.7a1.7 1.7 0 0 1-2.4-2.4L15.5 7.6",
    send: "M3 20.5 21 12 3 3.5 3 10l12 2-12 2z"
  };
  var host = el("div", { id: "support-widget-host" });
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", { text: CSS }));
  var ui = {};
  ui.badge = el("span", { class: "badge", hidden: "" });
  ui.launcher = el("button", { class: "launcher", type: "button", "aria-label": t("open"), "aria-expanded": "false",
    "aria-controls": "sw-panel", onclick: function () { toggle(); } });
  // A speech bubble icon, built from static markup (no user data).
  ui.launcher.appendChild(svgIcon(PATHS.bubble));
  ui.launcher.appendChild(ui.badge);
  ui.title = el("h2", { id: "sw-title", text: "" });
  ui.subtitle = el("p", { text: "" });
  ui.avatar = el("img", { alt: "", hidden: "" });
  ui.closeBtn = el("button", { type: "button", "aria-label": t("close"), text: "×", onclick: function () { close(); } });
  ui.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("messages") });
  ui.typing = el("div", { class: "typing", "aria-live": "polite" });
  ui.notice = el("div", { class: "notice", hidden: "" });
  ui.error = el("div", { class: "notice err", role: "alert", hidden: "" });
  ui.preview = el("div", { class: "preview", hidden: "" });
  ui.text = el("textarea", { rows: "1", "aria-label": t("placeholder"), placeholder: t("placeholder") });
  ui.fileInput = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", hidden: "" });
  ui.attach = el("button", { type: "button", class: "icon", "aria-label": t("attach"), title: t("attach"),
    onclick: function () { ui.fileInput.click(); } }, [svgIcon(PATHS.clip, true)]);
  ui.send = el("button", { type: "submit", class: "icon send", "aria-label": t("send") }, [svgIcon(PATHS.send)]);
  ui.composer = el("form", { class: "composer" }, [ui.attach, ui.fileInput, ui.text, ui.send]);
  ui.prechat = el("form", { class: "col", hidden: "" });
  ui.panel = el("div", { class: "panel", id: "sw-panel", role: "dialog", "aria-labelledby": "sw-title", hidden: "" }, [
    el("div", { class: "head" }, [ui.avatar, el("div", { class: "titles" }, [ui.title, ui.subtitle]), ui.closeBtn]),
    ui.notice, ui.error, ui.log, ui.typing, ui.prechat, ui.preview, ui.composer
  ]);
  root.appendChild(ui.panel);
  root.appendChild(ui.launcher);

  function svgIcon(d, stroke) {
    // Icons are drawn, not emoji: machines without an emoji font would show empty boxes.
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", "svg");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    if (stroke) {
      path.setAttribute("fill", "none"); path.setAttribute("stroke", "currentColor");
      path.setAttribute("stroke-width", "2"); path.setAttribute("stroke-linecap", "round");
    } else {
      path.setAttribute("fill", "currentColor");
    }
    svg.appendChild(path);
    return svg;
  }

  // --- HTTP -------------------------------------------------------------------------------------
  function api(path, options) {
    options = options || {};
    var headers = options.headers || {};
    if (state.token && options.auth !== false) headers["X-Widget-Token"] = state.token;
    if (options.json !== undefined) headers["Content-Type"] = "application/json";
    var sep = path.indexOf("?") >= 0 ? "&" : "?";
    return fetch(ORIGIN + "/widget/api/" + path + sep + "inbox=" + encodeURIComponent(INBOX), {
      method: options.method || "GET", headers: headers, mode: "cors", credentials: "omit",
      body: options.json !== undefined ? JSON.stringify(options.json) : options.body
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || ("HTTP " + response.status));
          error.status = response.status; error.code = data.code;
          throw error;
        }
        return data;
      });
    });
  }

  function startSession() {
    var body = { token: state.token };
    if (state.identity) {
      body.user_id = state.identity.id; body.user_hash = state.identity.hash;
      body.name = state.identity.name || ""; body.email = state.identity.email || "";
      body.email_hash = state.identity.emailHash || "";
    }
    return api("session", { method: "POST", json: body, auth: false }).catch(function (error) {
      if (error.code === "identity_refused") {
        // The shop's hash is wrong: carry on anonymously rather than lose the chat.
        if (window.console) console.warn("SupportWidget: " + error.message);
        state.identity = null;
        return api("session", { method: "POST", json: { token: state.token }, auth: false });
      }
      throw error;
    }).then(function (data) {
      if (data.token !== state.token) {
        state.token = data.token;
        save(":token", data.token);
      }
      state.hasEmail = data.has_email;
      setConversation(data.conversation_id, data.status);
      return data;
    });
  }

  // --- rendering --------------------------------------------------------------------------------
  function fileUrl(url) {
    return ORIGIN + url + (url.indexOf("?") >= 0 ? "&" : "?") + "inbox=" + encodeURIComponent(INBOX) +
      "&t=" + encodeURIComponent(state.token || "");
  }

  function renderMessage(m) {
    var wrapper = document.createDocumentFragment();
    var node;
    if (m.sender_kind === "system") {
      // System lines arrive already written in the customer's language.
      node = el("div", { class: "sys", text: m.text });
    } else {
      var incoming = m.direction === "in";
      node = el("div", { class: "msg " + (incoming ? "in" : "out") });
      if (m.text) node.appendChild(el("span", { class: "body", text: m.text }));
      (m.attachments || []).forEach(function (a) {
        if (!a.url) { node.appendChild(el("div", { class: "meta", text: "📎 " + (a.filename || t("file")) })); return; }
        if (a.kind === "image") {
          node.appendChild(el("img", { class: "att", src: fileUrl(a.url), alt: a.filename || t("file"), loading: "lazy" }));
        } else {
          node.appendChild(el("a", { href: fileUrl(a.url), target: "_blank", rel: "noopener noreferrer",
            text: "📄 " + (a.filename || t("file")) }));
        }
      });
      if (!incoming && m.sender_kind === "agent") {
        var who = el("div", { class: "who" });
        var avatar = m.author_avatar_url || (state.config && state.config.avatar_url) || "";
        if (/^https?:/.test(avatar)) who.appendChild(el("img", { src: avatar, alt: "" }));
        who.appendChild(el("span", { text: m.author_name || (state.config && state.config.title) || "" }));
        wrapper.appendChild(who);
      }
    }
    node.setAttribute("data-id", String(m.id));
    wrapper.appendChild(node);
    return { node: node, fragment: wrapper };
  }

  /** Show one message (once: ids already shown only update their read mark). ``live`` is
   *  false for the first history load, which must not count as unread. */
  function addMessage(m, live) {
    if (!m || typeof m.id !== "number") return;
    var existing = state.messages[m.id];
    state.messages[m.id] = m;
    if (existing) return; // updates (delivery states) change nothing the visitor sees
    var rendered = renderMessage(m);
    // Keep the log in id order, whatever order history and live events arrive in.
    var after = null;
    var nodes = ui.log.querySelectorAll("[data-id]");
    for (var i = 0; i < nodes.length; i++) {
      var id = Number(nodes[i].getAttribute("data-id"));
      if (id > m.id) { after = nodes[i]; break; }
    }
    if (after && after.previousSibling && after.previousSibling.classList && after.previousSibling.classList.contains("who")) {
      after = after.previousSibling;
    }
    var pendingNode = ui.log.querySelector(".pending");
    ui.log.insertBefore(rendered.fragment, after || pendingNode || null);
    if (m.id > state.lastId) state.lastId = m.id;
    renderQuickReplies();
    if (m.direction === "out") {
      if (live !== false && (!state.open || document.hidden)) { state.unread += 1; renderBadge(); }
      hideAgentTyping();
    }
    scrollDown();
    markSeen();
  }

  function renderQuickReplies() {
    var old = ui.log.querySelector(".qr");
    if (old) old.remove();
    var ids = Object.keys(state.messages).map(Number).sort(function (a, b) { return a - b; });
    if (!ids.length) return;
    var last = state.messages[ids[ids.length - 1]];
    if (last.direction !== "out" || !last.quick_replies || !last.quick_replies.length) return;
    var box = el("div", { class: "qr", role: "group" });
    last.quick_replies.forEach(function (q) {
      box.appendChild(el("button", { type: "button", text: q.title, onclick: function () {
        box.remove();
        sendText(q.title, q.payload);
      } }));
    });
    var pendingNode = ui.log.querySelector(".pending");
    ui.log.insertBefore(box, pendingNode || null);
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  function renderBadge() {
    ui.badge.hidden = state.unread === 0;
    ui.badge.textContent = state.unread > 9 ? "9+" : String(state.unread);
    ui.launcher.setAttribute("aria-label", t("open") + (state.unread ? " (" + state.unread + " " + t("unread") + ")" : ""));
  }

  function showError(text) {
    ui.error.textContent = text || "";
    ui.error.hidden = !text;
  }

  // --- availability, offline e-mail and pre-chat forms ------------------------------------------
  function renderAvailability(av) {
    ui.notice.textContent = "";
    if (!av) { ui.notice.hidden = true; return; }
    if (av.online) {
      ui.subtitle.textContent = t("online");
      ui.notice.hidden = true;
      return;
    }
    ui.subtitle.textContent = t("offline");
    var when = av.next_opening ? new Date(av.next_opening) : null;
    var line = av.message || (when ? t("offlineNext", { time: when.toLocaleString(LANG,
      { weekday: "long", hour: "2-digit", minute: "2-digit" }) }) : t("offline"));
    ui.notice.appendChild(el("p", { text: line }));
    if (state.hasEmail) {
      ui.notice.appendChild(el("p", { text: t("saved") }));
    } else {
      ui.notice.appendChild(el("p", { text: t("offlineAsk") }));
      var input = el("input", { type: "email", required: "", autocomplete: "email", "aria-label": t("email"), placeholder: t("email") });
      var form = el("form", { class: "row", "data-form": "email" }, [input, el("button", { type: "submit", class: "btn", text: t("save") })]);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        api("contact", { method: "POST", json: { email: input.value } }).then(function () {
          state.hasEmail = true;
          showError("");
          renderAvailability(av);
        }).catch(function (error) { showError(error.message); });
      });
      ui.notice.appendChild(form);
    }
    ui.notice.hidden = false;
  }

  function renderPrechat() {
    var need = state.config && state.config.pre_chat_form && !state.hasEmail && !state.conversationId;
    ui.prechat.hidden = !need;
    ui.composer.hidden = !!need;
    if (!need || ui.prechat.firstChild) return;
    var name = el("input", { type: "text", autocomplete: "name", "aria-label": t("name"), placeholder: t("name") });
    var email = el("input", { type: "email", required: "", autocomplete: "email", "aria-label": t("email"), placeholder: t("email") });
    ui.prechat.appendChild(el("p", { text: t("prechat") }));
    var phone = el("input", { type: "tel", autocomplete: "tel", "aria-label": t("phone"), placeholder: t("phone") });
    ui.prechat.appendChild(name);
    ui.prechat.appendChild(email);
    ui.prechat.appendChild(phone);
    ui.prechat.appendChild(el("button", { type: "submit", class: "btn", text: t("start") }));
    ui.prechat.addEventListener("submit", function (event) {
      event.preventDefault();
      api("contact", { method: "POST", json: { email: email.value, name: name.value, phone: phone.value } }).then(function () {
        state.hasEmail = true;
        showError("");
        renderPrechat();
        ui.text.focus();
      }).catch(function (error) { showError(error.message); });
    });
  }

  // --- conversation and history -----------------------------------------------------------------
  function setConversation(id, status) {
    if (id && id !== state.conversationId) {
      state.conversationId = id;
      save(":conversation", String(id));
    }
    if (status) state.status = status;
  }

  /** Fetch everything after the last message shown, page by page: no gaps, and duplicates are
   *  dropped by id in addMessage. */
  function catchUp() {
    if (state.loadingHistory) return state.loadingHistory;
    var live = state.historyLoaded;
    function page() {
      var query = state.lastId ? "messages?after=" + state.lastId : "messages";
      return api(query).then(function (data) {
        setConversation(data.conversation_id, data.status);
        state.historyLoaded = true;
        data.messages.forEach(function (m) { addMessage(m, live); });
        if (data.has_more && state.lastId) return page();
      });
    }
    state.loadingHistory = page().catch(function (error) {
      if (error.status === 401) return renewSession();
    }).then(function () { state.loadingHistory = null; }, function () { state.loadingHistory = null; });
    return state.loadingHistory;
  }

  function renewSession() {
    state.token = null;
    save(":token", null);
    return startSession();
  }

  // --- websocket --------------------------------------------------------------------------------
  function connect() {
    if (state.stopped || !state.token) return;
    var ws = new WebSocket(WS_ORIGIN + "/ws/widget/?inbox=" + encodeURIComponent(INBOX) + "&token=" + encodeURIComponent(state.token));
    state.socket = ws;
    ws.onopen = function () {
      state.retries = 0;
      showError("");
      catchUp().then(flushPending);
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handleFrame(frame.event, frame.data || {});
    };
    ws.onclose = function (event) {
      if (state.socket !== ws) return;
      state.socket = null;
      if (event.code === 4403 || event.code === 4404) {
        state.stopped = true;
        showError(t("refused"));
        return;
      }
      if (event.code === 4401) {
        renewSession().then(connect, scheduleReconnect);
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    if (state.stopped || state.reconnectTimer) return;
    // Exponential backoff with jitter, so a restarted server is not hit by every widget at once.
    var delay = Math.min(30000, 1000 * Math.pow(2, state.retries)) * (0.5 + Math.random() / 2);
    state.retries += 1;
    if (state.retries > 1) showError(t("reconnecting"));
    state.reconnectTimer = setTimeout(function () { state.reconnectTimer = null; connect(); }, delay);
  }

  function reconnectNow() {
    if (state.socket || state.stopped) return;
    if (state.reconnectTimer) { clearTimeout(state.reconnectTimer); state.reconnectTimer = null; }
    state.retries = 0;
    connect();
  }
  window.addEventListener("online", reconnectNow);

  function wsSend(frame) {
    if (state.socket && state.socket.readyState === 1) { state.socket.send(JSON.stringify(frame)); return true; }
    return false;
  }

  function handleFrame(name, data) {
    if (name === "ready" || name === "conversation") {
      var changed = data.conversation_id && data.conversation_id !== state.conversationId;
      setConversation(data.conversation_id, data.status);
      if (changed) {
        // Tell other tabs of this visitor to follow the new conversation.
        save(":conversation", String(data.conversation_id));
      }
      if (name === "conversation") catchUp();
      renderPrechat();
    } else if (name === "ack") {
      var p = state.pending[data.client_id];
      delete state.pending[data.client_id];
      if (p && p.node) p.node.remove();
      addMessage(data.message);
      if (data.message) setConversation(data.message.conversation_id);
    } else if (name === "message.created" || name === "message.updated") {
      addMessage(data);
    } else if (name === "conversation.status") {
      state.status = data.status;
      if (data.availability) renderAvailability(data.availability);
      else if (data.assignee_name) renderAvailability({ online: true });
    } else if (name === "typing") {
      if (data.typing) showAgentTyping(data.name); else hideAgentTyping();
    } else if (name === "error") {
      if (data.client_id && state.pending[data.client_id]) {
        var pending = state.pending[data.client_id];
        delete state.pending[data.client_id];
        markFailed(pending);
      }
      if (data.code !== "bad_token") showError(data.message);
    }
  }

  // Another tab started a conversation: follow it.
  window.addEventListener("storage", function (event) {
    if (event.key === STORE_KEY + ":conversation" && event.newValue && Number(event.newValue) !== state.conversationId) {
      wsSend({ action: "sync" });
    } else if (event.key === STORE_KEY + ":token" && event.newValue && event.newValue !== state.token) {
      state.token = event.newValue;
    }
  });

  // --- sending ----------------------------------------------------------------------------------
  function clientId() {
    var bytes = new Uint8Array(12);
    (window.crypto || window.msCrypto).getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function sendText(text, payload) {
    text = (text || "").trim();
    if (!text) return;
    var limit = state.config ? state.config.limits.max_text : 5000;
    if (text.length > limit) { showError(t("tooLong", { n: limit })); return; }
    var id = clientId();
    var node = el("div", { class: "msg in pending", "data-client-id": id }, [
      el("span", { class: "body", text: text }), el("div", { class: "meta", text: t("sending") })]);
    ui.log.appendChild(node);
    scrollDown();
    var item = { frame: { action: "message", text: text, client_id: id, quick_reply_payload: payload || "" }, node: node };
    state.pending[id] = item;
    wsSend(item.frame); // if the socket is down, flushPending sends it (same client_id) on reconnect
    stopTyping();
  }

  function flushPending() {
    Object.keys(state.pending).forEach(function (id) { wsSend(state.pending[id].frame); });
  }

  function markFailed(item) {
    item.node.classList.add("failed");
    var meta = item.node.querySelector(".meta");
    if (meta) meta.textContent = t("failed");
    item.node.setAttribute("role", "button");
    item.node.setAttribute("tabindex", "0");
    function retry() {
      item.node.classList.remove("failed");
      if (meta) meta.textContent = t("sending");
      state.pending[item.frame.client_id] = item;
      wsSend(item.frame);
    }
    item.node.addEventListener("click", retry, { once: true });
  }

  function sendFile() {
    var file = state.file;
    if (!file) return Promise.resolve();
    var form = new FormData();
    form.append("file", file);
    form.append("client_id", clientId());
    form.append("text", ui.text.value.trim());
    clearFile();
    ui.text.value = "";
    return api("upload", { method: "POST", body: form }).then(function (data) {
      addMessage(data.message);
      setConversation(data.message.conversation_id);
      if (!state.socket) reconnectNow();
      else wsSend({ action: "sync" });
    }).catch(function (error) { showError(error.message); });
  }

  function chooseFile(file) {
    if (!file) return;
    var limits = state.config.limits;
    if (file.size > limits.max_upload_bytes) { showError(t("tooLarge", { mb: Math.floor(limits.max_upload_bytes / 1048576) })); return; }
    if (limits.upload_types.indexOf(file.type) < 0) { showError(t("badType")); return; }
    showError("");
    state.file = file;
    ui.preview.textContent = "";
    if (file.type.indexOf("image/") === 0) {
      var img = el("img", { alt: "" });
      img.src = URL.createObjectURL(file);
      ui.preview.appendChild(img);
    }
    ui.preview.appendChild(el("span", { text: file.name }));
    ui.preview.appendChild(el("button", { type: "button", class: "icon", "aria-label": t("remove"), text: "×", onclick: clearFile }));
    ui.preview.hidden = false;
  }

  function clearFile() {
    state.file = null;
    ui.fileInput.value = "";
    ui.preview.textContent = "";
    ui.preview.hidden = true;
  }

  ui.fileInput.addEventListener("change", function () { chooseFile(ui.fileInput.files[0]); });
  ui.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    if (state.file) { sendFile(); return; }
    var text = ui.text.value;
    ui.text.value = "";
    sendText(text);
  });
  ui.text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit ? ui.composer.requestSubmit() : ui.send.click();
    }
  });

  // --- typing and read receipts -------------------------------------------------------------------
  ui.text.addEventListener("input", function () {
    if (!state.conversationId) return;
    var now = Date.now();
    if (now - state.typingSent > 2000) { state.typingSent = now; wsSend({ action: "typing", typing: true }); }
    clearTimeout(state.typingStop);
    state.typingStop = setTimeout(stopTyping, 3000);
  });

  function stopTyping() {
    clearTimeout(state.typingStop);
    if (state.typingSent) { state.typingSent = 0; wsSend({ action: "typing", typing: false }); }
  }

  function showAgentTyping(name) {
    ui.typing.textContent = t("typing", { name: name || t("someone") });
    clearTimeout(state.agentTypingTimer);
    // A lost "stopped typing" event must not leave the indicator on forever.
    state.agentTypingTimer = setTimeout(hideAgentTyping, 8000);
  }
  function hideAgentTyping() { clearTimeout(state.agentTypingTimer); ui.typing.textContent = ""; }

  function markSeen() {
    if (!state.open || document.hidden) return;
    var last = 0;
    Object.keys(state.messages).forEach(function (id) {
      var m = state.messages[id];
      if (m.direction === "out" && m.sender_kind !== "system" && m.id > last && m.delivery_state !== "read") last = m.id;
    });
    if (last > state.seenSent && wsSend({ action: "seen", up_to: last })) state.seenSent = last;
  }
  document.addEventListener("visibilitychange", markSeen);

  // --- open / close -------------------------------------------------------------------------------
  function open() {
    state.open = true;
    ui.panel.hidden = false;
    host.classList.add("open");
    ui.launcher.setAttribute("aria-expanded", "true");
    state.unread = 0;
    renderBadge();
    scrollDown();
    markSeen();
    (ui.composer.hidden ? ui.prechat.querySelector("input") : ui.text).focus();
  }
  function close() {
    state.open = false;
    ui.panel.hidden = true;
    host.classList.remove("open");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.focus();
  }
  function toggle() { if (state.open) close(); else open(); }
  ui.panel.addEventListener("keydown", function (event) { if (event.key === "Escape") { event.stopPropagation(); close(); } });

  // --- start ------------------------------------------------------------------------------------
  function applyTexts(config) {
    if (!config.texts) return;
    TEXTS = config.texts;
    LANG = config.language || LANG;
    host.setAttribute("lang", LANG);
    ui.launcher.setAttribute("aria-label", t("open"));
    ui.closeBtn.setAttribute("aria-label", t("close"));
    ui.log.setAttribute("aria-label", t("messages"));
    ui.text.setAttribute("aria-label", t("placeholder"));
    ui.text.setAttribute("placeholder", t("placeholder"));
    ui.attach.setAttribute("aria-label", t("attach"));
    ui.attach.setAttribute("title", t("attach"));
    ui.send.setAttribute("aria-label", t("send"));
  }

  function applyConfig(config) {
    state.config = config;
    applyTexts(config);
    host.style.setProperty("--c", /^#[0-9a-fA-F]{3,8}$/.test(config.color) ? config.color : "#2563eb");
    if (config.position === "left") host.classList.add("left");
    ui.title.textContent = config.title;
    if (config.avatar_url && /^https?:/.test(config.avatar_url)) { ui.avatar.src = config.avatar_url; ui.avatar.hidden = false; }
    if (config.greeting) {
      ui.log.appendChild(el("div", { class: "msg out greeting", text: config.greeting }));
    }
    renderAvailability(config.availability);
  }

  function start() {
    if (!host.isConnected) (document.body || document.documentElement).appendChild(host);
    var ready = state.config ? Promise.resolve() : api("config?lang=" + encodeURIComponent(BROWSER_LANG), { auth: false })
      .then(applyConfig);
    ready.then(startSession).then(function () {
      renderPrechat();
      return catchUp();
    }).then(connect).catch(function (error) {
      if (error.status === 403 || error.status === 404) { state.stopped = true; showError(t("refused")); return; }
      // The server is unreachable or failed: try again later, keeping what is on screen.
      showError(error.message);
      setTimeout(start, 5000);
    });
  }

  window.SupportWidget = {
    __loaded: true,
    open: open,
    close: close,
    /** Verified identity from the shop's page: {id, hash, name, email, emailHash}. */
    identify: function (who) {
      if (!who || !who.id || !who.hash) return Promise.reject(new Error("identify needs id and hash"));
      state.identity = who;
      return startSession().then(function () {
        if (state.socket) state.socket.close(); // reconnects with the (possibly new) conversation
        return catchUp();
      });
    },
    /** For tests and debugging: the state of the connection. */
    status: function () {
      return { connected: !!(state.socket && state.socket.readyState === 1), conversationId: state.conversationId,
        lastId: state.lastId, pending: Object.keys(state.pending).length };
    },
    /** For tests: drop the socket as a network failure would. */
    _dropConnection: function () { if (state.socket) state.socket.close(); }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
