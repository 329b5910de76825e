// Draws a PDF with pdf.js into a container, pages rendered as they scroll into view.
// Shared by the signing page (sign.js) and the clinician app (app/app.js).

/**
 * Render `source` (pdf.js getDocument parameters: {url} or {data}) into `viewer`, one
 * canvas per page labelled with `label` ("Page {n} of {total}"); returns the page count.
 */
export async function renderPdf(viewer, source, label = "Page {n} of {total}") {
  const pdfjs = await import("/static/pdfjs/pdf.min.mjs");
  pdfjs.GlobalWorkerOptions.workerSrc = "/static/pdfjs/pdf.worker.min.mjs";
  const pdf = await pdfjs.getDocument({ ...source, isEvalSupported: false }).promise;
  const ratio = Math.min(window.devicePixelRatio || 1, 2);
  const canvases = [];
  for (let n = 1; n <= pdf.numPages; n++) {
    const canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", label.replace("{n}", n).replace("{total}", pdf.numPages));
    canvas.dataset.page = String(n);
    canvas.width = 595; canvas.height = 842;
    viewer.append(canvas);
    canvases.push(canvas);
  }
  async function draw(canvas) {
    if (canvas.dataset.drawn) return;
    canvas.dataset.drawn = "1";
    const page = await pdf.getPage(Number(canvas.dataset.page));
    const base = page.getViewport({ scale: 1 });
    const scale = (viewer.clientWidth || base.width) / base.width;
    const vp = page.getViewport({ scale: scale * ratio });
    canvas.width = Math.floor(vp.width); canvas.height = Math.floor(vp.height);
    await page.render({ canvasContext: canvas.getContext("2d"), viewport: vp }).promise;
  }
  const io = new IntersectionObserver((entries) => {
    for (const e of entries) if (e.isIntersecting) draw(e.target);
  }, { rootMargin: "600px 0px" });
  canvases.forEach((c) => io.observe(c));
  await draw(canvases[0]);
  viewer.dataset.rendered = String(pdf.numPages);
  return pdf.numPages;
}
