/* Backtest charts: a histogram per horizon (churned against renewed, % of each in 10-point
   bins) and the ROC curves, from the JSON the page embedded as "backtest-data". */
(function () {
  "use strict";

  var CHURNED = "#dc3545";
  var RENEWED = "#198754";
  var HORIZONS = ["#0d6efd", "#6f42c1", "#fd7e14"];

  function draw() {
    var el = document.getElementById("backtest-data");
    if (!el || !window.Chart) return;
    var data = JSON.parse(el.textContent);

    document.querySelectorAll('canvas[data-backtest="histogram"]').forEach(function (canvas) {
      var h = data.horizons[Number(canvas.dataset.index)];
      if (!h) return;
      var counts = { 0: h.churned_counts, 1: h.renewed_counts };
      new Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { label: data.churned_label, data: h.churned, backgroundColor: CHURNED },
            { label: data.renewed_label, data: h.renewed, backgroundColor: RENEWED },
          ],
        },
        options: {
          maintainAspectRatio: false,
          animation: false,
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 12 } },
            tooltip: {
              callbacks: {
                label: function (ctx) {
                  var n = counts[ctx.datasetIndex][ctx.dataIndex];
                  return ctx.dataset.label + ": " + ctx.raw + " % (" + n + ")";
                },
              },
            },
          },
          scales: {
            x: { title: { display: true, text: data.score_label } },
            y: { beginAtZero: true, title: { display: true, text: data.share_label } },
          },
        },
      });
    });

    var roc = document.querySelector('canvas[data-backtest="roc"]');
    if (roc) {
      var datasets = data.horizons.map(function (h, i) {
        return {
          label: h.label,
          data: h.roc,
          borderColor: HORIZONS[i % HORIZONS.length],
          backgroundColor: HORIZONS[i % HORIZONS.length],
          showLine: true,
          pointRadius: 0,
          borderWidth: 2,
          stepped: false,
        };
      });
      datasets.push({
        label: data.chance_label,
        data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
        borderColor: "#6c757d",
        borderDash: [6, 4],
        borderWidth: 1,
        showLine: true,
        pointRadius: 0,
      });
      new Chart(roc, {
        type: "scatter",
        data: { datasets: datasets },
        options: {
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
          scales: {
            x: { min: 0, max: 1, title: { display: true, text: data.x_label } },
            y: { min: 0, max: 1, title: { display: true, text: data.y_label } },
          },
        },
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
