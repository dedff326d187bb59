// The bot test console: asks /bot/api/console/ what the bot would do and shows the ranked
// candidates. Every value is inserted with textContent.

import { gettext, interpolate } from "../inbox/i18n.js";

const ACTIONS = {
  answer: gettext("Answered"),
  suggest: gettext("Suggested answers"),
  handoff: gettext("Handed off"),
  greeting: gettext("Greeting"),
  thanks: gettext("Thanks"),
  rephrase: gettext("Asked to rephrase"),
  feedback: gettext("Recorded feedback"),
  ignored: gettext("Ignored (automated message)"),
};

const form = document.getElementById("console-form");
const result = document.getElementById("console-result");
const errorBox = document.getElementById("console-error");

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
}

function show(data) {
  const action = document.getElementById("console-action");
  action.textContent = ACTIONS[data.decision.action] || data.decision.action;
  action.className = `decision-${data.decision.action}`;
  document.getElementById("console-reason").textContent = `(${data.decision.reason_label || data.decision.reason})`;
  const t = data.thresholds;
  document.getElementById("console-meta").textContent =
    interpolate(gettext("Language %(language)s"), { language: data.language }, true) +
    (data.intent ? " · " + interpolate(gettext("intent %(intent)s"), { intent: data.intent }, true) : "") +
    " · " + interpolate(gettext("thresholds answer %(answer)s, suggest %(suggest)s, margin %(margin)s"), t, true) +
    " · " + interpolate(ngettext("%(count)s variant indexed", "%(count)s variants indexed", data.index_size), { count: data.index_size }, true);
  const body = document.getElementById("console-candidates");
  body.replaceChildren();
  data.candidates.forEach((c, i) => {
    const row = document.createElement("tr");
    row.className = "candidate";
    if (data.decision.answer_ids.includes(c.answer_id)) row.classList.add("chosen");
    cell(row, String(i + 1));
    cell(row, c.title, "candidate-title");
    cell(row, c.confidence.toFixed(3), "num candidate-confidence");
    cell(row, c.score.toFixed(3), "num");
    cell(row, c.matched_text);
    body.appendChild(row);
  });
  if (!data.candidates.length) {
    const row = document.createElement("tr");
    cell(row, gettext("No candidates."), "muted");
    body.appendChild(row);
  }
  result.hidden = false;
}

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const params = new URLSearchParams(new FormData(form));
  try {
    const response = await fetch(`${form.dataset.url}?${params}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const data = await response.json();
    if (!response.ok) throw new Error(data.error || `HTTP ${response.status}`);
    show(data);
  } catch (error) {
    errorBox.textContent = interpolate(gettext("Could not test the question: %s"), [error.message]);
    errorBox.hidden = false;
  }
});
