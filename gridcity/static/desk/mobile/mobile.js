// The inspector's phone page: views, photos, position, item picker, and the outbox.
//
// Every report, confirmation (核实) and verification (核查) is first written to the outbox
// (IndexedDB, in this browser) with the client ids the server uses to recognise a retry, then sent from there: at once when
// the network is up, else when it returns (the `online` event, the next page load, a periodic
// retry, Background Sync where the browser has it). The API is idempotent by those ids, so an
// entry sent twice is still one case with one set of photos.
//
// Plain ES module, no build step. Browser tests read window.gridcityMobile.

import { shrink } from '../photos.js';

const app = document.getElementById('m-app');
const S = document.getElementById('m-strings').dataset;
const $ = (id) => document.getElementById(id);
const fmt = (template, values) =>
  String(template || '').replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));

const PHOTO_MAX_PX = 2048; // the longest side sent; a phone's 12 MP photo is four times that
const PHOTO_QUALITY = 0.85;
const RETRY_FIRST_MS = 5000; // then doubled per failure, up to RETRY_MAX_MS
const RETRY_MAX_MS = 5 * 60 * 1000;
const RETRY_TICK_MS = 15000;
const FIX_FRESH_MS = 5 * 60 * 1000; // a verification carries the fix if no older than this

const api = (window.gridcityMobile = { ready: false, error: null });

// ---------------------------------------------------------------------------------------
// The outbox store: one IndexedDB object store, entries keyed by their client uuid.

const DB_NAME = 'gridcity-m';
const STORE = 'outbox';
let opened = null;

