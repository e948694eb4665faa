// Channels (admins): where alerts go, whether each is failing; create (a webhook's secret shown once) and delete.
"use strict";

(() => {
  const C = Costlake;
  const $ = (id) => document.getElementById(id);
  const KIND_LABELS = { slack: "Slack", teams: "Microsoft Teams", email: "Email", webhook: "Webhook" };
  const STATUS_BADGE = { ok: "succeeded", failing: "failed", untested: "none" };

  function showMessage(text) {
    $("channels-message").hidden = !text;
    $("channels-message").textContent = text || "";
  }

  async function load() {
    try {
      render(await C.api("GET", C.tenantPath("/channels")));
    } catch (error) {
      $("channels-section").dataset.state = "error";
      showMessage(`Could not load channels: ${error.message}`);
    }
  }

  function render(channels) {
    const table = $("channels-table");
    const tbody = table.querySelector("tbody");
    tbody.replaceChildren();
    table.hidden = !channels.length;
    showMessage(channels.length ? null : "No channels yet: anomalies and budgets are only on these pages until you add one.");
    for (const channel of channels) {
      const remove = C.el("button", { type: "button", class: "btn btn-small btn-quiet delete", text: "Delete" });
      remove.addEventListener("click", () => destroy(channel, remove));
      const status = channel.status === "failing" && channel.failing_since
        ? `failing since ${C.dateTime(channel.failing_since)}` : channel.status;
      tbody.append(C.el("tr", { dataset: { id: channel.id, status: channel.status } },
        C.el("th", { scope: "row", text: channel.name }),
        C.el("td", { text: KIND_LABELS[channel.kind] || channel.kind }),
        C.el("td", { class: "mono small target", text: channel.kind === "email" ? channel.to.join(", ") : channel.url_hint || "" }),
        C.el("td", {}, C.el("span", { class: `badge badge-${STATUS_BADGE[channel.status] || "none"} status`, text: status }),
          channel.enabled ? null : C.el("span", { class: "muted small", text: " disabled" })),
        C.el("td", { class: "small", text: channel.last_success_at ? C.dateTime(channel.last_success_at) : "never" }),
        C.el("td", { class: "small last-error", text: channel.last_error || "" }),
        C.el("td", {}, remove)));
    }
    $("channels-section").dataset.state = "ready";
  }

  async function destroy(channel, button) {
    if (!window.confirm(`Delete the channel ${channel.name}? Budgets and monitors stop sending to it.`)) return;
    button.disabled = true;
    try {
      await C.api("DELETE", C.tenantPath(`/channels/${encodeURIComponent(channel.id)}`));
      C.toast(`Channel ${channel.name} deleted.`);
      await load();
    } catch (error) {
      button.disabled = false;
      C.toast(`Could not delete: ${error.message}`, "error");
    }
  }

  function showKindFields() {
    const email = $("channel-kind").value === "email";
    $("url-field").hidden = email;
    $("to-field").hidden = !email;
  }

  async function create(event) {
    event.preventDefault();
    const form = $("channel-form");
    C.clearFormErrors(form);
    const kind = $("channel-kind").value;
    const body = {
      name: $("channel-name").value.trim(), kind,
      data_notifications: $("channel-data").checked, validate: $("channel-validate").checked,
    };
    if (kind === "email") body.to = $("channel-to").value.split(",").map((a) => a.trim()).filter(Boolean);
    else body.url = $("channel-url").value.trim();
    $("channel-save").disabled = true;
    try {
      const channel = await C.api("POST", C.tenantPath("/channels"), { json: body });
      form.reset();
      showKindFields();
      if (channel.secret) {
        form.hidden = true;
        $("channel-secret").value = channel.secret;
        $("channel-created").hidden = false;
      } else {
        $("channel-dialog").close();
        C.toast(`Channel ${channel.name} created.`);
      }
      await load();
    } catch (error) {
      C.showFormErrors(form, error);
    } finally {
      $("channel-save").disabled = false;
    }
  }

  // Closing forgets the secret: it is not on the page any more once the dialog is gone.
  $("channel-dialog").addEventListener("close", () => {
    $("channel-secret").value = "";
    $("channel-created").hidden = true;
    $("channel-form").hidden = false;
  });
  $("add-channel").addEventListener("click", () => {
    C.clearFormErrors($("channel-form"));
    $("channel-dialog").showModal();
  });
  $("channel-kind").addEventListener("change", showKindFields);
  $("channel-cancel").addEventListener("click", () => $("channel-dialog").close());
  $("channel-done").addEventListener("click", () => $("channel-dialog").close());
  $("channel-form").addEventListener("submit", create);
  load();
})();
