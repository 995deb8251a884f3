"""``/metrics`` with ``prometheus-client``: a registry per running app (tests run several in one process).

Counted by this process: requests by route template, method and status, with a latency histogram by route and
method; transitions by definition and event; timers fired by kind and status, and how many fired more than a
second late. Read from the database at each scrape (so every node reports the same): timers and notifications
by status, escalations open. And the process's own CPU, memory and open files (``ProcessCollector``). One
``serve`` is one process, so no multiprocess mode is needed; several nodes are scraped one by one."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, float("inf"))
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Counts = Callable[[], dict[str, int]]


class _Database(Collector):
    """Gauges read from the database when scraped."""

    def __init__(self, timers: Counts, outbox: Counts, escalations: Counts) -> None:
        self.sources = {"workflow_timers": ("Timers in the database by status", timers),
                        "workflow_notifications": ("Notifications in the outbox by status", outbox),
                        "workflow_escalations": ("Escalations to the Steering Committee by status", escalations)}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (text, read) in self.sources.items():
            family = GaugeMetricFamily(name, text, labels=["status"])
            for status, count in sorted(read().items()):
                family.add_metric([status], count)
            yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._transitions = Counter("workflow_transitions", "Events applied by this process",
                                    ["definition", "event"], registry=self.registry)
        self._timers = Counter("workflow_timers_fired", "Timers fired by this process", ["kind", "status"],
                               registry=self.registry)
        self._late = Counter("workflow_timers_late", "Timers fired more than a second after due",
                             registry=self.registry)
        self._requests = Counter("workflow_http_requests", "HTTP requests", ["route", "method", "status"],
                                 registry=self.registry)
        self._latency = Histogram("workflow_http_request_seconds", "Request latency", ["route", "method"],
                                  buckets=BUCKETS, registry=self.registry)
        ProcessCollector(registry=self.registry)
        self._database: _Database | None = None

    def transition(self, definition: str, event: str) -> None:
        self._transitions.labels(definition, event).inc()

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        """``route``: the route's template (``/api/v1/instances/{instance_id}``), never the raw path, so ids do not
        make a series each."""
        self._requests.labels(route, method, str(status)).inc()
        self._latency.labels(route, method).observe(seconds)

    def timers(self, kinds: list[tuple[str, str, bool]]) -> None:
        for kind, status, late in kinds:
            self._timers.labels(kind, status).inc()
            if late:
                self._late.inc()

    def read_database(self, timers: Counts, outbox: Counts, escalations: Counts) -> None:
        """Register the database's gauges (once, when the app knows its store)."""
        if self._database is None:
            self._database = _Database(timers, outbox, escalations)
            self.registry.register(self._database)

    def render(self) -> bytes:
        return generate_latest(self.registry)
