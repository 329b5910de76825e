// The clinician app (/app): enroll this device for a workplace with a non-extractable
// WebCrypto P-256 key, register its platform authenticator, then approve or decline
// the signing requests that arrive (docs/clinician-devices.md).
import { buildCsr, certificateSubject, pemToDer, concat } from "./der.js";
import * as store from "./store.js";
import * as webauthn from "./webauthn.js";

const texts = JSON.parse(document.getElementById("app-texts").textContent);
const lang = document.documentElement.lang;
const ENROLL_KEY = "medsign.clinician.enroll";
const $ = (id) => document.getElementById(id);

function tr(key, params = {}) {
  return (texts[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

function say(text, kind = "") {
  const status = $("app-status");
  status.textContent = text;
  status.className = kind;
}

const subtle = globalThis.crypto.subtle;
const sha256 = async (bytes) => new Uint8Array(await subtle.digest("SHA-256", bytes));
const fromBase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
function toBase64(buffer) {
  let binary = "";
  for (const b of new Uint8Array(buffer)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Thrown when the server refuses: carries the problem's detail (RFC 9457). */
class Refused extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function call(path, { token, method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) throw new Refused(res.status, (data && (data.detail || data.title)) || res.statusText);
  return data;
}

// -- enrollment -------------------------------------------------------------------

/** The enrollment token from the invitation link (#enroll= or ?enroll=), kept for the
 *  tab's life and taken out of the address bar (it must not be bookmarked or shared). */
function enrollmentToken() {
  const url = new URL(location.href);
  const hash = new URLSearchParams(url.hash.slice(1));
  const found = hash.get("enroll") || url.searchParams.get("enroll") || url.searchParams.get("token");
  if (found) {
    sessionStorage.setItem(ENROLL_KEY, found);
    url.hash = "";
    url.searchParams.delete("enroll");
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search);
  }
  return sessionStorage.getItem(ENROLL_KEY);
}

function labelOf(certificatePem) {
  try {
    const subject = certificateSubject(pemToDer(certificatePem));
    return [subject.CN, subject.O, subject.OU].filter(Boolean).join(" — ");
  } catch {
    return "";
  }
}

async function registerAuthenticator(workplace) {
  if (!(await webauthn.available())) {
    say(tr("app_no_authenticator"));
    return workplace;
  }
  say(tr("app_protect"));
  const token = workplace.device_token;
  const options = await call("/device/v1/webauthn/registration/options", { token, method: "POST", body: {} });
  // A device that has an authenticator adds another only with its confirmation, over
  // this registration's challenge (docs/clinician-devices.md, WebAuthn).
  const known = await call("/device/v1/webauthn", { token });
  const assertion = known.credentials.length
    ? await webauthn.assert(known.rp_id, known.credentials, webauthn.fromBase64url(options.challenge))
    : undefined;
  const credential = await webauthn.create(options);
  const saved = await call("/device/v1/webauthn/registration", {
    token, method: "POST", body: { credential, assertion },
  });
  const updated = { ...workplace, credentialId: saved.credential_id, rpId: options.rp.id };
  await store.put(updated);
  return updated;
}

async function enroll(token) {
  const button = $("enroll-button");
  button.disabled = true;
  say(tr("app_enrolling"));
  try {
    if (navigator.storage && navigator.storage.persist) await navigator.storage.persist();
    // Non-extractable: the private key can sign but can never be read out (WebCrypto §14.3.14).
    const keys = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    const csr = await buildCsr(keys, "medsign clinician device");
    const enrolled = await call("/device/v1/enroll", { method: "POST", body: { enrollment_token: token, csr } });
    let workplace = {
      device_id: enrolled.device_id,
      device_token: enrolled.device_token,
      certificate: enrolled.certificate,
      chain: enrolled.chain,
      label: labelOf(enrolled.certificate) || enrolled.device_id,
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      credentialId: null,
      rpId: null,
      enrolledAt: new Date().toISOString(),
    };
    await store.put(workplace);
    sessionStorage.removeItem(ENROLL_KEY);
    let note = ""; // enrolled either way; a cancelled fingerprint prompt is said, not fatal
    try {
      workplace = await registerAuthenticator(workplace);
    } catch (error) {
      note = ` ${tr("app_failed", { reason: error.message })}`;
    }
    $("screen-enroll").hidden = true;
    await start();
    say(tr("app_enrolled", { workplace: workplace.label }) + note, note ? "error" : "ok");
  } catch (error) {
    if (error instanceof Refused && error.status < 500 && error.status !== 429) sessionStorage.removeItem(ENROLL_KEY);
    say(tr("app_enroll_failed", { reason: error.message }), "error");
    button.disabled = false;
  }
}

// -- requests ---------------------------------------------------------------------

let workplaces = [];
const pending = new Map(); // request id -> {request, workplace, item}

function showLost(entries) {
  const list = $("lost-list");
  list.replaceChildren();
  for (const { marker, revoked } of entries) {
    const item = $("lost-template").content.firstElementChild.cloneNode(true);
    item.querySelector(".lost-text").textContent = tr(revoked ? "app_revoked_text" : "app_lost_text", {
      workplace: marker.label,
    });
    item.querySelector(".remove").addEventListener("click", async () => {
      await store.remove(marker.device_id);
      item.remove();
      if (!list.children.length) $("screen-lost").hidden = true;
      await start();
    });
    list.append(item);
  }
  $("screen-lost").hidden = entries.length === 0;
}

let canVerify = false; // a user-verifying platform authenticator is there (set in main)

/** Register the authenticator later, from the workplace list: for a device whose
 *  registration was cancelled or failed at enrollment. */
async function protect(workplace, button) {
  button.disabled = true;
  try {
    // In place: the request cards and the event stream hold this same object.
    Object.assign(workplace, await registerAuthenticator(workplace));
    showWorkplaces();
    say(tr("app_protected", { workplace: workplace.label }), "ok");
  } catch (error) {
    say(tr("app_failed", { reason: error.message }), "error");
    button.disabled = false;
  }
}

function showWorkplaces() {
  const list = $("workplaces");
  list.replaceChildren(
    ...workplaces.map((w) => {
      const li = document.createElement("li");
      li.className = "workplace-item";
      const label = document.createElement("span");
      label.textContent = w.label;
      li.append(label);
      if (canVerify && !w.credentialId) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "secondary protect";
        button.textContent = tr("app_protect_button");
        button.addEventListener("click", () => protect(w, button));
        li.append(button);
      }
      return li;
    }),
  );
  $("no-workplace").hidden = workplaces.length > 0;
}

/** The server may hold a credential the app did not keep (the answer to the
 *  registration was lost): adopt it, so approvals send the assertion it expects. */
async function adoptAuthenticators(workplace) {
  if (workplace.credentialId) return workplace;
  try {
    const known = await call("/device/v1/webauthn", { token: workplace.device_token });
    if (!known.credentials.length) return workplace;
    const updated = { ...workplace, credentialId: known.credentials, rpId: known.rp_id };
    await store.put(updated);
    return updated;
  } catch {
    return workplace; // offline or revoked: refresh() says so
  }
}

function updateList() {
  const count = pending.size;
  $("no-requests").hidden = count > 0;
  $("approve-all").hidden = count < 2;
}

function result(entry, text, kind) {
  const node = entry.item.querySelector(".result");
  node.textContent = text;
  node.className = `result ${kind}`;
}

/** Take a request off the screen and free its page images. */
function drop(entry) {
  pending.delete(entry.request.id);
  entry.item.remove();
  entry.blobUrls.forEach((url) => URL.revokeObjectURL(url));
}

function done(entry, text) {
  drop(entry);
  say(text, "ok");
  updateList();
}

function addRequest(request, workplace) {
  if (pending.has(request.id)) return;
  const item = $("request-template").content.firstElementChild.cloneNode(true);
  const entry = { request, workplace, item, blobUrls: [] };
  item.dataset.id = request.id;
  item.querySelector(".title").textContent = request.title;
  item.querySelector(".workplace").textContent = workplace.label;
  const reasonId = `reason-${request.id}`;
  item.querySelector(".reason").id = reasonId;
  item.querySelector(".reason-label").htmlFor = reasonId;
  item.querySelector(".show").addEventListener("click", (event) => showDocument(entry, event.currentTarget));
  item.querySelector(".approve").addEventListener("click", () => approve([entry]));
  item.querySelector(".decline-form").addEventListener("submit", (event) => {
    event.preventDefault();
    decline(entry);
  });
  pending.set(request.id, entry);
  $("requests").append(item);
  if (wanted() === request.id) focusRequest(entry);
}

/** The request a notification click opened the app on (`#request=<id>`). */
const wanted = () => new URLSearchParams(location.hash.slice(1)).get("request");

function focusRequest(entry) {
  entry.item.classList.add("wanted");
  entry.item.scrollIntoView({ block: "start" });
  entry.item.querySelector(".approve").focus({ preventScroll: true });
}

/** Fetch one page image with the device's bearer token and show it from a blob URL
 *  (an <img> cannot send the Authorization header; the token never goes into a URL). */
async function loadPage(entry, frame, url) {
  if (frame.dataset.loading) return;
  frame.dataset.loading = "1";
  const res = await fetch(url, { headers: { Authorization: `Bearer ${entry.workplace.device_token}` } });
  if (!res.ok) {
    delete frame.dataset.loading; // tried again when it comes near the screen again
    return;
  }
  const blobUrl = URL.createObjectURL(await res.blob());
  entry.blobUrls.push(blobUrl);
  const img = frame.querySelector("img");
  img.addEventListener("load", () => {
    const viewer = frame.closest(".viewer");
    viewer.dataset.rendered = String(viewer.querySelectorAll("img.page[src]").length);
  }, { once: true });
  img.src = blobUrl;
}

/** The request's document as the server draws it (docs/viewer.md): page images, each
 *  box sized before it arrives, fetched as they come near the screen. pdf.js (about
 *  500 KB) and the PDF are loaded only when "Zoom and select text" is pressed. */
async function showDocument(entry, button) {
  button.disabled = true;
  const viewer = entry.item.querySelector(".viewer");
  viewer.hidden = false;
  viewer.setAttribute("aria-label", entry.request.title);
  const token = entry.workplace.device_token;
  try {
    const layout = await call(`/device/v1/requests/${entry.request.id}/pages`, { token });
    const [small, large] = layout.widths;
    const width = viewer.clientWidth * (window.devicePixelRatio || 1) > small ? large : small;
    const total = layout.sizes.length;
    const tools = document.createElement("p");
    tools.className = "viewer-tools";
    const zoom = document.createElement("button");
    zoom.type = "button";
    zoom.className = "secondary";
    zoom.textContent = tr("zoom_text");
    zoom.addEventListener("click", async () => {
      const { openPdf } = await import("/static/viewer.js");
      await openPdf(viewer, zoom, { url: entry.request.document_url, httpHeaders: { Authorization: `Bearer ${token}` } });
    });
    tools.append(zoom);
    viewer.replaceChildren(tools);
    const io = new IntersectionObserver((seen) => {
      for (const e of seen) if (e.isIntersecting) loadPage(entry, e.target, e.target.dataset.src);
    }, { rootMargin: "600px 0px" });
    layout.sizes.forEach(([w, h], i) => {
      const n = i + 1;
      const frame = document.createElement("div");
      frame.className = "page-frame";
      frame.dataset.page = String(n);
      frame.dataset.src = layout.image_url.replace("{n}", String(n)).replace("{w}", String(width));
      const img = document.createElement("img");
      img.className = "page";
      img.width = w;
      img.height = h;
      img.decoding = "async";
      img.alt = tr("page_n", { n, total });
      frame.append(img);
      viewer.append(frame);
      io.observe(frame);
    });
    button.hidden = true;
  } catch (error) {
    result(entry, tr("app_failed", { reason: error.message }), "error");
    button.disabled = false;
  }
}

/** Sign `bytes` with the workplace's key: WebCrypto returns r‖s (IEEE P1363), which the
 *  device API accepts as is. */
async function signWith(workplace, bytes) {
  const raw = await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, workplace.privateKey, bytes);
  return toBase64(raw);
}

/** Approve `entries` (one workplace's): one user verification whose challenge is the
 *  SHA-256 of the item's to_sign, or for a batch of the ordered list of their hashes;
 *  then each item signed separately. */
async function approveGroup(workplace, entries) {
  const payloads = entries.map((e) => fromBase64(e.request.to_sign));
  const batch = entries.length > 1;
  let assertion;
  if (workplace.credentialId) {
    const challenge = batch ? await sha256(concat(...(await Promise.all(payloads.map(sha256))))) : await sha256(payloads[0]);
    say(tr("app_confirm"));
    assertion = await webauthn.assert(workplace.rpId, workplace.credentialId, challenge);
  }
  const signatures = await Promise.all(payloads.map((p) => signWith(workplace, p)));
  if (!batch) {
    await call(`/device/v1/requests/${entries[0].request.id}/approve`, {
      token: workplace.device_token, method: "POST", body: { signature: signatures[0], webauthn: assertion },
    });
    done(entries[0], tr("app_approved", { title: entries[0].request.title }));
    return;
  }
  const answer = await call("/device/v1/requests/approve", {
    token: workplace.device_token,
    method: "POST",
    body: { items: entries.map((e, i) => ({ id: e.request.id, signature: signatures[i] })), webauthn: assertion },
  });
  // Each item has its own result: a refused one stays, with the reason on its card.
  const approved = answer.items.filter((r) => r.status === "approved").length;
  answer.items.forEach((r, i) => {
    if (r.status === "approved") done(entries[i], tr("app_approved_n", { n: approved }));
    else result(entries[i], tr("app_failed", { reason: (r.problem && r.problem.detail) || r.status }), "error");
  });
}

async function approve(entries) {
  const buttons = document.querySelectorAll("button.approve, #approve-all");
  buttons.forEach((b) => { b.disabled = true; });
  const groups = new Map();
  for (const e of entries) {
    if (!groups.has(e.workplace.device_id)) groups.set(e.workplace.device_id, []);
    groups.get(e.workplace.device_id).push(e);
  }
  try {
    for (const group of groups.values()) {
      try {
        await approveGroup(group[0].workplace, group);
      } catch (error) {
        for (const e of group) result(e, tr("app_failed", { reason: error.message }), "error");
        say(tr("app_failed", { reason: error.message }), "error");
      }
    }
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
    await refreshAll();
  }
}

async function decline(entry) {
  const reason = entry.item.querySelector(".reason").value.trim();
  try {
    await call(`/device/v1/requests/${entry.request.id}/decline`, {
      token: entry.workplace.device_token, method: "POST", body: { reason },
    });
    done(entry, tr("app_declined", { title: entry.request.title }));
  } catch (error) {
    result(entry, tr("app_failed", { reason: error.message }), "error");
  }
}

/** The clinic no longer accepts this device (revoked, or an unknown token): its
 *  requests go, and the way back (a new invitation) is shown. */
function revoked(workplace) {
  for (const e of [...pending.values()]) {
    if (e.workplace.device_id === workplace.device_id) drop(e);
  }
  workplaces = workplaces.filter((w) => w.device_id !== workplace.device_id);
  currentLost = [...currentLost, { marker: workplace, revoked: true }];
  showLost(currentLost);
  showWorkplaces();
  updateList();
}

async function refresh(workplace) {
  let requests;
  try {
    requests = await call("/device/v1/requests", { token: workplace.device_token });
  } catch (error) {
    if (error instanceof Refused && (error.status === 401 || error.status === 403)) {
      revoked(workplace);
    } else if (!(error instanceof Refused)) {
      say(tr("app_offline"), "error");
    }
    return;
  }
  const ids = new Set(requests.map((r) => r.id));
  for (const [id, e] of [...pending]) {
    if (e.workplace.device_id === workplace.device_id && !ids.has(id)) drop(e);
  }
  for (const r of requests) addRequest(r, workplace);
  updateList();
}

const refreshAll = () => Promise.all(workplaces.map(refresh));

/** Server-sent events (HTML §9.2 event stream format) read with fetch, which, unlike
 *  EventSource, can send the device's bearer token. Any event refreshes the list;
 *  the stream reconnects after a pause when it ends. */
async function listen(workplace) {
  const decoder = new TextDecoder();
  for (let pause = 1000; workplaces.includes(workplace); pause = Math.min(pause * 2, 30000)) {
    try {
      const res = await fetch("/device/v1/events", {
        headers: { Authorization: `Bearer ${workplace.device_token}`, Accept: "text/event-stream" },
        cache: "no-store",
      });
      if (res.status === 401 || res.status === 403) return revoked(workplace);
      if (!res.ok || !res.body) throw new Error(res.statusText);
      pause = 1000;
      const reader = res.body.getReader();
      let buffer = "";
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        buffer += decoder.decode(value, { stream: true });
        const blocks = buffer.split(/\r?\n\r?\n/);
        buffer = blocks.pop();
        if (blocks.some((b) => /^(data|event):/m.test(b))) refresh(workplace);
      }
    } catch {
      /* network gone: try again after the pause */
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
    await refresh(workplace);
  }
}

// -- notifications (Web Push, RFC 8030; VAPID, RFC 8292) ----------------------------

const pushSupported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

/** This browser's subscription on the app's own worker (the /app scope), made with the
 *  deployment's VAPID key when `create` and there is none. */
async function pushSubscription(create) {
  const reg = await navigator.serviceWorker.ready;
  const found = await reg.pushManager.getSubscription();
  if (found || !create) return found;
  const { public_key } = await call("/device/v1/push/vapid-public-key", { token: workplaces[0].device_token });
  return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: public_key });
}

