"""API routes of the patients app (Django REST framework): list, detail, create.

Same doors as the pages: a patient outside the user's clinics is 404, a role without the
permission 403; creation goes through ``patients.services.patient_create``.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from patients import audit, selectors, services
from patients.access import clinics_for_user, patient_for_user, require_perm
from patients.errors import DomainError
from patients.models import Diagnosis, Patient


@extend_schema_field({"type": "string", "enum": Patient.Status.values})
class PatientStatusField(serializers.CharField):
    """Patient status, documented inline (a shared "status" enum would collide with others)."""


class PatientSerializer(serializers.ModelSerializer):
    clinic = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = PatientStatusField(read_only=True)

    class Meta:
        model = Patient
        fields = [
            "public_id",
            "clinic",
            "mrn",
            "given_name",
            "family_name",
            "date_of_birth",
            "sex_at_birth",
            "status",
            "height_cm",
            "reproductive_potential",
            "menses_regular",
        ]
        read_only_fields = fields


class DiagnosisInSerializer(serializers.Serializer):
    diagnosed_on = serializers.DateField()
    heavy_chain = serializers.ChoiceField(choices=Diagnosis.HeavyChain.choices)
    light_chain = serializers.ChoiceField(
        choices=Diagnosis.LightChain.choices, required=False, default=""
    )
    iss_stage = serializers.ChoiceField(choices=Diagnosis.Stage.choices, required=False, default="")
    on_dialysis = serializers.BooleanField(required=False, default=False)


class PatientCreateSerializer(serializers.Serializer):
    clinic = serializers.SlugField(help_text="Code of one of your clinics")
    mrn = serializers.CharField(max_length=32)
    given_name = serializers.CharField(max_length=80)
    family_name = serializers.CharField(max_length=80)
    date_of_birth = serializers.DateField()
    sex_at_birth = serializers.ChoiceField(choices=Patient.Sex.choices)
    status = serializers.ChoiceField(
        choices=Patient.Status.choices, required=False, default=Patient.Status.ACTIVE
    )
    height_cm = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True
    )
    reproductive_potential = serializers.ChoiceField(
        choices=Patient.ReproductivePotential.choices,
        required=False,
        default=Patient.ReproductivePotential.UNKNOWN,
    )
    menses_regular = serializers.BooleanField(required=False, allow_null=True, default=None)
    diagnosis = DiagnosisInSerializer(required=False)
    transplant_dates = serializers.ListField(
        child=serializers.DateField(), required=False, default=list
    )
    weight_kg = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True
    )


def _domain_error(error: DomainError) -> Response:
    return Response({error.field or "detail": [error.message]}, status=status.HTTP_400_BAD_REQUEST)


class PatientListCreate(generics.GenericAPIView):
    serializer_class = PatientSerializer

    def get_queryset(self):
        return selectors.patient_list(
            user=self.request.user, search=self.request.query_params.get("q", "")
        )

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="MRN or name prefix")],
        responses=PatientSerializer(many=True),
    )
    def get(self, request):
        require_perm(request.user, "patients.view_patient")
        page = self.paginate_queryset(self.get_queryset())
        audit.note_read(request, page)  # one access-log row per patient listed
        return self.get_paginated_response(PatientSerializer(page, many=True).data)

    @extend_schema(request=PatientCreateSerializer, responses={201: PatientSerializer})
    def post(self, request):
        require_perm(request.user, "patients.add_patient")
        incoming = PatientCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        clinic = clinics_for_user(request.user).filter(code=data.pop("clinic")).first()
        if clinic is None:
            return Response({"clinic": ["Choose the code of one of your clinics."]}, status=400)
        diagnosis = data.pop("diagnosis", None)
        transplants = data.pop("transplant_dates", [])
        weight = data.pop("weight_kg", None)
        try:
            patient = services.patient_create(
                clinic=clinic,
                user=request.user,
                patient_data=data,
                diagnosis_data=diagnosis,
                transplant_dates=transplants,
                weight_kg=weight,
            )
        except DomainError as error:
            return _domain_error(error)
        audit.note_read(request, [patient])
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)


class PatientDetail(generics.GenericAPIView):
    serializer_class = PatientSerializer

    def get(self, request, public_id):
        patient = patient_for_user(request.user, public_id)
        return Response(PatientSerializer(patient).data)


urlpatterns = [
    path("patients/", PatientListCreate.as_view(), name="api-patients"),
    path("patients/<uuid:public_id>/", PatientDetail.as_view(), name="api-patient"),
]
