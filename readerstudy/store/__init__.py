"""Study results storage: SQLAlchemy 2 models, repository and audit log.

SQLite in the study folder by default; PostgreSQL for multi-site studies.
"""
