// The cabinet's "Notifications on this device" (docs/notifications.md "Web Push").
// Progressive: the section stays hidden where the browser has no Push API (and the
// cabinet works without it). The subscription is made with the deployment's VAPID key
// (RFC 8292) on medsign's push worker and handed to the cabinet session
// (POST/DELETE /cabinet/push-subscriptions with the session's CSRF token).
"use strict";

(function () {
  const section = document.getElementById("push");
  if (!section || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  const texts = JSON.parse(document.getElementById("push-texts").textContent);
  const known = JSON.parse(section.dataset.endpoints || "[]");
  const status = document.getElementById("push-status");
  const on = document.getElementById("push-on");
  const off = document.getElementById("push-off");

  function show(subscribed, text) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
    status.textContent = text || (subscribed ? texts.on : texts.off);
    section.dataset.state = subscribed ? "on" : "off";
  }

  /** medsign's push worker, once active (pushManager needs an active worker). Its
   *  scope is /static/: it controls no page, it only receives pushes. */
  async function worker() {
    const reg = await navigator.serviceWorker.register("/static/push-sw.js");
    const pending = reg.installing || reg.waiting;
    if (pending && !reg.active) {
      await new Promise((resolve) => {
        pending.addEventListener("statechange", () => {
          if (pending.state === "activated") resolve();
        });
      });
    }
    return reg;
  }

  async function send(method, body) {
    const res = await fetch("/cabinet/push-subscriptions", {
      method,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": section.dataset.csrf },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (!res.ok && !(method === "DELETE" && res.status === 404)) {
      let detail = res.statusText;
      try {
        detail = (await res.json()).detail || detail;
      } catch (e) {
        /* not a problem document */
      }
      throw new Error(detail);
    }
  }

  async function turnOn() {
    on.disabled = true;
    try {
      const permission = await Notification.requestPermission();
      if (permission !== "granted") return show(false, texts.denied);
      const reg = await worker();
      const sub =
        (await reg.pushManager.getSubscription()) ||
        (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: section.dataset.key }));
      await send("POST", sub.toJSON());
      show(true);
      off.focus();
    } catch (error) {
      show(false, texts.failed.replace("{reason}", error.message));
    } finally {
      on.disabled = false;
    }
  }

  async function turnOff() {
    off.disabled = true;
    try {
      const reg = await worker();
      const sub = await reg.pushManager.getSubscription();
      if (sub) {
        await send("DELETE", { endpoint: sub.endpoint });
        await sub.unsubscribe();
      }
      show(false);
      on.focus();
    } catch (error) {
      show(true, texts.failed.replace("{reason}", error.message));
    } finally {
      off.disabled = false;
    }
  }

  on.addEventListener("click", turnOn);
  off.addEventListener("click", turnOff);
  section.hidden = false;
  worker()
    .then((reg) => reg.pushManager.getSubscription())
    .then((sub) => show(Boolean(sub && known.includes(sub.endpoint) && Notification.permission === "granted")))
    .catch(() => show(false))
    .finally(() => {
      section.dataset.ready = "1";
    });
})();
