/* Ordered inline formsets of the rule and playbook editors: add a row, move rows, and
   number their hidden ORDER fields in page order when the form is sent. Without
   JavaScript the rows keep their order and the "Remove" boxes still work. */
(function () {
  "use strict";

  function rows(container) {
    return Array.prototype.filter.call(container.children, function (el) {
      return el.classList.contains("formset-row");
    });
  }

  function renumber(container) {
    rows(container).forEach(function (row, i) {
      var order = row.querySelector("input[name$='-ORDER']");
      if (order) order.value = i + 1;
    });
  }

  document.addEventListener("click", function (e) {
    var add = e.target.closest("[data-formset-add]");
    if (add) {
      var prefix = add.getAttribute("data-formset-add");
      var container = document.querySelector("[data-formset='" + prefix + "']");
      var template = document.getElementById(container.getAttribute("data-template"));
      var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
      var index = parseInt(total.value, 10);
      var html = template.innerHTML.replace(/__prefix__/g, String(index));
      container.insertAdjacentHTML("beforeend", html);
      total.value = index + 1;
      renumber(container);
      if (window.htmx) htmx.process(container.lastElementChild);
      var first = container.lastElementChild.querySelector("select, input:not([type=hidden]), textarea");
      if (first) first.focus();
      return;
    }
    var move = e.target.closest(".js-move");
    if (move) {
      var row = move.closest(".formset-row");
      var sibling = move.getAttribute("data-dir") === "up" ? row.previousElementSibling : row.nextElementSibling;
      if (sibling && sibling.classList.contains("formset-row")) {
        if (move.getAttribute("data-dir") === "up") row.parentNode.insertBefore(row, sibling);
        else row.parentNode.insertBefore(sibling, row);
        renumber(row.parentNode);
        move.focus();
      }
    }
  });

  document.addEventListener("submit", function (e) {
    e.target.querySelectorAll("[data-formset]").forEach(renumber);
  }, true);
})();
