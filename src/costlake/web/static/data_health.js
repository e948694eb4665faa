// Data health (admins and members): per source its status, last success, freshness, staleness, errors, months.
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);

  function showState(name, message) {
    $("health").dataset.state = name;
    const box = $("health-message");
    box.replaceChildren();
    box.hidden = !message;
    box.className = `card message message-${name}`;
    if (message) box.append(...(Array.isArray(message) ? message : [message]));
  }

  async function load() {
    $("refresh-health").disabled = true;
    try {
      const data = await C.api("GET", C.tenantPath("/data-health"));
      render(data.sources || []);
      renderPulls(data.metric_pulls || []);
    } catch (error) {
      $("health-sources").replaceChildren();
      $("health-summary").hidden = true;
      showState("error", `Could not load data health: ${error.message}`);
    } finally {
      $("refresh-health").disabled = false;
    }
  }

  function render(sources) {
    const grid = $("health-sources");
    grid.replaceChildren();
    if (!sources.length) {
      $("health-summary").hidden = true;
      showState("empty", [
        C.el("p", { class: "empty-title", text: "No billing sources yet, so there is nothing to check." }),
        C.isAdmin
          ? C.el("p", {}, C.el("a", { href: "/console/billing-sources", text: "Connect a billing source" }),
            " and its months show here after the first sync.")
          : C.el("p", { text: "Ask an admin of your tenant to connect a billing source; its months show here after the first sync." }),
      ]);
      return;
    }
    showState("ready", null);
    renderSummary(sources);
    // Sources that need attention first.
    const rank = (s) => (s.status === "failed" || s.stale ? 0 : s.status === "warning" ? 1 : 2);
    const ordered = [...sources].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
    for (const source of ordered) grid.append(sourceCard(source));
  }

  // Scheduled metric pulls, failing and stale ones first.
  function renderPulls(pulls) {
    $("health-pulls").hidden = !pulls.length;
    const rank = (p) => (p.status === "failed" || p.stale ? 0 : 1);
    const tbody = C.el("tbody");
    for (const pull of [...pulls].sort((a, b) => rank(a) - rank(b) || a.metric.localeCompare(b.metric))) {
      tbody.append(C.el("tr", { dataset: { metric: pull.metric, status: pull.status || "", stale: String(!!pull.stale) } },
        C.el("td", {}, C.el("a", { href: `/console/metrics?${new URLSearchParams({ metric: pull.metric })}`, text: pull.metric }),
          C.el("span", { class: "muted small block", text: `${pull.kind === "postgres" ? "PostgreSQL" : "Prometheus"}${pull.enabled ? "" : " · paused"}` })),
        C.el("td", {}, C.el("div", { class: "badges badges-left" }, C.statusBadge(pull.status),
          pull.stale ? C.el("span", { class: "badge badge-stale", text: "Stale" }) : null)),
        C.el("td", { title: C.dateTime(pull.last_success_at) }, pull.last_success_at ? C.relative(pull.last_success_at) : C.el("span", { class: "muted", text: "Never" })),
        C.el("td", {}, pull.latest_day || C.el("span", { class: "muted", text: "No values yet" })),
        C.el("td", { class: "mono small last-error" }, pull.last_error || "")));
    }
    $("pulls-table").tBodies[0].replaceWith(tbody);
  }

  function renderSummary(sources) {
    const failing = sources.filter((s) => s.status === "failed").length;
    const stale = sources.filter((s) => s.stale).length;
    const warning = sources.filter((s) => s.status === "warning").length;
    const box = $("health-summary");
    box.hidden = false;
    const item = (value, label, kind) =>
      C.el("div", { class: `summary-item ${value && kind ? `summary-${kind}` : ""}` },
        C.el("span", { class: "summary-value", text: C.integer(value) }), C.el("span", { class: "summary-label", text: label }));
    box.replaceChildren(
      item(sources.length, sources.length === 1 ? "source" : "sources"),
      item(sources.filter((s) => !s.stale && s.status === "succeeded").length, "healthy"),
      item(warning, warning === 1 ? "with a warning" : "with warnings", "warning"),
      item(failing, "failing", "failed"),
      item(stale, "stale", "failed"),
    );
  }

  function meta(label, value, title) {
    return C.el("div", { class: "meta" }, C.el("dt", { text: label }), C.el("dd", { title: title || null }, value));
  }

  function sourceCard(source) {
    const badges = C.el("div", { class: "badges" }, C.statusBadge(source.status));
    if (source.stale) badges.append(C.el("span", { class: "badge badge-stale", text: "Stale" }));
    const side = C.el("div", { class: "health-side" },
      C.el("dl", { class: "meta-grid" },
        meta("Last success", source.last_success_at
          ? C.el("span", {}, C.relative(source.last_success_at), C.el("span", { class: "muted small block", text: C.dateTime(source.last_success_at) }))
          : C.el("span", { class: "muted", text: "Never" })),
        meta("Data through", source.freshness
          ? C.el("span", {}, C.dateTime(source.freshness))
          : C.el("span", { class: "muted", text: "No rows yet" }), "The latest ChargePeriodEnd the source has loaded"),
        meta("Schedule", source.enabled ? "Syncs on schedule" : C.el("span", { class: "muted", text: "Off: manual syncs only" })),
        meta("Months loaded", monthsSummary(source.months || []))));
    if (source.stale) {
      side.append(C.el("p", { class: "notice notice-warn small stale-reason" },
        `Stale: ${source.stale_reason || "the data is not current"}. `,
        source.last_error ? "The error below says what to fix; then sync again." : "Check that costlake serve or costlake worker is running, or sync now."));
    }
    if (source.last_error) {
      side.append(C.el("div", { class: "error-box", role: "note" },
        C.el("strong", { text: source.status === "warning" ? "Warning" : "Last error" }), C.el("p", { class: "mono small", text: source.last_error })));
    }
    const card = C.el("article", { class: "card health-card", dataset: { sourceId: source.id, sourceName: source.name, stale: String(!!source.stale) } },
      C.el("header", { class: "health-head" },
        C.el("div", {}, C.el("h2", { text: source.name }),
          C.el("p", { class: "muted small", text: `${C.providerLabel(source.provider)} · ${C.formatLabel(source.format)}` })),
        badges),
      C.el("div", { class: "health-body" }, side, monthsTable(source)));
    return card;
  }

  function monthsSummary(months) {
    if (!months.length) return C.el("span", { class: "muted", text: "None yet" });
    const sorted = months.map((m) => m.month).sort();
    const short = (m) => new Intl.DateTimeFormat(undefined, { month: "short", year: "numeric", timeZone: "UTC" })
      .format(C.parseDate(`${m}-01`));
    return sorted.length === 1 ? short(sorted[0])
      : `${sorted.length} · ${short(sorted[0])} – ${short(sorted[sorted.length - 1])}`;
  }

  function monthsTable(source) {
    const months = [...(source.months || [])].sort((a, b) => b.month.localeCompare(a.month));
    if (!months.length) {
      return C.el("p", { class: "muted small months-empty", text: "No billing months loaded yet: they show here after the first successful sync." });
    }
    // One column per currency: amounts in different currencies are never added.
    const currencies = [...new Set(months.flatMap((m) => Object.keys(m.billed_cost || {})))].sort();
    const tbody = C.el("tbody");
    for (const month of months) {
      tbody.append(C.el("tr", { dataset: { month: month.month } },
        C.el("td", { text: C.monthLabel(month.month) }),
        C.el("td", { class: "num", text: C.integer(month.rows) }),
        ...currencies.map((currency) => {
          const amount = (month.billed_cost || {})[currency];
          return C.el("td", { class: "num", dataset: { currency, amount: amount ?? "" } }, amount === undefined ? "—" : C.money(amount, currency));
        })));
    }
    return C.el("table", { class: "data-table compact months" },
      C.el("thead", {}, C.el("tr", {},
        C.el("th", { scope: "col", text: "Billing month" }),
        C.el("th", { scope: "col", class: "num", text: "Rows" }),
        ...currencies.map((currency) => C.el("th", { scope: "col", class: "num", text: `Billed cost (${currency})` })))),
      tbody);
  }

  $("refresh-health").addEventListener("click", load);
  load();
})();
