// Tags (admins and members): the tag inventory and the detected variants; admins accept a variant into the draft.
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);

  const percent = (share) => `${(100 * (share || 0)).toFixed(1)}%`;
  // Amounts in different currencies are never added: one line per currency.
  const moneyCell = (cost) => C.el("td", { class: "num", dataset: { cost: JSON.stringify(cost || {}) } },
    ...Object.entries(cost || {}).sort().map(([currency, amount]) => C.el("div", { text: C.money(amount, currency) })));

  function showMessage(section, text) {
    const box = $(`${section}-message`);
    box.hidden = !text;
    box.textContent = text || "";
  }

  async function load() {
    $("refresh-tags").disabled = true;
    try {
      const [inventory, suggestions] = await Promise.all([
        C.api("GET", C.tenantPath("/tags")),
        C.api("GET", C.tenantPath("/tags/suggestions")),
      ]);
      renderInventory(inventory.items);
      renderSuggestions(suggestions.items);
    } catch (error) {
      for (const section of ["inventory", "suggestions"]) {
        $(`${section}-section`).dataset.state = "error";
        showMessage(section, `Could not load tags: ${error.message}`);
      }
    } finally {
      $("refresh-tags").disabled = false;
    }
  }

  function renderInventory(items) {
    const table = $("inventory-table");
    const tbody = table.querySelector("tbody");
    tbody.replaceChildren();
    table.hidden = !items.length;
    showMessage("inventory", items.length ? null : "No tags yet: the rows synced so far carry none.");
    for (const tag of items) {
      tbody.append(C.el("tr", { dataset: { key: tag.key } },
        C.el("th", { scope: "row", class: "mono", text: tag.key }),
        C.el("td", { text: tag.providers.map(C.providerLabel).join(", ") }),
        C.el("td", { class: "num", text: C.integer(tag.rows) }),
        moneyCell(tag.cost),
        C.el("td", { class: "num", dataset: { share: String(tag.share) }, text: percent(tag.share) }),
        C.el("td", { class: "num", text: C.integer(tag.distinct_values) }),
        C.el("td", { class: "small" }, ...tag.top_values.slice(0, 5).map((top) => C.el("div", {},
          C.el("span", { class: "mono", text: top.value }), " ",
          C.el("span", { class: "muted", text: Object.entries(top.cost).map(([cur, amount]) => C.money(amount, cur)).join(" · ") }))))));
    }
    $("inventory-section").dataset.state = "ready";
  }

  function renderSuggestions(items) {
    const table = $("suggestions-table");
    const tbody = table.querySelector("tbody");
    tbody.replaceChildren();
    table.hidden = !items.length;
    showMessage("suggestions", items.length ? null : "No variants detected: every key and value has one spelling.");
    for (const item of items) {
      const what = item.kind === "merge_keys" ? "Merge keys" : `Merge values of ${item.key}`;
      let action;
      if (item.accepted) action = C.el("span", { class: "badge badge-succeeded", text: "In the draft" });
      else if (C.isAdmin) {
        action = C.el("button", { type: "button", class: "btn btn-small accept", text: "Accept" });
        action.addEventListener("click", () => accept(item, action));
      } else action = C.el("span", { class: "muted small", text: "Not accepted" });
      tbody.append(C.el("tr", { dataset: { id: item.id, kind: item.kind, accepted: String(item.accepted) } },
        C.el("td", { text: what }),
        C.el("td", {}, ...item.variant_costs.map((v) => C.el("div", {},
          C.el("span", { class: "mono", text: JSON.stringify(v.variant) }), " ",
          C.el("span", { class: "muted small", text: Object.entries(v.cost).map(([cur, amount]) => C.money(amount, cur)).join(" · ") })))),
        C.el("td", { class: "mono", text: item.canonical }),
        moneyCell(item.cost),
        C.el("td", { class: "num coverage-before", text: percent(item.coverage_before) }),
        C.el("td", { class: "num coverage-after", text: percent(item.coverage_after) }),
        C.el("td", {}, action)));
    }
    $("suggestions-section").dataset.state = "ready";
  }

  async function accept(item, button) {
    button.disabled = true;
    try {
      const draft = await C.api("POST", C.tenantPath(`/tags/suggestions/${encodeURIComponent(item.id)}/accept`));
      C.toast(`Added to the draft's dimension ${draft.dimension}: preview and publish it on the Allocation page.`);
      await load();
    } catch (error) {
      button.disabled = false;
      C.toast(`Could not accept: ${error.message}`, "error");
    }
  }

  $("refresh-tags").addEventListener("click", load);
  load();
})();
