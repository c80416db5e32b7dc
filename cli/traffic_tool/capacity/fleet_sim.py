"""A discrete-event model of the fleet: sessions arrive, wait in the job plane's queue (priorities,
then the tenant running the fewest sessions), run on worker tasks that start after a delay and serve
`sessions_per_task` at once, while the scaler's own policy (`jobcore.scaling.decide`) sets the desired
count on its schedule. Spot tasks are interrupted at a rate; what they cannot finish within the stop
timeout is handed back and queued again, as the worker does on SIGTERM.

What the model leaves out, on purpose: Redis and API latency (milliseconds against seconds), the
worker's claim poll (a freed slot claims at once; an idle worker polls every 0.5 s), failures and
retries. Everything is seeded: the same inputs give the same run.
"""

from __future__ import annotations

import heapq
import math
import random
from collections import Counter, deque

from jobcore.scaling import Decision, FleetLoad, ScalerState, decide
from traffic_tool.capacity.sim_records import (
    PRIORITIES,
    Arrival,
    DecisionRecord,
    FleetConfig,
    Sample,
    Session,
    SimResult,
    Task,
)
from traffic_tool.capacity.workload import Durations

_MARGIN_S = 2.0  # the worker keeps this much of the stop timeout for handing back (worker.loop)

# event kinds (events at the same instant run in the order they were scheduled)
_FINISH, _READY, _NOTICE, _KILL, _ARRIVAL, _SCALER, _SAMPLE = range(7)


