"""Fan-out: one request per value, many in flight at once, every page followed, one DataFrame.

    outcome = run_each(session, "GET /api/v1/groups/{{gid}}/users", "gid", groups["id"], namespace)
    outcome.value           # gid, then the members' columns, for every group

:func:`pull_many` is the engine, shared with partitioned pulls (:mod:`okta_magic.pulls.partition`): worker
threads (half again as many as ``concurrency``, which slots hold to ``concurrency`` requests in flight:
see :class:`_Slot`), each pulling one request's pages at a time through the
session's one :class:`~okta_magic.http.client.OktaClient` (whose pacing, retries and rate limits apply
to every request in flight), one progress display for the whole batch. A request that fails for
its own value (404, 403, a 5xx after the retries; or never sent, the value being one that cannot stand
where it goes, such as a path segment ``..``) is set aside and the others go on; a failure
that will fail every request (401, a missing scope, not signed in) stops the batch and carries the
rows so far. Ctrl-C keeps every row fetched.

With ``to=PATH`` the pages go to a file as they arrive (:class:`~okta_magic.pulls.inorder.InOrder` puts
them in the values' order), and the result is the file's summary instead of a frame.

The result's ``attrs`` carry ``okta_failures`` (value, status, errorCode, summary) and
``okta_fanout`` (:class:`FanOutState`: which values are complete), from which ``resume`` re-runs
only the values that are not.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okta_magic.errors import InsufficientScope, OktaApiError, OktaMagicError, RequestError, UnusableValue
from okta_magic.pulls.inorder import InOrder, rows_in
from okta_magic.http.progress import BatchView, Progress
from okta_magic.pulls.pull import Outcome, Result, user_schema_for

if TYPE_CHECKING:
    from okta_magic.http.client import OktaClient, PageStream
    from okta_magic.http.page import Page
    from okta_magic.pulls.request import ApiRequest
    from okta_magic.sessions.session import Session

__all__ = ["DEFAULT_CONCURRENCY", "Batch", "FanOutState", "FanOutOutcome", "pull_many", "run_each", "unique_values",
           "default_concurrency", "check_count", "MAX_CONCURRENCY"]

# Requests in flight when the client names no default of its own (it does: its pacer's cap, 16): well under
# Okta's 75 per org (35 on free plans), which every integration of the org shares.
DEFAULT_CONCURRENCY = 8
MAX_CONCURRENCY = 75  # Okta's per-org limit: more can only be answered with 429s


def check_count(value: Any, option: str) -> int:
    """A count of requests in flight (``concurrency``, ``parallel``): a whole number from 1 to 75."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        raise RequestError(f"{option} takes a whole number from 1 to {MAX_CONCURRENCY} (Okta's limit of requests in "
                           f"flight per org), not {value!r}")
    return value


def default_concurrency(client: OktaClient) -> int:
    """The requests a batch keeps in flight when not told: the client's default for its org, else 8."""
    chosen = getattr(client, "default_concurrency", None)
    return int(chosen) if isinstance(chosen, int) and chosen > 0 else DEFAULT_CONCURRENCY


@dataclass(frozen=True)
class FanOutState:
    """What a fan-out completed, kept in the result's ``attrs["okta_fanout"]`` for a resume."""

    request: str
    name: str
    done: tuple[Any, ...]

    def __deepcopy__(self, memo: dict[int, Any]) -> FanOutState:
        return self  # immutable: pandas copies attrs on every operation


@dataclass
class Batch:
    """What :func:`pull_many` gathered: each key's page data, the keys completed, the failures."""

    data: dict[Any, list[Any]] = field(default_factory=dict)
    done: set[Any] = field(default_factory=set)
    failures: list[tuple[Any, int | None, str | None, str | None]] = field(default_factory=list)
    errors: dict[Any, OktaMagicError] = field(default_factory=dict)
    pages: int = 0
    rows: int = 0
    interrupted: bool = False
    fatal: OktaMagicError | None = None
    refused: int = 0  # values whose request could not be made (among the failures, never sent)


