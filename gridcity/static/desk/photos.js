// Evidence photos from the browser (desk/_photo_upload.html): choose several at once, each is
// made smaller here before it is sent (a phone's 12-megapixel photo is 4–8 MB; 2048 px on the
// long side is plenty for evidence and a tenth of the bytes), then uploaded to the case's photo
// API with its own progress bar. Each photo carries a client_id made once, so a retry after a
// lost answer is still one photo on the server. The form's submit buttons wait for the uploads.
//
// The server's rules (cases/photos.py) stay the judge: JPEG, PNG or WebP by content, at most
// GRIDCITY_PHOTO_MAX_BYTES, a complete image. A photo that is re-encoded here keeps the EXIF of
// the original (capture time and GPS, which the server reads to place the photo), with its
// orientation reset because the pixels are already drawn upright.

const ACCEPTED = new Set(["image/jpeg", "image/png", "image/webp"]);
const PARALLEL = 2;

function text(root, key, fallback) {
  return (root.dataset[key] || fallback);
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function uuid4() {
  if (window.crypto && crypto.randomUUID && window.isSecureContext) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// --- making a photo smaller --------------------------------------------------------------

async function decode(file) {
  if (window.createImageBitmap) {
    try {
      return await createImageBitmap(file, { imageOrientation: "from-image" });
    } catch (e) {
      // fall through to <img>, which some browsers decode more formats with
    }
  }
  const url = URL.createObjectURL(file);
  try {
    const img = new Image();
    img.src = url;
    await img.decode();
    return img;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function toBlob(canvas, quality) {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("encode"))), "image/jpeg", quality),
  );
}

// The APP1 "Exif" segment of a JPEG, with its orientation set to 1 (upright), or null.
function exifSegment(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.byteLength < 4 || view.getUint16(0) !== 0xffd8) return null;
  let at = 2;
  while (at + 4 <= view.byteLength) {
    const marker = view.getUint16(at);
    if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) return null; // start of scan: none
    const length = view.getUint16(at + 2);
    const exif = marker === 0xffe1 && view.getUint32(at + 4) === 0x45786966; // "Exif"
    if (exif) {
      const segment = bytes.slice(at, at + 2 + length);
      uprightOrientation(segment);
      return segment;
    }
    at += 2 + length;
  }
  return null;
}

function uprightOrientation(segment) {
  const tiff = 10; // marker (2) + length (2) + "Exif\0\0" (6)
  const view = new DataView(segment.buffer, segment.byteOffset, segment.byteLength);
  if (view.byteLength < tiff + 8) return;
  const little = view.getUint16(tiff) === 0x4949;
  const ifd0 = tiff + view.getUint32(tiff + 4, little);
  if (ifd0 + 2 > view.byteLength) return;
  const entries = view.getUint16(ifd0, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd0 + 2 + i * 12;
    if (entry + 12 > view.byteLength) return;
    if (view.getUint16(entry, little) === 0x0112) view.setUint16(entry + 8, 1, little);
  }
}

async function withExif(original, resized) {
  if (original.type !== "image/jpeg") return resized;
  const head = new Uint8Array(await original.slice(0, 128 * 1024).arrayBuffer());
  const segment = exifSegment(head);
  if (!segment) return resized;
  const body = new Uint8Array(await resized.arrayBuffer());
  // SOI, then the original's EXIF, then the rest of the new file.
  return new Blob([body.slice(0, 2), segment, body.slice(2)], { type: "image/jpeg" });
}

// The file to send: the original when it is already small enough (its bytes untouched),
// otherwise a JPEG at most ``maxSide`` px on its long side.
export async function shrink(file, { maxSide = 2048, quality = 0.85, maxBytes = 10 * 2 ** 20 } = {}) {
  let image;
  try {
    image = await decode(file);
  } catch (e) {
    return { blob: file, width: null, height: null, resized: false };
  }
  const { width, height } = image;
  const long = Math.max(width, height);
  if (long <= maxSide && ACCEPTED.has(file.type) && file.size <= maxBytes) {
    if (image.close) image.close();
    return { blob: file, width, height, resized: false };
  }
  const scale = Math.min(1, maxSide / long);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; // a transparent PNG becomes a JPEG on white, not on black
  ctx.fillRect(0, 0, w, h);
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(image, 0, 0, w, h);
  if (image.close) image.close();
  const blob = await withExif(file, await toBlob(canvas, quality));
  return { blob, width: w, height: h, resized: true };
}

// --- one photo's row ---------------------------------------------------------------------

class Upload {
  constructor(widget, file) {
    this.widget = widget;
    this.file = file;
    this.clientId = uuid4();
    this.prepared = null;
    this.row = document.createElement("li");
    this.row.className = "photo-item";
    this.row.dataset.state = "waiting";
    this.row.dataset.clientId = this.clientId;
    const name = document.createElement("span");
    name.className = "photo-name";
    name.textContent = file.name || "photo";
    this.progress = document.createElement("progress");
    this.progress.max = 100;
    this.progress.value = 0;
    this.progress.setAttribute("aria-label", `${widget.label("labelProgress", "Upload")}: ${name.textContent}`);
    this.status = document.createElement("span");
    this.status.className = "photo-status";
    this.status.textContent = widget.label("labelWaiting", "Waiting");
    this.retry = document.createElement("button");
    this.retry.type = "button";
    this.retry.className = "secondary photo-retry";
    this.retry.textContent = widget.label("labelRetry", "Retry");
    this.retry.hidden = true;
    this.retry.addEventListener("click", () => widget.enqueue(this));
    this.row.append(name, this.progress, this.status, this.retry);
  }

