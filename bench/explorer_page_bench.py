#!/usr/bin/env python3
"""How long the console's Explorer takes to become usable after navigation, in Debian's Chromium.

Point it at a running `costlake serve` (e.g. on the lake `bench/query_bench.py --keep` leaves) with a token of the
tenant; it signs in, then navigates to the Explorer N times and times each until the chart and table are drawn
(`#results[data-state=ready]`). The default view is the last 3 months, daily, by service, top 10.

    python bench/explorer_page_bench.py --url http://127.0.0.1:8080 --token clk_...
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]
TARGET_MS = 1500


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8080")
    parser.add_argument("--token", required=True)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{args.url}/console/sign-in")
        page.fill("input[name=token]", args.token)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/explorer**")
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            page.goto(f"{args.url}/console/explorer")
            page.wait_for_selector("#results[data-state=ready]", timeout=60_000)
            times.append((time.perf_counter() - started) * 1000)
        browser.close()
    median = statistics.median(times[1:])  # the first navigation warms the server's caches
    print(f"explorer usable after navigation, ms: {[round(t) for t in times]}; median of runs 2..{args.runs}: {median:.0f}")
    print(f"verdict: {'PASS' if median < TARGET_MS else 'FAIL'} (target < {TARGET_MS} ms)")
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
