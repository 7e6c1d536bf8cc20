// Passkeys: the page's form carries WebAuthn options from the server (data-webauthn-options).
// "create" registers a passkey, "get" signs in with one, and "conditional" also offers the
// passkeys in the username field's autofill. The browser's answer is posted in the `credential`
// field of the same form; the server verifies everything.
"use strict";

(function () {
  const form = document.querySelector("form[data-webauthn]");
  if (!form) return;
  const mode = form.dataset.webauthn;
  const options = JSON.parse(form.dataset.webauthnOptions);
  const field = form.querySelector("input[name=credential]");
  const problem = document.getElementById("webauthn-problem");
  const start = form.querySelector("[data-webauthn-start]");
  let pending = null;

  function show(message) {
    if (problem) {
      problem.textContent = message;
      problem.hidden = false;
    }
  }

  if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
    show(problem ? problem.dataset.unsupported : "");
    if (start) start.disabled = true;
    return;
  }

  async function ceremony(mediation) {
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const credential = mode === "create"
        ? await navigator.credentials.create({
            publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
            signal: pending.signal,
          })
        : await navigator.credentials.get({
            publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
            mediation: mediation,
            signal: pending.signal,
          });
      field.value = JSON.stringify(credential.toJSON());
      form.submit();
    } catch (error) {
      // The autofill request fails quietly: the person did not ask for anything yet.
      if (mediation !== "conditional" && error.name !== "AbortError" && problem) {
        show(problem.dataset.failed);
      }
    }
  }

  if (start) {
    start.addEventListener("click", function (event) {
      event.preventDefault();
      ceremony("optional");
    });
  }
  if (mode === "conditional" && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
      if (available) ceremony("conditional");
    });
  }
})();
