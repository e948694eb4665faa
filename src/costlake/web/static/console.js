// costlake console: what every page shares. Calls the REST API on this origin with the session cookie; requests
// that change data carry the console header the API asks of cookie-authenticated requests.
"use strict";

const Costlake = (() => {
  const body = document.body;
  const tenantId = body.dataset.tenantId;
  const role = body.dataset.role;
  const tokenId = body.dataset.tokenId;
  const consoleHeader = body.dataset.consoleHeader || "X-Costlake-Console";
  const labels = JSON.parse(body.dataset.labels || "{}");
  const formatLabel = (name) => ((labels.formats || {})[name] || name);
  const providerLabel = (name) => ((labels.providers || {})[name] || name);

  class ApiError extends Error {
    constructor(status, detail, payload) {
      super(ApiError.describe(status, detail));
      this.status = status;
      this.detail = detail;
      this.payload = payload;
    }

    // Field errors of a 422: {"field": "message", ...}, from FastAPI's [{"loc": ["body", field], "msg"}].
    get fieldErrors() {
      const out = {};
      if (this.status === 422 && Array.isArray(this.detail)) {
        for (const item of this.detail) {
          const loc = (item.loc || []).filter((part) => part !== "body" && part !== "query");
          const field = loc.length ? String(loc[0]) : "";
          const msg = String(item.msg || "invalid").replace(/^Value error, /, "");
          out[field] = out[field] ? `${out[field]}; ${msg}` : msg;
        }
      }
      return out;
    }

    static describe(status, detail) {
      if (Array.isArray(detail)) {
        return detail
          .map((item) => {
            const loc = (item.loc || []).filter((part) => part !== "body" && part !== "query").join(".");
            const msg = String(item.msg || "invalid").replace(/^Value error, /, "");
            return loc ? `${loc}: ${msg}` : msg;
          })
          .join("; ");
      }
      if (typeof detail === "string" && detail) return detail;
      if (status === 0) return "Cannot reach the costlake server. Check that it is running, then try again.";
      return `The server answered ${status}.`;
    }
  }

  function tenantPath(rest) {
    return `/api/v1/tenants/${encodeURIComponent(tenantId)}${rest}`;
  }

  // `json` sends a JSON body; `text` sends text as `contentType` (a CSV file, say).
  async function api(method, path, { json, text, contentType = "text/plain", signal } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers[consoleHeader] = "1";
    if (json !== undefined) headers["Content-Type"] = "application/json";
    else if (text !== undefined) headers["Content-Type"] = contentType;
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: json !== undefined ? JSON.stringify(json) : text,
        credentials: "same-origin",
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, null, null);
    }
    if (response.status === 401) {
      // The token was revoked or the cookie is gone: back to sign-in, then back here.
      const here = location.pathname + location.search;
      location.assign(`/console/sign-in?next=${encodeURIComponent(here)}&message=session-ended`);
      throw new ApiError(401, "signed out", null);
    }
    if (response.status === 204) return null;
    let payload = null;
    const answer = await response.text();
    if (answer) {
      try {
        payload = JSON.parse(answer);
      } catch {
        payload = { detail: answer.slice(0, 300) };
      }
    }
    if (!response.ok) throw new ApiError(response.status, payload && payload.detail, payload);
    return payload;
  }

  // --- money: decimal strings stay exact ------------------------------------------------------------------------
  const SCALE = 18;
  const SCALE_FACTOR = 10n ** BigInt(SCALE);

  function toUnits(text) {
    // "-1234.5600" -> BigInt of 1e-18 units. Plain notation only (the API never sends exponents).
    const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(String(text).trim());
    if (!match) return 0n;
    const [, sign, whole, frac = ""] = match;
    const units = BigInt(whole || "0") * SCALE_FACTOR + BigInt((frac + "0".repeat(SCALE)).slice(0, SCALE) || "0");
    return sign === "-" ? -units : units;
  }

  function fromUnits(units) {
    const negative = units < 0n;
    const abs = negative ? -units : units;
    const whole = abs / SCALE_FACTOR;
    const frac = (abs % SCALE_FACTOR).toString().padStart(SCALE, "0").replace(/0+$/, "");
    return `${negative ? "-" : ""}${whole}${frac ? "." + frac : ""}`;
  }

  function addDecimals(a, b) {
    return fromUnits(toUnits(a) + toUnits(b));
  }

  function compareDecimals(a, b) {
    const x = toUnits(a);
    const y = toUnits(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  const formatters = new Map();
  function money(amount, currency) {
    const key = currency || "";
    if (!formatters.has(key)) {
      let formatter;
      try {
        formatter = new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" });
      } catch {
        formatter = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
      }
      formatters.set(key, { formatter, plain: !currency });
    }
    const { formatter } = formatters.get(key);
    // Intl formats a decimal string exactly (no float detour); older engines fall back to Number.
    try {
      return formatter.format(String(amount));
    } catch {
      return formatter.format(Number(amount));
    }
  }

  function integer(value) {
    return new Intl.NumberFormat().format(value);
  }

  // A decimal string with thousands separators, every digit kept (Intl formats decimal strings exactly).
  const exactNumber = new Intl.NumberFormat(undefined, { maximumFractionDigits: 20 });
  function quantity(text) {
    return exactNumber.format(String(text));
  }

  // A unit cost: cents for a dollar or more, else 3 significant digits ($0.000412): a ratio, not an amount to pay.
  function unitMoney(amount, currency) {
    if (amount === null || amount === undefined) return "—";
    const big = Math.abs(Number(amount)) >= 1;
    const options = big ? {} : { maximumSignificantDigits: 3 };
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD", ...options }).format(String(amount));
    } catch {
      return String(amount);
    }
  }

  function perUnitText(scale, unit) {
    return `per ${scale > 1 ? `${integer(scale)} ` : ""}${unit}`;
  }

  // --- dates and times (UTC) --------------------------------------------------------------------------------------
  function isoDate(date) {
    return date.toISOString().slice(0, 10);
  }

  function parseDate(text) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(text || "")) return null;
    const date = new Date(`${text}T00:00:00Z`);
    return Number.isNaN(date.getTime()) || isoDate(date) !== text ? null : date;
  }

  function addDays(text, days) {
    const date = parseDate(text);
    date.setUTCDate(date.getUTCDate() + days);
    return isoDate(date);
  }

  function dateTime(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return new Intl.DateTimeFormat(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
      timeZone: "UTC", timeZoneName: "short",
    }).format(date);
  }

  function relative(iso) {
    if (!iso) return "";
    const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
    if (!Number.isFinite(seconds)) return "";
    const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
    const steps = [[60, "second"], [60, "minute"], [24, "hour"], [30, "day"], [12, "month"], [Infinity, "year"]];
    let value = -seconds;
    for (const [size, unit] of steps) {
      if (Math.abs(value) < size) return rtf.format(Math.round(value), unit);
      value /= size;
    }
    return "";
  }

  // [start, end) of a saved view's relative range, in whole UTC days ending yesterday: the same days as the
  // server's costlake.dashboards.views.range_dates (a view widget asks the server; a metric widget needs them here).
  function rangeDates(name, todayText = isoDate(new Date())) {
    const today = parseDate(todayText);
    const thisMonth = isoDate(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), 1)));
    const monthsBack = (n) => isoDate(new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth() - n, 1)));
    if (name === "month_to_date") return [thisMonth, todayText > thisMonth ? todayText : addDays(todayText, 1)];
    const days = /^last_(\d+)_days$/.exec(name);
    if (days) return [addDays(todayText, -Number(days[1])), todayText];
    const months = { last_month: 1, last_3_months: 3, last_12_months: 12 }[name];
    return months ? [monthsBack(months), thisMonth] : null;
  }

  const RANGES = {
    last_7_days: "Last 7 days", last_30_days: "Last 30 days", last_90_days: "Last 90 days", month_to_date: "Month to date",
    last_month: "Last month", last_3_months: "Last 3 months", last_12_months: "Last 12 months",
  };

  function monthLabel(yyyyMm) {
    const date = parseDate(`${yyyyMm}-01`);
    if (!date) return yyyyMm;
    return new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", timeZone: "UTC" }).format(date);
  }

  // --- DOM ----------------------------------------------------------------------------------------------------------
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Event label filters as people type them ("team:payments, environment:production"). `readLabelPairs` gives the
  // texts, or null after marking the input and saying which one is not KEY:VALUE; `labelPair` splits one.
  const LABEL_PAIR = /^([^:\s][^:]*):(.+)$/;
  function labelPair(text) {
    const match = LABEL_PAIR.exec(text);
    return match ? [match[1], match[2]] : null;
  }

  function readLabelPairs(input, errorBox) {
    const texts = input.value.split(",").map((pair) => pair.trim()).filter(Boolean);
    const bad = texts.find((pair) => !labelPair(pair));
    input.setAttribute("aria-invalid", String(!!bad));
    errorBox.hidden = !bad;
    errorBox.textContent = bad ? `“${bad}” is not KEY:VALUE, e.g. team:payments` : "";
    return bad ? null : texts;
  }

  // An event's title, linked when its url is an http(s) link (a webhook's payload names it: never a script URL).
  function eventTitle(event, className) {
    return /^https?:\/\//i.test(event.url || "")
      ? el("a", { class: className, href: event.url, target: "_blank", rel: "noopener noreferrer", text: event.title })
      : el("span", { class: className, text: event.title });
  }

  function statusBadge(status) {
    const labels = { succeeded: "Succeeded", warning: "Warning", failed: "Failed", queued: "Queued", running: "Running", cancelled: "Cancelled" };
    const label = status ? labels[status] || status : "Never synced";
    return el("span", { class: `badge badge-${status || "none"}`, text: label });
  }

  function toast(message, kind = "info") {
    let box = document.getElementById("toasts");
    if (!box) {
      box = el("div", { id: "toasts", class: "toasts", "aria-live": "polite" });
      document.body.append(box);
    }
    const item = el("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" }, message);
    box.append(item);
    setTimeout(() => item.remove(), kind === "error" ? 9000 : 4500);
  }

  // An API error in a form: each 422 field error under its field (the element `error-<field>`, and the input that
  // names it in aria-describedby marked invalid); anything else in the form's own `.form-error` box.
  function showFormErrors(form, error) {
    clearFormErrors(form);
    const rest = [];
    for (const [field, message] of Object.entries(error.fieldErrors)) {
      const box = field && form.querySelector(`#error-${CSS.escape(field)}`);
      if (!box) {
        rest.push(field ? `${field}: ${message}` : message);
        continue;
      }
      box.textContent = message;
      box.hidden = false;
      const input = form.querySelector(`[aria-describedby~="error-${CSS.escape(field)}"]`);
      if (input) input.setAttribute("aria-invalid", "true");
    }
    if (!Object.keys(error.fieldErrors).length) rest.push(error.message);
    const summary = form.querySelector(".form-error");
    summary.textContent = rest.join("; ");
    summary.hidden = !rest.length;
  }

  function clearFormErrors(form) {
    form.querySelectorAll(".field-error, .form-error").forEach((box) => { box.hidden = true; box.textContent = ""; });
    form.querySelectorAll("[aria-invalid]").forEach((input) => input.removeAttribute("aria-invalid"));
  }

  return {
    showFormErrors, clearFormErrors,
    tenantId, role, tokenId, isAdmin: role === "admin", ApiError, api, tenantPath, formatLabel, providerLabel,
    toUnits, fromUnits, addDecimals, compareDecimals, money, integer, quantity, unitMoney, perUnitText,
    isoDate, parseDate, addDays, dateTime, relative, rangeDates, RANGES, monthLabel, el, labelPair, readLabelPairs, eventTitle, statusBadge, toast,
  };
})();
