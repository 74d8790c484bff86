"""The certificate: does a model keep its photometric promise, and where does it break?"""
from .audit import (DEFAULT_CASES, POSITIVELY_HOMOGENEOUS, AuditReport, ModuleCheck, audit, explain, randomize_state,
                    relative_error)

__all__ = ["DEFAULT_CASES", "POSITIVELY_HOMOGENEOUS", "AuditReport", "ModuleCheck", "audit", "explain",
           "randomize_state", "relative_error"]
