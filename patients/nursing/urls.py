"""Note and follow-up call URLs (included in the patients namespace)."""

from django.urls import path

from patients.nursing import views

P = "<uuid:public_id>"
N = f"{P}/notes/<uuid:note_id>"

urlpatterns = [
    path(f"{P}/notes/", views.note_list, name="notes"),
    path(f"{P}/notes/new/", views.note_add, name="note_add"),
    path(f"{N}/", views.note_detail, name="note"),
    path(f"{N}/correct/", views.note_correct, name="note_correct"),
    path(f"{N}/entered-in-error/", views.note_mark_error, name="note_mark_error"),
    path(f"{P}/follow-up-calls/<uuid:call_id>/done/", views.call_done, name="call_done"),
]
