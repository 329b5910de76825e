// Where the clinician app keeps its workplaces: IndexedDB holds each enrollment (the
// non-extractable CryptoKey pair, which only structured cloning can store, the device
// token, certificate and authenticator credential id); localStorage remembers only
// which workplaces existed, so a device whose IndexedDB was cleared can say it lost
// its key instead of silently forgetting the workplace.

const DB_NAME = "medsign-clinician";
const STORE = "workplaces";
const MARKERS = "medsign.clinician.workplaces";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "device_id" });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

/** Every enrolled workplace on this device. */
export const all = () => run("readonly", (s) => s.getAll());

/** Keep (or update) one workplace; remember that it exists. */
export async function put(workplace) {
  await run("readwrite", (s) => s.put(workplace));
  const markers = markersList().filter((m) => m.device_id !== workplace.device_id);
  markers.push({ device_id: workplace.device_id, label: workplace.label });
  localStorage.setItem(MARKERS, JSON.stringify(markers));
}

/** Forget a workplace entirely. */
export async function remove(deviceId) {
  await run("readwrite", (s) => s.delete(deviceId));
  localStorage.setItem(MARKERS, JSON.stringify(markersList().filter((m) => m.device_id !== deviceId)));
}

/** The workplaces this device was enrolled for: [{device_id, label}]. */
export function markersList() {
  try {
    const parsed = JSON.parse(localStorage.getItem(MARKERS) || "[]");
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}
