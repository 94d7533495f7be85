"""The Cohort page's permission holder: an unmanaged model with no table, so the role
table can name ``monitoring.view_cohort`` like any other permission."""

from django.db import models


class CohortReport(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_cohort", "Can view cohort outcomes (aggregates of own clinics)")]

    def __str__(self) -> str:
        return "Cohort report"
