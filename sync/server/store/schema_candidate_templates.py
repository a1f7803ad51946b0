"""HR store migration 15: candidates' face templates from their registered photo (never the photo).

Sealed with the server's data key like employees' templates (AES-256-GCM, nonce and ciphertext as base64
text), bound to the candidate and model; read only to send the candidate's booth a ``candidate-templates``
command for its optional identity check. Deleted with the candidate (delete or erasure)."""

SCHEMA_CANDIDATE_TEMPLATES = """
CREATE TABLE candidate_templates (
    id {pk},
    candidate_id TEXT NOT NULL,
    model TEXT NOT NULL,
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX candidate_templates_candidate ON candidate_templates (candidate_id);
"""
