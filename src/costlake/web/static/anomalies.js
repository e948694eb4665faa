// Anomalies (admins and members): the list, one anomaly's chart against its expected band, its root causes, and the
// actions the API allows the caller (members acknowledge; admins also snooze and resolve).
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);
  const STATUS_BADGE = { open: "failed", acknowledged: "warning", snoozed: "none", resolved: "succeeded" };
  let nextCursor = null;
  let current = null;

  const seriesText = (series) => Object.entries(series || {}).map(([key, value]) => `${key}: ${value}`).join(", ") || "All costs";
  const badge = (anomaly) => C.el("span", { class: `badge badge-${STATUS_BADGE[anomaly.status] || "none"}`, text: anomaly.status });

  function showMessage(text) {
    $("anomalies-message").hidden = !text;
    $("anomalies-message").textContent = text || "";
  }

  async function loadList(append = false) {
    const params = new URLSearchParams({ limit: "50" });
    if ($("status-filter").value) params.set("status", $("status-filter").value);
    if (append && nextCursor) params.set("cursor", nextCursor);
    try {
      const page = await C.api("GET", C.tenantPath(`/anomalies?${params}`));
      nextCursor = page.next_cursor;
      renderList(page.items, append);
    } catch (error) {
      $("anomalies-section").dataset.state = "error";
      showMessage(`Could not load anomalies: ${error.message}`);
    }
  }

  function renderList(items, append) {
    const table = $("anomalies-table");
    const tbody = table.querySelector("tbody");
    if (!append) tbody.replaceChildren();
    for (const anomaly of items) {
      const link = C.el("a", { href: `?id=${encodeURIComponent(anomaly.id)}`, text: seriesText(anomaly.series) });
      link.addEventListener("click", (event) => {
        event.preventDefault();
        history.replaceState(null, "", `?id=${encodeURIComponent(anomaly.id)}`);
        loadDetail(anomaly.id);
      });
      tbody.append(C.el("tr", { dataset: { id: anomaly.id, status: anomaly.status, impact: anomaly.impact } },
        C.el("td", {}, badge(anomaly)),
        C.el("td", {}, link),
        C.el("td", { class: "start", text: anomaly.start_date }),
        C.el("td", { class: "num", text: C.integer(anomaly.days_active) }),
        C.el("td", { class: "num impact", text: C.money(anomaly.impact, anomaly.currency) }),
        C.el("td", { class: "currency", text: anomaly.currency })));
    }
    const empty = !tbody.children.length;
    table.hidden = empty;
    showMessage(empty ? "No anomalies: every series stayed within its expected band." : null);
    $("more-anomalies").hidden = !nextCursor;
    $("anomalies-section").dataset.state = "ready";
  }

  async function loadDetail(id) {
    const section = $("anomaly-detail");
    section.hidden = false;
    section.dataset.state = "loading";
    try {
      renderDetail(await C.api("GET", C.tenantPath(`/anomalies/${encodeURIComponent(id)}`)));
    } catch (error) {
      section.dataset.state = "error";
      $("detail-title").textContent = "Anomaly not shown";
      $("detail-summary").textContent = `Could not load it: ${error.message}`;
    }
  }

  function renderDetail(anomaly) {
    current = anomaly;
    const section = $("anomaly-detail");
    section.dataset.id = anomaly.id;
    section.dataset.status = anomaly.status;
    $("detail-title").replaceChildren(badge(anomaly), " ", seriesText(anomaly.series));
    const span = anomaly.active ? `since ${anomaly.start_date}, still active` : `${anomaly.start_date} to ${anomaly.last_date}`;
    $("detail-summary").textContent = [
      `${anomaly.direction === "down" ? "Drop" : "Spike"} ${span}`,
      `actual ${C.money(anomaly.actual, anomaly.currency)} against ${C.money(anomaly.expected, anomaly.currency)} expected`,
      `impact ${C.money(anomaly.impact, anomaly.currency)}`,
      anomaly.snoozed_until ? `snoozed until ${C.dateTime(anomaly.snoozed_until)}` : null,
      anomaly.resolution ? `resolved as ${anomaly.resolution}` : null,
      anomaly.data_incomplete ? "data incomplete: a source of this series was syncing or failing" : null,
    ].filter(Boolean).join(" · ");
    CostCharts.draw($("anomaly-chart"), CostCharts.bandChart(anomaly.daily, anomaly.currency), { anomaly: anomaly.id });

    const tbody = $("root-causes").querySelector("tbody");
    tbody.replaceChildren(...anomaly.root_causes.map((cause) => C.el("tr", { dataset: { dimension: cause.dimension, value: String(cause.value) } },
      C.el("td", { text: cause.dimension }),
      C.el("td", { class: "mono", text: String(cause.value) }),
      C.el("td", { class: "num delta", text: C.money(cause.delta, anomaly.currency) }),
      C.el("td", { class: "num", text: cause.share === null || cause.share === undefined ? "" : `${cause.share}%` }))));
    const drivers = anomaly.drivers || {};
    $("drivers").textContent = Object.keys(drivers).length
      ? `Drivers: volume ${C.money(drivers.volume || "0", anomaly.currency)} · rate ${C.money(drivers.rate || "0", anomaly.currency)} · other ${C.money(drivers.other || "0", anomaly.currency)}`
      : "";
    $("anomaly-events").replaceChildren(...anomaly.events.map((event) => C.el("li", {},
      `${C.dateTime(event.at)} ${event.type}`, event.by ? ` by ${event.by}` : "", event.reason ? ` (${event.reason})` : "",
      event.note ? `: ${event.note}` : "")));

    $("acknowledge").disabled = anomaly.status === "acknowledged" || anomaly.status === "resolved";
    if ($("resolve")) $("resolve").disabled = anomaly.status === "resolved";
    if ($("snooze-until") && !$("snooze-until").value) $("snooze-until").value = C.addDays(C.isoDate(new Date()), 7);
    section.dataset.state = "ready";
  }

  async function act(action, body, button) {
    button.disabled = true;
    try {
      const updated = await C.api("POST", C.tenantPath(`/anomalies/${encodeURIComponent(current.id)}/${action}`), { json: body });
      renderDetail(updated);
      C.toast(`Anomaly ${updated.status}.`);
      await loadList();
    } catch (error) {
      C.toast(`Could not ${action}: ${error.message}`, "error");
    } finally {
      button.disabled = false;
      if (current) renderDetail(current);
    }
  }

  $("acknowledge").addEventListener("click", () => act("acknowledge", {}, $("acknowledge")));
  if ($("snooze")) $("snooze").addEventListener("click", () => act("snooze", { until: $("snooze-until").value }, $("snooze")));
  if ($("resolve")) $("resolve").addEventListener("click", () => act("resolve", { reason: $("resolve-reason").value }, $("resolve")));
  $("status-filter").addEventListener("change", () => loadList());
  $("more-anomalies").addEventListener("click", () => loadList(true));

  loadList();
  const wanted = new URLSearchParams(location.search).get("id");
  if (wanted) loadDetail(wanted);
})();
