// A small DER encoder (ITU-T X.690 §8, §10) and the PKCS#10 certificate request
// (RFC 2986) a clinician device sends to enroll: proof that it holds its P-256 key.
// No external library; runs in browsers and in Node (globalThis.crypto.subtle).

const OID_ECDSA_SHA256 = "1.2.840.10045.4.3.2"; // RFC 5758 §3.2
const OID_COMMON_NAME = "2.5.4.3"; // X.520

/** The DER length octets of `n` (X.690 §8.1.3: short form below 128, else long). */
export function derLength(n) {
  if (n < 0x80) return [n];
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

/** One TLV: `tag`, the length of `content`, `content`. */
export function tlv(tag, content) {
  const body = content instanceof Uint8Array ? content : Uint8Array.from(content);
  const head = [tag, ...derLength(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** The concatenation of byte arrays. */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const sequence = (...items) => tlv(0x30, concat(...items));
export const set = (...items) => tlv(0x31, concat(...items));
export const utf8String = (text) => tlv(0x0c, new TextEncoder().encode(text));
export const bitString = (bytes) => tlv(0x03, concat(Uint8Array.of(0), bytes)); // 0 unused bits

/** A non-negative INTEGER from big-endian bytes, minimal (X.690 §8.3.2). */
export function unsignedInteger(bytes) {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  let body = bytes.slice(start);
  if (body.length === 0) body = Uint8Array.of(0);
  if (body[0] & 0x80) body = concat(Uint8Array.of(0), body); // keep it positive
  return tlv(0x02, body);
}

/** An OBJECT IDENTIFIER from dotted text (X.690 §8.19). */
export function objectIdentifier(dotted) {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0] + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const groups = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f));
    out.push(...groups);
  }
  return tlv(0x06, out);
}

/** WebCrypto's ECDSA signature (r‖s, IEEE P1363) as DER ECDSA-Sig-Value (RFC 3279 §2.2.3). */
export function ecdsaRawToDer(raw) {
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.slice(0, half)), unsignedInteger(raw.slice(half)));
}

/** A Name with one common name (RFC 5280 §4.1.2.4). */
export function nameWithCommonName(commonName) {
  return sequence(set(sequence(objectIdentifier(OID_COMMON_NAME), utf8String(commonName))));
}

/** PEM text of DER `bytes` under `label` (RFC 7468). */
export function pem(label, bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  const lines = btoa(binary).match(/.{1,64}/g) || [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * A PKCS#10 CertificationRequest (RFC 2986 §4) for `keyPair` (WebCrypto ECDSA P-256),
 * signed with its private key (ecdsa-with-SHA256), as PEM. The server names the
 * subject in the certificate; `commonName` only labels the request.
 */
export async function buildCsr(keyPair, commonName) {
  const subtle = globalThis.crypto.subtle;
  const spki = new Uint8Array(await subtle.exportKey("spki", keyPair.publicKey));
  const info = sequence(
    unsignedInteger(Uint8Array.of(0)), // version v1 (0)
    nameWithCommonName(commonName),
    spki, // SubjectPublicKeyInfo, already DER
    tlv(0xa0, new Uint8Array(0)), // attributes [0] IMPLICIT SET OF: empty
  );
  const raw = new Uint8Array(await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keyPair.privateKey, info));
  const request = sequence(info, sequence(objectIdentifier(OID_ECDSA_SHA256)), bitString(ecdsaRawToDer(raw)));
  return pem("CERTIFICATE REQUEST", request);
}

// -- reading (just enough to show a certificate's subject) -----------------------

/** The TLV at `at` in `bytes`: {tag, start (of content), end}. */
export function readTlv(bytes, at) {
  const tag = bytes[at];
  let len = bytes[at + 1];
  let start = at + 2;
  if (len & 0x80) {
    const count = len & 0x7f;
    len = 0;
    for (let i = 0; i < count; i++) len = len * 256 + bytes[start + i];
    start += count;
  }
  return { tag, start, end: start + len };
}

function children(bytes, node) {
  const out = [];
  for (let at = node.start; at < node.end; ) {
    const child = readTlv(bytes, at);
    out.push(child);
    at = child.end;
  }
  return out;
}

function oidText(bytes, node) {
  const body = bytes.slice(node.start, node.end);
  const arcs = [Math.floor(body[0] / 40), body[0] % 40];
  let value = 0;
  for (const b of body.slice(1)) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(value);
      value = 0;
    }
  }
  return arcs.join(".");
}

const NAMES = { "2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title" };

/** The subject attributes of a DER certificate (RFC 5280 §4.1) as {CN, O, OU, ...}. */
export function certificateSubject(der) {
  const cert = readTlv(der, 0);
  const tbs = children(der, cert)[0];
  const fields = children(der, tbs);
  const offset = fields[0].tag === 0xa0 ? 1 : 0; // explicit version
  const subject = fields[offset + 4];
  const out = {};
  for (const rdn of children(der, subject)) {
    for (const atv of children(der, rdn)) {
      const [type, value] = children(der, atv);
      const key = NAMES[oidText(der, type)];
      if (key) out[key] = new TextDecoder().decode(der.slice(value.start, value.end));
    }
  }
  return out;
}

/** DER bytes of the first PEM block in `text`. */
export function pemToDer(text) {
  const body = text.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}
