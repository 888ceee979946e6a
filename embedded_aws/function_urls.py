"""Function URLs, served on the emulator's own port under /lambda-url/<function>/.

Lambda gives each URL its own host name; here the function's name is the first part of the path
(hooks.py gives moto's FunctionUrlConfig this address). A request becomes Lambda's payload format
2.0 event, and the function's answer becomes the HTTP response, as Lambda does. It reaches the
rest of the emulator only through the two callables it is given: a function lookup and an invoke.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.wrappers import Request, Response

from embedded_aws.model import FindFunction, InvokeFunction

FUNCTION_URL_PREFIX = "/lambda-url/"


def function_url(endpoint_url: str, function_name: str) -> str:
    return f"{endpoint_url}{FUNCTION_URL_PREFIX}{function_name}/"


def serves(path: str) -> bool:
    return path.startswith(FUNCTION_URL_PREFIX)


class FunctionUrlHandler:
    """A WSGI application for the paths under FUNCTION_URL_PREFIX."""

    def __init__(self, find_function: FindFunction, invoke: InvokeFunction) -> None:
        self.find_function = find_function
        self.invoke = invoke

    def __call__(self, environ: dict, start_response: Any) -> Any:
        return self.handle(Request(environ))(environ, start_response)

    def handle(self, request: Request) -> Response:
        rest = request.path[len(FUNCTION_URL_PREFIX) :]
        function_name, _, sub_path = rest.partition("/")
        function = self.find_function(function_name)
        if function is None or not function.has_url:
            return Response(json.dumps({"Message": "Forbidden"}), status=403, content_type="application/json")
        result = self.invoke(function, request_event(request, function_name, sub_path))
        if not result.ok:
            return Response(
                json.dumps({"Message": "Internal Server Error"}), status=502, content_type="application/json"
            )
        return http_response(result.json())


def request_event(request: Request, function_name: str, sub_path: str) -> dict:
    """Lambda's payload format 2.0 event for a request to a Function URL."""
    body = request.get_data()
    try:
        text_body, is_base64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text_body, is_base64 = base64.b64encode(body).decode(), True
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/" + sub_path,
        "rawQueryString": request.query_string.decode(),
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": function_name,
            "domainName": request.host,
            "domainPrefix": function_name,
            "http": {
                "method": request.method,
                "path": "/" + sub_path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr or "127.0.0.1",
                "userAgent": request.headers.get("User-Agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if request.query_string:
        event["queryStringParameters"] = dict(parse_qsl(request.query_string.decode(), keep_blank_values=True))
    if body:
        event["body"] = text_body
    return event


def http_response(output: Any) -> Response:
    """The function's answer as HTTP: a full response object, or any JSON value (sent as the body)."""
    if isinstance(output, dict) and "statusCode" in output:
        body = output.get("body") or ""
        data = base64.b64decode(body) if output.get("isBase64Encoded") else body.encode()
        response = Response(data, status=int(output["statusCode"]))
        response.headers.pop("Content-Type", None)
        for name, value in (output.get("headers") or {}).items():
            response.headers[name] = str(value)
        for cookie in output.get("cookies") or []:
            response.headers.add("Set-Cookie", cookie)
        return response
    return Response(json.dumps(output), status=200, content_type="application/json")
