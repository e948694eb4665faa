// Explorer: the whole view lives in the URL's query string, so a bookmark or a shared link restores it.
"use strict";

(() => {
  const C = Costlake;
  const K = CostCharts;
  const $ = (id) => document.getElementById(id);

  const METRICS = ["EffectiveCost", "BilledCost", "ListCost", "ContractedCost"];
  const METRIC_LABELS = K.METRIC_LABELS;
  const CHARTS = ["bar", "area", "line"];
  const VIEW_CHARTS = { bar: "bar", stacked: "bar", area: "area", line: "line", table: "bar" }; // a saved view's chart here
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
  let dimensions = null; // {dimensions: [{name, label}], tag_keys: [{key, coverage}]}
  let unitMetrics = null; // the tenant's usage metrics: [{name, unit, aggregation}]
  let overlay = { key: null, events: [] }; // the events fetched for the overlay, and for which question
  let state = null;
  let result = null; // {key, body, data}
  let chart = null;
  let budgets = null; // the tenant's budgets, fetched once: a matching one is a line on the chart
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
      unit: null, scale: 1, show: "cost", events: false, eventLabels: [],
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
    const unit = params.get("unit") || null;
    const scaleText = params.get("scale") || "";
    return {
      start, end, groups, filters, top, basis, granularity, unit,
      scale: /^[1-9]\d{0,11}$/.test(scaleText) ? Number(scaleText) : 1,
      show: unit && params.get("show") === "unit" ? "unit" : "cost",
      events: params.get("events") === "1",
      eventLabels: params.getAll("evlabel").filter((pair) => C.labelPair(pair)),
      metric: pick("metric", METRICS, base.metric),
      chart: pick("chart", CHARTS, base.chart),
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
    if (s.unit) {
      params.set("unit", s.unit);
      params.set("scale", String(s.scale));
      if (s.show === "unit") params.set("show", "unit");
    }
    if (s.events) {
      params.set("events", "1");
      for (const pair of s.eventLabels) params.append("evlabel", pair);
    }
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
    const body = {
      metric: s.metric, start: s.start, end: s.end, time_basis: s.basis, granularity: s.granularity,
      group_by: s.groups, filters: s.filters.map((f) => ({ dimension: f.dimension, op: f.op, values: f.values })),
      top: s.top,
    };
    if (s.unit) Object.assign(body, { unit_metric: s.unit, unit_scale: s.scale });
    return body;
  }

  // A saved view (GET .../views/{id}) as explorer state: its relative range resolved to today's days.
  function stateOfView(view) {
    const q = view.query;
    const [start, end] = view.range ? C.rangeDates(view.range) : [q.start, q.end];
    const overlayOf = view.events_overlay || { enabled: false, labels: {} };
    return {
      ...defaults(), start, end, metric: q.metric, basis: q.time_basis, granularity: q.granularity,
      groups: q.group_by || [], filters: (q.filters || []).map((f) => ({ dimension: f.dimension, op: f.op, values: f.values || [] })),
      top: q.top ?? null, unit: q.unit_metric || null, scale: q.unit_scale || 1, chart: VIEW_CHARTS[view.chart] || "bar",
      show: q.unit_metric ? "unit" : "cost", // as a dashboard draws it
      events: !!overlayOf.enabled, eventLabels: Object.entries(overlayOf.labels || {}).map(([key, value]) => `${key}:${value}`),
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

  const groupLabel = (row, groups) => K.groupLabel(row, groups, state.metric);
  const periodLabel = K.periodLabel;
  const rankedGroups = (rows, groups) => K.rankedGroups(rows, groups, state.metric);

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
    fillUnitMetrics();
    $("events-overlay").checked = state.events;
    $("event-labels-field").hidden = !state.events;
    $("event-labels").value = state.eventLabels.join(", ");
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

  // The unit metric picker: the tenant's metrics (GET .../metrics), and the scale ("per 1,000").
  function fillUnitMetrics() {
    const select = $("unit-metric");
    select.replaceChildren(C.el("option", { value: "", text: "None" }));
    for (const metric of unitMetrics || []) {
      select.append(C.el("option", { value: metric.name, text: `${metric.name} (${metric.unit})` }));
    }
    if (state.unit && ![...select.options].some((o) => o.value === state.unit)) {
      select.append(C.el("option", { value: state.unit, text: state.unit }));
    }
    select.value = state.unit || "";
    const scale = $("unit-scale");
    if (![...scale.options].some((o) => o.value === String(state.scale))) {
      scale.append(C.el("option", { value: String(state.scale), text: `per ${C.integer(state.scale)}` }));
    }
    scale.value = String(state.scale);
    scale.disabled = !state.unit;
  }

  function unitOf(name) {
    return ((unitMetrics || []).find((metric) => metric.name === name) || { unit: name }).unit;
  }
  function readControls() {
    const groups = [];
    document.querySelectorAll(".group-select").forEach((select) => {
      if (select.value && !groups.includes(select.value)) groups.push(select.value);
    });
    const topText = $("top").value.trim();
    const start = $("start").value;
    const to = $("end").value;
    const unit = $("unit-metric").value || null;
    return {
      ...state,
      start,
      end: C.parseDate(to) ? C.addDays(to, 1) : to,
      unit,
      scale: Number($("unit-scale").value) || 1,
      show: unit ? (state.unit ? state.show : "unit") : "cost", // a newly picked unit metric shows at once
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
    $("view-caption").hidden = true;
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
      await loadOverlay();
      if (result && result.key === key) render();
      return;
    }
    const seq = ++querySeq;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    $("results").classList.add("is-loading");
    setState("loading", null);
    try {
      const [data] = await Promise.all([
        C.api("POST", C.tenantPath("/costs/query"), { json: body, signal: inflight.signal }),
        loadOverlay(),
        loadBudgets(),
      ]);
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
    const unit = data.unit_metric;
    for (const currency of currencies) {
      const amount = (data.totals || {})[currency];
      const card = C.el("div", { class: "total", dataset: { currency, amount: amount ?? "" } },
        C.el("span", { class: "total-label", text: `${METRIC_LABELS[state.metric]} · ${currency}` }),
        C.el("span", { class: "total-amount", text: amount === undefined ? "—" : C.money(amount, currency) }));
      if (unit) {
        // The whole range's cost ÷ the whole range's metric; null: the metric has no value in the range.
        const ratio = (data.unit_totals || {})[currency] ?? null;
        card.append(C.el("span", { class: "total-unit", dataset: { unitTotal: ratio ?? "" } },
          ratio === null ? `no ${unit.name} values in this range` : `${C.unitMoney(ratio, currency)} ${C.perUnitText(unit.scale, unit.unit)}`));
      }
      box.append(card);
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

  function renderChart(data, body, currency) {
    const show = state.unit && data.unit_metric ? state.show : "cost";
    const config = K.costChart(data, body, {
      currency, chart: state.chart, show, events: overlayEvents(), budgets: K.budgetsFor(budgets || [], body, currency),
    });
    chart = K.draw($("chart"), config, { currency, show, budgets: config.budgets.map((budget) => budget.id).join(" ") });
    renderShowSwitch(data);
    renderEventList(config.markers, body);
  }

  // Cost or unit cost on the chart, once the query has a unit metric.
  function renderShowSwitch(data) {
    const box = $("chart-show");
    box.hidden = !(state.unit && data.unit_metric);
    if (box.hidden) return;
    const per = C.perUnitText(data.unit_metric.scale, data.unit_metric.unit);
    box.querySelector('[data-show="unit"]').textContent = `Cost ${per}`;
    box.querySelectorAll("button").forEach((button) => button.setAttribute("aria-pressed", String(button.dataset.show === state.show)));
    $("unit-note").hidden = state.show !== "unit" || !!data.unit_metric.matched_dimensions.length || !result.body.group_by.length;
  }

  // --- events overlay -------------------------------------------------------------------------------------------------
  // The events of the range with the overlay's labels (the API matches them); the explorer's own filters on tags then
  // narrow them on the page (CostCharts.eventsFor).
  async function loadOverlay() {
    if (!state.events) {
      overlay = { key: null, events: [] };
      return;
    }
    const labels = state.eventLabels.map(C.labelPair);
    const key = JSON.stringify([state.start, state.end, labels]);
    if (overlay.key === key) return;
    try {
      overlay = { key, events: await K.fetchEvents(state.start, state.end, labels), error: null };
    } catch (error) {
      overlay = { key: null, events: [], error: error.message };
    }
  }

  // Budgets are read once per page; without them (an error) the chart simply has no budget line.
  async function loadBudgets() {
    if (budgets !== null) return;
    try {
      budgets = await C.api("GET", C.tenantPath("/budgets"));
    } catch {
      budgets = [];
    }
  }

  function overlayEvents() {
    return state.events ? K.eventsFor(overlay.events, state.filters) : [];
  }

  function renderEventList(markers, body) {
    const box = $("event-list");
    box.hidden = !state.events;
    if (box.hidden) return;
    const list = $("event-items");
    list.replaceChildren();
    const shown = new Set(markers.map((marker) => marker.id));
    const events = overlayEvents();
    let caption;
    if (overlay.error) caption = `Could not load events: ${overlay.error}`;
    else if (body.granularity === "none") caption = "Event markers show on charts over time: pick a granularity other than Whole range.";
    else caption = `${C.integer(shown.size)} event${shown.size === 1 ? "" : "s"} on the chart` +
      (state.eventLabels.length ? ` labelled ${state.eventLabels.join(", ")}` : "") +
      (state.filters.some((f) => f.dimension.startsWith("tag:")) ? ", matching the tag filters" : "");
    $("event-caption").textContent = caption;
    for (const event of events.filter((e) => shown.has(e.id))) {
      const labels = Object.entries(event.labels || {}).map(([key, value]) => `${key}: ${value}`).join(" · ");
      list.append(C.el("li", { class: "event-item", dataset: { eventId: event.id, category: event.category } },
        K.categoryBadge(event.category),
        C.el("span", { class: "event-when muted small", text: C.dateTime(event.start) }),
        C.eventTitle(event, "event-title"),
        labels ? C.el("span", { class: "muted small", text: labels }) : null));
    }
  }

  // --- table --------------------------------------------------------------------------------------------------------
  function tableModel(data, body, currencies) {
    const groups = body.group_by;
    const view = body.granularity === "none" ? "groups" : state.table;
    const groupCols = groups.map((g) => ({ key: `g:${g}`, label: dimensionLabel(g), group: g }));
    const columns = [];
    // A row's unit cost is the API's, for its period: shown by period, or by group when the range is one period.
    const unit = data.unit_metric && (view === "rows" || body.granularity === "none")
      ? [{ key: "unit_cost", label: `Cost ${C.perUnitText(data.unit_metric.scale, data.unit_metric.unit)}`, num: true }]
      : [];
    let rows;
    if (view === "rows") {
      columns.push({ key: "period", label: "Period" }, ...groupCols, { key: "currency", label: "Currency" },
        { key: "cost", label: METRIC_LABELS[body.metric], num: true }, ...unit);
      rows = data.rows.map((row) => ({ ...row, _label: groupLabel(row, groups) }));
    } else {
      columns.push(...groupCols, { key: "currency", label: "Currency" },
        { key: "cost", label: METRIC_LABELS[body.metric], num: true }, ...unit, { key: "share", label: "Share", num: true });
      if (!groups.length) columns.unshift({ key: "all", label: "Costs" });
      const totals = data.totals || {};
      rows = [];
      for (const currency of currencies) {
        for (const entry of rankedGroups(data.rows.filter((row) => row.currency === currency), groups)) {
          const cost = C.fromUnits(entry.units);
          const total = totals[currency];
          const share = total && Number(total) !== 0 ? Number(cost) / Number(total) : null;
          const unitCost = unit.length ? entry.row.unit_cost : undefined;
          rows.push({ ...entry.row, period: null, cost, currency, share, unit_cost: unitCost, _label: entry.label });
        }
      }
    }
    return { view, columns, rows, unitPerPeriod: !!data.unit_metric && !unit.length };
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
    const byAmount = column.key === "cost" || column.key === "share" || column.key === "unit_cost";
    return [...rows].sort((a, b) => {
      if (byAmount && a.currency !== b.currency) return currencyOrder.indexOf(a.currency) - currencyOrder.indexOf(b.currency);
      // "Other" stays at the bottom (of its period, when sorting by period).
      if (column.key !== "period" && a.other !== b.other) return a.other ? 1 : -1;
      let cmp;
      if (column.key === "cost") cmp = C.compareDecimals(a.cost, b.cost);
      else if (column.key === "unit_cost") {
        cmp = a.unit_cost == null || b.unit_cost == null
          ? (a.unit_cost == null) - (b.unit_cost == null) : C.compareDecimals(a.unit_cost, b.unit_cost);
      }
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
        } else if (column.key === "unit_cost") {
          tr.append(C.el("td", { class: "num unit-cost", dataset: { unitCost: row.unit_cost ?? "" } },
            row.unit_cost == null ? C.el("span", { class: "muted", title: "No metric value for this period or group", text: "—" })
              : C.unitMoney(row.unit_cost, row.currency)));
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
      if (model.columns.some((c) => c.key === "unit_cost")) {
        const ratio = (data.unit_totals || {})[currency] ?? null;
        tr.append(C.el("td", { class: "num", dataset: { unitCost: ratio ?? "" } }, C.unitMoney(ratio, currency)));
      }
      if (model.columns.some((c) => c.key === "share")) tr.append(C.el("td", { class: "num muted" }, "100%"));
      foot.append(tr);
    }
    table.tFoot.replaceWith(foot);

    const noun = model.view === "rows" ? "row" : "group";
    const count = rows.length;
    $("row-count").textContent = `${C.integer(count)} ${noun}${count === 1 ? "" : "s"}` +
      (count > MAX_TABLE_ROWS ? ` (first ${C.integer(MAX_TABLE_ROWS)} shown; the CSV has them all)` : "") +
      (model.unitPerPeriod ? " · unit costs are per period: see By period" : "");
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
        if (column.key === "unit_cost") return csvCell(row.unit_cost, true);
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

  // --- saving the view ------------------------------------------------------------------------------------------------
  function openSaveView() {
    const range = $("view-range");
    range.replaceChildren(C.el("option", { value: "", text: `Fixed: ${longDate(state.start)} – ${longDate(C.addDays(state.end, -1))}` }));
    for (const [name, label] of Object.entries(C.RANGES)) range.append(C.el("option", { value: name, text: `${label} (moves with time)` }));
    const same = Object.keys(C.RANGES).find((name) => String(C.rangeDates(name)) === String([state.start, state.end]));
    range.value = same || "";
    $("view-form-error").hidden = true;
    $("view-name").removeAttribute("aria-invalid");
    $("view-dialog").showModal();
    $("view-name").focus();
  }

  async function saveView(event) {
    event.preventDefault();
    const name = $("view-name").value.trim();
    if (!name) {
      $("view-name").setAttribute("aria-invalid", "true");
      return showViewError("Name the view, e.g. “Cost per 1k requests by team”.");
    }
    const labels = Object.fromEntries(state.eventLabels.map(C.labelPair));
    const body = {
      name, query: queryBody(state), range: $("view-range").value || null, chart: state.chart,
      events_overlay: state.events ? { enabled: true, labels, categories: [] } : null,
    };
    $("view-save").disabled = true;
    try {
      const view = await C.api("POST", C.tenantPath("/views"), { json: body });
      $("view-dialog").close();
      $("view-name").value = "";
      showViewCaption(view, "Saved as");
      C.toast(`Saved the view “${view.name}”: put it on a dashboard from the Dashboards page.`);
    } catch (error) {
      showViewError(error.message);
    } finally {
      $("view-save").disabled = false;
    }
  }

  function showViewError(message) {
    $("view-form-error").textContent = message;
    $("view-form-error").hidden = false;
  }

  function showViewCaption(view, prefix) {
    const box = $("view-caption");
    box.replaceChildren(`${prefix} `, C.el("strong", { text: `“${view.name}”` }), " · ",
      C.el("a", { href: `/console/dashboards?view=${encodeURIComponent(view.id)}`, text: "Add it to a dashboard" }));
    box.dataset.viewId = view.id;
    box.hidden = false;
  }

  // /console/explorer?view=ID (a view's shared `url`): its query becomes the explorer's state, written out in full.
  async function openView(viewId) {
    try {
      const view = await C.api("GET", C.tenantPath(`/views/${encodeURIComponent(viewId)}`));
      state = stateOfView(view);
      showViewCaption(view, "Saved view");
    } catch (error) {
      state = defaults();
      C.toast(`Could not open the saved view: ${error.message}`, "error");
    }
    history.replaceState(null, "", `${location.pathname}${toSearch(state)}`);
  }

  // --- wiring -------------------------------------------------------------------------------------------------------
  async function loadUnitMetrics() {
    try {
      unitMetrics = await C.api("GET", C.tenantPath("/metrics"));
    } catch (error) {
      unitMetrics = [];
      C.toast(`Could not load the usage metrics: ${error.message}`, "error");
    }
    fillUnitMetrics();
  }

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
    const queryControls = ["start", "end", "metric", "time-basis", "granularity", "top", "unit-metric", "unit-scale"];
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
    document.querySelectorAll("#chart-show button").forEach((button) => {
      button.addEventListener("click", () => {
        state.show = button.dataset.show;
        saveState(false);
        if (result) render();
      });
    });
    const overlayChanged = async () => {
      state.events = $("events-overlay").checked;
      const labels = C.readLabelPairs($("event-labels"), $("error-event-labels"));
      if (!labels) return;
      state.eventLabels = labels;
      saveState(false);
      renderControls();
      await loadOverlay();
      if (result) render();
    };
    $("events-overlay").addEventListener("change", overlayChanged);
    $("event-labels").addEventListener("change", overlayChanged);
    $("save-view").addEventListener("click", openSaveView);
    $("view-form").addEventListener("submit", saveView);
    $("view-cancel").addEventListener("click", () => $("view-dialog").close());
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

  async function start() {
    const viewId = new URLSearchParams(location.search).get("view");
    wire();
    if (viewId) await openView(viewId);
    else {
      state = readState(location.search);
      saveState(false); // an empty URL gets its defaults written out, so it can be bookmarked as it is
    }
    renderControls();
    loadDimensions();
    loadUnitMetrics();
    run();
  }

  start();
})();
