"""Nursing records on a patient: telephone and clinic notes, and the follow-up calls owed
after a course starts or asked for in a note (both are record facts, so they live in
``patients``; therapy and monitoring call in)."""
