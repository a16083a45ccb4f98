// The map of open cases: the cases in view from /desk/map/cases.geojson, clustered
// (Leaflet.markercluster), coloured by state, overdue in red. A view holding more cases than
// the server draws one by one comes as counts per work grid (or community): a bubble each,
// red when some are overdue, which zooms onto its cases when clicked; the clusters add the
// bubbles' counts up. Loads again, debounced, when the view moves, the filters change or a
// case changes ("desk:case" on the document, sent for each {"type": "case"} message of the
// notifications socket). A browser test reads window.gridcityCaseMap (ready, loads, error,
// shown, total, truncated, grouped, groups).

import { drawStreets } from "../gridcity/outlines.js";

const mapEl = document.getElementById("case-map");
const form = document.getElementById("case-map-filters");
const statusEl = document.getElementById("case-map-status");
const S = (document.getElementById("case-map-strings") || {}).dataset || {};
const STATES = JSON.parse((document.getElementById("case-map-states") || {}).textContent || "{}");

const MOVE_DELAY = 350; // ms after the last move before the view is loaded
const CHANGE_DELAY = 3000; // ms: the changes of a busy district come as one reload at most this often
const MAX_SIDE = 4.9; // degrees: the API takes a box up to 5 degrees a side

const api = (window.gridcityCaseMap = {
  map: null, ready: false, error: null, loads: 0, shown: 0, total: 0, truncated: false,
  grouped: null, groups: 0, reload: () => {},
});

const fmt = (template, values) =>
  String(template || "").replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function say(text, kind = "") {
  statusEl.textContent = text;
  statusEl.className = `case-map-status ${kind}`.trim();
}

const localTime = new Intl.DateTimeFormat(document.documentElement.lang || "zh-Hans", {
  month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  timeZone: "Asia/Shanghai",
});

function start() {
  if (!mapEl || !window.L || !L.markerClusterGroup) {
    api.error = "Leaflet is not loaded";
    if (statusEl) say(fmt(S.error, { message: api.error }), "error");
    return;
  }
  const map = L.map(mapEl, { zoomControl: false, minZoom: 3, maxZoom: 19, keyboard: true });
  api.map = map;
  L.control.zoom({ zoomInTitle: S.zoomIn, zoomOutTitle: S.zoomOut }).addTo(map);
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  if (mapEl.dataset.tileUrl) {
    L.tileLayer(mapEl.dataset.tileUrl, { attribution: mapEl.dataset.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  drawStreets(map, mapEl.dataset.streetsUrl);
  const clusters = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    maxClusterRadius: 50,
    iconCreateFunction: clusterIcon,
  }).addTo(map);

  const extent = (mapEl.dataset.extent || "").split(",").map(Number);
  if (extent.length === 4 && extent.every(Number.isFinite)) {
    map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]], { padding: [12, 12] });
  } else {
    map.setView([22.6, 113.85], 12);
  }

  // A reload clears the markers, and with them an open popup: while the person reads one, a
  // move (the popup's own pan included) or a change only marks the view stale, and it loads
  // when the popup closes.
  let timer = null;
  let changed = null;
  let stale = false;
  let inFlight = null;
  let popupOpen = false; // by the map's events: a closed popup stays in the page while it fades
  const loadWhenFree = () => {
    if (popupOpen) stale = true;
    else load();
  };
  const later = (delay) => {
    clearTimeout(timer);
    timer = setTimeout(loadWhenFree, delay);
  };
  api.reload = () => load();

  async function load() {
    stale = false;
    if (inFlight) inFlight.abort();
    const aborter = (inFlight = new AbortController());
    say(S.loading);
    let body;
    try {
      const answer = await fetch(urlFor(map), {
        headers: { Accept: "application/json" }, credentials: "same-origin", signal: aborter.signal,
      });
      body = await answer.json().catch(() => null);
      if (!answer.ok) {
        const error = (body && body.error) || {};
        throw new Error(error.message || `HTTP ${answer.status}`);
      }
    } catch (err) {
      if (err.name === "AbortError") return;
      api.error = err.message || S.networkError;
      say(fmt(S.error, { message: err instanceof TypeError ? S.networkError : api.error }), "error");
      return;
    } finally {
      if (inFlight === aborter) inFlight = null;
    }
    draw(map, clusters, body);
    api.error = null;
    api.loads += 1;
    api.ready = true;
  }

  map.on("moveend", () => later(MOVE_DELAY));
  map.on("popupopen", () => {
    popupOpen = true;
  });
  map.on("popupclose", () => {
    popupOpen = false;
    if (stale) later(0);
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams(filterParams()).toString();
    history.replaceState(null, "", query ? `?${query}` : location.pathname);
    load();
  });
  // A change reloads the view at most every CHANGE_DELAY: a steady stream of changes must not
  // postpone it for ever, as a debounce would.
  document.addEventListener("desk:case", () => {
    if (!changed) {
      changed = setTimeout(() => {
        changed = null;
        loadWhenFree();
      }, CHANGE_DELAY);
    }
  });
  load();
}

function filterParams() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (value !== "") params.append(name, value);
  }
  return params;
}

