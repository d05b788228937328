#!/usr/bin/env bash
# The project's test command: every test of every crate, including the corpus,
# property and CLI tests. Installs nothing today: the detection engine needs no service.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo test --workspace "$@"
