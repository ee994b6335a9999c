"""After the fuzzer: every event the service recorded, read back through the forward
feed, is checked against the schema its kind has in the served OpenAPI document's
`webhooks` section, with an independent JSON Schema validator (jsonschema_rs,
Draft 2020-12; Schemathesis's own). A kind the document does not list, a field it
does not declare, a missing field or a value of the wrong type fails the run.
Prints how many events of how many kinds were checked."""

import collections
import json
import sys
import urllib.request

import jsonschema_rs

base, key = sys.argv[1], sys.argv[2]


def get(path):
    req = urllib.request.Request(base + path)
    req.add_header("Authorization", "Bearer " + key)
    with urllib.request.urlopen(req) as res:
        return json.loads(res.read())


doc = get("/api/openapi.json")
validators = {}
for kind, item in doc["webhooks"].items():
    payload = item["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = payload["properties"]["data"]["properties"]["data"]
    validators[kind] = jsonschema_rs.Draft202012Validator(schema)

seen = collections.Counter()
failures = []
after = 0
while True:
    page = get(f"/api/v1/events?after={after}&limit=100")
    for e in page["events"]:
        seen[e["kind"]] += 1
        v = validators.get(e["kind"])
        if v is None:
            failures.append(f"seq {e['seq']}: kind {e['kind']!r} is not in the document")
            continue
        for err in v.iter_errors(e["data"]):
            failures.append(f"seq {e['seq']} {e['kind']}: {err.message} at {list(err.instance_path)}")
    if page["next_after"] == after:
        break
    after = page["next_after"]

for f in failures[:50]:
    print("events.py:", f, file=sys.stderr)
print(f"events.py: {sum(seen.values())} events of {len(seen)} kinds checked against their schemas, "
      f"{len(failures)} failures")
sys.exit(1 if failures or not seen else 0)
