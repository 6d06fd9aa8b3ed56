"""The client verdict: a session's journal judged against each API's documented retry rules.

What counts as a retry (the rules below only ever look at retries, except the DCS race rule and the
clientless throttle, which judge every request):
within one session, request B retries request A when B is the next request after A with the same
api, route, method, path, raw query (the mock's `__` flags are taken off before the journal sees it),
body (hash of the journal's copy and its full size) and credentials (`Authorization`, `x-api-key`),
and A's answer failed: an HTTP status of 400 or more, or a DCS answer carrying code 311 (a 200 whose
request the DCS disregarded). A success ends the chain: the next identical request is a new call.
Changed credentials or a changed body are a new request, not a retry ("address the error first").

A wait is measured from the start of the failed request to the start of its retry, on the virtual
clock or on the real one, whichever moved more: a test may advance the clock instead of sleeping,
and a frozen clock does not hide a real sleep.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

from mockserver.journal import redact_fields

RETRY_DEFINITION = (
    "B retries A when B is the next request of the session with A's api, route, method, path, raw query "
    "(flags off), body and credentials, and A's answer failed (status >= 400, or DCS code 311). "
    "Waits run from A's start to B's start, on the virtual or the real clock, whichever moved more."
)
THROTTLE_ERRORS = frozenset({"too-many-requests", "too-many-requests-429"})
THROTTLE_WAIT_S = 1.0
# Reactor's internal-error says "Please wait a few minutes and try again". "A few minutes" is vague; the
# verdict reads it as leniently as it can be read: a retry within the first minute waited no minutes at all.
REACTOR_INTERNAL_ERROR_WAIT_S = 60.0
# Edge's 502 and 504 ("may retry the request after some time") and Reactor's "try again later" ask for a wait and
# give no figure. Read as leniently: one retry at once passes (urllib3 sends its first retry at once, then backs
# off); two in a row, each sent at once, are a loop, not a wait.
AT_ONCE_S = 0.1
# Retry-After's seconds count from the answer (gap_after): the virtual arm takes the answer's real latency off, which
# under a frozen clock did not pass virtually; a client that waited the whole delay after a frozen clock's advance
# comes out this little short, and is let pass.
RETRY_AFTER_SLACK_S = 0.05
# Retries this close to the answer before are sent at once, whatever backoff the client meant: two under FLAT_S,
# three or more under FLAT_MANY_S. A 0 s retry loop around `httpx.post()` (a new client, and its SSL context, each
# time) leaves 20-35 ms between an answer and the next request here, more on a loaded machine.
FLAT_S = 0.03
FLAT_MANY_S = 0.05
FIXED_NOISE_S = 0.015  # how far apart one fixed wait's delays fall: a new client per request adds 10 ms of spread
_ASKS_A_WAIT: dict[str, Callable[[Attempt], bool]] = {
    "edge": lambda a: a.status in (502, 504),
    "reactor": lambda a: bool({"unknown-error", "ims-not-authorized"} & set(a.errors)),
    "dcs": lambda a: a.status == 429,
}
_CREDENTIALS = ("authorization", "x-api-key")
# Edge's page says "Most 4xx errors, like 400, 403, 404, should not be retried": most, not 408, which
# RFC 9110 section 15.5.9 lets a client repeat ("the server did not receive a complete request message
# within the time that it was prepared to wait") and Adobe's mobile SDKs retry by design (their
# recoverable codes: 408, 429, 502, 503, 504). Braze's fatal 4xx have no such exception.
_RETRYABLE_4XX = {"edge": frozenset({408, 429}), "braze": frozenset({429})}
# ... except Edge's one documented 408 when what it says is true: EXEG-0109-408 "Empty request" is fatal
# ("The request body is empty. Update your request and try again."), so the same blank body sent again
# can only fail again. Forced on a real body (a flag or a mode playing a timeout) it stays retryable.
_EMPTY_REQUEST = "EXEG-0109-408"
# Reactor's 401s whose remedy is a new token (sign in again, a new JWT, log out and in): the same credentials
# sent again can only fail again (the attempt's key holds them: new ones make a new request, not a retry).
_NEW_CREDENTIALS = frozenset({"authentication-failure", "ims-session-error", "session-timeout"})


@dataclass(frozen=True)
class Rule:
    id: str
    api: str | None  # None: every API
    title: str
    doc: str  # the line of the reference page (shared/reference) that states it
    source: str  # the vendor page it was taken from
    quote: str


RULES: tuple[Rule, ...] = (
    Rule("no-retry-on-4xx", "edge", "a 4xx other than 429 (or a 408 on a real body) was retried unchanged",
         "reference/edge-errors.md:118", "experience-platform.en help/server-api/error-handling.md",
         "Most `4xx` errors, like 400, 403, 404, should not be retried on behalf of the client, except for "
         "`429`. These are client errors and will not succeed. The client must address the error before "
         "retrying the request."),
    Rule("no-retry-on-4xx", "braze", "a fatal 4xx other than 429 was retried unchanged",
         "reference/braze-errors.md:61,73", "braze-docs _docs/_api/errors.md",
         "The 4XX class of status code (fatal) indicates a client error. [...] All of the following error "
         "codes indicate that no messages will be sent."),
    Rule("wait-retry-after", "edge", "retried sooner than the Retry-After header allowed",
         "reference/edge-errors.md:119,122", "experience-platform.en help/server-api/error-handling.md",
         "[429] the caller must respect the `Retry-After` response header. [503] Recipients of `503` errors "
         "may retry the request, but must respect the `Retry-After` header."),
    Rule("wait-retry-after", None, "retried sooner than the Retry-After header allowed",
         "RFC 9110 section 10.2.3", "RFC 9110 (HTTP Semantics)",
         "Servers send the \"Retry-After\" header field to indicate how long the user agent ought to wait "
         "before making a follow-up request."),
    Rule("wait-ratelimit-reset", "braze", "retried a 429 before the X-RateLimit-Reset time",
         "reference/api-facts.md:239-240", "braze-docs _docs/_api/api_limits.md",
         'X-RateLimit-Reset ("time at which the current rate limit window resets in UTC epoch seconds")'),
    Rule("backoff-on-5xx", "braze", "5xx retries at a flat delay (at once, or one fixed wait)",
         "reference/braze-errors.md:62,79", "braze-docs _docs/_api/errors.md",
         "When this happens, we recommend you retry your request with exponential backoff. | "
         "`5XX Internal Server Error` | Retry your request with exponential backoff."),
    Rule("no-retry-on-500", "edge", "a plain 500 was retried (only 502, 503 and 504 may be)",
         "reference/edge-errors.md:120,123", "experience-platform.en help/server-api/error-handling.md",
         "`500` errors are generic, catch-all errors. `500` errors must not be retried, except for `502` "
         "and `503`."),
    Rule("wait-some-time", "edge", "502 or 504 retried at once, twice in a row or more",
         "reference/edge-errors.md:121,123", "experience-platform.en help/server-api/error-handling.md",
         "recipients of `502` errors may retry the request after some time. | The temporary network issues may "
         "be resolved after some time and a retry may solve the issue."),
    Rule("wait-some-time", "reactor", "an error that says 'try again later' retried at once, twice in a row or more",
         "reference/reactor-errors.md:110,138", "experience-platform.en help/tags/api/guides/error-handling.md",
         "An unknown error occurred authorizing your account. Please try again later. | An unexpected error "
         "occurred. You can try again later"),
    Rule("wait-some-time", "dcs", "a 429 retried at once, twice in a row or more",
         "reference/api-facts.md:189-190", "audience-manager.en dcs-api-reference/dcs-race-conditions.md",
         "Adobe \"may introduce rate limiting\"; when enabled the response is 429 Too Many Requests, and the "
         "client should \"retry the API calls at a later time\"."),
    Rule("wait-after-internal-error", "reactor", "an internal-error retried within a minute",
         "reference/reactor-errors.md:112", "experience-platform.en help/tags/api/guides/error-handling.md",
         "An internal error occurred. Please wait a few minutes and try again."),
    Rule("throttle-wait", "clientless", "a request (a retry or another) sent within the second the throttle lasts",
         "reference/api-facts.md:72-74", "pass.en help/authentication/integration-guide-programmers/"
         "throttling-mechanism.md", "the throttle lasts 1 s, so the client must wait at least 1 s."),
    Rule("new-credentials", "reactor", "re-sent with the same credentials after a 401 whose remedy is a new token",
         "reference/reactor-errors.md:93,111,130", "experience-platform.en help/tags/api/guides/error-handling.md",
         "Your IMS access token is invalid. You can get a new access token by signing in again. | There is an "
         "issue with the signed-in session. Please log out and log in again. | The user session has expired. "
         "Please log out and log in again."),
    Rule("reencode-after-311", "dcs", "re-sent unchanged after code 311 (the DCS disregarded it)",
         "reference/dcs-errors.md:138", "audience-manager.en dcs-api-reference/dcs-error-codes.md",
         "The DCS returns this error code when at least one URL parameter is not properly encoded. In "
         "this case, the DCS disregards the entire request."),
    Rule("no-simultaneous-calls", "dcs", "simultaneous calls for the same user",
         "reference/api-facts.md:188-189", "audience-manager.en dcs-api-reference/dcs-race-conditions.md",
         "do not send simultaneous or rapid calls for the same user; wait for each response."),
)


def rule(rule_id: str, api: str) -> Rule:
    """The rule as this API's docs state it, else the general one."""
    return next(r for r in RULES if r.id == rule_id and r.api in (api, None))


