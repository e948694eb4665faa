// Budgets (admins and members): each budget's spend and forecast against its amount; admins create and delete them.
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);

  function showMessage(text) {
    $("budgets-message").hidden = !text;
    $("budgets-message").textContent = text || "";
  }

  // A bar of `percent` (an exact string from the API) of the amount; past 100 % it is full and marked over.
  function bar(kind, amount, percent, currency, note) {
    const share = percent === null || percent === undefined ? null : Number(percent);
    const fill = C.el("span", { class: "budget-bar-fill" });
    fill.style.width = `${Math.min(share || 0, 100)}%`;
    return C.el("td", { class: `budget-${kind}`, dataset: { amount: amount || "", percent: percent || "" } },
      C.el("div", { class: `budget-bar${share !== null && share > 100 ? " over" : ""}`, role: "img",
        "aria-label": share === null ? "no forecast" : `${percent}% of the budget` }, fill),
      C.el("div", { class: "small" }, amount === null ? "no forecast yet" : `${C.money(amount, currency)} · ${percent}%`,
        note ? C.el("span", { class: "muted", text: ` (${note})` }) : null));
  }

  const filterText = (f) => `${f.dimension} ${f.op} ${(f.values || []).join(", ")}`.trim();

  async function load() {
    try {
      render(await C.api("GET", C.tenantPath("/budgets")));
    } catch (error) {
      $("budgets-section").dataset.state = "error";
      showMessage(`Could not load budgets: ${error.message}`);
    }
  }

  function render(budgets) {
    const table = $("budgets-table");
    const tbody = table.querySelector("tbody");
    tbody.replaceChildren();
    table.hidden = !budgets.length;
    showMessage(budgets.length ? null : (C.isAdmin ? "No budgets yet: create one to be told before spend runs over." : "No budgets yet: your tenant's admins set them."));
    for (const budget of budgets) {
      const status = budget.status || {};
      const crossed = (status.crossed || []).map((t) => `${t.kind} ${t.percent}%`);
      const cells = [
        C.el("th", { scope: "row" }, C.el("div", { text: budget.name }),
          C.el("div", { class: "muted small", text: budget.filters.map(filterText).join("; ") || "All costs" })),
        C.el("td", { class: "small period", text: status.period_start ? `${status.period_start} to ${C.addDays(status.period_end, -1)}` : budget.period }),
        C.el("td", { class: "num amount", text: C.money(budget.amount, budget.currency) }),
        bar("spend", status.spend ?? null, status.percent_used, budget.currency, status.last_day ? `through ${status.last_day}` : null),
        bar("forecast", status.forecast ?? null, status.forecast_percent, budget.currency, status.forecast_method),
        C.el("td", { class: "crossed", text: crossed.join(", ") || "none" }),
      ];
      if (C.isAdmin) {
        const remove = C.el("button", { type: "button", class: "btn btn-small btn-quiet delete", text: "Delete" });
        remove.addEventListener("click", () => destroy(budget, remove));
        cells.push(C.el("td", {}, remove));
      }
      tbody.append(C.el("tr", { dataset: { id: budget.id, name: budget.name } }, ...cells));
    }
    $("budgets-section").dataset.state = "ready";
  }

  async function destroy(budget, button) {
    if (!window.confirm(`Delete the budget ${budget.name}? Its notifications stop.`)) return;
    button.disabled = true;
    try {
      await C.api("DELETE", C.tenantPath(`/budgets/${encodeURIComponent(budget.id)}`));
      C.toast(`Budget ${budget.name} deleted.`);
      await load();
    } catch (error) {
      button.disabled = false;
      C.toast(`Could not delete: ${error.message}`, "error");
    }
  }

  // The CLI's filter syntax: DIMENSION=VALUE, DIMENSION=A,B, DIMENSION!=VALUE, DIMENSION~TEXT, DIMENSION= (missing).
  function parseFilter(text) {
    for (const [separator, op] of [["!=", "ne"], ["~", "contains"], ["=", "eq"]]) {
      const at = text.indexOf(separator);
      if (at <= 0) continue;
      const dimension = text.slice(0, at).trim();
      const value = text.slice(at + separator.length).trim();
      if (op === "eq" && value === "") return { dimension, op: "missing", values: [] };
      const values = value.split(",").map((v) => v.trim());
      if (values.length > 1 && op !== "contains") return { dimension, op: op === "eq" ? "in" : "not_in", values };
      return { dimension, op, values };
    }
    return null;
  }

  function readForm(form) {
    const errors = {};
    const lines = $("budget-filters").value.split("\n").map((line) => line.trim()).filter(Boolean);
    const filters = lines.map(parseFilter);
    const badFilter = lines.find((line, i) => !filters[i]);
    if (badFilter) errors.filters = `“${badFilter}” is not DIMENSION=VALUE, e.g. ServiceName=BigQuery`;
    const thresholds = [];
    for (const part of $("budget-thresholds").value.split(",").map((p) => p.trim()).filter(Boolean)) {
      const match = /^(actual|forecast):(\d+(?:\.\d{1,2})?)$/.exec(part);
      if (!match) errors.thresholds = `“${part}” is not KIND:PERCENT, e.g. actual:80 or forecast:100`;
      else thresholds.push({ kind: match[1], percent: match[2] });
    }
    if (Object.keys(errors).length) {
      C.showFormErrors(form, { fieldErrors: errors, message: "" });
      return null;
    }
    const body = {
      name: $("budget-name").value.trim(), amount: $("budget-amount").value.trim(),
      currency: $("budget-currency").value.trim().toUpperCase(), period: $("budget-period").value, filters,
    };
    if (thresholds.length) body.thresholds = thresholds;
    return body;
  }

  async function create(event) {
    event.preventDefault();
    const form = $("budget-form");
    C.clearFormErrors(form);
    const body = readForm(form);
    if (!body) return;
    $("budget-save").disabled = true;
    try {
      const budget = await C.api("POST", C.tenantPath("/budgets"), { json: body });
      $("budget-dialog").close();
      form.reset();
      C.toast(`Budget ${budget.name} created.`);
      await load();
    } catch (error) {
      C.showFormErrors(form, error);
    } finally {
      $("budget-save").disabled = false;
    }
  }

  if (C.isAdmin) {
    $("add-budget").addEventListener("click", () => {
      C.clearFormErrors($("budget-form"));
      $("budget-dialog").showModal();
    });
    $("budget-cancel").addEventListener("click", () => $("budget-dialog").close());
    $("budget-form").addEventListener("submit", create);
  }
  load();
})();
