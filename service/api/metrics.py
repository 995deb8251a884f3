"""Counters for ``/metrics`` in the Prometheus text format (kept in the process; no extra dependency)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, float("inf"))


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.transitions: Counter[tuple[str, str]] = Counter()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.latency_buckets: Counter[float] = Counter()
        self.latency_sum = 0.0
        self.latency_count = 0
        self.timers_fired: Counter[str] = Counter()
        self.timers_late = 0

    def transition(self, definition: str, event: str) -> None:
        with self._lock:
            self.transitions[(definition, event)] += 1

    def request(self, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(method, status)] += 1
            self.latency_sum += seconds
            self.latency_count += 1
            for bound in BUCKETS:
                if seconds <= bound:
                    self.latency_buckets[bound] += 1

    def timers(self, kinds: list[tuple[str, str, bool]]) -> None:
        with self._lock:
            for kind, status, late in kinds:
                self.timers_fired[f"{kind}:{status}"] += 1
                self.timers_late += int(late)

    def render(self, timers_by_status: dict[str, int], outbox_by_status: dict[str, int]) -> str:
        lines: list[str] = []

        def family(name: str, kind: str, help_text: str, samples: list[tuple[dict[str, Any], float]]) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                text = ",".join(f'{k}="{str(v).replace(chr(34), "")}"' for k, v in labels.items())
                lines.append(f"{name}{{{text}}} {value}" if text else f"{name} {value}")

        with self._lock:
            family("workflow_transitions_total", "counter", "Events applied by this process",
                   [({"definition": d, "event": e}, n) for (d, e), n in sorted(self.transitions.items())])
            family("workflow_timers_fired_total", "counter", "Timers fired by this process",
                   [({"kind": k.split(":")[0], "status": k.split(":")[1]}, n)
                    for k, n in sorted(self.timers_fired.items())])
            family("workflow_timers_late_total", "counter", "Timers fired more than a second after due",
                   [({}, self.timers_late)])
            family("workflow_http_requests_total", "counter", "HTTP requests",
                   [({"method": m, "status": s}, n) for (m, s), n in sorted(self.requests.items())])
            lines.append("# HELP workflow_http_request_seconds Request latency")
            lines.append("# TYPE workflow_http_request_seconds histogram")
            for bound in BUCKETS:
                label = "+Inf" if bound == float("inf") else str(bound)
                lines.append(f'workflow_http_request_seconds_bucket{{le="{label}"}} {self.latency_buckets[bound]}')
            lines.append(f"workflow_http_request_seconds_sum {self.latency_sum}")
            lines.append(f"workflow_http_request_seconds_count {self.latency_count}")
        family("workflow_timers", "gauge", "Timers in the database by status",
               [({"status": s}, n) for s, n in sorted(timers_by_status.items())])
        family("workflow_notifications", "gauge", "Notifications in the outbox by status",
               [({"status": s}, n) for s, n in sorted(outbox_by_status.items())])
        return "\n".join(lines) + "\n"
