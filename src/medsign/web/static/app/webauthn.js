// WebAuthn (W3C Web Authentication Level 2) for the clinician app: register the
// device's platform authenticator, and get a user-verified assertion whose challenge
// is the SHA-256 of what is approved. JSON shapes are those of
// PublicKeyCredential.toJSON() (binary members base64url, WebAuthn L3 §5.1).

export function toBase64url(buffer) {
  let binary = "";
  for (const b of new Uint8Array(buffer)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

/** Whether this device has a user-verifying platform authenticator (§5.1.7). */
export async function available() {
  return Boolean(
    window.PublicKeyCredential &&
      (await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()),
  );
}

/** navigator.credentials.create() from the server's JSON options; the result as JSON. */
export async function create(options) {
  const publicKey = {
    ...options,
    challenge: fromBase64url(options.challenge),
    user: { ...options.user, id: fromBase64url(options.user.id) },
    excludeCredentials: (options.excludeCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
  };
  const credential = await navigator.credentials.create({ publicKey });
  const response = credential.response;
  return asJson(credential, {
    attestationObject: toBase64url(response.attestationObject),
    transports: response.getTransports ? response.getTransports() : [],
  });
}

/** A PublicKeyCredential as JSON, with its response's own members in `response`. */
function asJson(credential, response) {
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response: { clientDataJSON: toBase64url(credential.response.clientDataJSON), ...response },
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
  };
}

/** A user-verified assertion over `challenge` (bytes) by the credential `credentialId`
 *  (or by any of a list of them: the authenticator answers with the one it holds). */
export async function assert(rpId, credentialId, challenge) {
  const credential = await navigator.credentials.get({
    publicKey: {
      challenge,
      rpId,
      allowCredentials: [].concat(credentialId).map((id) => ({ type: "public-key", id: fromBase64url(id) })),
      userVerification: "required",
      timeout: 120000,
    },
  });
  const response = credential.response;
  return asJson(credential, {
    authenticatorData: toBase64url(response.authenticatorData),
    signature: toBase64url(response.signature),
    userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined,
  });
}
