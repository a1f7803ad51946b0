"""Punches into the HR suites Chinese companies use: the documented request shapes, limits and error codes
of WeCom, DingTalk and Feishu, as pure functions (no HTTP here; ``suite_push`` sends them).

Sources (read 2026-12; the codes a reply is classified by are the ones named below):

- WeCom (企业微信) "获取access_token" (developer.work.weixin.qq.com/document/path/91039): GET
  ``/cgi-bin/gettoken?corpid=ID&corpsecret=SECRET`` -> ``{"errcode":0,"access_token","expires_in":7200}``;
  cache it, do not call gettoken often (rate-limited), and fetch a new one when it is invalid or expired
  (WeCom may expire it early). "添加打卡记录" (document/path/99647): POST
  ``/cgi-bin/checkin/add_checkin_record?access_token=TOKEN`` with ``{"records": [{"userid", "checkin_time"
  (Unix seconds), "device_type" (2 = 考勤机 face/fingerprint), "device_detail" (<= 40 chars), "notes"
  (<= 1024 chars)}]}``, "一批最多200个" (at most 200 records a call). Global error codes
  (document/path/90313): 42001 access_token expired, 40014 invalid access_token, 45009 API call
  frequency over the limit, 60111 userid not found, 40003 invalid userid.
- DingTalk (钉钉) "获取企业内部应用的access_token": GET ``/gettoken?appkey=KEY&appsecret=SECRET`` ->
  ``{"errcode":0,"access_token","expires_in":7200}``. "上传打卡记录" (attendance record upload): POST
  ``/topapi/attendance/record/upload?access_token=TOKEN`` with one record per call: ``{"userid",
  "device_name", "device_id", "user_check_time" (Unix milliseconds), "photo_url" (optional)}`` ->
  ``{"errcode":0,"errmsg":"ok","result":{...}}``. Global codes: 88 auth failure (see sub_code), 40014
  invalid access_token, 42001 access_token timed out, 90018 the company's QPS for this API reached its
  limit (90006/90002: calls too frequent), 60121 user not found, 33012 invalid userid. The record upload
  page itself was not in the stored references: its field list follows the DingTalk SDK request
  (OapiAttendanceRecordUploadRequest), one record per call.
- Feishu (飞书) "自建应用获取 tenant_access_token" (open.feishu.cn auth-v3 tenant_access_token_internal):
  POST ``/open-apis/auth/v3/tenant_access_token/internal`` ``{"app_id","app_secret"}`` ->
  ``{"code":0,"tenant_access_token","expire":7200}`` (a new token is handed out when < 30 min remain).
  "导入打卡流水" (attendance-v1/user_flow/batch_create): POST
  ``/open-apis/attendance/v1/user_flows/batch_create?employee_type=employee_no|employee_id`` with
  ``Authorization: Bearer TOKEN`` and ``{"flow_records": [{"user_id", "creator_id", "location_name",
  "check_time" (seconds, as a string), "comment"}]}``; rate limit 50 requests/second. Codes: 99991663
  invalid tenant_access_token, 99991677 token expired, 99991400 request frequency over the limit (HTTP
  429), 1220001 "param is invalid" (an unknown user id is reported this way). The page states no maximum
  batch size in the part stored; 50 records a call is used (the user_flows query's documented limit).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

SUITES = ("wecom-api", "dingtalk", "feishu")
Outcome = Literal["ok", "token", "rate", "bad-user", "error"]


@dataclass(frozen=True)
class Request:
    method: Literal["GET", "POST"]
    path: str  # with its query, appended to the webhook's base URL
    body: bytes | None
    headers: Mapping[str, str]


JSON = {"Content-Type": "application/json; charset=utf-8"}


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8")


@dataclass(frozen=True)
class Credentials:
    app_id: str  # WeCom corp id, DingTalk app key, Feishu app id
    secret: str
    employee_type: str = "employee_no"  # Feishu only
    location: str = "edgehr"


class SuiteFormat:
    """One HR suite: how to get a token, how to send a batch, what a reply means."""

    name: str = ""
    batch_limit: int = 1
    code_key: str = "errcode"
    token_codes: frozenset[int] = frozenset()
    rate_codes: frozenset[int] = frozenset()
    bad_user_codes: frozenset[int] = frozenset()

    def token_request(self, creds: Credentials) -> Request:
        raise NotImplementedError

    def token_of(self, reply: Mapping[str, Any]) -> tuple[str, int] | None:
        """(token, seconds it lives) from the token endpoint's reply; None when it was refused."""
        token, life = reply.get("access_token"), reply.get("expires_in")
        ok = reply.get(self.code_key, 0) == 0 and isinstance(token, str) and token and isinstance(life, int)
        return (str(token), int(life)) if ok else None  # type: ignore[arg-type]

    def push_request(self, token: str, events: list[Mapping[str, Any]], creds: Credentials) -> Request:
        raise NotImplementedError

    def classify(self, status: int, reply: Mapping[str, Any]) -> tuple[Outcome, str]:
        """The outcome of a push and the error to store (codes only: a reply's text is never kept)."""
        code = reply.get(self.code_key)
        if status == 429 or code in self.rate_codes:
            return "rate", f"{self.name} {self.code_key} {code} (rate limited)"
        if code in self.token_codes:
            return "token", f"{self.name} {self.code_key} {code} (token expired or invalid)"
        if code in self.bad_user_codes:
            return "bad-user", f"{self.name} {self.code_key} {code} (unknown user id)"
        if 200 <= status < 300 and code == 0:
            return "ok", ""
        return "error", f"{self.name} HTTP {status} {self.code_key} {code}"


