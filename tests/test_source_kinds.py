"""Every registered source kind is complete: a label, a docs page that names it, a reader test, and data to test it
with (a costlake sample writer, a fake vendor server, or rows the test builds). A kind added to the registry without
them fails here (datasette's tests/test_docs.py idea)."""

from __future__ import annotations

from pathlib import Path

import pytest

from costlake.formats.registry import BUILTINS, FORMAT_LABELS, PROVIDER_LABELS, kind_of

ROOT = Path(__file__).resolve().parents[1]

# kind -> (its reader test, where its test data comes from)
EVIDENCE = {
    "focus": ("tests/test_sync.py", "src/costlake/samples/generator.py"),
    "aws-cur2": ("tests/test_aws_cur.py", "src/costlake/samples/aws_export.py"),
    "aws-cur-legacy": ("tests/test_aws_cur.py", "tests/test_aws_cur.py"),  # legacy rows built by the test itself
    "azure-cost-details": ("tests/test_azure_cost.py", "src/costlake/samples/azure_export.py"),
    "gcp-billing-export": ("tests/test_gcp_billing.py", "src/costlake/samples/gcp_export.py"),
    "gcp-cud-metadata": ("tests/test_gcp_cud_metadata.py", "tests/fake_bigquery.py"),
    "anthropic": ("tests/test_vendor_anthropic.py", "tests/fakes/anthropic.py"),
    "cursor": ("tests/test_vendor_cursor.py", "tests/fakes/cursor.py"),
    "datadog": ("tests/test_vendor_datadog.py", "tests/fakes/datadog.py"),
    "confluent": ("tests/test_vendor_confluent.py", "tests/fakes/confluent.py"),
    "aiven": ("tests/test_vendor_aiven.py", "tests/fakes/aiven.py"),
}


def test_every_registered_kind_has_its_evidence_listed() -> None:
    assert sorted(kind.name for kind in BUILTINS) == sorted(EVIDENCE)


@pytest.mark.parametrize("kind", BUILTINS, ids=[kind.name for kind in BUILTINS])
def test_kind_is_labelled_documented_and_tested(kind) -> None:  # type: ignore[no-untyped-def]
    assert kind.label.strip(), f"{kind.name} has no label"
    docs = ROOT / kind.docs
    assert docs.is_file(), f"{kind.name}: its docs page {kind.docs} does not exist"
    assert kind.name in docs.read_text() or kind.label in docs.read_text(), f"{kind.docs} never names {kind.name}"
    reader_test, data = (ROOT / path for path in EVIDENCE[kind.name])
    assert reader_test.is_file() and data.is_file()
    assert set(kind.providers) <= set(PROVIDER_LABELS), f"{kind.name} names a provider without a label"


def test_labels_are_distinct_and_every_kind_resolves() -> None:
    labels = [kind.label for kind in BUILTINS]
    assert len(set(labels)) == len(labels)
    for kind in BUILTINS:
        provider = kind.providers[0]
        assert kind_of(provider, "api" if kind.kind == "api" else kind.name) is kind
        assert kind.kind == "api" or FORMAT_LABELS[kind.name] == kind.label
