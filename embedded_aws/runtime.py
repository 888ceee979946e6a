"""Local stand-in for Lambda's Docker runtime: warm worker processes that run the deployed zip.

For each function version (ARN + code hash + configuration) it keeps a small pool of worker
processes, as Lambda keeps execution environments warm: the handler module is imported once and
reused across invocations. A worker runs the runtime's own Python (python3.12 for the python3.12
runtime) in isolated mode with only the unzipped code and the runtime's boto3 on sys.path, so a
package that works here was packaged the way Lambda needs it.

Its input (FunctionSpec) and output (InvocationResult) are defined in model.py, shared with the
parts that invoke functions.

It does NOT emulate: memory limits, /tmp size, the Linux image's system libraries, layers,
container images, SnapStart, or cold-start timing.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import queue
import shutil
import subprocess
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedded_aws.local_client import TEST_CREDENTIALS
from embedded_aws.model import EncodedEvent, FunctionSpec, InvocationResult

log = logging.getLogger("embedded_aws.runtime")

BOOTSTRAP = Path(__file__).with_name("worker_bootstrap.py")
# What the python3.x Lambda runtimes provide besides the stdlib.
RUNTIME_PROVIDED_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")

LogSink = Callable[[FunctionSpec, str, list[tuple[int, str]]], None]  # (function, log stream, [(ms, line)])

# Lambda gives a function's init (importing the handler module) its own 10 s, apart from the
# function's timeout. An init that takes longer goes on inside the invocation, on the function's
# timeout (Lambda re-runs it there).
INIT_TIMEOUT_SECONDS = float(os.environ.get("EMBEDDED_AWS_INIT_TIMEOUT", "10"))
# A safety bound only: the end-of-logs line is written before the reply, so it is already in the
# log pipe when the reply arrives. Waiting on it never takes long unless the log sink is stuck.
LOG_DRAIN_SECONDS = 30.0
# After a worker is killed: its pipe ends at once, unless a process it started still holds it.
STOPPED_LOG_DRAIN_SECONDS = 2.0


class RuntimeNotAvailable(RuntimeError):
    """The function's runtime cannot run on this machine (missing interpreter, non-Python runtime)."""


