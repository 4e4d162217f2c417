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

  // New account: the agency matters only for agency officials, the jurisdictions
  // covered only for legal reviewers.
  document.querySelectorAll("[data-role-form]").forEach(function (form) {
    var role = form.querySelector("select[name=role]");
    if (!role) { return; }
    var only = [["[data-official-only]", "agency_official"],
                ["[data-reviewer-only]", "legal_reviewer"]];
    only.forEach(function (pair) {
      var input = form.querySelector(pair[0]);
      if (!input) { return; }
      var wrapper = input.closest(".field") || input;
      function update() { wrapper.hidden = role.value !== pair[1]; }
      role.addEventListener("change", update);
      update();
    });
  });
})();
