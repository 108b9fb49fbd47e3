"""Time every page of the workbench (``kefu-lint review``) on an audit, over real HTTP.

    python benchmarks/generate_log.py 1000000 > big.jsonl
    kefu-lint audit big.jsonl --out big --jobs 2
    python benchmarks/review_pages.py big/          # prints the median of 5 requests per page

The server runs in this process (uvicorn on a free loopback port); the first request after
start-up (building the review cache for the run) is timed on its own.
"""

from __future__ import annotations

import http.cookiejar
import re
import socket
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path


def main() -> None:
    import uvicorn

    from kefu_lint.review.app import create_app
    from kefu_lint.review.command import add_users, database_of

    database = database_of(Path(sys.argv[1]))
    add_users(database, ("bench:lead",))
    started = time.perf_counter()
    app = create_app(database)   # prepares the review tables and builds the cache for the run
    print(f"start-up (review cache for the run): {time.perf_counter() - started:.2f} s")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    opener.open(urllib.request.Request(base + "/login", data=urllib.parse.urlencode({"csrf": token, "name": "bench"}).encode()))
    listing = opener.open(base + "/conversations").read().decode()
    first = re.search(r'class="conversation-link" href="([^"]+)"', listing).group(1)
    pages = ["/", "/?period=week", "/?shop=%E6%97%97%E8%88%B0%E5%BA%97", "/?agent=%E5%AE%A2%E6%9C%8D001", "/?code=KF101",
             "/?date_from=2025-11-03&date_to=2025-11-05", "/conversations", "/conversations?page=1000",
             "/conversations?code=KF104&order=time", "/conversations?queue=1", first, "/disputes", "/plan", "/calibration"]
    rows = []
    for page in pages:
        times = []
        for _ in range(5):
            start = time.perf_counter()
            opener.open(base + page).read()
            times.append(time.perf_counter() - start)
        rows.append((statistics.median(times), page))
    for seconds, page in sorted(rows, reverse=True):
        print(f"{seconds * 1000:8.0f} ms  {urllib.parse.unquote(page)}")
    server.should_exit = True


if __name__ == "__main__":
    main()
