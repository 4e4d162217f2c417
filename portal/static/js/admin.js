/* Admin pages, progressive enhancement only: without this file every field is shown
   and the server explains what applies. */
(function () {
  "use strict";

  // Deadline rules: show only the inputs the chosen clock kind uses.
  document.querySelectorAll("[data-rule]").forEach(function (rule) {
    var kind = rule.querySelector("[data-rule-kind]");
    if (!kind) { return; }
    function update() {
      rule.querySelectorAll("[data-for-kind]").forEach(function (part) {
        var kinds = part.getAttribute("data-for-kind").split(" ");
        part.hidden = kinds.indexOf(kind.value) === -1;
      });
    }
    kind.addEventListener("change", update);
    update();
  });

  // New account: the agency matters only for agency officials.
  document.querySelectorAll("[data-role-form]").forEach(function (form) {
    var role = form.querySelector("select[name=role]");
    var agency = form.querySelector("[data-official-only]");
    if (!role || !agency) { return; }
    var wrapper = agency.closest(".field") || agency;
    function update() { wrapper.hidden = role.value !== "agency_official"; }
    role.addEventListener("change", update);
    update();
  });
})();