/** Each workplace (device) pushes its requests to this browser's one subscription. */
const registerPush = (sub, targets) =>
  Promise.all(
    targets.map((w) => call("/device/v1/push-subscriptions", { token: w.device_token, method: "POST", body: sub.toJSON() })),
  );

function showPush(subscribed, text = "") {
  $("push-on").hidden = subscribed;
  $("push-off").hidden = !subscribed;
  $("push-status").textContent = text || tr(subscribed ? "app_push_is_on" : "app_push_is_off");
  $("screen-push").dataset.state = subscribed ? "on" : "off";
}

async function pushOn() {
  $("push-on").disabled = true;
  try {
    if ((await Notification.requestPermission()) !== "granted") return showPush(false, tr("app_push_denied"));
    await registerPush(await pushSubscription(true), workplaces);
    showPush(true);
    $("push-off").focus();
  } catch (error) {
    showPush(false, tr("app_failed", { reason: error.message }));
  } finally {
    $("push-on").disabled = false;
  }
}

async function pushOff() {
  $("push-off").disabled = true;
  try {
    const sub = await pushSubscription(false);
    if (sub) {
      const gone = (w) =>
        call("/device/v1/push-subscriptions", { token: w.device_token, method: "DELETE", body: { endpoint: sub.endpoint } }).catch(
          (error) => {
            if (!(error instanceof Refused && error.status === 404)) throw error;
          },
        );
      await Promise.all(workplaces.map(gone));
      await sub.unsubscribe();
    }
    showPush(false);
    $("push-on").focus();
  } catch (error) {
    showPush(true, tr("app_failed", { reason: error.message }));
  } finally {
    $("push-off").disabled = false;
  }
}

