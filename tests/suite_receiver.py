"""A local stand-in for the WeCom, DingTalk and Feishu APIs (one HTTP server on 127.0.0.1, all three
suites by path): it issues access tokens for the right app id and secret, checks every push against the
documented request shape (see ``sync.server.suite_formats``), and answers with the documented error
codes when told to (token expired, rate limited) or when a user id is unknown."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

APP_ID, SECRET = "app-1", "secret-from-env-0123"

# suite -> (code key, expired-token code, rate-limit code, bad-user code)
CODES = {
    "wecom": ("errcode", 42001, 45009, 60111),
    "dingtalk": ("errcode", 42001, 90018, 60121),
    "feishu": ("code", 99991677, 99991400, 1220001),
}


class SuiteReceiver:
    def __init__(self, known_users: set[str], token_life: int = 7200) -> None:
        self.known_users = known_users
        self.token_life = token_life
        self.lock = threading.Lock()
        self.valid_tokens: set[str] = set()
        self.token_fetches = 0
        self.pushes: list[tuple[str, Any]] = []  # (suite, body) of every push that passed the checks
        self.script: list[str] = []  # next push answers: "expire" (token expired) or "rate"
        self.problems: list[str] = []  # a request that broke the documented shape
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(*outer.handle("GET", self.path, {}, b""))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._answer(*outer.handle("POST", self.path, headers, body))

            def _answer(self, status: int, reply: dict[str, Any]) -> None:
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="suite-receiver", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # --- the fake APIs ------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with self.lock:
            if method == "GET" and parts.path == "/cgi-bin/gettoken":
                return self._token("wecom", query.get("corpid"), query.get("corpsecret"))
            if method == "GET" and parts.path == "/gettoken":
                return self._token("dingtalk", query.get("appkey"), query.get("appsecret"))
            if method == "POST" and parts.path == "/open-apis/auth/v3/tenant_access_token/internal":
                sent = json.loads(body)
                return self._token("feishu", sent.get("app_id"), sent.get("app_secret"))
            if method == "POST" and parts.path == "/cgi-bin/checkin/add_checkin_record":
                return self._push("wecom", query.get("access_token"), body, self._wecom)
            if method == "POST" and parts.path == "/topapi/attendance/record/upload":
                return self._push("dingtalk", query.get("access_token"), body, self._dingtalk)
            if method == "POST" and parts.path == "/open-apis/attendance/v1/user_flows/batch_create":
                if query.get("employee_type") not in ("employee_id", "employee_no"):
                    self.problems.append("feishu: employee_type missing")
                token = headers.get("authorization", "").removeprefix("Bearer ")
                return self._push("feishu", token, body, self._feishu)
        return 404, {"errcode": 404}

    def _token(self, suite: str, app_id: str | None, secret: str | None) -> tuple[int, dict[str, Any]]:
        key = CODES[suite][0]
        if (app_id, secret) != (APP_ID, SECRET):
            return 200, {key: 40001 if suite != "feishu" else 10014, "errmsg": "invalid credential"}
        self.token_fetches += 1
        token = f"{suite}-token-{self.token_fetches}"
        self.valid_tokens.add(token)
        if suite == "feishu":
            return 200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": self.token_life}
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": self.token_life}

    def _push(self, suite: str, token: str | None, body: bytes, users: Any) -> tuple[int, dict[str, Any]]:
        key, expired, rate, bad_user = CODES[suite]
        if self.script:
            what = self.script.pop(0)
            if what == "expire":
                self.valid_tokens.clear()
            if what == "rate":
                return (429 if suite == "feishu" else 200), {key: rate, "errmsg": "api freq out of limit"}
        if token not in self.valid_tokens:
            return 200, {key: expired, "errmsg": "access_token expired"}
        sent = json.loads(body)
        found = users(sent)
        if found is None:
            return 200, {key: 40058 if suite != "feishu" else 1220001, "errmsg": "bad shape"}
        if set(found) - self.known_users:
            return 200, {key: bad_user, "errmsg": "userid not found"}
        self.pushes.append((suite, sent))
        return 200, {key: 0, "errmsg": "ok"}

    def _check(self, ok: bool, what: str) -> bool:
        if not ok:
            self.problems.append(what)
        return ok

    def _wecom(self, sent: dict[str, Any]) -> list[str] | None:
        records = sent.get("records")
        if not self._check(isinstance(records, list) and 0 < len(records) <= 200, "wecom: 1..200 records"):
            return None
        for r in records:
            shape = (isinstance(r.get("userid"), str) and isinstance(r.get("checkin_time"), int)
                     and r.get("device_type") in (1, 2, 3) and len(r.get("device_detail", "")) <= 40
                     and len(r.get("notes", "")) <= 1024)
            if not self._check(shape, f"wecom: record shape {r}"):
                return None
        return [r["userid"] for r in records]

    def _dingtalk(self, sent: dict[str, Any]) -> list[str] | None:
        shape = (isinstance(sent.get("userid"), str) and isinstance(sent.get("user_check_time"), int)
                 and sent["user_check_time"] > 10**12 and isinstance(sent.get("device_id"), str)
                 and isinstance(sent.get("device_name"), str))
        return [sent["userid"]] if self._check(shape, f"dingtalk: record shape {sent}") else None

    def _feishu(self, sent: dict[str, Any]) -> list[str] | None:
        flows = sent.get("flow_records")
        if not self._check(isinstance(flows, list) and 0 < len(flows) <= 50, "feishu: 1..50 flow_records"):
            return None
        for f in flows:
            shape = all(isinstance(f.get(k), str) for k in ("user_id", "creator_id", "location_name", "check_time",
                                                             "comment")) and f["check_time"].isdigit()
            if not self._check(shape, f"feishu: flow shape {f}"):
                return None
        return [f["user_id"] for f in flows]
