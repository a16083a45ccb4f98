{% autoescape off %}// The inspector's page offline: keeps the page, its code and the item list (the "shell"), and
// answers from them when the network does not. Network first, so that an inspector online
// always sees today's tasks; the cache only when there is no answer at all.
// Writes (reports, verifications, photos) are never touched here: the page keeps them in
// IndexedDB and sends them itself, with their client ids, when the network returns.
'use strict';

const VERSION = {{ version }};
const SHELL = {{ shell }};
const PAGE = {{ page }};
const CACHE = 'gridcity-m-' + VERSION;

async function keep(cache, url) {
  // One by one, so that a single miss (a log-in page instead of /m/) does not lose the rest.
  try {
    const answer = await fetch(url, { credentials: 'same-origin', cache: 'no-cache' });
    if (answer.ok && !answer.redirected) await cache.put(url, answer);
  } catch (error) {
    // Offline while installing: the page fills the cache at its next visit online.
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => Promise.all(SHELL.map((url) => keep(cache, url))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((n) => n.startsWith('gridcity-m-') && n !== CACHE).map((n) => caches.delete(n)),
      ))
      .then(() => self.clients.claim()),
  );
});

function handled(request) {
  if (request.method !== 'GET') return false;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return false;
  if (request.mode === 'navigate') return url.pathname.startsWith(PAGE);
  return SHELL.includes(url.pathname);
}

async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const url = new URL(request.url);
  // The page is one document whatever its query or hash: keep it under its path.
  const key = request.mode === 'navigate' ? url.pathname : url.pathname + url.search;
  try {
    const answer = await fetch(request);
    if (answer.ok && !answer.redirected) await cache.put(key, answer.clone());
    return answer;
  } catch (error) {
    const kept = (await cache.match(key)) || (request.mode === 'navigate' && (await cache.match(PAGE)));
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  if (handled(event.request)) event.respondWith(networkFirst(event.request));
});

// Background Sync, where the browser has it: wake the open page to send what waits.
self.addEventListener('sync', (event) => {
  if (event.tag !== 'gridcity-outbox') return;
  event.waitUntil(
    self.clients.matchAll({ type: 'window' })
      .then((pages) => pages.forEach((page) => page.postMessage({ type: 'flush' }))),
  );
});
{% endautoescape %}
