// The idle lock, on top of the server's: after the idle time without a key or a touch,
// the page is covered and asks the password again; the form being typed stays where it
// is. The password is sent to /unlock (the server renews the session's cookie); the
// page's form token stays valid. Without this script the server locks the session all
// the same, and a form sent then is kept in its lock page.
(function () {
  "use strict";
  var body = document.body;
  if (!body || body.getAttribute("data-signed-in") !== "yes") return;
  var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "600", 10);
  var overlay = document.getElementById("lock");
  var form = document.getElementById("unlock-form");
  var error = document.getElementById("unlock-error");
  var password = document.getElementById("unlock-password");
  if (!overlay || !form || !(idleSeconds > 0)) return;
  var last = Date.now();
  function active() { if (overlay.hidden) last = Date.now(); }
  ["keydown", "pointerdown", "input", "scroll"].forEach(function (type) {
    document.addEventListener(type, active, { passive: true, capture: true });
  });
  setInterval(function () {
    if (overlay.hidden && Date.now() - last >= idleSeconds * 1000) {
      overlay.hidden = false;
      password.value = "";
      password.focus();
    }
  }, 1000);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new URLSearchParams(new FormData(form));
    fetch("/unlock", { method: "POST", body: data, credentials: "same-origin", headers: { "Accept": "text/plain" } })
      .then(function (response) {
        return response.text().then(function (text) { return { ok: response.ok, text: text }; });
      })
      .then(function (result) {
        if (result.ok) {
          overlay.hidden = true;
          error.hidden = true;
          last = Date.now();
        } else {
          error.textContent = result.text || "That did not unlock the page.";
          error.hidden = false;
          password.value = "";
          password.focus();
        }
      })
      .catch(function () {
        error.textContent = "Stipple cannot be reached: check the network and try again.";
        error.hidden = false;
      });
  });
})();

// Buttons that print the page (a report); the style sheet leaves the forms out of print.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  // A form that must be confirmed (an erasure) says what it does first.
  Array.prototype.forEach.call(document.querySelectorAll("form[data-confirm]"), function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
})();

// A rebuild's page follows its progress live (Server-Sent Events); without the script
// the page shows the state when it was loaded (reload it to see more).
(function () {
  "use strict";
  var box = document.getElementById("rebuild");
  if (!box || !window.EventSource) return;
  var source = new EventSource(box.getAttribute("data-events"));
  function set(id, text) { var node = document.getElementById(id); if (node) node.textContent = text; }
  function show(event) {
    var state = JSON.parse(event.data);
    document.getElementById("rebuild-bar").value = state.percent;
    set("rebuild-percent", state.percent);
    set("rebuild-done", state.done);
    set("rebuild-total", state.total);
    set("rebuild-unit", state.unit);
    set("rebuild-rate", state.rate);
    set("rebuild-eta", state.eta);
    set("rebuild-phase", state.phase);
    if (state.finished) {
      source.close();
      var summary = document.getElementById("rebuild-summary"), failure = document.getElementById("rebuild-failure");
      if (state.failure) { failure.textContent = state.failure; failure.hidden = false; }
      else { summary.textContent = state.summary; summary.hidden = false; }
      box.setAttribute("data-finished", "yes");
    }
  }
  source.addEventListener("progress", show);
  source.addEventListener("done", show);
  source.onerror = function () { if (box.getAttribute("data-finished") === "yes") source.close(); };
})();

// A form's button waits for the answer once pressed, so that a double tap sends it once
// (the server records a recording form sent twice only once all the same: its `_once`
// key). Back to a page from the browser's cache, the buttons work again.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.id === "unlock-form" || (form.getAttribute("method") || "").toLowerCase() !== "post") return;
    setTimeout(function () {
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (button) { button.disabled = true; });
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("button[type=submit][disabled]"), function (button) { button.disabled = false; });
  });
})();
