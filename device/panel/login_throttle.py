"""The panel's login throttle: the shared one in ``core.login_throttle`` (the HR server's user logins use it too)."""

from core.login_throttle import FIRST_LOCK_SECONDS as FIRST_LOCK_SECONDS
from core.login_throttle import FORGET_SECONDS as FORGET_SECONDS
from core.login_throttle import MAX_CLIENTS as MAX_CLIENTS
from core.login_throttle import MAX_FAILURES as MAX_FAILURES
from core.login_throttle import MAX_LOCK_SECONDS as MAX_LOCK_SECONDS
from core.login_throttle import LoginThrottle as LoginThrottle
from core.login_throttle import LoginThrottled as LoginThrottled
