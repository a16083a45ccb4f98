/* GridCity patrol audit (巡查督查): a supervisor's day of patrols on a Leaflet map.
 *
 * Street and day → the summary of every inspector (GET /api/v1/patrol/inspectors/), the short
 * ones marked; an inspector → their shifts of the day (GET /api/v1/patrol/shifts/); a shift →
 * its track with every fix's time (GET …/shifts/<id>/points/?points=1) and its report
 * (GET …/shifts/<id>/report/: epoch seconds inside), its grids from the public grids API.
 * Drawn in SVG: the grids, the track, the stops (dwell in minutes), the checkpoints as circles
 * of the visiting radius, green when met, orange when visited too briefly, red when missed.
 * A slider plays the shift back: the marker sits at the position interpolated between fixes.
 * Every string shown comes from #audit-strings, translated by the template. Plain ES2017.
 * A browser test waits for window.gridcityAudit.ready (a shift drawn) or .error.
 */
(function () {
  'use strict';

  const root = document.getElementById('audit');
  const stringsEl = document.getElementById('audit-strings');
  if (!root || !stringsEl) return;

  const S = stringsEl.dataset;
  const $ = (id) => document.getElementById(id);
  const fmt = (template, values) =>
    String(template || '').replace(/\{(\w+)\}/g, (m, key) => (key in values ? String(values[key]) : m));
  const el = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  const api = window.gridcityAudit = { map: null, ready: false, error: null, shift: null, summary: null };
  const config = {
    apiRoot: root.dataset.apiRoot || '/api/v1/',
    today: root.dataset.today,
    timeZone: root.dataset.timeZone || 'Asia/Shanghai',
    tileUrl: root.dataset.tileUrl || '',
    tileAttribution: root.dataset.tileAttribution || '',
  };
  const lang = document.documentElement.lang || 'zh-hans';
  const locale = lang.toLowerCase().startsWith('zh') ? 'zh-CN' : lang;
  const clock = new Intl.DateTimeFormat(locale, {
    timeZone: config.timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
  const clockShort = new Intl.DateTimeFormat(locale, {
    timeZone: config.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });
  const dateTime = new Intl.DateTimeFormat(locale, {
    timeZone: config.timeZone, month: 'numeric', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  });

  const COLOURS = { met: '#2f9e44', short: '#f08c00', missed: '#e03131', track: '#1c7ed6', grid: '#5f3dc4' };
  const GAP_S = 300;  // the analysis' gap: the playback marker does not glide across one

  // ---------------------------------------------------------------------------------------
  // Formatting.

  const time = (epochS) => clock.format(new Date(epochS * 1000));
  const hhmm = (epochS) => clockShort.format(new Date(epochS * 1000));
  function duration(seconds) {
    const total = Math.max(0, Math.round((seconds || 0) / 60));
    const h = Math.floor(total / 60), m = total % 60;
    return h ? fmt(S.hoursMinutes, { h, m: String(m).padStart(2, '0') }) : fmt(S.minutes, { m });
  }
  function hoursMinutes(seconds) {  // compact, for the list: 5:07
    const total = Math.max(0, Math.round((seconds || 0) / 60));
    return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, '0')}`;
  }
  function minSec(seconds) {
    const s = Math.max(0, Math.round(seconds || 0));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  }
  const km = (metres) => fmt(S.km, { km: ((metres || 0) / 1000).toFixed(2) });
  const percent = (share) => (share === null || share === undefined ? '—' : `${Math.round(share * 100)}%`);
  const kindLabel = (kind) => S[`kind${kind.split('_').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}`] || kind;

  function shortfallText(s) {
    if (s.kind === 'no_patrol') return S.kindNoPatrol;
    if (s.kind === 'online') return `${S.kindOnline} ${duration(s.got)} / ${duration(s.need)}`;
    if (s.kind === 'coverage') return `${S.kindCoverage} ${percent(s.got)} / ${percent(s.need)}`;
    return `${kindLabel(s.kind)} ${s.got} / ${s.need}`;
  }

  // ---------------------------------------------------------------------------------------
  // The API.

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  async function getJSON(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    } catch (err) {
      throw new ApiError(S.networkError, 0);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok || body === null) {
      const message = body && body.error && body.error.message
        ? body.error.message
        : fmt(S.httpError, { status: response.status });
      throw new ApiError(message, response.status);
    }
    return body;
  }

  const query = (params) => Object.entries(params)
    .filter(([, v]) => v !== '' && v !== null && v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');

  // ---------------------------------------------------------------------------------------
  // The map.

  if (!window.L) {
    api.error = 'Leaflet did not load';
    $('audit-status').textContent = fmt(S.error, { message: 'Leaflet' });
    return;
  }
  const map = L.map('audit-map', { zoomSnap: 0.25, minZoom: 3, maxZoom: 19, zoomControl: true });
  api.map = map;
  map.setView([22.65, 113.85], 11);
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution, maxZoom: 19 }).addTo(map);
  }
  L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);
  map.createPane('audit-context').style.zIndex = '350';
  const contextRenderer = L.canvas({ pane: 'audit-context', padding: 0.2 });
  const layers = {
    context: L.layerGroup().addTo(map),  // the street's grids, faint, for orientation
    grids: L.layerGroup().addTo(map),
    track: L.layerGroup().addTo(map),
    checkpoints: L.layerGroup().addTo(map),
    stops: L.layerGroup().addTo(map),
    cursor: L.layerGroup().addTo(map),
  };
  if (window.ResizeObserver) {
    new ResizeObserver(() => map.invalidateSize({ pan: false })).observe($('audit-map'));
  }

  // ---------------------------------------------------------------------------------------
  // State, kept in the address so that a view can be linked and reloaded.

  const state = { street: '', date: config.today, inspector: null, shift: null };
  const params = new URLSearchParams(window.location.search);
  const streetSelect = $('audit-street');
  const dateInput = $('audit-date');
  if (params.get('street') !== null && [...streetSelect.options].some((o) => o.value === params.get('street'))) {
    streetSelect.value = params.get('street');
  } else if (streetSelect.options.length > 1 && !streetSelect.options[0].value) {
    // A district's worth of inspectors is a long list: start with the first street.
    streetSelect.selectedIndex = 1;
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(params.get('date') || '')) dateInput.value = params.get('date');
  state.street = streetSelect.value;
  state.date = dateInput.value || config.today;
  state.inspector = Number(params.get('inspector')) || null;
  state.shift = Number(params.get('shift')) || null;

  function remember() {
    const q = query({ street: state.street, date: state.date, inspector: state.inspector, shift: state.shift });
    window.history.replaceState(null, '', `${window.location.pathname}${q ? `?${q}` : ''}`);
  }

  function setStatus(text, isError) {
    const status = $('audit-status');
    status.textContent = text || '';
    status.classList.toggle('is-error', Boolean(isError));
  }

  // A request that failed: said in the status line, kept for the browser test.
  function showFailure(err) {
    api.error = err.message;
    setStatus(fmt(S.error, { message: err.message }), true);
  }

  // ---------------------------------------------------------------------------------------
  // The street's grids, faint, so the map has a place before a shift is picked.

  let contextSeq = 0;
  async function drawContext() {
    const seq = ++contextSeq;
    layers.context.clearLayers();
    if (!state.street) return;
    try {
      const page = await getJSON(`${config.apiRoot}grids/?${query({ street: state.street, simplify: 2, page_size: 5000 })}`);
      if (seq !== contextSeq) return;
      const layer = L.geoJSON(page.features || [], {
        style: () => ({ renderer: contextRenderer, color: '#8593a3', weight: 0.7, opacity: 0.8, fill: false }),
        interactive: false,
      });
      layers.context.addLayer(layer);
      if (!state.shift && layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [12, 12] });
    } catch (err) {
      // Orientation only: the audit works without it.
    }
  }

  // ---------------------------------------------------------------------------------------
  // The summary: every inspector of the street on the day.

  let summarySeq = 0;
  async function loadSummary() {
    const seq = ++summarySeq;
    const list = $('audit-inspectors');
    list.textContent = '';
    $('audit-count').textContent = '';
    setStatus(S.loading);
    let body;
    try {
      body = await getJSON(`${config.apiRoot}patrol/inspectors/?${query({ street: state.street, date: state.date })}`);
    } catch (err) {
      if (seq !== summarySeq) return;
      showFailure(err);
      return;
    }
    if (seq !== summarySeq) return;
    api.summary = body.results;
    renderSummary();
    const chosen = body.results.find((r) => r.inspector.id === state.inspector);
    if (chosen) {
      selectInspector(chosen, { keepShift: true });
    } else {
      state.inspector = null;
      state.shift = null;
      clearShift();
      $('audit-shifts-box').hidden = true;
      remember();
    }
  }

  function renderSummary() {
    const rows = api.summary || [];
    const list = $('audit-inspectors');
    list.textContent = '';
    const shortOnly = $('audit-short-only').checked;
    const short = rows.filter((r) => r.short).length;
    $('audit-count').textContent = rows.length ? fmt(S.count, { short, n: rows.length }) : '';
    const shown = shortOnly ? rows.filter((r) => r.short) : rows;
    if (!rows.length) setStatus(S.noInspectors);
    else if (!shown.length) setStatus(S.noneShort);
    else setStatus('');
    for (const row of shown) list.appendChild(inspectorItem(row));
  }

  function inspectorItem(row) {
    const li = el('li', 'inspector');
    const button = el('button', 'inspector-button');
    button.type = 'button';
    button.dataset.inspector = String(row.inspector.id);
    button.classList.toggle('is-short', row.short);
    button.setAttribute('aria-pressed', row.inspector.id === state.inspector ? 'true' : 'false');

    const head = el('span', 'inspector-head');
    head.append(el('span', 'inspector-name', row.inspector.name));
    const badge = el('span', `badge ${row.short ? 'badge-short' : row.requirement ? 'badge-ok' : 'badge-none'}`,
      row.short ? S.short : row.requirement ? S.ok : S.noRequirement);
    head.append(badge);
    button.append(head);
    button.append(el('span', 'inspector-grids', row.grids.join(' · ')));

    const need = row.requirement || {};
    const figures = el('span', 'inspector-figures');
    const figure = (label, value, bad) => {
      const f = el('span', `figure${bad ? ' is-bad' : ''}`);
      f.append(el('span', 'figure-label', label), el('span', 'figure-value', value));
      return f;
    };
    // Each figure against what is required of it ("got/need"), red where it falls short.
    const kinds = new Set(row.shortfalls.map((s) => s.kind));
    const against = (got, required) => (required ? `${got}/${required}` : got);
    figures.append(
      figure(S.kindLaps, against(row.laps, need.laps), kinds.has('laps')),
      figure(S.kindCheckpoints, `${row.checkpoints_met}/${row.checkpoints_required}`, kinds.has('checkpoints')),
      figure(S.kindOnline, against(hoursMinutes(row.online_s), need.online_minutes && hoursMinutes(need.online_minutes * 60)), kinds.has('online')),
      figure(S.kindCoverage, against(percent(row.coverage), need.coverage && percent(need.coverage)), kinds.has('coverage')),
    );
    button.append(figures);
    if (kinds.has('no_patrol')) {
      button.append(el('span', 'inspector-shortfalls', S.kindNoPatrol));
    }
    button.title = row.shortfalls.map(shortfallText).join('; ');
    if (row.report_pending) button.append(el('span', 'inspector-pending', S.pending));
    button.addEventListener('click', () => selectInspector(row, { keepShift: false }));
    li.append(button);
    return li;
  }

  // ---------------------------------------------------------------------------------------
  // An inspector's shifts of the day.

  let shiftsSeq = 0;
  async function selectInspector(row, { keepShift }) {
    const seq = ++shiftsSeq;
    state.inspector = row.inspector.id;
    if (!keepShift) state.shift = null;
    for (const b of document.querySelectorAll('.inspector-button')) {
      b.setAttribute('aria-pressed', Number(b.dataset.inspector) === state.inspector ? 'true' : 'false');
    }
    remember();
    const box = $('audit-shifts');
    box.textContent = '';
    $('audit-shifts-box').hidden = false;
    if (!row.shifts.length) {
      box.append(el('p', 'audit-empty', S.noShifts));
      clearShift();
      return;
    }
    let shifts;
    try {
      const body = await getJSON(`${config.apiRoot}patrol/shifts/?${query({ inspector: state.inspector, date: state.date, page_size: 100 })}`);
      shifts = body.results.slice().reverse();  // oldest first
    } catch (err) {
      if (seq === shiftsSeq) box.append(el('p', 'audit-empty is-error', fmt(S.error, { message: err.message })));
      return;
    }
    if (seq !== shiftsSeq) return;
    for (const shift of shifts) {
      const b = el('button', 'shift-chip');
      b.type = 'button';
      b.dataset.shift = String(shift.id);
      const from = hhmm(Date.parse(shift.started_at) / 1000);
      const to = shift.ended_at ? hhmm(Date.parse(shift.ended_at) / 1000) : S.open;
      b.append(el('span', 'shift-chip-time', `${from}–${to}`), el('span', 'shift-chip-points', fmt(S.points, { n: shift.points_count })));
      b.addEventListener('click', () => selectShift(shift.id));
      box.append(b);
    }
    const wanted = shifts.find((s) => s.id === state.shift) || shifts[0];
    if (wanted) selectShift(wanted.id);
  }

  // ---------------------------------------------------------------------------------------
  // One shift: track, grids, stops, checkpoints, figures, playback.

  const track = { t: [], ll: [], brk: [] };  // epoch seconds, [lat, lon] and "a break before" of every fix
  let shiftSeq = 0;

  function clearShift() {
    stop();
    api.ready = false;
    api.shift = null;
    for (const key of ['grids', 'track', 'checkpoints', 'stops', 'cursor']) layers[key].clearLayers();
    track.t = [];
    track.ll = [];
    track.brk = [];
    $('playback').hidden = true;
    $('audit-map-empty').hidden = false;
    $('audit-figures-body').hidden = true;
    $('audit-figures-empty').hidden = false;
  }

  async function selectShift(id) {
    const seq = ++shiftSeq;
    state.shift = id;
    remember();
    for (const b of document.querySelectorAll('.shift-chip')) {
      b.setAttribute('aria-pressed', Number(b.dataset.shift) === id ? 'true' : 'false');
    }
    clearShift();
    $('audit-map-empty').hidden = true;
    let report, points;
    try {
      [report, points] = await Promise.all([
        getJSON(`${config.apiRoot}patrol/shifts/${id}/report/`),
        getJSON(`${config.apiRoot}patrol/shifts/${id}/points/?points=1`),
      ]);
    } catch (err) {
      if (seq !== shiftSeq) return;
      showFailure(err);
      return;
    }
    if (seq !== shiftSeq) return;
    const grids = await Promise.all(report.grids.map((g) =>
      getJSON(`${config.apiRoot}grids/${encodeURIComponent(g.code)}/?simplify=1`).catch(() => null)));
    if (seq !== shiftSeq) return;

    for (const f of points.features.slice(1)) {
      track.t.push(Date.parse(f.properties.t) / 1000);
      track.ll.push([f.geometry.coordinates[1], f.geometry.coordinates[0]]);
      track.brk.push(Boolean(f.properties.segment_start));
    }
    drawGrids(grids.filter(Boolean));
    drawTrack();
    drawCheckpoints(report);
    drawStops(report.report);
    showFigures(report);
    setupPlayback();
    fit();
    api.shift = report;
    api.ready = true;
  }

  function drawGrids(features) {
    for (const f of features) {
      const layer = L.geoJSON(f, {
        style: () => ({ color: COLOURS.grid, weight: 2, opacity: 0.9, fillColor: COLOURS.grid, fillOpacity: 0.06, className: 'audit-grid' }),
      });
      layer.bindTooltip(`${S.grid} ${f.properties.name || ''} ${f.properties.code || f.id || ''}`.trim(), { sticky: true });
      layers.grids.addLayer(layer);
    }
  }

  // The track as its recorded segments: no line is drawn across a break (a new GPX segment).
  function trackParts() {
    const parts = [];
    track.ll.forEach((ll, i) => {
      if (i === 0 || track.brk[i]) parts.push([]);
      parts[parts.length - 1].push(ll);
    });
    return parts;
  }

  function drawTrack() {
    if (track.ll.length > 1) {
      const parts = trackParts();
      // A white casing under the line keeps it readable over any grid or tile.
      layers.track.addLayer(L.polyline(parts, { color: '#fff', weight: 7, opacity: 0.85, interactive: false, className: 'audit-track-casing' }));
      layers.track.addLayer(L.polyline(parts, { color: COLOURS.track, weight: 3.5, opacity: 0.95, className: 'audit-track' }));
    }
    if (track.ll.length) {
      const ends = [[0, S.start, '#2b8a3e'], [track.ll.length - 1, S.end, '#343a40']];
      for (const [i, label, colour] of ends) {
        layers.track.addLayer(L.circleMarker(track.ll[i], {
          radius: 6, weight: 2, color: '#fff', fillColor: colour, fillOpacity: 1, className: 'audit-end',
        }).bindTooltip(`${label} ${time(track.t[i])}`));
      }
    }
  }

  function checkpointStatus(summary) {
    if (summary && summary.met) return 'met';
    if (summary && summary.visits) return 'short';
    return 'missed';
  }

  function drawCheckpoints(body) {
    const report = body.report || {};
    const summaries = new Map((report.checkpoints || []).map((c) => [c.checkpoint_id, c]));
    const visits = report.visits || [];
    const list = $('fig-checkpoint-list');
    list.textContent = '';
    for (const c of body.checkpoints) {
      const summary = summaries.get(c.id);
      const status = checkpointStatus(summary);
      const circle = L.circle([c.lat, c.lon], {
        radius: c.radius_m, weight: 2.5, color: COLOURS[status], fillColor: COLOURS[status], fillOpacity: 0.25,
        className: `audit-checkpoint audit-checkpoint-${status}`,
      });
      const popup = el('div', 'audit-popup');
      popup.append(el('strong', null, c.name), el('code', null, c.code));
      popup.append(el('p', `cp-status cp-${status}`, S[`cp${status[0].toUpperCase()}${status.slice(1)}`]));
      popup.append(el('p', null, fmt(S.cpPopup, {
        visits: summary ? summary.visits : 0,
        dwell: minSec(summary ? summary.dwell_s : 0),
        need: minSec(c.min_dwell_s),
      })));
      const mine = visits.filter((v) => v.checkpoint_id === c.id);
      if (mine.length) {
        const ul = el('ul', 'cp-visits');
        for (const v of mine) ul.append(el('li', v.met ? 'is-met' : null, fmt(S.cpVisit, { enter: time(v.enter), dwell: minSec(v.dwell_s) })));
        popup.append(ul);
      }
      circle.bindPopup(popup, { maxWidth: 260 });
      layers.checkpoints.addLayer(circle);
      // The centre, so that a checkpoint is found even zoomed out.
      layers.checkpoints.addLayer(L.circleMarker([c.lat, c.lon], {
        radius: 3, weight: 1, color: '#fff', fillColor: COLOURS[status], fillOpacity: 1, interactive: false,
        className: 'audit-checkpoint-centre',
      }));

      const li = el('li', `cp-item cp-${status}`);
      li.append(el('span', 'cp-dot'), el('span', 'cp-name', c.name), el('span', 'cp-dwell',
        `${summary ? summary.visits : 0}× · ${minSec(summary ? summary.dwell_s : 0)} / ${minSec(c.min_dwell_s)}`));
      li.addEventListener('click', () => { map.setView([c.lat, c.lon], Math.max(map.getZoom(), 17)); circle.openPopup(); });
      list.append(li);
    }
  }

  function drawStops(report) {
    for (const s of (report && report.stops) || []) {
      const m = Math.round(s.dwell_s / 60);
      const icon = L.divIcon({ className: 'audit-stop', html: `<span>${fmt(S.stopMinutes, { m })}</span>`, iconSize: null });
      layers.stops.addLayer(L.marker([s.lat, s.lon], { icon, keyboard: false, title: fmt(S.stopTitle, { from: hhmm(s.start), to: hhmm(s.end), m }) })
        .bindTooltip(fmt(S.stopTitle, { from: hhmm(s.start), to: hhmm(s.end), m })));
    }
  }

  function showFigures(body) {
    const r = body.report || {};
    $('audit-figures-empty').hidden = true;
    $('audit-figures-body').hidden = false;
    const start = body.shift.started_at ? Date.parse(body.shift.started_at) / 1000 : null;
    const end = body.shift.ended_at ? Date.parse(body.shift.ended_at) / 1000 : null;
    $('fig-when').textContent = `${body.shift.inspector.name} · ${start ? dateTime.format(new Date(start * 1000)) : ''}–${end ? hhmm(end) : S.open}`;
    $('fig-distance').textContent = km(r.distance_m);
    $('fig-online').textContent = duration(r.online_s);
    $('fig-moving').textContent = duration(r.moving_s);
    $('fig-stopped').textContent = duration(r.stopped_s);
    $('fig-laps').textContent = String(r.laps || 0);
    $('fig-checkpoints').textContent = fmt(S.checkpointsOf, {
      met: r.checkpoints_met || 0, visited: r.checkpoints_visited || 0, n: r.checkpoints_required || 0,
    });
    $('fig-coverage').textContent = percent(r.coverage);
    $('fig-outside').textContent = r.outside_s === null || r.outside_s === undefined ? '—' : duration(r.outside_s);
    $('fig-stops').textContent = String((r.stops || []).length);
    const anomalies = $('fig-anomalies');
    anomalies.textContent = '';
    for (const a of r.anomalies || []) {
      const li = el('li', `anomaly anomaly-${a.kind}`);
      li.append(el('span', 'anomaly-kind', S[`anomaly${a.kind[0].toUpperCase()}${a.kind.slice(1)}`] || a.kind));
      li.append(el('span', 'anomaly-time', `${time(a.start)}–${time(a.end)}`));
      const d = a.detail || {};
      const detail = d.max_kmh ? `${Math.round(d.max_kmh)} km/h` : d.distance_m ? `${Math.round(d.distance_m)} m`
        : d.seconds ? minSec(d.seconds) : d.fixes ? fmt(S.points, { n: d.fixes }) : '';
      if (detail) li.append(el('span', 'anomaly-detail', detail));
      li.addEventListener('click', () => seek(a.start));
      anomalies.append(li);
    }
    if (!(r.anomalies || []).length) anomalies.append(el('li', 'anomaly-none', S.noAnomalies));
    let note = '';
    if (body.live) note = S.live;
    else if (body.computed_at) note = fmt(S.computed, { at: dateTime.format(new Date(body.computed_at)) });
    if (!body.fresh && !body.live) note += ` ${S.stale}`;
    $('fig-note').textContent = note;
  }

  function fit() {
    let bounds = null;
    for (const key of ['grids', 'track', 'checkpoints']) {
      layers[key].eachLayer((layer) => {
        const b = layer.getBounds ? layer.getBounds() : layer.getLatLng ? L.latLngBounds([layer.getLatLng()]) : null;
        if (b && b.isValid()) bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
      });
    }
    if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 18 });
  }

  // ---------------------------------------------------------------------------------------
  // Playback.

  const slider = $('playback-slider');
  const output = $('playback-time');
  let cursor = null;
  let playing = null;  // requestAnimationFrame id

  function setupPlayback() {
    if (!track.t.length) return;
    $('playback').hidden = false;
    slider.min = '0';
    slider.max = String(Math.max(0, Math.round(track.t[track.t.length - 1] - track.t[0])));
    slider.value = '0';
    cursor = L.circleMarker(track.ll[0], {
      radius: 8, weight: 3, color: '#fff', fillColor: '#d6336c', fillOpacity: 1, className: 'audit-cursor', interactive: false,
    });
    layers.cursor.addLayer(cursor);
    place(track.t[0]);
  }

  // The position at time t: between the fixes around it, linearly, unless a gap or a recorded
  // break lies between.
  function positionAt(t) {
    const times = track.t;
    let lo = 0, hi = times.length - 1;
    if (t <= times[0]) return track.ll[0];
    if (t >= times[hi]) return track.ll[hi];
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= t) lo = mid; else hi = mid;
    }
    const span = times[hi] - times[lo];
    if (span <= 0 || span > GAP_S || track.brk[hi]) return track.ll[lo];
    const f = (t - times[lo]) / span;
    const [a, b] = [track.ll[lo], track.ll[hi]];
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f];
  }

  function place(t) {
    if (!cursor) return;
    cursor.setLatLng(positionAt(t));
    output.textContent = time(t);
    output.dataset.t = String(t);
  }

  function seek(t) {
    if (!track.t.length) return;
    slider.value = String(Math.round(t - track.t[0]));
    place(track.t[0] + Number(slider.value));
  }

  slider.addEventListener('input', () => {
    if (track.t.length) place(track.t[0] + Number(slider.value));
  });

  function setPlayButton(on) {
    const button = $('playback-play');
    $('playback-icon').textContent = on ? '❚❚' : '▶';
    button.setAttribute('aria-label', on ? S.pause : S.play);
    button.title = on ? S.pause : S.play;
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
  }

  function stop() {
    if (playing) window.cancelAnimationFrame(playing);
    playing = null;
    setPlayButton(false);
  }

  function play() {
    if (!track.t.length) return;
    if (Number(slider.value) >= Number(slider.max)) slider.value = '0';
    setPlayButton(true);
    let last = null;
    const step = (now) => {
      if (last !== null) {
        const next = Math.min(Number(slider.max), Number(slider.value) + ((now - last) / 1000) * Number($('playback-speed').value));
        slider.value = String(next);
        place(track.t[0] + next);
        if (next >= Number(slider.max)) {
          stop();
          return;
        }
      }
      last = now;
      playing = window.requestAnimationFrame(step);
    };
    playing = window.requestAnimationFrame(step);
  }

  $('playback-play').addEventListener('click', () => (playing ? stop() : play()));

  // ---------------------------------------------------------------------------------------
  // Controls.

  streetSelect.addEventListener('change', () => {
    state.street = streetSelect.value;
    state.inspector = null;
    state.shift = null;
    remember();
    drawContext();
    loadSummary();
  });
  dateInput.addEventListener('change', () => {
    if (!dateInput.value) return;
    state.date = dateInput.value;
    state.shift = null;
    remember();
    loadSummary();
  });
  $('audit-short-only').addEventListener('change', renderSummary);
  $('audit-filters').addEventListener('submit', (e) => e.preventDefault());

  drawContext();
  loadSummary();
}());
