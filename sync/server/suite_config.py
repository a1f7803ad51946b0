"""The server config's ``[suites]`` section: which app of WeCom, DingTalk and Feishu punches are pushed
into, and where its secret is read from. Secrets never live in a file of the repository or the config:
the config names an environment variable, read at delivery time."""

from __future__ import annotations

import os
from typing import Literal

from core.config.base import Section, field


class SuitesSection(Section):
    wecom_corp_id: str = field("", "WeCom corp id", "企业ID of the WeCom app that may call the 打卡 API.")
    wecom_secret_env: str = field(
        "EDGEHR_WECOM_SECRET", "WeCom secret variable", "Environment variable holding that app's secret."
    )
    dingtalk_app_key: str = field("", "DingTalk app key", "AppKey of the DingTalk internal app.")
    dingtalk_secret_env: str = field(
        "EDGEHR_DINGTALK_SECRET", "DingTalk secret variable", "Environment variable holding its AppSecret."
    )
    feishu_app_id: str = field("", "Feishu app id", "App ID of the Feishu custom app with attendance:task.")
    feishu_secret_env: str = field(
        "EDGEHR_FEISHU_SECRET", "Feishu secret variable", "Environment variable holding its App Secret."
    )
    feishu_employee_type: Literal["employee_no", "employee_id"] = field(
        "employee_no", "Feishu user id type", "What edgehr's employee number is in Feishu (工号 or user ID)."
    )
    location_name: str = field("edgehr", "Location name", "Feishu's required location_name of each punch.")
    refresh_before_seconds: int = field(
        300, "Token refresh margin", "Fetch a new access token this long before the cached one expires.",
        ge=0, le=3600,
    )

    def credentials(self, suite: str) -> tuple[str, str, str]:
        """(app id, secret, the variable it came from) for ``suite``; empty strings when not set."""
        app_id, env = {
            "wecom-api": (self.wecom_corp_id, self.wecom_secret_env),
            "dingtalk": (self.dingtalk_app_key, self.dingtalk_secret_env),
            "feishu": (self.feishu_app_id, self.feishu_secret_env),
        }[suite]
        return app_id, os.environ.get(env, ""), env