class WeCom(SuiteFormat):
    name, batch_limit = "wecom", 200
    token_codes = frozenset({42001, 40014})
    rate_codes = frozenset({45009})
    bad_user_codes = frozenset({60111, 40003})

    def token_request(self, creds: Credentials) -> Request:
        query = urlencode({"corpid": creds.app_id, "corpsecret": creds.secret})
        return Request("GET", f"/cgi-bin/gettoken?{query}", None, {})

    def push_request(self, token: str, events: list[Mapping[str, Any]], creds: Credentials) -> Request:
        records = [
            {
                "userid": e["employee_no"],
                "checkin_time": int(e["device_time_ms"]) // 1000,
                "device_type": 2,
                "device_detail": f"edgehr {e['device_id']}"[:40],
                "notes": "" if e["clock_synced"] else "device clock not synchronised",
            }
            for e in events
        ]
        path = f"/cgi-bin/checkin/add_checkin_record?{urlencode({'access_token': token})}"
        return Request("POST", path, _json({"records": records}), JSON)


class DingTalk(SuiteFormat):
    name, batch_limit = "dingtalk", 1
    token_codes = frozenset({40014, 42001, 88})
    rate_codes = frozenset({90018, 90006, 90002})
    bad_user_codes = frozenset({60121, 33012})

    def token_request(self, creds: Credentials) -> Request:
        return Request("GET", f"/gettoken?{urlencode({'appkey': creds.app_id, 'appsecret': creds.secret})}", None, {})

    def push_request(self, token: str, events: list[Mapping[str, Any]], creds: Credentials) -> Request:
        (e,) = events
        record = {
            "userid": e["employee_no"],
            "device_name": f"edgehr {e['device_id']}",
            "device_id": str(e["device_id"]),
            "user_check_time": int(e["device_time_ms"]),
        }
        path = f"/topapi/attendance/record/upload?{urlencode({'access_token': token})}"
        return Request("POST", path, _json(record), JSON)


class Feishu(SuiteFormat):
    name, batch_limit, code_key = "feishu", 50, "code"
    token_codes = frozenset({99991663, 99991677})
    rate_codes = frozenset({99991400})
    bad_user_codes = frozenset({1220001})

    def token_request(self, creds: Credentials) -> Request:
        body = _json({"app_id": creds.app_id, "app_secret": creds.secret})
        return Request("POST", "/open-apis/auth/v3/tenant_access_token/internal", body, JSON)

    def token_of(self, reply: Mapping[str, Any]) -> tuple[str, int] | None:
        token, life = reply.get("tenant_access_token"), reply.get("expire")
        ok = reply.get("code") == 0 and isinstance(token, str) and token and isinstance(life, int)
        return (str(token), int(life)) if ok else None  # type: ignore[arg-type]

    def push_request(self, token: str, events: list[Mapping[str, Any]], creds: Credentials) -> Request:
        flows = [
            {
                "user_id": e["employee_no"],
                "creator_id": e["employee_no"],
                "location_name": creds.location,
                "check_time": str(int(e["device_time_ms"]) // 1000),
                "comment": f"edgehr {e['device_id']} {e['direction']}"
                + ("" if e["clock_synced"] else " (device clock not synchronised)"),
            }
            for e in events
        ]
        path = f"/open-apis/attendance/v1/user_flows/batch_create?{urlencode({'employee_type': creds.employee_type})}"
        return Request("POST", path, _json({"flow_records": flows}), JSON | {"Authorization": f"Bearer {token}"})


FORMATS: dict[str, SuiteFormat] = {"wecom-api": WeCom(), "dingtalk": DingTalk(), "feishu": Feishu()}
