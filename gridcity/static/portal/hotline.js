// The hotline console (12345 热线受理台): the map that places the call, and the side panels
// loaded as the operator types (the caller's earlier tickets by phone, open cases of the same
// item nearby for 并单, the knowledge base for 直接办结). The panels are HTML fragments of
// /hotline/panel/?part=…; without this script "Look up" reloads the page with them.
// A browser test reads window.gridcityHotline (ready, loads).

import { drawStreets } from "../gridcity/outlines.js";

const form = document.getElementById("call-form");
const mapEl = document.getElementById("call-map");
const S = (document.getElementById("hotline-strings") || {}).dataset || {};
const api = (window.gridcityHotline = { ready: false, loads: 0, map: null });
const DELAY = 300; // ms after the last keystroke

const field = (name) => form.elements.namedItem(name);
const value = (name) => {
  const el = field(name);
  if (!el) return "";
  if (el instanceof RadioNodeList) return el.value || "";
  return el.value || "";
};

const timers = {};
let generation = {};

function load(part, params) {
  clearTimeout(timers[part]);
  timers[part] = setTimeout(async () => {
    const mine = (generation[part] = (generation[part] || 0) + 1);
    const query = new URLSearchParams({ part, ...params });
    try {
      const answer = await fetch(`${form.dataset.panelUrl}?${query}`, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!answer.ok || mine !== generation[part]) return;
      const html = await answer.text();
      if (mine !== generation[part]) return;
      document.getElementById(`panel-${part}`).innerHTML = html;
      api.loads += 1;
    } catch (err) {
      // The panel keeps what it showed; the form still works.
    }
  }, DELAY);
}

const callers = () => load("callers", { phone: value("phone") });
const nearby = () =>
  load("nearby", { item: value("item"), lon: value("lon"), lat: value("lat"), grid: value("grid") });
const knowledge = () => load("knowledge", { q: document.getElementById("call-q").value, request_type: value("request_type") });

field("phone").addEventListener("input", callers);
field("item").addEventListener("change", nearby);
field("grid").addEventListener("input", nearby);
document.getElementById("call-q").addEventListener("input", knowledge);
for (const radio of form.querySelectorAll("input[name=request_type]")) {
  radio.addEventListener("change", () => document.getElementById("call-q").value && knowledge());
}
// Enter in the knowledge search looks it up; it does not take the call.
document.getElementById("call-q").addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    knowledge();
  }
});

function place(lat, lon, marker) {
  field("lon").value = lon.toFixed(6);
  field("lat").value = lat.toFixed(6);
  marker.setLatLng([lat, lon]);
  const text = S.placed || "{lat}, {lon}";
  document.getElementById("call-place").textContent = text
    .replace("{lat}", lat.toFixed(5))
    .replace("{lon}", lon.toFixed(5));
  nearby();
}

function startMap() {
  if (!mapEl || !window.L) return;
  const map = L.map(mapEl, { minZoom: 3, maxZoom: 19 });
  api.map = map;
  if (mapEl.dataset.tileUrl) {
    L.tileLayer(mapEl.dataset.tileUrl, { attribution: mapEl.dataset.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  const extent = (mapEl.dataset.extent || "").split(",").map(Number);
  if (extent.length === 4 && extent.every(Number.isFinite)) {
    map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]]);
  } else {
    map.setView([22.6, 113.85], 12);
  }
  drawStreets(map, mapEl.dataset.streetsUrl, { style: { weight: 1.2, fillOpacity: 0.03 } });
  const marker = L.circleMarker([0, 0], { radius: 8, color: "#b3261e", weight: 3, fillOpacity: 0.4 });
  const lon = parseFloat(value("lon"));
  const lat = parseFloat(value("lat"));
  if (Number.isFinite(lon) && Number.isFinite(lat)) marker.setLatLng([lat, lon]).addTo(map);
  map.on("click", (event) => {
    marker.addTo(map);
    place(event.latlng.lat, event.latlng.lng, marker);
  });
  api.place = (lat, lon) => {
    marker.addTo(map);
    place(lat, lon, marker);
  };
}

startMap();
api.ready = true;
