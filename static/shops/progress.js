// Refreshes the "Imports" table of a shop connection's admin page while an import runs.
const table = document.querySelector("table[data-progress-url]");
const OPEN = new Set(["running", "waiting"]);
// The admin has no JavaScript catalog of ours: the page's own labels would need /jsi18n/;
// the Django admin loads its catalog as window.gettext when present.
const gettext = window.gettext || ((text) => text);
const interpolate = window.interpolate || ((format, values) => format.replace(/%\((\w+)\)s/g, (_, key) => values[key]));
const LABELS = { running: gettext("Running"), waiting: gettext("Waiting for the rate limit"), done: gettext("Done"),
  failed: gettext("Failed") };

async function refresh() {
  const answer = await fetch(table.dataset.progressUrl, { credentials: "same-origin" });
  if (!answer.ok) return;
  const { syncs } = await answer.json();
  for (const sync of syncs) {
    const row = table.querySelector(`tr[data-sync="${sync.id}"]`);
    if (!row) continue;
    row.querySelector("[data-sync-status]").textContent = LABELS[sync.status] || sync.status;
    row.querySelector("[data-sync-orders]").textContent = String(sync.orders_seen);
    row.cells[2].textContent = String(sync.pages);
    row.cells[4].textContent = interpolate(gettext("%(new)s new, %(updated)s updated, %(skipped)s skipped"),
      { new: sync.created, updated: sync.updated, skipped: sync.skipped }, true);
  }
  if (syncs.some((s) => OPEN.has(s.status))) setTimeout(refresh, 2000);
}

if (table) refresh();
