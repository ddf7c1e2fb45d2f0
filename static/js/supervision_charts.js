// The supervision dashboard's charts: each [data-chart] element names a json_script block that
// holds the panel's spec (supervision/charts.py); Apache ECharts (static/vendor/echarts) draws
// it on a canvas. Numbers and dates are formatted for the page's language (Intl), axis ticks
// are ECharts' rounded ones, crowded labels are thinned, rotated or cut with an ellipsis.
// No inline script, no HTML tooltips (richText on the canvas): the strict CSP holds.
(function () {
  if (!window.echarts) return;
  var lang = document.documentElement.lang || "en";
  var zh = /^zh/i.test(lang);
  var FONT = 'system-ui, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif';
  var TEXT = "#1d2433";
  var MUTED = "#4b5563";
  var COLORS = ["#0b7a53", "#c2410c", "#1d4ed8", "#a21caf", "#ca8a04", "#0e7490", "#be123c"];

  var formats = {
    count: new Intl.NumberFormat(lang, { maximumFractionDigits: 0 }),
    countAxis: new Intl.NumberFormat(lang, { maximumFractionDigits: 2 }),
    money: new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
    moneyAxis: new Intl.NumberFormat(lang, { notation: "compact", maximumFractionDigits: 1 }),
    percent: new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 }),
    percentAxis: new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 })
  };
  function format(kind, value, axis) {
    if (value === null || value === undefined || value === "") return "";
    var f = formats[kind + (axis ? "Axis" : "")] || formats[kind] || formats.count;
    return f.format(Number(value));
  }

  // ISO labels from the server ("2026-11-06", "2026-11-06 14:00", "2026-11") as dates in the
  // page's language; read as UTC wall time so the browser's own zone never shifts a day.
  var dateFormats = {
    day: new Intl.DateTimeFormat(lang, { month: "short", day: "numeric", timeZone: "UTC" }),
    hour: new Intl.DateTimeFormat(lang, {
      month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false,
      timeZone: "UTC"
    }),
    month: new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", timeZone: "UTC" })
  };
  function dateLabel(kind, text) {
    var m = /^(\d{4})-(\d{2})(?:-(\d{2}))?(?: (\d{2}):00)?$/.exec(text);
    if (!m || !dateFormats[kind]) return text;
    var when = new Date(Date.UTC(+m[1], +m[2] - 1, m[3] ? +m[3] : 1, m[4] ? +m[4] : 0));
    return dateFormats[kind].format(when);
  }

  function option(spec, width) {
    var labels = spec.labels.map(function (l) { return dateLabel(spec.labelKind, l); });
    var narrow = width < 520;
    var axes = [0, 1].filter(function (i) {
      return spec.series.some(function (s) { return s.axis === i; });
    });
    var axisFormat = {};
    spec.series.forEach(function (s) { axisFormat[s.axis] = s.format; });
    var text = { color: MUTED, fontSize: narrow ? 12 : 13, fontFamily: FONT };
    var valueAxes = axes.map(function (i) {
      var kind = axisFormat[i];
      return {
        type: "value",
        position: spec.horizontal ? (i ? "top" : "bottom") : (i ? "right" : "left"),
        minInterval: kind === "count" ? 1 : 0,
        splitNumber: narrow ? 3 : 5,
        splitLine: { show: i === 0, lineStyle: { color: "#e5e7eb" } },
        axisLabel: Object.assign({
          hideOverlap: true,
          formatter: function (v) { return format(kind, v, true); }
        }, text)
      };
    });
    var crowded = labels.length > (narrow ? 6 : 14);
    var categoryAxis = {
      type: "category",
      data: labels,
      inverse: !!spec.horizontal, // the first (largest) row on top
      axisTick: { alignWithLabel: true },
      axisLabel: Object.assign(spec.horizontal ? {
        width: narrow ? 110 : 200, overflow: "truncate", ellipsis: "…", interval: 0
      } : {
        interval: "auto", hideOverlap: true, rotate: crowded ? 40 : 0,
        width: crowded ? 90 : 120, overflow: "truncate", ellipsis: "…"
      }, text)
    };
    var line = spec.kind === "line";
    var series = spec.series.map(function (s, n) {
      var secondaryLine = s.axis === 1 && !spec.horizontal;
      return {
        name: s.name,
        type: line || secondaryLine ? "line" : "bar",
        data: s.data,
        stack: spec.stacked && !secondaryLine ? "total" : undefined,
        areaStyle: line && spec.stacked ? {} : undefined,
        showSymbol: secondaryLine && s.data.length <= 40,
        smooth: false,
        barMaxWidth: 36,
        xAxisIndex: spec.horizontal ? Math.max(0, axes.indexOf(s.axis)) : 0,
        yAxisIndex: spec.horizontal ? 0 : Math.max(0, axes.indexOf(s.axis)),
        tooltip: { valueFormatter: function (v) { return format(s.format, v, false); } },
        emphasis: { focus: "series" },
        color: COLORS[n % COLORS.length]
      };
    });
    return {
      animation: false,
      color: COLORS,
      textStyle: { fontFamily: FONT, color: TEXT, fontSize: 13 },
      grid: {
        left: 8, right: axes.length > 1 && !spec.horizontal ? 8 : 16,
        top: spec.series.length > 1 ? 48 : 24, bottom: 8, containLabel: true
      },
      legend: {
        show: spec.series.length > 1, top: 0, type: "scroll",
        textStyle: { fontSize: 13, color: TEXT, fontFamily: FONT }
      },
      tooltip: {
        trigger: "axis", renderMode: "richText", confine: true,
        axisPointer: { type: line ? "line" : "shadow" },
        textStyle: { fontSize: 13, fontFamily: FONT }
      },
      xAxis: spec.horizontal ? valueAxes : categoryAxis,
      yAxis: spec.horizontal ? categoryAxis : valueAxes,
      series: series
    };
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    if (!spec || !spec.series || !spec.labels) return; // a panel without a chart
    if (spec.horizontal) {
      el.style.height = Math.max(160, 56 + 34 * spec.labels.length) + "px";
    }
    var chart = echarts.init(el, null, { renderer: "canvas", locale: zh ? "ZH" : "EN" });
    var width = el.clientWidth;
    chart.setOption(option(spec, width));
    el.setAttribute("data-chart-ready", "1");
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var now = el.clientWidth;
        if (Math.abs(now - width) < 2) return;
        var wasNarrow = width < 520;
        width = now;
        chart.resize();
        if ((width < 520) !== wasNarrow) chart.setOption(option(spec, width), true);
      }).observe(el);
    }
  }

  document.querySelectorAll("[data-chart]").forEach(draw);
})();
