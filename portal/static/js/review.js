/* Reviewer's workspace: small aids to the bulk decision form. Progressive enhancement
   only (the server checks everything); no inline script, so the Content-Security-Policy
   can forbid them. portal.js already does select-all and the countdowns. */
(function () {
  "use strict";

  var form = document.getElementById("decide-form");
  if (!form) { return; }
  var decision = document.getElementById("decide-decision");
  var reason = document.getElementById("decide-reason");
  var counter = document.getElementById("selected-count");

  function update() {
    // "No action" needs a reason: say so before the server has to.
    if (decision && reason) {
      var needed = decision.value === "no_action";
      reason.required = needed;
      reason.setAttribute("aria-required", needed ? "true" : "false");
    }
    // How many items are ticked on this page, announced politely.
    if (counter && counter.getAttribute("data-template")) {
      var ticked = form.querySelectorAll('input[type=checkbox][name="item"]:checked').length;
      counter.textContent = counter.getAttribute("data-template").replace("{n}", String(ticked));
    }
  }

  // Changes bubble up to the form, including select-all (after portal.js ticks the boxes).
  form.addEventListener("change", update);
  update();
})();
