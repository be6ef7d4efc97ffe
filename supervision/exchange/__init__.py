"""The ledger's exchange with the outside world: files and other systems.

- columns.py: the ledger workbook's columns, shared by export and import
- layout.py: sheet layout (fonts, widths, print setup, charts) for every workbook we write
- export.py, export_jobs.py, policy.py: the ledger export (immediate and background) and who may
  take classified rows out (export approvals, DOMAIN.md rule 13)
- importer/: the Excel import (reading, cells, validation, writing, jobs, error report)
- intake.py: instructions pushed in by OA systems
- documents.py: official documents (.docx notices)
- jobs.py: claiming a background job row once
"""