function database() {
  opened = opened || new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'id' });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function inStore(mode, work) {
  const db = await database();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const request = work(tx.objectStore(STORE));
    tx.oncomplete = () => resolve(request ? request.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

const outbox = {
  all: async () => (await inStore('readonly', (s) => s.getAll())).sort((a, b) => a.created - b.created),
  put: (entry) => inStore('readwrite', (s) => s.put(entry)),
  remove: (id) => inStore('readwrite', (s) => s.delete(id)),
};

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Not a secure context (plain http on a LAN address): the same v4 layout by hand.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// ---------------------------------------------------------------------------------------
// Talking to the API: the session cookie and the CSRF header; answers sorted by what to do.

class Offline extends Error {}
class LoginNeeded extends Error {}
class Retry extends Error {}
class Refused extends Error {
  constructor(status, message, caseStatus, code) {
    super(message);
    this.status = status;
    this.caseStatus = caseStatus;
    this.code = code;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : app.dataset.csrf;
}

async function call(url, { json, form } = {}) {
  const headers = { Accept: 'application/json', 'X-CSRFToken': csrfToken() };
  let body = form;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  }
  let answer;
  try {
    answer = await fetch(url, { method: 'POST', headers, body, credentials: 'same-origin' });
  } catch (error) {
    throw new Offline(S.networkError);
  }
  let data = null;
  try {
    data = await answer.json();
  } catch (error) {
    data = null;
  }
  judge(answer.status, data);
  return data;
}

function errorText(error) {
  const fields = Object.entries(error.fields || {})
    .map(([name, messages]) => `${name}: ${[].concat(messages).join(' ')}`)
    .join('; ');
  return [error.message, fields && !String(error.message).includes(fields) ? fields : '']
    .filter(Boolean)
    .join(' — ');
}

function judge(status, data) {
  if (status >= 200 && status < 300) return;
  const error = (data && data.error) || {};
  if (status === 401) throw new LoginNeeded(S.stateLogin);
  // A session that ended leaves a stale CSRF token: asking again would fail the same way.
  if (status === 403 && /CSRF/i.test(error.message || '')) throw new LoginNeeded(S.stateLogin);
  if (status >= 500 || status === 429 || (status === 409 && error.code === 'busy')) {
    throw new Retry(error.message || fmt(S.serverError, { status }));
  }
  throw new Refused(status, errorText(error) || fmt(S.serverError, { status }), error.status, error.code);
}

// ---------------------------------------------------------------------------------------
// Sending the outbox.

const casesUrl = app.dataset.cases;
let loginNeeded = false;
let flushing = null;
let flushAgain = false;

async function sendPhotos(entry, stage) {
  for (const photo of entry.photos) {
    if (photo.sent) continue;
    const form = new FormData();
    form.append('file', photo.blob, 'photo.jpg');
    form.append('stage', stage);
    form.append('client_id', photo.client_id);
    await call(`${casesUrl}${encodeURIComponent(entry.number)}/photos/`, { form });
    photo.sent = true;
    photo.blob = null; // on the server now; the phone's space is small
    await outbox.put(entry);
  }
}

async function sendReport(entry) {
  if (!entry.number) {
    const data = await call(casesUrl, { json: entry.body });
    entry.number = data.number;
    await outbox.put(entry);
  }
  await sendPhotos(entry, 'report');
  return fmt(S.sentReport, { number: entry.number });
}

async function sendVerification(entry) {
  try {
    await sendPhotos(entry, 'verify');
    await call(`${casesUrl}${encodeURIComponent(entry.number)}/verify/`, { json: entry.body });
  } catch (error) {
    // Someone verified it first (or this phone did, and the answer was lost): done.
    if (error instanceof Refused && error.status === 409 && error.caseStatus && error.caseStatus !== 'verifying') {
      return fmt(S.alreadyVerified, { number: entry.number, status: error.caseStatus });
    }
    throw error;
  }
  return fmt(S.sentVerify, { number: entry.number });
}

// 核实: the report's photos first (the inspector who confirms may add them while it is
// reported), then the answer. A 409 because it was answered already (by this phone, its
// answer lost) or the case has moved on (filed, rejected) means there is nothing left to do.
// A case filed meanwhile refuses the photos with a 403 (they are no longer the inspector's
// to add): the answer is sent all the same, and its 409 says so.
async function sendConfirmation(entry) {
  try {
    try {
      await sendPhotos(entry, 'report');
    } catch (error) {
      if (!(error instanceof Refused && error.status === 403)) throw error;
    }
    await call(`${casesUrl}${encodeURIComponent(entry.number)}/confirm/`, { json: entry.body });
  } catch (error) {
    if (error instanceof Refused && error.status === 409 && error.code !== 'busy') {
      return fmt(S.alreadyConfirmed, { number: entry.number, status: error.caseStatus || error.code });
    }
    throw error;
  }
  return fmt(S.sentConfirm, { number: entry.number });
}

const SENDERS = { report: sendReport, verify: sendVerification, confirm: sendConfirmation };
// The kinds of entry that answer a task of the list (and take it off when sent).
const TASK_KINDS = new Set(['verify', 'confirm']);

function backoff(attempts) {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, attempts - 1));
}

async function sendEntry(entry) {
  entry.state = 'sending';
  await outbox.put(entry);
  render();
  try {
    const message = await SENDERS[entry.kind](entry);
    await outbox.remove(entry.id);
    news(message);
    if (TASK_KINDS.has(entry.kind)) taskDone(entry.number);
    return 'sent';
  } catch (error) {
    return failed(entry, error);
  }
}

async function failed(entry, error) {
  entry.error = error.message;
  let outcome = 'retry';
  if (error instanceof LoginNeeded) {
    entry.state = 'login';
    loginNeeded = true;
    outcome = 'login';
  } else if (error instanceof Refused) {
    entry.state = 'stopped';
    outcome = 'stopped';
  } else {
    entry.attempts = (entry.attempts || 0) + 1;
    entry.nextTry = Date.now() + backoff(entry.attempts);
    entry.state = error instanceof Offline ? 'waiting' : 'retry';
    if (!(error instanceof Offline || error instanceof Retry)) {
      console.error(error); // a fault of this page's own: keep the entry, say it, try later
    }
    outcome = error instanceof Offline ? 'offline' : 'retry';
  }
  await outbox.put(entry);
  return outcome;
}

