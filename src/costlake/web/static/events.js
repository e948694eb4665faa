// Events: a timeline of the tenant's engineering events, filtered by dates, category and labels (the filters live in
// the URL); admins and members add one by hand; admins delete events and manage the inbound webhook endpoints,
// whose secret is shown once, when created.
"use strict";

(() => {
  const C = Costlake;
  const K = CostCharts;
  const $ = (id) => document.getElementById(id);
  const CATEGORIES = Object.keys(K.CATEGORY_LABELS);
  const DEFAULT_DAYS = 30;

  let filters = null; // {start, end (exclusive), category, labels: ["k:v"]}

  // --- filters <-> URL -----------------------------------------------------------------------------------------------------
  function readFilters(search) {
    const params = new URLSearchParams(search);
    const today = C.isoDate(new Date());
    const start = C.parseDate(params.get("start")) ? params.get("start") : C.addDays(today, -DEFAULT_DAYS);
    const end = C.parseDate(params.get("end")) ? params.get("end") : C.addDays(today, 1);
    return {
      start, end,
      category: CATEGORIES.includes(params.get("category")) ? params.get("category") : "",
      labels: params.getAll("label").filter((pair) => C.labelPair(pair)),
    };
  }

  function apiParams(f) {
    const params = new URLSearchParams({ start: f.start, end: f.end });
    if (f.category) params.set("category", f.category);
    for (const pair of f.labels) params.append("label", pair);
    return params;
  }

  function renderFilters() {
    $("events-start").value = filters.start;
    $("events-end").value = C.addDays(filters.end, -1);
    $("events-category").value = filters.category;
    $("events-labels").value = filters.labels.join(", ");
  }

  function filtersChanged() {
    const labels = C.readLabelPairs($("events-labels"), $("error-events-labels"));
    const to = $("events-end").value;
    if (!labels || !C.parseDate($("events-start").value) || !C.parseDate(to)) return;
    filters = { start: $("events-start").value, end: C.addDays(to, 1), category: $("events-category").value, labels };
    history.pushState(null, "", `${location.pathname}?${apiParams(filters)}`);
    loadEvents();
  }

  // --- the timeline ----------------------------------------------------------------------------------------------------------
  function showState(name, message) {
    $("timeline").dataset.state = name;
    const box = $("timeline-message");
    box.replaceChildren();
    box.hidden = !message;
    box.className = `card message message-${name}`;
    if (message) box.append(...(Array.isArray(message) ? message : [message]));
  }

  async function loadEvents() {
    if (filters.start >= filters.end) {
      $("timeline-days").replaceChildren();
      $("timeline-count").textContent = "";
      showState("error", "The From date must be on or before the To date.");
      return;
    }
    const asked = apiParams(filters).toString();
    showState("loading", null);
    let events;
    try {
      events = await C.api("GET", C.tenantPath(`/events?${asked}`));
    } catch (error) {
      showState("error", `Could not load the events: ${error.message}`);
      return;
    }
    if (asked !== apiParams(filters).toString()) return; // the filters changed meanwhile
    renderTimeline(events);
  }

  function renderTimeline(events) {
    const list = $("timeline-days");
    list.replaceChildren();
    $("timeline-count").textContent = `${C.integer(events.length)} event${events.length === 1 ? "" : "s"}, newest first`;
    if (!events.length) {
      const narrowed = filters.category || filters.labels.length;
      showState("empty", [
        C.el("p", { class: "empty-title", text: narrowed ? "No events match these filters in this range." : "No events in this range." }),
        C.el("p", { text: "Add one by hand, post them from CI to the events API (a member token is enough), or connect GitHub or PagerDuty through an inbound webhook." }),
      ]);
      return;
    }
    showState("ready", null);
    const byDay = new Map();
    for (const event of [...events].reverse()) {
      const day = event.start.slice(0, 10);
      if (!byDay.has(day)) byDay.set(day, []);
      byDay.get(day).push(event);
    }
    for (const [day, items] of byDay) {
      const heading = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" })
        .format(C.parseDate(day));
      list.append(C.el("li", { class: "timeline-day", dataset: { day } },
        C.el("h2", { class: "timeline-date", text: heading }),
        C.el("ul", { class: "timeline-items" }, items.map(eventItem))));
    }
  }

  function timeOf(iso) {
    return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" }).format(new Date(iso));
  }

  function eventItem(event) {
    const when = event.end ? `${timeOf(event.start)} – ${event.end.slice(0, 10) === event.start.slice(0, 10) ? timeOf(event.end) : C.dateTime(event.end)}` : timeOf(event.start);
    const labels = Object.entries(event.labels || {});
    return C.el("li", { class: `card timeline-item category-${event.category}`, dataset: { eventId: event.id, category: event.category } },
      C.el("div", { class: "timeline-when" }, C.el("span", { class: "strong", text: when }), C.el("span", { class: "muted small", text: "UTC" })),
      C.el("div", { class: "timeline-body" },
        C.el("div", { class: "timeline-title" }, K.categoryBadge(event.category),
          C.eventTitle(event, "event-title")),
        labels.length || event.source
          ? C.el("div", { class: "timeline-meta" },
            labels.map(([key, value]) => C.el("button", {
              type: "button", class: "label-chip", title: `Show only events labelled ${key}:${value}`, dataset: { label: `${key}:${value}` },
              onclick: () => addLabelFilter(`${key}:${value}`),
            }, `${key}: ${value}`)),
            event.source ? C.el("span", { class: "muted small", text: `from ${event.source}` }) : null)
          : null),
      C.isAdmin
        ? C.el("button", { type: "button", class: "btn btn-small btn-quiet btn-danger-text", onclick: () => removeEvent(event) }, "Delete")
        : null);
  }

  function addLabelFilter(pair) {
    if (filters.labels.includes(pair)) return;
    $("events-labels").value = [...filters.labels, pair].join(", ");
    filtersChanged();
  }

  async function removeEvent(event) {
    if (!window.confirm(`Delete the event “${event.title}”? Charts and digests stop showing it.`)) return;
    try {
      await C.api("DELETE", C.tenantPath(`/events/${encodeURIComponent(event.id)}`));
      C.toast(`Deleted “${event.title}”.`);
      loadEvents();
    } catch (error) {
      C.toast(`Could not delete the event: ${error.message}`, "error");
    }
  }

  // --- adding an event ----------------------------------------------------------------------------------------------------------
  function openAdd() {
    const form = $("event-form");
    form.reset();
    C.clearFormErrors(form);
    $("event-start").value = new Date().toISOString().slice(0, 16); // now, in UTC
    $("event-dialog").showModal();
    $("event-name").focus();
  }

  // "team=payments" lines into {"team": "payments"}; a line without "=" is refused here, naming it.
  function parseLabels(text) {
    const labels = {};
    const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
    for (const [index, line] of lines.entries()) {
      const at = line.search(/[=:]/);
      if (at <= 0) throw new Error(`line ${index + 1}: “${line}” is not KEY=VALUE`);
      labels[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return labels;
  }

  async function add(event) {
    event.preventDefault();
    const form = $("event-form");
    C.clearFormErrors(form);
    let labels;
    try {
      labels = parseLabels($("event-labels").value);
    } catch (error) {
      $("error-labels").textContent = error.message;
      $("error-labels").hidden = false;
      $("event-labels").setAttribute("aria-invalid", "true");
      return;
    }
    const start = $("event-start").value;
    const end = $("event-end").value;
    if (!start) {
      $("error-timestamp").textContent = "Pick when it happened (UTC).";
      $("error-timestamp").hidden = false;
      $("event-start").setAttribute("aria-invalid", "true");
      return;
    }
    const utc = (local) => `${local.length === 16 ? `${local}:00` : local}Z`; // datetime-local has no zone: the form says UTC
    const body = {
      title: $("event-name").value.trim(), category: $("event-category").value, source: $("event-source").value.trim() || null,
      labels, url: $("event-url").value.trim() || null,
      ...(end ? { start: utc(start), end: utc(end) } : { timestamp: utc(start) }),
    };
    $("event-save").disabled = true;
    try {
      const created = await C.api("POST", C.tenantPath("/events"), { json: body });
      $("event-dialog").close();
      C.toast(`Added “${created.title}”.`);
      const day = created.start.slice(0, 10);
      if (day < filters.start || day >= filters.end) {
        // Widen the range so the new event shows.
        filters = { ...filters, start: day < filters.start ? day : filters.start, end: day >= filters.end ? C.addDays(day, 1) : filters.end };
        history.pushState(null, "", `${location.pathname}?${apiParams(filters)}`);
        renderFilters();
      }
      loadEvents();
    } catch (error) {
      if (error.fieldErrors.start) error.fieldErrors.timestamp = error.fieldErrors.start; // one field for both forms
      C.showFormErrors(form, error);
    } finally {
      $("event-save").disabled = false;
    }
  }

  // --- webhooks (admins) --------------------------------------------------------------------------------------------------------
  const KIND_LABELS = { github: "GitHub", pagerduty: "PagerDuty", generic: "Generic (Standard Webhooks)" };
  const SECRET_HINTS = {
    github: "In the repository's Settings → Webhooks: content type application/json, this secret; events Deployments, Deployment statuses, Releases, Pull requests.",
    pagerduty: "Deliveries must carry X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body with this secret> (PagerDuty v3 incident events).",
    generic: "Sign each request the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature) with this key.",
  };

  async function loadWebhooks() {
    let hooks;
    try {
      hooks = await C.api("GET", C.tenantPath("/webhooks"));
    } catch (error) {
      $("webhooks-empty").textContent = `Could not load the endpoints: ${error.message}`;
      $("webhooks-empty").hidden = false;
      return;
    }
    $("webhooks").dataset.state = "ready";
    $("webhooks-empty").textContent = "No endpoints yet.";
    $("webhooks-empty").hidden = hooks.length > 0;
    $("webhooks-table").hidden = !hooks.length;
    const tbody = document.createElement("tbody");
    for (const hook of hooks) {
      tbody.append(C.el("tr", { dataset: { webhookId: hook.id, kind: hook.kind } },
        C.el("td", {}, C.el("div", { class: "strong", text: hook.name || KIND_LABELS[hook.kind] }),
          C.el("div", { class: "muted small", text: `${KIND_LABELS[hook.kind]} · created ${C.dateTime(hook.created_at)}` })),
        C.el("td", { class: "mono small uri", text: `${location.origin}${hook.url}` }),
        C.el("td", {}, hook.last_received_at ? C.el("span", { title: C.dateTime(hook.last_received_at), text: C.relative(hook.last_received_at) })
          : C.el("span", { class: "muted", text: "Nothing received yet" })),
        C.el("td", { class: "actions" }, C.el("button", { type: "button", class: "btn btn-small btn-quiet btn-danger-text", onclick: () => removeWebhook(hook) }, "Delete"))));
    }
    $("webhooks-table").tBodies[0].replaceWith(tbody);
  }

  function openWebhook() {
    const form = $("webhook-form");
    form.reset();
    C.clearFormErrors(form);
    form.hidden = false;
    $("webhook-created").hidden = true;
    $("webhook-dialog").showModal();
  }

  async function createWebhook(event) {
    event.preventDefault();
    const form = $("webhook-form");
    const body = { kind: $("webhook-kind").value, name: $("webhook-name").value.trim() || null };
    $("webhook-save").disabled = true;
    try {
      const hook = await C.api("POST", C.tenantPath("/webhooks"), { json: body });
      form.hidden = true;
      $("created-url").value = `${location.origin}${hook.url}`;
      $("created-secret").value = hook.secret;
      $("created-hint").textContent = SECRET_HINTS[hook.kind] || "";
      $("webhook-created").hidden = false;
      $("webhook-created").dataset.webhookId = hook.id;
      loadWebhooks();
    } catch (error) {
      C.showFormErrors(form, error);
    } finally {
      $("webhook-save").disabled = false;
    }
  }

  // Closing forgets the secret: it is not on the page any more once the dialog is gone.
  function forgetSecret() {
    $("created-secret").value = "";
    $("webhook-created").hidden = true;
  }

  async function removeWebhook(hook) {
    if (!window.confirm(`Delete the endpoint “${hook.name || KIND_LABELS[hook.kind]}”? Its sender's deliveries will get 404; the events it recorded stay.`)) return;
    try {
      await C.api("DELETE", C.tenantPath(`/webhooks/${encodeURIComponent(hook.id)}`));
      loadWebhooks();
    } catch (error) {
      C.toast(`Could not delete the endpoint: ${error.message}`, "error");
    }
  }

  async function copy(button) {
    const input = $(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(input.value);
      button.textContent = "Copied";
    } catch {
      input.select(); // no clipboard access (plain http): selected, for Ctrl-C
    }
  }

  // --- wiring -------------------------------------------------------------------------------------------------------------------
  for (const id of ["events-start", "events-end", "events-category", "events-labels"]) $(id).addEventListener("change", filtersChanged);
  $("event-filters").addEventListener("submit", (event) => { event.preventDefault(); filtersChanged(); });
  $("add-event").addEventListener("click", openAdd);
  $("event-form").addEventListener("submit", add);
  $("event-cancel").addEventListener("click", () => $("event-dialog").close());
  window.addEventListener("popstate", () => { filters = readFilters(location.search); renderFilters(); loadEvents(); });
  if (C.isAdmin) {
    $("add-webhook").addEventListener("click", openWebhook);
    $("webhook-form").addEventListener("submit", createWebhook);
    $("webhook-cancel").addEventListener("click", () => $("webhook-dialog").close());
    // Forgotten at once on Done (the dialog's close event comes a task later), and on any other close (Escape).
    $("webhook-done").addEventListener("click", () => { forgetSecret(); $("webhook-dialog").close(); });
    $("webhook-dialog").addEventListener("close", forgetSecret);
    document.querySelectorAll("[data-copy]").forEach((button) => button.addEventListener("click", () => copy(button)));
    loadWebhooks();
  }
  filters = readFilters(location.search);
  history.replaceState(null, "", `${location.pathname}?${apiParams(filters)}`);
  renderFilters();
  loadEvents();
})();
