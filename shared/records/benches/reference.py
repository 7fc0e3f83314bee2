"""The equal-work Python reference for `make bench`.

For each seed payload it does what a plain Python webhook handler would do on its hot path,
the same work as `ingest.rs` measures in Rust: an HMAC-SHA256 check in constant time
(`hmac.compare_digest`) over the raw bytes (the post-call token compared the same way),
`json.loads`, the fields outside the documented ones kept aside (as the Rust records keep them
in `extras`), phone numbers to E.164 with `phonenumbers` (the Python port of libphonenumber),
ISO 8601 times with `datetime.fromisoformat`, and a dict record of the normalized fields.

Payload by payload, it times the Python handler, runs criterion on the same payload's Rust
benches (`cargo bench`, results read from `target/criterion/...`), then times the Python handler
again: the two sides are measured minutes apart at most, around the same moment, since this
machine's speed drifts by up to a third between runs. Both give their median. It prints one
Markdown table with the ratio per payload, and the floor: the signature (or token) check alone
plus serde_json going over the body without keeping anything, which no handler built on
serde_json can go below, with the ratio to Python that floor would give.

    python reference.py ROOT
"""

import hashlib
import hmac
import json
import pathlib
import statistics
import subprocess
import sys
import timeit
from datetime import datetime

import phonenumbers

SECRET = b"a-webhook-secret-of-realistic-length-32b"
# Criterion's groups in ingest.rs.
GROUP = "verify_parse_normalize"
FLOOR = "floor"


def e164(raw):
    """A provider's number in E.164, or None when it cannot be placed."""
    if not raw or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException:
        return {"raw": raw}
    return {"raw": raw, "e164": phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)}


def when(value):
    """An ISO 8601 time, or None."""
    return datetime.fromisoformat(value) if value else None


def extras(payload, documented):
    """The fields a provider sent beyond the documented ones, kept as they are."""
    return {k: v for k, v in payload.items() if k not in documented}


HATIF_CALL_FIELDS = frozenset(
    "callId workspaceId channelId status type callerNumber calleeNumber pickupTime hangupTime userId "
    "userName contactId contactNumber callLength aiAgentId recordingUrl transcription summary sentiment "
    "evaluationCriteriaResult creationTime".split()
)
WHATSAPP_FIELDS = frozenset(
    "workspaceId channelId conversationId contactId messageId direction messageType body mediaUrl mimeType "
    "status senderUserId latitude longitude creationTime isBillable errorCode errorReason".split()
)
VOICEINFRA_FIELDS = frozenset(
    "call_id from_number to_number agent_id duration_seconds start_time end_time recording_url "
    "call_outcome summary transcript".split()
)
VOKI_DATA_FIELDS = frozenset("id status duration_seconds department_id attendant_id customer".split())
POSTCALL_FIELDS = frozenset("callId recordingUri transcriptUri callerDetails callAnalysis".split())


def check(body, signature, prefix=""):
    """The signature check: HMAC-SHA256 hex over the raw bytes, compared in constant time."""
    expected = prefix + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise ValueError("bad signature")


def hatif_call(body, signature):
    check(body, signature)
    p = json.loads(body)
    words = (p.get("transcription") or {}).get("words") or []
    return {
        "provider": "hatif",
        "call_id": p["callId"],
        "workspace_id": p.get("workspaceId"),
        "channel_id": p.get("channelId"),
        "from": e164(p.get("callerNumber")),
        "to": e164(p.get("calleeNumber")),
        "agent": p.get("aiAgentId") or p.get("userId"),
        "contact": {"id": p.get("contactId"), "phone": e164(p.get("contactNumber"))},
        "status": "completed" if p.get("pickupTime") else "missed",
        "started_at": when(p.get("creationTime")),
        "answered_at": when(p.get("pickupTime")),
        "ended_at": when(p.get("hangupTime")),
        "recording": p.get("recordingUrl"),
        "transcript": [
            {"text": w["text"], "start": float(w["start"]), "end": float(w["end"]), "speaker": w.get("speaker")}
            for w in words
        ],
        "summary": p.get("summary"),
        "sentiment": p.get("sentiment"),
        "evaluation": p.get("evaluationCriteriaResult"),
        "extras": extras(p, HATIF_CALL_FIELDS),
    }


def hatif_whatsapp(body, signature):
    check(body, signature)
    p = json.loads(body)
    return {
        "provider": "hatif",
        "message_id": p["messageId"],
        "conversation_id": p.get("conversationId"),
        "contact_id": p.get("contactId"),
        "direction": (p.get("direction") or "").lower(),
        "type": p.get("messageType"),
        "body": p.get("body"),
        "media": p.get("mediaUrl"),
        "status": (p.get("status") or "").lower(),
        "created_at": when(p.get("creationTime")),
        "error": {"code": p.get("errorCode"), "reason": p.get("errorReason")},
        "extras": extras(p, WHATSAPP_FIELDS),
    }