/** Show the switch once a workplace exists; a workplace enrolled while notifications
 *  are on gets them too. */
async function syncPush(fresh) {
  const screen = $("screen-push");
  screen.hidden = !pushSupported || workplaces.length === 0;
  if (screen.hidden) return;
  try {
    const sub = Notification.permission === "granted" ? await pushSubscription(false) : null;
    if (sub && fresh.length) await registerPush(sub, fresh);
    showPush(Boolean(sub));
  } catch (error) {
    showPush(false, tr("app_failed", { reason: error.message }));
  }
  screen.dataset.ready = "1";
}

// -- start --------------------------------------------------------------------------

let currentLost = [];

async function start() {
  const stored = await store.all();
  const usable = stored.filter((w) => w.privateKey && w.device_token);
  const known = new Set(usable.map((w) => w.device_id));
  currentLost = store.markersList().filter((m) => !known.has(m.device_id)).map((marker) => ({ marker, revoked: false }));
  showLost(currentLost);
  const fresh = await Promise.all(
    usable.filter((w) => !workplaces.some((x) => x.device_id === w.device_id)).map(adoptAuthenticators),
  );
  workplaces = [...workplaces, ...fresh];
  showWorkplaces();
  $("screen-requests").hidden = workplaces.length === 0;
  updateList();
  await Promise.all(fresh.map(refresh));
  fresh.forEach((w) => listen(w));
  await syncPush(fresh);
}

