// The supervisor's street page: the inspectors' table of today's patrol is its own request
// (?partial=1), loaded once the page is there, and again in place for its pages and its name
// filter, with the address kept shareable (a shared or reloaded address brings the table with
// the page). A browser test reads window.gridcitySupervise (loads, error).

const box = document.getElementById("sv-inspectors");
const form = document.getElementById("sv-find-form");
const TYPING_MS = 400; // a name typed into the filter is looked up when the typing pauses

const api = (window.gridcitySupervise = { loads: 0, error: null });

let loading = null;

// The partial answer of a page address (its page and search kept).
function partialOf(url) {
  const target = new URL(url, location.href);
  target.hash = "";
  target.searchParams.set("partial", "1");
  return target;
}

async function load(url, { push = false } = {}) {
  if (loading) loading.abort();
  const mine = (loading = new AbortController());
  box.setAttribute("aria-busy", "true");
  let html;
  try {
    const answer = await fetch(partialOf(url), {
      credentials: "same-origin", signal: mine.signal, headers: { Accept: "text/html" },
    });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    html = await answer.text();
  } catch (error) {
    if (error.name === "AbortError") return;
    api.error = error.message;
    box.setAttribute("aria-busy", "false");
    return;
  }
  if (mine !== loading) return;
  loading = null;
  box.innerHTML = html;
  box.dataset.loaded = "";
  box.setAttribute("aria-busy", "false");
  api.error = null;
  api.loads += 1;
  if (push) {
    const shown = new URL(url, location.href);
    shown.searchParams.delete("partial");
    if (shown.href !== location.href) history.pushState({ svInspectors: true }, "", shown);
  }
}

function formUrl() {
  const target = new URL(location.pathname, location.href);
  for (const [name, value] of new FormData(form)) {
    if (value !== "") target.searchParams.set(name, value);
  }
  target.hash = "inspectors";
  return target;
}

if (box) {
  if (!("loaded" in box.dataset) && box.dataset.src) load(box.dataset.src);
  box.addEventListener("click", (event) => {
    const link = event.target.closest(".desk-pager a, .sv-loading a");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    load(link.href, { push: true });
  });
  window.addEventListener("popstate", () => load(location.href));
}

if (box && form) {
  let typing = null;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    load(formUrl(), { push: true });
  });
  form.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => load(formUrl(), { push: true }), TYPING_MS);
  });
}
