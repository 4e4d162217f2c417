/* Progressive enhancement only: every page works without this file. No inline scripts,
   so the Content-Security-Policy can forbid them. */
(function () {
  "use strict";

  // Language switch and filters that submit on change.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { el.form.submit(); });
  });

  // Live countdowns: <time class="countdown" datetime="ISO" data-due="ISO">.
  function format(seconds) {
    var sign = seconds < 0 ? "−" : "";
    var s = Math.abs(Math.round(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600),
        m = Math.floor((s % 3600) / 60), sec = s % 60;
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return sign + (d ? d + "d " : "") + two(h) + ":" + two(m) + ":" + two(sec);
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      if (el.dataset.frozen) { return; }
      var due = Date.parse(el.dataset.due);
      if (!isNaN(due)) { el.textContent = format((due - now) / 1000); }
    });
  }
  // Always ticking: rows with countdowns can arrive later (the dashboard refreshes its
  // table in place).
  tick();
  setInterval(tick, 1000);

  // Select-all checkboxes: <input type=checkbox data-select-all="name-of-boxes">.
  document.querySelectorAll("[data-select-all]").forEach(function (master) {
    var name = master.dataset.selectAll;
    master.addEventListener("change", function () {
      document.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = master.checked;
      });
    });
  });

  // A form that came back with errors: start at their summary (it links to each field),
  // or else at what the page marks (a preview's rejected lines), not at the top of the
  // page, so keyboard and screen-reader users hear them first.
  var summary = document.querySelector(".error-summary") ||
                document.querySelector("[data-focus-on-load]");
  if (summary) { summary.focus(); }

  // Buttons that ask before doing something that cannot be undone.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (!window.confirm(el.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
