"""Request bodies of the interview review, demographics and retention routes."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class OverrideIn(BaseModel):
    """A person's new score for one competency of a session, and why."""

    model_config = ConfigDict(extra="forbid")
    competency: Ident = Field(description="the competency, as in the session's report")
    score: float = Field(ge=0, le=100, allow_inf_nan=False, description="0..the score's scale_max")
    reason: Reason = Field(description="why the score changes (kept in the audit log)")


class DecisionIn(BaseModel):
    """A shortlist decision for a candidate in a role."""

    model_config = ConfigDict(extra="forbid")
    role_id: Ident
    decision: Literal["advance", "hold", "reject"]
    reason: Reason


class DemographicsIn(BaseModel):
    """A candidate's self-reported categories (dimension -> category, "prefer-not-to-say", or null to remove)."""

    model_config = ConfigDict(extra="forbid")
    answers: dict[Ident, Ident | None] = Field(max_length=10)
    source: Literal["booth", "hr"] = Field("hr", description="where the candidate reported it")


class RetentionPolicyIn(BaseModel):
    """A site's retention: audio deleted by the booths after audio_days, transcripts and scores after
    transcript_days (counted from the interview's completion)."""

    model_config = ConfigDict(extra="forbid")
    audio_days: int = Field(30, ge=1, le=3650)
    transcript_days: int = Field(365, ge=1, le=3650)
    reason: str = Field("", max_length=500, description="why the policy changes (kept in the audit log)")
