"""Runs scim2-tester (an independent checker of SCIM 2.0 compliance, RFC 7643/7644)
against a live Guestlist: every check it makes of what ServiceProviderConfig says is
supported. Prints each result (the report CI keeps in its log) and exits 1 on any
error.

    scim_check.py BASE_URL SCIM_KEY
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base, key = sys.argv[1], sys.argv[2]
    http = httpx2.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client, raise_exceptions=False)
    counts: dict[str, int] = {}
    for r in results:
        status = r.status.name
        counts[status] = counts.get(status, 0) + 1
        where = f"[{r.resource_type}] " if getattr(r, "resource_type", None) else ""
        print(f"{status:8} {where}{r.title}: {r.reason or ''}".rstrip())
    print("scim2-tester:", ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())))
    failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