  set(state, message) {
    this.row.dataset.state = state;
    this.status.textContent = message;
    this.retry.hidden = state !== "failed";
  }

  async run() {
    const w = this.widget;
    this.set("preparing", w.label("labelPreparing", "Preparing…"));
    if (!this.prepared) {
      this.prepared = await shrink(this.file, w.limits);
      if (this.prepared.resized) this.row.dataset.resized = `${this.prepared.width}x${this.prepared.height}`;
    }
    if (this.prepared.blob.size > w.limits.maxBytes) {
      this.set("failed", w.label("labelTooBig", "Too large to send."));
      this.retry.hidden = true;
      return;
    }
    this.set("uploading", w.label("labelUploading", "Uploading…"));
    const answer = await this.send();
    if (answer.ok) {
      this.progress.value = 100;
      this.done(answer.body);
    } else {
      this.set("failed", answer.message);
    }
  }

  send() {
    const w = this.widget;
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", w.url);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      xhr.withCredentials = true;
      xhr.upload.onprogress = (e) => {
        if (!e.lengthComputable) return;
        this.progress.value = Math.round((e.loaded / e.total) * 100);
        this.row.dataset.progress = String(this.progress.value); // what was sent, as the browser says
      };
      xhr.onload = () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (e) {
          body = null;
        }
        if (xhr.status === 200 || xhr.status === 201) return resolve({ ok: true, body });
        const message = (body && body.error && body.error.message) || `HTTP ${xhr.status}`;
        resolve({ ok: false, message });
      };
      xhr.onerror = () => resolve({ ok: false, message: w.label("labelNetwork", "No connection; try again.") });
      const form = new FormData();
      const type = this.prepared.blob.type || this.file.type;
      const name = this.prepared.resized ? "photo.jpg" : this.file.name || "photo";
      form.append("file", new File([this.prepared.blob], name, { type }));
      form.append("stage", w.stage);
      form.append("client_id", this.clientId);
      xhr.send(form);
    });
  }

  done(photo) {
    const w = this.widget;
    this.set("done", w.label("labelDone", "Uploaded"));
    const img = document.createElement("img");
    img.className = "photo-thumb";
    img.alt = `${w.label("labelThumb", "Photo")} ${this.row.querySelector(".photo-name").textContent}`;
    img.src = URL.createObjectURL(this.prepared.blob);
    img.onload = () => URL.revokeObjectURL(img.src);
    this.row.prepend(img);
    if (photo && photo.id != null) {
      this.row.dataset.photoId = photo.id;
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "photo";
      hidden.value = photo.id;
      this.row.append(hidden);
    }
    w.root.dispatchEvent(new CustomEvent("photos:uploaded", { bubbles: true, detail: { photo } }));
  }
}

// --- the widget ----------------------------------------------------------------------------

class PhotoUpload {
  constructor(root) {
    this.root = root;
    this.url = root.dataset.url;
    this.stage = root.dataset.stage;
    this.limits = {
      maxSide: Number(root.dataset.maxSide) || 2048,
      quality: Number(root.dataset.quality) || 0.85,
      maxBytes: Number(root.dataset.maxBytes) || 10 * 2 ** 20,
    };
    this.input = root.querySelector("[data-photo-input]");
    this.list = root.querySelector("[data-photo-list]");
    this.form = root.closest("form");
    this.queue = [];
    this.running = 0;
    this.input.addEventListener("change", () => this.add([...this.input.files]));
    if (this.form) {
      this.form.addEventListener("submit", (e) => {
        if (this.busy()) e.preventDefault();
      });
    }
  }

  label(key, fallback) {
    return text(this.root, key, fallback);
  }

  add(files) {
    for (const file of files) {
      const upload = new Upload(this, file);
      this.list.append(upload.row);
      this.enqueue(upload);
    }
    this.input.value = ""; // the same photo may be chosen again later
  }

  enqueue(upload) {
    upload.set("waiting", this.label("labelWaiting", "Waiting"));
    upload.progress.value = 0;
    this.queue.push(upload);
    this.pump();
  }

  busy() {
    return this.running > 0 || this.queue.length > 0;
  }

  pump() {
    while (this.running < PARALLEL && this.queue.length) {
      const upload = this.queue.shift();
      this.running += 1;
      upload
        .run()
        .catch(() => upload.set("failed", this.label("labelFailed", "Could not send this photo.")))
        .finally(() => {
          this.running -= 1;
          this.pump();
        });
    }
    this.lockForm();
  }

  lockForm() {
    if (!this.form) return;
    const busy = this.busy();
    this.root.dataset.busy = busy ? "true" : "false";
    for (const button of this.form.querySelectorAll('button:not([type]), button[type="submit"], input[type="submit"]')) {
      if (busy && !button.disabled) {
        button.disabled = true;
        button.dataset.photoLocked = "1";
      } else if (!busy && button.dataset.photoLocked) {
        button.disabled = false;
        delete button.dataset.photoLocked;
      }
    }
  }
}

export function init(scope = document) {
  for (const root of scope.querySelectorAll("[data-photo-upload]")) {
    if (!root.photoUpload) root.photoUpload = new PhotoUpload(root);
  }
}

init();
document.addEventListener("htmx:load", (e) => init(e.target));
window.gridcityPhotos = { init, shrink };
