/* SLA dashboard: refresh the figures every minute without reloading the page.
   Progressive enhancement only (the page works without it); no inline script, so the
   Content-Security-Policy can forbid them. portal.js ticks the countdowns every second. */
(function () {
  "use strict";

  var region = document.querySelector("[data-refresh-url]");
  if (!region || !window.fetch) { return; }
  var seconds = parseInt(region.getAttribute("data-refresh-seconds"), 10) || 60;
  var status = document.getElementById("refresh-status");
  var busy = false;

  function failed() {
    if (status && status.getAttribute("data-failed")) {
      status.textContent = status.getAttribute("data-failed");
    }
  }

  function refresh() {
    // Not while hidden, not twice at once, and never under the reader's keyboard focus.
    if (busy || document.hidden || region.contains(document.activeElement)) { return; }
    busy = true;
    region.setAttribute("aria-busy", "true");
    fetch(region.getAttribute("data-refresh-url"), {
      credentials: "same-origin",
      headers: { "Accept": "text/html" },
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 401 || response.status === 403 ||
          response.redirected || response.headers.get("X-Fragment") !== "sla-dashboard") {
        // Signed out or no longer allowed: let the full page say so.
        window.location.reload();
        return null;
      }
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.text();
    }).then(function (html) {
      if (html !== null) { region.innerHTML = html; }
    }).catch(failed).then(function () {
      busy = false;
      region.removeAttribute("aria-busy");
    });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { refresh(); }
  });
})();
