"""Named domain errors: each says what is wrong and where."""


class CrisisError(Exception):
    """Base of every error this project raises on purpose."""


class NotFound(CrisisError):
    """A key (incident, policy, file) names nothing that exists."""


class InvalidTransition(CrisisError):
    """An incident was asked to move to a state its current state does not allow."""


class SourceFileInvalid(CrisisError):
    """A mention file cannot be read; the message names the file, row and field."""


class OrdersFileInvalid(CrisisError):
    """An orders file has bad rows; nothing from it was applied."""

    def __init__(self, path: str, problems: list[str]):
        self.path = path
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:50])
        more = f"\n  … 另有 {len(problems) - 50} 处" if len(problems) > 50 else ""
        if len(problems) == 1:  # one line: a whole-file problem or a single bad row
            super().__init__(f"{problems[0]}；未做任何处理")
            return
        super().__init__(f"{path}: {len(problems)} 行有误，未做任何处理：\n{shown}{more}")


class OrdersSourceInvalid(CrisisError):
    """A compensation run was not told where its orders are, or was told something that does not exist."""


class ApprovalRefused(CrisisError):
    """A compensation decision was refused: no batch waits, a blank approver, or the requester approving."""


class AuditChainBroken(CrisisError):
    """The audit log's hash chain does not verify."""
