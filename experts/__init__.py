"""The expert pool: records, import, relations and penalties, face identity and enrolment.

Imports the foundations (`config`, `ledger`, `access`, `operations`) and `venues`; nothing about draws.
"""
