// Explorer: the whole view lives in the URL's query string, so a bookmark or a shared link restores it.
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);

  const METRICS = ["EffectiveCost", "BilledCost", "ListCost", "ContractedCost"];
  const METRIC_LABELS = {
    EffectiveCost: "Effective cost", BilledCost: "Billed cost", ListCost: "List cost", ContractedCost: "Contracted cost",
  };
  const BASES = ["charge", "billing"];
  const GRANULARITIES = ["day", "week", "month", "none"];
  const BILLING_GRANULARITIES = ["month", "none"]; // billing periods are months: no days or weeks in them
  const OPS = ["eq", "ne", "in", "not_in", "contains", "missing"];
  const OP_TEXT = { eq: "is", ne: "is not", in: "is", not_in: "is not", contains: "contains", missing: "is not set" };
  const MAX_GROUPS = 3;
  const MAX_TABLE_ROWS = 2000;
  const DEFAULT_TOP = 10;
  // Labels until /costs/dimensions answers (it names them too).
  const FALLBACK_LABELS = {
    ServiceProviderName: "Service provider", ProviderName: "Provider", ServiceName: "Service",
    ServiceCategory: "Service category", SubAccountId: "Sub account ID", SubAccountName: "Sub account",
    BillingAccountId: "Billing account ID", RegionId: "Region", ChargeCategory: "Charge category",
    PricingCategory: "Pricing category", SkuId: "SKU", ResourceId: "Resource", source: "Billing source",
  };
  // Tableau 10 (distinguishable side by side, also for most colour-blind readers), then two more.
  const PALETTE = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948",
    "#b07aa1", "#ff9da7", "#9c755f", "#499894", "#b6992d", "#d4a6c8",
  ];
  const OTHER_COLOR = "#c9cdd3";

  let dimensions = null; // {dimensions: [{name, label}], tag_keys: [{key, coverage}]}
  let state = null;
  let result = null; // {key, body, data}
  let chart = null;
  let querySeq = 0;
  let inflight = null;

  // --- state <-> URL ------------------------------------------------------------------------------------------------
  function todayUtc() {
    return C.isoDate(new Date());
  }

  function monthStart(offset) {
    const now = new Date();
    return C.isoDate(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1)));
  }

  function presetRange(preset) {
    switch (preset) {
      case "this-month": return [monthStart(0), monthStart(1)];
      case "last-month": return [monthStart(-1), monthStart(0)];
      case "last-3": return [monthStart(-2), monthStart(1)];
      case "last-6": return [monthStart(-5), monthStart(1)];
      case "last-12": return [monthStart(-11), monthStart(1)];
      case "ytd": return [`${todayUtc().slice(0, 4)}-01-01`, C.addDays(todayUtc(), 1)];
      default: return null;
    }
  }

  function defaults() {
    const [start, end] = presetRange("last-3");
    return {
      start, end, metric: "EffectiveCost", basis: "charge", granularity: "day", groups: ["ServiceName"],
      filters: [], top: DEFAULT_TOP, chart: "bar", currency: null, table: "groups", sort: "cost", dir: "desc",
    };
  }

  function readState(search) {
    const params = new URLSearchParams(search);
    const base = defaults();
    if ([...params.keys()].length === 0) return base;
    const pick = (name, allowed, fallback) => (allowed.includes(params.get(name)) ? params.get(name) : fallback);
    const start = C.parseDate(params.get("start")) ? params.get("start") : base.start;
    let end = C.parseDate(params.get("end")) ? params.get("end") : base.end;
    const groups = [];
    for (const group of params.getAll("group")) {
      if (group && !groups.includes(group) && groups.length < MAX_GROUPS) groups.push(group);
    }
    const filters = [];
    for (const text of params.getAll("filter")) {
      try {
        const [dimension, op, values] = JSON.parse(text);
        if (typeof dimension === "string" && OPS.includes(op)) {
          filters.push({ dimension, op, values: Array.isArray(values) ? values.map(String) : [] });
        }
      } catch {
        // A hand-edited, broken filter is dropped rather than failing the page.
      }
    }
    const topText = params.get("top");
    let top = DEFAULT_TOP;
    if (topText === "all") top = null;
    else if (/^\d+$/.test(topText || "") && Number(topText) >= 1) top = Number(topText);
    const basis = pick("basis", BASES, base.basis);
    let granularity = pick("granularity", GRANULARITIES, base.granularity);
    if (basis === "billing" && !BILLING_GRANULARITIES.includes(granularity)) granularity = "month";
    return {
      start, end, groups, filters, top, basis, granularity,
      metric: pick("metric", METRICS, base.metric),
      chart: pick("chart", ["bar", "area"], base.chart),
      currency: /^[A-Z]{3}$/.test(params.get("currency") || "") ? params.get("currency") : null,
      table: pick("table", ["groups", "rows"], base.table),
      // "By period" reads in date order unless the link says otherwise.
      sort: params.get("sort") || (params.get("table") === "rows" ? "period" : base.sort),
      dir: pick("dir", ["asc", "desc"], params.get("table") === "rows" && !params.get("sort") ? "asc" : base.dir),
    };
  }

  function toSearch(s) {
    const params = new URLSearchParams();
    params.set("start", s.start);
    params.set("end", s.end);
    params.set("metric", s.metric);
    params.set("basis", s.basis);
    params.set("granularity", s.granularity);
    for (const group of s.groups) params.append("group", group);
    for (const f of s.filters) params.append("filter", JSON.stringify([f.dimension, f.op, f.values]));
    params.set("top", s.top === null ? "all" : String(s.top));
    params.set("chart", s.chart);
    if (s.currency) params.set("currency", s.currency);
    params.set("table", s.table);
    params.set("sort", s.sort);
    params.set("dir", s.dir);
    return `?${params.toString()}`;
  }

  function saveState(push) {
    const url = `${location.pathname}${toSearch(state)}`;
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
  }

  function queryBody(s) {
    return {
      metric: s.metric, start: s.start, end: s.end, time_basis: s.basis, granularity: s.granularity,
      group_by: s.groups, filters: s.filters.map((f) => ({ dimension: f.dimension, op: f.op, values: f.values })),
      top: s.top,
    };
  }

  // --- labels -------------------------------------------------------------------------------------------------------
  function dimensionLabel(name) {
    if (name.startsWith("tag:")) return `Tag: ${name.slice(4)}`;
    // Allocation dimensions are rules over the tags, not a column: say so, so "team" is not read as a raw tag.
    if (name.startsWith("dim:")) {
      const dim = name.slice(4);
      return dim.endsWith(".split") ? `${dim.slice(0, -6)} split rule (allocation)` : `${dim} (allocation)`;
    }
    const known = dimensions && dimensions.dimensions.find((d) => d.name === name);
    return known ? known.label : FALLBACK_LABELS[name] || name;
  }

  function groupLabel(row, groups) {
    if (row.other) return "Other";
    if (!groups.length) return METRIC_LABELS[state.metric];
    return groups.map((g) => (row[g] === null || row[g] === undefined ? "(not set)" : String(row[g]))).join(" · ");
  }

  function periodLabel(period, granularity) {
    if (!period) return "Whole range";
    const date = C.parseDate(period);
    if (!date) return period;
    const opts = { timeZone: "UTC" };
    if (granularity === "month") return new Intl.DateTimeFormat(undefined, { ...opts, month: "short", year: "numeric" }).format(date);
    const day = new Intl.DateTimeFormat(undefined, { ...opts, month: "short", day: "numeric" }).format(date);
    return granularity === "week" ? `Week of ${day}` : day;
  }

  function longDate(text) {
    return new Intl.DateTimeFormat(undefined, { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" })
      .format(C.parseDate(text));
  }

  // --- controls -----------------------------------------------------------------------------------------------------
  function fillGroupSelects() {
    document.querySelectorAll(".group-select").forEach((select) => {
      const index = Number(select.dataset.index);
      const current = state.groups[index] || "";
      select.replaceChildren(C.el("option", { value: "", text: index === 0 ? "No grouping" : "—" }));
      const dims = C.el("optgroup", { label: "Dimensions" });
      const names = dimensions ? dimensions.dimensions.map((d) => d.name) : Object.keys(FALLBACK_LABELS);
      for (const name of names) dims.append(C.el("option", { value: name, text: dimensionLabel(name) }));
      select.append(dims);
      const tags = C.el("optgroup", { label: "Tags" });
      for (const tag of (dimensions && dimensions.tag_keys) || []) {
        const pct = Math.round((tag.coverage || 0) * 100);
        tags.append(C.el("option", { value: `tag:${tag.key}`, text: `${tag.key} (${pct}% of cost tagged)` }));
      }
      if (tags.children.length) select.append(tags);
      if (current && ![...select.options].some((o) => o.value === current)) {
        select.append(C.el("option", { value: current, text: dimensionLabel(current) }));
      }
      select.value = current;
      select.disabled = index > 0 && !state.groups[index - 1];
    });
  }

  function renderControls() {
    $("start").value = state.start;
    $("end").value = C.addDays(state.end, -1);
    $("metric").value = state.metric;
    $("time-basis").value = state.basis;
    $("granularity").value = state.granularity;
    for (const option of $("granularity").options) {
      option.disabled = state.basis === "billing" && !BILLING_GRANULARITIES.includes(option.value);
      option.title = option.disabled ? "Billing months have no days or weeks: choose Charge period for those" : "";
    }
    $("top").value = state.top === null ? "" : String(state.top);
    $("chart-type").value = state.chart;
    const preset = ["this-month", "last-month", "last-3", "last-6", "last-12", "ytd"].find((name) => {
      const range = presetRange(name);
      return range[0] === state.start && range[1] === state.end;
    });
    $("range-preset").value = preset || "custom";
    fillGroupSelects();
    renderFilters();
    document.querySelectorAll("#table-view button").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.view === state.table));
    });
    $("range-caption").textContent = C.parseDate(state.start) && C.parseDate(state.end)
      ? `${longDate(state.start)} – ${longDate(C.addDays(state.end, -1))} · ${METRIC_LABELS[state.metric]} · ` +
        (state.basis === "billing" ? "by billing month" : "by charge date") + " · UTC"
      : "";
  }

  function readControls() {
    const groups = [];
    document.querySelectorAll(".group-select").forEach((select) => {
      if (select.value && !groups.includes(select.value)) groups.push(select.value);
    });
    const topText = $("top").value.trim();
    const start = $("start").value;
    const to = $("end").value;
    return {
      ...state,
      start,
      end: C.parseDate(to) ? C.addDays(to, 1) : to,
      metric: $("metric").value,
      basis: $("time-basis").value,
      granularity: $("granularity").value,
      groups,
      top: topText === "" ? null : Math.max(1, Math.floor(Number(topText)) || DEFAULT_TOP),
      chart: $("chart-type").value,
    };
  }

  function renderFilters() {
    const list = $("filters");
    list.replaceChildren();
    if (!state.filters.length) {
      list.append(C.el("li", { class: "muted small chip-empty", text: "None: every cost in the range." }));
      return;
    }
    state.filters.forEach((f, index) => {
      const shown = f.values.slice(0, 2).join(", ") + (f.values.length > 2 ? ` +${f.values.length - 2} more` : "");
      const text = `${dimensionLabel(f.dimension)} ${OP_TEXT[f.op]}${f.op === "missing" ? "" : ` ${shown}`}`;
      list.append(C.el("li", { class: "chip", dataset: { dimension: f.dimension } },
        C.el("button", { type: "button", class: "chip-edit", title: "Edit this filter", onclick: () => openFilter(index) }, text),
        C.el("button", {
          type: "button", class: "chip-remove", "aria-label": `Remove filter on ${dimensionLabel(f.dimension)}`,
          onclick: () => { state.filters.splice(index, 1); changed(true); },
        }, "×")));
    });
  }

  // A control changed: keep the URL in step and query again when what is asked changed.
  function changed(push) {
    saveState(push);
    renderControls();
    run();
  }

  // --- query --------------------------------------------------------------------------------------------------------
  function setState(name, message) {
    $("results").dataset.state = name;
    const box = $("message");
    box.replaceChildren();
    box.hidden = !message;
    box.className = `card message message-${name}`;
    if (message) box.append(...(Array.isArray(message) ? message : [message]));
    const showData = name === "ready" || name === "loading";
    for (const selector of ["#summary", ".chart-card", ".table-card"]) {
      document.querySelector(selector).hidden = !showData || (name === "loading" && !result);
    }
  }

  async function run() {
    const body = queryBody(state);
    if (!C.parseDate(state.start) || !C.parseDate(state.end)) {
      setState("error", "Pick a valid From and To date.");
      return;
    }
    if (state.start >= state.end) {
      setState("error", "The From date must be on or before the To date.");
      return;
    }
    const key = JSON.stringify(body);
    if (result && result.key === key) {
      render();
      return;
    }
    const seq = ++querySeq;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    $("results").classList.add("is-loading");
    setState("loading", null);
    try {
      const data = await C.api("POST", C.tenantPath("/costs/query"), { json: body, signal: inflight.signal });
      if (seq !== querySeq) return;
      result = { key, body, data };
      render();
    } catch (error) {
      if (error.name === "AbortError" || seq !== querySeq) return;
      result = null;
      const advice = error.status === 422 ? "Check the query: " : "";
      setState("error", `${advice}${error.message}`);
    } finally {
      if (seq === querySeq) $("results").classList.remove("is-loading");
    }
  }

  // --- rendering ----------------------------------------------------------------------------------------------------
  function currenciesOf(data) {
    const set = new Set(Object.keys(data.totals || {}));
    for (const row of data.rows) if (row.currency) set.add(row.currency);
    return [...set].sort();
  }

  function chartCurrencyOf(currencies) {
    return currencies.includes(state.currency) ? state.currency : currencies.includes("USD") ? "USD" : currencies[0];
  }

  function render() {
    const { data, body } = result;
    if (!data.rows.length) {
      const next = body.filters.length
        ? "No costs match these filters in this range. Remove a filter or widen the dates."
        : "No costs in this range. Connect a billing source or widen the dates.";
      const links = [C.el("a", { href: "/console/data-health", text: "Check Data health" })];
      if (C.isAdmin) links.unshift(C.el("a", { href: "/console/billing-sources", text: "Connect a billing source" }), " · ");
      setState("empty", [C.el("p", { class: "empty-title", text: next }), C.el("p", {}, ...links)]);
      if (chart) { chart.destroy(); chart = null; }
      return;
    }
    setState("ready", null);
    const currencies = currenciesOf(data);
    const chartCurrency = chartCurrencyOf(currencies);
    renderTotals(data, currencies);
    renderCurrencySwitch(currencies, chartCurrency);
    $("elapsed").textContent = typeof data.elapsed_ms === "number" ? `answered in ${Math.round(data.elapsed_ms)} ms` : "";
    renderChart(data, body, chartCurrency);
    renderTable(data, body, currencies, chartCurrency);
  }

  function renderTotals(data, currencies) {
    const box = $("totals");
    box.replaceChildren();
    for (const currency of currencies) {
      const amount = (data.totals || {})[currency];
      box.append(C.el("div", { class: "total", dataset: { currency, amount: amount ?? "" } },
        C.el("span", { class: "total-label", text: `${METRIC_LABELS[state.metric]} · ${currency}` }),
        C.el("span", { class: "total-amount", text: amount === undefined ? "—" : C.money(amount, currency) })));
    }
    if (currencies.length > 1) {
      box.append(C.el("p", { class: "muted small total-note",
        text: "Costs in different currencies are shown separately, never added together." }));
    }
  }

  function renderCurrencySwitch(currencies, current) {
    const box = $("currency-switch");
    box.replaceChildren();
    box.hidden = currencies.length < 2;
    if (box.hidden) return;
    box.append(C.el("span", { class: "muted small", text: "Chart in" }));
    for (const currency of currencies) {
      box.append(C.el("button", {
        type: "button", "aria-pressed": String(currency === current), dataset: { currency },
        onclick: () => { state.currency = currency; saveState(false); render(); },
      }, currency));
    }
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
        if (body.granularity === "day") cursor.setUTCDate(cursor.getUTCDate() + 1);
        else if (body.granularity === "week") cursor.setUTCDate(cursor.getUTCDate() + 7);
        else cursor.setUTCMonth(cursor.getUTCMonth() + 1);
      }
    }
    return [...seen].sort();
  }

  function groupKey(row, groups) {
    return row.other ? "\u0000other" : JSON.stringify(groups.map((g) => row[g] ?? null));
  }

  // Groups of one currency, largest first (exact sums), "Other" last.
  function rankedGroups(rows, groups) {
    const byKey = new Map();
    for (const row of rows) {
      const key = groupKey(row, groups);
      const entry = byKey.get(key) || { key, label: groupLabel(row, groups), other: !!row.other, units: 0n, row };
      entry.units += C.toUnits(row.cost);
      byKey.set(key, entry);
    }
    return [...byKey.values()].sort((a, b) => (a.other - b.other) || (a.units < b.units ? 1 : a.units > b.units ? -1 : 0));
  }

  function renderChart(data, body, currency) {
    const rows = data.rows.filter((row) => row.currency === currency);
    const groups = body.group_by;
    const ranked = rankedGroups(rows, groups);
    const color = (i, entry) => (entry.other ? OTHER_COLOR : PALETTE[i % PALETTE.length]);
    const compact = new Intl.NumberFormat(undefined, { style: "currency", currency, notation: "compact", maximumFractionDigits: 1 });
    let config;
    if (body.granularity === "none") {
      config = {
        type: "bar",
        data: {
          labels: ranked.map((entry) => entry.label),
          datasets: [{
            label: METRIC_LABELS[body.metric],
            data: ranked.map((entry) => Number(C.fromUnits(entry.units))),
            exact: ranked.map((entry) => C.fromUnits(entry.units)),
            backgroundColor: ranked.map((entry, i) => color(i, entry)),
            borderRadius: 3,
          }],
        },
        options: { indexAxis: "y", plugins: { legend: { display: false } } },
      };
    } else {
      const periods = periodsOf(body, rows);
      const index = new Map(periods.map((period, i) => [period, i]));
      const area = state.chart === "area";
      const datasets = ranked.map((entry, i) => {
        const exact = periods.map(() => "0");
        for (const row of rows) {
          if (groupKey(row, groups) === entry.key && index.has(row.period)) {
            const at = index.get(row.period);
            exact[at] = C.addDecimals(exact[at], row.cost);
          }
        }
        const base = color(i, entry);
        return {
          label: entry.label, exact, data: exact.map(Number),
          backgroundColor: area ? `${base}b3` : base, borderColor: base,
          borderWidth: area ? 1.5 : 0, fill: area ? (i === 0 ? "origin" : "-1") : undefined,
          pointRadius: 0, tension: 0.25, borderRadius: area ? 0 : 2,
        };
      });
      config = {
        type: area ? "line" : "bar",
        data: { labels: periods.map((period) => periodLabel(period, body.granularity)), datasets },
        options: {
          scales: {
            x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkipPadding: 12 } },
            y: { stacked: true },
          },
          plugins: {
            legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12, usePointStyle: false } },
          },
          interaction: { mode: "index", intersect: false },
        },
      };
    }
    const options = config.options;
    options.responsive = true;
    options.maintainAspectRatio = false;
    options.animation = false;
    options.scales = options.scales || {};
    options.scales[body.granularity === "none" ? "x" : "y"] = {
      ...(options.scales.y || {}), beginAtZero: true, ticks: { callback: (value) => compact.format(value) },
      grid: { color: "#eef0f3" },
    };
    if (body.granularity === "none") options.scales.y = { grid: { display: false } };
    options.plugins = {
      ...options.plugins,
      tooltip: {
        itemSort: (a, b) => b.raw - a.raw,
        filter: (item) => item.raw !== 0,
        callbacks: {
          label: (item) => ` ${item.dataset.label}: ${C.money(item.dataset.exact[item.dataIndex], currency)}`,
          footer: (items) => {
            if (body.granularity === "none" || items.length < 2) return "";
            let sum = "0";
            for (const item of items) sum = C.addDecimals(sum, item.dataset.exact[item.dataIndex]);
            return `Total: ${C.money(sum, currency)}`;
          },
        },
      },
    };
    if (chart) chart.destroy();
    chart = new Chart($("chart"), config);
    $("chart").dataset.currency = currency;
    $("chart").dataset.series = String(config.data.datasets.length);
    $("chart").dataset.points = String(config.data.labels.length);
  }

  // --- table --------------------------------------------------------------------------------------------------------
  function tableModel(data, body, currencies) {
    const groups = body.group_by;
    const view = body.granularity === "none" ? "groups" : state.table;
    const groupCols = groups.map((g) => ({ key: `g:${g}`, label: dimensionLabel(g), group: g }));
    const columns = [];
    let rows;
    if (view === "rows") {
      columns.push({ key: "period", label: "Period" }, ...groupCols, { key: "currency", label: "Currency" },
        { key: "cost", label: METRIC_LABELS[body.metric], num: true });
      rows = data.rows.map((row) => ({ ...row, _label: groupLabel(row, groups) }));
    } else {
      columns.push(...groupCols, { key: "currency", label: "Currency" },
        { key: "cost", label: METRIC_LABELS[body.metric], num: true }, { key: "share", label: "Share", num: true });
      if (!groups.length) columns.unshift({ key: "all", label: "Costs" });
      const totals = data.totals || {};
      rows = [];
      for (const currency of currencies) {
        for (const entry of rankedGroups(data.rows.filter((row) => row.currency === currency), groups)) {
          const cost = C.fromUnits(entry.units);
          const total = totals[currency];
          const share = total && Number(total) !== 0 ? Number(cost) / Number(total) : null;
          rows.push({ ...entry.row, period: null, cost, currency, share, _label: entry.label });
        }
      }
    }
    return { view, columns, rows };
  }

  function cellValue(row, column) {
    if (column.group) return row.other ? null : row[column.group] ?? null;
    if (column.key === "all") return "All costs";
    return row[column.key] ?? null;
  }

  // Amounts are compared within a currency only: sorting by cost keeps each currency's rows together.
  function sortRows(rows, columns, currencyOrder) {
    const column = columns.find((c) => c.key === state.sort) || columns.find((c) => c.key === "cost");
    const sign = state.dir === "asc" ? 1 : -1;
    const byAmount = column.key === "cost" || column.key === "share";
    return [...rows].sort((a, b) => {
      if (byAmount && a.currency !== b.currency) return currencyOrder.indexOf(a.currency) - currencyOrder.indexOf(b.currency);
      // "Other" stays at the bottom (of its period, when sorting by period).
      if (column.key !== "period" && a.other !== b.other) return a.other ? 1 : -1;
      let cmp;
      if (column.key === "cost") cmp = C.compareDecimals(a.cost, b.cost);
      else if (column.key === "share") cmp = (a.share ?? -1) - (b.share ?? -1);
      else {
        const x = cellValue(a, column);
        const y = cellValue(b, column);
        if (x === null || y === null) cmp = x === y ? 0 : x === null ? 1 : -1;
        else cmp = String(x).localeCompare(String(y), undefined, { numeric: true });
      }
      if (cmp === 0 && a.other !== b.other) return a.other ? 1 : -1;
      return cmp * sign || (a.period || "").localeCompare(b.period || "") || C.compareDecimals(b.cost, a.cost);
    });
  }

  function currencyOrder(currencies, first) {
    return [first, ...currencies.filter((c) => c !== first)];
  }

  function renderTable(data, body, currencies, chartCurrency) {
    const model = tableModel(data, body, currencies);
    const rows = sortRows(model.rows, model.columns, currencyOrder(currencies, chartCurrency));
    const table = $("cost-table");
    table.dataset.view = model.view;
    document.querySelectorAll("#table-view button").forEach((button) => {
      button.disabled = body.granularity === "none" && button.dataset.view === "rows";
      button.setAttribute("aria-pressed", String(button.dataset.view === model.view));
    });
    const head = C.el("tr");
    for (const column of model.columns) {
      const sorted = state.sort === column.key || (column.key === "cost" && !model.columns.some((c) => c.key === state.sort));
      const dir = sorted ? state.dir : null;
      head.append(C.el("th", {
        scope: "col", class: column.num ? "num" : null,
        "aria-sort": dir ? (dir === "asc" ? "ascending" : "descending") : "none",
      }, C.el("button", {
        type: "button", class: "sort", dataset: { sort: column.key },
        onclick: () => {
          state.dir = sorted && state.dir === "desc" ? "asc" : sorted ? "desc" : column.num ? "desc" : "asc";
          state.sort = column.key;
          saveState(false);
          render();
        },
      }, column.label, C.el("span", { class: "sort-mark", "aria-hidden": "true", text: dir === "asc" ? "▲" : dir === "desc" ? "▼" : "" }))));
    }
    table.tHead.replaceChildren(head);

    const tbody = document.createElement("tbody");
    for (const row of rows.slice(0, MAX_TABLE_ROWS)) {
      const tr = C.el("tr", { class: row.other ? "row-other" : null, dataset: { currency: row.currency } });
      for (const column of model.columns) {
        if (column.key === "cost") {
          tr.append(C.el("td", { class: "num", dataset: { amount: row.cost } }, C.money(row.cost, row.currency)));
        } else if (column.key === "share") {
          tr.append(C.el("td", { class: "num muted" },
            row.share === null ? "—" : new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }).format(row.share)));
        } else if (column.key === "period") {
          tr.append(C.el("td", { class: "nowrap", dataset: { period: row.period || "" } }, periodLabel(row.period, body.granularity)));
        } else {
          const value = cellValue(row, column);
          if (row.other && column.group) {
            tr.append(C.el("td", { class: "muted" }, column === model.columns.find((c) => c.group) ? "Other" : ""));
          } else {
            tr.append(value === null
              ? C.el("td", { class: "muted" }, "(not set)")
              : C.el("td", { title: String(value) }, String(value)));
          }
        }
      }
      tbody.append(tr);
    }
    table.tBodies[0].replaceWith(tbody);

    const foot = document.createElement("tfoot");
    const span = model.columns.findIndex((c) => c.key === "currency");
    for (const currency of currencyOrder(currencies, chartCurrency)) {
      const amount = (data.totals || {})[currency];
      const tr = C.el("tr", { class: "total-row", dataset: { currency } });
      if (span > 0) tr.append(C.el("th", { scope: "row", colspan: String(span) }, "Total"));
      tr.append(C.el("td", {}, currency));
      tr.append(C.el("td", { class: "num", dataset: { amount: amount ?? "" } }, amount === undefined ? "—" : C.money(amount, currency)));
      if (model.columns.some((c) => c.key === "share")) tr.append(C.el("td", { class: "num muted" }, "100%"));
      foot.append(tr);
    }
    table.tFoot.replaceWith(foot);

    const noun = model.view === "rows" ? "row" : "group";
    const count = rows.length;
    $("row-count").textContent = `${C.integer(count)} ${noun}${count === 1 ? "" : "s"}` +
      (count > MAX_TABLE_ROWS ? ` (first ${C.integer(MAX_TABLE_ROWS)} shown; the CSV has them all)` : "");
    table.dataset.rows = String(count);
  }

  // --- CSV ------------------------------------------------------------------------------------------------------------
  function csvCell(value, numeric) {
    if (value === null || value === undefined) return "";
    let text = String(value);
    // A spreadsheet would run text starting with these as a formula.
    if (!numeric && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  }

  function downloadCsv() {
    if (!result || !result.data.rows.length) return;
    const { data, body } = result;
    const currencies = currenciesOf(data);
    const model = tableModel(data, body, currencies);
    const rows = sortRows(model.rows, model.columns, currencyOrder(currencies, chartCurrencyOf(currencies)));
    const columns = model.columns.filter((c) => c.key !== "all");
    const header = columns.map((c) => (c.group ? c.group : c.key === "cost" ? body.metric : c.key));
    const lines = [header.map((h) => csvCell(h, false)).join(",")];
    for (const row of rows) {
      lines.push(columns.map((column) => {
        if (column.key === "cost") return csvCell(row.cost, true);
        if (column.key === "share") return csvCell(row.share === null ? "" : row.share.toFixed(6), true);
        if (column.group && row.other) return column === columns.find((c) => c.group) ? "Other" : "";
        return csvCell(cellValue(row, column), false);
      }).join(","));
    }
    const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    const link = C.el("a", {
      href: URL.createObjectURL(blob),
      download: `costlake-${body.metric}-${body.start}-to-${C.addDays(body.end, -1)}-${model.view}.csv`,
    });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  // --- filter dialog ------------------------------------------------------------------------------------------------
  const picker = { index: null, selected: new Set(), cursor: null, seq: 0, timer: null };

  function fillDimensionOptions(select, current) {
    select.replaceChildren();
    const dims = C.el("optgroup", { label: "Dimensions" });
    const names = dimensions ? dimensions.dimensions.map((d) => d.name) : Object.keys(FALLBACK_LABELS);
    for (const name of names) dims.append(C.el("option", { value: name, text: dimensionLabel(name) }));
    select.append(dims);
    const tags = C.el("optgroup", { label: "Tags" });
    for (const tag of (dimensions && dimensions.tag_keys) || []) {
      tags.append(C.el("option", { value: `tag:${tag.key}`, text: tag.key }));
    }
    if (tags.children.length) select.append(tags);
    if (current && ![...select.options].some((o) => o.value === current)) {
      select.append(C.el("option", { value: current, text: dimensionLabel(current) }));
    }
    select.value = current || "ServiceName";
  }

  function openFilter(index) {
    const existing = index === null ? null : state.filters[index];
    picker.index = index;
    picker.selected = new Set(existing && ["in", "eq", "not_in", "ne"].includes(existing.op) ? existing.values : []);
    fillDimensionOptions($("filter-dimension"), existing ? existing.dimension : state.groups[0] || "ServiceName");
    const op = existing ? ({ eq: "in", ne: "not_in" }[existing.op] || existing.op) : "in";
    $("filter-op").value = op;
    $("filter-text").value = existing && existing.op === "contains" ? existing.values[0] || "" : "";
    $("filter-search").value = "";
    $("filter-title").textContent = existing ? "Edit filter" : "Add a filter";
    $("filter-error").hidden = true;
    syncOpFields();
    loadValues(true);
    $("filter-dialog").showModal();
  }

  function syncOpFields() {
    const op = $("filter-op").value;
    $("filter-contains-field").hidden = op !== "contains";
    $("filter-values-field").hidden = op === "contains" || op === "missing";
  }

  async function loadValues(reset) {
    const seq = ++picker.seq;
    const list = $("filter-values");
    if (reset) {
      picker.cursor = null;
      list.replaceChildren(C.el("li", { class: "muted small", text: "Loading values…" }));
    }
    // The amounts shown are the costs in the explorer's date range, as the chart counts them.
    const params = new URLSearchParams({
      dimension: $("filter-dimension").value, search: $("filter-search").value, limit: "50",
      start: state.start, end: state.end, time_basis: state.basis,
    });
    if (!reset && picker.cursor) params.set("cursor", picker.cursor);
    try {
      const page = await C.api("GET", C.tenantPath(`/costs/dimension-values?${params}`));
      if (seq !== picker.seq) return;
      if (reset) {
        list.replaceChildren();
        // Chosen values that this page does not list stay visible and chosen.
        const listed = new Set(page.values.map((v) => v.value));
        for (const value of picker.selected) if (!listed.has(value)) list.append(valueItem({ value, costs: {} }));
      }
      for (const item of page.values) if (item.value !== null && item.value !== undefined) list.append(valueItem(item));
      if (!list.children.length) list.append(C.el("li", { class: "muted small", text: "No values match." }));
      picker.cursor = page.next_cursor;
      $("filter-more").hidden = !page.next_cursor;
    } catch (error) {
      if (seq !== picker.seq) return;
      list.replaceChildren(C.el("li", { class: "error-text small", text: `Could not load values: ${error.message}` }));
    }
  }

  function valueItem(item) {
    const value = String(item.value);
    const costs = Object.entries(item.costs || {}).map(([currency, amount]) => C.money(amount, currency)).join(" · ");
    const box = C.el("input", { type: "checkbox", value, checked: picker.selected.has(value) });
    box.addEventListener("change", () => {
      if (box.checked) picker.selected.add(value);
      else picker.selected.delete(value);
    });
    return C.el("li", {}, C.el("label", { class: "value-option" }, box,
      C.el("span", { class: "value-name", title: value, text: value }),
      C.el("span", { class: "value-cost muted small", text: costs })));
  }

  function applyFilter(event) {
    event.preventDefault();
    const dimension = $("filter-dimension").value;
    const op = $("filter-op").value;
    let values = [];
    if (op === "contains") {
      const text = $("filter-text").value.trim();
      if (!text) return showFilterError("Type the text the values should contain.");
      values = [text];
    } else if (op !== "missing") {
      values = [...picker.selected];
      if (!values.length) return showFilterError("Pick at least one value, or choose the condition “is not set”.");
    }
    const filter = { dimension, op, values };
    if (picker.index === null) state.filters.push(filter);
    else state.filters[picker.index] = filter;
    $("filter-dialog").close();
    changed(true);
  }

  function showFilterError(message) {
    $("filter-error").textContent = message;
    $("filter-error").hidden = false;
  }

  // --- wiring -------------------------------------------------------------------------------------------------------
  async function loadDimensions() {
    try {
      dimensions = await C.api("GET", C.tenantPath("/costs/dimensions"));
    } catch (error) {
      dimensions = null;
      C.toast(`Could not load the dimensions and tag keys: ${error.message}`, "error");
    }
    fillGroupSelects();
    renderFilters();
    if (result) render();
  }

  function wire() {
    const queryControls = ["start", "end", "metric", "time-basis", "granularity", "top"];
    for (const id of queryControls) {
      $(id).addEventListener("change", () => {
        state = readControls();
        if (id === "granularity" && state.granularity === "none") state.table = "groups";
        if (state.basis === "billing" && !BILLING_GRANULARITIES.includes(state.granularity)) state.granularity = "month";
        changed(true);
      });
    }
    document.querySelectorAll(".group-select").forEach((select) => {
      select.addEventListener("change", () => { state = readControls(); changed(true); });
    });
    $("range-preset").addEventListener("change", () => {
      const range = presetRange($("range-preset").value);
      if (!range) { $("start").focus(); return; }
      [state.start, state.end] = range;
      changed(true);
    });
    $("chart-type").addEventListener("change", () => {
      state.chart = $("chart-type").value;
      saveState(false);
      if (result) render();
    });
    document.querySelectorAll("#table-view button").forEach((button) => {
      button.addEventListener("click", () => {
        state.table = button.dataset.view;
        // Each view opens in its natural order: periods by date, groups by cost.
        if (state.table === "rows") [state.sort, state.dir] = ["period", "asc"];
        else if (state.sort === "period") [state.sort, state.dir] = ["cost", "desc"];
        saveState(false);
        renderControls();
        if (result) render();
      });
    });
    $("controls").addEventListener("submit", (event) => event.preventDefault());
    $("download-csv").addEventListener("click", downloadCsv);
    $("add-filter").addEventListener("click", () => openFilter(null));
    $("filter-form").addEventListener("submit", applyFilter);
    $("filter-cancel").addEventListener("click", () => $("filter-dialog").close());
    $("filter-op").addEventListener("change", syncOpFields);
    $("filter-dimension").addEventListener("change", () => { picker.selected.clear(); $("filter-search").value = ""; loadValues(true); });
    $("filter-search").addEventListener("input", () => {
      clearTimeout(picker.timer);
      picker.timer = setTimeout(() => loadValues(true), 250);
    });
    $("filter-more").addEventListener("click", () => loadValues(false));
    window.addEventListener("popstate", () => {
      state = readState(location.search);
      renderControls();
      run();
    });
  }

  state = readState(location.search);
  saveState(false); // an empty URL gets its defaults written out, so it can be bookmarked as it is
  if (window.Chart) {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = "#4b5563";
  }
  wire();
  renderControls();
  loadDimensions();
  run();
})();
