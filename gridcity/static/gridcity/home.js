/* GridCity home page: the district on a Leaflet map.
 *
 * Streets, communities and work grids come from the JSON API as GeoJSON and are drawn on
 * canvases (thousands of polygons stay smooth). A click on the map asks /locate/ which grid,
 * community and street hold the spot; the search box finds grids among the loaded features.
 * Every string shown comes from #home-strings, translated by the template.
 *
 * Plain ES2017, no build step. A browser test waits for window.gridcityMap.ready.
 */
(function () {
  'use strict';

  const mapEl = document.getElementById('map');
  const stringsEl = document.getElementById('home-strings');
  if (!mapEl || !stringsEl) return;

  const S = stringsEl.dataset;
  const $ = (id) => document.getElementById(id);
  const fmt = (template, values) =>
    String(template || '').replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));

  const api = window.gridcityMap = { map: null, ready: false, error: null, counts: null };

  if (!window.L) {
    showError(fmt(S.loadError, { layer: 'Leaflet', message: S.networkError }));
    return;
  }

  const config = {
    district: mapEl.dataset.district,
    apiRoot: mapEl.dataset.apiRoot || '/api/v1/',
    tileUrl: mapEl.dataset.tileUrl || '',
    tileAttribution: mapEl.dataset.tileAttribution || '',
  };
  const SEARCH_LIMIT = 10;
  const narrow = window.matchMedia('(max-width: 767px)');

  // Street fills: soft categorical colours, readable with or without a base map.
  const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948',
    '#b07aa1', '#ff9da7', '#9c755f', '#8cd17d', '#86bcb6', '#d4a6c8'];

  // ---------------------------------------------------------------------------------------
  // The map, its panes and renderers (one canvas per pane keeps the drawing order fixed).

  const map = L.map(mapEl, {
    preferCanvas: true,
    zoomSnap: 0.25,
    zoomDelta: 1,
    wheelPxPerZoomLevel: 90,
    minZoom: 3,
    maxZoom: 19,
    attributionControl: true,
    zoomControl: false,
  });
  api.map = map;
  L.control.zoom({ zoomInTitle: S.zoomIn, zoomOutTitle: S.zoomOut }).addTo(map);

  function makePane(name, zIndex) {
    map.createPane(name).style.zIndex = String(zIndex);
    return name;
  }
  const canvasIn = (pane) => L.canvas({ pane: makePane(pane.name, pane.z), padding: 0.25, tolerance: 0 });
  const renderers = {
    fills: canvasIn({ name: 'gc-fills', z: 380 }),
    grids: canvasIn({ name: 'gc-grids', z: 390 }),
    communities: canvasIn({ name: 'gc-communities', z: 395 }),
    streetLines: canvasIn({ name: 'gc-street-lines', z: 398 }),
    highlight: L.svg({ pane: makePane('gc-highlight', 420) }),
    checkpoints: L.svg({ pane: makePane('gc-checkpoints', 430) }),
  };
  makePane('gc-labels', 450);

  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, {
      attribution: config.tileAttribution,
      maxZoom: 19,
    }).addTo(map);
    mapEl.classList.add('has-tiles');
  }
  L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);

  const withTiles = Boolean(config.tileUrl);
  const styles = {
    streetFill: (i) => ({
      renderer: renderers.fills, interactive: false, stroke: false,
      fill: true, fillColor: PALETTE[i % PALETTE.length], fillOpacity: withTiles ? 0.12 : 0.22,
    }),
    streetLine: {
      renderer: renderers.streetLines, interactive: false, fill: false,
      color: '#1f4e79', weight: 2.2, opacity: 0.95, lineJoin: 'round',
    },
    community: {
      renderer: renderers.communities, interactive: false, fill: false,
      color: '#2f4a6b', weight: 1.4, opacity: 0.9, dashArray: '6 4',
    },
    grid: {
      renderer: renderers.grids, interactive: false, fill: false,
      color: '#8593a3', weight: 0.6, opacity: 0.85,
    },
    highlight: {
      renderer: renderers.highlight, interactive: false,
      color: '#d9480f', weight: 3, opacity: 1, fillColor: '#ff922b', fillOpacity: 0.3,
    },
  };

  // Overlays, each a group so that the layer control keeps them while their contents change.
  const overlays = {
    streets: L.layerGroup().addTo(map),
    communities: L.layerGroup().addTo(map),
    grids: L.layerGroup().addTo(map),
  };
  const labels = {
    streets: L.layerGroup(),
    communities: L.layerGroup(),
  };
  const selection = {
    highlight: L.layerGroup().addTo(map),
    checkpoints: L.layerGroup().addTo(map),
    spot: L.layerGroup().addTo(map),
  };

  const layerControl = L.control.layers(null, null, {
    collapsed: narrow.matches,
    position: 'topright',
  }).addTo(map);
  layerControl.addOverlay(overlays.streets, S.streets);
  layerControl.addOverlay(overlays.communities, S.communities);
  layerControl.addOverlay(overlays.grids, S.grids);

  // ---------------------------------------------------------------------------------------
  // Data: the hierarchy, indexed by code.

  const data = {
    streets: null,       // features, ordered by code
    communities: null,
    grids: null,
    byCode: new Map(),   // code -> feature, every level
    gridMinZoom: 13,     // below this the grids would be a grey smear
    communityLabelZoom: 14,
    streetLabelZoom: 0,  // below this the street names would run into each other
    gridLayer: null,
  };

  class ApiError extends Error {
    constructor(message, status, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  async function getJSON(url, options) {
    let response;
    try {
      response = await fetch(url, {
        headers: { Accept: 'application/json' },
        credentials: 'same-origin',
        signal: options && options.signal,
      });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(S.networkError, 0, null);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const message = body && body.error && body.error.message
        ? body.error.message
        : fmt(S.httpError, { status: response.status });
      throw new ApiError(message, response.status, body);
    }
    if (body === null) throw new ApiError(fmt(S.httpError, { status: response.status }), response.status, null);
    return body;
  }

  // Same-origin path of a pagination link: the server may spell its own host differently.
  function localUrl(url) {
    const u = new URL(url, window.location.href);
    return u.pathname + u.search;
  }

  async function fetchFeatures(url) {
    const features = [];
    let next = url;
    while (next) {
      const page = await getJSON(next);
      for (const f of page.features || []) features.push(f);
      next = page.next ? localUrl(page.next) : null;
    }
    return features;
  }

  const unitUrl = (kind, simplify) =>
    `${config.apiRoot}${kind}/?district=${encodeURIComponent(config.district)}` +
    `&simplify=${simplify}&page_size=5000`;

  // ---------------------------------------------------------------------------------------
  // Geometry helpers (lon/lat, planar: good enough for label points and sizes).

  function ringAreaCentroid(ring) {
    let a = 0, cx = 0, cy = 0;
    for (let i = 0, n = ring.length, j = n - 1; i < n; j = i++) {
      const [x0, y0] = ring[j], [x1, y1] = ring[i];
      const f = x0 * y1 - x1 * y0;
      a += f; cx += (x0 + x1) * f; cy += (y0 + y1) * f;
    }
    if (a === 0) return { area: 0, lon: ring[0][0], lat: ring[0][1] };
    return { area: Math.abs(a / 2), lon: cx / (3 * a), lat: cy / (3 * a) };
  }

  function polygonsOf(geometry) {
    if (!geometry) return [];
    if (geometry.type === 'Polygon') return [geometry.coordinates];
    if (geometry.type === 'MultiPolygon') return geometry.coordinates;
    return [];
  }

  // Label point: the centroid of the largest part's outer ring.
  function labelPoint(feature) {
    let best = null;
    for (const poly of polygonsOf(feature.geometry)) {
      if (!poly.length || !poly[0].length) continue;
      const c = ringAreaCentroid(poly[0]);
      if (!best || c.area > best.area) best = c;
    }
    return best ? L.latLng(best.lat, best.lon) : null;
  }

  function boundsOf(feature) {
    let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
    for (const poly of polygonsOf(feature.geometry)) {
      for (const [x, y] of poly[0] || []) {
        if (x < w) w = x; if (x > e) e = x;
        if (y < s) s = y; if (y > n) n = y;
      }
    }
    return w <= e ? L.latLngBounds([s, w], [n, e]) : null;
  }

  function median(values) {
    const v = values.filter((x) => x > 0).sort((a, b) => a - b);
    return v.length ? v[Math.floor(v.length / 2)] : 0;
  }

  // The zoom at which a typical unit of these features is at least `px` pixels wide.
  function zoomForWidth(features, px) {
    const widths = features.map((f) => {
      const b = boundsOf(f);
      return b ? b.getEast() - b.getWest() : 0;
    });
    const w = median(widths);
    if (!w) return 0;
    return Math.max(0, Math.min(18, Math.log2((px * 360) / (256 * w))));
  }

  function labelMarker(latlng, text, className) {
    const span = document.createElement('span');
    span.textContent = text;
    return L.marker(latlng, {
      icon: L.divIcon({ className: `gc-label ${className}`, html: span, iconSize: null }),
      interactive: false,
      keyboard: false,
      pane: 'gc-labels',
    });
  }

  // ---------------------------------------------------------------------------------------
  // Drawing each level.

  function drawStreets(features) {
    overlays.streets.clearLayers();
    labels.streets.clearLayers();
    const colour = new Map(features.map((f, i) => [f, i]));
    overlays.streets.addLayer(L.geoJSON(features, {
      ...styles.streetFill(0),
      style: (f) => styles.streetFill(colour.get(f) || 0),
    }));
    overlays.streets.addLayer(L.geoJSON(features, { ...styles.streetLine, style: () => styles.streetLine }));
    for (const f of features) {
      const p = labelPoint(f);
      if (p) labels.streets.addLayer(labelMarker(p, f.properties.name, 'gc-label-street'));
    }
    overlays.streets.addLayer(labels.streets);
    data.streetLabelZoom = zoomForWidth(features, 90);
  }

  function drawCommunities(features) {
    overlays.communities.clearLayers();
    labels.communities.clearLayers();
    overlays.communities.addLayer(L.geoJSON(features, { ...styles.community, style: () => styles.community }));
    for (const f of features) {
      const p = labelPoint(f);
      if (p) labels.communities.addLayer(labelMarker(p, f.properties.name, 'gc-label-community'));
    }
    data.communityLabelZoom = Math.max(zoomForWidth(features, 110), 0);
  }

  function drawGrids(features) {
    data.gridLayer = L.geoJSON(features, { ...styles.grid, style: () => styles.grid });
    data.gridMinZoom = zoomForWidth(features, 14);
  }

  // Zoom-dependent contents: grids only when they are big enough to see, community names only
  // when they fit, street names until the communities take over.
  function updateForZoom() {
    const z = map.getZoom();
    if (data.gridLayer) {
      const show = z >= data.gridMinZoom - 1e-9;
      const shown = overlays.grids.hasLayer(data.gridLayer);
      if (show && !shown) overlays.grids.addLayer(data.gridLayer);
      if (!show && shown) overlays.grids.removeLayer(data.gridLayer);
      $('map-zoom-hint').hidden = show || !map.hasLayer(overlays.grids);
    }
    if (data.communities) {
      const show = z >= data.communityLabelZoom;
      const shown = overlays.communities.hasLayer(labels.communities);
      if (show && !shown) overlays.communities.addLayer(labels.communities);
      if (!show && shown) overlays.communities.removeLayer(labels.communities);
    }
    if (data.streets) {
      const show = z >= data.streetLabelZoom
        && !(map.hasLayer(overlays.communities) && z >= data.communityLabelZoom + 1.5);
      const shown = overlays.streets.hasLayer(labels.streets);
      if (show && !shown) overlays.streets.addLayer(labels.streets);
      if (!show && shown) overlays.streets.removeLayer(labels.streets);
    }
    mapEl.dataset.zoom = String(z);
  }
  map.on('zoomend overlayadd overlayremove', updateForZoom);
  $('map-zoom-hint').addEventListener('click', () => {
    map.setZoom(Math.ceil(data.gridMinZoom * 4) / 4);
  });

  // ---------------------------------------------------------------------------------------
  // Status line, loading indicator, errors.

  const statusEl = $('map-status');
  function setStatus(text, busy) {
    $('map-status-text').textContent = text;
    $('map-spinner').hidden = !busy;
    statusEl.classList.toggle('is-busy', Boolean(busy));
  }

  function showError(message) {
    const box = document.getElementById('map-error');
    if (!box) return;
    document.getElementById('map-error-text').textContent = message;
    box.hidden = false;
  }

  function hideError() {
    $('map-error').hidden = true;
  }

  function setLoading(on) {
    $('map-loading').hidden = !on;
    mapEl.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  // ---------------------------------------------------------------------------------------
  // Loading everything; Retry loads again whatever failed.

  let fitted = false;
  function fitDistrict(features) {
    if (fitted || !features.length) return;
    let bounds = null;
    for (const f of features) {
      const b = boundsOf(f);
      if (b) bounds = bounds ? bounds.extend(b) : b;
    }
    if (bounds && bounds.isValid()) {
      map.fitBounds(bounds, { padding: [12, 12] });
      fitted = true;
    }
  }

  const LEVELS = [
    { key: 'streets', simplify: 10, draw: drawStreets, label: () => S.streets },
    { key: 'communities', simplify: 10, draw: drawCommunities, label: () => S.communities },
    { key: 'grids', simplify: 2, draw: drawGrids, label: () => S.grids },
  ];

  let loading = null;
  function loadAll() {
    if (loading) return loading;
    hideError();
    setLoading(true);
    api.ready = false;
    const pending = LEVELS.filter((level) => !data[level.key]);
    setStatus(fmt(S.loadingLayer, { layer: pending.map((l) => l.label()).join(' · ') }), true);
    const errors = [];
    loading = Promise.all(pending.map(async (level) => {
      try {
        const features = await fetchFeatures(unitUrl(level.key, level.simplify));
        data[level.key] = features;
        for (const f of features) data.byCode.set(f.properties.code || String(f.id), f);
        level.draw(features);
        if (level.key === 'streets') fitDistrict(features);
      } catch (err) {
        errors.push(fmt(S.loadError, { layer: level.label(), message: err.message }));
      }
    })).then(() => {
      loading = null;
      if (!fitted) {
        fitDistrict(data.communities || data.grids || []);
      }
      if (!fitted) {
        map.setView([0, 0], 3);
      }
      updateForZoom();
      setLoading(false);
      if (errors.length) {
        api.error = errors.join('\n');
        showError(errors.join('\n'));
        setStatus(errors[0], false);
        return;
      }
      buildSearchIndex();
      const counts = {
        streets: data.streets.length,
        communities: data.communities.length,
        grids: data.grids.length,
      };
      api.counts = counts;
      statusEl.dataset.streets = String(counts.streets);
      statusEl.dataset.communities = String(counts.communities);
      statusEl.dataset.grids = String(counts.grids);
      setStatus(counts.grids
        ? [fmt(S.countStreets, { n: counts.streets }),
          fmt(S.countCommunities, { n: counts.communities }),
          fmt(S.countGrids, { n: counts.grids })].join(' · ')
        : S.noData, false);
      api.error = null;
      // Ready once the canvases have drawn the new layers.
      window.requestAnimationFrame(() => window.requestAnimationFrame(() => {
        api.ready = true;
        mapEl.dataset.ready = 'true';
        document.dispatchEvent(new CustomEvent('gridcity:ready', { detail: counts }));
      }));
    });
    return loading;
  }
  $('map-retry').addEventListener('click', () => loadAll());

  // ---------------------------------------------------------------------------------------
  // The info panel (#locate-result) and the selected grid.

  const result = {
    el: $('locate-result'),
    set(field, name, code) {
      $(`locate-${field}-name`).textContent = name || '';
      $(`locate-${field}-code`).textContent = code || '';
    },
  };

  function formatArea(m2) {
    if (m2 === null || m2 === undefined || Number.isNaN(Number(m2))) return '';
    const km2 = Number(m2) / 1e6;
    const digits = km2 < 1 ? 3 : 2;
    return fmt(S.areaKm2, { area: km2.toLocaleString(document.documentElement.lang || undefined, { minimumFractionDigits: digits, maximumFractionDigits: digits }) });
  }

  function clearSelection() {
    selection.highlight.clearLayers();
    selection.checkpoints.clearLayers();
    selection.spot.clearLayers();
    if (checkpointsAbort) checkpointsAbort.abort();
  }

  function resetResult() {
    clearSelection();
    map.closePopup();
    const el = result.el;
    el.dataset.state = 'empty';
    delete el.dataset.lon;
    delete el.dataset.lat;
    delete el.dataset.gridCode;
    $('locate-empty').hidden = false;
    $('locate-message').hidden = true;
    $('locate-fields').hidden = true;
    $('locate-clear').hidden = true;
    for (const f of ['grid', 'community', 'street']) result.set(f, '', '');
  }
  $('locate-clear').addEventListener('click', resetResult);

  function showMessage(state, message) {
    const el = result.el;
    el.dataset.state = state;
    delete el.dataset.gridCode;
    $('locate-empty').hidden = true;
    $('locate-fields').hidden = true;
    $('locate-clear').hidden = state === 'loading';
    for (const f of ['grid', 'community', 'street']) result.set(f, '', '');
    const msg = $('locate-message');
    msg.textContent = message;
    msg.hidden = false;
  }

  // place: {grid:{code,name}, community:{code,name}, street:{code,name}}; lonlat optional.
  function showPlace(place, lonlat) {
    const el = result.el;
    el.dataset.state = 'found';
    el.dataset.gridCode = place.grid.code;
    $('locate-empty').hidden = true;
    $('locate-message').hidden = true;
    $('locate-fields').hidden = false;
    $('locate-clear').hidden = false;
    result.set('grid', place.grid.name, place.grid.code);
    result.set('community', place.community && place.community.name, place.community && place.community.code);
    result.set('street', place.street && place.street.name, place.street && place.street.code);
    const feature = data.byCode.get(place.grid.code);
    const area = feature ? formatArea(feature.properties.area_m2) : '';
    $('locate-area').textContent = area;
    $('locate-area').hidden = $('locate-area-label').hidden = !area;
    $('locate-checkpoints').textContent = '…';
    if (lonlat) {
      $('locate-coords').textContent = `${lonlat.lon.toFixed(6)}, ${lonlat.lat.toFixed(6)}`;
    }
    $('locate-coords').hidden = $('locate-coords-label').hidden = !lonlat;
  }

  // The names of a grid's community and street, from the loaded layers.
  function placeOfGrid(feature) {
    const code = feature.properties.code || String(feature.id);
    const unit = (c) => {
      const f = data.byCode.get(c);
      return { code: c, name: f ? f.properties.name : '' };
    };
    return {
      grid: { code, name: feature.properties.name },
      community: unit(code.slice(0, 12)),
      street: unit(code.slice(0, 9)),
    };
  }

  function highlight(feature) {
    selection.highlight.clearLayers();
    if (!feature || !feature.geometry) return null;
    const layer = L.geoJSON(feature, { ...styles.highlight, style: () => styles.highlight });
    selection.highlight.addLayer(layer);
    return layer;
  }

  let checkpointsAbort = null;
  async function showCheckpoints(code) {
    selection.checkpoints.clearLayers();
    if (checkpointsAbort) checkpointsAbort.abort();
    const abort = checkpointsAbort = (window.AbortController ? new AbortController() : null);
    const out = $('locate-checkpoints');
    try {
      const features = [];
      let next = `${config.apiRoot}checkpoints/?grid=${encodeURIComponent(code)}&page_size=1000`;
      while (next) {
        const page = await getJSON(next, { signal: abort && abort.signal });
        for (const f of page.features || []) features.push(f);
        next = page.next ? localUrl(page.next) : null;
      }
      if (result.el.dataset.gridCode !== code) return;
      for (const f of features) {
        if (!f.geometry || f.geometry.type !== 'Point') continue;
        const [lon, lat] = f.geometry.coordinates;
        const marker = L.circleMarker([lat, lon], {
          renderer: renderers.checkpoints, radius: 5, weight: 2,
          color: '#c92a2a', fillColor: '#fff', fillOpacity: 1,
        });
        marker.bindTooltip(`${f.properties.name || ''} ${f.properties.code || ''}`.trim(), { direction: 'top', offset: [0, -4] });
        selection.checkpoints.addLayer(marker);
      }
      out.textContent = features.length ? String(features.length) : S.noCheckpoints;
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      if (result.el.dataset.gridCode !== code) return;
      if (err && (err.status === 401 || err.status === 403)) {
        // Where the checkpoints are is for patrol staff; others see how many there are.
        const grid = data.byCode.get(code);
        const count = grid ? grid.properties.checkpoint_count : null;
        out.textContent = count ? String(count) : S.noCheckpoints;
        return;
      }
      out.textContent = fmt(S.checkpointsError, { message: err.message });
    }
  }

  function popupContent(place, message) {
    const root = document.createElement('div');
    root.className = 'gc-popup';
    if (message) {
      const p = document.createElement('p');
      p.className = 'gc-popup-message';
      p.textContent = message;
      root.appendChild(p);
      return root;
    }
    const title = document.createElement('div');
    title.className = 'gc-popup-title';
    title.textContent = place.grid.name;
    const code = document.createElement('code');
    code.textContent = place.grid.code;
    root.append(title, code);
    const dl = document.createElement('dl');
    for (const [label, unit] of [[S.community, place.community], [S.street, place.street]]) {
      if (!unit || !unit.name) continue;
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = unit.name;
      dl.append(dt, dd);
    }
    root.appendChild(dl);
    return root;
  }

  function popupOptions() {
    return { autoPanPadding: [16, 16], maxWidth: 280, className: 'gc-popup-wrap' };
  }

  function selectPlace(place, feature, lonlat, popupAt) {
    showPlace(place, lonlat);
    const layer = highlight(feature);
    showCheckpoints(place.grid.code);
    const at = popupAt || (layer && labelPoint(feature));
    if (at) {
      L.popup(popupOptions()).setLatLng(at).setContent(popupContent(place)).openOn(map);
    }
    return layer;
  }

  // ---------------------------------------------------------------------------------------
  // Click: locate.

  let locateSeq = 0;
  async function locateAt(latlng) {
    const seq = ++locateSeq;
    const ll = latlng.wrap();
    const lon = ll.lng, lat = ll.lat;
    clearSelection();
    selection.spot.addLayer(L.circleMarker(ll, {
      renderer: renderers.checkpoints, radius: 4, weight: 2, color: '#1d2733',
      fillColor: '#ffd43b', fillOpacity: 1, interactive: false,
    }));
    result.el.dataset.lon = String(lon);
    result.el.dataset.lat = String(lat);
    showMessage('loading', S.locating);
    closeResults();
    let body;
    try {
      body = await getJSON(`${config.apiRoot}locate/?lon=${lon}&lat=${lat}`);
    } catch (err) {
      if (seq !== locateSeq) return;
      if (err.status === 404) {
        showMessage('outside', S.notInGrid);
        L.popup(popupOptions()).setLatLng(ll).setContent(popupContent(null, S.notInGrid)).openOn(map);
      } else {
        showMessage('error', fmt(S.locateError, { message: err.message }));
      }
      return;
    }
    if (seq !== locateSeq) return;
    const feature = data.byCode.get(body.grid.code);
    selectPlace(body, feature, { lon, lat }, ll);
  }
  map.on('click', (e) => locateAt(e.latlng));

  // ---------------------------------------------------------------------------------------
  // Search among the loaded grids: code prefix first, then name substring.

  const searchInput = $('grid-search');
  const resultsList = $('grid-search-results');
  let index = [];
  let matches = [];
  let active = -1;

  function buildSearchIndex() {
    index = (data.grids || []).map((f) => ({
      code: f.properties.code || String(f.id),
      name: f.properties.name || '',
      lname: (f.properties.name || '').toLowerCase(),
      feature: f,
    }));
    searchInput.disabled = false;
  }

  function search(query) {
    const q = query.trim();
    if (!q) return { items: [], more: false };
    const lq = q.toLowerCase();
    const byCode = [], byName = [];
    for (const item of index) {
      if (item.code.startsWith(q)) byCode.push(item);
      else if (item.lname.includes(lq)) byName.push(item);
      if (byCode.length > SEARCH_LIMIT) break;
    }
    const all = byCode.concat(byName);
    return { items: all.slice(0, SEARCH_LIMIT), more: all.length > SEARCH_LIMIT };
  }

  function closeResults() {
    resultsList.hidden = true;
    resultsList.textContent = '';
    searchInput.setAttribute('aria-expanded', 'false');
    searchInput.removeAttribute('aria-activedescendant');
    matches = [];
    active = -1;
  }

  function setActive(i) {
    const items = resultsList.querySelectorAll('[role="option"]');
    items.forEach((el, j) => el.setAttribute('aria-selected', j === i ? 'true' : 'false'));
    active = i;
    if (items[i]) {
      searchInput.setAttribute('aria-activedescendant', items[i].id);
      items[i].scrollIntoView({ block: 'nearest' });
    }
  }

  function renderResults() {
    const q = searchInput.value;
    resultsList.textContent = '';
    if (!q.trim()) {
      closeResults();
      return;
    }
    const found = search(q);
    matches = found.items;
    if (!matches.length) {
      const li = document.createElement('li');
      li.className = 'search-none';
      li.textContent = fmt(S.noMatch, { query: q.trim() });
      resultsList.appendChild(li);
    }
    matches.forEach((item, i) => {
      const li = document.createElement('li');
      li.id = `grid-search-option-${i}`;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', 'false');
      li.dataset.code = item.code;
      const name = document.createElement('span');
      name.className = 'search-name';
      name.textContent = item.name;
      const code = document.createElement('code');
      code.textContent = item.code;
      const where = document.createElement('span');
      where.className = 'search-where';
      const place = placeOfGrid(item.feature);
      where.textContent = [place.street.name, place.community.name].filter(Boolean).join(' · ');
      li.append(name, code, where);
      li.addEventListener('mousedown', (e) => e.preventDefault());  // keep focus in the box
      li.addEventListener('click', () => pick(item));
      resultsList.appendChild(li);
    });
    if (found.more) {
      const li = document.createElement('li');
      li.className = 'search-more';
      li.textContent = fmt(S.moreMatches, { n: SEARCH_LIMIT });
      resultsList.appendChild(li);
    }
    resultsList.hidden = false;
    searchInput.setAttribute('aria-expanded', 'true');
    active = -1;
    if (matches.length === 1) setActive(0);
  }

  function fitPadding() {
    return { paddingTopLeft: [24, 24], paddingBottomRight: [24, 24], maxZoom: 17 };
  }

  function pick(item) {
    closeResults();
    searchInput.value = `${item.name} ${item.code}`;
    selectGrid(item.feature);
  }

  function selectGrid(feature) {
    locateSeq++;  // a pending click answer must not overwrite this choice
    clearSelection();
    const el = result.el;
    delete el.dataset.lon;
    delete el.dataset.lat;
    const place = placeOfGrid(feature);
    const b = boundsOf(feature);
    if (b) map.fitBounds(b, fitPadding());
    selectPlace(place, feature, null, null);
  }

  async function selectByCode(code) {
    const local = data.byCode.get(code);
    if (local && code.length === 15) {
      selectGrid(local);
      return;
    }
    closeResults();
    showMessage('loading', S.locating);
    try {
      const feature = await getJSON(`${config.apiRoot}grids/${encodeURIComponent(code)}/?simplify=2`);
      selectGrid(feature);
    } catch (err) {
      showMessage('error', err.status === 404
        ? fmt(S.gridNotFound, { code })
        : fmt(S.gridError, { code, message: err.message }));
    }
  }

  searchInput.addEventListener('input', renderResults);
  searchInput.addEventListener('focus', () => { if (searchInput.value.trim()) renderResults(); });
  searchInput.addEventListener('blur', () => window.setTimeout(closeResults, 150));
  searchInput.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' && matches.length) {
      e.preventDefault();
      if (resultsList.hidden) renderResults();
      setActive((active + 1) % matches.length);
    } else if (e.key === 'ArrowUp' && matches.length) {
      e.preventDefault();
      setActive((active - 1 + matches.length) % matches.length);
    } else if (e.key === 'Escape') {
      closeResults();
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const q = searchInput.value.trim();
      if (active >= 0 && matches[active]) pick(matches[active]);
      else if (/^\d{15}$/.test(q)) selectByCode(q);
      else if (matches.length) pick(matches[0]);
    }
  });
  $('grid-search-form').addEventListener('submit', (e) => e.preventDefault());

  // ---------------------------------------------------------------------------------------
  // Panel: collapsible on phones; the map follows the size of its box.

  const toggle = $('panel-toggle');
  function setPanelOpen(open) {
    const panel = $('panel');
    panel.classList.toggle('is-collapsed', !open);
    toggle.setAttribute('aria-expanded', open ? 'true' : 'false');
    toggle.querySelector('.panel-handle-text').textContent = open ? S.hideDetails : S.showDetails;
  }
  toggle.addEventListener('click', () => setPanelOpen(toggle.getAttribute('aria-expanded') !== 'true'));
  setPanelOpen(!narrow.matches);
  const onNarrowChange = () => {
    setPanelOpen(!narrow.matches);
    if (layerControl) {
      if (narrow.matches) layerControl.collapse(); else layerControl.expand();
    }
  };
  if (narrow.addEventListener) narrow.addEventListener('change', onNarrowChange);
  else if (narrow.addListener) narrow.addListener(onNarrowChange);

  if (window.ResizeObserver) {
    new ResizeObserver(() => map.invalidateSize({ pan: false })).observe(mapEl);
  } else {
    window.addEventListener('resize', () => map.invalidateSize({ pan: false }));
  }

  api.locate = (lon, lat) => locateAt(L.latLng(lat, lon));
  api.selectGrid = (code) => selectByCode(code);
  api.reset = resetResult;

  resetResult();
  loadAll();
}());