function urlFor(map) {
  const params = filterParams();
  const b = map.getBounds();
  const west = Math.max(b.getWest(), -180), east = Math.min(b.getEast(), 180);
  const south = Math.max(b.getSouth(), -90), north = Math.min(b.getNorth(), 90);
  // A view wider than the API's box limit asks without one: the newest cases of the scope.
  if (east - west <= MAX_SIDE && north - south <= MAX_SIDE) {
    params.set("bbox", [west, south, east, north].map((v) => v.toFixed(6)).join(","));
  }
  return `${mapEl.dataset.casesUrl}?${params}`;
}

function draw(map, clusters, body) {
  const features = (body && body.features) || [];
  const grouped = (body && body.grouped) || null;
  const markers = grouped ? features.map((f) => bubbleOf(map, f, grouped)) : features.map(markerOf);
  clusters.clearLayers();
  clusters.addLayers(markers);
  api.grouped = grouped;
  api.groups = grouped ? features.length : 0;
  api.shown = grouped ? 0 : features.length;
  api.total = body.total;
  api.truncated = Boolean(body.truncated);
  if (grouped) {
    const template = grouped === "grid" ? S.groupedGrid : S.groupedCommunity;
    say(fmt(template, { total: body.total, n: features.length }), "grouped");
  } else if (api.truncated) {
    say(fmt(S.truncated, { n: features.length, total: body.total }), "truncated");
  } else {
    say(features.length ? fmt(S.shown, { n: features.length }) : S.none);
  }
}

function markerOf(feature) {
  const [lon, lat] = feature.geometry.coordinates;
  const p = feature.properties;
  const look = `pin state-${p.status}${p.overdue ? " overdue" : ""}${p.escalated ? " escalated" : ""}`;
  const label = `${p.number} ${STATES[p.status] || p.status}${p.overdue ? ` ${S.overdue}` : ""}`;
  const marker = L.marker([lat, lon], {
    icon: L.divIcon({ className: "case-pin", html: `<span class="${look}"></span>`, iconSize: [20, 20] }),
    title: label,
    alt: label,
    keyboard: true,
    riseOnHover: true,
  });
  marker.overdue = p.overdue;
  marker.bindPopup(() => popupOf(p));
  return marker;
}

// A work grid's (or community's) open cases as one bubble at its label point: its count, red
// when some are overdue. A click (or Enter) zooms onto the box its cases lie in, where the
// next answer holds fewer cases, down to each case's own pin.
function bubbleOf(map, feature, level) {
  const [lon, lat] = feature.geometry.coordinates;
  const p = feature.properties;
  const where = p.name || p.code || S.noGrid;
  const label = `${where}: ${p.overdue ? fmt(S.clusterOverdue, { n: p.count, m: p.overdue }) : fmt(S.cluster, { n: p.count })}`;
  const marker = L.marker([lat, lon], {
    icon: countIcon(p.count, p.overdue, `case-group group-${level}`, label),
    title: label,
    alt: label,
    keyboard: true,
    riseOnHover: true,
  });
  marker.count = p.count;
  marker.overdueCount = p.overdue;
  marker.on("click", () => {
    const [west, south, east, north] = p.bbox;
    if (west === east && south === north) {
      map.setView([south, west], Math.min(map.getZoom() + 3, map.getMaxZoom()));
    } else {
      map.fitBounds([[south, west], [north, east]], { padding: [24, 24] });
    }
  });
  return marker;
}

function popupOf(p) {
  const url = mapEl.dataset.caseUrl.replace("NUMBER", encodeURIComponent(p.number));
  const flags = (p.overdue ? ` <span class="flag overdue">${escapeHtml(S.overdue)}</span>` : "") +
    (p.escalated ? ` <span class="flag escalated">${escapeHtml(S.escalated)}</span>` : "");
  const due = p.due ? localTime.format(new Date(p.due)) : "—";
  return `<div class="case-popup"><a href="${escapeHtml(url)}">${escapeHtml(p.number)}</a>
    <dl><dt>${escapeHtml(S.item)}</dt><dd>${escapeHtml(p.item)} ${escapeHtml(p.item_name)}</dd>
    <dt>${escapeHtml(S.state)}</dt><dd><span class="state state-${escapeHtml(p.status)}">${escapeHtml(STATES[p.status] || p.status)}</span>${flags}</dd>
    <dt>${escapeHtml(S.deadline)}</dt><dd>${escapeHtml(due)}</dd></dl></div>`;
}

// A cluster counts the cases of its pins and the counts of its bubbles.
function clusterIcon(cluster) {
  const children = cluster.getAllChildMarkers();
  const n = children.reduce((sum, m) => sum + (m.count ?? 1), 0);
  const overdue = children.reduce((sum, m) => sum + (m.overdueCount ?? (m.overdue ? 1 : 0)), 0);
  const label = overdue ? fmt(S.clusterOverdue, { n, m: overdue }) : fmt(S.cluster, { n });
  return countIcon(n, overdue, "", label);
}

function countIcon(n, overdue, extra, label) {
  const size = n < 10 ? 32 : n < 100 ? 38 : n < 1000 ? 44 : 52;
  return L.divIcon({
    className: `case-cluster${overdue ? " has-overdue" : ""}${extra ? ` ${extra}` : ""}`,
    html: `<div><span aria-hidden="true">${n}</span><span class="visually-hidden">${escapeHtml(label)}</span></div>`,
    iconSize: [size, size],
  });
}

start();
