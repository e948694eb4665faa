// Allocation (admins edit, members read): the draft's dimensions as JSON or YAML text (js-yaml, vendored), its preview against the published
// version, publish, and the versions with restore. Every check is the API's: its 422s are shown by the text.
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);
  const text = $("draft-text");
  let saved = []; // the draft's dimensions as the server last answered them, to know whether the text has unsaved edits

  const percent = (share) => `${(100 * (share || 0)).toFixed(1)}%`;
  const format = () => $("draft-format").value;
  // The same shape as `costlake allocation show --format yaml|json`, so a rules file and this text read alike.
  const asText = (dimensions) => (format() === "yaml"
    ? jsyaml.dump({ dimensions }, { lineWidth: -1, noRefs: true })
    : JSON.stringify({ dimensions }, null, 2));
  const edited = () => text.value !== asText(saved);

  function showErrors(items) {
    const box = $("draft-errors");
    box.hidden = !items.length;
    box.querySelector("ul").replaceChildren(...items.map(([where, message]) =>
      C.el("li", {}, where ? C.el("span", { class: "mono", text: `${where}: ` }) : "", message)));
  }

  // 422 details as [path, message]: the path is where in the text the problem is (dimensions.0.rules.2.map).
  function errorsOf(error) {
    if (error.status === 422 && Array.isArray(error.detail)) {
      return error.detail.map((item) => [
        (item.loc || []).filter((part) => part !== "body").join("."),
        String(item.msg || "invalid").replace(/^Value error, /, ""),
      ]);
    }
    return [["", error.message]];
  }

  /** The textarea's rules, or null (with the reason shown) when it is not JSON or YAML of the draft's shape. */
  function parsed() {
    let value;
    try {
      value = jsyaml.load(text.value); // JSON is YAML too
    } catch (error) {
      showErrors([["", `The text is not valid ${format().toUpperCase()}: ${error.message}. Fix it, then save or preview again.`]]);
      return null;
    }
    if (!value || typeof value !== "object" || !Array.isArray(value.dimensions)) {
      showErrors([["", 'The text must be an object with a "dimensions" list: {"dimensions": [...]}.']]);
      return null;
    }
    return value.dimensions;
  }

  function setDraft(draft) {
    saved = draft.dimensions;
    text.value = asText(saved);
    const base = draft.base_version ? `started from version ${draft.base_version}` : "no version published yet";
    $("draft-caption").textContent = draft.updated_at
      ? `Edited ${C.relative(draft.updated_at)} (${base}); publish it to use it in queries.`
      : `Unchanged since the published rules (${base}).`;
    $("draft-section").dataset.state = "ready";
  }

  async function loadDraft() {
    try {
      setDraft(await C.api("GET", C.tenantPath("/allocation/draft")));
      showErrors([]);
    } catch (error) {
      $("draft-section").dataset.state = "error";
      showErrors([["", `Could not load the draft: ${error.message}`]]);
    }
  }

  /** Save the text as the draft; false (errors shown) when the API refused it. */
  async function save() {
    const dimensions = parsed();
    if (dimensions === null) return false;
    try {
      setDraft(await C.api("PUT", C.tenantPath("/allocation/draft"), { json: { dimensions } }));
      showErrors([]);
      return true;
    } catch (error) {
      $("draft-section").dataset.state = "invalid";
      showErrors(errorsOf(error));
      return false;
    }
  }

  async function busy(button, work) {
    button.disabled = true;
    try {
      await work();
    } finally {
      button.disabled = false;
    }
  }

  async function preview() {
    const dimensions = parsed();
    if (dimensions === null) return;
    const section = $("preview-section");
    section.hidden = false;
    section.dataset.state = "loading";
    try {
      // The text as it stands, saved or not: previewing never saves.
      const answer = await C.api("POST", C.tenantPath("/allocation/preview"), { json: { dimensions } });
      showErrors([]);
      renderPreview(answer);
    } catch (error) {
      section.dataset.state = "error";
      $("preview-dimensions").replaceChildren();
      showErrors(errorsOf(error));
    }
  }

  function renderPreview(answer) {
    const published = answer.published_version ? `version ${answer.published_version}` : "no published version";
    $("preview-caption").textContent = `${answer.start} to ${C.addDays(answer.end, -1)}, against ${published}.`;
    const box = $("preview-dimensions");
    box.replaceChildren();
    for (const dim of answer.dimensions) {
      const tbody = C.el("tbody");
      for (const value of dim.values) {
        const currencies = [...new Set([...Object.keys(value.before), ...Object.keys(value.after)])].sort();
        for (const currency of currencies) {
          const cell = (amounts, cls) => {
            const amount = amounts[currency] ?? "0";
            return C.el("td", { class: `num ${cls}`, dataset: { amount } }, C.money(amount, currency));
          };
          tbody.append(C.el("tr", { dataset: { value: value.value, currency } },
            C.el("th", { scope: "row", class: "mono", text: value.value }),
            C.el("td", { text: currency }),
            cell(value.before, "before"), cell(value.after, "after"), cell(value.delta, "delta")));
        }
      }
      box.append(C.el("div", { class: "preview-dimension", dataset: { dimension: dim.name } },
        C.el("h3", {}, C.el("span", { class: "mono", text: `dim:${dim.name}` }), " ",
          C.el("span", { class: "muted small coverage", text: `coverage ${percent(dim.coverage_before)} → ${percent(dim.coverage_after)}` })),
        C.el("table", { class: "data-table compact" },
          C.el("thead", {}, C.el("tr", {}, ...["Value", "Currency", "Before", "After", "Change"].map((label, i) =>
            C.el("th", { scope: "col", class: i > 1 ? "num" : null, text: label })))),
          tbody)));
    }
    if (!answer.dimensions.length) box.append(C.el("p", { class: "muted", text: "Neither the draft nor the published version has dimensions." }));
    $("preview-section").dataset.state = "ready";
  }

  async function publish() {
    if (edited() && !(await save())) return;
    try {
      const published = await C.api("POST", C.tenantPath("/allocation/publish"));
      C.toast(`Published version ${published.version}: queries use it now.`);
      await Promise.all([loadDraft(), loadVersions()]);
    } catch (error) {
      C.toast(error.status === 409 ? "Nothing to publish: the draft equals the published version." : `Could not publish: ${error.message}`,
        error.status === 409 ? "info" : "error");
    }
  }

  async function restore(version) {
    if (edited() && !window.confirm("Restoring replaces the draft, and your unsaved edits are lost. Restore?")) return;
    try {
      setDraft(await C.api("POST", C.tenantPath(`/allocation/versions/${version}/restore`)));
      showErrors([]);
      C.toast(`Version ${version} is the draft again: publish it to use it.`);
    } catch (error) {
      C.toast(`Could not restore: ${error.message}`, "error");
    }
  }

  async function loadVersions() {
    const table = $("versions-table");
    const tbody = table.querySelector("tbody");
    const message = $("versions-message");
    try {
      const { items } = await C.api("GET", C.tenantPath("/allocation/versions"));
      tbody.replaceChildren();
      table.hidden = !items.length;
      message.hidden = !!items.length;
      message.textContent = "No version published yet: queries know no dim: dimensions until one is.";
      for (const item of items) {
        let action = null;
        if (C.isAdmin) {
          action = C.el("button", { type: "button", class: "btn btn-small restore", text: "Restore" });
          action.addEventListener("click", () => busy(action, () => restore(item.version)));
        }
        tbody.append(C.el("tr", { dataset: { version: String(item.version), current: String(item.current) } },
          C.el("td", {}, String(item.version), item.current ? C.el("span", { class: "badge badge-succeeded", text: "In use" }) : ""),
          C.el("td", { title: C.dateTime(item.published_at), text: C.relative(item.published_at) }),
          C.el("td", { text: item.published_by || "—" }),
          C.el("td", { class: "mono", text: item.dimensions.join(", ") }),
          C.el("td", {}, action || "")));
      }
      $("versions-section").dataset.state = "ready";
    } catch (error) {
      $("versions-section").dataset.state = "error";
      message.hidden = false;
      message.textContent = `Could not load the versions: ${error.message}`;
    }
  }

  let shown = format(); // the format the text is written in
  $("draft-format").addEventListener("change", () => {
    // Keep the text's edits: read it in the format it was written in, then write it in the new one.
    const wanted = format();
    $("draft-format").value = shown;
    const unchanged = !edited();
    const dimensions = parsed();
    if (dimensions === null) return; // stays in its format, with the reason shown
    $("draft-format").value = shown = wanted;
    text.value = asText(unchanged ? saved : dimensions);
    showErrors([]);
  });
  $("preview").addEventListener("click", (event) => busy(event.currentTarget, preview));
  if (C.isAdmin) {
    $("save-draft").addEventListener("click", (event) => busy(event.currentTarget, async () => {
      if (await save()) C.toast("Draft saved: preview it, then publish.");
    }));
    $("publish").addEventListener("click", (event) => busy(event.currentTarget, publish));
  }
  loadDraft();
  loadVersions();
})();