class _Run:
    """The shared state of a batch in flight (workers write under the lock)."""

    def __init__(self, view: BatchView, total: int, concurrency: int, feed: InOrder | None = None) -> None:
        self.lock = threading.Lock()
        self.feed = feed
        self.gate = threading.Semaphore(concurrency)  # request chains under way (see _Slot)
        self.stop = threading.Event()
        self.over = threading.Event()  # every request finished, or the batch stopped, or a worker failed
        self.wake = threading.Event()  # a request finished: room for the next ones (see _Queued)
        self.left = total
        self.batch = Batch()
        self.view = view
        self.active: set[PageStream] = set()
        if not total:
            self.over.set()

    def finished(self) -> None:
        """One request is finished, whatever its outcome (a worker's last word on it)."""
        with self.lock:
            self.left -= 1
            if self.left <= 0 or self.stop.is_set():
                self.over.set()
        self.wake.set()

    def halt(self) -> None:
        """Stop the workers: no new request is sent, the streams in flight are closed."""
        self.stop.set()
        with self.lock:
            streams = list(self.active)
        for stream in streams:
            stream.close()


def _is_sign_in(exc: OktaMagicError) -> bool:
    """An error every request of the batch would get: no sign-in, an expired one, a host refused."""
    from okta_magic.errors import HostNotAllowed, NotSignedIn, TokenExpired

    return isinstance(exc, (NotSignedIn, TokenExpired, HostNotAllowed))


def _failure(key: Any, exc: OktaMagicError) -> tuple[Any, int | None, str | None, str | None]:
    if isinstance(exc, OktaApiError):
        return key, exc.status, exc.error_code, exc.details.summary or str(exc)
    return key, getattr(exc, "status", None), None, str(exc)


class _Slot:
    """A job's place among the batch's ``concurrency`` request chains: taken before its first request, given
    back as soon as its last answer's body is read (its reader sees no next page), else when the job ends.

    A chain has one request in flight at most (a page stream asks for page N+1 once page N's body is read),
    so the batch never has more than ``concurrency`` in flight, whatever its threads; a thread whose chain
    is over decodes its last page while another thread's chain sends.
    """

    def __init__(self, gate: threading.Semaphore) -> None:
        self._gate = gate
        self._lock = threading.Lock()
        self._held = False

    def take(self, stop: threading.Event) -> bool:
        """Wait for a place; False once the batch stops."""
        while not stop.is_set():
            if self._gate.acquire(timeout=0.2):
                self._held = True
                return True
        return False

    def give(self) -> None:
        """Give the place back (the first call does; later ones do nothing)."""
        with self._lock:
            held, self._held = self._held, False
        if held:
            self._gate.release()


class _Reader:
    """One request's page decoder (:class:`~okta_magic.frames.PageReader`), made when its first page arrives
    (the frames layer's import then overlaps the first round trip: :func:`pull_many` imports it meanwhile).
    A page whose ``Link`` lines say nothing of a next page is the chain's last: its slot is given back
    before the page is decoded."""

    __slots__ = ("keep_links", "reader", "slot")

    def __init__(self, keep_links: bool, slot: _Slot | None = None,
                 decode: Callable[[Page], Any] | None = None) -> None:
        self.keep_links = keep_links
        self.slot = slot
        self.reader: Callable[[Page], Any] | None = decode  # (given: e.g. the JSON as sent, for a snapshot)

    def __call__(self, page: Page) -> Any:
        if self.slot is not None and "next" not in str(page.headers.get("link") or "").lower():
            self.slot.give()  # no next page (any mention of "next" keeps the slot: that errs on the safe side)
        if self.reader is None:
            from okta_magic.frames import PageReader

            self.reader = PageReader(keep_links=self.keep_links)
        return self.reader(page)


