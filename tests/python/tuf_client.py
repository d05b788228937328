#!/usr/bin/env python3
"""A stock TUF client (python-tuf's ngclient) against a FerretWatch origin.

    tuf_client.py METADATA_DIR BASE_URL ROOT_JSON TARGET_DIR

Refreshes (root rotations, timestamp, snapshot, targets), then downloads every target the
top-level targets list and every target of each delegated role, each verified by
python-tuf. METADATA_DIR keeps the client's trusted metadata between runs, so a second
run is an update with rollback protection. Prints one JSON line:
{"root": N, "targets_version": N, "targets": N, "delegated": {"ROLE": N}}; exits non-zero
on any failure.
"""
import json
import os
import shutil
import sys

from tuf.ngclient import Updater


def main():
    metadata_dir, base_url, root_json, target_dir = sys.argv[1:5]
    os.makedirs(metadata_dir, exist_ok=True)
    os.makedirs(target_dir, exist_ok=True)
    if not os.path.exists(os.path.join(metadata_dir, "root.json")):
        shutil.copy(root_json, os.path.join(metadata_dir, "root.json"))
    base = base_url.rstrip("/") + "/"
    # bootstrap=None: start from the root.json in METADATA_DIR (the shipped root the first
    # time, the newest trusted one afterwards).
    updater = Updater(
        metadata_dir=metadata_dir, metadata_base_url=base, target_dir=target_dir, target_base_url=base, bootstrap=None
    )
    updater.refresh()

    with open(os.path.join(metadata_dir, "targets.json"), encoding="utf-8") as f:
        targets = json.load(f)["signed"]
    with open(os.path.join(metadata_dir, "snapshot.json"), encoding="utf-8") as f:
        in_snapshot = json.load(f)["signed"]["meta"]
    names = sorted(targets["targets"])
    delegated = {}
    for role in (targets.get("delegations") or {}).get("roles", []):
        # A delegated role that has published nothing yet is not in the snapshot.
        if role["name"] + ".json" not in in_snapshot:
            continue
        # Looking up a path inside the delegation makes the updater load and verify the role.
        probe = role["paths"][0].replace("*", "manifest.json")
        updater.get_targetinfo(probe)
        role_file = os.path.join(metadata_dir, role["name"] + ".json")
        if not os.path.exists(role_file):
            continue
        with open(role_file, encoding="utf-8") as f:
            listed = sorted(json.load(f)["signed"]["targets"])
        delegated[role["name"]] = len(listed)
        names += listed

    for name in names:
        info = updater.get_targetinfo(name)
        if info is None:
            sys.exit(f"target {name} not found by python-tuf")
        path = updater.download_target(info, filepath=os.path.join(target_dir, name.replace("/", "_")))
        if os.path.getsize(path) != info.length:
            sys.exit(f"target {name}: wrong length")

    with open(os.path.join(metadata_dir, "root.json"), encoding="utf-8") as f:
        root_version = json.load(f)["signed"]["version"]
    print(json.dumps({"root": root_version, "targets_version": targets["version"], "targets": len(targets["targets"]),
                      "delegated": delegated}))


if __name__ == "__main__":
    main()
