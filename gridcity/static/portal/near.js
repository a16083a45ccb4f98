// Near me (附近的问题): the public problems in the map's view from /api/v1/public/near/?bbox=,
// a pin each coloured by state, and the list below the map redrawn from the same answer.
// "Use my location" centres the map on the phone's position (nothing is sent but the box).
// A browser test reads window.gridcityNear (ready, loads, shown, truncated, error).

import { drawStreets } from "../gridcity/outlines.js";

const mapEl = document.getElementById("near-map");
const listEl = document.getElementById("near-list");
const statusEl = document.getElementById("near-status");
const locateEl = document.getElementById("near-locate");
const S = (document.getElementById("near-strings") || {}).dataset || {};

const MOVE_DELAY = 350; // ms after the last move before the view is loaded
const MAX_SIDE = 4.9; // degrees: the API takes a box up to 5 degrees a side

const api = (window.gridcityNear = { map: null, ready: false, loads: 0, shown: 0, truncated: false, error: null });

const fmt = (template, values) =>
  String(template || "").replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));

const localTime = new Intl.DateTimeFormat("zh-Hans", {
  month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false,
  timeZone: "Asia/Shanghai",
});

function say(text) {
  if (statusEl) statusEl.textContent = text;
}

function caseUrl(number) {
  return mapEl.dataset.caseUrl.replace("NUMBER", encodeURIComponent(number));
}

// Text only (textContent): nothing the server sends is read as HTML.
function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function row(p) {
  const when = p.reported_at ? localTime.format(new Date(p.reported_at)) : "";
  const link = el("a", { href: caseUrl(p.number) }, [
    el("span", { className: `portal-state state-${p.state}`, textContent: p.state_label }),
    el("span", { className: "item", textContent: p.item }),
    el("span", { className: "where", textContent: p.address || "" }),
    el("time", { dateTime: p.reported_at || "", textContent: when }),
  ]);
  const item = el("li", {}, [link]);
  item.dataset.number = p.number;
  return item;
}

function popup(p) {
  return el("div", { className: "near-popup" }, [
    el("a", { href: caseUrl(p.number), textContent: p.item }),
    el("div", { textContent: p.state_label }),
    el("div", { textContent: p.address || "" }),
  ]);
}

function start() {
  if (!mapEl || !window.L) {
    api.error = "Leaflet is not loaded";
    return;
  }
  const map = L.map(mapEl, { minZoom: 3, maxZoom: 19, keyboard: true });
  api.map = map;
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  if (mapEl.dataset.tileUrl) {
    L.tileLayer(mapEl.dataset.tileUrl, { attribution: mapEl.dataset.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  drawStreets(map, mapEl.dataset.streetsUrl, { credentials: "omit" });
  const pins = L.layerGroup().addTo(map);
  const extent = (mapEl.dataset.extent || "").split(",").map(Number);
  if (extent.length === 4 && extent.every(Number.isFinite)) {
    map.fitBounds([[extent[1], extent[0]], [extent[3], extent[2]]], { padding: [12, 12] });
  } else {
    map.setView([22.6, 113.85], 12);
  }

  let timer = null;
  let asked = 0;
  async function load() {
    const mine = ++asked;
    const b = map.getBounds();
    const params = new URLSearchParams();
    const west = Math.max(b.getWest(), -180), east = Math.min(b.getEast(), 180);
    const south = Math.max(b.getSouth(), -90), north = Math.min(b.getNorth(), 90);
    if (east - west <= MAX_SIDE && north - south <= MAX_SIDE) {
      params.set("bbox", [west, south, east, north].map((v) => v.toFixed(6)).join(","));
    }
    say(S.loading);
    try {
      const answer = await fetch(`${mapEl.dataset.nearUrl}?${params}`, {
        headers: { Accept: "application/json" }, credentials: "omit",
      });
      if (!answer.ok) throw new Error(String(answer.status));
      const body = await answer.json();
      if (mine !== asked) return; // a newer view was asked for meanwhile
      draw(body);
    } catch (err) {
      api.error = String(err);
      say(S.error);
    } finally {
      api.loads += 1;
      api.ready = true;
    }
  }

  function draw(body) {
    const features = body.features || [];
    pins.clearLayers();
    for (const f of features) {
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      const icon = L.divIcon({ className: `near-pin state-${p.state}`, html: "<span></span>", iconSize: [16, 16] });
      L.marker([lat, lon], { icon, title: `${p.item} · ${p.state_label}`, keyboard: true })
        .bindPopup(() => popup(p))
        .addTo(pins);
    }
    listEl.replaceChildren(...features.map((f) => row(f.properties)));
    if (!features.length) listEl.append(el("li", { className: "empty", textContent: S.none }));
    api.shown = features.length;
    api.truncated = !!body.truncated;
    say(body.truncated ? fmt(S.truncated, { n: features.length }) : fmt(S.shown, { n: features.length }));
  }

  map.on("moveend", () => {
    clearTimeout(timer);
    timer = setTimeout(load, MOVE_DELAY);
  });
  load();

  if (locateEl) {
    if (!("geolocation" in navigator)) locateEl.hidden = true;
    locateEl.addEventListener("click", () => {
      say(S.locating);
      navigator.geolocation.getCurrentPosition(
        (pos) => map.setView([pos.coords.latitude, pos.coords.longitude], 16),
        () => say(S.noLocation),
        { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
      );
    });
  }
}

start();
