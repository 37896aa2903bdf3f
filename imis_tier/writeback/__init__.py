"""Write-back: every write to iMIS as a change set, shown, approved, applied once, and audited.

::

    from imis_tier.writeback import write_scores, apply, verify_audit_chain

    outcome = write_scores(scores_df, imis, warehouse)          # dry run: nothing is written
    print(outcome.change_set.diff())
    write_scores(scores_df, imis, warehouse, apply=True, approved_by="j.smith")
    assert verify_audit_chain(warehouse)

See ``docs/writeback.md``.
"""

from imis_tier.writeback.apply import ApplyError, ApplyResult, ApprovalRequired, apply
from imis_tier.writeback.audit import (
    GENESIS,
    AuditRecord,
    AuditVerification,
    audit_records,
    record_audit,
    verify_audit_chain,
)
from imis_tier.writeback.changeset import (
    ChangeSet,
    ChangeSetError,
    Operation,
    OpKind,
    compute_change_set,
    plan,
    task_change_set,
)
from imis_tier.writeback.journal import (
    JournalEntry,
    StagedChangeSet,
    journal_entries,
    load_change_set,
    staged_change_sets,
)
from imis_tier.writeback.review import (
    PENDING_REVIEW,
    ReviewOutcome,
    review_target,
    stage_review_items,
)
from imis_tier.writeback.scores import (
    SCORE_FIELDS,
    ScoreError,
    WritebackOutcome,
    score_rows,
    write_scores,
)
from imis_tier.writeback.target import Target

__all__ = [
    "GENESIS",
    "PENDING_REVIEW",
    "SCORE_FIELDS",
    "ApplyError",
    "ApplyResult",
    "ApprovalRequired",
    "AuditRecord",
    "AuditVerification",
    "ChangeSet",
    "ChangeSetError",
    "JournalEntry",
    "OpKind",
    "Operation",
    "ReviewOutcome",
    "ScoreError",
    "StagedChangeSet",
    "Target",
    "WritebackOutcome",
    "apply",
    "audit_records",
    "compute_change_set",
    "journal_entries",
    "load_change_set",
    "plan",
    "record_audit",
    "review_target",
    "score_rows",
    "stage_review_items",
    "staged_change_sets",
    "task_change_set",
    "verify_audit_chain",
    "write_scores",
]