@dataclass
class Attempt:
    """One journal entry as the verdict reads it."""

    seq: int
    session: str
    api: str
    route: str | None
    method: str
    path: str
    query: str
    status: int
    errors: list[str]
    start: float  # real seconds
    end: float
    virtual: float
    reply: dict[str, str]
    key: str
    users: frozenset[str]
    device: str = ""  # X-Forwarded-For: the device clientless throttles
    blank: bool = False  # the request's body was empty or whitespace
    previous: Attempt | None = None  # the failed attempt this one retries
    chain: list[Attempt] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status >= 400 or (self.api == "dcs" and "311" in self.errors)

    def wait_since(self, earlier: Attempt) -> float:
        return max(self.virtual - earlier.virtual, self.start - earlier.start)

    def gap_after(self, earlier: Attempt) -> float:
        """From `earlier`'s answer to this request: the client's own wait, without the server's latency (a retry
        sent at once after a slow 503 is still at once). The virtual clock's share counts (a virtual sleep)."""
        latency = earlier.end - earlier.start
        return max(self.virtual - earlier.virtual - latency, self.start - earlier.end)

    def brief(self, origin: float) -> dict[str, Any]:
        # the query as the journal shows it (`api_key=[redacted]`): the attempt keeps it whole to compare retries
        return {"seq": self.seq, "method": self.method, "path": self.path, "query": redact_fields(self.query),
                "status": self.status, "errors": self.errors, "at_s": round(self.virtual - origin, 3)}


