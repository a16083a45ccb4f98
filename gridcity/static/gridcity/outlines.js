// The streets' outlines under a map's own layers, for a sense of place on a network without
// base tiles (a closed network has none). Pages the GeoJSON at `url` (the streets API, which
// answers in pages with `next`) into one non-interactive layer; a failure leaves the map as it
// is, since everything else on it works without them.

const STYLE = { color: "#1f4e79", weight: 1.5, opacity: 0.7, fillColor: "#1f4e79", fillOpacity: 0.04 };

export async function drawStreets(map, url, { credentials = "same-origin", style = {} } = {}) {
  const outlines = L.geoJSON(null, { interactive: false, style: { ...STYLE, ...style } }).addTo(map);
  let next = url;
  try {
    while (next) {
      const answer = await fetch(next, { headers: { Accept: "application/json" }, credentials });
      if (!answer.ok) return outlines;
      const page = await answer.json();
      outlines.addData(page.features || []);
      next = page.next ? samePath(page.next) : null;
    }
  } catch (err) {
    // No outlines: the map's own layers are still drawn.
  }
  return outlines;
}

// A `next` link as a path on this origin (the API may name another host behind a proxy).
function samePath(link) {
  const url = new URL(link, location.href);
  return url.pathname + url.search;
}