// An entry is sent under the account that made it, never another one logged in on this phone.
const mine = (entry) => !entry.user || entry.user === app.dataset.user;

async function flushOnce(force) {
  for (const entry of await outbox.all()) {
    if (loginNeeded) break;
    if (entry.state === 'stopped' || !mine(entry)) continue;
    if (!force && entry.nextTry && entry.nextTry > Date.now()) continue;
    if ((await sendEntry(entry)) === 'offline') break; // the rest would fail alike
  }
}

// Send what waits; one run at a time (a call during a run asks for one more run after it).
function flush({ force = false } = {}) {
  if (flushing) {
    flushAgain = flushAgain || force || 'due';
    return flushing;
  }
  flushing = flushOnce(force)
    .catch((error) => {
      api.error = String(error);
      console.error(error);
    })
    .finally(() => {
      flushing = null;
      render();
      if (flushAgain) {
        const again = flushAgain === true;
        flushAgain = false;
        flush({ force: again });
      }
    });
  return flushing;
}

async function enqueue(entry) {
  await outbox.put({
    created: Date.now(), user: app.dataset.user, state: 'waiting', attempts: 0, nextTry: 0, error: '', ...entry,
  });
  await render();
  if ('serviceWorker' in navigator && navigator.serviceWorker.controller) {
    navigator.serviceWorker.ready
      .then((registration) => registration.sync && registration.sync.register('gridcity-outbox'))
      .catch(() => {});
  }
  flush({ force: true });
}

// ---------------------------------------------------------------------------------------
// Showing the outbox.

// "2 reports waiting to be sent": by kind when all are of one kind, else their number.
const WAITING = {
  report: ['waitingReportsOne', 'waitingReports'],
  verify: ['waitingChecksOne', 'waitingChecks'],
  confirm: ['waitingConfirmsOne', 'waitingConfirms'],
};

function waitingText(entries) {
  const kinds = new Set(entries.map((e) => e.kind));
  if (kinds.size !== 1) return fmt(S.waitingMixed, { n: entries.length });
  const [one, many] = WAITING[entries[0].kind];
  return entries.length === 1 ? S[one] : fmt(S[many], { n: entries.length });
}

function stateText(entry) {
  if (!mine(entry)) return S.stateOther;
  if (entry.state === 'retry' || (entry.state === 'waiting' && entry.attempts)) {
    const time = new Date(entry.nextTry).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
    return entry.state === 'retry' ? fmt(S.stateRetry, { time }) : S.stateWaiting;
  }
  return S['state' + entry.state.charAt(0).toUpperCase() + entry.state.slice(1)] || entry.state;
}

function entryItem(entry) {
  const li = document.createElement('li');
  li.className = `m-entry m-entry-${entry.state}`;
  li.dataset.id = entry.id;
  li.dataset.state = entry.state;
  const title = document.createElement('strong');
  title.textContent = entry.kind === 'report'
    ? `${S.kindReport} · ${entry.body.item}${entry.number ? ' · ' + entry.number : ''}`
    : fmt(entry.kind === 'confirm' ? S.kindConfirm : S.kindVerify, { number: entry.number });
  const when = document.createElement('span');
  when.className = 'm-when';
  when.textContent = `${new Date(entry.created).toLocaleString()} · ${fmt(S.photos, { n: entry.photos.length })}`;
  const state = document.createElement('span');
  state.className = 'm-state';
  state.textContent = stateText(entry);
  li.append(title, when, state);
  if (entry.error && entry.state !== 'sending') {
    const error = document.createElement('span');
    error.className = 'm-entry-error';
    error.textContent = entry.error;
    li.append(error);
  }
  if (entry.state === 'stopped') li.append(entryButtons(entry));
  return li;
}

