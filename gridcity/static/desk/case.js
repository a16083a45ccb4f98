// The case page: its map, the photo viewer and the keyboard (keys from cases.actions' table).
// Plain ES module; the page works without it (forms are <details>, photos are links away).

const page = document.querySelector(".case-page");
const state = { ready: false, error: null };
window.gridcityCase = state;

function drawMap() {
  const element = document.getElementById("case-map");
  const source = document.getElementById("case-map-data");
  if (!element || !source || !window.L) return;
  const data = JSON.parse(source.textContent);
  const map = L.map(element, { zoomControl: true, attributionControl: Boolean(data.tileUrl) });
  if (data.tileUrl) {
    L.tileLayer(data.tileUrl, { attribution: data.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  const [lon, lat] = data.point;
  const here = L.latLng(lat, lon);
  const grid = data.grid
    ? L.geoJSON(data.grid, {
        style: { color: "#1f4e79", weight: 2, fillColor: "#1f4e79", fillOpacity: 0.08 },
        interactive: false,
      })
    : null;
  // The view first: a vector layer added to a map without one has nowhere to draw.
  const bounds = grid ? grid.getBounds().extend(here) : L.latLngBounds(here, here);
  map.fitBounds(bounds.pad(0.15), { maxZoom: 18 });
  if (grid) grid.addTo(map);
  L.circleMarker(here, { radius: 8, color: "#fff", weight: 2, fillColor: "#b3261e", fillOpacity: 1 })
    .addTo(map)
    .bindTooltip(page.dataset.number);
}

function photoViewer() {
  const dialog = document.getElementById("photo-viewer");
  if (!dialog) return;
  const image = document.getElementById("photo-viewer-image");
  const caption = document.getElementById("photo-viewer-caption");
  let opener = null;
  for (const thumb of document.querySelectorAll(".photo-thumb")) {
    thumb.addEventListener("click", () => {
      opener = thumb;
      image.src = thumb.dataset.display; // the display copy, never the original
      image.alt = thumb.getAttribute("aria-label") || "";
      caption.textContent = thumb.dataset.caption || "";
      dialog.showModal();
    });
  }
  dialog.addEventListener("close", () => {
    image.removeAttribute("src");
    if (opener) opener.focus();
  });
}

// --- keyboard ------------------------------------------------------------------------------

function typing(target) {
  if (!target || !target.closest) return false;
  return Boolean(target.closest("input, textarea, select, [contenteditable='true']"));
}

function firstControl(form) {
  const empty = [...form.querySelectorAll("input[required], textarea[required]")].find(
    (el) => el.type !== "radio" && el.type !== "hidden" && !el.value,
  );
  return (
    empty ||
    form.querySelector("[data-note]") ||
    form.querySelector("input:not([type=hidden]), select, textarea, button[type=submit]")
  );
}

export function openAction(details) {
  for (const other of document.querySelectorAll("details.case-action[open]")) {
    if (other !== details) other.open = false;
  }
  details.open = true;
  details.scrollIntoView({ block: "nearest" });
  const control = firstControl(details.querySelector("form"));
  if (control) control.focus();
}

function closeForms() {
  const open = document.querySelector("details.case-action[open]");
  if (!open) return false;
  open.open = false;
  open.querySelector("summary").focus();
  return true;
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
  if (document.querySelector("dialog[open]")) return; // the dialog handles its own Esc
  if (event.key === "Escape") {
    if (closeForms()) event.preventDefault();
    return;
  }
  if (typing(event.target)) return;
  const key = event.key.toLowerCase();
  if (key === "n") {
    const next = document.getElementById("next-case");
    if (next) {
      event.preventDefault();
      window.location.assign(next.href);
    }
    return;
  }
  const details = document.querySelector(`details.case-action[data-key="${CSS.escape(key)}"]`);
  if (details) {
    event.preventDefault();
    openAction(details);
  }
}

function start() {
  try {
    photoViewer();
    document.addEventListener("keydown", onKey);
    // A form re-rendered with an error: its first wrong field has the focus.
    const invalid = document.querySelector("details.case-action[open] [aria-invalid='true']");
    if (invalid) invalid.focus();
    drawMap();
    state.ready = true;
  } catch (error) {
    state.error = String(error) + "\n" + (error.stack || "");
    throw error;
  }
}

start();
