// A case's small map on its public page and its private page: one pin where the problem is.
// Only the streets' outlines when no tile server is configured (a closed network).

const mapEl = document.getElementById("case-map");

function start() {
  if (!mapEl || !window.L) return;
  const lon = Number(mapEl.dataset.lon), lat = Number(mapEl.dataset.lat);
  if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
  const map = L.map(mapEl, { zoomControl: true, dragging: true, scrollWheelZoom: false, keyboard: false });
  if (mapEl.dataset.tileUrl) {
    L.tileLayer(mapEl.dataset.tileUrl, { attribution: mapEl.dataset.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  map.setView([lat, lon], 16);
  const icon = L.divIcon({ className: `near-pin state-${mapEl.dataset.state}`, html: "<span></span>", iconSize: [16, 16] });
  L.marker([lat, lon], { icon, interactive: false, keyboard: false }).addTo(map);
}

start();

// The private page follows its case: every minute while it is shown, it asks the API for the
// case and reloads when a step was added (a form being filled in is not thrown away).
const watchEl = document.querySelector("[data-track-url]");
const POLL = 60000;

function typing() {
  return [...document.querySelectorAll("textarea, input[type=radio]:checked")].some(
    (el) => (el.tagName === "TEXTAREA" ? el.value.trim() !== "" : true),
  );
}

async function poll() {
  if (document.hidden || typing()) return;
  try {
    const answer = await fetch(watchEl.dataset.trackUrl, {
      headers: { Accept: "application/json" }, credentials: "omit", cache: "no-store",
    });
    if (!answer.ok) return;
    const body = await answer.json();
    if (body.case.timeline.length !== Number(watchEl.dataset.steps)) location.reload();
  } catch (err) {
    // Offline for a moment: the next poll tries again.
  }
}

if (watchEl) setInterval(poll, POLL);
