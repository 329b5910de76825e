// Signing page: draws the PDF with pdf.js (pages rendered as they scroll into view)
// and sends the code without reloading. The page works without this script.
const viewer = document.getElementById("viewer");

async function showPdf() {
  if (!viewer) return;
  const pdfjs = await import("/static/pdfjs/pdf.min.mjs");
  pdfjs.GlobalWorkerOptions.workerSrc = "/static/pdfjs/pdf.worker.min.mjs";
  const pdf = await pdfjs.getDocument({ url: viewer.dataset.src, isEvalSupported: false }).promise;
  const label = viewer.dataset.pageLabel || "Page {n} of {total}";
  const hint = viewer.querySelector(".hint");
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
  if (hint) hint.remove();
  viewer.dataset.rendered = String(pdf.numPages);
}

showPdf().catch(() => { /* the link to open the PDF stays */ });

const codeForm = document.getElementById("code-form");
const status = document.getElementById("code-status");
if (codeForm && status) {
  codeForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = codeForm.querySelector("button");
    button.disabled = true;
    try {
      const res = await fetch(codeForm.action, {
        method: "POST", body: new FormData(codeForm), headers: { Accept: "application/json" },
      });
      const body = await res.json();
      status.textContent = res.ok ? body.message : body.detail;
      status.classList.toggle("error", !res.ok);
      if (res.ok) document.getElementById("code")?.focus();
    } catch {
      codeForm.submit();
    } finally {
      setTimeout(() => { button.disabled = false; }, 3000);
    }
  });
}
