/* 挂图作战 charts (Apache ECharts from our static files). Every bar and point links to the list
   of the items behind it, as the figures on the page do. The data is rendered by the server
   into <script id="chart-data" type="application/json">. */
(function () {
  "use strict";
  // Empty filter fields are left out of the query, so the URL holds exactly the filters chosen
  // and can be handed to the stats API as it is.
  var form = document.querySelector(".filter-form");
  if (form) {
    form.addEventListener("submit", function () {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value === "") { el.disabled = true; }
      });
    });
    // Back to a page whose fields were disabled on submit (bfcache): enable them again.
    window.addEventListener("pageshow", function () {
      Array.prototype.forEach.call(form.elements, function (el) { el.disabled = false; });
    });
  }

  var source = document.getElementById("chart-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var charts = [];
  var colors = { created: "#0b5cad", closed: "#2f9e44", overdue_at_month_end: "#6b0f1a", due: "#5c7cfa", overdue: "#6b0f1a" };

  function draw(id, option, series) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption(option);
    chart.on("click", function (p) {
      var link = series[p.seriesIndex] && series[p.seriesIndex].links[p.dataIndex];
      if (link) { window.location.href = link; }
    });
    charts.push(chart);
  }

  var trend = data.trend;
  draw("trend-chart", {
    color: trend.series.map(function (s) { return colors[s.key]; }),
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: trend.months },
    yAxis: { type: "value", minInterval: 1 },
    series: trend.series.map(function (s) {
      return { name: s.name, type: s.key === "overdue_at_month_end" ? "line" : "bar", data: s.data, cursor: "pointer" };
    })
  }, trend.series);

  var ranking = data.ranking;
  draw("ranking-chart", {
    color: ranking.series.map(function (s) { return colors[s.key]; }),
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: 0 },
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    // Worst first, as the ranking table: the first unit at the top.
    yAxis: { type: "category", data: ranking.units, inverse: true, axisLabel: { width: 120, overflow: "truncate" } },
    series: ranking.series.map(function (s) { return { name: s.name, type: "bar", data: s.data, cursor: "pointer" }; })
  }, ranking.series);

  // Charts follow their box: window resizes, tablet rotation, grid reflow.
  if (typeof ResizeObserver !== "undefined") {
    var observer = new ResizeObserver(function () { charts.forEach(function (c) { c.resize(); }); });
    charts.forEach(function (c) { observer.observe(c.getDom()); });
  } else {
    window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  }
})();

// The instruction picker: as the viewer types a 文号 or title, fetch the matching instructions they
// may see into the datalist (the server renders the most recent ones; this reaches the rest).
(function () {
  "use strict";
  var list = document.getElementById("instruction-options");
  var input = document.querySelector('input[name="instruction"]');
  if (!list || !input || !window.fetch) { return; }
  var timer = null;
  input.addEventListener("input", function () {
    var q = input.value.trim();
    if (!q || /^\d+$/.test(q)) { return; }  // an id chosen from the list, or nothing typed
    clearTimeout(timer);
    timer = setTimeout(function () {
      fetch(list.dataset.url + "?q=" + encodeURIComponent(q), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { if (html) { list.innerHTML = html; } });
    }, 250);
  });
})();
