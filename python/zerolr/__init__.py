"""zerolr for Python: audit Python optimizers (torch.optim and your own) with zerolr-audit.

- ``python3 -m zerolr.worker SPEC`` serves an optimizer over zerolr's worker protocol
  (docs/worker-protocol.md); ``zerolr-audit --python SPEC`` starts it.
- :func:`audit` runs zerolr-audit on a spec or an optimizer class and returns an
  :class:`AuditReport`.
- ``python3 -m zerolr.torch_claims`` measures, on real torch.nn models, what learning
  rate 0 does and does not freeze.

Importing this package does not import torch.
"""

from ._audit import AuditError, AuditReport, audit

__all__ = ["AuditError", "AuditReport", "audit"]
