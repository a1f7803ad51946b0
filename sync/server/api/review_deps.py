"""Role dependencies of the interview review, bias audit, candidate-rights and retention routes (issue 17)."""

# No "from __future__ import annotations": FastAPI reads these annotations at runtime.

from typing import Annotated

from fastapi import Depends

from sync.server import auth
from sync.server.api.deps import _Role

Reviewer = Annotated[auth.Principal, Depends(_Role(auth.REVIEW))]
Auditor = Annotated[auth.Principal, Depends(_Role(auth.AUDIT))]
ReadDemographics = Annotated[auth.Principal, Depends(_Role(auth.READ_DEMOGRAPHICS))]
RecordDemographics = Annotated[auth.Principal, Depends(_Role(auth.RECORD_DEMOGRAPHICS))]
CandidateRights = Annotated[auth.Principal, Depends(_Role(auth.CANDIDATE_RIGHTS))]
Retention = Annotated[auth.Principal, Depends(_Role(auth.ADMIN))]
ReadRetention = Annotated[auth.Principal, Depends(_Role(auth.READ_RETENTION))]