def _pull_one(client: OktaClient, key: Any, request: ApiRequest, run: _Run, keep_links: bool,
              timeout: float | None, slot: _Slot | None = None, decode: Callable[[Page], Any] | None = None) -> None:
    """Pull every page of one request into the batch (a worker's job)."""
    if run.stop.is_set():
        return
    from okta_magic.http.stream import AHEAD  # (loaded with the client by now)

    # Written to a file, memory is the point: one page fetched ahead per stream, not AHEAD (concurrency x pages).
    stream = client.stream(request.method, request.target, json=request.body, headers=request.headers,
                           timeout=timeout, progress=run.view.reporter(), decode=_Reader(keep_links, slot, decode),
                           ahead=1 if run.feed is not None else AHEAD)
    with run.lock:
        run.active.add(stream)
    complete = failed = False
    try:
        if run.stop.is_set():  # halted before the stream was listed: halt() did not close it, so nothing is sent
            return
        for page in stream:
            rows = rows_in(page.data)
            if run.feed is not None:
                run.feed.page(key, page.data, run.stop)
            with run.lock:
                if run.feed is None:
                    run.batch.data.setdefault(key, []).append(page.data)
                run.batch.pages += 1
                run.batch.rows += rows
            run.view.add(rows=rows)
            if run.stop.is_set():
                return
        complete = True
    except OktaMagicError as exc:
        if run.stop.is_set():
            return
        with run.lock:
            if _is_sign_in(exc) or _is_fatal_api(exc):
                run.batch.fatal = run.batch.fatal or exc
            else:
                failed = True
                run.batch.failures.append(_failure(key, exc))
                run.batch.errors[key] = exc
                run.batch.data.pop(key, None)  # a value that failed gives no rows: a resume fetches it whole
        if run.batch.fatal is exc or (run.feed is not None and run.feed.prefix):
            run.stop.set()  # (a window of a list written to a file: the file can only hold the rows before it)
    except Exception:
        if not run.stop.is_set():  # a stream closed under a worker on Ctrl-C ends quietly; anything else is a bug
            raise
    finally:
        stream.close()
        with run.lock:
            run.active.discard(stream)
            if complete:
                run.batch.done.add(key)
        if run.feed is not None:
            run.feed.end(key, complete, failed=failed)
        run.view.add(done=1)


def _job(client: OktaClient, key: Any, request: ApiRequest, run: _Run, keep_links: bool,
         timeout: float | None, decode: Callable[[Page], Any] | None = None) -> None:
    """A worker's job: one request pulled in its slot, then counted as finished (a bug wakes the caller at once)."""
    slot = _Slot(run.gate)
    try:
        if (run.feed is None or run.feed.may_start(key, run.stop)) and slot.take(run.stop):
            _pull_one(client, key, request, run, keep_links, timeout, slot, decode)
    except BaseException:
        run.over.set()
        raise
    finally:
        slot.give()
        run.finished()


def _is_fatal_api(exc: OktaMagicError) -> bool:
    """A 401 or a missing scope: every other request of the batch would get it too."""
    return isinstance(exc, OktaApiError) and (exc.status == 401 or isinstance(exc, InsufficientScope))


def _workers(concurrency: int) -> int:
    """Threads for ``concurrency`` request chains: half again as many, the chains' slots holding the batch to
    ``concurrency`` in flight (:class:`_Slot`).

    Once a request's last body is read its page is decoded (Arrow: a millisecond or more with the other
    threads about) before the thread can send again; the spare threads send meanwhile, so the org keeps
    ``concurrency`` requests rather than a few less.
    """
    return concurrency + concurrency // 2


QUEUED_PER_WORKER = 4  # jobs handed to the thread pool ahead of its workers (see _Queued)


class _Queued:
    """The batch's jobs handed to the thread pool a few at a time, as earlier ones finish, not all at once: a
    future and its job's arguments for each of 100,000 values held about 200 MB before the first answer."""

    def __init__(self, executor: ThreadPoolExecutor, parts: Iterator[tuple[Any, ApiRequest]], room: int,
                 job: Callable[[Any, ApiRequest], tuple[Any, ...]]) -> None:
        self._executor, self._parts, self._room, self._job = executor, parts, max(1, room), job
        self._live: list[Future[None]] = []

    def top_up(self, stop: threading.Event) -> None:
        """Hand the pool jobs until ``room`` are waiting or running (none once ``stop`` is set)."""
        while len(self._live) < self._room and not stop.is_set():
            part = next(self._parts, None)
            if part is None:
                return
            self._live.append(self._executor.submit(*self._job(*part)))

    def reap(self) -> None:
        """Forget the finished jobs; a job that raised (a bug: a worker's errors are the batch's) raises here."""
        live: list[Future[None]] = []
        done: list[Future[None]] = []
        for future in self._live:
            (done if future.done() else live).append(future)
        self._live = live
        for future in done:
            if not future.cancelled() and future.exception() is not None:
                future.result()


