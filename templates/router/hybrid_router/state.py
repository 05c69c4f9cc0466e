"""State shared by every worker process of the router: one SQLite file.

LiteLLM's own counters (rpm, cooldowns, provider budgets) live in each worker's memory
unless a Redis is configured, so N workers admit N times a limit. This file is the one
place the extension's workers agree: per-engine admission (GCRA state and the requests in
flight), engine health, the last metrics snapshot, the poller's lease, the frontier spend
per provider per day, and counters.

Why SQLite: it is in the Python standard library (nothing to add to the pinned LiteLLM
image), its write transactions are atomic across processes (``BEGIN IMMEDIATE`` takes the
write lock first, so a read-decide-write admission cannot interleave with another
worker's), and in WAL mode readers never wait for the writer. The file belongs on a local
filesystem shared by the workers of one router container (a tmpfs such as /dev/shm for
the hot state, or a volume when the daily spend must survive a restart). It does not span
router replicas on Kubernetes: there each pod keeps its own budgets (see the README).

Every transaction is a handful of indexed statements on a tiny database; bench/router.ts
measures what they add per request.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .admission import EngineView, Verdict, judge
from .metrics import LoadSample
from .settings import EngineSettings, LiveLoadSettings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS engines (
  name TEXT PRIMARY KEY,
  tat REAL NOT NULL DEFAULT 0,
  down INTEGER NOT NULL DEFAULT 0,
  down_reason TEXT,
  down_since REAL NOT NULL DEFAULT 0,
  probe_failures INTEGER NOT NULL DEFAULT 0,
  request_failures INTEGER NOT NULL DEFAULT 0,
  running REAL,
  waiting REAL,
  kv REAL,
  progress REAL,
  sampled_at REAL NOT NULL DEFAULT 0,
  inflight_at_sample INTEGER NOT NULL DEFAULT 0,
  health_ok_at REAL NOT NULL DEFAULT 0,
  progress_at REAL NOT NULL DEFAULT 0,
  batch INTEGER,
  admitted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY,
  engine TEXT NOT NULL,
  expires REAL NOT NULL,
  confirmed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reservations_engine ON reservations (engine, expires);
CREATE TABLE IF NOT EXISTS lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_SPEND_SCHEMA = """
CREATE TABLE IF NOT EXISTS spend (provider TEXT NOT NULL, day TEXT NOT NULL, usd REAL NOT NULL, PRIMARY KEY (provider, day));
"""


@dataclass(frozen=True)
class Admission:
    """A request admitted to an engine: release `reservation` when the call ends."""

    engine: str
    reservation: str


@dataclass(frozen=True)
class Refusal:
    """No engine could take the request; `reasons` maps each engine to why."""

    reasons: dict[str, str]

    @property
    def all_down(self) -> bool:
        return bool(self.reasons) and all(r == "down" for r in self.reasons.values())


@dataclass(frozen=True)
class EngineHealth:
    down: bool
    down_reason: str | None
    down_since: float
    health_ok_at: float


def _retry_locked(step: Callable[[], object], attempts: int = 50) -> None:
    """Runs `step`, retrying while another worker holds a lock it needs (start-up only:
    switching to WAL wants the database to itself, which busy_timeout does not wait for)."""
    for attempt in range(attempts):
        try:
            step()
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


def _open(path: str, schema: str) -> sqlite3.Connection:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE below).
    db = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 10000")
    _retry_locked(lambda: db.execute("PRAGMA journal_mode = WAL"))
    # A transaction lost to a power cut costs a few admissions; no fsync per request.
    db.execute("PRAGMA synchronous = NORMAL")
    # IF NOT EXISTS everywhere: every worker runs this at start, in any order.
    _retry_locked(lambda: db.executescript(schema))
    return db


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class SharedState:
    """`path`: the hot state (a tmpfs: it must not outlive the router's processes, whose
    admissions it counts). `spend_path`: the daily frontier spend, which must survive a
    restart within the day (a volume); None keeps it in `path`."""

    def __init__(
        self,
        path: str,
        engines: Sequence[EngineSettings],
        clock: Callable[[], float] = time.time,
        spend_path: str | None = None,
    ) -> None:
        self._clock = clock
        self._engines = {e.name: e for e in engines}
        self._db = _open(path, _SCHEMA if spend_path else _SCHEMA + _SPEND_SCHEMA)
        self._spend_db = _open(spend_path, _SPEND_SCHEMA) if spend_path else self._db
        with self._write():
            for name in self._engines:
                self._db.execute("INSERT OR IGNORE INTO engines (name) VALUES (?)", (name,))

    def close(self) -> None:
        self._db.close()
        if self._spend_db is not self._db:
            self._spend_db.close()

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return _transaction(self._db)

    def now(self) -> float:
        return self._clock()

    # ---- admission -------------------------------------------------------------------

    def _inflight(self, engine: str, now: float) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM reservations WHERE engine = ? AND expires > ?", (engine, now)).fetchone()
        return int(row[0]) if row else 0

    def _view(self, engine: EngineSettings, now: float) -> EngineView:
        row = self._db.execute(
            "SELECT tat, down, running, waiting, kv, progress, sampled_at, inflight_at_sample, batch FROM engines WHERE name = ?",
            (engine.name,),
        ).fetchone()
        if row is None:
            raise KeyError(engine.name)
        tat, down, running, waiting, kv, progress, sampled_at, inflight_at_sample, batch = row
        sample = (
            LoadSample(running=float(running), waiting=float(waiting), kv_usage=float(kv or 0.0), progress=float(progress or 0.0))
            if running is not None and waiting is not None
            else None
        )
        return EngineView(
            planned_rpm=engine.planned_rpm,
            max_running=engine.max_running,
            tat=float(tat),
            inflight=self._inflight(engine.name, now),
            down=bool(down),
            sample=sample,
            sampled_at=float(sampled_at),
            inflight_at_sample=int(inflight_at_sample),
            batch=int(batch) if batch is not None else None,
        )

    def reserve(
        self, candidates: Sequence[str], live: LiveLoadSettings, *, replacing: str | None = None, ttl_s: float | None = None
    ) -> Admission | Refusal:
        """Admits the request to the least-loaded engine of `candidates` that can take it, in
        one transaction with releasing the request's earlier admission (`replacing`). The
        admission lasts until released, or `ttl_s` (default: the unconfirmed TTL) if never."""
        now = self._clock()
        reasons: dict[str, str] = {}
        with self._write() as db:
            if replacing is not None:
                db.execute("DELETE FROM reservations WHERE id = ?", (replacing,))
            best: tuple[str, Verdict] | None = None
            for name in candidates:
                engine = self._engines.get(name)
                if engine is None:
                    continue
                verdict = judge(
                    self._view(engine, now),
                    now,
                    live_enabled=live.enabled,
                    stale_after_s=live.stale_after_s,
                    max_waiting=live.max_waiting,
                    kv_cache_limit=live.kv_cache_limit,
                    burst_s=live.burst_s,
                )
                reasons[name] = verdict.reason
                if verdict.admit and (best is None or verdict.load < best[1].load):
                    best = (name, verdict)
            if best is None:
                return Refusal(reasons)
            name, verdict = best
            reservation = uuid.uuid4().hex
            db.execute("UPDATE engines SET tat = ?, admitted = admitted + 1 WHERE name = ?", (verdict.next_tat, name))
            db.execute(
                "INSERT INTO reservations (id, engine, expires, confirmed) VALUES (?, ?, ?, ?)",
                (reservation, name, now + (ttl_s if ttl_s is not None else live.unconfirmed_ttl_s), 1 if ttl_s is not None else 0),
            )
        return Admission(name, reservation)

    def confirm(self, reservation: str, ttl_s: float) -> bool:
        """The router is calling the engine: keep the admission until the call ends (or `ttl_s`)."""
        now = self._clock()
        with self._write() as db:
            cur = db.execute(
                "UPDATE reservations SET confirmed = 1, expires = ? WHERE id = ? AND expires > ?", (now + ttl_s, reservation, now)
            )
            return cur.rowcount > 0

    def account(self, engine: str, ttl_s: float, *, replacing: str | None = None) -> str:
        """Counts a call the router made to `engine` without an admission (none was asked
        for, or it was for another engine: `replacing` is released in the same transaction)."""
        reservation = uuid.uuid4().hex
        with self._write() as db:
            if replacing is not None:
                db.execute("DELETE FROM reservations WHERE id = ?", (replacing,))
            db.execute(
                "INSERT INTO reservations (id, engine, expires, confirmed) VALUES (?, ?, ?, 1)",
                (reservation, engine, self._clock() + ttl_s),
            )
        return reservation

    def release(self, reservation: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM reservations WHERE id = ?", (reservation,))

    def inflight(self, engine: str) -> int:
        return self._inflight(engine, self._clock())

    def admitted(self, engine: str) -> int:
        row = self._db.execute("SELECT admitted FROM engines WHERE name = ?", (engine,)).fetchone()
        return int(row[0]) if row else 0

    # ---- health ----------------------------------------------------------------------

    def health(self, engine: str) -> EngineHealth:
        row = self._db.execute(
            "SELECT down, down_reason, down_since, health_ok_at FROM engines WHERE name = ?", (engine,)
        ).fetchone()
        if row is None:
            raise KeyError(engine)
        return EngineHealth(bool(row[0]), row[1], float(row[2]), float(row[3]))

    def record_probe(
        self, engine: str, healthy: bool, sample: LoadSample | None, *, fail_threshold: int, stall_s: float
    ) -> str | None:
        """Stores one poll of an engine; returns the reason when this poll took it out of rotation."""
        now = self._clock()
        with self._write() as db:
            row = db.execute(
                "SELECT down, probe_failures, progress, progress_at, batch FROM engines WHERE name = ?", (engine,)
            ).fetchone()
            if row is None:
                return None
            down, failures, progress, progress_at = bool(row[0]), int(row[1]), row[2], float(row[3])
            planned = self._engines[engine].max_running if engine in self._engines else 1
            batch = int(row[4]) if row[4] is not None else planned
            went_down: str | None = None
            if healthy:
                db.execute("UPDATE engines SET probe_failures = 0, health_ok_at = ? WHERE name = ?", (now, engine))
            else:
                failures += 1
                db.execute("UPDATE engines SET probe_failures = ? WHERE name = ?", (failures, engine))
                if failures >= fail_threshold and not down:
                    went_down = "unreachable"
            if sample is not None:
                moved = progress is None or sample.progress != float(progress) or sample.running == 0
                if moved:
                    progress_at = now
                # The batch the engine really runs: where requests start to queue. A queue at
                # this sample says the batch is full at the running count; running at the
                # learned size without a queue says it can take one more (up to the plan's).
                if sample.waiting > 0:
                    batch = max(1, int(sample.running))
                elif sample.running >= batch:
                    batch = min(planned, int(sample.running) + 1)
                db.execute(
                    "UPDATE engines SET running = ?, waiting = ?, kv = ?, progress = ?, sampled_at = ?, "
                    "inflight_at_sample = ?, progress_at = ?, batch = ? WHERE name = ?",
                    (sample.running, sample.waiting, sample.kv_usage, sample.progress, now, self._inflight(engine, now), progress_at, batch, engine),
                )
                if went_down is None and not down and sample.running > 0 and now - progress_at > stall_s:
                    went_down = "stalled"
            if went_down is not None:
                db.execute(
                    "UPDATE engines SET down = 1, down_reason = ?, down_since = ? WHERE name = ?", (went_down, now, engine)
                )
            return went_down

    def forget_sample(self, engine: str) -> None:
        """Metrics could not be read: admission falls back to the planned rate."""
        with self._write() as db:
            db.execute("UPDATE engines SET sampled_at = 0 WHERE name = ?", (engine,))

    def record_request_failure(self, engine: str, kind: str, fail_threshold: int) -> bool:
        """A call to `engine` failed. Timeouts and refused connections take it out of rotation at
        once; other server errors after `fail_threshold` in a row. Returns whether it went down."""
        now = self._clock()
        with self._write() as db:
            row = db.execute("SELECT down, request_failures FROM engines WHERE name = ?", (engine,)).fetchone()
            if row is None:
                return False
            down, failures = bool(row[0]), int(row[1]) + 1
            db.execute("UPDATE engines SET request_failures = ? WHERE name = ?", (failures, engine))
            if down:
                return False
            if kind in ("timeout", "connect") or failures >= fail_threshold:
                db.execute(
                    "UPDATE engines SET down = 1, down_reason = ?, down_since = ? WHERE name = ?", (kind, now, engine)
                )
                return True
            return False

    def record_request_success(self, engine: str) -> None:
        with self._write() as db:
            db.execute("UPDATE engines SET request_failures = 0 WHERE name = ? AND request_failures != 0", (engine,))

    def bring_up(self, engine: str, min_down_s: float) -> bool:
        """A canary passed: back into rotation if it has been out for `min_down_s`."""
        now = self._clock()
        with self._write() as db:
            cur = db.execute(
                "UPDATE engines SET down = 0, down_reason = NULL, probe_failures = 0, request_failures = 0, progress_at = ? "
                "WHERE name = ? AND down = 1 AND down_since <= ?",
                (now, engine, now - min_down_s),
            )
            return cur.rowcount > 0

    # ---- the poller's lease ----------------------------------------------------------

    def try_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        """Takes or renews the named lease; one holder at a time across all workers."""
        now = self._clock()
        with self._write() as db:
            row = db.execute("SELECT holder, until FROM lease WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] != holder and float(row[1]) > now:
                return False
            db.execute(
                "INSERT INTO lease (name, holder, until) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until",
                (name, holder, now + ttl_s),
            )
            return True

    def collect_garbage(self) -> None:
        with self._write() as db:
            db.execute("DELETE FROM reservations WHERE expires <= ?", (self._clock(),))

    # ---- frontier spend and counters -------------------------------------------------

    @staticmethod
    def day(now: float) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(now))

    def add_spend(self, provider: str, usd: float) -> None:
        if usd <= 0:
            return
        day = self.day(self._clock())
        with _transaction(self._spend_db) as db:
            db.execute(
                "INSERT INTO spend (provider, day, usd) VALUES (?, ?, ?) "
                "ON CONFLICT (provider, day) DO UPDATE SET usd = usd + excluded.usd",
                (provider, day, usd),
            )

    def spend_today(self, provider: str) -> float:
        row = self._spend_db.execute(
            "SELECT usd FROM spend WHERE provider = ? AND day = ?", (provider, self.day(self._clock()))
        ).fetchone()
        return float(row[0]) if row else 0.0

    def incr(self, name: str, n: int = 1) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (name, n),
            )

    def counters(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self._db.execute("SELECT name, value FROM counters").fetchall()}
