"""The verdict as text (`mockserver verdict`, `assert_clean_verdict`): its head, each finding's rule, detail,
citation and requests as the journal shows them."""

from __future__ import annotations

from mockserver.verdict import describe, judge_entries, rule
from tests.testing.test_verdict_unit import entry


def test_a_clean_verdict_is_one_line_and_a_verdict_without_complete_is_not_incomplete():
    """`complete` absent: a server older than the field; nothing was cut."""
    verdict = judge_entries([entry(503, 0), entry(503, 1), entry(503, 3), entry(201, 7)])
    assert "complete" not in verdict
    assert describe(verdict) == "4 request(s), 3 retries judged: clean"
    assert describe(judge_entries([entry(503, 0), entry(201, 1)])) == "2 request(s), 1 retry judged: clean"
    assert describe({**verdict, "complete": False}).splitlines() == [
        "4 request(s), 3 retries judged: clean",
        "incomplete: the journal (mockserver serve --journal-size, Settings.journal_size) no longer holds the "
        "oldest requests of what was judged, or (--state redis://) Redis did not take the entry of one answered "
        "while it was away; they were not judged"]


def test_a_finding_is_told_with_its_citation_and_each_request():
    errors = ["EXEG-0003-400"]
    first = entry(400, 1000, api="edge", query="datastreamId=x&api_key=SECRET", errors=errors)
    second = entry(400, 1001.5, api="edge", query="datastreamId=x&api_key=SECRET", errors=errors)
    third = entry(200, 1003, api="edge")
    cited = rule("no-retry-on-4xx", "edge")
    one, two = first["seq"], second["seq"]
    text = describe({**judge_entries([first, second, third]), "complete": False})
    assert text.splitlines() == [
        "3 request(s), 1 retry judged: 1 finding(s)",
        "incomplete: the journal (mockserver serve --journal-size, Settings.journal_size) no longer holds the "
        "oldest requests of what was judged, or (--state redis://) Redis did not take the entry of one answered "
        "while it was away; they were not judged",
        f"- [edge] no-retry-on-4xx: {cited.title} (session s)",
        f"  #{two} retried #{one} (400) after 1.500 s",
        f"  doc: {cited.doc} ({cited.source}): \"{cited.quote}\"",
        f"    #{one} +0.0s POST /edge/x?datastreamId=x&api_key=[redacted] -> 400 EXEG-0003-400",
        f"    #{two} +1.5s POST /edge/x?datastreamId=x&api_key=[redacted] -> 400 EXEG-0003-400",
    ]
    assert "SECRET" not in text


def test_a_request_without_query_or_errors_is_told_without_them():
    chain = [entry(503, at, latency_ms=0) for at in (0, 0.001, 0.002)]
    lines = describe(judge_entries(chain)).splitlines()
    assert lines[-3:] == [f"    #{e['seq']} +{at}s POST /braze/x -> 503" for e, at in zip(chain, (0.0, 0.001, 0.002),
                                                                                          strict=True)]
