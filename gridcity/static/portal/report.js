// The citizen's report page (templates/portal/report.html), phone first.
//
// The form works without this module (it posts to the page, with the pin's coordinates typed
// in); with it: a Leaflet map to tap the pin on (or "use my location"), the place checked
// against the district (/api/v1/locate/), a search over the categories in plain words, the
// open public problems of the same item within 50 m offered with "this is mine too" before
// sending, and up to five photos made smaller here (desk/photos.js's shrink) and sent with the
// report to the API in one request. The report carries a client_uuid made once per page, so a
// retry after a lost answer is still one case. Every string shown comes from the form's data-
// attributes, translated by the template.
//
// A browser test waits for window.gridcityReport.ready.

import { shrink } from "../desk/photos.js";

const form = document.getElementById("report-form");
const api = (window.gridcityReport = { ready: false, error: null, map: null, similarKey: "" });

const $ = (id) => document.getElementById(id);
const S = form ? form.dataset : {};
const MAX_PHOTOS = Number(S.photosMax) || 5;
const limits = { maxSide: 2048, quality: 0.85, maxBytes: Number(S.photoMaxBytes) || 10 * 2 ** 20 };

function csrfToken() {
  const field = form.querySelector("input[name=csrfmiddlewaretoken]");
  return field ? field.value : "";
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// --- errors beside their fields ------------------------------------------------------------

const FIELD_INPUT = { lon: "report-lon", lat: "report-lat", item: "report-item", description: "report-description",
  phone: "report-phone", email: "report-email", photos: "report-photos", captcha: "report-captcha-answer" };
const FIELD_ERROR = { lat: "report-lon-error" };

function clearErrors() {
  $("report-error").hidden = true;
  $("report-error").textContent = "";
  for (const el of form.querySelectorAll(".p-error")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function showError(message, fields = {}) {
  const box = $("report-error");
  box.textContent = message;
  box.hidden = false;
  for (const [name, messages] of Object.entries(fields)) {
    const note = $(FIELD_ERROR[name] || `report-${name}-error`);
    if (note) {
      note.textContent = [note.textContent, ...messages].filter(Boolean).join(" ");
      note.hidden = false;
    }
    const input = $(FIELD_INPUT[name] || "");
    if (input) input.setAttribute("aria-invalid", "true");
  }
  if (fields.phone || fields.email) form.querySelector("details.p-more").open = true;
  box.scrollIntoView({ block: "center" });
}

function showCaptcha(challenge) {
  if (!challenge) return;
  $("report-captcha").hidden = false;
  $("report-captcha-image").src = challenge.image_url;
  $("report-captcha-key").value = challenge.key;
  $("report-captcha-answer").value = "";
}

// --- the map and the pin -------------------------------------------------------------------

let marker = null;
const lonInput = () => $("report-lon");
const latInput = () => $("report-lat");

function startMap() {
  if (!window.L) return; // no Leaflet: the coordinates stay typed in
  const mapEl = $("report-map");
  mapEl.hidden = false;
  $("report-coords").hidden = true;
  const map = L.map(mapEl, { zoomControl: true, attributionControl: Boolean(S.tileUrl) });
  api.map = map;
  if (S.tileUrl) L.tileLayer(S.tileUrl, { attribution: S.tileAttribution, maxZoom: 19 }).addTo(map);
  const bounds = (S.bounds || "").split(",").map(Number);
  if (bounds.length === 4 && bounds.every(Number.isFinite)) {
    map.fitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]]);
  } else {
    map.setView([22.65, 113.85], 11);
  }
  fetch(`${S.districtsUrl}?simplify=20`, { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : null))
    .then((outline) => {
      if (outline) {
        L.geoJSON(outline, { interactive: false, style: { color: "#1f4e79", weight: 2, fillOpacity: 0.04 } }).addTo(map);
      }
    })
    .catch(() => {});
  map.on("click", (e) => place(e.latlng.lng, e.latlng.lat));
  const lon = Number(lonInput().value);
  const lat = Number(latInput().value);
  if (lonInput().value && latInput().value && Number.isFinite(lon) && Number.isFinite(lat)) {
    place(lon, lat, { zoom: 17 });
  }
  if (navigator.geolocation) {
    const button = $("report-locate");
    button.hidden = false;
    button.addEventListener("click", useMyLocation);
  }
}

function place(lon, lat, { zoom = null } = {}) {
  const map = api.map;
  const at = [lat, lon];
  if (marker) marker.setLatLng(at);
  else marker = L.marker(at, { keyboard: false }).addTo(map);
  if (zoom) map.setView(at, zoom);
  lonInput().value = lon.toFixed(7);
  latInput().value = lat.toFixed(7);
  form.dataset.pinned = "true";
  checkPlace(lon, lat);
  checkSimilar();
}

async function checkPlace(lon, lat) {
  const where = $("report-where");
  const note = $("report-lon-error");
  note.hidden = true;
  try {
    const response = await fetch(`${S.locateUrl}?lon=${lon}&lat=${lat}`, { headers: { Accept: "application/json" } });
    if (response.status === 404) {
      where.textContent = S.labelOutside;
      where.dataset.state = "outside";
      return;
    }
    if (!response.ok) return;
    const found = await response.json();
    where.textContent = `${S.labelWhere}: ${found.street.name} · ${found.community.name}`;
    where.dataset.state = "inside";
  } catch (e) {
    // no network: the server will judge the spot when the report is sent
  }
}

function useMyLocation() {
  const where = $("report-where");
  where.textContent = S.labelLocating;
  navigator.geolocation.getCurrentPosition(
    (position) => place(position.coords.longitude, position.coords.latitude, { zoom: 17 }),
    () => {
      where.textContent = S.labelNoLocation;
    },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
  );
}

