// Billing sources (admins): list, add, edit, enable/disable, sync now, history, remove with confirmation.
// Secrets (vendor keys, SAS tokens) are write-only: typed into inputs that are never prefilled, sent once in the
// request body, and cleared when the dialog closes; the API only ever says which kind is set.
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);
  const base = C.tenantPath("/billing-sources");
  const FIELDS = ["provider", "format", "source_uri", "options", "name", "region", "window_months", "enabled",
    "credential", "storage_credential", "from"];
  const FORMAT_OPTIONS = JSON.parse($("source-form").dataset.formatOptions || "{}");
  // Vendor API sources by provider: {parts: ["api_key", ...], options: [...], hint: "the Admin API key (...)"}.
  const VENDORS = JSON.parse($("source-form").dataset.vendors || "{}");
  const anyOptions = [...Object.values(FORMAT_OPTIONS), ...Object.values(VENDORS).map((v) => v.options)]
    .some((keys) => keys && keys.length);
  // The one field each storage identity kind takes (the API's names).
  const STORAGE_FIELDS = { "aws-role": "role_arn", "gcp-service-account": "service_account", "azure-sas": "sas_token" };

  // A field the form itself finds wrong before asking the API.
  class FieldProblem extends Error {
    constructor(field, message) {
      super(message);
      this.field = field;
    }
  }

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
        C.el("p", {}, "Add one to start: point costlake at a billing export in a bucket or folder, or connect a vendor's billing API with its key, and it loads every month there is."),
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
    const running = source.last_status === "running" || source.last_status === "queued";
    const toggle = C.el("input", {
      type: "checkbox", role: "switch", class: "switch", checked: source.enabled,
      "aria-label": `Sync ${source.name} on schedule`,
      onchange: (event) => setEnabled(source, event.target.checked, event.target),
    });
    const status = C.el("div", { class: "status-cell" }, C.statusBadge(source.last_status));
    if (running) status.append(runProgress(source));
    return C.el("tr", { dataset: { sourceId: source.id, sourceName: source.name } },
      C.el("td", { class: "source-cell" },
        C.el("div", { class: "strong source-name", text: source.name }),
        C.el("div", { class: "small muted", text: `${C.providerLabel(source.provider)} · ${C.formatLabel(source.format)} · ` +
          `reloads ${source.window_months} month${source.window_months === 1 ? "" : "s"}` }),
        C.el("div", { class: "mono small muted uri", title: source.source_uri, text: source.source_uri }),
        secretLine(source),
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
        C.el("button", { type: "button", class: "btn btn-small btn-quiet", disabled: running, onclick: () => openSyncFrom(source) },
          "Sync from…"),
        C.el("button", { type: "button", class: "btn btn-small btn-quiet", "aria-expanded": String(openHistory.has(source.id)),
          onclick: () => toggleHistory(source) }, "History"),
        C.el("button", { type: "button", class: "btn btn-small btn-quiet", onclick: () => openForm(source) }, "Edit"),
        C.el("button", { type: "button", class: "btn btn-small btn-quiet btn-danger-text", onclick: () => openRemove(source) }, "Remove")));
  }

  // A running sync's progress from its newest run ("writing · 3/12 files · 120,000 rows · 2 months"), and a way to
  // cancel it; refreshed with the list every 2 s while it runs.
  function runProgress(source) {
    const line = C.el("div", { class: "small muted run-progress", text: "starting…" });
    const box = C.el("div", { class: "run-box" }, line);
    C.api("GET", `${base}/${source.id}/syncs?limit=1`).then((page) => {
      const run = page.items[0];
      if (!run || run.status !== "running") return;
      line.textContent = describeProgress(run.progress);
      box.append(C.el("button", {
        type: "button", class: "btn btn-small btn-quiet btn-danger-text", disabled: !!run.cancel_requested_at,
        onclick: (event) => cancelRun(source, run, event.target),
      }, run.cancel_requested_at ? "Cancelling…" : "Cancel sync"));
    }).catch(() => { line.textContent = ""; });
    return box;
  }

  function describeProgress(progress) {
    if (!progress) return "starting…";
    const parts = [progress.phase];
    if (progress.files) parts.push(`${C.integer(progress.files_read)}/${C.integer(progress.files)} files`);
    parts.push(`${C.integer(progress.rows)} row${progress.rows === 1 ? "" : "s"}`);
    if (progress.months.length) parts.push(`${progress.months.length} month${progress.months.length === 1 ? "" : "s"}`);
    return parts.join(" · ");
  }

  async function cancelRun(source, run, button) {
    button.disabled = true;
    try {
      await C.api("POST", `${base}/${source.id}/syncs/${run.id}/cancel`);
      C.toast(`Cancelling the sync of ${source.name}: it stops before it commits, and nothing changes.`);
    } catch (error) {
      C.toast(error.status === 409 ? `The sync of ${source.name} already ended.` : `Could not cancel: ${error.message}`,
        error.status === 409 ? "info" : "error");
    }
    await load();
  }

  // Which secret a source holds, never its value: "credential set (stored)", "storage identity set (aws-role)".
  function secretLine(source) {
    const [what, state] = source.credential ? ["credential", source.credential] : ["storage identity", source.storage_credential];
    return state ? C.el("div", { class: "small muted secret-state", text: `${what} set (${state.kind})` }) : null;
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
    if (sources.some((source) => ["queued", "running"].includes(source.last_status))) pollTimer = setTimeout(load, 2000);
  }

  async function syncNow(source) {
    try {
      await startSync(source, null);
    } catch (error) {
      const message = error.status === 409
        ? `A sync of ${source.name} is already running; it shows here when it ends.`
        : `Could not start a sync of ${source.name}: ${error.message}`;
      C.toast(message, error.status === 409 ? "info" : "error");
    }
    await load();
  }

  // Sync from a date: reload every billing month from that date's month (an export older than the first sync reached).
  let syncing = null;
  function openSyncFrom(source) {
    syncing = source;
    $("sync-title").textContent = `Sync ${source.name} from a date`;
    $("sync-from").value = "";
    $("sync-from").max = C.isoDate(new Date());
    $("error-sync-from").hidden = true;
    $("sync-from").removeAttribute("aria-invalid");
    $("sync-dialog").showModal();
    $("sync-from").focus();
  }

  // POST .../sync with {from}; the API's 422 (e.g. a future date) names the field.
  async function startSync(source, from) {
    await C.api("POST", `${base}/${source.id}/sync`, { json: from ? { from } : undefined });
    C.toast(from ? `Sync of ${source.name} from ${from} started.` : `Sync of ${source.name} started.`);
  }

  async function confirmSyncFrom(event) {
    event.preventDefault();
    const from = $("sync-from").value;
    const fail = (message) => {
      $("error-sync-from").textContent = message;
      $("error-sync-from").hidden = false;
      $("sync-from").setAttribute("aria-invalid", "true");
    };
    if (!from) { fail("Pick the first day to reload from."); return; }
    $("sync-start").disabled = true;
    try {
      await startSync(syncing, from);
      $("sync-dialog").close();
      await load();
    } catch (error) {
      fail(error.status === 409 ? `${error.message} Try again when it ends.` : (error.fieldErrors.from || error.message));
    } finally {
      $("sync-start").disabled = false;
    }
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

  // The inputs a field's error belongs to, as far as they show (a credential has one input per part).
  function visibleInputsFor(field) {
    return [...document.querySelectorAll(`#source-form [name="${field}"], #source-form [data-field="${field}"]`)]
      .filter((node) => !node.closest("[hidden]"));
  }

  function vendorOf(provider) {
    return VENDORS[provider] || null;
  }

  // "api_key" -> "API key", "app_key" -> "App key".
  function partLabel(part) {
    const words = part.split("_");
    return [words[0] === "api" ? "API" : words[0][0].toUpperCase() + words[0].slice(1), ...words.slice(1)].join(" ");
  }

  function clearSecrets() {
    document.querySelectorAll('#source-form input[type="password"], #credential-env, #storage-role_arn, #storage-service_account')
      .forEach((input) => { input.value = ""; });
  }

  // Saved or cancelled: typed secrets go at once (Escape closes the dialog without us: its close event clears them).
  function closeForm() {
    clearSecrets();
    $("source-dialog").close();
  }

  function openForm(source) {
    editing = source;
    const form = $("source-form");
    form.reset();
    clearErrors();
    $("source-title").textContent = source ? `Edit ${source.name}` : "Add a billing source";
    $("source-save").textContent = source ? "Save changes" : "Add source";
    $("from-field").hidden = !!source;  // a source's later syncs take a date with Sync from…
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
      if (source.credential) document.querySelector(`#source-form [name="credential_kind"][value="${source.credential.kind}"]`).checked = true;
      $("storage-kind").value = source.storage_credential ? source.storage_credential.kind : "";
    }
    syncProvider();
    $("source-dialog").showModal();
    const first = vendorOf(inputFor("provider").value) ? visibleInputsFor("credential")[0] : inputFor("source_uri");
    first.focus();
  }

  // A vendor API source has no URI, format, region or storage identity: it has a credential instead.
  function syncProvider() {
    const provider = inputFor("provider").value;
    const vendor = vendorOf(provider);
    document.querySelectorAll("#source-form [data-export-only]").forEach((node) => { node.hidden = !!vendor; });
    document.querySelectorAll("#source-form [data-vendor-only]").forEach((node) => { node.hidden = !vendor; });
    const label = C.providerLabel(provider);
    $("label-options").firstChild.textContent = vendor ? `${label} options ` : "Format options ";
    inputFor("name").placeholder = vendor ? `"${provider}" when empty` : "Derived from the URI when empty";
    $("validate-text").textContent = vendor
      ? `Check the credential with ${label} now`
      : "Check the URI now (uncheck for an export that does not exist yet)";
    if (vendor) {
      $("hint-credential").textContent = `${label} needs ${vendor.hint}.`;
      $("credential-parts").replaceChildren(...vendor.parts.map((part) => C.el("div", { class: "field" },
        C.el("label", { for: `credential-part-${part}`, text: partLabel(part) }),
        C.el("input", {
          id: `credential-part-${part}`, type: "password", autocomplete: "off", spellcheck: "false",
          dataset: { field: "credential", part }, "aria-describedby": "hint-credential error-credential",
        }))));
    }
    syncCredentialKind();
    syncStorageKind();
    syncOptionsHint();
  }

  function credentialKind() {
    return document.querySelector('#source-form [name="credential_kind"]:checked').value;
  }

  function syncCredentialKind() {
    const env = credentialKind() === "env";
    $("credential-parts").hidden = env;
    $("credential-env-field").hidden = !env;
    const current = editing && editing.credential;
    $("credential-state").hidden = !current;
    if (current) {
      $("credential-state").textContent = current.kind === credentialKind()
        ? `A ${current.kind === "env" ? "variable name" : "stored credential"} is set — leave empty to keep it, or type a new one to replace it.`
        : `A ${current.kind === "env" ? "variable name" : "stored credential"} is set; it stays until you enter the new one here.`;
    }
  }

  function syncStorageKind() {
    const kind = $("storage-kind").value;
    document.querySelectorAll("#storage-field [data-storage-kind]").forEach((node) => { node.hidden = node.dataset.storageKind !== kind; });
    const current = editing && editing.storage_credential;
    $("storage-state").hidden = !current;
    if (current) {
      const set = $("storage-kind").querySelector(`option[value="${current.kind}"]`).textContent;
      $("storage-state").textContent = !kind
        ? `Saving removes the ${set}: the source then reads with the server's own identity.`
        : kind === current.kind
          ? `${set} set — leave empty to keep it, or enter a new one to replace it.`
          : `${set} set; saving replaces it with this one.`;
    }
  }

  function syncOptionsHint() {
    const vendor = vendorOf(inputFor("provider").value);
    const keys = vendor ? vendor.options : FORMAT_OPTIONS[inputFor("format").value] || [];
    const subject = vendor ? C.providerLabel(inputFor("provider").value) : "This format";
    $("options-field").hidden = !anyOptions && !inputFor("options").value.trim();
    $("hint-options").textContent = keys.length
      ? `${subject} understands: ${keys.join(", ")}.`
      : `${subject} takes no options.`;
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

  // The fields compared with the source being edited; a vendor source has no URI, format or region to send.
  function formFields() {
    const windowText = inputFor("window_months").value.trim();
    const fields = {
      provider: inputFor("provider").value,
      name: inputFor("name").value.trim() || null,
      window_months: windowText === "" ? null : Number(windowText),
      enabled: inputFor("enabled").checked,
      options: parseOptions(inputFor("options").value),
    };
    if (vendorOf(fields.provider)) return fields;
    return {
      ...fields,
      // A format the list does not offer (e.g. a metadata format) selects nothing: it stays as it is.
      format: inputFor("format").value || (editing && editing.format),
      source_uri: inputFor("source_uri").value.trim(),
      region: inputFor("region").value.trim() || null,
    };
  }

  // The credential to send: undefined keeps the one set (nothing typed), else {kind: "stored" | "env", ...}.
  function credentialChange() {
    const kind = credentialKind();
    const current = editing && editing.credential ? editing.credential.kind : null;
    if (kind === "env") {
      const name = $("credential-env").value.trim();
      if (name) return { kind, name };
      if (kind === current) return undefined;
      throw new FieldProblem("credential", "Enter the name of the server environment variable that holds the credential.");
    }
    const inputs = [...$("credential-parts").querySelectorAll("input")];
    const missing = inputs.filter((input) => !input.value.trim());
    if (missing.length === inputs.length && kind === current) return undefined;
    if (missing.length) {
      const keep = kind === current ? ", or leave every part empty to keep the credential that is set" : "";
      throw new FieldProblem("credential", `Enter the ${missing.map((input) => partLabel(input.dataset.part)).join(" and the ")}${keep}.`);
    }
    const value = inputs.length === 1
      ? inputs[0].value.trim()
      : Object.fromEntries(inputs.map((input) => [input.dataset.part, input.value.trim()]));
    return { kind: "stored", value };
  }

  // The storage identity to send: undefined keeps what is set, null removes it, else {kind, <its field>}.
  function storageChange() {
    const kind = $("storage-kind").value;
    const current = editing && editing.storage_credential ? editing.storage_credential.kind : "";
    if (!kind) return current ? null : undefined;
    const field = STORAGE_FIELDS[kind];
    const value = $(`storage-${field}`).value.trim();
    if (value) return { kind, [field]: value };
    if (kind === current) return undefined;
    const what = $("storage-kind").selectedOptions[0].textContent;
    throw new FieldProblem("storage_credential", `Enter the ${what}, or read the export with the server's own identity.`);
  }

  function showFieldError(field, message) {
    const box = $(`error-${field}`);
    if (!box) return false;
    box.textContent = message;
    box.hidden = false;
    visibleInputsFor(field).forEach((input) => input.setAttribute("aria-invalid", "true"));
    return true;
  }

  async function save(event) {
    event.preventDefault();
    clearErrors();
    const fields = formFields();
    const from = editing ? "" : $("source-from").value;
    if (from && from > C.isoDate(new Date())) { showFieldError("from", "Pick a day that is not in the future."); return; }
    if (fields.options === null) { showFieldError("options", "Write each option as key=value, one per line."); return; }
    const vendor = vendorOf(fields.provider);
    let secrets;
    try {
      secrets = vendor ? { credential: credentialChange() } : { storage_credential: storageChange() };
    } catch (problem) {
      if (!(problem instanceof FieldProblem)) throw problem;
      showFieldError(problem.field, problem.message);
      visibleInputsFor(problem.field)[0]?.focus();
      return;
    }
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
      // Only a newly typed secret is sent (rotation); null removes a storage identity.
      for (const [key, value] of Object.entries(secrets)) if (value !== undefined) body[key] = value;
      if (!Object.keys(body).length) { closeForm(); return; }
    } else {
      body = Object.fromEntries(Object.entries({ ...fields, ...secrets }).filter(([, value]) => value != null));
      if (!Object.keys(body.options).length) delete body.options;
      // The API's default format is not necessarily one it accepts by name ("auto"): leave it unsaid.
      if (body.format === $("source-form").dataset.defaultFormat) delete body.format;
      if (!vendor && !body.source_uri) { showFieldError("source_uri", "Enter the URI of the export."); return; }
    }
    // What the API checks with one listing or one vendor call before saving.
    const checked = ["source_uri", "credential", "storage_credential", "options"].some((key) => key in body);
    if (checked || !editing) body.validate = inputFor("validate").checked;
    const button = $("source-save");
    button.disabled = true;
    button.dataset.label = button.textContent;
    button.textContent = !body.validate ? "Saving…" : vendor ? `Checking with ${C.providerLabel(fields.provider)}…` : "Checking the URI…";
    try {
      const saved = editing
        ? await C.api("PUT", `${base}/${editing.id}`, { json: body })
        : await C.api("POST", base, { json: body });
      closeForm();
      for (const notice of saved.notices || []) C.toast(notice, "info");
      if (editing) C.toast(`Saved ${saved.name}.`);
      else if (from) await firstSyncFrom(saved, from);
      else C.toast(`Added ${saved.name}. Its first sync starts shortly; use Sync now to start it at once.`);
      await load();
    } catch (error) {
      const fieldErrors = error.fieldErrors;
      let shown = false;
      for (const [field, message] of Object.entries(fieldErrors)) {
        shown = showFieldError(field === "validate" ? "source_uri" : field, message) || shown;
      }
      if (!shown && error.status === 403 && (body.source_uri !== undefined || body.storage_credential !== undefined)) {
        // Access rules are about the URI (allowed local roots, allowed bucket prefixes); without its own storage
        // identity a source's cloud URI must be one the operator opened to the server.
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

  // The source exists: its first sync reads from the date given (the scheduler's would stop at the first-sync limit).
  async function firstSyncFrom(source, from) {
    try {
      await startSync(source, from);
    } catch (error) {
      const message = error.status === 409
        ? `Added ${source.name}; its first sync had already started, so it reads the default months. Use Sync from… when it ends.`
        : `Added ${source.name}, but its sync from ${from} did not start: ${error.message}`;
      C.toast(message, error.status === 409 ? "info" : "error");
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
  inputFor("provider").addEventListener("change", syncProvider);
  inputFor("format").addEventListener("change", syncOptionsHint);
  document.querySelectorAll('#source-form [name="credential_kind"]').forEach((radio) => radio.addEventListener("change", syncCredentialKind));
  $("storage-kind").addEventListener("change", syncStorageKind);
  $("source-form").addEventListener("submit", save);
  $("source-cancel").addEventListener("click", closeForm);
  $("source-dialog").addEventListener("close", clearSecrets);
  $("sync-form").addEventListener("submit", confirmSyncFrom);
  $("sync-cancel").addEventListener("click", () => $("sync-dialog").close());
  $("remove-form").addEventListener("submit", confirmRemove);
  $("remove-cancel").addEventListener("click", () => $("remove-dialog").close());
  load();
})();
