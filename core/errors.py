"""The one place edgehr's errors live.

Every error says what was wrong and what the person reading it can do about it, so that a site admin
at a terminal or an operator reading a log can act without opening the source.
"""

from __future__ import annotations


class EdgehrError(Exception):
    """Base of every error edgehr raises on purpose.

    ``what`` states the problem, ``fix`` the action to take. ``code`` is a short stable reason code for
    counters, APIs and screens (they translate it, they never parse ``what``).
    """

    code = "error"

    def __init__(self, what: str, fix: str = "", *, code: str | None = None) -> None:
        self.what = what
        self.fix = fix
        if code is not None:
            self.code = code
        super().__init__(f"{what} {fix}".strip() if fix else what)


class ConfigError(EdgehrError):
    """A configuration file cannot be used; ``problems`` lists every problem found at once."""

    code = "config-invalid"

    def __init__(self, path: str, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(p.render(path) for p in problems)
        super().__init__(
            f"{path}: {len(problems)} problem(s) in the configuration:\n{lines}",
            "Correct the keys named above, then run `edgehr config check FILE` again.",
        )


class ConfigProblem:
    """One problem in a config file: where it is and what is wrong."""

    def __init__(self, line: int | None, key: str, message: str) -> None:
        self.line = line
        self.key = key
        self.message = message

    def render(self, path: str) -> str:
        where = f"{path}:{self.line}" if self.line is not None else path
        return f"{where}: {self.key or '(file)'}: {self.message}"


class StoreError(EdgehrError):
    """The device or server database cannot do what was asked."""

    code = "store"


class HardwareError(EdgehrError):
    """A camera, microphone or GPIO device cannot be opened or read."""

    code = "hardware"


class ModelError(EdgehrError):
    """A model file is missing, corrupt or gives output of the wrong shape."""

    code = "model"


class InputError(EdgehrError):
    """Input from outside (an image, an upload, audio) cannot be used; nothing was changed."""

    code = "input"


class NotBuiltError(EdgehrError):
    """A part of edgehr that is named in the design but not built yet."""

    code = "not-built"
