// The workbenches' shared behaviour: live counts, the table's refresh in place (filters, sort,
// pages, with the address kept shareable), the live socket and the keyboard.
// Plain ES module, no framework; each page adds its own module beside this one and may call
// window.gridcityDesk.

const frame = document.querySelector(".desk-frame");
const live = document.getElementById("desk-live");
const tableBox = document.getElementById("desk-table");
const filters = document.querySelector("[data-desk-filters]");

const DEBOUNCE_MS = 500; // live messages come in bursts (a dispatch touches several queues)
const TYPING_MS = 400; // a filter typed into is applied when the typing pauses
const HIGHLIGHT_MS = 4000;
const SAY_MS = 8000;
const RECONNECT_MAX_MS = 30000;
const CLOSE_UNAUTHENTICATED = 4401; // the socket says: log in again; retrying will not help

function text(name, n) {
  const template = (frame && frame.dataset[name]) || "{n}";
  return template.replace("{n}", String(n));
}

// --- the live region -------------------------------------------------------------------------

let sayTimer = null;
export function say(message) {
  if (!live) return;
  live.textContent = message;
  clearTimeout(sayTimer);
  sayTimer = setTimeout(() => { live.textContent = ""; }, SAY_MS);
}

// --- counts ----------------------------------------------------------------------------------

export async function refreshCounts() {
  const url = frame && frame.dataset.countsUrl;
  if (!url) return;
  const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (!answer.ok) return;
  const counts = await answer.json();
  for (const [key, n] of Object.entries(counts)) {
    const badge = document.querySelector(`[data-count="${key}"]`);
    if (!badge) continue;
    badge.textContent = n;
    badge.classList.toggle("zero", !n);
  }
}

// --- the table, in place ---------------------------------------------------------------------

function rows() {
  return [...document.querySelectorAll("table[data-keyboard] tbody tr[data-number]")];
}

function selectedNumber() {
  const row = document.querySelector("table[data-keyboard] tr.selected");
  return row ? row.dataset.number : null;
}

// The address as people share it: no "partial", no empty parameters.
function pageUrl(url) {
  const target = new URL(url, location.href);
  target.searchParams.delete("partial");
  for (const [key, value] of [...target.searchParams]) {
    if (value === "") target.searchParams.delete(key);
  }
  return target;
}

// A refused filter: its field is marked invalid and the reason said.
async function refused(answer) {
  let error = {};
  try {
    error = (await answer.json()).error || {};
  } catch {
    // not JSON: the status says it
  }
  for (const name of Object.keys(error.fields || {})) {
    const field = filters && filters.elements.namedItem(name);
    if (field && field.setAttribute) field.setAttribute("aria-invalid", "true");
  }
  say(error.message || answer.statusText);
}

function validAgain() {
  if (!filters) return;
  for (const field of filters.querySelectorAll("[aria-invalid]")) field.removeAttribute("aria-invalid");
}

let loading = null;
let wanted = null; // the address of the load under way: a live refresh must not undo it
export async function loadTable(url, { push = true } = {}) {
  if (!tableBox) return false;
  const target = pageUrl(url);
  if (push) wanted = target.href;
  const request = new URL(target);
  request.searchParams.set("partial", "1");
  if (loading) loading.abort();
  const mine = (loading = new AbortController());
  tableBox.setAttribute("aria-busy", "true");
  let answer;
  try {
    answer = await fetch(request, { credentials: "same-origin", signal: mine.signal, headers: { Accept: "text/html" } });
  } catch (error) {
    if (error.name === "AbortError") return false;
    tableBox.setAttribute("aria-busy", "false");
    say(error.message);
    return false;
  }
  if (!answer.ok) {
    tableBox.setAttribute("aria-busy", "false");
    wanted = null;
    await refused(answer);
    return false;
  }
  const html = await answer.text();
  if (mine !== loading) return false; // a newer load is on its way
  wanted = null;
  const keep = selectedNumber();
  const hadFocus = tableBox.contains(document.activeElement);
  tableBox.innerHTML = html;
  tableBox.setAttribute("aria-busy", "false");
  validAgain();
  if (push && target.href !== location.href) history.pushState({ deskTable: true }, "", target);
  syncFilters(target);
  const again = rows().find((row) => row.dataset.number === keep);
  if (again) select(again, { focus: hadFocus });
  return true;
}

function filtersUrl() {
  const target = new URL(location.pathname, location.href);
  for (const [key, value] of new FormData(filters)) {
    if (value !== "") target.searchParams.append(key, value);
  }
  return target;
}

function syncFilters(url) {
  if (!filters) return;
  for (const field of filters.elements) {
    if (!field.name) continue;
    const value = url.searchParams.get(field.name) || "";
    if (field.value !== value && document.activeElement !== field) field.value = value;
  }
}

function wireTable() {
  if (!tableBox) return;
  tableBox.addEventListener("click", (event) => {
    const link = event.target.closest("a.sort, .desk-pager a");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    loadTable(link.href);
  });
  window.addEventListener("popstate", () => loadTable(location.href, { push: false }));
  if (!filters) return;
  let typing = null;
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    loadTable(filtersUrl());
  });
  filters.addEventListener("change", () => {
    clearTimeout(typing);
    loadTable(filtersUrl());
  });
  filters.addEventListener("input", (event) => {
    if (event.target.type !== "text" && event.target.type !== "search") return;
    clearTimeout(typing);
    typing = setTimeout(() => loadTable(filtersUrl()), TYPING_MS);
  });
}

// --- live ------------------------------------------------------------------------------------

let changedNumbers = new Set();
let liveTimer = null;

function mark(row, name) {
  row.classList.add(name);
  setTimeout(() => row.classList.remove(name), HIGHLIGHT_MS);
}

