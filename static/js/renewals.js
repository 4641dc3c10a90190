/* Renewals pages: stacked pipeline bars, lost ARR by reason, and the close form showing
   only the fields the chosen outcome needs. Every page works without it. */
(function () {
  "use strict";

  var COLOURS = {
    won: "#198754",
    commit: "#20c997",
    probable: "#0d6efd",
    at_risk: "#ffc107",
    churn: "#fd7e14",
    lost: "#dc3545",
  };

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function money(value) {
    return new Intl.NumberFormat(document.documentElement.lang || undefined, {
      maximumFractionDigits: 0,
    }).format(value);
  }

  function stacked(canvas, data) {
    var datasets = data.datasets.map(function (ds) {
      return {
        label: ds.label,
        data: ds.key === "lost" ? ds.data.map(function (v) { return -v; }) : ds.data,
        backgroundColor: COLOURS[ds.key] || "#6c757d",
        stack: "arr",
        order: 1,
      };
    });
    datasets.push({
      type: "line",
      label: canvas.dataset.weightedLabel || "Risk-weighted forecast",
      data: data.weighted,
      borderColor: "#212529",
      backgroundColor: "#212529",
      pointRadius: 3,
      tension: 0.2,
      order: 0, // drawn over the bars
    });
    return new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: datasets },
      options: {
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + money(Math.abs(ctx.raw)); } } },
        },
        scales: { x: { stacked: true }, y: { stacked: true, ticks: { callback: money } } },
      },
    });
  }

  function bars(canvas, data) {
    return new Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: [{ data: data.data, backgroundColor: COLOURS.lost }] },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: false } },
        scales: { x: { ticks: { callback: money } } },
      },
    });
  }

  function drawAll() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-renewals-chart]").forEach(function (canvas) {
      var data = readJson(canvas.dataset.renewalsChart);
      if (!data) return;
      if (canvas.dataset.kind === "bars") bars(canvas, data);
      else stacked(canvas, data);
    });
  }

  // Close form: a churn has no next term; a flat renewal keeps licenses and price.
  function syncCloseForm(form) {
    var checked = form.querySelector("input[name=outcome]:checked");
    var outcome = checked ? checked.value : "";
    var term = form.querySelector(".js-next-term");
    if (term) term.hidden = outcome === "churned";
    ["quantity", "unit_price"].forEach(function (name) {
      var input = form.querySelector("input[name=" + name + "]");
      if (input) input.readOnly = outcome === "renewed";
    });
  }

  document.addEventListener("change", function (e) {
    if (e.target.matches("[data-testid=close-form] input[name=outcome]")) syncCloseForm(e.target.form);
  });

  function ready() {
    drawAll();
    document.querySelectorAll("form[data-testid=close-form]").forEach(syncCloseForm);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
