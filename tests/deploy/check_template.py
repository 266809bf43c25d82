"""Checks template.yaml against the workspace: run by scripts/test with the tools venv's Python.

- every Lambda binary of the workspace (functions/*, except the local runner) has a function
  resource built from its cargo-lambda artefact, and every function resource has a binary;
- every SQS queue has a dead-letter queue (or is one), and every SQS event source reports
  batch item failures with a visibility timeout of at least 6x the consumer's timeout;
- every secret ARN a function reads (an *_SECRET_ARN variable) is granted to it, and no other
  secret is.
"""

import pathlib
import sys
import tomllib

from cfnlint.decode import decode_str

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Each connection's ilert API key is created at run time; the functions that use them reach
# them by name prefix. These are the only secret grants not bound to a template resource.
RUNTIME_SECRET_STATEMENTS = {
    ("ManagementApiFunction", "ConnectionApiKeys"),
    ("MessagingFunction", "ConnectionApiKeys"),
    ("DirectorySyncFunction", "ConnectionApiKeys"),
}

failures = []


def fail(message):
    failures.append(message)


def workspace_binaries():
    bins = {}
    for manifest in sorted((ROOT / "functions").glob("*/Cargo.toml")):
        data = tomllib.loads(manifest.read_text())
        if data["package"]["name"] == "local-runner":
            continue
        for b in data.get("bin", [{"name": data["package"]["name"]}]):
            bins[b["name"]] = manifest.parent.name
    return bins


def ref(value):
    if isinstance(value, dict) and "Ref" in value:
        return value["Ref"]
    return None


def getatt_resource(value):
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        att = value["Fn::GetAtt"]
        return att[0] if isinstance(att, list) else att.split(".")[0]
    return None


template, matches = decode_str((ROOT / "template.yaml").read_text())
if matches:
    sys.exit(f"template.yaml does not parse: {matches}")
resources = template["Resources"]
globals_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})

functions = {name: r for name, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
queues = {name: r for name, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
secrets = {name for name, r in resources.items() if r["Type"] == "AWS::SecretsManager::Secret"}

# Functions <-> binaries.
bins = workspace_binaries()
seen = set()
for name, fn in functions.items():
    uri = str(fn["Properties"].get("CodeUri", "")).rstrip("/")
    binary = uri.split("/")[-1]
    if not uri.startswith("target/lambda/") or binary not in bins:
        fail(f"{name}: CodeUri {uri!r} is not the cargo-lambda artefact of a workspace function")
    seen.add(binary)
for binary, crate in bins.items():
    if binary not in seen:
        fail(f"functions/{crate} (binary {binary}) has no function resource in template.yaml")

# Queues have dead-letter queues.
dead_letter_targets = set()
for name, q in queues.items():
    target = getatt_resource(q["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn"))
    if target:
        dead_letter_targets.add(target)
for name, q in queues.items():
    if name in dead_letter_targets:
        continue
    target = getatt_resource(q["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn"))
    if target not in queues:
        fail(f"{name}: no dead-letter queue")

# Event sources.
for name, fn in functions.items():
    timeout = fn["Properties"].get("Timeout", template.get("Globals", {}).get("Function", {}).get("Timeout", 3))
    for event_name, event in fn["Properties"].get("Events", {}).items():
        if event["Type"] != "SQS":
            continue
        props = event["Properties"]
        if "ReportBatchItemFailures" not in props.get("FunctionResponseTypes", []):
            fail(f"{name}.{event_name}: no ReportBatchItemFailures")
        queue = getatt_resource(props["Queue"])
        visibility = queues[queue]["Properties"].get("VisibilityTimeout", 30)
        if visibility < 6 * timeout:
            fail(f"{queue}: visibility timeout {visibility} s is under 6x {name}'s timeout {timeout} s")

# Secrets: read <=> granted.
for name, fn in functions.items():
    env = dict(globals_env)
    env.update(fn["Properties"].get("Environment", {}).get("Variables", {}))
    read = {ref(v) for k, v in env.items() if k.endswith("_SECRET_ARN")}
    if None in read or not read <= secrets:
        fail(f"{name}: a *_SECRET_ARN variable does not name a secret of the template")
    granted = set()
    for policy in fn["Properties"].get("Policies", []):
        if not isinstance(policy, dict):
            fail(f"{name}: managed policy {policy!r} is too broad to check")
            continue
        if "AWSSecretsManagerGetSecretValuePolicy" in policy:
            granted.add(ref(policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]))
        for statement in policy.get("Statement", []):
            actions = statement.get("Action", [])
            actions = [actions] if isinstance(actions, str) else actions
            if any(a.startswith("secretsmanager:") for a in actions):
                if (name, statement.get("Sid")) not in RUNTIME_SECRET_STATEMENTS:
                    fail(f"{name}: secret statement {statement.get('Sid')!r} is not bound to a template secret")
    if granted != read:
        fail(f"{name}: reads secrets {sorted(read)} but is granted {sorted(granted)}")

checked = len(functions) + len(queues)
if failures:
    print("\n".join(failures))
    print(f"0 passed, {len(failures)} failed")
    sys.exit(1)
print(f"template.yaml matches the workspace: {len(functions)} functions, {len(queues)} queues, {len(secrets)} secrets")