function installPrompt() {
  let deferred = null;
  const button = $("install");
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    deferred = event;
    button.hidden = false;
  });
  button.addEventListener("click", async () => {
    button.hidden = true;
    if (deferred) await deferred.prompt();
    deferred = null;
  });
}

function showEnroll(token) {
  if (!token) return;
  const button = $("enroll-button");
  $("screen-enroll").hidden = false;
  button.disabled = false;
  button.onclick = () => enroll(token);
  button.focus();
}

async function main() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/app/sw.js", { scope: "/app" }).catch(() => {});
  }
  installPrompt();
  canVerify = await webauthn.available().catch(() => false);
  $("approve-all").addEventListener("click", () => approve([...pending.values()]));
  $("push-on").addEventListener("click", pushOn);
  $("push-off").addEventListener("click", pushOff);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refreshAll();
  });
  showEnroll(enrollmentToken());
  // Another invitation opened in this tab (another workplace): only the fragment changes.
  window.addEventListener("hashchange", () => {
    showEnroll(enrollmentToken());
    const entry = pending.get(wanted());
    if (entry) focusRequest(entry);
    else refreshAll();
  });
  await start();
  document.body.dataset.ready = lang;
}

main().catch((error) => say(tr("app_failed", { reason: error.message }), "error"));