def pull_many(client: OktaClient, parts: Sequence[tuple[Any, ApiRequest]], *, concurrency: int,
              progress: bool | Callable[[Progress], object] = True, keep_links: bool = False,
              timeout: float | None = None, where: str = "", feed: InOrder | None = None,
              decode: Callable[[Page], Any] | None = None) -> Batch:
    """Pull each ``(key, request)`` with ``concurrency`` requests in flight at most; Ctrl-C keeps what arrived.

    ``feed``: the pages go to it (written in the parts' order by this thread, as they can) instead of into
    the batch's ``data``. ``decode``: each page's reader (default: Arrow, :class:`~okta_magic.frames.PageReader`).
    """
    view = BatchView(progress, len(parts), where)
    run = _Run(view, len(parts), concurrency, feed)
    workers = max(1, min(_workers(concurrency), len(parts) or 1))
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="okta-fanout")
    queued = _Queued(executor, iter(parts), QUEUED_PER_WORKER * workers,
                     lambda key, request: (_job, client, key, request, run, keep_links, timeout, decode))
    try:
        queued.top_up(run.stop)
        view.open()  # the first requests are on their way: the bar is drawn during their round trip
        from okta_magic import frames  # noqa: F401  (their pages' decoder, imported during that round trip too)

        # One event, not a wait on every pending future after each answer (that is O(n) a time, O(n²) a batch).
        while not run.over.is_set():
            if feed is not None:
                feed.wait(0.2)
                feed.drain()
            else:
                run.wake.wait(0.2)
                run.wake.clear()
            queued.reap()  # a bug in a worker surfaces here
            queued.top_up(run.stop)
        queued.reap()
    except KeyboardInterrupt:
        run.batch.interrupted = True
    except BaseException:
        if feed is not None:
            feed.close()  # (its writer failed, e.g. a file the disk refused: the workers' pages are not waited for)
        raise
    finally:
        run.halt()
        executor.shutdown(wait=False, cancel_futures=True)
        view.close()
    if feed is not None:
        try:
            feed.drain(final=True)  # what arrived before the end (or the Ctrl-C) goes in too
        except KeyboardInterrupt:
            run.batch.interrupted = True
        finally:
            feed.close()
    with run.lock:
        return _snapshot(run.batch)


def _snapshot(batch: Batch) -> Batch:
    """A copy the workers no longer write to (some may still finish a request after Ctrl-C)."""
    return Batch({k: list(v) for k, v in batch.data.items()}, set(batch.done), list(batch.failures),
                 dict(batch.errors), batch.pages, batch.rows, batch.interrupted, batch.fatal)


# -- fan-out --------------------------------------------------------------------------------


def unique_values(values: Any, name: str) -> list[Any]:
    """The values to fan out over, each once, in first-seen order (a RequestError for a table, text or a
    non-iterable)."""
    if hasattr(values, "columns"):
        raise RequestError(f"{name}= is given a whole table: give one of its columns, e.g. {name}=table.id")
    if isinstance(values, (str, bytes)):
        raise RequestError(f"{name}= is given one piece of text, not a list of values: write {name}=[{values!r}]")
    try:
        items = list(values)
    except TypeError:
        raise RequestError(f"{name}= needs a list, a column or any iterable of values, not a "
                           f"{type(values).__name__}") from None
    try:
        return list(dict.fromkeys(v.item() if hasattr(v, "item") and not isinstance(v, str) else v for v in items))
    except TypeError:
        raise RequestError(f"The values of {name}= must be plain values (text or numbers), not lists or "
                           "objects") from None


@dataclass
class FanOutOutcome(Outcome):
    """A fan-out's outcome: the frame (with the failures and its state in ``attrs``) and the failures table."""

    failures: Any = None
    state: FanOutState | None = None


def _requests(text: str, name: str, values: Sequence[Any], namespace: Mapping[str, Any]
              ) -> tuple[list[tuple[Any, ApiRequest]], list[tuple[Any, UnusableValue]]]:
    """The request for each value (``{{name}}`` filled in as the request parser fills any variable), and the
    values that cannot stand where the request puts them (a path segment ``..``), each with its error."""
    from okta_magic.pulls.request import parse_request

    if not any(f"{{{{{name}}}}}" == m for m in _placeholders(text)):
        raise RequestError(f"The request has no {{{{{name}}}}} for the values of {name} to fill in: "
                           f"write e.g. GET /api/v1/groups/{{{{{name}}}}}/users")
    parts: list[tuple[Any, ApiRequest]] = []
    refused: list[tuple[Any, UnusableValue]] = []
    for value in values:
        try:
            request = parse_request(text, {**namespace, name: value})
        except UnusableValue as exc:
            if name not in exc.names:
                raise  # another variable's value: every request would be refused
            refused.append((value, exc))
            continue
        if request.method != "GET":
            raise RequestError(f"A fan-out sends GET requests only, not {request.method}: send changes one by one")
        parts.append((value, request))
    return parts, refused


