// The staff console's progressive enhancements (the pages work without them):
// files dropped on a drop zone go into its file input, and forms marked data-progress
// upload with a progress bar, then show that the server is converting.
"use strict";

for (const zone of document.querySelectorAll("[data-dropzone]")) {
  const input = zone.querySelector("input[type=file]");
  if (!input) continue;
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const transfer = new DataTransfer();
    for (const file of input.files) transfer.items.add(file);
    for (const file of event.dataTransfer.files) transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event("change"));
  });
}

for (const form of document.querySelectorAll("form[data-progress]")) {
  form.addEventListener("submit", (event) => {
    if (!window.XMLHttpRequest || !window.FormData) return;
    event.preventDefault();
    const box = form.querySelector("[data-progress-box]");
    const bar = form.querySelector("progress");
    const text = form.querySelector("[data-progress-text]");
    const button = form.querySelector("button[type=submit]");
    if (box) box.hidden = false;
    if (button) button.disabled = true;
    const request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", (e) => {
      if (e.lengthComputable && bar) bar.value = Math.round((e.loaded / e.total) * 100);
    });
    request.upload.addEventListener("load", () => {
      if (bar) bar.value = 100;
      if (text) text.textContent = text.dataset.converting || "";
    });
    request.addEventListener("load", () => {
      if (request.status < 400 && request.responseURL) {
        window.location.assign(request.responseURL);
        return;
      }
      // A refusal comes back as a page: show its main part in place of ours.
      const page = new DOMParser().parseFromString(request.responseText, "text/html");
      const main = page.querySelector("main");
      if (main) document.querySelector("main").replaceWith(main);
      else window.location.reload();
    });
    request.addEventListener("error", () => {
      if (button) button.disabled = false;
      if (text) text.textContent = "⚠";
    });
    request.send(new FormData(form));
  });
}