def attempt_of(entry: dict[str, Any]) -> Attempt | None:
    """None for what the verdict does not judge: misuse of the mock, requests that reached no API."""
    if entry.get("misuse") or not entry.get("api") or entry.get("virtual_time") is None:
        return None
    headers = [(str(n).lower(), str(v)) for n, v in entry.get("headers", [])]
    credentials = "\x00".join(v for n, v in headers if n in _CREDENTIALS)
    key = "\x00".join([entry["api"], str(entry.get("route")), entry["method"], entry["path"], entry.get("query", ""),
                       entry.get("body_hash", ""), str(entry.get("body_size", 0)),
                       hashlib.sha1(credentials.encode("utf-8", "replace")).hexdigest()])
    start = float(entry["time"])
    return Attempt(seq=entry["seq"], session=entry.get("session") or "default", api=entry["api"],
                   route=entry.get("route"), method=entry["method"], path=entry["path"], query=entry.get("query", ""),
                   status=int(entry.get("status", 0)), errors=list(entry.get("errors", [])), start=start,
                   end=start + float(entry.get("latency_ms", 0.0)) / 1000, virtual=float(entry["virtual_time"]),
                   reply={str(n).lower(): str(v) for n, v in entry.get("reply_headers", [])}, key=key,
                   users=dcs_users(entry["query"] if entry["api"] == "dcs" else "", headers),
                   device=next((v.split(",")[0].strip() for n, v in headers if n == "x-forwarded-for"), ""),
                   blank=_blank_body(entry))


def _blank_body(entry: dict[str, Any]) -> bool:
    kept = str(entry.get("body") or "")
    return not kept.strip() and int(entry.get("body_size", 0)) <= len(kept)


