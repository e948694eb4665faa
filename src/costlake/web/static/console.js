// costlake console: what every page shares. Calls the REST API on this origin with the session cookie; requests
// that change data carry the console header the API asks of cookie-authenticated requests.
"use strict";

const Costlake = (() => {
  const body = document.body;
  const tenantId = body.dataset.tenantId;
  const role = body.dataset.role;
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

  async function api(method, path, { json, signal } = {}) {
    const headers = { Accept: "application/json" };
    if (method !== "GET" && method !== "HEAD") headers[consoleHeader] = "1";
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: json === undefined ? undefined : JSON.stringify(json),
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
    const text = await response.text();
    if (text) {
      try {
        payload = JSON.parse(text);
      } catch {
        payload = { detail: text.slice(0, 300) };
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

  function statusBadge(status) {
    const labels = { succeeded: "Succeeded", warning: "Warning", failed: "Failed", queued: "Queued", running: "Running" };
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

  return {
    tenantId, role, isAdmin: role === "admin", ApiError, api, tenantPath, formatLabel, providerLabel,
    toUnits, fromUnits, addDecimals, compareDecimals, money, integer,
    isoDate, parseDate, addDays, dateTime, relative, monthLabel, el, statusBadge, toast,
  };
})();