def voiceinfra(body, signature):
    check(body, signature)
    p = json.loads(body)
    return {
        "provider": "voiceinfra",
        "call_id": p["call_id"],
        "from": e164(p.get("from_number")),
        "to": e164(p.get("to_number")),
        "agent": p.get("agent_id"),
        "duration_seconds": p.get("duration_seconds"),
        "started_at": when(p.get("start_time")),
        "ended_at": when(p.get("end_time")),
        "recording": p.get("recording_url"),
        "outcome": p.get("call_outcome"),
        "summary": p.get("summary"),
        "extras": extras(p, VOICEINFRA_FIELDS),
    }


def voki(body, signature):
    check(body, signature, "sha256=")
    p = json.loads(body)
    data = p["data"]
    customer = data.get("customer") or {}
    return {
        "provider": "voki",
        "event": p["event"],
        "at": when(p.get("timestamp")),
        "call_id": data["id"],
        "status": data.get("status"),
        "duration_seconds": data.get("duration_seconds"),
        "agent": data.get("attendant_id"),
        "department": data.get("department_id"),
        "contact": {"name": customer.get("name"), "email": customer.get("email"), "phone": e164(customer.get("phone"))},
        "extras": extras(data, VOKI_DATA_FIELDS),
    }


def postcall(body, token):
    if not hmac.compare_digest(token.encode(), SECRET):
        raise ValueError("bad token")
    p = json.loads(body)
    caller = p.get("callerDetails") or {}
    analysis = p.get("callAnalysis") or {}
    return {
        "provider": "postcall",
        "call_id": p["callId"],
        "recording": p.get("recordingUri"),
        "transcript": p.get("transcriptUri"),
        "contact": {
            "name": caller.get("name"),
            "phone": e164(caller.get("phoneNumber")),
            "email": caller.get("email"),
            "scheduled": when(caller.get("scheduledTime")),
        },
        "summary": analysis.get("summary"),
        "mood": analysis.get("mood"),
        "score": analysis.get("score"),
        "outcome": analysis.get("callOutcome"),
        "classification": analysis.get("classification"),
        "extras": extras(p, POSTCALL_FIELDS),
    }


# (criterion bench id, shown name, fixture, handler, signature prefix; None for a token)
CASES = [
    ("hatif-call", "Hatif call", "hatif-call.json", hatif_call, ""),
    ("hatif-whatsapp", "Hatif WhatsApp message", "hatif-whatsapp.json", hatif_whatsapp, ""),
    ("voiceinfra", "VoiceInfra", "voiceinfra.json", voiceinfra, ""),
    ("voki", "Voki `call.completed`", "voki-call-completed.json", voki, "sha256="),
    ("postcall", "Post-call (token)", "postcall.json", postcall, None),
]


def python_timer(handler, body, credential):
    """A timer for the handler and its loop count (timeit's automatic one, about 0.2 s)."""
    timer = timeit.Timer(lambda: handler(body, credential))
    loops, _ = timer.autorange()
    return timer, loops


def run_rust(root, bench_id):
    """Runs criterion on one payload's benches: the whole path and the floor's two parts."""
    pattern = f"^(?:{GROUP}/{bench_id}|{FLOOR}/{bench_id}/(?:verify|scan))$"
    command = ["cargo", "bench", "--quiet", "-p", "callvault-records", "--bench", "ingest", "--", pattern]
    subprocess.run(command, cwd=root, check=True)


def rust_seconds(root, bench_id, group=GROUP):
    """criterion's median estimate for one bench, in seconds."""
    path = root / "target" / "criterion" / group / bench_id / "new" / "estimates.json"
    return json.loads(path.read_text())["median"]["point_estimate"] / 1e9


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    fixtures = root / "tests" / "fixtures"
    rows = []
    for bench_id, name, fixture, handler, prefix in CASES:
        body = (fixtures / fixture).read_bytes()
        credential = SECRET.decode() if prefix is None else prefix + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
        handler(body, credential)  # warm: phonenumbers loads its metadata on first use
        timer, loops = python_timer(handler, body, credential)
        repeats = timer.repeat(repeat=6, number=loops)
        run_rust(root, bench_id)
        repeats += timer.repeat(repeat=5, number=loops)
        python = statistics.median(repeats) / loops
        rust = rust_seconds(root, bench_id)
        check, scan = (rust_seconds(root, f"{bench_id}_{part}", FLOOR) for part in ("verify", "scan"))
        floor = check + scan
        rows.append(
            f"| {name} | {len(body) / 1000:.1f} KB | {rust * 1e6:.2f} µs | {python * 1e6:.1f} µs | {python / rust:.1f}× "
            f"| {check * 1e6:.2f} + {scan * 1e6:.2f} = {floor * 1e6:.2f} µs | {python / floor:.1f}× |"
        )
    print()
    print("| payload | size | Rust (criterion median) | Python (equal work, median) | Python / Rust | floor: check + bare scan | Python / floor |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
