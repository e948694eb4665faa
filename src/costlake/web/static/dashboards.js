// Dashboards: the list of dashboards and saved views, and one dashboard (?id=...) as a 12-column grid of widgets,
// each drawn from the API (a view from GET .../views/{id}/result, a metric series from its values, a note as text).
// Everyone in the tenant reads every dashboard; its author and the tenant's admins edit it (the API decides: the
// page only leaves out the buttons it would refuse).
"use strict";

(() => {
  const C = Costlake;
  const K = CostCharts;
  const $ = (id) => document.getElementById(id);
  const CHART_OF_VIEW = { bar: "bar", stacked: "bar", area: "area", line: "line", table: "bar" };
  const WIDTHS = { 3: "Quarter", 4: "Third", 6: "Half", 8: "Two thirds", 12: "Full" };

  const params = new URLSearchParams(location.search);
  let views = [];
  let metrics = [];
  let board = null; // the dashboard shown (as the API answered)
  let draft = null; // {name, widgets} while editing
  const answers = new Map(); // widget data by what it asks: re-rendering while editing does not ask again

  const mine = (row) => C.isAdmin || row.created_by === C.tokenId;
  const viewsPath = (rest = "") => C.tenantPath(`/views${rest}`);
  const boardsPath = (rest = "") => C.tenantPath(`/dashboards${rest}`);

  function once(key, ask) {
    if (!answers.has(key)) answers.set(key, ask().catch((error) => { answers.delete(key); throw error; }));
    return answers.get(key);
  }

  function message(box, name, content) {
    box.replaceChildren();
    box.hidden = !content;
    box.className = `card message message-${name}`;
    if (content) box.append(...(Array.isArray(content) ? content : [content]));
  }

  function rangeText(view) {
    if (view.range) return C.RANGES[view.range] || view.range;
    return `${view.query.start} – ${C.addDays(view.query.end, -1)}`;
  }

  // --- the list ---------------------------------------------------------------------------------------------------------------
  async function showList() {
    $("list-mode").hidden = false;
    let dashboards;
    try {
      [dashboards, views] = await Promise.all([C.api("GET", boardsPath()), C.api("GET", viewsPath())]);
    } catch (error) {
      $("dashboards").dataset.state = "error";
      message($("dashboards-message"), "error", `Could not load the dashboards: ${error.message}`);
      return;
    }
    renderDashboards(dashboards);
    renderViews();
    offerView(dashboards);
  }

  function renderDashboards(dashboards) {
    $("dashboards").dataset.state = dashboards.length ? "ready" : "empty";
    $("dashboards-card").hidden = !dashboards.length;
    message($("dashboards-message"), "empty", dashboards.length ? null : [
      C.el("p", { class: "empty-title", text: "No dashboards yet." }),
      C.el("p", { text: "Create one, then add saved views (save one from the explorer), metric series and notes." }),
    ]);
    const tbody = document.createElement("tbody");
    for (const dashboard of dashboards) {
      tbody.append(C.el("tr", { dataset: { dashboardId: dashboard.id } },
        C.el("td", {}, C.el("a", { class: "strong", href: `?id=${encodeURIComponent(dashboard.id)}`, text: dashboard.name }),
          dashboard.created_by === C.tokenId ? C.el("span", { class: "badge badge-mine", text: "yours" }) : null),
        C.el("td", { class: "num", text: C.integer(dashboard.widgets.length) }),
        C.el("td", { title: C.dateTime(dashboard.updated_at), text: C.relative(dashboard.updated_at) })));
    }
    $("dashboards-table").tBodies[0].replaceWith(tbody);
  }

  function renderViews() {
    $("views").dataset.state = views.length ? "ready" : "empty";
    $("views-card").hidden = !views.length;
    $("views-message").hidden = views.length > 0;
    $("views-message").textContent = "No saved views yet: in the explorer, set up a view and press Save view.";
    const tbody = document.createElement("tbody");
    for (const view of views) {
      const shows = [view.chart === "table" ? "table" : `${view.chart} chart`];
      if (view.query.unit_metric) shows.push(`cost per ${view.query.unit_scale > 1 ? `${C.integer(view.query.unit_scale)} ` : ""}${view.query.unit_metric}`);
      if (view.events_overlay && view.events_overlay.enabled) shows.push("event markers");
      tbody.append(C.el("tr", { dataset: { viewId: view.id } },
        C.el("td", {}, C.el("a", { class: "strong", href: `/console/explorer?view=${encodeURIComponent(view.id)}`, text: view.name }),
          view.created_by === C.tokenId ? C.el("span", { class: "badge badge-mine", text: "yours" }) : null,
          C.el("div", { class: "muted small", text: [view.query.group_by.length ? `by ${view.query.group_by.join(", ")}` : "all costs", view.query.granularity].join(" · ") })),
        C.el("td", { text: rangeText(view) }),
        C.el("td", { class: "muted", text: shows.join(" · ") }),
        C.el("td", { class: "actions" },
          C.el("a", { class: "btn btn-small", href: `?view=${encodeURIComponent(view.id)}` }, "Add to dashboard"),
          mine(view) ? C.el("button", { type: "button", class: "btn btn-small btn-quiet btn-danger-text", onclick: () => removeView(view) }, "Delete") : null)));
    }
    $("views-table").tBodies[0].replaceWith(tbody);
  }

  async function removeView(view) {
    if (!window.confirm(`Delete the view “${view.name}”? Dashboards that show it will say it is gone.`)) return;
    try {
      await C.api("DELETE", viewsPath(`/${encodeURIComponent(view.id)}`));
      views = views.filter((v) => v.id !== view.id);
      renderViews();
    } catch (error) {
      C.toast(`Could not delete the view: ${error.message}`, "error");
    }
  }

  // ?view=ID (from the explorer's "Add it to a dashboard"): pick one of the dashboards you may change, or a new one.
  function offerView(dashboards) {
    const view = views.find((v) => v.id === params.get("view"));
    $("add-view-card").hidden = !view;
    if (!view) return;
    $("add-view-text").replaceChildren("Add the view ", C.el("strong", { text: `“${view.name}”` }), " to");
    const select = $("add-view-target");
    select.replaceChildren(...dashboards.filter(mine).map((d) => C.el("option", { value: d.id, text: d.name })),
      C.el("option", { value: "", text: `A new dashboard “${view.name}”` }));
    $("add-view-form").onsubmit = async (event) => {
      event.preventDefault();
      const widget = { type: "view", view_id: view.id, display: view.chart === "table" ? "table" : "chart", width: 6 };
      const target = dashboards.find((d) => d.id === select.value);
      $("add-view-save").disabled = true;
      try {
        const saved = target
          ? await C.api("PUT", boardsPath(`/${encodeURIComponent(target.id)}`), { json: { widgets: [...target.widgets, widget] } })
          : await C.api("POST", boardsPath(), { json: { name: view.name, widgets: [widget] } });
        location.assign(`?id=${encodeURIComponent(saved.id)}`);
      } catch (error) {
        $("add-view-error").textContent = error.message;
        $("add-view-error").hidden = false;
      } finally {
        $("add-view-save").disabled = false;
      }
    };
  }

  function openCreate() {
    const form = $("dashboard-form");
    form.reset();
    C.clearFormErrors(form);
    $("dashboard-dialog").showModal();
    $("dashboard-name").focus();
  }

  async function create(event) {
    event.preventDefault();
    $("dashboard-save").disabled = true;
    try {
      const created = await C.api("POST", boardsPath(), { json: { name: $("dashboard-name").value.trim(), widgets: [] } });
      location.assign(`?id=${encodeURIComponent(created.id)}&edit=1`);
    } catch (error) {
      C.showFormErrors($("dashboard-form"), error);
    } finally {
      $("dashboard-save").disabled = false;
    }
  }

  // --- one dashboard --------------------------------------------------------------------------------------------------------------
  async function showBoard(id) {
    $("board-mode").hidden = false;
    try {
      [board, views, metrics] = await Promise.all([
        C.api("GET", boardsPath(`/${encodeURIComponent(id)}`)), C.api("GET", viewsPath()), C.api("GET", C.tenantPath("/metrics")),
      ]);
    } catch (error) {
      $("board-name").textContent = "Dashboard";
      message($("board-message"), "error", error.status === 404
        ? [C.el("p", { text: "There is no such dashboard in your tenant (deleted?)." }), C.el("a", { href: "/console/dashboards", text: "All dashboards" })]
        : `Could not load the dashboard: ${error.message}`);
      return;
    }
    const editable = mine(board);
    $("edit-board").hidden = !editable;
    $("delete-board").hidden = !editable;
    if (editable && params.get("edit") === "1") startEditing();
    else render();
  }

  function render() {
    const widgets = draft ? draft.widgets : board.widgets;
    $("board-name").textContent = draft ? `Editing “${board.name}”` : board.name;
    $("board-meta").textContent = `${C.integer(widgets.length)} widget${widgets.length === 1 ? "" : "s"} · updated ${C.relative(board.updated_at)}` +
      (mine(board) ? "" : " · read only: made by someone else; its author or an admin can change it");
    $("board-editor").hidden = !draft;
    $("board-actions").hidden = !!draft;
    message($("board-message"), "empty", widgets.length ? null : [
      C.el("p", { class: "empty-title", text: "This dashboard has no widgets yet." }),
      C.el("p", { text: mine(board) ? "Edit it to add saved views, metric series and notes." : "Its author has not added any." }),
    ]);
    $("board-grid").replaceChildren(...widgets.map((widget, index) => widgetCard(widget, index, widgets.length)));
  }

  function widgetCard(widget, index, count) {
    const card = C.el("article", { class: `card widget w-${widget.width}`, dataset: { index: String(index), type: widget.type } });
    const head = C.el("header", { class: "widget-head" });
    const body = C.el("div", { class: "widget-body" });
    card.append(head, body);
    if (draft) card.append(widgetTools(widget, index, count));
    if (widget.type === "note") {
      head.remove();
      body.append(C.el("p", { class: "note-text", text: widget.text }));
    } else if (widget.type === "view") {
      fillView(widget, head, body);
    } else {
      fillMetric(widget, head, body);
    }
    return card;
  }

  function heading(head, title, subtitle, link) {
    head.replaceChildren(C.el("div", {}, C.el("h2", { class: "widget-title", text: title }),
      subtitle ? C.el("p", { class: "muted small", text: subtitle }) : null), link || "");
  }

  function failed(body, text) {
    body.replaceChildren(C.el("p", { class: "error-text small widget-error", text }));
  }

  async function fillView(widget, head, body) {
    const view = views.find((v) => v.id === widget.view_id);
    heading(head, widget.title || (view ? view.name : "A deleted view"), view ? rangeText(view) : null,
      view ? C.el("a", { class: "small", href: `/console/explorer?view=${encodeURIComponent(view.id)}`, text: "Open in explorer" }) : null);
    if (!view) return failed(body, "This saved view was deleted: remove the widget, or add another view.");
    body.append(C.el("p", { class: "muted small", text: "Loading…" }));
    let data;
    let events = [];
    try {
      data = await once(`view:${view.id}`, () => C.api("GET", viewsPath(`/${encodeURIComponent(view.id)}/result`)));
      const overlay = view.events_overlay;
      if (overlay && overlay.enabled && widget.display === "chart") {
        const found = await once(`events:${JSON.stringify([data.query.start, data.query.end, overlay.labels])}`,
          () => K.fetchEvents(data.query.start, data.query.end, Object.entries(overlay.labels || {})));
        events = K.eventsFor(found, data.query.filters, overlay.categories || []);
      }
    } catch (error) {
      return failed(body, `Could not run the view: ${error.message}`);
    }
    const currencies = [...new Set([...Object.keys(data.totals), ...data.rows.map((row) => row.currency)])].sort();
    const totals = C.el("div", { class: "widget-totals" }, currencies.map((currency) => {
      const ratio = data.unit_metric ? (data.unit_totals || {})[currency] ?? null : undefined;
      return C.el("span", { class: "widget-total", dataset: { currency, amount: data.totals[currency] ?? "", unitTotal: ratio ?? "" } },
        C.el("strong", { text: C.money(data.totals[currency] ?? "0", currency) }),
        ratio === undefined ? null : ` · ${C.unitMoney(ratio, currency)} ${C.perUnitText(data.unit_metric.scale, data.unit_metric.unit)}`);
    }));
    if (!data.rows.length) {
      body.replaceChildren(C.el("p", { class: "muted", text: "No costs in this view's dates." }));
      return;
    }
    if (widget.display === "table") {
      body.replaceChildren(totals, viewTable(data, currencies));
      return;
    }
    const currency = currencies.includes("USD") ? "USD" : currencies[0];
    const canvas = C.el("canvas", { role: "img", "aria-label": `${view.name}: ${data.unit_metric ? "unit cost" : "cost"} in ${currency}` });
    body.replaceChildren(totals, C.el("div", { class: "chart-box chart-widget" }, canvas));
    const show = data.unit_metric ? "unit" : "cost";
    K.draw(canvas, K.costChart(data, data.query, { currency, chart: CHART_OF_VIEW[view.chart], show, events }), { currency, show });
  }

  // A view as a table: its groups per currency, largest first, with the unit cost where the range is one period.
  function viewTable(data, currencies) {
    const query = data.query;
    const unit = data.unit_metric && query.granularity === "none";
    const names = query.group_by.map((g) => (g.startsWith("tag:") ? `Tag: ${g.slice(4)}` : g));
    const head = C.el("tr", {}, C.el("th", { scope: "col", text: names.join(" · ") || "Costs" }),
      C.el("th", { scope: "col", text: "Currency" }), C.el("th", { scope: "col", class: "num", text: K.METRIC_LABELS[query.metric] }),
      unit ? C.el("th", { scope: "col", class: "num", text: `Cost ${C.perUnitText(data.unit_metric.scale, data.unit_metric.unit)}` }) : null);
    const tbody = C.el("tbody");
    for (const currency of currencies) {
      for (const entry of K.rankedGroups(data.rows.filter((row) => row.currency === currency), query.group_by, query.metric)) {
        const cost = C.fromUnits(entry.units);
        tbody.append(C.el("tr", { class: entry.other ? "row-other" : null, dataset: { currency, group: entry.label } },
          C.el("td", { text: entry.label }), C.el("td", { text: currency }),
          C.el("td", { class: "num", dataset: { amount: cost } }, C.money(cost, currency)),
          unit ? C.el("td", { class: "num", dataset: { unitCost: entry.row.unit_cost ?? "" } }, C.unitMoney(entry.row.unit_cost ?? null, currency)) : null));
      }
    }
    return C.el("div", { class: "table-scroll widget-table" }, C.el("table", { class: "data-table compact" }, C.el("thead", {}, head), tbody));
  }

  async function fillMetric(widget, head, body) {
    const metric = metrics.find((m) => m.name === widget.metric);
    const [start, end] = C.rangeDates(widget.range);
    heading(head, widget.title || (metric ? `${metric.name} (${metric.unit})` : widget.metric), C.RANGES[widget.range],
      C.el("a", { class: "small", href: `/console/metrics?${new URLSearchParams({ metric: widget.metric })}`, text: "Open metric" }));
    if (!metric) return failed(body, `The metric ${widget.metric} was deleted: remove the widget.`);
    let answer;
    try {
      answer = await once(`metric:${metric.name}:${start}:${end}`,
        () => C.api("GET", C.tenantPath(`/metrics/${encodeURIComponent(metric.name)}/values?${new URLSearchParams({ start, end })}`)));
    } catch (error) {
      return failed(body, `Could not load the values: ${error.message}`);
    }
    const days = K.metricDaily(answer.values);
    const last = [...days.keys()].sort().pop();
    const canvas = C.el("canvas", { role: "img", "aria-label": `${metric.name} per day` });
    body.replaceChildren(
      C.el("p", { class: "widget-totals small", dataset: { latest: last ? days.get(last) : "" } },
        last ? [C.el("strong", { text: C.quantity(days.get(last)) }), ` ${metric.unit} on ${last}`] : "No values in these dates."),
      C.el("div", { class: "chart-box chart-widget" }, canvas));
    K.draw(canvas, K.metricChart(answer.values, start, end, metric.unit), { start, end, metric: metric.name });
  }

  // --- editing ----------------------------------------------------------------------------------------------------------------------
  function startEditing() {
    draft = { name: board.name, widgets: board.widgets.map((widget) => ({ ...widget })) };
    $("board-title").value = board.name;
    C.clearFormErrors($("board-editor"));
    $("widget-view").replaceChildren(...views.map((view) => C.el("option", { value: view.id, text: view.name })));
    $("widget-metric").replaceChildren(...metrics.map((metric) => C.el("option", { value: metric.name, text: `${metric.name} (${metric.unit})` })));
    $("widget-range").replaceChildren(...Object.entries(C.RANGES).map(([name, label]) => C.el("option", { value: name, text: label })));
    $("widget-range").value = "last_30_days";
    syncAdder();
    render();
  }

  function syncAdder() {
    const type = $("widget-type").value;
    document.querySelectorAll("#widget-adder [data-widget-type]").forEach((field) => {
      field.hidden = !field.dataset.widgetType.split(" ").includes(type);
    });
    $("widget-width").value = type === "note" ? "12" : "6";
    const missing = type === "view" && !views.length ? "No saved views yet: save one from the explorer first."
      : type === "metric" && !metrics.length ? "No metrics yet: create one on the Metrics page first." : "";
    $("add-widget").disabled = !!missing;
    $("error-widgets").textContent = missing;
    $("error-widgets").hidden = !missing;
  }

  function addWidget() {
    const type = $("widget-type").value;
    const width = Number($("widget-width").value);
    const title = $("widget-title").value.trim() || null;
    let widget;
    if (type === "view") widget = { type, view_id: $("widget-view").value, display: $("widget-display").value, title, width };
    else if (type === "metric") widget = { type, metric: $("widget-metric").value, range: $("widget-range").value, title, width };
    else {
      const text = $("widget-note").value.trim();
      if (!text) {
        $("error-widgets").textContent = "Write the note's text first.";
        $("error-widgets").hidden = false;
        return;
      }
      widget = { type, text, width };
    }
    draft.widgets.push(widget);
    $("widget-title").value = "";
    $("widget-note").value = "";
    $("error-widgets").hidden = true;
    render();
  }

  function widgetTools(widget, index, count) {
    const move = (by) => {
      const [moved] = draft.widgets.splice(index, 1);
      draft.widgets.splice(index + by, 0, moved);
      render();
    };
    const width = C.el("select", { class: "widget-width", "aria-label": "Width" },
      Object.entries(WIDTHS).map(([value, label]) => C.el("option", { value, text: label })));
    width.value = String(widget.width);
    width.addEventListener("change", () => { widget.width = Number(width.value); render(); });
    const tools = C.el("div", { class: "widget-tools" },
      C.el("button", { type: "button", class: "btn btn-small", title: "Move earlier", "aria-label": "Move earlier", disabled: index === 0, onclick: () => move(-1) }, "←"),
      C.el("button", { type: "button", class: "btn btn-small", title: "Move later", "aria-label": "Move later", disabled: index === count - 1, onclick: () => move(1) }, "→"),
      width);
    if (widget.type === "view") {
      const display = C.el("select", { class: "widget-display", "aria-label": "Show as" },
        C.el("option", { value: "chart", text: "Chart" }), C.el("option", { value: "table", text: "Table" }));
      display.value = widget.display;
      display.addEventListener("change", () => { widget.display = display.value; render(); });
      tools.append(display);
    }
    tools.append(C.el("button", {
      type: "button", class: "btn btn-small btn-quiet btn-danger-text widget-remove", onclick: () => { draft.widgets.splice(index, 1); render(); },
    }, "Remove"));
    return tools;
  }

  async function save(event) {
    event.preventDefault();
    const form = $("board-editor");
    C.clearFormErrors(form);
    $("save-board").disabled = true;
    try {
      board = await C.api("PUT", boardsPath(`/${encodeURIComponent(board.id)}`), { json: { name: $("board-title").value.trim(), widgets: draft.widgets } });
      draft = null;
      history.replaceState(null, "", `?id=${encodeURIComponent(board.id)}`);
      C.toast("Saved the dashboard.");
      render();
    } catch (error) {
      C.showFormErrors(form, error);
    } finally {
      $("save-board").disabled = false;
    }
  }

  function cancel() {
    draft = null;
    history.replaceState(null, "", `?id=${encodeURIComponent(board.id)}`);
    render();
  }

  async function removeBoard() {
    if (!window.confirm(`Delete the dashboard “${board.name}”? Its saved views stay.`)) return;
    try {
      await C.api("DELETE", boardsPath(`/${encodeURIComponent(board.id)}`));
      location.assign("/console/dashboards");
    } catch (error) {
      C.toast(`Could not delete the dashboard: ${error.message}`, "error");
    }
  }

  // --- wiring ------------------------------------------------------------------------------------------------------------------------
  $("add-dashboard").addEventListener("click", openCreate);
  $("dashboard-form").addEventListener("submit", create);
  $("dashboard-cancel").addEventListener("click", () => $("dashboard-dialog").close());
  $("edit-board").addEventListener("click", startEditing);
  $("delete-board").addEventListener("click", removeBoard);
  $("board-editor").addEventListener("submit", save);
  $("cancel-board").addEventListener("click", cancel);
  $("widget-type").addEventListener("change", syncAdder);
  $("add-widget").addEventListener("click", addWidget);
  if (params.get("id")) showBoard(params.get("id"));
  else showList();
})();
