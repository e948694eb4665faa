// Metrics (admins and members read; admins create and upload): each usage metric with its latest value and where
// its values come from, a chart of one metric's daily values, and a CSV upload whose refusal names the line.
"use strict";

(() => {
  const C = Costlake;
  const K = CostCharts;
  const $ = (id) => document.getElementById(id);
  const AGGREGATIONS = { sum: "Sum", avg: "Average", max: "Maximum" };
  const LIST_DAYS = 366; // how far back the list looks for a metric's latest value
  const PREVIEW_AROUND = 2; // lines shown around the one a refused upload names

  let metrics = [];
  let pulls = new Map(); // metric name -> its scheduled pull, as data health reports it
  let selected = null; // {name, days}

  const today = () => C.isoDate(new Date());

  function showState(name, message) {
    $("metrics").dataset.state = name;
    const box = $("metrics-message");
    box.replaceChildren();
    box.hidden = !message;
    box.className = `card message message-${name}`;
    if (message) box.append(...(Array.isArray(message) ? message : [message]));
    $("metrics-card").hidden = name !== "ready";
  }

  // --- the list ---------------------------------------------------------------------------------------------------------
  async function load() {
    try {
      const [list, health] = await Promise.all([C.api("GET", C.tenantPath("/metrics")), C.api("GET", C.tenantPath("/data-health"))]);
      metrics = list;
      pulls = new Map((health.metric_pulls || []).map((pull) => [pull.metric, pull]));
    } catch (error) {
      showState("error", `Could not load the metrics: ${error.message}`);
      return;
    }
    if (!metrics.length) {
      $("metric-detail").hidden = true;
      showState("empty", [
        C.el("p", { class: "empty-title", text: "No usage metrics yet." }),
        C.el("p", {}, C.isAdmin
          ? "Create one (say requests), then upload its daily values as CSV, push them with costlake metric push, or pull them from Prometheus or PostgreSQL."
          : "Ask an admin of your tenant to create one; its daily values then show here and in the explorer as cost per unit."),
      ]);
      return;
    }
    showState("ready", null);
    const tbody = document.createElement("tbody");
    for (const metric of metrics) tbody.append(metricRow(metric));
    $("metrics-table").tBodies[0].replaceWith(tbody);
    await Promise.all(metrics.map(loadLatest));
    const wanted = new URLSearchParams(location.search);
    const name = wanted.get("metric");
    select(metrics.some((m) => m.name === name) ? name : metrics[0].name, Number(wanted.get("days")) || 30, false);
  }

  function metricRow(metric) {
    const tr = C.el("tr", { dataset: { metric: metric.name } },
      C.el("td", {}, C.el("button", { type: "button", class: "link-button strong", text: metric.name, onclick: () => select(metric.name, selected ? selected.days : 30, true) }),
        metric.description ? C.el("div", { class: "muted small", text: metric.description }) : null),
      C.el("td", { class: "metric-unit", text: metric.unit }),
      C.el("td", { class: "metric-aggregation", dataset: { aggregation: metric.aggregation }, text: AGGREGATIONS[metric.aggregation] || metric.aggregation }),
      C.el("td", { class: "num latest" }, C.el("span", { class: "muted small", text: "…" })),
      C.el("td", { class: "pull" }, pullCell(pulls.get(metric.name))));
    return tr;
  }

  function pullCell(pull) {
    if (!pull) return C.el("span", { class: "muted", dataset: { pull: "none" }, text: "Pushed (CSV or API)" });
    const kind = pull.kind === "prometheus" ? "Prometheus" : pull.kind === "postgres" ? "PostgreSQL" : pull.kind;
    const box = C.el("div", { dataset: { pull: pull.kind, status: pull.status || "" } },
      C.el("div", { class: "badges badges-left" }, C.el("span", { class: "strong", text: `${kind} pull` }), C.statusBadge(pull.status),
        pull.stale ? C.el("span", { class: "badge badge-stale", text: "Stale" }) : null,
        pull.enabled ? null : C.el("span", { class: "badge", text: "Paused" })),
      C.el("div", { class: "muted small" },
        pull.last_success_at ? `last success ${C.relative(pull.last_success_at)}` : "no successful run yet",
        pull.latest_day ? ` · data through ${pull.latest_day}` : ""));
    if (pull.last_error) box.append(C.el("p", { class: "last-error error-text small mono", text: pull.last_error }));
    return box;
  }

  // The latest day with values, and its total over label sets (labels partition the quantity).
  async function loadLatest(metric) {
    const cell = document.querySelector(`#metrics-table tr[data-metric="${CSS.escape(metric.name)}"] td.latest`);
    try {
      const answer = await C.api("GET", valuesPath(metric.name, C.addDays(today(), -LIST_DAYS), C.addDays(today(), 1)));
      const days = K.metricDaily(answer.values);
      const last = [...days.keys()].sort().pop();
      cell.dataset.date = last || "";
      cell.dataset.value = last ? days.get(last) : "";
      cell.replaceChildren(last
        ? C.el("span", {}, C.quantity(days.get(last)), C.el("span", { class: "muted small block", text: `on ${last}` }))
        : C.el("span", { class: "muted", text: "No values in the last year" }));
    } catch (error) {
      cell.replaceChildren(C.el("span", { class: "error-text small", text: error.message }));
    }
  }

  function valuesPath(name, start, end) {
    return C.tenantPath(`/metrics/${encodeURIComponent(name)}/values?${new URLSearchParams({ start, end })}`);
  }

  // --- one metric ---------------------------------------------------------------------------------------------------------
  async function select(name, days, push) {
    selected = { name, days: [30, 90, 365].includes(days) ? days : 30 };
    const url = `${location.pathname}?${new URLSearchParams({ metric: name, days: String(selected.days) })}`;
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
    document.querySelectorAll("#metrics-table tbody tr").forEach((tr) => tr.setAttribute("aria-selected", String(tr.dataset.metric === name)));
    const metric = metrics.find((m) => m.name === name);
    const detail = $("metric-detail");
    detail.hidden = false;
    detail.dataset.state = "loading";
    detail.dataset.metric = name;
    $("detail-name").textContent = `${metric.name} (${metric.unit})`;
    $("detail-description").textContent = [metric.description, `days add up by ${AGGREGATIONS[metric.aggregation].toLowerCase()}`].filter(Boolean).join(" · ");
    $("detail-days").value = String(selected.days);
    $("detail-explore").href = `/console/explorer?${new URLSearchParams({ unit: metric.name, scale: "1000", show: "unit" })}`;
    const start = C.addDays(today(), 1 - selected.days);
    const end = C.addDays(today(), 1);
    let answer;
    try {
      answer = await C.api("GET", valuesPath(name, start, end));
    } catch (error) {
      $("detail-summary").textContent = `Could not load the values: ${error.message}`;
      detail.dataset.state = "error";
      return;
    }
    if (!selected || selected.name !== name) return;
    const daily = K.metricDaily(answer.values);
    const chart = K.draw($("metric-chart"), K.metricChart(answer.values, start, end, metric.unit), { start, end, days: String(daily.size) });
    chart.canvas.dataset.metric = name;
    $("detail-summary").textContent = daily.size
      ? `${C.integer(daily.size)} of the last ${C.integer(selected.days)} days have values (${C.integer(answer.values.length)} with their labels).`
      : `No values in the last ${C.integer(selected.days)} days.`;
    renderLatest(answer.values);
    detail.dataset.state = "ready";
  }

  function renderLatest(values) {
    const last = values.map((v) => v.date).sort().pop();
    const tbody = document.createElement("tbody");
    for (const value of values.filter((v) => v.date === last)) {
      const labels = Object.entries(value.labels).map(([key, text]) => `${key}: ${text}`).join(" · ");
      tbody.append(C.el("tr", { dataset: { labels: JSON.stringify(value.labels), value: value.value } },
        C.el("td", {}, labels || C.el("span", { class: "muted", text: "(no labels)" })),
        C.el("td", { class: "num", text: C.quantity(value.value) })));
    }
    if (!tbody.children.length) tbody.append(C.el("tr", {}, C.el("td", { colspan: "2", class: "muted", text: "No values yet." })));
    $("latest-table").tBodies[0].replaceWith(tbody);
    $("latest-table").dataset.date = last || "";
  }

  // --- CSV upload (admins) ------------------------------------------------------------------------------------------------
  async function upload(event) {
    event.preventDefault();
    const file = $("csv-file").files[0];
    $("upload-result").hidden = true;
    $("upload-error").hidden = true;
    if (!file) return uploadError("Choose a CSV file first.", null);
    const text = await file.text();
    $("csv-upload").disabled = true;
    try {
      const written = await C.api("POST", C.tenantPath(`/metrics/${encodeURIComponent(selected.name)}/values.csv`), { text, contentType: "text/csv" });
      $("upload-result").textContent = `${file.name}: stored ${C.integer(written.upserted)} value${written.upserted === 1 ? "" : "s"}` +
        (written.deleted ? `, deleted ${C.integer(written.deleted)}` : "") + ".";
      $("upload-result").dataset.upserted = String(written.upserted);
      $("upload-result").dataset.deleted = String(written.deleted);
      $("upload-result").hidden = false;
      $("csv-file").value = "";
      await Promise.all([loadLatest(metrics.find((m) => m.name === selected.name)), select(selected.name, selected.days, false)]);
    } catch (error) {
      const where = error.status === 422 && Array.isArray(error.detail) ? String((error.detail[0].loc || [])[1] || "") : "";
      const line = /^line (\d+)$/.exec(where);
      uploadError(error.message, line ? { text, number: Number(line[1]) } : null);
    } finally {
      $("csv-upload").disabled = false;
    }
  }

  // The refusal as the API words it and, when it names a line, that line among its neighbours.
  function uploadError(message, line) {
    $("upload-error-text").textContent = message;
    const preview = $("csv-preview");
    preview.replaceChildren();
    preview.hidden = !line;
    if (line) {
      const lines = line.text.replace(/\r\n?/g, "\n").split("\n");
      const first = Math.max(1, line.number - PREVIEW_AROUND);
      const last = Math.min(lines.length, line.number + PREVIEW_AROUND);
      preview.setAttribute("start", String(first));
      for (let n = first; n <= last; n++) {
        const bad = n === line.number;
        preview.append(C.el("li", { class: bad ? "bad-line" : null, dataset: { line: String(n) }, "aria-current": bad ? "true" : null },
          C.el("code", { text: lines[n - 1] || " " })));
      }
    }
    $("upload-error").hidden = false;
  }

  // --- a new metric (admins) --------------------------------------------------------------------------------------------------
  function openCreate() {
    const form = $("metric-form");
    form.reset();
    C.clearFormErrors(form);
    $("metric-dialog").showModal();
    $("metric-name").focus();
  }

  async function create(event) {
    event.preventDefault();
    const form = $("metric-form");
    const body = {
      name: $("metric-name").value.trim(), unit: $("metric-unit").value.trim(), aggregation: $("metric-aggregation").value,
      description: $("metric-description").value.trim() || null,
    };
    $("metric-save").disabled = true;
    try {
      const metric = await C.api("POST", C.tenantPath("/metrics"), { json: body });
      $("metric-dialog").close();
      C.toast(`Created the metric ${metric.name}. Upload its values below.`);
      history.replaceState(null, "", `${location.pathname}?${new URLSearchParams({ metric: metric.name })}`);
      await load();
    } catch (error) {
      C.showFormErrors(form, error);
    } finally {
      $("metric-save").disabled = false;
    }
  }

  $("detail-days").addEventListener("change", () => select(selected.name, Number($("detail-days").value), true));
  if (C.isAdmin) {
    $("add-metric").addEventListener("click", openCreate);
    $("metric-form").addEventListener("submit", create);
    $("metric-cancel").addEventListener("click", () => $("metric-dialog").close());
    $("upload-form").addEventListener("submit", upload);
  }
  window.addEventListener("popstate", () => {
    const params = new URLSearchParams(location.search);
    if (metrics.some((m) => m.name === params.get("metric"))) select(params.get("metric"), Number(params.get("days")) || 30, false);
  });
  load();
})();
