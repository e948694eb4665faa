// Charts the console draws from the API's answers: costs (or unit costs) over time in the explorer and on
// dashboards, a metric's daily values, and engineering events as markers. Amounts stay exact decimal strings
// (`exact` on each dataset, for tooltips and tests); Chart.js gets numbers only to place bars and lines.
"use strict";

const CostCharts = (() => {
  const C = Costlake;

  const METRIC_LABELS = {
    EffectiveCost: "Effective cost", BilledCost: "Billed cost", ListCost: "List cost", ContractedCost: "Contracted cost",
  };
  // Tableau 10 (distinguishable side by side, also for most colour-blind readers), then two more.
  const PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#499894", "#b6992d", "#d4a6c8",
  ];
  const OTHER_COLOR = "#c9cdd3";
  const EVENT_COLORS = {
    deploy: "#1d4ed8", incident: "#b91c1c", release: "#7c3aed", purchase: "#047857", provider: "#b45309",
    business: "#0e7490", other: "#4b5563",
  };
  const CATEGORY_LABELS = {
    deploy: "Deploy", incident: "Incident", release: "Release", purchase: "Purchase", provider: "Provider",
    business: "Business", other: "Other",
  };

  if (window.Chart) {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#4b5563";
  }

  // --- periods and groups -------------------------------------------------------------------------------------------
  function periodLabel(period, granularity) {
    if (!period) return "Whole range";
    const date = C.parseDate(period);
    if (!date) return period;
    const opts = { timeZone: "UTC" };
    if (granularity === "month") return new Intl.DateTimeFormat(undefined, { ...opts, month: "short", year: "numeric" }).format(date);
    const day = new Intl.DateTimeFormat(undefined, { ...opts, month: "short", day: "numeric" }).format(date);
    return granularity === "week" ? `Week of ${day}` : day;
  }

  function nextPeriod(period, granularity) {
    const date = C.parseDate(period);
    if (granularity === "day") date.setUTCDate(date.getUTCDate() + 1);
    else if (granularity === "week") date.setUTCDate(date.getUTCDate() + 7);
    else date.setUTCMonth(date.getUTCMonth() + 1);
    return C.isoDate(date);
  }

  // Every bucket of the range, so days or weeks without cost still show as gaps.
  function periodsOf(body, rows) {
    const seen = new Set(rows.map((row) => row.period).filter(Boolean));
    if (body.time_basis === "charge" && body.granularity !== "none") {
      let cursor = C.parseDate(body.start);
      const end = C.parseDate(body.end);
      if (body.granularity === "week") cursor.setUTCDate(cursor.getUTCDate() - ((cursor.getUTCDay() + 6) % 7));
      if (body.granularity === "month") cursor.setUTCDate(1);
      for (let guard = 0; cursor < end && guard < 2000; guard++) {
        seen.add(C.isoDate(cursor));
        cursor = C.parseDate(nextPeriod(C.isoDate(cursor), body.granularity));
      }
    }
    return [...seen].sort();
  }

  function groupKey(row, groups) {
    return row.other ? "\u0000other" : JSON.stringify(groups.map((g) => row[g] ?? null));
  }

  function groupLabel(row, groups, metric) {
    if (row.other) return "Other";
    if (!groups.length) return METRIC_LABELS[metric] || metric;
    return groups.map((g) => (row[g] === null || row[g] === undefined ? "(not set)" : String(row[g]))).join(" · ");
  }

  // Groups of one currency, largest first (exact sums), "Other" last.
  function rankedGroups(rows, groups, metric) {
    const byKey = new Map();
    for (const row of rows) {
      const key = groupKey(row, groups);
      const entry = byKey.get(key) || { key, label: groupLabel(row, groups, metric), other: !!row.other, units: 0n, row };
      entry.units += C.toUnits(row.cost);
      byKey.set(key, entry);
    }
    return [...byKey.values()].sort((a, b) => (a.other - b.other) || (a.units < b.units ? 1 : a.units > b.units ? -1 : 0));
  }

  function colorOf(index, entry) {
    return entry.other ? OTHER_COLOR : PALETTE[index % PALETTE.length];
  }

  const toNumber = (exact) => (exact === null || exact === undefined ? null : Number(exact));

  // --- cost and unit-cost charts --------------------------------------------------------------------------------------
  // `chart`: "bar" (stacked bars), "area" (stacked area) or "line" (one line per group); `show`: "cost", or "unit"
  // for each row's unit_cost (lines; stacked when the metric is divided as a whole, so they add up to the total's).
  function costChart(data, body, { currency, chart = "bar", show = "cost", events = [], budgets = [] }) {
    const rows = data.rows.filter((row) => row.currency === currency);
    const groups = body.group_by;
    const ranked = rankedGroups(rows, groups, body.metric);
    const unit = show === "unit";
    const matched = !!(data.unit_metric && data.unit_metric.matched_dimensions.length);
    const format = unit ? (value) => C.unitMoney(value, currency) : (value) => C.money(value, currency);
    const compact = new Intl.NumberFormat(undefined, { style: "currency", currency, notation: "compact", maximumFractionDigits: 1 });
    const tick = unit ? (value) => C.unitMoney(String(value), currency) : (value) => compact.format(value);
    let config;
    let markers = [];
    if (body.granularity === "none") {
      const exact = ranked.map((entry) => (unit ? entry.row.unit_cost ?? null : C.fromUnits(entry.units)));
      config = {
        type: "bar",
        data: {
          labels: ranked.map((entry) => entry.label),
          datasets: [{
            label: unit ? "Unit cost" : METRIC_LABELS[body.metric], data: exact.map(toNumber), exact,
            backgroundColor: ranked.map((entry, i) => colorOf(i, entry)), borderRadius: 3,
          }],
        },
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { y: { grid: { display: false } } } },
      };
    } else {
      const periods = periodsOf(body, rows);
      const index = new Map(periods.map((period, i) => [period, i]));
      const lines = unit || chart !== "bar";
      const stacked = unit ? !matched : chart !== "line";
      const filled = unit ? stacked : chart === "area";
      const datasets = ranked.map((entry, i) => {
        const exact = periods.map(() => (unit ? null : "0"));
        for (const row of rows) {
          if (groupKey(row, groups) !== entry.key || !index.has(row.period)) continue;
          const at = index.get(row.period);
          exact[at] = unit ? row.unit_cost ?? null : C.addDecimals(exact[at], row.cost);
        }
        const base = colorOf(i, entry);
        return {
          label: entry.label, exact, data: exact.map(toNumber),
          backgroundColor: filled ? `${base}b3` : base, borderColor: base,
          borderWidth: lines ? (filled ? 1.5 : 2) : 0, fill: filled ? (i === 0 ? "origin" : "-1") : false,
          pointRadius: lines && !filled && periods.length < 40 ? 2 : 0, tension: 0.25, borderRadius: lines ? 0 : 2,
          spanGaps: false,
        };
      });
      config = {
        type: lines ? "line" : "bar",
        // `periods`: the ISO start of each label's period, for people's tools and the tests.
        data: { labels: periods.map((period) => periodLabel(period, body.granularity)), periods, datasets },
        options: {
          scales: {
            x: { stacked, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: { stacked },
          },
          plugins: { legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } } },
          interaction: { mode: "index", intersect: false },
        },
      };
      markers = eventMarkers(events, body, periods);
      config.plugins = [markerPlugin, budgetPlugin];
      config.options.plugins.costlakeEvents = { markers };
      config.options.plugins.costlakeBudgets = { lines: unit ? [] : budgets };
      config.options.plugins.tooltip = { callbacks: { footer: stackedFooter(stacked, format) } };
    }
    const options = config.options;
    options.responsive = true;
    options.maintainAspectRatio = false;
    options.animation = false;
    options.scales[body.granularity === "none" ? "x" : "y"] = {
      ...(options.scales.y || {}), beginAtZero: true, ticks: { callback: tick }, grid: { color: "#eef0f3" },
    };
    options.plugins.tooltip = {
      ...(options.plugins.tooltip || {}),
      itemSort: (a, b) => b.raw - a.raw,
      filter: (item) => item.raw !== 0 && item.raw !== null,
      callbacks: {
        ...((options.plugins.tooltip || {}).callbacks || {}),
        label: (item) => ` ${item.dataset.label}: ${format(item.dataset.exact[item.dataIndex])}`,
      },
    };
    const lines = (options.plugins.costlakeBudgets || {}).lines || [];
    if (lines.length) options.scales.y.suggestedMax = Math.max(...lines.map((line) => Number(line.amount)));
    config.markers = markers;
    config.budgets = lines;
    return config;
  }

  function stackedFooter(stacked, format) {
    return (items) => {
      if (!stacked || items.length < 2) return "";
      let sum = "0";
      for (const item of items) {
        const value = item.dataset.exact[item.dataIndex];
        if (value !== null) sum = C.addDecimals(sum, value);
      }
      return `Total: ${format(sum)}`;
    };
  }

  // --- a metric's daily values ------------------------------------------------------------------------------------------
  // Per day, the values of every label set added up (labels partition the quantity), exactly.
  function metricDaily(values) {
    const days = new Map();
    for (const value of values) days.set(value.date, C.addDecimals(days.get(value.date) || "0", value.value));
    return days;
  }

  // One bar per day of [start, end); a day without a value is a gap, not a zero.
  function metricChart(values, start, end, unit) {
    const days = metricDaily(values);
    const labels = [];
    const periods = [];
    const exact = [];
    for (let day = start, guard = 0; day < end && guard < 1200; day = C.addDays(day, 1), guard++) {
      periods.push(day);
      labels.push(periodLabel(day, "day"));
      exact.push(days.has(day) ? days.get(day) : null);
    }
    const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
    return {
      type: "bar",
      data: { labels, periods, datasets: [{ label: unit, data: exact.map(toNumber), exact, backgroundColor: PALETTE[0], borderRadius: 2 }] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: (item) => ` ${C.quantity(item.dataset.exact[item.dataIndex])} ${unit}` } },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { beginAtZero: true, grid: { color: "#eef0f3" }, ticks: { callback: (value) => compact.format(value) } },
        },
      },
    };
  }

  // An anomaly's days: the actual amount as a line over the expected band (expected ± 3 sigma), shaded between its
  // lower and upper edges; days before the anomaly began are the baseline it is measured against.
  function bandChart(daily, currency) {
    const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });
    const series = (key, extra) => ({
      data: daily.map((day) => toNumber(day[key])), exact: daily.map((day) => day[key]), pointRadius: 0, ...extra,
    });
    return {
      type: "line",
      data: {
        labels: daily.map((day) => periodLabel(day.date, "day")),
        periods: daily.map((day) => day.date),
        datasets: [
          series("lower", { label: "Band low", borderColor: "transparent", backgroundColor: "transparent" }),
          series("upper", { label: "Expected band", borderColor: "transparent", backgroundColor: "rgba(76, 120, 168, 0.18)", fill: "-1" }),
          series("expected", { label: "Expected", borderColor: PALETTE[0], borderDash: [4, 4], borderWidth: 1.5 }),
          series("actual", { label: "Actual", borderColor: "#c0392b", backgroundColor: "#c0392b", borderWidth: 2, pointRadius: 2 }),
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: {
          legend: { labels: { filter: (item) => item.text !== "Band low" } },
          tooltip: {
            filter: (item) => item.dataset.label !== "Band low",
            callbacks: { label: (item) => ` ${item.dataset.label}: ${C.money(item.dataset.exact[item.dataIndex], currency)}` },
          },
        },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
          y: { beginAtZero: false, grid: { color: "#eef0f3" }, ticks: { callback: (value) => compact.format(value) } },
        },
      },
    };
  }

  // --- budget lines ---------------------------------------------------------------------------------------------------
  // A filter as a comparable text: one value "in" is "eq", values in any order are one set.
  function filterKey(filter) {
    const values = [...(filter.values || [])].map(String).sort();
    const op = filter.op === "in" && values.length === 1 ? "eq" : filter.op === "not_in" && values.length === 1 ? "ne" : filter.op;
    return JSON.stringify([filter.dimension, op, values]);
  }

  // The budgets whose amount a bar of this chart can be held against: monthly budgets on a monthly chart of the same
  // metric and currency, scoped by exactly the chart's filters (a budget on more or fewer costs would mislead).
  function budgetsFor(budgets, body, currency) {
    if (body.granularity !== "month") return [];
    const scope = JSON.stringify(body.filters.map(filterKey).sort());
    return budgets.filter((budget) => budget.period === "month" && budget.metric === body.metric
      && budget.currency === currency && JSON.stringify(budget.filters.map(filterKey).sort()) === scope);
  }

  const budgetPlugin = {
    id: "costlakeBudgets",
    afterDatasetsDraw(chart, _args, options) {
      const lines = (options && options.lines) || [];
      if (!lines.length) return;
      const { left, right, top, bottom } = chart.chartArea;
      const ctx = chart.ctx;
      ctx.save();
      for (const line of lines) {
        const y = chart.scales.y.getPixelForValue(Number(line.amount));
        if (y < top || y > bottom) continue;
        ctx.strokeStyle = "#c0392b";
        ctx.lineWidth = 1.5;
        ctx.setLineDash([6, 4]);
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(right, y);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = "#c0392b";
        ctx.font = "11px sans-serif";
        ctx.textAlign = "right";
        ctx.textBaseline = "bottom";
        ctx.fillText(`Budget ${line.name}: ${C.money(line.amount, line.currency)}`, right - 4, y - 3);
      }
      ctx.restore();
    },
  };

  // --- event markers --------------------------------------------------------------------------------------------------
  // Where an event falls on a chart of periods: bucket index + the fraction of the bucket gone by (null: outside).
  function eventMarkers(events, body, periods) {
    if (!events.length || !periods.length) return [];
    const granularity = body.time_basis === "billing" ? "month" : body.granularity;
    const bounds = periods.map((period) => [C.parseDate(period).getTime(), C.parseDate(nextPeriod(period, granularity)).getTime()]);
    const position = (ms) => {
      const at = bounds.findIndex(([from, to]) => ms >= from && ms < to);
      return at < 0 ? null : at + (ms - bounds[at][0]) / (bounds[at][1] - bounds[at][0]);
    };
    const first = bounds[0][0];
    const last = bounds[bounds.length - 1][1];
    const markers = [];
    for (const event of events) {
      const start = new Date(event.start).getTime();
      const end = event.end ? new Date(event.end).getTime() : null;
      if (start >= last || (end ?? start) < first) continue;
      const at = start < first ? 0 : position(start);
      if (at === null) continue;
      const to = end === null ? null : end >= last ? periods.length : position(end);
      markers.push({ id: event.id, at, to, color: EVENT_COLORS[event.category] || EVENT_COLORS.other, title: event.title });
    }
    return markers;
  }

  const markerPlugin = {
    id: "costlakeEvents",
    afterDatasetsDraw(chart, _args, options) {
      const markers = (options && options.markers) || [];
      const count = chart.data.labels.length;
      if (!markers.length || !count) return;
      const { left, right, top, bottom } = chart.chartArea;
      const x = chart.scales.x;
      const step = count > 1 ? x.getPixelForValue(1) - x.getPixelForValue(0) : right - left;
      // A bar spans its period around its tick; a line's point stands at the start of its period.
      const shift = x.options.offset ? 0.5 : 0;
      const pixel = (at) => Math.min(right, Math.max(left, x.getPixelForValue(0) + (at - shift) * step));
      const ctx = chart.ctx;
      ctx.save();
      for (const marker of markers) {
        const from = pixel(marker.at);
        if (marker.to !== null) {
          ctx.fillStyle = `${marker.color}1f`;
          ctx.fillRect(from, top, Math.max(2, pixel(marker.to) - from), bottom - top);
        }
        ctx.strokeStyle = marker.color;
        ctx.lineWidth = 1.5;
        ctx.setLineDash([4, 3]);
        ctx.beginPath();
        ctx.moveTo(from, top + 6);
        ctx.lineTo(from, bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = marker.color;
        ctx.beginPath();
        ctx.moveTo(from - 5, top);
        ctx.lineTo(from + 5, top);
        ctx.lineTo(from, top + 7);
        ctx.closePath();
        ctx.fill();
      }
      ctx.restore();
    },
  };

  // The events a chart of these cost filters shows: a filter on tag KEY narrows the events by their label KEY, the
  // same way (an event without that label is left out; "is not set" keeps only events without it); `categories`
  // (empty: all) narrows by category. Label filters the API took (label=KEY:VALUE) have been applied already.
  function eventsFor(events, filters, categories = []) {
    const tagFilters = filters.filter((f) => f.dimension.startsWith("tag:"));
    return events.filter((event) => (!categories.length || categories.includes(event.category)) && tagFilters.every((f) => {
      const value = (event.labels || {})[f.dimension.slice(4)];
      if (f.op === "missing") return value === undefined;
      if (f.op === "contains") return value !== undefined && f.values.some((part) => value.toLowerCase().includes(part.toLowerCase()));
      const listed = value !== undefined && f.values.includes(value);
      return f.op === "in" || f.op === "eq" ? listed : !listed;
    }));
  }

  // GET .../events overlapping a query's range with these labels (label=KEY:VALUE, all must match).
  function fetchEvents(start, end, labels) {
    const params = new URLSearchParams({ start, end });
    for (const [key, value] of labels) params.append("label", `${key}:${value}`);
    return C.api("GET", C.tenantPath(`/events?${params}`));
  }

  // Draw on a canvas (replacing its chart); the canvas says what it shows, for people's tools and the tests.
  function draw(canvas, config, attributes = {}) {
    const existing = window.Chart && Chart.getChart(canvas);
    if (existing) existing.destroy();
    const chart = new Chart(canvas, config);
    Object.assign(canvas.dataset, {
      series: String(config.data.datasets.length), points: String(config.data.labels.length),
      events: String((config.markers || []).length), ...attributes,
    });
    return chart;
  }

  function categoryBadge(category) {
    return C.el("span", { class: `badge badge-event badge-event-${category}`, text: CATEGORY_LABELS[category] || category });
  }

  return {
    METRIC_LABELS, CATEGORY_LABELS, periodLabel, periodsOf, groupKey, groupLabel, rankedGroups,
    costChart, budgetsFor, metricDaily, metricChart, bandChart, eventsFor, fetchEvents, draw, categoryBadge,
  };
})();
