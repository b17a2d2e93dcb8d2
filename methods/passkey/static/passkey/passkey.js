// Passkeys: asks the browser to create a key (setup) or to sign the challenge (reset), then
// sends the browser's answer with the form. The options come from the page's JSON block.
(function () {
  "use strict";

  function toBytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
  }

  function toText(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    bytes.forEach((b) => { binary += String.fromCharCode(b); });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    const options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = (json.excludeCredentials || []).map((c) =>
      Object.assign({}, c, { id: toBytes(c.id) }));
    return options;
  }

  function requestOptions(json) {
    const options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = (json.allowCredentials || []).map((c) =>
      Object.assign({}, c, { id: toBytes(c.id) }));
    return options;
  }

  function answer(credential) {
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return JSON.stringify({
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: response,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null,
    });
  }

  function start() {
    const form = document.getElementById("passkey-form");
    const data = document.getElementById("passkey-options");
    if (!form || !data) {
      return;
    }
    if (!window.PublicKeyCredential || !navigator.credentials) {
      document.getElementById("passkey-unsupported").hidden = false;
      form.hidden = true;
      return;
    }
    const status = document.getElementById("passkey-status");
    form.addEventListener("submit", async (event) => {
      if (form.dataset.answered) {
        return;
      }
      event.preventDefault();
      if (form.dataset.mode === "create" && (!form.checkValidity() || nameTaken(form))) {
        form.submit(); // the server names what is missing or taken, next to the field
        return;
      }
      status.hidden = true;
      const json = JSON.parse(data.textContent);
      try {
        const credential = form.dataset.mode === "create"
          ? await navigator.credentials.create({ publicKey: creationOptions(json) })
          : await navigator.credentials.get({ publicKey: requestOptions(json) });
        form.elements.credential.value = answer(credential);
        form.dataset.answered = "1";
        form.submit();
      } catch (error) {
        // SecurityError: the browser refuses this site's passkey domain on this address.
        // InvalidStateError (adding a key): the authenticator already holds one of this
        // account's keys (the page lists them as keys it must not make again).
        const name = error && error.name;
        status.textContent = name === "SecurityError" ? status.dataset.wrongAddress
          : name === "InvalidStateError" && status.dataset.alreadyThere
            ? status.dataset.alreadyThere : status.dataset.failed;
        // The page's earlier refusal (a name taken) no longer holds: only this one shows.
        const summary = document.getElementById("error-summary");
        if (summary) {
          summary.hidden = true;
        }
        form.querySelectorAll(".errorlist").forEach((list) => { list.hidden = true; });
        if (form.elements.name) {
          form.elements.name.removeAttribute("aria-invalid");
        }
        status.hidden = false;
        status.focus();
      }
    });
  }

  // A name as two are told apart, as the server does (methods/passkey/views.py comparable,
  // INVISIBLE and plain_name).
  const INVISIBLE =
    /[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2065\u2800\u3164\ufe00-\ufe0f\uffa0\ufff0-\ufff8\u{e0000}-\u{e0fff}]/gu;
  function comparable(name) {
    return name
      .normalize("NFKC")
      .replace(INVISIBLE, "")
      .replace(/[\p{Cc}\p{Zl}\p{Zp}]/gu, " ")
      .replace(/\p{Cf}/gu, "")
      .split(/\s+/)
      .filter(Boolean)
      .join(" ")
      .toLowerCase();
  }

  // Whether the person already has a key of the name typed (the server refuses it too).
  function nameTaken(form) {
    const taken = document.getElementById("passkey-taken-names");
    const name = form.elements.name && comparable(form.elements.name.value);
    return Boolean(taken && name) && JSON.parse(taken.textContent).includes(name);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
