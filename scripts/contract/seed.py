"""Seeds a fresh `guestlist serve --dev` for the contract run, so that the fuzzer's
requests reach the service's logic instead of 404s: spaces in each join mode, an
admin, a live invite link, a pending invitation, a join request, the sign-up gate
with a platform invitation. Prints the user token the Schemathesis config reads as an
environment variable (a NAME=value line)."""

import json
import subprocess
import sys
import urllib.request

base, key, binary = sys.argv[1], sys.argv[2], sys.argv[3]


def call(method, path, token, body=None, ok=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + "/api/v1" + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as res:
            status, text = res.status, res.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    if status not in ok:
        sys.exit(f"seed: {method} {path} answered {status}: {text!r}")
    return json.loads(text) if text else None


def token(sub, email):
    out = subprocess.run(
        [binary, "token", "--sub", sub, "--email", email, "--email-verified", "--username", sub],
        check=True, capture_output=True, text=True,
    )
    return out.stdout.strip()


alice = token("alice", "alice@example.com")
bob = token("bob", "bob@example.com")
call("POST", "/spaces", key, {"path": "acme/", "name": "Acme", "join_mode": "invite_only"})
call("POST", "/spaces", key, {"path": "acme/eng/", "name": "Engineering", "join_mode": "request"})
call("POST", "/spaces", key, {"path": "open/", "name": "Open", "join_mode": "open"})
call("PUT", "/spaces/acme%2F/members/alice", key, {"role": "admin"})
call("POST", "/invites", key, {"space": "acme/", "max_uses": 1000})
call("POST", "/invitations", key, {"space": "acme/", "email": "carol@example.com"})
call("POST", "/spaces/acme%2Feng%2F/join-requests", bob, {"message": "hello"})
call("POST", "/spaces/open%2F/join", bob)
call("PUT", "/signup/config", key, {"mode": "invite_only", "cap": 1000, "user_invitations": True, "user_quota": 5})
call("POST", "/signup/invitations", key, {"max_uses": 1000})

print(f"GUESTLIST_ST_USER={bob}")