async function liveRefresh() {
  const changed = changedNumbers;
  changedNumbers = new Set();
  const before = new Set(rows().map((row) => row.dataset.number));
  const url = wanted || location.href;
  const [, loaded] = await Promise.all([refreshCounts(), loadTable(url, { push: url !== location.href })]);
  if (!loaded) return;
  const fresh = [];
  let touched = 0;
  for (const row of rows()) {
    if (!before.has(row.dataset.number)) {
      mark(row, "fresh");
      fresh.push(row);
    } else if (changed.has(row.dataset.number)) {
      mark(row, "changed");
      touched += 1;
    }
  }
  if (fresh.length) say(text("textNew", fresh.length));
  else if (touched) say(text("textChanged", touched));
}

// A case changed in the person's area: {"type": "case", "case": {"number", "status", ...}}.
// Page modules listen for "desk:case" / "desk:notification" on document for their own part.
export function onCase(message) {
  if (message) document.dispatchEvent(new CustomEvent("desk:case", { detail: message }));
  const number = message && message.case && message.case.number;
  if (number) changedNumbers.add(number);
  clearTimeout(liveTimer);
  liveTimer = setTimeout(liveRefresh, DEBOUNCE_MS);
}

// One of the person's own notifications: {"type": "notification", "notification": {...}}.
export function onNotification(message) {
  if (message) document.dispatchEvent(new CustomEvent("desk:notification", { detail: message }));
  const note = message && message.notification;
  if (note && note.message) say(note.message);
}

function connect() {
  if (!frame || !frame.dataset.workbench || !("WebSocket" in window)) return;
  let failures = 0;
  let opened = false;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/notifications/`);
    socket.addEventListener("open", () => {
      if (opened && failures) onCase(null); // what changed while the socket was down
      opened = true;
      failures = 0;
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "case") onCase(message);
      else if (message.type === "notification") onNotification(message);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === CLOSE_UNAUTHENTICATED) return;
      failures += 1;
      // 1 s, 2 s, 4 s … at most 30 s, with jitter so a restarted server is not hit at once.
      const delay = Math.min(RECONNECT_MAX_MS, 1000 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
      setTimeout(open, delay);
    });
    desk.socket = socket;
  };
  open();
}

// --- the keyboard ----------------------------------------------------------------------------

function select(row, { focus = true } = {}) {
  for (const other of document.querySelectorAll("table[data-keyboard] tr.selected")) {
    other.classList.remove("selected");
    other.removeAttribute("aria-selected");
  }
  row.classList.add("selected");
  row.setAttribute("aria-selected", "true");
  const link = row.querySelector("a.case-link");
  if (focus && link) link.focus({ preventScroll: true });
  row.scrollIntoView({ block: "nearest" });
}

export function move(step) {
  const all = rows();
  if (!all.length) return false;
  const at = all.findIndex((row) => row.classList.contains("selected"));
  const next = at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + step));
  select(all[next]);
  return true;
}

export function openSelected() {
  const row = document.querySelector("table[data-keyboard] tr.selected");
  const link = row && row.querySelector("a.case-link");
  if (!link) return false;
  location.assign(link.href);
  return true;
}

function focusSearch() {
  const box = document.getElementById("desk-q");
  if (!box) return false;
  box.focus();
  box.select();
  return true;
}

function showHelp() {
  const dialog = document.getElementById("desk-help");
  if (!dialog || dialog.open) return false;
  dialog.showModal();
  return true;
}

function jumpToQueue(n) {
  const link = document.querySelectorAll(".desk-nav a[data-queue]")[n - 1];
  if (!link) return false;
  location.assign(link.href);
  return true;
}

const TYPING_INTO = "input, textarea, select, [contenteditable]";
let afterG = false;
let gTimer = null;

function onKey(event) {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target.closest && target.closest(TYPING_INTO)) {
    if (event.key === "Escape" && target.id === "desk-q") target.blur();
    return;
  }
  if (document.querySelector("dialog[open]")) return; // the dialog keeps its own keys
  if (afterG) {
    afterG = false;
    if (/^[1-9]$/.test(event.key) && jumpToQueue(Number(event.key))) event.preventDefault();
    return;
  }
  const onLink = target.closest && target.closest("a, button, summary");
  const actions = {
    "/": focusSearch,
    "?": showHelp,
    g: () => {
      afterG = true;
      clearTimeout(gTimer);
      gTimer = setTimeout(() => { afterG = false; }, 1500);
      return true;
    },
    j: () => move(1),
    ArrowDown: () => move(1),
    k: () => move(-1),
    ArrowUp: () => move(-1),
    o: openSelected,
    // Enter on a focused link or button is the browser's own (the same case link).
    Enter: () => !onLink && openSelected(),
  };
  const action = actions[event.key];
  if (action && action()) event.preventDefault();
}

function wireKeys() {
  document.addEventListener("keydown", onKey);
  for (const button of document.querySelectorAll("[data-desk-help]")) {
    button.addEventListener("click", showHelp);
  }
  document.addEventListener("click", (event) => {
    const row = event.target.closest("table[data-keyboard] tbody tr[data-number]");
    if (row && !event.target.closest("a")) select(row);
  });
}

const desk = { refreshCounts, loadTable, onCase, onNotification, say, move, openSelected, socket: null };
window.gridcityDesk = desk;
// At phone width the filters start folded (the table is what one came for), unless some are set.
const filterBox = document.querySelector("[data-desk-filter-box]");
if (filterBox && window.matchMedia("(max-width: 48rem)").matches) {
  const set = [...new URL(location.href).searchParams.keys()].some((key) => key !== "sort");
  filterBox.open = set;
}
wireTable();
wireKeys();
connect();
