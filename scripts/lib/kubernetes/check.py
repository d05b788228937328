#!/usr/bin/env python3
"""Offline validation of FerretWatch's Kubernetes manifests (scripts/validate-kubernetes.sh).

    check.py --manifests DIR --metrics-source DIR --node-modules DIR

1. Every built-in object against the Kubernetes 1.37 schemas that kubernetes-validate
   ships, strictly (an unknown field is an error, as kubectl's strict field validation
   makes it); a Rollout's pod template too, as a v1 PodTemplate.
2. Every Argo Rollouts object (Rollout, AnalysisTemplate) against the schemas of
   @kubernetes-models/argo-rollouts (argo-validate.mjs, beside this file), unknown fields
   included.
3. What no schema says (rules.py): the Rollout's staged steps, the AnalysisTemplate's
   queries parsing as PromQL and naming metrics the server exports, the containers'
   hardening, the Services, the PodDisruptionBudget and the NetworkPolicies selecting the
   pods, no Secret values.

Prints one line per problem and exits 1 when there is any, 2 on a usage error.
"""

import argparse
import json
import os
import subprocess
import sys

import kubernetes_validate
import yaml

import rules

KUBERNETES_VERSION = "1.37"
ARGO_KINDS = {"Rollout", "AnalysisTemplate", "ClusterAnalysisTemplate"}


class Problems:
    """Collects problems, each tied to the object it was found in."""

    def __init__(self):
        self.lines = []

    def add(self, where, message):
        self.lines.append(f"{where}: {message}")


def load(manifests, problems):
    """Every YAML document under `manifests` as (file, where, object)."""
    objects = []
    files = []
    for dirpath, _, names in os.walk(manifests):
        for name in sorted(names):
            if name.endswith((".yaml", ".yml")):
                files.append(os.path.join(dirpath, name))
    if not files:
        problems.add(manifests, "no .yaml or .yml file")
    for path in sorted(files):
        rel = os.path.relpath(path, manifests)
        try:
            with open(path, encoding="utf-8") as f:
                docs = list(yaml.safe_load_all(f))
        except yaml.YAMLError as e:
            problems.add(rel, f"not valid YAML: {e}")
            continue
        for index, doc in enumerate(docs):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                problems.add(f"{rel} (document {index + 1})", "not a mapping")
                continue
            kind = doc.get("kind")
            name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
            where = f"{rel}: {kind}/{name}"
            if not isinstance(kind, str) or not isinstance(doc.get("apiVersion"), str):
                problems.add(where, "apiVersion and kind are required")
                continue
            if kind != "Kustomization" and not isinstance(name, str):
                problems.add(where, "metadata.name is required")
                continue
            objects.append((rel, where, doc))
    return files, objects


def validate_builtin(where, doc, problems):
    """Strict Kubernetes schema validation of one built-in object."""
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        path = ".".join(str(p) for p in e.path) or "(root)"
        problems.add(where, f"Kubernetes {KUBERNETES_VERSION} schema: {path}: {e.message}")
    except kubernetes_validate.SchemaNotFoundError:
        problems.add(where, f"no Kubernetes {KUBERNETES_VERSION} schema for {doc['apiVersion']} {doc['kind']}")


def validate_argo(argo, node_modules, problems):
    """Argo Rollouts schema validation of every Argo object, in one node process."""
    if not argo:
        return
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "argo-validate.mjs")
    payload = json.dumps([{"where": where, "object": doc} for where, doc in argo])
    run = subprocess.run(["node", script, node_modules], input=payload, capture_output=True, text=True)
    if run.returncode != 0:
        problems.add("argo-validate.mjs", f"failed (exit {run.returncode}): {run.stderr.strip()}")
        return
    for line in json.loads(run.stdout):
        problems.lines.append(f"{line} (Argo Rollouts schema)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifests", required=True)
    parser.add_argument("--metrics-source", required=True)
    parser.add_argument("--node-modules", required=True)
    args = parser.parse_args()
    if not os.path.isdir(args.manifests):
        print(f"--manifests {args.manifests}: not a directory", file=sys.stderr)
        return 2

    problems = Problems()
    files, loaded = load(args.manifests, problems)
    objects = [(where, doc) for _, where, doc in loaded]
    argo = []
    for where, doc in objects:
        if doc["kind"] == "Kustomization":
            continue  # not applied to the cluster; rules.check_kustomization reads it
        if doc["kind"] in ARGO_KINDS:
            argo.append((where, doc))
        else:
            validate_builtin(where, doc, problems)
        if doc["kind"] == "Rollout":
            wrapped = {"apiVersion": "v1", "kind": "PodTemplate",
                       "metadata": {"name": doc["metadata"]["name"]},
                       "template": (doc.get("spec") or {}).get("template") or {}}
            validate_builtin(f"{where} (spec.template as a PodTemplate)", wrapped, problems)
    validate_argo(argo, args.node_modules, problems)
    rules.check_all(args.manifests, files, objects, args.metrics_source, problems)

    if problems.lines:
        for line in problems.lines:
            print(f"FAIL {line}", file=sys.stderr)
        print(f"validate-kubernetes: {len(problems.lines)} problem(s) in {args.manifests}", file=sys.stderr)
        return 1
    print(f"validate-kubernetes: {len(objects)} objects in {len(files)} files valid: Kubernetes "
          f"{KUBERNETES_VERSION} schemas (strict), Argo Rollouts schemas (unknown fields refused), "
          "FerretWatch checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
