// The document viewer (docs/viewer.md). The server draws every page as an image and the
// page shows them without any script; this module only marks the viewer as shown and,
// when the reader presses the zoom button, loads pdf.js (about 500 KB) to draw sharp
// pages with a text layer for selecting and copying. pdf.js is never fetched before.
const PDFJS = "/static/pdfjs/pdf.min.mjs";
const WORKER = "/static/pdfjs/pdf.worker.min.mjs";

// Pages after the first few are not in the HTML (a long record would weigh too much):
// data-more lists their sizes as runs, "480x679*12,480x339*1"; add them, lazily loaded.
function addMorePages(viewer) {
  const { more, src, label } = viewer.dataset;
  const frames = viewer.querySelectorAll(".page-frame");
  const last = frames[frames.length - 1];
  if (!more || !src || !last) return;
  const model = last.querySelector("img");
  const sizes = model.getAttribute("sizes");
  // The widths the server draws at, as the page's own srcset names them ("... 480w, ... 960w").
  const [small, large] = [...model.getAttribute("srcset").matchAll(/ (\d+)w/g)].map((m) => m[1]);
  let n = Number(last.dataset.page);
  const added = document.createDocumentFragment();
  for (const run of more.split(",")) {
    const [size, count] = run.split("*");
    const [width, height] = size.split("x");
    for (let i = 0; i < Number(count); i++) {
      n += 1;
      const url = src.replace("{n}", String(n));
      const frame = document.createElement("div");
      frame.className = "page-frame";
      frame.dataset.page = String(n);
      const img = document.createElement("img");
      img.className = "page";
      img.loading = "lazy";
      img.decoding = "async";
      img.width = Number(width);
      img.height = Number(height);
      img.alt = (label || "{n}").replace("{n}", String(n));
      img.setAttribute("sizes", sizes);
      img.srcset = `${url}${small} ${small}w, ${url}${large} ${large}w`;
      img.src = `${url}${small}`;
      frame.append(img);
      added.append(frame);
    }
  }
  last.after(added);
}

function markShown(viewer) {
  const first = viewer.querySelector("img.page");
  const done = () => {
    viewer.dataset.rendered = String(viewer.querySelectorAll("img.page").length);
  };
  if (!first) return;
  if (first.complete && first.naturalWidth > 0) done();
  else first.addEventListener("load", done, { once: true });
}

async function drawPage(pdfjs, pdf, frame) {
  if (frame.dataset.drawn) return;
  frame.dataset.drawn = "1";
  const page = await pdf.getPage(Number(frame.dataset.page));
  const base = page.getViewport({ scale: 1 });
  const cssScale = frame.clientWidth / base.width;
  // Twice the screen's density: still sharp when pinch-zoomed in twofold.
  const density = Math.min(window.devicePixelRatio || 1, 2) * 2;
  const viewport = page.getViewport({ scale: cssScale * density });
  const canvas = document.createElement("canvas");
  canvas.setAttribute("aria-hidden", "true");
  canvas.width = Math.floor(viewport.width);
  canvas.height = Math.floor(viewport.height);
  await page.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
  frame.append(canvas);
  const text = document.createElement("div");
  text.className = "textLayer";
  frame.style.setProperty("--total-scale-factor", String(cssScale));
  frame.append(text);
  const layer = new pdfjs.TextLayer({
    textContentSource: page.streamTextContent(),
    container: text,
    viewport: page.getViewport({ scale: cssScale }),
  });
  await layer.render();
}

/** Load pdf.js and the PDF, and draw sharp pages with a text layer over the images of
 *  `viewer`'s .page-frame elements. `source` is pdf.js getDocument parameters (default:
 *  the viewer's data-pdf; the clinician app passes its bearer token in httpHeaders). */
export async function openPdf(viewer, button, source = { url: viewer.dataset.pdf }) {
  button.disabled = true;
  viewer.setAttribute("aria-busy", "true");
  try {
    const pdfjs = await import(PDFJS);
    pdfjs.GlobalWorkerOptions.workerSrc = WORKER;
    const pdf = await pdfjs.getDocument({ ...source, isEvalSupported: false }).promise;
    const frames = [...viewer.querySelectorAll(".page-frame")];
    const io = new IntersectionObserver((entries) => {
      for (const e of entries) if (e.isIntersecting) drawPage(pdfjs, pdf, e.target);
    }, { rootMargin: "600px 0px" });
    frames.forEach((frame) => io.observe(frame));
    if (frames.length) await drawPage(pdfjs, pdf, frames[0]);
    viewer.classList.add("zoomable");
    viewer.dataset.pdfjs = String(pdf.numPages);
    button.hidden = true;
  } catch {
    button.disabled = false; // the images and the link to the PDF stay
  } finally {
    viewer.removeAttribute("aria-busy");
  }
}

for (const viewer of document.querySelectorAll("section.viewer")) {
  addMorePages(viewer);
  markShown(viewer);
  const button = viewer.querySelector("button[data-zoom]");
  if (button && viewer.dataset.pdf) {
    button.hidden = false;
    button.addEventListener("click", () => openPdf(viewer, button));
  }
}
