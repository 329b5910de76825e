// The clinician app's service worker (W3C Service Workers): it caches the app shell
// only. Requests, documents and the device API always go to the network; nothing a
// clinic sends is ever stored by this worker. Push messages (a new signing request)
// are shown and receipted by medsign's push handlers, imported here: one worker on
// the /app scope (docs/clinician-devices.md "Notifications").

importScripts("/static/push-sw.js");

const CACHE = "medsign-app-shell-v2";
const SHELL = [
  "/app",
  "/static/app.css",
  "/static/app/app.css",
  "/static/app/app.js",
  "/static/app/der.js",
  "/static/app/store.js",
  "/static/app/webauthn.js",
  "/static/viewer.js", // loaded only to zoom (pdf.js); cached for offline use
  "/static/app/icon.svg",
  "/static/app/icon-192.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && url.pathname === "/app") {
    // Network first (the page carries the chosen language); the cached shell offline.
    event.respondWith(fetch(event.request).catch(() => caches.match("/app")));
    return;
  }
  if (SHELL.includes(url.pathname)) {
    // Stale-while-revalidate for the shell's own files.
    event.respondWith(
      caches.open(CACHE).then(async (cache) => {
        const cached = await cache.match(url.pathname);
        const fresh = fetch(event.request).then((res) => {
          if (res.ok) cache.put(url.pathname, res.clone());
          return res;
        }).catch(() => cached);
        return cached || fresh;
      }),
    );
  }
});
