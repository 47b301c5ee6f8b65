"""The audit sealer killed and restarted mid-run (issue 15, "nothing lost when the sealer is killed and restarted
mid-run, no event sealed twice"): a real ``kinfold audit seal`` process, killed with SIGKILL while requests keep
appending events, then restarted. PostgreSQL only (the process needs the test database over a connection)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from django.db import connection

from kinfold.audit.models import AuditEvent
from kinfold.audit.services import record_event, seal_pending, verify_chain


def _sealer_env() -> dict[str, str]:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {**os.environ, "KINFOLD_DATABASE_URL": url, "KINFOLD_TESTING": "1"}


def test_a_sealer_killed_again_and_again_loses_nothing_and_seals_each_event_once(
    committing_db: None, coordinator: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the sealer process reaches the test database over a connection: PostgreSQL only")
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(occurred_at=record_event(actor=None, action="view").occurred_at, action="view", record_id=str(i))
            for i in range(6000)
        ]
    )
    rng = random.Random(16)
    appended = 0
    kills = 0
    partial_batches = []
    for _ in range(4):
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kinfold.cli",
                "audit",
                "seal",
                "--follow",
                "--interval",
                "0.05",
                "--batch-size",
                "250",
            ],
            env=_sealer_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + rng.uniform(1.0, 2.5)
        while time.monotonic() < deadline:  # requests keep appending while it seals
            record_event(actor=coordinator.user, action="view", record_id=f"during-{appended}")
            appended += 1
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        kills += 1
        # Whatever it sealed is whole: places 1..k, no gap, no event half-sealed.
        seqs = list(
            AuditEvent.objects.filter(seal_seq__isnull=False).order_by("seal_seq").values_list("seal_seq", flat=True)
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert not AuditEvent.objects.filter(seal_seq__isnull=True, hash__isnull=False).exists()
        partial_batches.append(len(seqs))
    total = AuditEvent.objects.count()
    seal_pending()
    result = verify_chain()
    assert result.ok, result
    assert result.unsealed == 0 and result.checked == total  # nothing lost, each sealed exactly once
    assert AuditEvent.objects.filter(record_id__startswith="during-").count() == appended
    assert kills == 4 and partial_batches == sorted(partial_batches)
    print(
        f"sealer drill: {total} events, {appended} appended during the run, sealed before each kill: {partial_batches}"
    )
