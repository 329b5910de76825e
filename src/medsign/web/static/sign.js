// Signing page: sends the code without reloading. The page works without this script;
// the document viewer has its own module (viewer.js).
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
