// medsign push service worker (docs/notifications.md "Web Push"). The cabinet
// registers it as is; the clinician app's worker (/app/sw.js) imports it.
// Shows each push message and posts its receipt back: the receipt is the push
// channel's delivery report (push services give none), so a message whose receipt
// does not arrive before its deadline goes out on the next channel instead.
// A click opens the message's page (its "url", on this origin only) in a window of
// ours that is already open, else in a new one (W3C Notifications API, Service Workers).
"use strict";

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { title: "medsign", body: event.data ? event.data.text() : "" };
  }
  const shown = self.registration.showNotification(data.title || "medsign", {
    body: data.body || "",
    lang: data.lang || undefined,
    dir: "auto",
    tag: data.receipt ? data.receipt.ref : undefined,
    data: { url: data.url || "" },
  });
  const receipt = data.receipt
    ? fetch("/api/v1/notifications/receipts/push", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(data.receipt),
        credentials: "omit",
      }).catch(() => undefined)
    : Promise.resolve();
  event.waitUntil(Promise.all([shown, receipt]));
});

/** The page a notification opens: its url when it is on our origin, else "/". */
function pushTarget(data) {
  try {
    const url = new URL((data && data.url) || "/", self.location.origin);
    if (url.origin === self.location.origin) return url.href;
  } catch (e) {
    /* not a URL */
  }
  return new URL("/", self.location.origin).href;
}

async function openPushTarget(target) {
  const path = new URL(target).pathname;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((c) => new URL(c.url).pathname === path);
  if (!open) return self.clients.openWindow(target);
  const focused = await open.focus();
  if (open.url !== target && "navigate" in open) {
    // Only a window this worker controls can be navigated; another keeps its page.
    return open.navigate(target).catch(() => focused);
  }
  return focused;
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openPushTarget(pushTarget(event.notification.data)));
});
