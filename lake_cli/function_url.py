"""How to call the api Function URL, the same way on every target.

The `api_url` output is whatever the target returned for the Function URL:

| target | api_url | how it is called |
|---|---|---|
| embedded emulator | `http://localhost:4566/lambda-url/<function>/` | as is |
| LocalStack | `http://<url-id>.lambda-url.<region>.localhost.localstack.cloud:4566/` | `AWS_ENDPOINT_URL` + path, `Host: <url-id>.lambda-url…:4566` (the name needs public DNS; offline it does not resolve) |
| AWS | `https://<url-id>.lambda-url.<region>.on.aws/` | as is; SigV4-signed (service `lambda`) when the URL's auth type is `AWS_IAM` |

`resolve(api_url)` returns a `FunctionUrl` (where to send, which headers); `FunctionUrl.get(path)`
performs a GET. From the shell:

    lake --stack . api indicadores/ARG/Inflacion          # GET, body (the stack's api_url)
    lake --stack . api --curl indicadores/ARG/Inflacion   # the curl line
    lake api --api-url URL health                         # any URL, no stack
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from lake_cli.terraform_outputs import StackLocation, TerraformOutputsError, require_stack

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0"}
# The region when neither the environment nor the AWS config names one (the operator commands share it).
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class FunctionUrl:
    base: str  # where requests go, ends with "/"
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Host": "<url-id>.lambda-url…:4566"}
    sign: bool = False  # SigV4 (AWS_IAM auth type on AWS)
    region: str = DEFAULT_REGION

    def url(self, path: str = "") -> str:
        return self.base + path.lstrip("/")

    def request_headers(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        headers = dict(self.headers)
        if self.sign:
            import boto3
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest

            request = AWSRequest(method=method, url=self.url(path), data=body, headers=headers)
            SigV4Auth(boto3.Session().get_credentials().get_frozen_credentials(), "lambda", self.region).add_auth(
                request
            )
            headers = dict(request.headers.items())
        return headers

    def get(self, path: str = "", timeout: float = 30) -> tuple[int, dict[str, str], bytes]:
        """GET `path` (relative to the URL's root); returns (status, headers, body), errors included."""
        request = urllib.request.Request(self.url(path), headers=self.request_headers("GET", path), method="GET")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers.items()), error.read()

    def get_json(self, path: str = "", timeout: float = 30) -> tuple[int, object, str]:
        """GET `path`; returns (status, decoded JSON body or None, Content-Type)."""
        status, headers, body = self.get(path, timeout)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        return status, json.loads(body) if body else None, content_type

    def curl(self, path: str = "") -> str:
        """The equivalent curl command line (credentials, when signing, stay shell variables)."""
        parts = ["curl", "-s"]
        for name, value in self.headers.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.sign:
            parts += [
                "--aws-sigv4",
                shlex.quote(f"aws:amz:{self.region}:lambda"),
                "--user",
                '"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"',
            ]
            if os.environ.get("AWS_SESSION_TOKEN"):
                parts += ["-H", '"x-amz-security-token: $AWS_SESSION_TOKEN"']
        return " ".join(parts + [shlex.quote(self.url(path))])


def resolve(
    api_url: str, endpoint: str | None = None, *, auth_type: str = "NONE", region: str | None = None
) -> FunctionUrl:
    """Where and how to call `api_url`.

    `endpoint` defaults to AWS_ENDPOINT_URL (unset on AWS). When it is set and the URL's host is not
    the endpoint's own nor a loopback name (LocalStack's `*.lambda-url.*.localhost.localstack.cloud`),
    the request goes to the endpoint with the URL's host in the Host header: LocalStack routes
    Function URLs by Host, and that name needs public DNS. `auth_type="AWS_IAM"` signs requests
    (only meaningful on AWS; emulators do not check signatures).
    """
    endpoint = os.environ.get("AWS_ENDPOINT_URL") if endpoint is None else endpoint
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
    url = urlsplit(api_url if api_url.endswith("/") else api_url + "/")
    sign = auth_type == "AWS_IAM" and not endpoint
    if endpoint:
        target = urlsplit(endpoint)
        if url.hostname not in LOOPBACK_HOSTS and url.hostname != target.hostname:
            base = urlunsplit((target.scheme, target.netloc, url.path, "", ""))
            return FunctionUrl(base=base, headers={"Host": url.netloc}, sign=False, region=region)
    return FunctionUrl(base=urlunsplit(url), headers={}, sign=sign, region=region)


def resolve_for_function(api_url: str, function_name: str | None = None, lambda_client=None) -> FunctionUrl:
    """`resolve`, reading the URL's auth type from the function's URL config (when a name is given)."""
    auth_type = "NONE"
    if function_name:
        import boto3

        client = lambda_client or boto3.client("lambda")
        auth_type = client.get_function_url_config(FunctionName=function_name).get("AuthType", "NONE")
    return resolve(api_url, auth_type=auth_type)


def main(argv: list[str] | None = None, stack: StackLocation | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="lake api", description="Call the api Function URL on any target (see module doc)."
    )
    parser.add_argument("path", nargs="?", default="health", help="path under the URL (default: health)")
    parser.add_argument("--api-url", help="the URL to call (default: the stack's api_url)")
    parser.add_argument("--curl", action="store_true", help="print the equivalent curl command instead")
    parser.add_argument("--iam", action="store_true", help="sign with SigV4 (a prod URL with AWS_IAM auth)")
    args = parser.parse_args(argv)
    try:
        api_url = args.api_url or require_stack(stack).api_url
    except TerraformOutputsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    target = resolve(api_url, auth_type="AWS_IAM" if args.iam else "NONE")
    if args.curl:
        print(target.curl(args.path))
        return 0
    status, _, body = target.get(args.path)
    sys.stdout.write(body.decode("utf-8", "replace") + ("\n" if not body.endswith(b"\n") else ""))
    return 0 if status < 400 else 1


if __name__ == "__main__":
    sys.exit(main())