def dcs_users(query: str, headers: Sequence[tuple[str, str]]) -> frozenset[str]:
    """Who a DCS call is about: its ECID, AAM UUID, declared ids, demdex cookie."""
    users = {f"{k}={v}" for k, v in parse_qsl(query, keep_blank_values=False)
             if k in ("d_mid", "d_uuid", "d_cid", "d_cid_ic", "d_dpuuid")}
    for name, value in headers:
        if name == "cookie":
            for part in value.split(";"):
                cookie, _, content = part.strip().partition("=")
                if cookie == "demdex" and content:
                    users.add(f"d_uuid={content}")
    return frozenset(users)


def link_retries(attempts: Sequence[Attempt]) -> int:
    """Set `previous` and `chain` on each attempt (in journal order, one session); how many are retries."""
    last: dict[str, Attempt] = {}
    retries = 0
    for attempt in attempts:
        before = last.get(attempt.key)
        if before is not None and before.failed:
            attempt.previous = before
            attempt.chain = before.chain
            retries += 1
        else:
            attempt.chain = []
        attempt.chain.append(attempt)
        last[attempt.key] = attempt
    return retries


def retry_after_s(value: str, now: float) -> float | None:
    """Seconds from a Retry-After value: delta-seconds or an HTTP-date (read against the answer's time)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError, IndexError):
        return None


class Judge:
    """Collects findings, one per rule and chain of retries (or per cluster of simultaneous calls)."""

    def __init__(self) -> None:
        self.found: dict[tuple[str, str, tuple[int, ...]], tuple[Rule, list[Attempt], list[str]]] = {}

    def add(self, rule_id: str, retry: Attempt, detail: str | None) -> None:
        failed = retry.previous
        if failed is None:
            raise ValueError(f"#{retry.seq} is not a retry")
        key = (rule_id, retry.session, (retry.chain[0].seq,))
        _, attempts, details = self.found.setdefault(key, (rule(rule_id, retry.api), [], []))
        attempts.extend(a for a in (failed, retry) if a not in attempts)
        if detail:
            details.append(detail)

    def add_group(self, rule_id: str, group: list[Attempt], detail: str) -> None:
        key = (rule_id, group[0].session, tuple(a.seq for a in group))
        self.found[key] = (rule(rule_id, group[0].api), group, [detail])

    def findings(self) -> list[dict[str, Any]]:
        result = []
        for (_, session, _), (chosen, attempts, details) in sorted(self.found.items(), key=lambda i: i[0][2]):
            attempts = sorted(attempts, key=lambda a: a.seq)
            origin = attempts[0].virtual
            result.append({"rule": chosen.id, "api": chosen.api or attempts[0].api, "session": session,
                           "title": chosen.title, "doc": chosen.doc, "source": chosen.source, "quote": chosen.quote,
                           "detail": "; ".join(details), "entries": [a.seq for a in attempts],
                           "requests": [a.brief(origin) for a in attempts]})
        return result


def judge_retry(judge: Judge, retry: Attempt, failed: Attempt) -> None:
    """Every rule about one retry and the failed answer it follows."""
    api, status, waited = retry.api, failed.status, retry.wait_since(failed)
    said = f"#{retry.seq} retried #{failed.seq} ({status}) after {waited:.3f} s"
    if api in ("edge", "braze") and 400 <= status < 500 and (
            status not in _RETRYABLE_4XX[api] or (_EMPTY_REQUEST in failed.errors and failed.blank)):
        judge.add("no-retry-on-4xx", retry, said)
    if "retry-after" in failed.reply:
        allowed = retry_after_s(failed.reply["retry-after"], failed.virtual)
        # delta-seconds count from the answer's arrival (a slow 429 retried at once is at once); a date is a moment
        delta = failed.reply["retry-after"].strip().isdigit()
        gap = retry.gap_after(failed) if delta else waited
        if allowed is not None and gap < allowed - (RETRY_AFTER_SLACK_S if delta else 0.0):
            since = "after its answer" if delta else "after it"
            judge.add("wait-retry-after", retry, f"#{retry.seq} retried #{failed.seq} ({status}) {gap:.3f} s {since}; "
                                                 f"Retry-After: {failed.reply['retry-after']}")
    if api == "braze" and status == 429 and "x-ratelimit-reset" in failed.reply:
        try:
            reset = float(failed.reply["x-ratelimit-reset"])
        except ValueError:
            reset = None
        if reset is not None and failed.virtual + waited < reset:
            judge.add("wait-ratelimit-reset", retry,
                      f"{said}; X-RateLimit-Reset was {reset - failed.virtual - waited:.3f} s away")
    if api == "edge" and status == 500:
        judge.add("no-retry-on-500", retry, said)
    if api == "reactor" and "internal-error" in failed.errors and waited < REACTOR_INTERNAL_ERROR_WAIT_S:
        judge.add("wait-after-internal-error", retry, said)
    if api == "reactor" and (dead := [e for e in failed.errors if e in _NEW_CREDENTIALS]):
        judge.add("new-credentials", retry, f"#{retry.seq} re-sent #{failed.seq} with the same credentials after "
                                            f"{', '.join(dead)}")
    if api == "dcs" and "311" in failed.errors:
        judge.add("reencode-after-311", retry, f"#{retry.seq} re-sent #{failed.seq} unchanged after code 311")


def judge_some_time(judge: Judge, chain: list[Attempt]) -> None:
    """Edge 502/504, Reactor's "try again later", DCS's 429 ("at a later time"): two retries in a row each sent at
    once (AT_ONCE_S)."""
    asks_wait = _ASKS_A_WAIT.get(chain[0].api)
    if asks_wait is None:
        return
    runs: list[list[tuple[Attempt, Attempt]]] = [[]]  # (failed, its retry) sent at once, in a row
    for failed, retry in zip(chain, chain[1:], strict=False):  # a chain is one request retried
        if asks_wait(failed) and retry.wait_since(failed) < AT_ONCE_S:
            runs[-1].append((failed, retry))
        elif runs[-1]:
            runs.append([])
    for run in runs:
        if len(run) >= 2:  # a lone retry at once is let pass
            for failed, retry in run:
                judge.add("wait-some-time", retry, f"#{retry.seq} retried #{failed.seq} ({failed.status}) after "
                                                   f"{retry.wait_since(failed):.3f} s")


def judge_backoff(judge: Judge, chain: list[Attempt]) -> None:
    """Braze 5xx: with two retries or more after 5xx answers, the delays must not stay flat.

    Flat: immediate retries (two each under FLAT_S, three or more each under FLAT_MANY_S), or, with three retries or
    more, one fixed wait (all within FIXED_NOISE_S plus 1 % of the longest: timing noise). Each wait runs from the
    answer to the next request.
    Jittered backoff (tenacity's `wait_random_exponential`, braze-client's)
    draws each delay at random under a growing cap, so draws may shrink or barely grow however many there are
    (0.966, 0.283, 0.096 s: one run in 25 of a correct client never grew by x1.25): that is backoff done right,
    and only flat delays are judged. Two draws tell a fixed wait from jitter too seldom: braze-client's two,
    under 1 and 1.25 s, fell within 10 % of each other once in 11 runs. Full jitter under 1, 2, 4 ... s is
    misjudged once in 2,200 runs with two retries, 6,000 with three (simulated); a jitter ten times shorter (caps
    of 0.1, 0.2, 0.4 s: its delays are a client's own overhead) 4 % and 2 % of the time.
    """
    delays = [(b, b.gap_after(a)) for a, b in zip(chain, chain[1:], strict=False)
              if a.status >= 500 and b.previous is a]
    if len(delays) < 2:
        return
    waits = [d for _, d in delays]
    at_once = max(waits) < (FLAT_S if len(waits) == 2 else FLAT_MANY_S)
    if at_once or (len(waits) >= 3 and max(waits) - min(waits) <= FIXED_NOISE_S + 0.01 * max(waits)):
        for retry, _ in delays[:-1]:
            judge.add("backoff-on-5xx", retry, None)
        text = ", ".join(f"{d:.3f}" for _, d in delays)
        judge.add("backoff-on-5xx", delays[-1][0], f"the delays between retries ({text} s) do not grow")


def judge_throttle(judge: Judge, attempts: Sequence[Attempt]) -> None:
    """Clientless: after a throttle answer, no new request of that device (a retry or any other) within 1 s.

    throttling-mechanism.md: "Each application that receives a 429 response must wait for at least 1 second
    before generating a new request"; the bucket is per device (X-Forwarded-For). A request sent before the
    throttle answer came back was not generated after it. Requests sent too soon in a row are one finding.
    """
    for device in sorted({a.device for a in attempts if a.api == "clientless"}):
        throttle: Attempt | None = None
        group: list[Attempt] = []
        said: list[str] = []
        for call in [*(a for a in attempts if a.api == "clientless" and a.device == device), None]:
            if call is not None and throttle is not None and call.start >= throttle.end \
                    and call.wait_since(throttle) < THROTTLE_WAIT_S:
                group = group or [throttle]
                group.append(call)
                said.append(f"#{call.seq} {call.wait_since(throttle):.3f} s after #{throttle.seq}")
            elif group:
                judge.add_group("throttle-wait", group, "sent within the throttle second: " + ", ".join(said))
                group, said = [], []
            if call is not None and THROTTLE_ERRORS & set(call.errors):
                throttle = call


def judge_simultaneous(judge: Judge, attempts: Sequence[Attempt]) -> None:
    """DCS: calls for the same user in flight at the same time (one started before the other answered)."""
    by_user: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        if attempt.api == "dcs":
            for user in attempt.users:
                by_user.setdefault(user, []).append(attempt)
    seen: set[tuple[int, ...]] = set()
    for user, calls in sorted(by_user.items()):
        calls.sort(key=lambda a: a.start)
        group: list[Attempt] = []
        ends = 0.0
        for call in [*calls, None]:
            if call is not None and group and call.start < ends:
                group.append(call)
                ends = max(ends, call.end)
                continue
            seqs = tuple(sorted(a.seq for a in group))
            if len(group) > 1 and seqs not in seen:
                seen.add(seqs)
                judge.add_group("no-simultaneous-calls", sorted(group, key=lambda a: a.seq),
                                f"{len(group)} calls for {user} in flight at once: "
                                + ", ".join(f"#{s}" for s in seqs))
            if call is not None:
                group, ends = [call], call.end


def judge_entries(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The verdict over journal entries (as `Journal.query(redact=False)` gives them), session by session."""
    sessions: dict[str, list[Attempt]] = {}
    for entry in entries:
        attempt = attempt_of(entry)
        if attempt is not None:
            sessions.setdefault(attempt.session, []).append(attempt)
    judge = Judge()
    retries = 0
    for attempts in sessions.values():
        attempts.sort(key=lambda a: a.seq)
        retries += link_retries(attempts)
        chains: dict[int, list[Attempt]] = {}
        for attempt in attempts:
            if attempt.previous is not None:
                judge_retry(judge, attempt, attempt.previous)
                chains[id(attempt.chain)] = attempt.chain
        for chain in chains.values():
            if chain[0].api == "braze":
                judge_backoff(judge, chain)
            judge_some_time(judge, chain)
        judge_throttle(judge, attempts)
        judge_simultaneous(judge, attempts)
    findings = judge.findings()
    return {"clean": not findings, "requests": sum(len(a) for a in sessions.values()), "retries": retries,
            "sessions": sorted(sessions), "findings": findings, "retry": RETRY_DEFINITION,
            "rules": [asdict(r) for r in RULES]}


def describe(verdict: dict[str, Any]) -> str:
    """The verdict as text: one paragraph per finding (the CLI and the pytest plugin print it)."""
    head = (f"{verdict['requests']} request(s), {verdict['retries']} retr{'y' if verdict['retries'] == 1 else 'ies'}"
            f" judged: ")
    # False when the journal's bound pushed out requests of what was judged, or a shared journal's Redis did not
    # take one (absent: a server older than this)
    cut = [] if verdict.get("complete", True) else [
        "incomplete: the journal (mockserver serve --journal-size, Settings.journal_size) no longer holds the "
        "oldest requests of what was judged, or (--state redis://) Redis did not take the entry of one answered "
        "while it was away; they were not judged"]
    if verdict["clean"]:
        return "\n".join([head + "clean", *cut])
    lines = [head + f"{len(verdict['findings'])} finding(s)", *cut]
    for f in verdict["findings"]:
        lines.append(f"- [{f['api']}] {f['rule']}: {f['title']} (session {f['session']})")
        lines.append(f"  {f['detail']}")
        lines.append(f"  doc: {f['doc']} ({f['source']}): \"{f['quote']}\"")
        for r in f["requests"]:
            errors = f" {','.join(r['errors'])}" if r["errors"] else ""
            query = f"?{r['query']}" if r["query"] else ""
            lines.append(f"    #{r['seq']} +{r['at_s']}s {r['method']} {r['path']}{query} -> {r['status']}{errors}")
    return "\n".join(lines)
