"""API routes of the therapy app (Django REST framework), mounted under /api/v1/.

Patients are looked up through ``patients.access.patient_for_user``: another clinic's
patient answers 404, a role without the permission 403. Writes go through the services,
so the API refuses exactly what the pages refuse, with the same words.
"""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from patients.access import patient_for_user
from patients.errors import DomainError
from therapy import dosing, permissions, selectors, services
from therapy.models import (
    MaintenanceCourse,
    Regimen,
    RemsAuthorization,
    RemsEnrollment,
    RemsSurvey,
)


class CourseSerializer(serializers.ModelSerializer):
    regimen = serializers.SlugRelatedField(slug_field="code", read_only=True)
    regimen_name = serializers.CharField(source="regimen.name", read_only=True)
    # Read-only model fields lose allow_blank; say it, so the schema admits "" (not discontinued).
    discontinuation_reason = serializers.ChoiceField(
        choices=MaintenanceCourse.DiscontinuationReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = MaintenanceCourse
        fields = [
            "public_id",
            "regimen",
            "regimen_name",
            "start_date",
            "status",
            "start_dose_mg",
            "start_dosing_days",
            "dose_mg",
            "dosing_days",
            "cycle_days",
            "vte_prophylaxis",
            "aspirin_dose_mg",
            "vte_prophylaxis_note",
            "discontinued_on",
            "discontinuation_reason",
            "discontinuation_note",
            "start_justification",
            "eligibility_snapshot",
        ]
        read_only_fields = fields


class CourseStartSerializer(serializers.Serializer):
    regimen = serializers.SlugRelatedField(slug_field="code", queryset=Regimen.objects.selectable())
    start_date = serializers.DateField()
    dose_mg = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    dosing_days = serializers.IntegerField(min_value=1, max_value=28, required=False)
    vte_prophylaxis = serializers.ChoiceField(choices=MaintenanceCourse.Prophylaxis.choices)
    aspirin_dose_mg = serializers.IntegerField(required=False, allow_null=True)
    vte_prophylaxis_note = serializers.CharField(required=False, allow_blank=True, default="")
    justification = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        dose, days = attrs.pop("dose_mg", None), attrs.pop("dosing_days", None)
        if (dose is None) != (days is None):
            raise serializers.ValidationError("Give both dose_mg and dosing_days, or neither.")
        try:
            attrs["dose_level"] = None if dose is None else dosing.DoseLevel(dose, days, 28)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return attrs


class PatientCourses(generics.ListCreateAPIView):
    """Maintenance courses of a patient (newest first); a physician starts one."""

    serializer_class = CourseSerializer

    def get_patient(self, perm: str):
        return patient_for_user(self.request.user, self.kwargs["public_id"], perm=perm)

    def get_queryset(self):
        patient = self.get_patient(permissions.VIEW_COURSE)
        return (
            MaintenanceCourse.objects.valid()
            .filter(patient=patient)
            .select_related("regimen")
            .order_by("-start_date", "-pk")
        )

    @extend_schema(request=CourseStartSerializer, responses={201: CourseSerializer})
    def post(self, request, *args, **kwargs):
        patient = self.get_patient(permissions.MANAGE_COURSE)
        incoming = CourseStartSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        try:
            course = services.course_start(
                patient=patient,
                user=request.user,
                prescription_at=timezone.now(),
                **incoming.validated_data,
            )
        except DomainError as error:
            return Response(
                {"detail": error.message, "field": error.field}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(CourseSerializer(course).data, status=status.HTTP_201_CREATED)


class RemsEnrollmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = RemsEnrollment
        fields = [
            "public_id",
            "status",
            "patient_risk_category",
            "suggested_risk_category",
            "risk_category_confirmed_at",
            "enrolled_on",
            "rems_patient_id",
            "agreement_signed_on",
            "counselled_on",
            "prescriber_name",
            "prescriber_enrollment_id",
            "prescriber_certification_expires_on",
        ]


class RemsAuthorizationSerializer(serializers.ModelSerializer):
    entered_in_error = serializers.BooleanField(source="is_entered_in_error")

    class Meta:
        model = RemsAuthorization
        fields = [
            "public_id",
            "authorization_number",
            "obtained_on",
            "days_supply",
            "expires_on",
            "patient_risk_category",
            "dispensed_on",
            "expiry_rule",
            "entered_in_error",
        ]


class RemsSurveySerializer(serializers.ModelSerializer):
    class Meta:
        model = RemsSurvey
        fields = ["completed_on", "note"]


class RemsStatusSerializer(serializers.Serializer):
    outcome = serializers.CharField()
    message = serializers.CharField()
    actions = serializers.ListField(child=serializers.CharField())
    rule_id = serializers.CharField()
    basis = serializers.CharField()


class RemsRecordSerializer(serializers.Serializer):
    enrollment = RemsEnrollmentSerializer(allow_null=True)
    authorizations = RemsAuthorizationSerializer(many=True)
    surveys = RemsSurveySerializer(many=True)
    status = RemsStatusSerializer()


class PatientRems(generics.GenericAPIView):
    """A patient's REMS record, read-only: enrollment, authorizations, surveys, status."""

    serializer_class = RemsRecordSerializer
    pagination_class = None

    def get(self, request, public_id):
        patient = patient_for_user(request.user, public_id, perm=permissions.VIEW_REMS)
        state = selectors.rems_states([patient.pk], as_of=timezone.localdate())[patient.pk]
        record = selectors.rems_record(patient)
        finding = state.status
        record["surveys"] = [s for s in record["surveys"] if not s.is_entered_in_error]
        record["status"] = {
            "outcome": finding.outcome,
            "message": finding.message,
            "actions": finding.values["actions"],
            "rule_id": finding.rule_id,
            "basis": finding.basis,
        }
        return Response(RemsRecordSerializer(record).data)


urlpatterns = [
    path(
        "patients/<uuid:public_id>/courses/", PatientCourses.as_view(), name="api-patient-courses"
    ),
    path("patients/<uuid:public_id>/rems/", PatientRems.as_view(), name="api-patient-rems"),
]
