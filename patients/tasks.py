from celery import shared_task
from django.core.management import call_command


@shared_task(name="patients.tasks.clear_expired_sessions", ignore_result=False)
def clear_expired_sessions() -> str:
    """Remove expired sessions from the database (idle sessions expire after the timeout)."""
    call_command("clearsessions")
    return "ok"
