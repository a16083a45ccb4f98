// Logged out: what the inspector's phone page kept for working offline (the page with its
// tasks, in the service worker's "gridcity-m-…" caches) was this person's. Removed from the
// browser, so that the next person on a shared phone does not open it offline. Reports still
// waiting to be sent stay in IndexedDB: they go out with their client ids at the next log-in.
// A browser test reads document.documentElement.dataset.offlineKept ("removed").

async function forget() {
  if (!("caches" in window)) return;
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith("gridcity-m-")).map((n) => caches.delete(n)));
  document.documentElement.dataset.offlineKept = "removed";
}

forget();
