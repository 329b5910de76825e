// medsign push service worker (docs/notifications.md "Web Push").
// Shows each push message and posts its receipt back: the receipt is the push
// channel's delivery report (push services give none), so a message whose receipt
// does not arrive before its deadline goes out on the next channel instead.
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

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow("/"));
});
