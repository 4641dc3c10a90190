/* Metric charts: each <canvas data-chart="ID" data-kind="line|waterfall"> draws the JSON
   that the page embedded with json_script under that ID. Benchmarks are dashed lines. */
(function () {
  "use strict";

  var PALETTE = ["#0d6efd", "#198754", "#dc3545", "#6f42c1", "#fd7e14", "#20c997"];
  var BENCH = "#6c757d";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function tickFormat(unit) {
    var fmt = new Intl.NumberFormat(document.documentElement.lang || undefined, {
      maximumFractionDigits: unit === "count" ? 0 : 1,
    });
    return function (value) {
      return fmt.format(value) + (unit === "percent" ? " %" : "");
    };
  }

  function lineChart(canvas, data) {
    var datasets = data.datasets.map(function (ds, i) {
      var colour = PALETTE[i % PALETTE.length];
      return {
        label: ds.label,
        data: ds.data,
        borderColor: colour,
        backgroundColor: colour,
        tension: 0.25,
        spanGaps: true,
        pointRadius: data.labels.length > 40 ? 0 : 2,
      };
    });
    (data.benchmarks || []).forEach(function (b) {
      datasets.push({
        label: b.label + " (" + b.value + ")",
        data: data.labels.map(function () { return b.value; }),
        borderColor: BENCH,
        borderWidth: 1,
        borderDash: [6, 4],
        pointRadius: 0,
        fill: false,
      });
    });
    return new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: datasets },
      options: {
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { ticks: { maxTicksLimit: 8, maxRotation: 0 } },
          y: { ticks: { callback: tickFormat(data.unit) } },
        },
      },
    });
  }

  // Movements are small beside the totals: start the axis near the lowest running total so
  // they stay visible (the totals' bars are then cut, as in any zoomed waterfall).
  function waterfallMin(data) {
    var ends = [];
    data.bars.forEach(function (bar, i) {
      if (data.kinds[i] === "total") ends.push(bar[1]);
      else ends.push(bar[0], bar[1]);
    });
    var lo = Math.min.apply(null, ends);
    var hi = Math.max.apply(null, ends);
    var spread = hi - lo;
    if (lo <= 0 || spread === 0 || spread > lo * 0.5) return 0;
    return Math.max(0, lo - spread * 2);
  }

  function waterfall(canvas, data) {
    var colours = { total: "#6c757d", gain: "#198754", loss: "#dc3545" };
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [{
          data: data.bars,
          backgroundColor: data.kinds.map(function (k) { return colours[k]; }),
        }],
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var bar = ctx.raw;
                var fmt = tickFormat("money");
                var kind = data.kinds[ctx.dataIndex];
                return kind === "total" ? fmt(bar[1]) : fmt(bar[1] - bar[0]);
              },
            },
          },
        },
        scales: { y: { min: waterfallMin(data), ticks: { callback: tickFormat("money") } } },
      },
    });
  }

  function drawAll() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var data = readJson(canvas.dataset.chart);
      if (!data) return;
      if (canvas.dataset.kind === "waterfall") waterfall(canvas, data);
      else lineChart(canvas, data);
    });
    if (window.bootstrap) {
      document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) {
        bootstrap.Tooltip.getOrCreateInstance(el);
      });
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", drawAll);
  else drawAll();
})();