class FleetSim:
    def __init__(
        self,
        config: FleetConfig,
        arrivals: list[Arrival],
        durations: Durations,
        seed: int,
        horizon_s: float,
        sample_s: float = 60.0,
        drain_limit_s: float = 3600.0,
    ) -> None:
        self.cfg = config
        self.policy = config.scaling_policy()
        self.arrivals = arrivals
        self.durations = durations
        self.rng = random.Random(seed)
        self.horizon = horizon_s
        self.sample_s = sample_s
        self.drain_limit = drain_limit_s
        self.now = 0.0
        self._heap: list[tuple[float, int, int, int, int]] = []
        self._seq = 0
        self.queue: dict[str, dict[str, deque[Session]]] = {p: {} for p in PRIORITIES}
        self.rota: dict[str, list[str]] = {p: [] for p in PRIORITIES}
        self.tenant_running: Counter[str] = Counter()
        self.tenant_queued: Counter[str] = Counter()
        self.backlog = 0
        self.running = 0
        self.sessions: list[Session] = []
        self.tasks: dict[int, Task] = {}
        self._next_tid = 0
        self.desired = config.fixed_tasks if config.fixed_tasks is not None else config.min_tasks
        self.scaler_state = ScalerState()
        self.refused = 0
        self.samples: list[Sample] = []
        self.decisions: list[DecisionRecord] = []
        self.task_seconds = {"baseline": 0.0, "on_demand": 0.0, "spot": 0.0}
        self.busy_slot_s = 0.0
        self.ready_slot_s = 0.0
        self.peak_tasks = 0
        self.interruptions = 0
        self.handed_back = 0
        self._last_t = 0.0
        self._window_arrivals = 0
        self._window_waits: list[float] = []

    # ---- the event loop -----------------------------------------------------------------------

    def run(self) -> SimResult:
        for _ in range(self.desired):
            self._launch(ready_now=True)
        if self.arrivals:
            self._push(self.arrivals[0].t, _ARRIVAL, 0)
        if self.cfg.fixed_tasks is None:
            self._push(self.cfg.scaler_period_s, _SCALER)
        self._push(self.sample_s, _SAMPLE)
        limit = self.horizon + self.drain_limit
        while self._heap:
            t, _, kind, a, b = heapq.heappop(self._heap)
            if t > limit or (t >= self.horizon and kind in (_SCALER, _SAMPLE) and self._quiet()):
                break
            self._advance(t)
            self._handle(kind, a, b)
        self._advance(max(self.now, self.horizon))
        return SimResult(
            config=self.cfg,
            horizon_s=self.horizon,
            end_s=self.now,
            sessions=self.sessions,
            refused=self.refused,
            samples=self.samples,
            decisions=self.decisions,
            task_seconds=self.task_seconds,
            busy_slot_s=self.busy_slot_s,
            ready_slot_s=self.ready_slot_s,
            peak_tasks=self.peak_tasks,
            interruptions=self.interruptions,
            handed_back=self.handed_back,
        )

    def _quiet(self) -> bool:
        """Past the horizon with nothing waiting or running: the run is over."""
        return self.backlog == 0 and self.running == 0

    def _push(self, t: float, kind: int, a: int = 0, b: int = 0) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, a, b))

    def _advance(self, t: float) -> None:
        """Integrate the time-weighted figures (billed tasks, slots) up to t."""
        dt = t - self._last_t
        if dt > 0:
            live = [k for k in self.tasks.values() if k.state != "stopped"]
            on_demand = sum(1 for k in live if not k.spot)
            baseline = min(on_demand, self.cfg.min_tasks if self.cfg.fixed_tasks is None else on_demand)
            self.task_seconds["baseline"] += baseline * dt
            self.task_seconds["on_demand"] += (on_demand - baseline) * dt
            self.task_seconds["spot"] += (len(live) - on_demand) * dt
            ready = sum(1 for k in live if k.state in ("ready", "draining"))
            self.ready_slot_s += ready * self.cfg.sessions_per_task * dt
            self.busy_slot_s += self.running * dt
            self._last_t = t
        self.now = t

    def _handle(self, kind: int, a: int, b: int) -> None:
        if kind == _ARRIVAL:
            self._arrive(a)
        elif kind == _FINISH:
            self._finish(a, b)
        elif kind == _READY:
            self._ready(a)
        elif kind == _NOTICE:
            self._notice(a)
        elif kind == _KILL:
            self._kill(a)
        elif kind == _SCALER:
            self._scale()
        elif kind == _SAMPLE:
            self._sample()

    # ---- the queue (jobcore's claim order: priority, then the tenant running the fewest) ---------

    def _arrive(self, index: int) -> None:
        arrival = self.arrivals[index]
        if index + 1 < len(self.arrivals):
            self._push(self.arrivals[index + 1].t, _ARRIVAL, index + 1)
        self._window_arrivals += 1
        if (
            self.backlog >= self.cfg.max_backlog
            or self.tenant_queued[arrival.tenant] >= self.cfg.tenant_quota
        ):
            self.refused += 1  # POST /jobs answers 429; nothing queued
            return
        session = Session(len(self.sessions), arrival.t, arrival.tenant, arrival.priority)
        self.sessions.append(session)
        self._enqueue(session)
        self._dispatch()

    def _enqueue(self, session: Session) -> None:
        waiting = self.queue[session.priority].setdefault(session.tenant, deque())
        if not waiting:
            self.rota[session.priority].append(session.tenant)
        waiting.append(session)
        self.backlog += 1
        self.tenant_queued[session.tenant] += 1

    def _next_session(self) -> Session | None:
        for priority in PRIORITIES:
            rota = self.rota[priority]
            if not rota:
                continue
            tenant = min(rota, key=lambda name: self.tenant_running[name])  # first of the fewest
            waiting = self.queue[priority][tenant]
            session = waiting.popleft()
            rota.remove(tenant)
            if waiting:
                rota.append(tenant)  # its turn has passed: ties go to the others first
            self.backlog -= 1
            self.tenant_queued[tenant] -= 1
            return session
        return None

    def _dispatch(self) -> None:
        k = self.cfg.sessions_per_task
        while self.backlog:
            free = [t for t in self.tasks.values() if t.state == "ready" and len(t.running) < k]
            if not free:
                return
            task = min(free, key=lambda t: (len(t.running), t.tid))  # the least busy claims first
            session = self._next_session()
            if session is None:
                return
            self._start(session, task)

    def _start(self, session: Session, task: Task) -> None:
        session.attempt += 1
        session.started = self.now
        session.task = task.tid
        task.running.add(session.sid)
        self.running += 1
        self.tenant_running[session.tenant] += 1
        self._window_waits.append(self.now - session.arrived)
        base = self.durations.draw(self.rng)
        self._push(self.now + base * self._stretch(task), _FINISH, session.sid, session.attempt)

    def _stretch(self, task: Task) -> float:
        """Sessions share the task's vCPUs: past full use, each runs slower in proportion."""
        if self.cfg.cpu_s_per_session <= 0:
            return 1.0
        mean = self.durations.mean
        demand = len(task.running) * self.cfg.cpu_s_per_session / max(mean, 1e-9)
        return max(1.0, demand / self.cfg.task_vcpu)

    def _finish(self, sid: int, attempt: int) -> None:
        session = self.sessions[sid]
        if session.attempt != attempt or session.finished >= 0 or session.task < 0:
            return  # handed back since: that run no longer counts
        task = self.tasks[session.task]
        task.running.discard(sid)
        session.run_s = self.now - session.started
        session.finished = self.now
        self.running -= 1
        self.tenant_running[session.tenant] -= 1
        if not task.running and (task.stop_when_idle or task.state == "draining"):
            self._stop(task)
        self._dispatch()

    # ---- tasks --------------------------------------------------------------------------------

    def _live(self) -> list[Task]:
        """Tasks that count toward the desired count (not stopped, not leaving)."""
        return [t for t in self.tasks.values() if t.state in ("starting", "ready") and not t.stop_when_idle]

    def _launch(self, ready_now: bool = False) -> None:
        live = self._live()
        on_demand = sum(1 for t in live if not t.spot)
        spot = len(live) - on_demand
        # The capacity provider strategy: a base of min_tasks on on-demand, then Spot:on-demand by weight.
        above = len(live) - min(on_demand, self.cfg.min_tasks)
        is_spot = on_demand >= self.cfg.min_tasks and spot < round(self.cfg.spot_share * (above + 1))
        if self.cfg.fixed_tasks is not None:
            is_spot = False
        ready = self.now if ready_now else self.now + self.cfg.startup_s
        task = Task(self._next_tid, is_spot, self.now, ready)
        self._next_tid += 1
        self.tasks[task.tid] = task
        self.peak_tasks = max(self.peak_tasks, sum(1 for t in self.tasks.values() if t.state != "stopped"))
        if ready_now:
            self._ready(task.tid)
        else:
            self._push(ready, _READY, task.tid)

    def _ready(self, tid: int) -> None:
        task = self.tasks[tid]
        if task.state != "starting":
            return
        task.state = "ready"
        rate = self.cfg.spot_interruptions_per_task_hour
        if task.spot and rate > 0:
            self._push(self.now + self.rng.expovariate(rate / 3600.0), _NOTICE, tid)
        self._dispatch()

    def _notice(self, tid: int) -> None:
        """Spot's two-minute notice: SIGTERM; the worker stops claiming and drains."""
        task = self.tasks[tid]
        if task.state != "ready":
            return
        self.interruptions += 1
        task.state = "draining"
        self._reconcile()  # ECS replaces it
        if not task.running:
            self._stop(task)
        else:
            self._push(self.now + max(0.5, self.cfg.stop_timeout_s - _MARGIN_S), _KILL, tid)

    def _kill(self, tid: int) -> None:
        """The drain deadline: what is still running is handed back (not counted as an attempt)."""
        task = self.tasks[tid]
        if task.state == "stopped":
            return
        for sid in sorted(task.running):
            session = self.sessions[sid]
            session.attempt += 1  # its pending finish is now stale
            session.handed_back += 1
            session.task = -1
            self.running -= 1
            self.tenant_running[session.tenant] -= 1
            self.handed_back += 1
            self._enqueue(session)
        task.running.clear()
        self._stop(task)
        self._dispatch()

    def _stop(self, task: Task) -> None:
        task.state = "stopped"
        task.stopped = self.now

    def _reconcile(self) -> None:
        """ECS: bring the live tasks to the desired count. Scale-in takes starting tasks first, then idle
        ones; a busy task is protected (scale-in protection) and leaves when it next falls idle."""
        live = self._live()
        if len(live) < self.desired:
            for task in self.tasks.values():  # a task waiting to leave is simply kept
                if task.stop_when_idle and task.state == "ready" and len(self._live()) < self.desired:
                    task.stop_when_idle = False
            for _ in range(self.desired - len(self._live())):
                self._launch()
            return
        excess = len(live) - self.desired
        order = sorted(live, key=lambda t: (t.state != "starting", bool(t.running), not t.spot, -t.tid))
        for task in order[:excess]:
            if task.state == "starting" or not task.running:
                self._stop(task)
            else:
                task.stop_when_idle = True

    # ---- the scaler and the samples -----------------------------------------------------------

    def _scale(self) -> None:
        load = FleetLoad(backlog=self.backlog, running=self.running, task_capacity=self.cfg.sessions_per_task)
        decision: Decision = decide(self.desired, load, self.scaler_state, self.policy, self.now)
        self.scaler_state = decision.state
        self.decisions.append(
            DecisionRecord(
                self.now, self.backlog, self.running, decision.current, decision.desired, decision.reason
            )
        )
        if decision.changed:
            self.desired = decision.desired
            self._reconcile()
        self._push(self.now + self.cfg.scaler_period_s, _SCALER)

    def _sample(self) -> None:
        waits = sorted(self._window_waits)
        p95 = waits[min(len(waits) - 1, math.ceil(0.95 * len(waits)) - 1)] if waits else None
        self.samples.append(
            Sample(
                t=self.now,
                arrivals_per_min=self._window_arrivals * 60.0 / self.sample_s,
                backlog=self.backlog,
                running=self.running,
                tasks=sum(1 for t in self.tasks.values() if t.state != "stopped"),
                desired=self.desired,
                p95_wait_s=p95,
            )
        )
        self._window_arrivals = 0
        self._window_waits = []
        self._push(self.now + self.sample_s, _SAMPLE)
