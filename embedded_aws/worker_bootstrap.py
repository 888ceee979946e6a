"""Runs inside a Lambda worker process: a local stand-in for the Lambda Python runtime interface.

Started by embedded_aws.runtime with the function's own Python (python3.12 for runtime python3.12)
in isolated mode, so only the function's unzipped code and the runtime's boto3 are importable,
as in Lambda. Stdlib only: this file must not import anything from the project.

Protocol: once the handler module is imported (or failed to import), one {"ready": true} line on
the original stdout, which ends the init phase. Then one JSON request per line on stdin
({request_id, event, deadline_ms}); one JSON reply per line on the original stdout ({request_id,
ok, payload | error}). The function's own stdout and stderr both go to the parent's log pipe, which
forwards them to CloudWatch Logs. Before each reply, the log pipe gets a line with the end-of-logs
marker (argv[3]) and the request id: the output and the reply travel on different pipes, so the
parent waits for that line to know that it has every line of the invocation's output.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback


class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.invoked_function_arn = os.environ.get("EMBEDDED_AWS_FUNCTION_ARN", "")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict:
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def _load_handler(spec: str):
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{spec}': expected module.function")
    module = importlib.import_module(module_name.replace("/", "."))
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'") from None


def _end_of_logs(marker: str, request_id: str) -> None:
    """Flushes the function's output, then marks its end on the log pipe (fd 2)."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed or replaced by the handler: nothing left to flush
            pass
    # A raw write, after any partial line the handler left: the parent splits it off.
    os.write(2, f"{marker}{request_id}\n".encode())


def main() -> None:
    code_dir, runtime_lib_dir, log_marker = sys.argv[1:4]
    # Keep the reply channel private, then point fd 1 at the log pipe so print() ends up in logs.
    reply = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the worker
    sys.path[:0] = [code_dir, runtime_lib_dir]
    os.chdir(code_dir)

    handler = None
    init_error: dict | None = None
    try:
        handler = _load_handler(os.environ["_HANDLER"])
    except Exception as exc:  # noqa: BLE001 - reported on every invoke, as Lambda does for init failures
        error_type = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        init_error = _error(exc, error_type)
        print(f"[ERROR] {error_type}: {exc}", file=sys.stderr, flush=True)
    reply.write(json.dumps({"ready": True}) + "\n")  # end of the init phase

    for line in sys.stdin:
        request = json.loads(line)
        request_id = request["request_id"]
        if init_error is not None:
            _end_of_logs(log_marker, request_id)
            reply.write(json.dumps({"request_id": request_id, "ok": False, "error": init_error}) + "\n")
            continue
        os.environ["_X_AMZN_TRACE_ID"] = f"Root=1-{request_id[:8]}-{request_id.replace('-', '')[:24]}"
        context = LambdaContext(request_id, request["deadline_ms"])
        try:
            result = handler(request["event"], context)
            try:
                encoded = json.dumps({"request_id": request_id, "ok": True, "payload": result})
            except (TypeError, ValueError) as exc:  # Lambda fails unserialisable results too
                encoded = json.dumps(
                    {"request_id": request_id, "ok": False, "error": _error(exc, "Runtime.MarshalError")}
                )
        except Exception as exc:  # noqa: BLE001 - a handler error is the invocation's result
            traceback.print_exc()
            encoded = json.dumps({"request_id": request_id, "ok": False, "error": _error(exc)})
        _end_of_logs(log_marker, request_id)
        reply.write(encoded + "\n")


if __name__ == "__main__":
    main()
