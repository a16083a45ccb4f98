// The workbenches' shared behaviour: live counts, the table's partial refresh, the keyboard.
// Plain ES module, no framework; each page adds its own module beside this one.

const frame = document.querySelector(".desk-frame");

export async function refreshCounts() {
  const url = frame && frame.dataset.countsUrl;
  if (!url) return;
  const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!answer.ok) return;
  const counts = await answer.json();
  for (const [key, n] of Object.entries(counts)) {
    const badge = document.querySelector(`[data-count="${key}"]`);
    if (badge) badge.textContent = n;
  }
}

window.gridcityDesk = { refreshCounts };