def find_python(runtime: str) -> str:
    """Path of the interpreter for a Lambda runtime name such as 'python3.12'."""
    if not runtime or not runtime.startswith("python3."):
        raise RuntimeNotAvailable(
            f"runtime {runtime!r} is not supported by the embedded emulator (Python runtimes only)"
        )
    version = runtime.removeprefix("python")
    override = os.environ.get(f"EMBEDDED_AWS_PYTHON_{version.replace('.', '_')}")
    candidates = [override] if override else []
    candidates.append(shutil.which(f"python{version}") or "")
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [
        str(p / "bin" / f"python{version}")
        for p in sorted((pyenv_root / "versions").glob(f"{version}.*"), reverse=True)
    ]
    for candidate in filter(None, candidates):
        try:
            out = subprocess.run(
                [candidate, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip() == version:
            return candidate
    raise RuntimeNotAvailable(
        f"{runtime} needs a Python {version} interpreter and none was found "
        f"(looked for python{version} on PATH and in pyenv). Install it, e.g. `pyenv install {version}`, "
        f"or set EMBEDDED_AWS_PYTHON_{version.replace('.', '_')}=/path/to/python{version}."
    )


def prepare_runtime_libs(target: Path) -> Path:
    """Links the runtime-provided packages (boto3 & co) into one folder, like Lambda's runtime dir."""
    target.mkdir(parents=True, exist_ok=True)
    for name in RUNTIME_PROVIDED_PACKAGES:
        module = importlib.import_module(name)
        source = Path(module.__file__)
        source = source.parent if source.name == "__init__.py" else source
        link = target / source.name
        if not link.exists():
            try:
                link.symlink_to(source)
            except FileExistsError:
                pass
    return target


def extract_code(code_bytes: bytes, code_sha256: str, cache_dir: Path) -> Path:
    """Unzips a deployment package once per code hash (atomic rename, so concurrent calls are safe)."""
    target = cache_dir / code_sha256
    if target.is_dir():
        return target
    staging = cache_dir / f".{code_sha256}.{uuid.uuid4().hex}"
    with zipfile.ZipFile(io.BytesIO(code_bytes)) as archive:
        archive.extractall(staging)
    try:
        staging.rename(target)
    except OSError:  # another thread won the race
        shutil.rmtree(staging, ignore_errors=True)
    return target


class WorkerDied(RuntimeError):
    pass


class WorkerTimedOut(RuntimeError):
    pass


@dataclass(eq=False)
class _Worker:
    spec: FunctionSpec
    process: subprocess.Popen
    log_stream: str
    log_marker: str  # starts the line that ends an invocation's output on the log pipe
    replies: queue.Queue[str | None] = field(default_factory=queue.Queue)
    # Request ids whose output has been forwarded in full; None when the log pipe closed.
    logs_done: queue.Queue[str | None] = field(default_factory=queue.Queue)
    current_log: list[str] = field(default_factory=list)
    ready: bool = False  # init (the handler module's import) finished

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class LambdaRuntime:
    """Invokes functions in warm worker processes; at most `max_concurrency` workers per version."""

    def __init__(self, state_dir: Path, endpoint_url: str, log_sink: LogSink, max_concurrency: int = 2) -> None:
        self.state_dir = state_dir
        self.endpoint_url = endpoint_url
        self.log_sink = log_sink
        self.max_concurrency = max_concurrency
        self.code_cache = state_dir / "code"
        self.code_cache.mkdir(parents=True, exist_ok=True)
        self.runtime_libs = prepare_runtime_libs(state_dir / "runtime-libs")
        self._lock = threading.Lock()
        self._idle: dict[str, list[_Worker]] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._all: dict[str, list[_Worker]] = {}
        self._pythons: dict[str, str] = {}
        self._pythons_lock = threading.Lock()

    # -- public -------------------------------------------------------------------------------
    def invoke(self, spec: FunctionSpec, code_bytes: bytes, event: Any) -> InvocationResult:
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        try:
            slot = self._slot(spec)
        except RuntimeNotAvailable as exc:
            return self._failure(request_id, started, "Runtime.InvalidRuntime", str(exc))
        with slot:
            try:
                worker = self._checkout(spec, code_bytes)
            except (RuntimeNotAvailable, OSError, zipfile.BadZipFile) as exc:
                return self._failure(request_id, started, "Runtime.InvalidEntrypoint", f"cannot start function: {exc}")
            try:
                self._init(worker)
                self._emit(worker, f"START RequestId: {request_id} Version: {spec.version}")
                reply = self._call(worker, request_id, event)
                result = self._result_from_reply(request_id, started, reply)
                self._checkin(worker)
            except WorkerTimedOut:
                self._discard(worker)
                result = self._failure(
                    request_id,
                    started,
                    "Sandbox.Timedout",
                    f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {request_id} "
                    f"Task timed out after {spec.timeout_seconds:.2f} seconds",
                )
            except WorkerDied as exc:
                self._discard(worker)
                result = self._failure(request_id, started, "Runtime.ExitError", str(exc))
            self._emit(worker, f"END RequestId: {request_id}")
            self._emit(
                worker,
                f"REPORT RequestId: {request_id}\tDuration: {result.duration_ms:.2f} ms\t"
                f"Memory Size: {spec.memory_size} MB",
            )
            result.log_tail = "\n".join(worker.current_log)[-4096:]
            return result

    def retire(self, function_arn: str, keep_key: str | None = None) -> None:
        """Stops the workers of other versions of a function (its code or configuration changed).

        Idle workers stop now. A worker in the middle of an invocation finishes it, as in Lambda,
        and stops at check-in (its version is no longer in the pool)."""
        with self._lock:
            for key in [k for k in self._all if k.startswith(function_arn + ":") and k != keep_key]:
                idle = self._idle.pop(key, [])
                self._all.pop(key)
                for worker in idle:
                    worker.kill()

    def shutdown(self) -> None:
        with self._lock:
            for workers in self._all.values():
                for worker in workers:
                    worker.kill()
            self._all.clear()
            self._idle.clear()

    def worker_count(self) -> int:
        with self._lock:
            return sum(1 for ws in self._all.values() for w in ws if w.alive)

    # -- internals ----------------------------------------------------------------------------
    def _python_for(self, runtime: str) -> str:
        with self._pythons_lock:  # one probe per runtime, even when the first invocations arrive together
            if runtime not in self._pythons:
                self._pythons[runtime] = find_python(runtime)
            return self._pythons[runtime]

    def _slot(self, spec: FunctionSpec) -> threading.BoundedSemaphore:
        self._python_for(spec.runtime)  # fail before queueing when the runtime is missing
        with self._lock:
            if spec.pool_key not in self._slots:
                self._slots[spec.pool_key] = threading.BoundedSemaphore(self.max_concurrency)
            return self._slots[spec.pool_key]

    def _checkout(self, spec: FunctionSpec, code_bytes: bytes) -> _Worker:
        with self._lock:
            idle = self._idle.setdefault(spec.pool_key, [])
            while idle:
                worker = idle.pop()
                if worker.alive:
                    worker.current_log = []
                    return worker
        self.retire(spec.function_arn, keep_key=spec.pool_key)
        worker = self._spawn(spec, code_bytes)
        with self._lock:
            self._all.setdefault(spec.pool_key, []).append(worker)
        return worker

    def _checkin(self, worker: _Worker) -> None:
        with self._lock:
            if worker.alive and worker in self._all.get(worker.spec.pool_key, []):  # eq=False: by identity
                self._idle.setdefault(worker.spec.pool_key, []).append(worker)
                return
        worker.kill()  # its version was retired while it ran

    def _discard(self, worker: _Worker) -> None:
        """Stops a worker that timed out or died, after forwarding the last of its output."""
        worker.kill()
        self._wait_for_logs(worker, None, STOPPED_LOG_DRAIN_SECONDS)
        with self._lock:
            workers = self._all.get(worker.spec.pool_key, [])
            if worker in workers:
                workers.remove(worker)

    def _spawn(self, spec: FunctionSpec, code_bytes: bytes) -> _Worker:
        code_dir = extract_code(code_bytes, spec.code_sha256, self.code_cache)
        now = time.gmtime()
        log_stream = f"{now.tm_year}/{now.tm_mon:02d}/{now.tm_mday:02d}/[{spec.version}]{uuid.uuid4().hex}"
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": str(self.state_dir),
            "LAMBDA_TASK_ROOT": str(code_dir),
            "LAMBDA_RUNTIME_DIR": str(self.runtime_libs),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            # Test credentials: the emulator accepts any; real Lambda injects the role's session.
            **TEST_CREDENTIALS,
            "AWS_SESSION_TOKEN": "test",
            "EMBEDDED_AWS_FUNCTION_ARN": spec.function_arn,
            "_HANDLER": spec.handler,
        }
        env.update(dict(spec.environment))
        # Like LocalStack, point every SDK call in the function back at the emulator.
        env["AWS_ENDPOINT_URL"] = self.endpoint_url
        python = self._python_for(spec.runtime)
        log_marker = f"\x1e[embedded_aws end of invocation output {uuid.uuid4().hex}] "
        process = subprocess.Popen(
            [python, "-I", "-S", "-u", str(BOOTSTRAP), str(code_dir), str(self.runtime_libs), log_marker],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=code_dir,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
        worker = _Worker(spec=spec, process=process, log_stream=log_stream, log_marker=log_marker)
        threading.Thread(target=self._pump_replies, args=(worker,), daemon=True).start()
        threading.Thread(target=self._pump_logs, args=(worker,), daemon=True).start()
        log.info("started worker pid=%s for %s (%s)", process.pid, spec.function_name, spec.runtime)
        return worker

    def _init(self, worker: _Worker) -> None:
        """Waits for a new worker's init (the handler module's import), which does not count
        against the function's timeout, up to Lambda's init limit."""
        deadline = time.monotonic() + INIT_TIMEOUT_SECONDS
        while not worker.ready and (remaining := deadline - time.monotonic()) > 0:
            try:
                line = worker.replies.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise WorkerDied(f"worker exited with code {worker.process.wait()} during init")
            worker.ready = bool(json.loads(line).get("ready"))
        if not worker.ready:
            log.warning(
                "%s: init still running after %.0fs; it goes on within the invocation's timeout",
                worker.spec.function_name,
                INIT_TIMEOUT_SECONDS,
            )

    def _call(self, worker: _Worker, request_id: str, event: Any) -> dict:
        deadline = time.time() + worker.spec.timeout_seconds
        deadline_ms = int(deadline * 1000)
        if isinstance(event, EncodedEvent):
            line = f'{{"request_id":{json.dumps(request_id)},"deadline_ms":{deadline_ms},"event":{event.text}}}'
        else:
            line = json.dumps({"request_id": request_id, "event": event, "deadline_ms": deadline_ms})
        try:
            worker.process.stdin.write(line + "\n")
            worker.process.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerDied(f"worker exited before the invocation: {exc}") from None
        while True:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise WorkerTimedOut()
            try:
                line = worker.replies.get(timeout=remaining)
            except queue.Empty:
                raise WorkerTimedOut() from None
            if line is None:
                raise WorkerDied(f"worker exited with code {worker.process.wait()} during the invocation")
            reply = json.loads(line)
            if reply.get("ready"):  # an init that outlived INIT_TIMEOUT_SECONDS finished
                worker.ready = True
            elif reply.get("request_id") == request_id:
                # The output travels on its own pipe: the invocation (its log tail, END, REPORT)
                # is complete once every line it printed has been forwarded.
                self._wait_for_logs(worker, request_id)
                return reply

    @staticmethod
    def _wait_for_logs(worker: _Worker, request_id: str | None, timeout: float = LOG_DRAIN_SECONDS) -> None:
        """Until the log pump has forwarded the output of `request_id` (None: all of it, up to
        the pipe's end)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                done = worker.logs_done.get(timeout=remaining)
            except queue.Empty:
                break
            if done is None:
                worker.logs_done.put(None)  # the pipe stays closed for any later wait
                return
            if done == request_id:
                return
        log.warning(
            "%s: output of %s not forwarded after %.0fs",
            worker.spec.function_name,
            request_id or "the stopped worker",
            timeout,
        )

    def _result_from_reply(self, request_id: str, started: float, reply: dict) -> InvocationResult:
        duration = (time.monotonic() - started) * 1000
        if reply["ok"]:
            return InvocationResult(request_id, True, json.dumps(reply["payload"]).encode(), duration)
        return InvocationResult(request_id, False, json.dumps(reply["error"]).encode(), duration)

    @staticmethod
    def _failure(request_id: str, started: float, error_type: str, message: str) -> InvocationResult:
        payload = json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": []}).encode()
        return InvocationResult(request_id, False, payload, (time.monotonic() - started) * 1000)

    @staticmethod
    def _pump_replies(worker: _Worker) -> None:
        for line in worker.process.stdout:
            worker.replies.put(line)
        worker.replies.put(None)

    def _pump_logs(self, worker: _Worker) -> None:
        for line in worker.process.stderr:
            text, marked, request_id = line.rstrip("\n").partition(worker.log_marker)
            if text or not marked:  # a partial line the handler left before the marker is a line too
                self._emit(worker, text)
            if marked:
                worker.logs_done.put(request_id)
        worker.logs_done.put(None)

    def _emit(self, worker: _Worker, line: str) -> None:
        worker.current_log.append(line)
        try:
            self.log_sink(worker.spec, worker.log_stream, [(int(time.time() * 1000), line)])
        except Exception:  # logging must never break an invocation
            log.exception("could not forward a log line of %s", worker.spec.function_name)