// --- the category in plain words -----------------------------------------------------------

function chooseItem(code, name) {
  const select = $("report-item");
  select.value = code;
  $("report-item-chosen").textContent = code ? `${S.labelChosen} ${name}` : "";
  for (const button of $("report-items").querySelectorAll("button[data-code]")) {
    button.setAttribute("aria-pressed", button.dataset.code === code ? "true" : "false");
  }
  $("report-item-error").hidden = true;
  checkSimilar();
}

function startItems() {
  const search = $("report-item-search");
  const list = $("report-items");
  const select = $("report-item");
  search.hidden = false;
  let asked = 0;
  const look = debounce(async () => {
    const q = search.value.trim();
    const mine = ++asked;
    if (!q) {
      list.innerHTML = "";
      return;
    }
    try {
      const response = await fetch(`${S.itemsUrl}?q=${encodeURIComponent(q)}`);
      if (!response.ok || mine !== asked) return;
      list.innerHTML = await response.text();
      list.dataset.q = q;
      for (const button of list.querySelectorAll("button[data-code]")) {
        button.setAttribute("aria-pressed", button.dataset.code === select.value ? "true" : "false");
      }
    } catch (e) {
      // no network: the list below still offers every category
    }
  }, 200);
  search.addEventListener("input", look);
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") e.preventDefault(); // Enter in the search box does not send the report
  });
  list.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-code]");
    if (button) chooseItem(button.dataset.code, button.dataset.name);
  });
  select.addEventListener("change", () => {
    const option = select.selectedOptions[0];
    chooseItem(select.value, select.value && option ? option.textContent : "");
  });
  if (select.value) chooseItem(select.value, select.selectedOptions[0].textContent);
}

// --- similar problems nearby ---------------------------------------------------------------

let similarAsked = 0;

async function checkSimilar() {
  const item = $("report-item").value;
  const lon = lonInput().value;
  const lat = latInput().value;
  if (!item || !lon || !lat) return;
  const key = `${item}|${lon}|${lat}`;
  if (key === api.similarKey) return;
  const mine = ++similarAsked;
  try {
    const query = new URLSearchParams({ item, lon, lat });
    const response = await fetch(`${S.similarUrl}?${query}`);
    if (!response.ok || mine !== similarAsked) return;
    $("report-similar").innerHTML = await response.text();
    $("report-similar-seen").value = "1";
    api.similarKey = key;
  } catch (e) {
    // no network: the report is sent as it is
  }
}

// --- photos --------------------------------------------------------------------------------

const chosen = [];

function drawPhotos() {
  const list = $("report-photo-list");
  list.replaceChildren();
  chosen.forEach((photo, index) => {
    const li = document.createElement("li");
    const img = document.createElement("img");
    img.src = photo.url;
    img.alt = photo.file.name || "photo";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "p-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `${S.labelRemove} ${index + 1}`);
    remove.addEventListener("click", () => {
      URL.revokeObjectURL(photo.url);
      chosen.splice(index, 1);
      drawPhotos();
    });
    li.append(img, remove);
    list.append(li);
  });
  list.dataset.count = String(chosen.length);
}

function startPhotos() {
  const input = $("report-photos");
  input.addEventListener("change", () => {
    const note = $("report-photos-error");
    note.hidden = true;
    for (const file of input.files) {
      if (chosen.length >= MAX_PHOTOS) {
        note.textContent = S.labelTooManyPhotos;
        note.hidden = false;
        break;
      }
      chosen.push({ file, url: URL.createObjectURL(file), prepared: null });
    }
    input.value = ""; // the photos travel in this module's request, not in the field
    drawPhotos();
  });
}

// --- sending -------------------------------------------------------------------------------

async function send(e) {
  // "This is mine too" sends the form to the follow (its button's formaction), as it is.
  if (e.submitter && e.submitter.hasAttribute("formaction")) return;
  e.preventDefault();
  clearErrors();
  if (!lonInput().value || !latInput().value) {
    showError(S.labelNoPin, { lon: [S.labelNoPin] });
    return;
  }
  if (!$("report-item").value) {
    showError(S.labelNoItem, { item: [S.labelNoItem] });
    return;
  }
  const button = $("report-send");
  const label = button.textContent;
  button.disabled = true;
  try {
    button.textContent = S.labelPreparing;
    for (const photo of chosen) {
      if (!photo.prepared) photo.prepared = await shrink(photo.file, limits);
    }
    const body = new FormData(form);
    body.delete("photos");
    body.delete("similar_seen");
    chosen.forEach((photo, index) => {
      const blob = photo.prepared.blob;
      const name = photo.prepared.resized ? `photo-${index + 1}.jpg` : photo.file.name || `photo-${index + 1}`;
      body.append("photos", new File([blob], name, { type: blob.type || photo.file.type }));
    });
    button.textContent = S.labelSending;
    const response = await fetch(S.api, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    });
    let answer = null;
    try {
      answer = await response.json();
    } catch (err) {
      answer = null;
    }
    if (response.ok && answer && answer.track_url) {
      form.dataset.sent = answer.number;
      window.location.assign(answer.track_url);
      return;
    }
    const error = (answer && answer.error) || { message: `HTTP ${response.status}` };
    showCaptcha(error.captcha);
    showError(error.message, error.fields || {});
  } catch (err) {
    showError(S.labelNetwork);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// --- start ---------------------------------------------------------------------------------

if (form) {
  try {
    startMap();
    startItems();
    startPhotos();
    form.addEventListener("submit", send);
    api.ready = true;
  } catch (err) {
    api.error = String(err);
    throw err;
  }
}