def _with_refused(batch: Batch, refused: Sequence[tuple[Any, UnusableValue]]) -> Batch:
    """``batch`` with the values refused before sending first among its failures (one value's fault each)."""
    batch.failures[:0] = [_failure(value, exc) for value, exc in refused]
    batch.errors.update(refused)
    batch.refused = len(refused)
    return batch


def _placeholders(text: str) -> list[str]:
    import re

    return [re.sub(r"\s+", "", m) for m in re.findall(r"\{\{\s*[A-Za-z_][A-Za-z0-9_]*\s*\}\}", text)]


def previous_state(previous: Any, text: str, name: str) -> FanOutState | None:
    """The state of an earlier result of the same fan-out (same request text and name), or None."""
    attrs = getattr(previous, "attrs", None) or {}
    state = attrs.get("okta_fanout")
    if isinstance(state, FanOutState) and state.request == text.strip() and state.name == name:
        return state
    return None


def run_each(session: Session, text: str, name: str, values: Any, namespace: Mapping[str, Any], *,
             concurrency: int | None = None, progress: bool | Callable[[Progress], object] = True,
             keep_links: bool = False, timeout: float | None = None, previous: Any = None,
             sign_in_wait: float | None = None, to: str | os.PathLike[str] | None = None) -> FanOutOutcome:
    """Send ``text`` once per distinct value of ``values`` (as ``{{name}}``) and gather one frame.

    ``previous``: an earlier result of the same fan-out whose complete values are kept, not fetched again.
    ``to``: write the rows to that file as they arrive; the outcome's value is the file's summary.
    """
    started = time.monotonic()
    if to is not None and previous is not None:
        raise RequestError("A resume continues a fan-out held in memory, not one written to a file: run it again "
                           "to write the file")
    wanted = unique_values(values, name)
    state = previous_state(previous, text, name) if previous is not None else None
    done_before = [v for v in wanted if state is not None and v in set(state.done)]
    todo = [v for v in wanted if v not in set(done_before)]
    parts, refused = _requests(text, name, todo, namespace)
    token = session.current_token(on_wait=print, wait_for=sign_in_wait)  # first: a sign-in replaces the client
    client = session.client
    if concurrency is None:
        concurrency = default_concurrency(client)
    where = f"{parts[0][1].method} {parts[0][1].path}" if parts else text.strip()
    # users typed by the org's user schema, as a plain pull's are (read once per session)
    schema = user_schema_for(session, token, client, parts[0][1]) if parts else None
    if to is not None:
        return _to_file(client, parts, name, to, started, concurrency=concurrency, progress=progress,
                        keep_links=keep_links, timeout=timeout, where=where, refused=refused, schema=schema)
    batch = _with_refused(pull_many(client, parts, concurrency=concurrency, progress=progress,
                                    keep_links=keep_links, timeout=timeout, where=where), refused)
    outcome = _outcome(batch, text, name, wanted, done_before, previous, parts, keep_links, schema)
    outcome.result.elapsed = time.monotonic() - started
    if batch.fatal is not None:
        batch.fatal.partial = outcome.value
        raise batch.fatal
    return outcome


def _outcome(batch: Batch, text: str, name: str, wanted: list[Any], done_before: list[Any], previous: Any,
             parts: list[tuple[Any, ApiRequest]], keep_links: bool,
             schema: Mapping[str, Any] | None = None) -> FanOutOutcome:
    """The frame in the order of the values (kept rows of a resumed run first merged in), with its attrs;
    ``schema``: the org's user schema, to type a users frame by."""
    from okta_magic.frames import resource_for_path
    from okta_magic.frames.combine import build_parts, failures_frame, insert_first, order_by, rows_of, stack

    keys = [key for key, _ in parts if key in batch.data]
    resource = resource_for_path(parts[0][1].path) if parts else None
    frame, counts = build_parts(resource, (batch.data[k] for k in keys), keep_links=keep_links, schema=schema)
    try:
        frame = insert_first(frame, name, keys, counts)
    except ValueError:
        raise _name_taken(name) from None
    if done_before:
        frame = order_by(stack([rows_of(previous, name, done_before), frame]), name, wanted)
    done = tuple(v for v in wanted if v in batch.done or v in set(done_before))
    state = FanOutState(text.strip(), name, done)
    failures = failures_frame(batch.failures)
    frame.attrs["okta_failures"] = failures
    frame.attrs["okta_fanout"] = state
    result, notes = _result(batch, parts, frame, len(frame), held=f"the {len(frame):,} rows fetched so far are in "
                            "the result", kept="kept (the failures are in the result's attrs['okta_failures'])")
    return FanOutOutcome(frame, result, notes, failures=failures, state=state)