function entryButtons(entry) {
  const box = document.createElement('span');
  box.className = 'm-entry-actions';
  const retry = document.createElement('button');
  retry.type = 'button';
  retry.className = 'm-button secondary';
  retry.textContent = S.retry;
  retry.addEventListener('click', async () => {
    await outbox.put({ ...entry, state: 'waiting', error: '', nextTry: 0 });
    flush({ force: true });
  });
  const discard = document.createElement('button');
  discard.type = 'button';
  discard.className = 'm-button danger';
  discard.textContent = S.discard;
  discard.addEventListener('click', async () => {
    if (!window.confirm(S.discardConfirm)) return;
    await outbox.remove(entry.id);
    render();
  });
  box.append(retry, discard);
  return box;
}

async function render() {
  const entries = await outbox.all();
  const status = $('m-outbox-status');
  status.hidden = entries.length === 0;
  status.textContent = entries.length ? waitingText(entries) : '';
  status.dataset.count = String(entries.length);
  $('m-outbox-count').textContent = String(entries.length);
  $('m-outbox-empty').hidden = entries.length > 0;
  $('m-outbox').replaceChildren(...entries.map(entryItem));
  $('m-login').hidden = !loginNeeded;
  const queued = new Set(entries.filter((e) => TASK_KINDS.has(e.kind)).map((e) => e.number));
  for (const link of document.querySelectorAll('.m-task')) {
    link.querySelector('.m-queued').hidden = !queued.has(link.dataset.number);
  }
  return entries;
}

function news(message) {
  const box = $('m-news');
  box.textContent = message;
  box.hidden = false;
}

function taskDone(number) {
  const link = document.querySelector(`.m-task[data-number="${CSS.escape(number)}"]`);
  if (link) link.closest('li').remove();
  $('m-tasks-count').textContent = String(document.querySelectorAll('.m-task').length);
}

// ---------------------------------------------------------------------------------------
// Views: #tasks, #report, #task/<number>, #outbox.

