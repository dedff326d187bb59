// Refreshes the "Imports" table of a shop connection's admin page while an import runs.
const table = document.querySelector("table[data-progress-url]");
const OPEN = new Set(["running", "waiting"]);
const LABELS = { running: "Running", waiting: "Waiting for the rate limit", done: "Done", failed: "Failed" };

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
    row.cells[4].textContent = `${sync.created} new, ${sync.updated} updated, ${sync.skipped} skipped`;
  }
  if (syncs.some((s) => OPEN.has(s.status))) setTimeout(refresh, 2000);
}

if (table) refresh();