def _result(batch: Batch, parts: list[tuple[Any, ApiRequest]], value: Any, rows: int, *, held: str,
            kept: str) -> tuple[Result, list[str]]:
    """A fan-out's result and its notes: ``held`` says where an interrupted run's rows are, ``kept`` where the
    others' rows and the failures are when some requests failed."""
    result = Result(data=value, status=200, content_type="application/json", url=parts[0][1].target if parts else "",
                    pages=batch.pages, rows=rows, interrupted=batch.interrupted)
    total = len(parts) + batch.refused
    if batch.interrupted:
        result.note = f"Interrupted after {len(batch.done)} of {total} requests: {held}."
    notes = [f"{len(batch.failures)} of {total} requests failed; the others' rows are {kept}."] \
        if batch.failures else []
    return result, notes


def _name_taken(name: str) -> RequestError:
    return RequestError(f"The answers already have a column {name!r}: give the values another name, e.g. "
                        f"{name}_value=...")


def _to_file(client: OktaClient, parts: list[tuple[Any, ApiRequest]], name: str, to: str | os.PathLike[str],
             started: float, *, concurrency: int, progress: bool | Callable[[Progress], object], keep_links: bool,
             timeout: float | None, where: str, refused: Sequence[tuple[Any, UnusableValue]] = (),
             schema: Mapping[str, Any] | None = None) -> FanOutOutcome:
    """The fan-out written to ``to`` as its pages arrive, in the values' order (see :mod:`okta_magic.pulls.inorder`);
    ``schema`` types a users file as the frame is typed."""
    from okta_magic.frames import resource_for_path
    from okta_magic.frames.combine import failures_frame
    from okta_magic.frames.tofile import FileSink

    resource = resource_for_path(parts[0][1].path) if parts else None
    # Row groups by rows, not pages: a fan-out's pages are often a few rows each (one user's factors).
    sink = FileSink(to, resource, keep_links=keep_links, first=name, batch_pages=4096, batch_rows=6400,
                    schema=schema)

    def write(key: Any, data: Any) -> None:
        if name in _columns(data):
            raise _name_taken(name)
        sink.add_page(data, key)

    feed = InOrder([key for key, _ in parts], write, prefix=False, keys_ahead=4 * concurrency)
    try:
        batch = _with_refused(pull_many(client, parts, concurrency=concurrency, progress=progress,
                                        keep_links=keep_links, timeout=timeout, where=where, feed=feed), refused)
    except RequestError:  # the user's mistake, found on the first page: no file is made or changed
        sink.discard()
        raise
    except BaseException:
        sink.close()  # a valid file of what was written, whatever stopped the pull
        raise
    written = sink.close()
    written.failures = failures_frame(batch.failures)
    result, notes = _result(batch, parts, written, written.rows, held=f"{written!r} holds every row fetched",
                            kept="in the file (the failures are in the summary's .failures)")
    result.elapsed = time.monotonic() - started
    if feed.spilled_failures:
        notes.append(f"{len(feed.spilled_failures)} failed value(s) had more rows than are held back, and their "
                     f"rows fetched before the failure are in the file: {', '.join(map(str, feed.spilled_failures))}")
    outcome = FanOutOutcome(written, result, notes, failures=written.failures, state=None)
    if batch.fatal is not None:
        batch.fatal.partial = written
        raise batch.fatal
    return outcome


def _columns(data: Any) -> Sequence[str]:
    """The top-level names of a page's rows (an Arrow table, a JSON array, one object)."""
    if isinstance(data, dict):
        return list(data)
    if isinstance(data, list):
        return list(data[0]) if data and isinstance(data[0], dict) else []
    return list(getattr(data, "column_names", ()))
