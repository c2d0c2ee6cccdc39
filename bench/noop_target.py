"""A singer-sdk target that does nothing with its records, with the SDK's default settings.

It is the baseline of bench/run.py: what any target built on singer-sdk 0.54 pays before it does
any work of its own (reading, JSON parsing, jsonschema validation, timestamp parsing, metrics).
"""

from __future__ import annotations

from singer_sdk import Sink, Target
from singer_sdk import typing as th


class NoopSink(Sink):
    """Accept every record and drop it."""

    def process_record(self, record: dict, context: dict) -> None:
        pass

    def process_batch(self, context: dict) -> None:
        pass


class NoopTarget(Target):
    """Read Singer messages and drop every record."""

    name = "target-noop"
    config_jsonschema = th.PropertiesList().to_dict()
    default_sink_class = NoopSink


if __name__ == "__main__":
    NoopTarget.cli()
