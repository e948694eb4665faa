// Billing sources (admins): list, add, edit, enable/disable, sync now, history, remove with confirmation.
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);
  const base = C.tenantPath("/billing-sources");
  const FIELDS = ["provider", "format", "source_uri", "options", "name", "region", "window_months", "enabled"];
  const FORMAT_OPTIONS = JSON.parse($("source-form").dataset.formatOptions || "{}");
  const anyOptions = Object.values(FORMAT_OPTIONS).some((keys) => keys && keys.length);

  let sources = [];
  let editing = null; // the source being edited, or null when adding
  let removing = null;
  let pollTimer = null;
  const openHistory = new Set();

  // --- list ---------------------------------------------------------------------------------------------------------
  async function load() {
    try {
      sources = await C.api("GET", base);
      render();
    } catch (error) {
      showState("error", `Could not load the billing sources: ${error.message}`);
    }
    schedulePoll();
  }

  function showState(name, message) {
    $("sources").dataset.state = name;
    const box = $("sources-message");
    box.replaceChildren();
    box.hidden = !message;
    box.className = `card message message-${name}`;
    if (message) box.append(...(Array.isArray(message) ? message : [message]));
    $("sources-card").hidden = name !== "ready";
  }

  function render() {
    if (!sources.length) {
      showState("empty", [
        C.el("p", { class: "empty-title", text: "No billing sources yet." }),
        C.el("p", {}, "Add one to start: point costlake at a FOCUS export in a bucket or folder, and it loads every month the export holds."),
        C.el("p", {}, C.el("button", { type: "button", class: "btn btn-primary", onclick: () => openForm(null) }, "+ Add billing source")),
      ]);
      return;
    }
    showState("ready", null);
    const tbody = document.createElement("tbody");
    for (const source of sources) {
      tbody.append(sourceRow(source));
      if (openHistory.has(source.id)) tbody.append(historyRow(source));
    }
    $("sources-table").tBodies[0].replaceWith(tbody);
  }

  function sourceRow(source) {
    const running = source.last_status === "running";
    const toggle = C.el("input", {
      type: "checkbox", role: "switch", class: "switch", checked: source.enabled,
      "aria-label": `Sync ${source.name} on schedule`,
      onchange: (event) => setEnabled(source, event.target.checked, event.target),
    });
    const status = C.el("div", { class: "status-cell" }, C.statusBadge(source.last_status));
    return C.el("tr", { dataset: { sourceId: source.id, sourceName: source.name } },
      C.el("td", { class: "source-cell" },
        C.el("div", { class: "strong source-name", text: source.name }),
        C.el("div", { class: "small muted", text: `${C.providerLabel(source.provider)} · ${C.formatLabel(source.format)} · ` +
          `reloads ${source.window_months} month${source.window_months === 1 ? "" : "s"}` }),
        C.el("div", { class: "mono small muted uri", title: source.source_uri, text: source.source_uri }),
        source.last_error
          ? C.el("p", { class: `small last-error ${source.last_status === "warning" ? "warn-text" : "error-text"}` },
            C.el("strong", { text: source.last_status === "warning" ? "Warning: " : "Last sync failed: " }), source.last_error)
          : null),
      C.el("td", {}, status),
      C.el("td", { class: "nowrap" }, source.last_synced_at
        ? C.el("span", { title: C.dateTime(source.last_synced_at), text: C.relative(source.last_synced_at) })
        : C.el("span", { class: "muted", text: "Never" })),
      C.el("td", { class: "num" }, source.last_row_count === null ? "—" : C.integer(source.last_row_count)),
      C.el("td", {}, C.el("label", { class: "switch-label" }, toggle, C.el("span", { text: source.enabled ? "On" : "Off" }))),
      C.el("td", { class: "actions" },
        C.el("button", { type: "button", class: "btn btn-small", disabled: running, onclick: () => syncNow(source) },
          running ? "Syncing…" : "Sync now"),
        C.el("button", { type: "button", class: "btn btn-small btn-quiet", "aria-expanded": String(openHistory.has(source.id)),
          onclick: () => toggleHistory(source) }, "History"),
        C.el("button", { type: "button", class: "btn btn-small btn-quiet", onclick: () => openForm(source) }, "Edit"),
        C.el("button", { type: "button", class: "btn btn-small btn-quiet btn-danger-text", onclick: () => openRemove(source) }, "Remove")));
  }

  function historyRow(source) {
    const cell = C.el("td", { colspan: "6", class: "history-cell" }, C.el("p", { class: "muted small", text: "Loading sync history…" }));
    C.api("GET", `${base}/${source.id}/syncs?limit=10`).then((page) => {
      cell.replaceChildren();
      if (!page.items.length) {
        cell.append(C.el("p", { class: "muted small", text: "No syncs yet. Sync now loads every month the export holds." }));
        return;
      }
      const table = C.el("table", { class: "data-table compact" },
        C.el("thead", {}, C.el("tr", {}, ...["Started", "Trigger", "Status", "Months", "Rows", "Files", "Message"].map(
          (h) => C.el("th", { scope: "col", class: h === "Rows" || h === "Files" ? "num" : null, text: h })))));
      const tbody = C.el("tbody");
      for (const run of page.items) {
        const message = run.error || (run.warnings || []).join("; ");
        tbody.append(C.el("tr", {},
          C.el("td", { class: "nowrap", text: C.dateTime(run.started_at) }),
          C.el("td", { text: run.trigger }),
          C.el("td", {}, C.statusBadge(run.status)),
          C.el("td", { class: "small", text: (run.months || []).join(", ") || "—" }),
          C.el("td", { class: "num", text: run.row_count === null ? "—" : C.integer(run.row_count) }),
          C.el("td", { class: "num", text: run.files === null ? "—" : C.integer(run.files) }),
          C.el("td", { class: run.error ? "error-text small" : "small", text: message || "" })));
      }
      table.append(tbody);
      cell.append(table);
    }).catch((error) => {
      cell.replaceChildren(C.el("p", { class: "error-text small", text: `Could not load the sync history: ${error.message}` }));
    });
    return C.el("tr", { class: "history-row" }, cell);
  }

  function toggleHistory(source) {
    if (openHistory.has(source.id)) openHistory.delete(source.id);
    else openHistory.add(source.id);
    render();
  }

  // While a sync runs, look again every 2 s until it is done.
  function schedulePoll() {
    clearTimeout(pollTimer);
    if (sources.some((source) => source.last_status === "running")) pollTimer = setTimeout(load, 2000);
  }

  async function syncNow(source) {
    try {
      await C.api("POST", `${base}/${source.id}/sync`);
      C.toast(`Sync of ${source.name} started.`);
    } catch (error) {
      const message = error.status === 409
        ? `A sync of ${source.name} is already running; it shows here when it ends.`
        : `Could not start a sync of ${source.name}: ${error.message}`;
      C.toast(message, error.status === 409 ? "info" : "error");
    }
    await load();
  }

  async function setEnabled(source, enabled, input) {
    input.disabled = true;
    try {
      await C.api("PUT", `${base}/${source.id}`, { json: { enabled } });
      C.toast(enabled ? `${source.name} syncs on schedule again.` : `${source.name} no longer syncs on schedule; Sync now still works.`);
    } catch (error) {
      C.toast(`Could not change ${source.name}: ${error.message}`, "error");
    }
    await load();
  }

  // --- add / edit -----------------------------------------------------------------------------------------------------
  function clearErrors() {
    for (const field of FIELDS) {
      const box = $(`error-${field}`);
      if (box) { box.hidden = true; box.textContent = ""; }
    }
    document.querySelectorAll("#source-form [aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    $("source-form-error").hidden = true;
  }

  function inputFor(field) {
    return document.querySelector(`#source-form [name="${field}"]`);
  }

  function openForm(source) {
    editing = source;
    const form = $("source-form");
    form.reset();
    clearErrors();
    $("source-title").textContent = source ? `Edit ${source.name}` : "Add a billing source";
    $("source-save").textContent = source ? "Save changes" : "Add source";
    inputFor("provider").disabled = !!source;
    inputFor("provider").title = source ? "A source's provider cannot change; add a new source instead." : "";
    if (source) {
      inputFor("provider").value = source.provider;
      inputFor("format").value = source.format;
      inputFor("source_uri").value = source.source_uri;
      inputFor("name").value = source.name;
      inputFor("region").value = source.region || "";
      inputFor("window_months").value = String(source.window_months);
      inputFor("enabled").checked = source.enabled;
      inputFor("options").value = Object.entries(source.options || {}).map(([k, v]) => `${k}=${v}`).join("\n");
    }
    syncOptionsHint();
    $("source-dialog").showModal();
    inputFor("source_uri").focus();
  }

  function syncOptionsHint() {
    const keys = FORMAT_OPTIONS[inputFor("format").value] || [];
    $("options-field").hidden = !anyOptions && !inputFor("options").value.trim();
    $("hint-options").textContent = keys.length
      ? `This format understands: ${keys.join(", ")}.`
      : "This format takes no options.";
  }

  // "key=value" lines -> {key: value}; null when a line is not of that shape.
  function parseOptions(text) {
    const options = {};
    for (const line of text.split(/\r?\n/)) {
      if (!line.trim()) continue;
      const at = line.indexOf("=");
      if (at <= 0) return null;
      options[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    return options;
  }

  function formFields() {
    const windowText = inputFor("window_months").value.trim();
    return {
      provider: inputFor("provider").value,
      format: inputFor("format").value,
      source_uri: inputFor("source_uri").value.trim(),
      name: inputFor("name").value.trim() || null,
      region: inputFor("region").value.trim() || null,
      window_months: windowText === "" ? null : Number(windowText),
      enabled: inputFor("enabled").checked,
      options: parseOptions(inputFor("options").value),
    };
  }

  function showFieldError(field, message) {
    const box = $(`error-${field}`);
    if (!box) return false;
    box.textContent = message;
    box.hidden = false;
    const input = inputFor(field);
    if (input) input.setAttribute("aria-invalid", "true");
    return true;
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    const fields = formFields();
    if (fields.options === null) { showFieldError("options", "Write each option as key=value, one per line."); return; }
    let body;
    if (editing) {
      body = {};
      for (const [key, value] of Object.entries(fields)) {
        if (key === "provider") continue;
        const before = editing[key] ?? null;
        // A name or window cannot be emptied: an empty field there means "leave it as it is".
        if (value === null && (key === "name" || key === "window_months")) continue;
        if (key === "options") {
          if (JSON.stringify(value) !== JSON.stringify(editing.options || {})) body.options = value;
          continue;
        }
        if (value !== before) body[key] = value;
      }
      if (!Object.keys(body).length) { $("source-dialog").close(); return; }
    } else {
      body = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
      if (!Object.keys(body.options).length) delete body.options;
      // The API's default format is not necessarily one it accepts by name ("auto"): leave it unsaid.
      if (body.format === $("source-form").dataset.defaultFormat) delete body.format;
      if (!body.source_uri) { showFieldError("source_uri", "Enter the URI of the export."); return; }
    }
    if (body.source_uri !== undefined || !editing) body.validate = inputFor("validate").checked;
    const button = $("source-save");
    button.disabled = true;
    button.dataset.label = button.textContent;
    button.textContent = body.validate ? "Checking the URI…" : "Saving…";
    try {
      const saved = editing
        ? await C.api("PUT", `${base}/${editing.id}`, { json: body })
        : await C.api("POST", base, { json: body });
      $("source-dialog").close();
      C.toast(editing ? `Saved ${saved.name}.` : `Added ${saved.name}. Its first sync starts shortly; use Sync now to start it at once.`);
      await load();
    } catch (error) {
      const fieldErrors = error.fieldErrors;
      let shown = false;
      for (const [field, message] of Object.entries(fieldErrors)) {
        shown = showFieldError(field === "validate" ? "source_uri" : field, message) || shown;
      }
      if (!shown && error.status === 403 && body.source_uri !== undefined) {
        // Access rules are about the URI (allowed local roots, allowed bucket prefixes).
        shown = showFieldError("source_uri", error.message);
      }
      if (!shown || Object.keys(fieldErrors).some((field) => !$(`error-${field}`) && field !== "validate")) {
        $("source-form-error").textContent = error.status === 409
          ? `${error.message} Wait for the running sync to finish, then save again.`
          : error.message;
        $("source-form-error").hidden = false;
      }
      const firstInvalid = document.querySelector("#source-form [aria-invalid=true]");
      if (firstInvalid) firstInvalid.focus();
    } finally {
      button.disabled = false;
      button.textContent = button.dataset.label;
    }
  }

  // --- remove -----------------------------------------------------------------------------------------------------------
  function openRemove(source) {
    removing = source;
    $("remove-title").textContent = `Remove ${source.name}?`;
    const rows = source.last_row_count ? ` (${C.integer(source.last_row_count)} rows in its last sync)` : "";
    $("remove-text").textContent =
      `This deletes the source, its sync history and every billing row it loaded${rows} from the cost store. ` +
      "The export itself is not touched. This cannot be undone.";
    $("remove-error").hidden = true;
    $("remove-dialog").showModal();
    $("remove-cancel").focus();
  }

  async function confirmRemove(event) {
    event.preventDefault();
    const source = removing;
    const button = $("remove-confirm");
    button.disabled = true;
    try {
      await C.api("DELETE", `${base}/${source.id}`);
      $("remove-dialog").close();
      C.toast(`Removed ${source.name} and its rows.`);
      await load();
    } catch (error) {
      $("remove-error").textContent = error.status === 409
        ? `${error.message} A source cannot be removed while it syncs; try again when the sync ends.`
        : error.message;
      $("remove-error").hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  $("add-source").addEventListener("click", () => openForm(null));
  inputFor("format").addEventListener("change", syncOptionsHint);
  $("source-form").addEventListener("submit", save);
  $("source-cancel").addEventListener("click", () => $("source-dialog").close());
  $("remove-form").addEventListener("submit", confirmRemove);
  $("remove-cancel").addEventListener("click", () => $("remove-dialog").close());
  load();
})();