function route({ focus = true } = {}) {
  const hash = decodeURIComponent(location.hash.slice(1));
  let view = null;
  if (hash === 'report') view = $('view-report');
  else if (hash === 'outbox') view = $('view-outbox');
  else if (hash.startsWith('task/')) view = $(`view-task-${hash.slice(5)}`);
  view = view || $('view-tasks');
  for (const section of document.querySelectorAll('.m-view')) section.hidden = section !== view;
  const tab = view.dataset.view === 'task' ? 'tasks' : view.dataset.view;
  for (const link of document.querySelectorAll('.m-tabs a')) {
    if (link.dataset.tab === tab) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (view.id === 'view-report') reportShown();
  if (view.dataset.view === 'task') freshFix();
  if (focus) view.querySelector('h1').focus();
}

// ---------------------------------------------------------------------------------------
// Photos: made smaller in the browser (desk/photos.js, as on the desk's pages) to at most
// PHOTO_MAX_PX on the long side, as JPEG with the original's EXIF (where and when it was taken).
async function smaller(file) {
  return (await shrink(file, { maxSide: PHOTO_MAX_PX, quality: PHOTO_QUALITY })).blob;
}

// A photo picker: the file input, the list of previews with their remove buttons, the blobs.
function photoPicker(input, list) {
  const photos = [];
  const draw = () => {
    list.replaceChildren(...photos.map((blob, i) => {
      const li = document.createElement('li');
      const img = document.createElement('img');
      img.src = URL.createObjectURL(blob);
      img.alt = fmt(S.photoAlt, { n: i + 1 });
      img.width = 96;
      img.height = 96;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'm-remove';
      remove.textContent = '×';
      remove.setAttribute('aria-label', `${S.removePhoto} ${i + 1}`);
      remove.addEventListener('click', () => { photos.splice(i, 1); draw(); });
      li.append(img, remove);
      return li;
    }));
    list.dataset.count = String(photos.length);
  };
  input.addEventListener('change', async () => {
    for (const file of input.files) {
      try {
        photos.push(await smaller(file));
      } catch (error) {
        const li = document.createElement('li');
        li.className = 'm-error';
        li.textContent = S.photoError;
        list.append(li);
        return;
      }
    }
    input.value = '';
    draw();
  });
  return { photos, clear: () => { photos.length = 0; draw(); } };
}

// ---------------------------------------------------------------------------------------
// Position: the phone's fix, or a pin placed by hand; the grid it falls in from /locate/.

const position = { lon: null, lat: null, accuracy: null, manual: false, at: 0 };
let lastFix = null;
let map = null;
let pin = null;
let circle = null;
let locateSeq = 0;

function ensureMap() {
  if (map || !window.L) return;
  const mapEl = $('report-map');
  map = L.map(mapEl, { zoomControl: true, attributionControl: Boolean(app.dataset.tileUrl) });
  if (app.dataset.tileUrl) {
    L.tileLayer(app.dataset.tileUrl, { attribution: app.dataset.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  const grids = JSON.parse($('m-grids').textContent);
  const bounds = JSON.parse($('m-bounds').textContent);
  const layer = L.geoJSON(grids, {
    style: { color: '#1f4e79', weight: 2, fillColor: '#1f4e79', fillOpacity: 0.08 },
    interactive: false,
  }).addTo(map);
  if (grids.features.length) map.fitBounds(layer.getBounds(), { padding: [12, 12] });
  else if (bounds) map.fitBounds(bounds);
  else map.setView([22.6, 113.85], 11);
  map.on('click', (event) => setPosition(event.latlng.lng, event.latlng.lat, null, true));
  if (position.lon !== null) drawPin();
}

function drawPin() {
  if (!map) return;
  const at = [position.lat, position.lon];
  if (!pin) {
    pin = L.circleMarker(at, { radius: 9, color: '#fff', weight: 3, fillColor: '#b3261e', fillOpacity: 1 }).addTo(map);
  }
  pin.setLatLng(at);
  if (circle) circle.remove();
  circle = position.accuracy ? L.circle(at, { radius: position.accuracy, color: '#b3261e', weight: 1, fillOpacity: 0.1 }).addTo(map) : null;
  if (!map.getBounds().contains(at)) map.setView(at, Math.max(map.getZoom(), 16));
}

function setPosition(lon, lat, accuracy, manual) {
  Object.assign(position, { lon: +lon.toFixed(7), lat: +lat.toFixed(7), accuracy, manual, at: Date.now() });
  $('report-position').textContent = `${position.lat.toFixed(6)}, ${position.lon.toFixed(6)}`;
  $('report-accuracy').textContent = manual ? S.pinManual : fmt(S.accuracy, { m: Math.round(accuracy) });
  $('report-position-error').hidden = true;
  drawPin();
  locate(position.lon, position.lat);
}

async function locate(lon, lat) {
  const seq = ++locateSeq;
  const out = $('report-grid');
  out.textContent = S.locating;
  let text;
  try {
    const answer = await fetch(`${app.dataset.locate}?lon=${lon}&lat=${lat}`, { headers: { Accept: 'application/json' } });
    const data = await answer.json();
    text = answer.ok ? fmt(S.grid, { name: data.grid.name, code: data.grid.code }) : S.noGrid;
    out.dataset.grid = answer.ok ? data.grid.code : '';
  } catch (error) {
    text = S.gridOffline;
    out.dataset.grid = '';
  }
  if (seq === locateSeq) out.textContent = text;
}

function positionError(message) {
  const box = $('report-position-error');
  box.textContent = message;
  box.hidden = false;
}

function askPosition() {
  if (!navigator.geolocation) {
    positionError(S.noGeolocation);
    return;
  }
  $('report-position').textContent = S.locating;
  navigator.geolocation.getCurrentPosition(
    (fix) => {
      lastFix = fix;
      setPosition(fix.coords.longitude, fix.coords.latitude, fix.coords.accuracy, false);
    },
    (error) => {
      $('report-position').textContent = '';
      positionError(fmt(S.geolocationFailed, { message: error.message }));
    },
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 30000 },
  );
}

// Where the inspector stands, for a verification's record (silently; it may be refused).
function freshFix() {
  if (!navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition((fix) => { lastFix = fix; }, () => {}, {
    enableHighAccuracy: true, timeout: 20000, maximumAge: 60000,
  });
}

function reportShown() {
  ensureMap();
  if (map) map.invalidateSize();
  if (position.lon === null || (!position.manual && Date.now() - position.at > FIX_FRESH_MS)) askPosition();
}

// ---------------------------------------------------------------------------------------
// The item picker: search by code or name over the categories' items, kept for offline use.

const ITEMS_KEY = 'gridcity-m-items';
let items = [];

async function loadItems() {
  try {
    const answer = await fetch(app.dataset.categories, { headers: { Accept: 'application/json' } });
    if (!answer.ok) throw new Error(String(answer.status));
    const categories = await answer.json();
    items = categories.flatMap((c) => c.items.map((i) => ({ code: i.code, name: i.name, category: c.name })));
    localStorage.setItem(ITEMS_KEY, JSON.stringify(items));
  } catch (error) {
    items = JSON.parse(localStorage.getItem(ITEMS_KEY) || '[]');
  }
  $('report-item-search').disabled = false;
}

function chooseItem(item) {
  $('report-item').value = item.code;
  $('report-item-chosen').textContent = `${item.code} ${item.name}`;
  $('report-item-search').value = '';
  $('report-item-error').hidden = true;
  showItems(false);
}

function matches(query) {
  const q = query.trim().toLowerCase();
  const found = q ? items.filter((i) => i.code.startsWith(q) || i.name.toLowerCase().includes(q)) : items;
  return found.slice(0, 30);
}

function showItems(open) {
  const search = $('report-item-search');
  const list = $('report-items');
  if (!open) {
    list.replaceChildren();
    search.setAttribute('aria-expanded', 'false');
    return;
  }
  const found = matches(search.value);
  const options = found.map((item) => {
    const li = document.createElement('li');
    li.setAttribute('role', 'option');
    li.tabIndex = -1;
    li.dataset.code = item.code;
    li.textContent = `${item.code} ${item.name} · ${item.category}`;
    li.addEventListener('click', () => chooseItem(item));
    li.addEventListener('keydown', (event) => itemKey(event, li, item));
    return li;
  });
  if (!items.length || !found.length) {
    const li = document.createElement('li');
    li.className = 'm-empty';
    li.textContent = items.length ? S.noItems : S.itemsUnavailable;
    options.push(li);
  }
  list.replaceChildren(...options);
  search.setAttribute('aria-expanded', 'true');
}

function itemKey(event, li, item) {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    chooseItem(item);
  } else if (event.key === 'ArrowDown' && li.nextElementSibling) {
    event.preventDefault();
    li.nextElementSibling.focus();
  } else if (event.key === 'ArrowUp') {
    event.preventDefault();
    (li.previousElementSibling || $('report-item-search')).focus();
  } else if (event.key === 'Escape') {
    showItems(false);
    $('report-item-search').focus();
  }
}

function setUpItemSearch() {
  const search = $('report-item-search');
  search.addEventListener('input', () => showItems(true));
  search.addEventListener('focus', () => showItems(true));
  search.addEventListener('keydown', (event) => {
    const first = $('report-items').querySelector('[role="option"]');
    if (event.key === 'ArrowDown' && first) {
      event.preventDefault();
      first.focus();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (first && matches(search.value).length === 1) first.click();
    } else if (event.key === 'Escape') {
      showItems(false);
    }
  });
}

// ---------------------------------------------------------------------------------------
// The forms.

function setUpReport() {
  const form = $('report-form');
  const picker = photoPicker($('report-photo'), $('report-photos'));
  $('report-locate').addEventListener('click', askPosition);
  setUpItemSearch();
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const item = $('report-item').value;
    if (!item) {
      $('report-item-error').textContent = S.needItem;
      $('report-item-error').hidden = false;
      $('report-item-search').focus();
      return;
    }
    if (position.lon === null) {
      positionError(S.needPosition);
      $('report-locate').focus();
      return;
    }
    const id = uuid(); // made when the inspector presses send: a retry is the same report
    await enqueue({
      id,
      kind: 'report',
      number: null,
      body: {
        client_uuid: id,
        item,
        description: $('report-description').value.trim(),
        lon: position.lon,
        lat: position.lat,
        crs: 'wgs84',
      },
      photos: picker.photos.map((blob) => ({ client_id: uuid(), blob, sent: false })),
    });
    picker.clear();
    form.reset();
    $('report-item').value = '';
    $('report-item-chosen').textContent = '';
    $('report-done').textContent = S.saved;
  });
}

function verifyError(form, message, focus) {
  const box = form.querySelector('.m-error');
  box.textContent = message;
  box.hidden = false;
  if (focus) focus.focus();
}

// A task's answer: 核查 (passed / failed) or 核实 (found / not found); a note when it is no.
const ANSWERS = {
  verify: { field: 'passed', needAnswer: 'needResult', needNote: 'needNote' },
  confirm: { field: 'found', needAnswer: 'needFound', needNote: 'needFoundNote' },
};

function setUpTask(form, kind) {
  const { field, needAnswer, needNote } = ANSWERS[kind];
  const picker = photoPicker(form.querySelector('input[type=file]'), form.querySelector('.m-photos'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const answer = form.elements[field].value;
    const note = form.elements.note.value.trim();
    if (!answer) return verifyError(form, S[needAnswer], form.querySelector(`input[name=${field}]`));
    if (answer === 'false' && !note) return verifyError(form, S[needNote], form.elements.note);
    form.querySelector('.m-error').hidden = true;
    const body = { [field]: answer === 'true', note };
    if (lastFix && Date.now() - lastFix.timestamp < FIX_FRESH_MS) {
      body.lon = +lastFix.coords.longitude.toFixed(7);
      body.lat = +lastFix.coords.latitude.toFixed(7);
    }
    await enqueue({
      id: uuid(),
      kind,
      number: form.dataset.number,
      body,
      photos: picker.photos.map((blob) => ({ client_id: uuid(), blob, sent: false })),
    });
    picker.clear();
    form.reset();
    form.querySelector('.m-done').textContent = S.saved;
  });
}

// ---------------------------------------------------------------------------------------
// Start.

function showOnline() {
  $('m-offline').hidden = navigator.onLine;
}

async function start() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register(app.dataset.sw, { scope: app.dataset.scope }).catch((error) => {
      console.warn('service worker', error);
    });
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data && event.data.type === 'flush') flush({ force: true });
    });
  }
  setUpReport();
  document.querySelectorAll('.verify-form').forEach((form) => setUpTask(form, 'verify'));
  document.querySelectorAll('.confirm-form').forEach((form) => setUpTask(form, 'confirm'));
  window.addEventListener('hashchange', () => route());
  route({ focus: false });
  window.addEventListener('online', () => {
    showOnline();
    flush({ force: true });
  });
  // Back from logging in elsewhere (another tab): one more try, not a loop.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState !== 'visible' || !loginNeeded) return;
    loginNeeded = false;
    flush({ force: true });
  });
  window.addEventListener('offline', showOnline);
  showOnline();
  setInterval(() => flush(), RETRY_TICK_MS);
  await Promise.all([loadItems(), render()]);
  await flush({ force: true });
}

Object.assign(api, { flush, outbox: outbox.all, store: outbox.put, render, position });
start()
  .then(() => { api.ready = true; })
  .catch((error) => {
    api.error = String(error);
    console.error(error);
  });
