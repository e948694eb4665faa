"""Calling a vendor's HTTP API: timeouts, retries with backoff on 429/5xx/network errors honouring Retry-After
and rate-limit reset headers (tenacity), and errors that carry the vendor's own reason, never the secret."""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Self
from urllib.parse import urljoin, urlsplit

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from costlake.credentials import Secret
from costlake.errors import CostlakeError
from costlake.formats.vendors.paginators import PageRequest, Paginator, PagingError
from costlake.settings import Settings

log = logging.getLogger(__name__)

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504, 529}  # 529: Anthropic "overloaded"
USER_AGENT = "costlake (+https://github.com/costlake/costlake)"


class VendorError(CostlakeError):
    """The vendor refused or failed a request. `status` is the HTTP status (None: no answer)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _Retryable(Exception):
    def __init__(self, response: httpx.Response | None, error: Exception | None = None) -> None:
        self.response = response
        self.error = error


def _reason(response: httpx.Response) -> str:
    """The vendor's own words, from the usual JSON error shapes, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    candidates: list[Any] = []
    if isinstance(body, dict):
        error = body.get("error")
        candidates += [error.get("message") if isinstance(error, dict) else error]
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0]
            candidates.append(first.get("detail") or first.get("title") or first.get("message") if isinstance(first, dict) else first)
        candidates += [body.get("message"), body.get("detail"), body.get("title")]
    reason = next((str(candidate) for candidate in candidates if candidate), None)
    return (reason or str(body))[:300]


def _server_wait(response: httpx.Response | None) -> float | None:
    """Seconds the vendor asks us to wait: Retry-After (seconds or an HTTP date), else a rate-limit reset."""
    if response is None:
        return None
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        if retry_after.strip().isdigit():
            return float(retry_after)
        parsed = email.utils.parsedate_to_datetime(retry_after)
        if parsed is not None:
            return max(0.0, (parsed - datetime.now(UTC)).total_seconds())
    if response.status_code == 429:
        reset = response.headers.get("X-RateLimit-Reset")  # Confluent and Datadog: seconds until the window resets
        if reset and reset.strip().isdigit():
            return float(reset)
    return None


class VendorClient:
    """One vendor host. Paths are relative to the base URL; `get_url` follows a vendor's own next-page link,
    only on the same host (a payload can never send the server elsewhere). `transport` replaces the network,
    e.g. an httpx.MockTransport in unit tests."""

    def __init__(
        self,
        vendor: str,
        base_url: str,
        auth: httpx.Auth | dict[str, str],
        settings: Settings,
        *,
        secret: Secret,
        hint: str,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.vendor = vendor
        self.base_url = base_url.rstrip("/")
        self._secret = secret
        self._hint = hint
        self._settings = settings
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if isinstance(auth, dict):
            headers.update(auth)
            auth = None  # type: ignore[assignment]
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            auth=auth,  # type: ignore[arg-type]
            timeout=settings.vendor_timeout.total_seconds(),
            follow_redirects=False,
            transport=transport,
        )

    def get(self, path: str, params: Any = None, *, headers: dict[str, str] | None = None) -> Any:
        return self.request("GET", path, params=params, headers=headers)

    def post(self, path: str, json: Any = None) -> Any:
        return self.request("POST", path, json=json)

    def get_url(self, url: str) -> Any:
        url = urljoin(self.base_url + "/", url)  # a relative link is relative to the base URL
        base, target = urlsplit(self.base_url), urlsplit(url)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            raise VendorError(f"{self.vendor} sent a next-page link to another host ({target.netloc}); refusing to follow it")
        return self.request("GET", url)

    def pages(self, path: str, paginator: Paginator, *, params: Any = None, json: dict[str, Any] | None = None) -> Iterator[Any]:
        """Each page's JSON of a listing, in order: the first asked as given (a POST when it has a JSON body), the
        next ones as `paginator` says. A page is fetched only once the previous one has been consumed."""
        request: PageRequest | None = PageRequest(path, params, json)
        while request is not None:
            if request.link:
                page = self.get_url(request.url)
            else:
                page = self.request(request.method, request.url, params=request.params, json=request.json)
            yield page
            try:
                request = paginator.next(request, page)
            except PagingError as error:
                raise VendorError(f"{self.vendor} {error}") from None

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        retrying = Retrying(
            retry=retry_if_exception(lambda error: isinstance(error, _Retryable)),
            stop=stop_after_attempt(self._settings.vendor_max_attempts),
            wait=self._wait,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            response = retrying(self._send, method, url, **kwargs)
        except _Retryable as last:
            raise self._gave_up(method, url, last) from None
        try:
            # Money stays exact: JSON numbers with a fraction become Decimal, never float.
            return json.loads(response.text, parse_float=Decimal)
        except ValueError:
            raise VendorError(f"{self.vendor} answered {method} {self._path(url)} with something other than JSON") from None

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, url, **kwargs)
        except httpx.TransportError as error:
            raise _Retryable(None, error) from None
        if response.status_code in RETRYABLE_STATUS:
            raise _Retryable(response)
        if response.status_code >= 400:
            raise self._refused(method, url, response)
        return response

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = _server_wait(error.response) if isinstance(error, _Retryable) else None
        fallback = wait_exponential_jitter(initial=1, max=30)(state)
        return min(asked if asked is not None else fallback, self._settings.vendor_max_wait.total_seconds())

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        what = f"HTTP {error.response.status_code}" if isinstance(error, _Retryable) and error.response is not None else "no answer"
        log.warning("%s: %s, try %d; retrying in %.1f s", self.vendor, what, state.attempt_number, state.upcoming_sleep)

    def _path(self, url: str) -> str:
        return urlsplit(url).path or url

    def _refused(self, method: str, url: str, response: httpx.Response) -> VendorError:
        reason = self._secret.redact(_reason(response))
        status = response.status_code
        if status in (401, 403):
            advice = f"check {self._hint} and its permissions"
        elif status == 404:
            advice = "check the source's options (account, organization or site)"
        else:
            advice = "check the source's options"
        return VendorError(f"{self.vendor} answered {status} to {method} {self._path(url)}: {reason}; {advice}", status=status)

    def _gave_up(self, method: str, url: str, last: _Retryable) -> VendorError:
        tries = self._settings.vendor_max_attempts
        if last.response is None:
            detail = type(last.error).__name__ if last.error else "no answer"
            return VendorError(f"{self.vendor} did not answer {method} {self._path(url)} after {tries} tries ({detail}); try again later")
        reason = self._secret.redact(_reason(last.response))
        return VendorError(
            f"{self.vendor} answered {last.response.status_code} to {method} {self._path(url)} after {tries} tries: {reason}; "
            "the vendor is rate limiting or unavailable, try again later",
            status=last.response.status_code,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
