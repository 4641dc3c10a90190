/* Small progressive enhancements; every page works without them. */
(function () {
  "use strict";

  if (window.htmx) {
    // Invalid form posts answer 400 with the re-rendered fragment: show it, do not drop it.
    htmx.config.responseHandling.unshift({ code: "400", swap: true, error: false });
  }

  // Subscriptions: the months field only matters for an "every N months" billing period.
  function syncCustomMonths(select) {
    var form = select.form;
    var wrap = form && form.querySelector(".js-custom-months");
    if (wrap) wrap.hidden = select.value !== "custom";
  }
  document.addEventListener("change", function (e) {
    if (e.target.matches("select[data-billing-period]")) syncCustomMonths(e.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-billing-period]").forEach(syncCustomMonths);
  });

  // Only one task action pop-over open at a time; Escape or a click elsewhere closes it.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.task-action[open]").forEach(function (d) {
      if (!d.contains(e.target)) d.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") {
      document.querySelectorAll("details.task-action[open]").forEach(function (d) {
        d.removeAttribute("open");
      });
    }
  });
})();
