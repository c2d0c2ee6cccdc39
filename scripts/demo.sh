#!/usr/bin/env bash
# Set up the project, then run the main job on the embedded sandbox with the sample data.
# 100 contacts and 1,000 organisations, a few of each marked deleted, go into two DMP segments.
# The segments' status and member counts are printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install --quiet --editable .

config=sample_data/demo-config.json
for stream in contacts accounts; do
    echo "== $stream -> target-linkedin-audiences (STATE messages follow)"
    .venv/bin/target-linkedin-audiences --config "$config" < "sample_data/$stream.singer.jsonl"
done

# LinkedIn builds a new segment's audience in up to 48 hours; the sandbox takes 10 seconds.
echo "== Waiting 10 s for the sandbox to build the segments"
sleep 10
echo "== Segments of the sandbox ad account"
.venv/bin/linkedin-audiences segments status --config "$config"
